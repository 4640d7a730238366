/*
 * ftindex — build and check ft indexes.
 *
 *   ftindex build [-o DIR] [--lang NAME] [--stopwords] [--fields ID,TITLE,BODY]
 *                 [--memory SIZE] [-j N] [--quiet] [PATH...]
 *   ftindex add [-i DIR] [--memory SIZE] [--quiet] PATH...
 *   ftindex delete [-i DIR] ID...
 *   ftindex merge [-i DIR] [--max-segments N]
 *   ftindex check [-i DIR]
 *   ftindex stats [-i DIR] [--json]
 *   ftindex dump [-i DIR] [TERM]
 *
 * A build always produces a complete new index that replaces the old one in a
 * single atomic step (ft_writer_commit renames a new MANIFEST into place).
 * Every failure path closes the writer without committing, so an interrupted
 * or failed build leaves the previous index exactly as it was; that is also
 * why "no documents" is an error rather than an empty commit.
 *
 * Inputs are walked in a fixed order (entries sorted by name, hidden entries
 * and the output directory skipped, symlinked directories not followed) so
 * that the same tree always yields the same document numbers.  Files named
 * *.jsonl / *.ndjson (optionally .zst-compressed) hold one JSON object per
 * line; every other file is one text document.  Problems with a single line
 * or file are warnings that name the file and line, and the build goes on;
 * only problems that make the whole result wrong (a command-line path that
 * does not exist, a failing writer, an interrupt) stop it.
 *
 * Threads (-j N, default the number of cores).  The producer part walks
 * the inputs, reads, decompresses, parses and copies documents into batches
 * of 256 KiB; the consumer part adds each batch's documents to the writer,
 * which requires a single thread and the document order.  With -j 1 one
 * thread does everything: it reads a batch, then adds it (ft_writer_add
 * analyzes and inverts).  With -j N > 1:
 *
 *   reading thread ──batches──> FIFO queue (at most 4 + 2 per analyzing
 *     │ (analyzes queued        │  thread; batches are recycled)
 *     │  batches while the      ├──> N - 2 analysis threads: ft_tokens_analyze
 *     │  queue is full)         │    (tokenize, fold) into each batch
 *     └─────────────────────────┴──> main thread: ft_writer_add_tokens in
 *                                    queue order (inversion, store records);
 *                                    the writer's N - 1 helpers compress
 *                                    store blocks and encode the segment
 *
 * The main thread never waits while there is work: it adds a batch at the
 * head that no thread has started itself, with ft_writer_add, or else it
 * analyzes a queued batch.  Analysis is most of the CPU time of a build and
 * the writer's inversion the longest serial part: with -j 2 the main thread
 * is busy almost all the time, the reading thread about two thirds of it
 * and the writer's helper a third, so the two cores stay busy.  One reader
 * and a FIFO queue keep the document order, and so the document numbers,
 * deterministic; the index is the same byte for byte whatever -j.
 *
 * Memory: the writer flushes a segment whenever its estimate of the memory
 * it holds passes --memory; after the commit, build and add run the merge
 * policy (10 adjacent segments of similar sizes are merged into one), so the
 * number of segments stays logarithmic in the number of documents.  `add`
 * is a build that keeps the index and replaces documents by id; `delete`
 * and `merge` change it in place; all of them hold the index's writer lock.
 * A body of 1 MB or more is not copied: it is handed to the queue with the
 * buffer holding it (a text file's, the JSON line's, or the scratch of its
 * decoded escapes), so a huge JSON Lines record is held once; with -j, such
 * bodies are analyzed by the writer, which does it in bounded chunks.  A
 * JSON Lines line of 8 MB or more in a plain file is not held at all: it is
 * checked in a first pass, and its body read again by the consumer and given
 * to the writer in pieces ("long JSON Lines records" below); from standard
 * input or a .zst file it is read whole.  A plain text file of 8 MB or more
 * is streamed the same way (long_text).
 *
 * Output: warnings and the summary go to stderr; stdout is left for data
 * (`ftindex check`, `stats` and `dump` print there).
 *
 * Exit status (cli.h, man/ftindex.1): 0 success, 1 only from `dump TERM`
 * when the term is not in the index, 2 usage error, 3 I/O error or no index,
 * 4 corrupt or incompatible index (what `check` finds), 5 other errors such
 * as out of memory or nothing to index, 6 the index is locked by another
 * writer.  Warnings about single lines or files do not change it.
 */
#include "cli.h"
#include "ft_common.h"
#include "ft_index.h"
#include "ft_jsonl.h"
#include "ft_tokenize.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#ifdef __GLIBC__
#include <malloc.h> /* malloc_trim */
#endif
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SNIFF_BYTES 8192 /* binary detection looks at this prefix */

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: ftindex build [-o DIR] [--lang NAME] [--stopwords] [--fields ID,TITLE,BODY]\n"
            "                     [--memory SIZE] [-j N] [--quiet] [PATH...]\n"
            "       ftindex add [-i DIR] [--memory SIZE] [--fields ID,TITLE,BODY] [--quiet] PATH...\n"
            "       ftindex delete [-i DIR] ID...\n"
            "       ftindex merge [-i DIR | DIR] [--max-segments N]\n"
            "       ftindex check [-i DIR]\n"
            "       ftindex stats [-i DIR] [--json]\n"
            "       ftindex dump [-i DIR] [TERM]\n"
            "       ftindex --help | --version\n"
            "\n"
            "build   Index PATHs (default: the current directory) into DIR, replacing any\n"
            "        index there in one atomic step.  A directory is walked recursively\n"
            "        (hidden entries skipped); *.jsonl, *.ndjson and their .zst forms are\n"
            "        JSON Lines with one document per line; other files are text documents\n"
            "        (binary files skipped).  '-' reads JSON Lines from standard input.\n"
            "  -o, --output DIR     index directory (default: $FT_INDEX, else ./.ftindex)\n"
            "      --lang NAME      stemming language, or 'none' (default: english)\n"
            "      --stopwords      drop common words (english only)\n"
            "      --fields I,T,B   JSON keys of the id, title and body (default: id,title,body)\n"
            "      --memory SIZE    flush a segment when the in-memory index passes SIZE\n"
            "                       bytes (suffix K, M or G; default 512M)\n"
            "  -j, --jobs N         threads (default: the number of cores); 1: one thread\n"
            "                       does everything; the index is the same whatever N\n"
            "  -q, --quiet          no progress line and no summary\n"
            "\n"
            "add     Add the documents of PATHs to the index as new segments; a document\n"
            "        whose id is already in the index replaces it.\n"
            "delete  Delete the documents with these ids.\n"
            "merge   Merge segments (default: into one), dropping deleted documents.\n"
            "      --max-segments N keep at most N segments\n"
            "stats   Documents, terms, postings, segments, bytes per component, bits per\n"
            "        posting and position, compression ratios (--json: one JSON object).\n"
            "dump    Without TERM: every term and its document frequency.  With TERM:\n"
            "        its postings (document, id, frequency, positions).\n"
            "\n"
            "check   Verify every checksum and structure of an index.\n"
            "  -i, --index DIR      index directory (default: $FT_INDEX, else the nearest\n"
            "                       .ftindex in the current directory or its parents)\n"
            "\n"
            "Exit status: 0 success, 1 dump TERM: the term is not in the index, 2 usage\n"
            "error, 3 I/O error or no index, 4 corrupt or incompatible index, 5 other error\n"
            "(out of memory, no documents to index), 6 index locked by another writer.\n");
}

/* ------------------------------------------------------------------ build state */

/* One queued document.  Strings live in the batch's data, except a large
 * body, which is handed over instead of copied. */
typedef struct qdoc {
    size_t where, id, title, body; /* offsets into batch.data (body: into own_body if set) */
    size_t id_len, title_len, body_len;
    char *own_body;                /* non-NULL: the allocation holding the body, owned by the batch */
    int from_line;                 /* 1: a JSON Lines record, 0: a file */
    int streamed;                  /* the body is read from sfd by the consumer: 1 a JSON string, 2 text */
    int sfd;                       /* streamed: a descriptor of the file, owned by the batch */
    uint64_t soff, sraw;           /* streamed: the body's JSON string content in the file, */
    uint64_t stored_len;           /* its length once made valid UTF-8 */
    size_t tk;                     /* analyzed: its number in the batch's tokens (else SIZE_MAX) */
} qdoc;

/* Where the body of a long record or text file is (see "long JSON Lines
 * records"). */
typedef struct qstream {
    int fd;                        /* duplicated for the queue */
    int text;                      /* 1: the bytes as they are, 0: a JSON string's content */
    uint64_t off, raw;
    uint64_t stored;               /* the body's length once made valid UTF-8 */
} qstream;

typedef struct batch {
    struct batch *next;
    qdoc *docs;
    size_t n, docs_cap;
    char *data;
    size_t used, cap;
    /* -j N > 1: analysis done by another thread */
    ft_tokens *toks;               /* the documents' tokens (kept with the batch) */
    int state;                     /* BATCH_QUEUED, _ANALYZING, _ANALYZED, _INLINE */
    int arc;                       /* analysis status */
    char amsg[FT_ERRMSG_MAX];
} batch;

/* BATCH_INLINE: the writer's thread took the batch before any analysis
 * thread did, and adds its documents with ft_writer_add. */
enum { BATCH_QUEUED, BATCH_ANALYZING, BATCH_ANALYZED, BATCH_INLINE };

#define BATCH_BYTES (1u << 18)       /* hand a batch over at this size ... */
#define BATCH_DOCS 1024              /* ... or this many documents */
#define QUEUE_DEPTH 4                /* batches waiting at most */
#define HANDOVER_BYTES (1u << 20)    /* bodies this large are not copied */
#define ANALYZE_MAX HANDOVER_BYTES   /* -j: larger bodies are analyzed by the writer, in chunks */
#define KEEP_BYTES (16u << 20)       /* larger buffers are freed after use */
#define KEEP_TOKENS (8u << 20)       /* ... and larger batches of tokens */

typedef struct build {
    /* settings */
    const char *f_id, *f_title, *f_body; /* JSON keys */
    char **paths;
    int npaths;
    int have_out;                        /* output directory identity known */
    dev_t out_dev;
    ino_t out_ino;

    /* the queue between the threads (mu guards everything here); the
     * writer's thread both fills it (the producer part) and empties it */
    pthread_mutex_t mu;
    pthread_cond_t cv;                   /* broadcast on every change */
    batch *head, *tail;
    unsigned depth;
    batch *spare;                        /* consumed batches for reuse */
    int done;                            /* every batch is consumed: analysis threads, stop */
    int reader;                          /* -j N > 1: the producer part runs on its own thread */
    int reading_done;                    /* ... and has finished */
    atomic_int stop;                     /* the consumer gave up: stop reading */
    int consumed;                        /* the consumer's exit status */
    ft_analyzer *an;                     /* -j N > 1: the writer's thread analyzes too */
    ft_analyzer *an_reader;              /* ... and so does the reading thread */

    /* producer only */
    batch *cur;                          /* being filled */
    char *text;                          /* reusable buffer for text files */
    size_t text_cap;
    unsigned long skipped_lines, skipped_files;
    int fatal;                           /* exit status of the fatal error being raised */
    int failed;                          /* a fatal error: its exit status (message printed) */

    size_t long_line;                    /* longer lines and text files are streamed */
    unsigned max_depth;                  /* batches queued at most */
    unsigned nworkers;                   /* analysis threads besides the reading one (-j N: N - 2) */
    unsigned analysts;                   /* threads that analyze batches (0 with -j 1) */
    int workers_failed;

    /* consumer only */
    ft_writer *w;
    uint64_t docs, bytes;                /* added so far */
    unsigned long rejected_lines, rejected_files;
    int progress;                        /* stderr is a terminal and not --quiet */
    double t0, last_progress;
    uint64_t total_in;                   /* bytes of the input files, when known (ETA) */
    int progress_len;                    /* width of the progress line (stderr lock) */
} build;

static build *progress_owner; /* for the message hook */

/* Runs inside cli_msg with stderr locked. */
static void progress_clear(void)
{
    build *b = progress_owner;
    flockfile(stderr);
    if (b && b->progress_len) {
        fprintf(stderr, "\r%*s\r", b->progress_len, "");
        b->progress_len = 0;
    }
    funlockfile(stderr);
}

static void progress_tick(build *b)
{
    if (!b->progress) return;
    double now = cli_now();
    if (now - b->last_progress < 0.5) return;
    b->last_progress = now;
    double secs = now - b->t0;
    double mb = (double)b->bytes / 1e6;
    flockfile(stderr);
    char eta[48] = "";
    if (b->total_in && b->bytes && secs > 1) {
        /* document text is most of an input file's bytes: a rough, slightly
         * pessimistic estimate */
        double left = secs * ((double)b->total_in / (double)b->bytes - 1.0);
        if (left < 0) left = 0;
        snprintf(eta, sizeof eta, ", ETA %dm%02ds", (int)(left / 60), (int)left % 60);
    }
    int n = fprintf(stderr, "\rindexing: %" PRIu64 " documents, %.1f MB, %.1f MB/s%s", b->docs, mb,
                    secs > 0 ? mb / secs : 0.0, eta);
    if (n > 0) {
        n -= 1; /* the '\r' */
        if (n < b->progress_len) fprintf(stderr, "%*s", b->progress_len - n, "");
        if (n > b->progress_len) b->progress_len = n;
    }
    fflush(stderr);
    funlockfile(stderr);
}

/* Whether the producer should give up: a signal, or the consumer failed. */
static int should_stop(build *b) { return cli_interrupted || atomic_load(&b->stop); }

/* ---------------------------------------------------------------- producer */

static void batch_free(batch *bt)
{
    if (!bt) return;
    ft_tokens_free(bt->toks);
    for (size_t i = 0; i < bt->n; i++) {
        free(bt->docs[i].own_body);
        if (bt->docs[i].streamed) close(bt->docs[i].sfd);
    }
    free(bt->docs);
    free(bt->data);
    free(bt);
}

static int pump(build *b, int all);
static int analyze_while_full(build *b);

/* Queue the current batch, then let the writer's side work (pump) until
 * the queue has room again.  Returns 0, or -1 when the consumer has
 * stopped (the batch is dropped). */
static int flush_batch(build *b)
{
    batch *bt = b->cur;
    b->cur = NULL;
    if (!bt) return 0;
    if (bt->n == 0) {
        batch_free(bt);
        return 0;
    }
    pthread_mutex_lock(&b->mu);
    if (atomic_load(&b->stop) || cli_interrupted) {
        pthread_mutex_unlock(&b->mu);
        batch_free(bt);
        return -1;
    }
    bt->next = NULL;
    bt->state = BATCH_QUEUED;
    if (b->tail) b->tail->next = bt;
    else b->head = bt;
    b->tail = bt;
    b->depth++;
    pthread_cond_broadcast(&b->cv);
    pthread_mutex_unlock(&b->mu);
    if (b->reader) return analyze_while_full(b);
    return pump(b, 0) ? -1 : 0;
}

static int reserve(void **p, size_t *cap, size_t need, size_t elem, size_t min)
{
    if (need <= *cap) return 0;
    size_t c = *cap ? *cap : min;
    while (c < need) {
        if (c > SIZE_MAX / 2 / elem) return -1;
        c *= 2;
    }
    void *q = realloc(*p, c * elem);
    if (!q) return -1;
    *p = q;
    *cap = c;
    return 0;
}

/* Queue one document (copied, except own_body, the allocation holding body,
 * whose ownership passes to the queue whatever happens; with st, the body of
 * body_len bytes is read by the consumer from st's file, whose descriptor
 * is duplicated, and the batch is handed over at once, so few are open).
 * Returns 0, or -1 on a fatal error (message printed) or when the build is
 * stopping. */
static int queue_doc(build *b, const char *where, int from_line, const char *id, size_t id_len,
                     const char *title, size_t title_len, const char *body, size_t body_len,
                     char *own_body, const qstream *st)
{
    batch *bt = b->cur;
    if (!bt) {
        pthread_mutex_lock(&b->mu);
        if ((bt = b->spare)) b->spare = bt->next;
        pthread_mutex_unlock(&b->mu);
        if (!bt && !(bt = calloc(1, sizeof *bt))) goto nomem;
        b->cur = bt;
    }
    size_t wlen = strlen(where) + 1;
    size_t need = bt->used + wlen + id_len + title_len + (own_body ? 0 : body_len);
    if (reserve((void **)&bt->docs, &bt->docs_cap, bt->n + 1, sizeof(qdoc), 64) ||
        reserve((void **)&bt->data, &bt->cap, need, 1, BATCH_BYTES + BATCH_BYTES / 4))
        goto nomem;
    qdoc *d = &bt->docs[bt->n++];
    memset(d, 0, sizeof *d);
    d->from_line = from_line;
#define PUT(field, src, len)                                                                    \
    do {                                                                                       \
        d->field = bt->used;                                                                   \
        if (len) memcpy(bt->data + bt->used, (src), (len));                                    \
        bt->used += (len);                                                                     \
    } while (0)
    PUT(where, where, wlen);
    PUT(id, id, id_len);
    PUT(title, title, title_len);
    if (own_body) {
        d->own_body = own_body;
        d->body = (size_t)(body - own_body);
    } else if (!st) {
        PUT(body, body, body_len);
    }
#undef PUT
    d->id_len = id_len;
    d->title_len = title_len;
    d->body_len = body_len;
    if (st) {
        if ((d->sfd = dup(st->fd)) < 0) {
            bt->n--;
            cli_msg("%s: %s", where, strerror(errno));
            return -1;
        }
        d->streamed = st->text ? 2 : 1;
        d->soff = st->off;
        d->sraw = st->raw;
        d->stored_len = st->stored;
        return flush_batch(b);
    }
    if (bt->used >= BATCH_BYTES || bt->n >= BATCH_DOCS) return flush_batch(b);
    return 0;
nomem:
    free(own_body);
    cli_msg("%s: out of memory", where);
    return -1;
}

/* ---------------------------------------------------------------- consumer */

static int hexval(uint8_t c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static int hex4v(const uint8_t *p, uint32_t *v)
{
    *v = 0;
    for (int k = 0; k < 4; k++) {
        int h = hexval(p[k]);
        if (h < 0) return -1;
        *v = *v << 4 | (uint32_t)h;
    }
    return 0;
}

static size_t put_utf8(uint8_t *t, uint32_t cp)
{
    if (cp < 0x80) { t[0] = (uint8_t)cp; return 1; }
    if (cp < 0x800) { t[0] = (uint8_t)(0xC0 | cp >> 6); t[1] = (uint8_t)(0x80 | (cp & 0x3F)); return 2; }
    if (cp < 0x10000) {
        t[0] = (uint8_t)(0xE0 | cp >> 12); t[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        t[2] = (uint8_t)(0x80 | (cp & 0x3F));
        return 3;
    }
    t[0] = (uint8_t)(0xF0 | cp >> 18); t[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
    t[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F)); t[3] = (uint8_t)(0x80 | (cp & 0x3F));
    return 4;
}

#define READ_BLOCK (1u << 20)

/* Give the writer the body of a long record or text file from its file,
 * READ_BLOCK bytes at a time: a text file's bytes as they are, or the JSON
 * string content the first pass checked, its escapes decoded (an escape cut
 * by a block's end waits for the next). */
static int stream_body(build *b, const qdoc *d, ft_error *err)
{
    uint8_t *in = malloc(READ_BLOCK), *out = malloc(READ_BLOCK);
    uint64_t at = d->soff, end = d->soff + d->sraw;
    size_t have = 0;
    int rc = FT_OK;
    if (!in || !out) {
        rc = ft_error_set(err, FT_ENOMEM, "out of memory");
        goto done;
    }
    while (!rc && (at < end || have)) {
        size_t want = READ_BLOCK - have;
        if (want > end - at) want = (size_t)(end - at);
        if (want) {
            ssize_t n = pread(d->sfd, in + have, want, (off_t)at);
            if (n < 0 && errno == EINTR && !cli_interrupted) continue;
            if (n <= 0) {
                rc = ft_error_set(err, FT_EIO, "cannot read the body again: %s", n < 0 ? strerror(errno) : "the file is shorter");
                break;
            }
            at += (uint64_t)n;
            have += (size_t)n;
        }
        int last = at == end;
        if (d->streamed == 2) { /* text: as it is */
            rc = ft_writer_text(b->w, (const char *)in, have, err);
            have = 0;
            continue;
        }
        size_t i = 0, o = 0;
        while (i < have) {
            if (in[i] != '\\') {
                const uint8_t *bs = memchr(in + i, '\\', have - i);
                size_t j = bs ? (size_t)(bs - in) : have;
                memcpy(out + o, in + i, j - i);
                o += j - i;
                i = j;
                continue;
            }
            if (!last && have - i < 12) break; /* the escape may go on in the next block */
            uint32_t cp, lo;
            if (have - i < 2) goto changed;
            switch (in[i + 1]) {
            case '"': case '\\': case '/': out[o++] = in[i + 1]; i += 2; continue;
            case 'b': out[o++] = '\b'; i += 2; continue;
            case 'f': out[o++] = '\f'; i += 2; continue;
            case 'n': out[o++] = '\n'; i += 2; continue;
            case 'r': out[o++] = '\r'; i += 2; continue;
            case 't': out[o++] = '\t'; i += 2; continue;
            case 'u':
                if (have - i < 6 || hex4v(in + i + 2, &cp)) goto changed;
                i += 6;
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    if (have - i < 6 || in[i] != '\\' || in[i + 1] != 'u' || hex4v(in + i + 2, &lo)) goto changed;
                    i += 6;
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                }
                o += put_utf8(out + o, cp);
                continue;
            default:
                goto changed;
            }
        }
        memmove(in, in + i, have - i);
        have -= i;
        if (o) rc = ft_writer_text(b->w, (const char *)out, o, err);
        if (last && have) goto changed;
        if (cli_interrupted && !rc) rc = ft_error_set(err, FT_EIO, "interrupted");
    }
    goto done;
changed:
    rc = ft_error_set(err, FT_EIO, "the file changed while it was read");
done:
    free(in);
    free(out);
    return rc;
}

/* Add one batch's documents to the writer, in order, and recycle the batch.
 * Returns CLI_EXIT_OK, or the exit status of a fatal writer error (message
 * printed) or of an interrupt. */
static int consume_batch(build *b, batch *bt)
{
    int ret = CLI_EXIT_OK;
    int tokens = bt->state == BATCH_ANALYZED; /* else ft_writer_add */
    for (size_t i = 0; i < bt->n && ret == CLI_EXIT_OK; i++) {
        const qdoc *d = &bt->docs[i];
        const char *body = d->own_body ? d->own_body + d->body : bt->data + d->body;
        ft_error err = {0};
        int rc;
        if (tokens && bt->arc) {
            rc = bt->arc;
            ft_error_set(&err, rc, "%s", bt->amsg);
        } else if (d->streamed) {
            rc = ft_writer_begin(b->w, bt->data + d->id, d->id_len, bt->data + d->title, d->title_len,
                                 d->body_len, d->stored_len, &err);
            if (!rc) {
                rc = stream_body(b, d, &err);
                if (!rc) rc = ft_writer_end(b->w, &err);
                if (rc == FT_EINVAL) rc = FT_EIO; /* the file changed: the writer has failed */
            }
        } else if (tokens && d->tk != SIZE_MAX) {
            rc = ft_writer_add_tokens(b->w, bt->toks, d->tk, bt->data + d->id, d->id_len, bt->data + d->title,
                                      d->title_len, body, d->body_len, &err);
        } else {
            rc = ft_writer_add(b->w, bt->data + d->id, d->id_len, bt->data + d->title, d->title_len, body,
                               d->body_len, &err);
        }
        if (rc == FT_EINVAL) { /* this document only */
            cli_msg("%s: skipped: %s", bt->data + d->where,
                    err.msg[0] ? err.msg : ft_strerror(rc));
            if (d->from_line) b->rejected_lines++;
            else b->rejected_files++;
        } else if (rc != FT_OK) {
            cli_msg("%s: %s", bt->data + d->where, err.msg[0] ? err.msg : ft_strerror(rc));
            ret = cli_exit_for(rc);
        } else {
            b->docs++;
            b->bytes += d->id_len + d->title_len + d->body_len;
            progress_tick(b);
        }
        if (cli_interrupted && ret == CLI_EXIT_OK) ret = CLI_EXIT_OTHER;
    }

    /* Recycle the batch with its tokens' memory (the thread that analyzes
     * it next clears them), unless a large document grew them */
    for (size_t i = 0; i < bt->n; i++) {
        free(bt->docs[i].own_body);
        if (bt->docs[i].streamed) close(bt->docs[i].sfd);
    }
    bt->n = bt->used = 0;
    if (bt->toks && ft_tokens_bytes(bt->toks) > KEEP_TOKENS) {
        ft_tokens_free(bt->toks);
        bt->toks = NULL;
    }
    if (bt->cap > KEEP_BYTES) {
        batch_free(bt);
        bt = NULL;
    }
    pthread_mutex_lock(&b->mu);
    if (bt) {
        bt->next = b->spare;
        b->spare = bt;
    }
    if (ret) {
        b->consumed = ret;
        atomic_store(&b->stop, 1);
        pthread_cond_broadcast(&b->cv);
    }
    pthread_mutex_unlock(&b->mu);
    return ret;
}

/* ---------------------------------------------------------------- analysis
 *
 * With -j N (N > 1), queued batches are analyzed (tokenized and folded: most
 * of the CPU time of a build) into ft_tokens by N - 2 analysis threads, by
 * the reading thread while the queue is full and by the writer's thread
 * rather than wait (analyze_queued), each with its own analyzer; the
 * writer's thread adds the batches in queue order with
 * ft_writer_add_tokens.  Order, and so the index, is the same as with -j 1. */

/* Analyze bt's documents with an (any thread; bt is this thread's). */
static void analyze_batch(batch *bt, ft_analyzer *an)
{
    bt->arc = 0;
    if (!bt->toks && !(bt->toks = ft_tokens_new())) {
        bt->arc = FT_ENOMEM;
        snprintf(bt->amsg, sizeof bt->amsg, "out of memory");
        return;
    }
    ft_tokens_clear(bt->toks);
    for (size_t i = 0; i < bt->n && !bt->arc; i++) {
        qdoc *d = &bt->docs[i];
        d->tk = SIZE_MAX;
        if (d->streamed || d->body_len >= ANALYZE_MAX) continue; /* whole tokens would not be bounded */
        const char *body = d->own_body ? d->own_body + d->body : bt->data + d->body;
        ft_error err = {0};
        int rc = ft_tokens_analyze(bt->toks, an, bt->data + d->title, d->title_len, body, d->body_len, &err);
        if (rc) {
            bt->arc = rc;
            snprintf(bt->amsg, sizeof bt->amsg, "%s", err.msg);
        } else {
            d->tk = ft_tokens_count(bt->toks) - 1;
        }
    }
}

/* With b->mu held: analyze the first queued batch from q on with *an
 * (made on first use), the lock released meanwhile.  0 when there is none
 * (or no analyzer can be made): the caller waits for a change. */
static int analyze_queued(build *b, batch *q, ft_analyzer **an)
{
    while (q && q->state != BATCH_QUEUED) q = q->next;
    if (q && !*an && ft_analyzer_new(ft_writer_analyzer_opts(b->w), an, NULL) != FT_OK) {
        *an = NULL;
        q = NULL;
    }
    if (!q) return 0;
    q->state = BATCH_ANALYZING;
    pthread_mutex_unlock(&b->mu);
    analyze_batch(q, *an);
    pthread_mutex_lock(&b->mu);
    q->state = BATCH_ANALYZED;
    pthread_cond_broadcast(&b->cv);
    return 1;
}

static void *analyze_batches(void *arg)
{
    build *b = arg;
    ft_analyzer *an = NULL;
    int ok = ft_analyzer_new(ft_writer_analyzer_opts(b->w), &an, NULL) == FT_OK;
    pthread_mutex_lock(&b->mu);
    if (!ok) {
        b->workers_failed = 1;
        pthread_cond_broadcast(&b->cv);
    }
    while (ok && !b->done && !atomic_load(&b->stop) && !b->workers_failed)
        if (!analyze_queued(b, b->head, &an)) pthread_cond_wait(&b->cv, &b->mu);
    pthread_mutex_unlock(&b->mu);
    ft_analyzer_free(an);
    return NULL;
}

/* The writer's thread between batches: add the batches at the head that are
 * ready, in order, until the queue has room (all: until it is empty).  It
 * never waits while there is work: a head no thread has started is taken
 * and added with ft_writer_add; else a queued batch is analyzed here.
 * Returns CLI_EXIT_OK or the consumer's exit status. */
static int pump(build *b, int all)
{
    int ret = CLI_EXIT_OK;
    pthread_mutex_lock(&b->mu);
    for (;;) {
        if (cli_interrupted && b->reader) {
            pthread_mutex_unlock(&b->mu);
            return CLI_EXIT_OTHER;
        }
        if (b->workers_failed) {
            b->consumed = CLI_EXIT_OTHER;
            atomic_store(&b->stop, 1);
            pthread_cond_broadcast(&b->cv);
            pthread_mutex_unlock(&b->mu);
            cli_msg("out of memory starting the analysis threads");
            return CLI_EXIT_OTHER;
        }
        batch *bt = b->head;
        if (!bt) {
            if (!all || !b->reader || b->reading_done || atomic_load(&b->stop)) break;
            pthread_cond_wait(&b->cv, &b->mu); /* the reading thread has more */
            continue;
        }
        int ready = !b->analysts || bt->state == BATCH_ANALYZED;
        if (!ready && !(all || b->depth >= b->max_depth)) break; /* read more meanwhile */
        if (!ready && bt->state == BATCH_QUEUED) {
            bt->state = BATCH_INLINE;
            ready = 1;
        }
        if (ready) {
            if (!(b->head = bt->next)) b->tail = NULL;
            b->depth--;
            pthread_cond_broadcast(&b->cv); /* room in the queue */
            pthread_mutex_unlock(&b->mu);
            if ((ret = consume_batch(b, bt))) return ret;
            pthread_mutex_lock(&b->mu);
            continue;
        }
        if (!analyze_queued(b, bt->next, &b->an)) pthread_cond_wait(&b->cv, &b->mu);
    }
    pthread_mutex_unlock(&b->mu);
    return ret;
}

/* The reading thread (-j N > 1) after queueing a batch: while the queue is
 * full, it analyzes queued batches.  Returns 0, or -1 when the consumer has
 * stopped. */
static int analyze_while_full(build *b)
{
    pthread_mutex_lock(&b->mu);
    while (b->depth >= b->max_depth && !atomic_load(&b->stop) && !cli_interrupted)
        if (!analyze_queued(b, b->head, &b->an_reader)) pthread_cond_wait(&b->cv, &b->mu);
    int stop = atomic_load(&b->stop) || cli_interrupted;
    pthread_mutex_unlock(&b->mu);
    return stop ? -1 : 0;
}

/* --------------------------------------------------------------- JSON Lines */

static int is_blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n') return 0;
    return 1;
}

static const char *json_type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "a value";
}

/* A string field (title, body): absent or null is empty; any other non-string
 * is an error.  Returns 0 or -1. */
static int str_field(json_t *obj, const char *key, const char **s, size_t *n)
{
    json_t *v = json_object_get(obj, key);
    *s = "";
    *n = 0;
    if (!v || json_is_null(v)) return 0;
    if (!json_is_string(v)) return -1;
    *s = json_string_value(v);
    *n = json_string_length(v);
    return 0;
}

/* Pick the id, title and body out of one parsed line.  An absent, null or
 * empty id keeps the caller's default ("file:line"); an integer id becomes
 * its decimal form in idbuf.  Returns 1, or 0 after printing why the line is
 * skipped. */
static int record_fields(const build *b, json_t *obj, const char *where, char *idbuf,
                         const char **id, size_t *id_len, const char **title,
                         size_t *title_len, const char **body, size_t *body_len)
{
    if (!json_is_object(obj)) {
        cli_msg("%s: skipped: not a JSON object (found %s)", where, json_type_name(obj));
        return 0;
    }
    json_t *v = json_object_get(obj, b->f_id);
    if (json_is_string(v)) {
        if (json_string_length(v) > 0) {
            *id = json_string_value(v);
            *id_len = json_string_length(v);
        }
    } else if (json_is_integer(v)) {
        snprintf(idbuf, 32, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        *id = idbuf;
        *id_len = strlen(idbuf);
    } else if (v && !json_is_null(v)) {
        cli_msg("%s: skipped: \"%s\" is %s, expected a string or an integer", where, b->f_id,
                json_type_name(v));
        return 0;
    }
    if (str_field(obj, b->f_title, title, title_len)) {
        cli_msg("%s: skipped: \"%s\" is %s, expected a string", where, b->f_title,
                json_type_name(json_object_get(obj, b->f_title)));
        return 0;
    }
    if (str_field(obj, b->f_body, body, body_len)) {
        cli_msg("%s: skipped: \"%s\" is %s, expected a string", where, b->f_body,
                json_type_name(json_object_get(obj, b->f_body)));
        return 0;
    }
    return 1;
}

/* One JSON Lines record, line[0..len) (NUL-terminated), number lineno,
 * called where in messages.  A large body is handed over with the buffer
 * holding it: the line's (*heap when heap is given, else the cli_lines
 * buffer) or the scratch of decoded escapes.  Returns 0, or -1 on a fatal
 * error. */
static int json_line(build *b, char *line, size_t len, unsigned long lineno, const char *where, ft_buf *jscratch,
                     cli_lines *lines, char **heap)
{
    if (lineno == 1 && len >= 3 && !memcmp(line, "\xEF\xBB\xBF", 3)) { /* UTF-8 BOM */
        line += 3;
        len -= 3;
    }
    if (is_blank(line, len)) return 0;

    /* fast path: a validating scanner for flat records; anything it is
     * not sure about goes through jansson below */
    const char *keys[3] = {b->f_id, b->f_title, b->f_body};
    static const int int_ok[3] = {1, 0, 0};
    ft_jsonl_value v[3];
    if (ft_jsonl_extract(line, len, keys, int_ok, 3, v, jscratch) == FT_JSONL_OK) {
        const char *fid = where;
        size_t fid_len = strlen(where);
        if ((v[0].kind == FT_JSONL_STRING || v[0].kind == FT_JSONL_INTEGER) && v[0].len > 0) {
            fid = v[0].text;
            fid_len = v[0].len;
        }
        /* a large body is handed over with the buffer holding it
         * (the line's, or the scratch of decoded escapes) */
        char *own = NULL;
        if (v[2].kind == FT_JSONL_STRING && v[2].len >= HANDOVER_BYTES) {
            uintptr_t t = (uintptr_t)v[2].text, l0 = (uintptr_t)line, s0 = (uintptr_t)jscratch->p;
            if (t >= l0 && t < l0 + len) {
                if (heap) {
                    own = *heap;
                    *heap = NULL;
                } else {
                    own = cli_lines_take(lines);
                }
            } else if (s0 && t >= s0 && t < s0 + jscratch->len) {
                own = (char *)jscratch->p;
                ft_buf_init(jscratch);
            }
        }
        return queue_doc(b, where, 1, fid, fid_len, v[1].kind == FT_JSONL_STRING ? v[1].text : "",
                         v[1].kind == FT_JSONL_STRING ? v[1].len : 0, v[2].kind == FT_JSONL_STRING ? v[2].text : "",
                         v[2].kind == FT_JSONL_STRING ? v[2].len : 0, own, NULL);
    }

    json_error_t jerr;
    json_t *obj = json_loadb(line, len, JSON_ALLOW_NUL, &jerr);
    if (!obj) {
        cli_msg("%s: skipped: invalid JSON (%s, column %d)", where, jerr.text, jerr.column);
        b->skipped_lines++;
        return 0;
    }
    char idbuf[32];
    const char *id = where, *title = "", *body = "";
    size_t id_len = strlen(where), title_len = 0, body_len = 0;
    if (!record_fields(b, obj, where, idbuf, &id, &id_len, &title, &title_len, &body, &body_len)) {
        b->skipped_lines++;
        json_decref(obj);
        return 0;
    }
    int a = queue_doc(b, where, 1, id, id_len, title, title_len, body, body_len, NULL, NULL);
    json_decref(obj);
    return a;
}

/* --------------------------------------------------------------- long JSON Lines records
 *
 * A line of LONG_LINE bytes or more in a plain file (not compressed, not
 * standard input) is not held.  A first pass reads it (pread, READ_BLOCK at a
 * time) into a skeleton: the line with the contents of its strings of
 * LONG_STRING bytes or more left out (an empty string in their place), each
 * checked on the way exactly as the JSON scanner checks a string, its
 * decoded length counted.  The skeleton goes through the scanner of a whole
 * line; when the body is one of the strings left out, the document is
 * queued with the body's place in the file, and the consumer reads it again
 * and gives it to the writer in pieces (stream_body).  Anything else that
 * involves a string left out (the id or the title, a string the scanner
 * would refuse or holding \u0000, a line the scanner leaves to jansson) is
 * read whole and goes the ordinary way, with the same outcome and messages:
 * only memory differs.  What a long line still holds: its skeleton (all
 * that is not in a long string) and a block. */
#define LONG_LINE (8u << 20)
#define LONG_STRING (1u << 20)

typedef struct long_str {
    size_t skel;          /* offset of its (empty) content in the skeleton */
    uint64_t off, raw;    /* its content in the file */
    uint64_t dec;         /* decoded length */
} long_str;

/* The check of a string's content, a byte at a time: scan_string of
 * common/jsonl.c as a state machine. */
enum { JS_TEXT, JS_UTF8, JS_ESC, JS_HEX, JS_LO_BS, JS_LO_U, JS_LO_HEX };
typedef struct jstr {
    int st, need;
    uint32_t v, min, hi;
    uint64_t dec;         /* decoded bytes */
    int nul;              /* holds \u0000 (refused in a key) */
} jstr;

/* 1: the closing quote, 0: go on, -1: not a valid string. */
static int jstr_byte(jstr *j, uint8_t c)
{
    switch (j->st) {
    case JS_TEXT:
        if (c == '"') return 1;
        if (c == '\\') { j->st = JS_ESC; return 0; }
        if (c < 0x20) return -1;
        if (c < 0x80) { j->dec++; return 0; }
        if (c >= 0xC2 && c <= 0xDF) { j->need = 1; j->v = c & 0x1F; j->min = 0x80; }
        else if (c >= 0xE0 && c <= 0xEF) { j->need = 2; j->v = c & 0x0F; j->min = 0x800; }
        else if (c >= 0xF0 && c <= 0xF4) { j->need = 3; j->v = c & 0x07; j->min = 0x10000; }
        else return -1;
        j->dec += (uint64_t)j->need + 1;
        j->st = JS_UTF8;
        return 0;
    case JS_UTF8:
        if ((c & 0xC0) != 0x80) return -1;
        j->v = j->v << 6 | (c & 0x3F);
        if (--j->need) return 0;
        if (j->v < j->min || j->v > 0x10FFFF || (j->v >= 0xD800 && j->v <= 0xDFFF)) return -1;
        j->st = JS_TEXT;
        return 0;
    case JS_ESC:
        if (c == 'u') {
            j->st = JS_HEX;
            j->need = 4;
            j->v = 0;
            return 0;
        }
        if (!strchr("\"\\/bfnrt", c) || !c) return -1;
        j->dec++;
        j->st = JS_TEXT;
        return 0;
    case JS_HEX:
    case JS_LO_HEX: {
        int h = hexval(c);
        if (h < 0) return -1;
        j->v = j->v << 4 | (uint32_t)h;
        if (--j->need) return 0;
        if (j->st == JS_LO_HEX) {
            if (j->v < 0xDC00 || j->v > 0xDFFF) return -1;
            j->dec += 4;
            j->st = JS_TEXT;
            return 0;
        }
        uint32_t cp = j->v;
        if (cp >= 0xDC00 && cp <= 0xDFFF) return -1; /* lone low surrogate */
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            j->st = JS_LO_BS;
            return 0;
        }
        if (cp == 0) j->nul = 1;
        j->dec += cp < 0x80 ? 1 : cp < 0x800 ? 2 : 3;
        j->st = JS_TEXT;
        return 0;
    }
    case JS_LO_BS:
        if (c != '\\') return -1;
        j->st = JS_LO_U;
        return 0;
    case JS_LO_U:
        if (c != 'u') return -1;
        j->st = JS_LO_HEX;
        j->need = 4;
        j->v = 0;
        return 0;
    }
    return -1;
}

/* The long line at cli_lines_long_at(lines), number lineno.  Returns 0, or
 * -1 on a fatal error. */
static int long_json_line(build *b, cli_lines *lines, unsigned long lineno, const char *where, ft_buf *jscratch)
{
    int fd = cli_lines_fd(lines);
    uint64_t start = cli_lines_long_at(lines), at = start, line_end = 0;
    uint8_t *blk = malloc(READ_BLOCK);
    ft_buf skel;
    ft_buf_init(&skel);
    long_str *longs = NULL;
    size_t nlong = 0, long_cap = 0;
    int whole = 0, found = 0, in_str = 0, ret = 0;
    jstr js;
    uint64_t str_off = 0, str_raw = 0;
    size_t str_skel = 0;
    char *line = NULL;
    if (!blk) goto nomem;

    /* first pass: the skeleton, to the line's end */
    while (!found) {
        ssize_t n = pread(fd, blk, READ_BLOCK, (off_t)at);
        if (n < 0 && errno == EINTR && !should_stop(b)) continue;
        if (n < 0) goto readerr;
        if (n == 0) {
            line_end = at;
            break;
        }
        size_t i = 0, m = (size_t)n;
        if (at == start && lineno == 1 && m >= 3 && !memcmp(blk, "\xEF\xBB\xBF", 3)) i = 3; /* BOM */
        while (i < m && !whole) {
            if (!in_str) {
                size_t j = i;
                while (j < m && blk[j] != '"' && blk[j] != '\n') j++;
                ft_buf_append(&skel, blk + i, j - i);
                i = j;
                if (i == m) break;
                if (blk[i] == '\n') {
                    found = 1;
                    break;
                }
                ft_buf_append(&skel, "\"", 1);
                i++;
                in_str = 1;
                memset(&js, 0, sizeof js);
                str_off = at + i;
                str_raw = 0;
                str_skel = skel.len;
                continue;
            }
            size_t j = i;
            int r = 0;
            if (js.st == JS_TEXT) /* a run of plain ASCII */
                while (j < m && blk[j] >= 0x20 && blk[j] < 0x80 && blk[j] != '"' && blk[j] != '\\') j++;
            js.dec += j - i;
            while (j < m && (r = jstr_byte(&js, blk[j])) == 0 && js.st != JS_TEXT) j++;
            if (j < m && r == 0) j++; /* a byte that ended an escape or a sequence */
            size_t upto = j;
            if (str_raw < LONG_STRING) ft_buf_append(&skel, blk + i, (upto - i) < LONG_STRING - str_raw ? upto - i : (size_t)(LONG_STRING - str_raw));
            str_raw += upto - i;
            if (str_raw >= LONG_STRING && skel.len > str_skel) skel.len = str_skel; /* left out */
            i = upto;
            if (r < 0 || js.nul) {
                whole = 1;
                break;
            }
            if (r == 1) { /* the closing quote at i */
                if (str_raw >= LONG_STRING) {
                    if (nlong == long_cap) {
                        size_t cap = long_cap ? long_cap * 2 : 4;
                        long_str *p = realloc(longs, cap * sizeof *p);
                        if (!p) goto nomem;
                        longs = p;
                        long_cap = cap;
                    }
                    longs[nlong++] = (long_str){str_skel, str_off, str_raw, js.dec};
                }
                ft_buf_append(&skel, "\"", 1);
                i++;
                in_str = 0;
            }
        }
        if (whole && !found) { /* find the end only */
            const uint8_t *nl = memchr(blk + i, '\n', m - i);
            if (nl) {
                found = 1;
                i = (size_t)(nl - blk);
            } else {
                i = m;
            }
        }
        if (found) line_end = at + i;
        at += m;
        if (skel.failed) goto nomem;
        if (should_stop(b)) {
            ret = -1;
            goto out;
        }
    }
    if (in_str) whole = 1; /* the line ends inside a string: not valid */
    if (cli_lines_resume(lines, found ? line_end + 1 : line_end)) goto readerr;

    if (!whole) {
        ft_buf_append(&skel, "", 1);
        if (skel.failed) goto nomem;
        skel.len--;
        char *sk = (char *)skel.p;
        if (is_blank(sk, skel.len)) goto out;
        const char *keys[3] = {b->f_id, b->f_title, b->f_body};
        static const int int_ok[3] = {1, 0, 0};
        ft_jsonl_value v[3];
        if (ft_jsonl_extract(sk, skel.len, keys, int_ok, 3, v, jscratch) != FT_JSONL_OK) {
            whole = 1;
        } else {
            const long_str *lv[3] = {NULL, NULL, NULL};
            for (int k = 0; k < 3; k++)
                for (size_t q = 0; q < nlong && v[k].kind == FT_JSONL_STRING; q++)
                    if (v[k].text == sk + longs[q].skel && v[k].len == 0) lv[k] = &longs[q];
            const char *fid = where;
            size_t fid_len = strlen(where);
            if ((v[0].kind == FT_JSONL_STRING || v[0].kind == FT_JSONL_INTEGER) && v[0].len > 0) {
                fid = v[0].text;
                fid_len = v[0].len;
            }
            const char *title = v[1].kind == FT_JSONL_STRING ? v[1].text : "";
            size_t title_len = v[1].kind == FT_JSONL_STRING ? v[1].len : 0;
            if (lv[0] || lv[1] || (lv[2] && lv[2]->dec + fid_len + title_len < (1u << 20))) {
                whole = 1;
            } else if (lv[2]) {
                qstream st = {fd, 0, lv[2]->off, lv[2]->raw, lv[2]->dec};
                ret = queue_doc(b, where, 1, fid, fid_len, title, title_len, "", lv[2]->dec, NULL, &st);
            } else {
                ret = queue_doc(b, where, 1, fid, fid_len, title, title_len,
                                v[2].kind == FT_JSONL_STRING ? v[2].text : "",
                                v[2].kind == FT_JSONL_STRING ? v[2].len : 0, NULL, NULL);
            }
        }
    }
    if (whole) { /* read it whole, and go the ordinary way */
        uint64_t n = line_end - start;
        if (n >= SIZE_MAX || !(line = malloc((size_t)n + 1))) goto nomem;
        for (uint64_t got = 0; got < n;) {
            ssize_t r = pread(fd, line + got, (size_t)(n - got), (off_t)(start + got));
            if (r < 0 && errno == EINTR && !should_stop(b)) continue;
            if (r <= 0) goto readerr;
            got += (uint64_t)r;
        }
        line[n] = '\0';
        ret = json_line(b, line, (size_t)n, lineno, where, jscratch, NULL, &line);
    }
    goto out;
nomem:
    cli_msg("%s: out of memory", where);
    ret = -1;
    goto out;
readerr:
    cli_msg("%s: %s", where, strerror(errno ? errno : EIO));
    ret = -1;
out:
    free(line);
    free(blk);
    free(longs);
    ft_buf_free(&skel);
    return ret;
}

/* Index one JSON Lines stream.  name is what messages call it.  Returns 0 or
 * -1 on a fatal error. */
static int index_jsonl(build *b, const char *path, const char *name, int zstd)
{
    cli_stream *s = cli_stream_open(path, zstd);
    if (!s) {
        if (errno == ENOMEM) {
            cli_msg("out of memory");
            return -1;
        }
        cli_msg("%s: skipped: %s", name, strerror(errno));
        b->skipped_files++;
        return 0;
    }
    cli_lines *lines = cli_lines_new(s);
    if (!lines) {
        cli_msg("out of memory");
        return -1;
    }
    cli_lines_set_long(lines, b->long_line); /* a plain file only */
    size_t name_len = strlen(name);
    char *where = malloc(name_len + 32); /* "name:line" */
    if (!where) {
        cli_lines_free(lines);
        cli_msg("out of memory");
        return -1;
    }
    int ret = 0;
    char *line;
    size_t len;
    unsigned long lineno;
    int r;
    ft_buf jscratch;
    ft_buf_init(&jscratch);
    while ((r = cli_lines_next(lines, &line, &len, &lineno)) >= 1) {
        if (should_stop(b)) {
            ret = -1;
            break;
        }
        snprintf(where, name_len + 32, "%s:%lu", name, lineno);
        int a = r == 2 ? long_json_line(b, lines, lineno, where, &jscratch)
                       : json_line(b, line, len, lineno, where, &jscratch, lines, NULL);
        if (a < 0) {
            ret = -1;
            break;
        }
    }
    if (r < 0) {
        if (should_stop(b)) {
            ret = -1;
        } else { /* keep what was read, go on with the next input */
            unsigned long done = cli_lines_count(lines);
            if (done) cli_msg("%s: skipped the rest after line %lu: %s", name, done,
                              cli_lines_error(lines));
            else cli_msg("%s: skipped: %s", name, cli_lines_error(lines));
            b->skipped_files++;
        }
    }
    ft_buf_free(&jscratch);
    free(where);
    cli_lines_free(lines);
    return ret;
}

/* ---------------------------------------------------------------- text files */

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcmp(s + n - m, suffix);
}

static int grow_text(build *b, size_t need)
{
    if (need <= b->text_cap) return 0;
    size_t cap = b->text_cap ? b->text_cap : 64 * 1024;
    while (cap < need) {
        if (cap > SIZE_MAX / 2) return -1;
        cap *= 2;
    }
    char *p = realloc(b->text, cap);
    if (!p) return -1;
    b->text = p;
    b->text_cap = cap;
    return 0;
}

/* The title of a text file: its base name without its extension(s) (".zst"
 * and then one more). */
static const char *text_title(const char *path, int zstd, size_t *tlen)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    *tlen = strlen(base);
    if (zstd && *tlen > 4 && ends_with(base, ".zst")) *tlen -= 4;
    for (size_t i = *tlen; i-- > 1;) {
        if (base[i] == '.') {
            *tlen = i;
            break;
        }
    }
    return base;
}

/* A plain text file of b->long_line bytes or more (size bytes, its first
 * SNIFF_BYTES found to be text): not read whole, but once to count its
 * length as stored (invalid UTF-8 replaced), then by the consumer, which
 * gives it to the writer in pieces.  Returns 0 or -1 on a fatal error. */
static int long_text(build *b, const char *path, int fd, uint64_t size)
{
    uint8_t *blk = malloc(READ_BLOCK);
    if (!blk) {
        cli_msg("%s: out of memory", path);
        return -1;
    }
    uint64_t stored = 0, at = 0;
    size_t have = 0;
    while (at < size) {
        size_t want = READ_BLOCK - have;
        if (want > size - at) want = (size_t)(size - at);
        ssize_t n = pread(fd, blk + have, want, (off_t)at);
        if (n < 0 && errno == EINTR && !should_stop(b)) continue;
        if (n <= 0) {
            cli_msg("%s: skipped: %s", path, n < 0 ? strerror(errno) : "the file got shorter");
            b->skipped_files++;
            free(blk);
            return should_stop(b) ? -1 : 0;
        }
        at += (uint64_t)n;
        have += (size_t)n;
        /* cut before the last character start, where the sanitizer starts afresh */
        size_t cut = have;
        if (at < size)
            for (size_t k = have; k-- > 0 && have - k <= 4;)
                if ((blk[k] & 0xC0) != 0x80) {
                    cut = k;
                    break;
                }
        stored += ft_utf8_sanitized_len((const char *)blk, cut);
        memmove(blk, blk + cut, have - cut);
        have -= cut;
    }
    free(blk);
    size_t tlen;
    const char *title = text_title(path, 0, &tlen);
    qstream st = {fd, 1, 0, size, stored};
    return queue_doc(b, path, 0, path, strlen(path), title, tlen, "", size, NULL, &st);
}

/* Index one text file as a document: id = path, title = base name without
 * its extension(s) (".zst" and then one more), body = the content. */
static int index_text(build *b, const char *path, int zstd)
{
    cli_stream *s = cli_stream_open(path, zstd ? CLI_ZSTD_YES : CLI_ZSTD_NO);
    if (!s) {
        if (errno == ENOMEM) {
            cli_msg("out of memory");
            return -1;
        }
        cli_msg("%s: skipped: %s", path, strerror(errno));
        b->skipped_files++;
        return 0;
    }
    size_t len = 0, hint = SNIFF_BYTES;
    struct stat st;
    if (!zstd && fstat(cli_stream_fd(s), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0)
        hint = (size_t)st.st_size + 1;
    int ret = 0;
    const char *why = NULL;
    if (grow_text(b, SNIFF_BYTES)) goto nomem;

    /* Sniff the first 8 KiB before reading the rest, so a large binary file
     * costs one read. */
    ssize_t r = cli_stream_read_full(s, b->text, SNIFF_BYTES);
    if (r < 0) goto readerr;
    len = (size_t)r;
    if (len == 0) {
        why = "empty file";
    } else if (memchr(b->text, '\0', len) ||
               cli_utf8_invalid((const unsigned char *)b->text, len) * 10 > len) {
        why = "binary file";
    } else if (len == SNIFF_BYTES && !zstd && hint > b->long_line) {
        ret = long_text(b, path, cli_stream_fd(s), hint - 1);
        goto done;
    } else if (len == SNIFF_BYTES) {
        if (grow_text(b, hint)) goto nomem; /* the whole file in one go when its size is known */
        for (;;) {
            if (len == b->text_cap && grow_text(b, len + 1)) goto nomem;
            r = cli_stream_read(s, b->text + len, b->text_cap - len);
            if (r < 0) goto readerr;
            if (r == 0) break;
            len += (size_t)r;
            if (should_stop(b)) break;
        }
    }
    if (why) {
        cli_msg("%s: skipped: %s", path, why);
        b->skipped_files++;
        goto done;
    }
    if (should_stop(b)) {
        ret = -1;
        goto done;
    }

    size_t tlen;
    const char *base = text_title(path, zstd, &tlen);
    char *own = NULL;
    if (len >= HANDOVER_BYTES) { /* give the buffer away rather than copy it */
        own = b->text;
        b->text = NULL;
        b->text_cap = 0;
    }
    ret = queue_doc(b, path, 0, path, strlen(path), base, tlen, own ? own : b->text, len, own, NULL);
    goto done;

nomem:
    cli_msg("%s: out of memory", path);
    ret = -1;
    goto done;
readerr:
    if (should_stop(b)) {
        ret = -1;
    } else {
        cli_msg("%s: skipped: %s", path, cli_stream_error(s));
        b->skipped_files++;
    }
done:
    cli_stream_close(s);
    /* Do not keep a large buffer around after a large file. */
    if (b->text_cap > KEEP_BYTES) {
        free(b->text);
        b->text = NULL;
        b->text_cap = 0;
    }
    return ret;
}

static int is_jsonl_name(const char *name)
{
    return ends_with(name, ".jsonl") || ends_with(name, ".ndjson") ||
           ends_with(name, ".jsonl.zst") || ends_with(name, ".ndjson.zst");
}

static int index_file(build *b, const char *path)
{
    int zst = ends_with(path, ".zst");
    if (is_jsonl_name(path)) return index_jsonl(b, path, path, zst ? CLI_ZSTD_YES : CLI_ZSTD_NO);
    return index_text(b, path, zst);
}

/* ---------------------------------------------------------------- directories */

static int skip_hidden(const struct dirent *d) { return d->d_name[0] != '.'; }

/* Byte order, not the locale's collation, so every machine agrees. */
static int by_name(const struct dirent **x, const struct dirent **y)
{
    return strcmp((*x)->d_name, (*y)->d_name);
}

static char *join_path(const char *dir, const char *name)
{
    size_t n = strlen(dir), m = strlen(name);
    if (!strcmp(dir, ".")) n = 0; /* children of "." are named "x", not "./x" */
    int slash = n > 0 && dir[n - 1] != '/';
    char *p = malloc(n + slash + m + 1);
    if (!p) return NULL;
    memcpy(p, dir, n);
    if (slash) p[n] = '/';
    memcpy(p + n + slash, name, m + 1);
    return p;
}

static int is_output_dir(const build *b, const struct stat *st)
{
    return b->have_out && st->st_dev == b->out_dev && st->st_ino == b->out_ino;
}

static int walk_dir(build *b, const char *dir)
{
    struct dirent **list;
    int n = scandir(dir, &list, skip_hidden, by_name);
    if (n < 0) {
        if (errno == ENOMEM) {
            cli_msg("%s: out of memory", dir);
            return -1;
        }
        cli_msg("%s: skipped: %s", dir, strerror(errno));
        b->skipped_files++;
        return 0;
    }
    int ret = 0;
    for (int i = 0; i < n; i++) {
        if (ret == 0 && should_stop(b)) ret = -1;
        if (ret != 0) {
            free(list[i]);
            continue;
        }
        char *path = join_path(dir, list[i]->d_name);
        unsigned char type = list[i]->d_type;
        free(list[i]);
        if (!path) {
            cli_msg("out of memory");
            ret = -1;
            continue;
        }
        struct stat st;
        int is_link = type == DT_LNK;
        if (type == DT_UNKNOWN || type == DT_DIR) {
            if (lstat(path, &st) != 0) {
                cli_msg("%s: skipped: %s", path, strerror(errno));
                b->skipped_files++;
                free(path);
                continue;
            }
            is_link = S_ISLNK(st.st_mode);
        }
        if (is_link) {
            if (stat(path, &st) != 0) {
                cli_msg("%s: skipped: %s", path,
                        errno == ENOENT ? "broken symbolic link" : strerror(errno));
                b->skipped_files++;
            } else if (S_ISREG(st.st_mode)) {
                ret = index_file(b, path);
            } /* symlinked directories and special files: not followed */
        } else if (type == DT_REG) {
            ret = index_file(b, path);
        } else if (type == DT_DIR || (type == DT_UNKNOWN && S_ISDIR(st.st_mode))) {
            if (!is_output_dir(b, &st)) ret = walk_dir(b, path);
        } else if (type == DT_UNKNOWN && S_ISREG(st.st_mode)) {
            ret = index_file(b, path);
        } else {
            cli_msg("%s: skipped: not a regular file", path);
            b->skipped_files++;
        }
        free(path);
    }
    free(list);
    return ret;
}

/* One command-line argument.  It was checked to exist before the build began. */
static int index_arg(build *b, const char *arg)
{
    if (!strcmp(arg, "-")) return index_jsonl(b, "-", "<stdin>", CLI_ZSTD_DETECT);
    struct stat st;
    if (stat(arg, &st) != 0) {
        int e = errno;
        cli_msg("%s: %s", arg, strerror(e));
        b->fatal = cli_exit_for_errno(e);
        return -1;
    }
    if (S_ISDIR(st.st_mode)) return is_output_dir(b, &st) ? 0 : walk_dir(b, arg);
    return index_file(b, arg); /* regular files, and pipes such as <(cmd) */
}

/* The producer part, on the writer's thread: every input in order, then the
 * last partial batch; each batch goes to the writer as it fills
 * (flush_batch).  Returns 0 or -1 (b->failed says why unless the consumer
 * stopped or a signal came). */
static int produce(build *b)
{
    int rc = 0;
    for (int i = 0; i < b->npaths && rc == 0; i++) rc = index_arg(b, b->paths[i]);
    if (rc == 0) rc = flush_batch(b);
    batch_free(b->cur);
    b->cur = NULL;
    /* the fatal errors of the producer are out of memory unless said otherwise */
    if (rc < 0 && !atomic_load(&b->stop) && !cli_interrupted) b->failed = b->fatal ? b->fatal : CLI_EXIT_OTHER;
    return rc;
}

/* -j N > 1: the producer part on a thread of its own, which takes the
 * signals (they interrupt its blocking reads). */
static void *produce_thread(void *arg)
{
    build *b = arg;
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_UNBLOCK, &sigs, NULL);
    produce(b);
    pthread_mutex_lock(&b->mu);
    b->reading_done = 1;
    pthread_cond_broadcast(&b->cv);
    pthread_mutex_unlock(&b->mu);
    return NULL;
}

/* Make the reading thread finish soon: it checks `stop` between lines and
 * files, and a blocked read (a quiet pipe) is broken with a signal until it
 * has. */
static void stop_reader(build *b, pthread_t t)
{
    pthread_mutex_lock(&b->mu);
    atomic_store(&b->stop, 1);
    pthread_cond_broadcast(&b->cv);
    pthread_mutex_unlock(&b->mu);
    cli_cancel_reads = 1;
    for (;;) {
        pthread_mutex_lock(&b->mu);
        int done = b->reading_done;
        pthread_mutex_unlock(&b->mu);
        if (done) break;
        pthread_kill(t, CLI_WAKEUP_SIGNAL);
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

/* ---------------------------------------------------------------- build main */

static int check_lang(const char *name, char *out)
{
    const char **langs = ft_stem_languages();
    if (!strcasecmp(name, "none")) {
        strcpy(out, "none");
        return 0;
    }
    for (size_t i = 0; langs && langs[i]; i++) {
        if (!strcasecmp(name, langs[i]) && strlen(langs[i]) < FT_LANG_MAX) {
            strcpy(out, langs[i]);
            return 0;
        }
    }
    fprintf(stderr, "%s: unknown language '%s'; valid names: none", cli_prog(), name);
    for (size_t i = 0; langs && langs[i]; i++) fprintf(stderr, ", %s", langs[i]);
    fputc('\n', stderr);
    return -1;
}

/* Split "ID,TITLE,BODY" into three non-empty names inside buf. */
static int parse_fields(char *buf, const char **f)
{
    char *p = buf;
    for (int i = 0; i < 3; i++) {
        char *comma = strchr(p, ',');
        if ((i < 2) != (comma != NULL)) return -1;
        if (comma) *comma = '\0';
        if (!*p) return -1;
        f[i] = p;
        p = comma ? comma + 1 : p;
    }
    return 0;
}

/* "512M", "2G", "65536": bytes.  Returns 0 or -1. */
static int parse_size(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *s == '-') return -1;
    uint64_t mul = 1;
    if (*end == 'k' || *end == 'K') mul = 1ull << 10;
    else if (*end == 'm' || *end == 'M') mul = 1ull << 20;
    else if (*end == 'g' || *end == 'G') mul = 1ull << 30;
    else if (*end) return -1;
    if (mul > 1 && end[1] && strcmp(end + 1, "B") && strcmp(end + 1, "iB")) return -1;
    if (v > UINT64_MAX / mul) return -1;
    *out = v * mul;
    return 0;
}

static int cmd_build_mode(int argc, char **argv, int add)
{
    static const struct option opts[] = {
        {"output", required_argument, NULL, 'o'},
        {"index", required_argument, NULL, 'i'},
        {"lang", required_argument, NULL, 'L'},
        {"stopwords", no_argument, NULL, 'S'},
        {"fields", required_argument, NULL, 'F'},
        {"memory", required_argument, NULL, 'M'},
        {"segment-docs", required_argument, NULL, 'D'},
        {"jobs", required_argument, NULL, 'j'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *sub = add ? "add" : "build";
    const char *out_opt = NULL, *lang = NULL, *fields_opt = NULL;
    int stopwords = 0, quiet = 0, c;
    uint64_t memory = FT_DEFAULT_MEMORY;
    unsigned long segment_docs = 0, jobs = 0;
    while ((c = getopt_long(argc, argv, "o:i:j:qh", opts, NULL)) != -1) {
        switch (c) {
        case 'o':
        case 'i': out_opt = optarg; break;
        case 'L': lang = optarg; break;
        case 'S': stopwords = 1; break;
        case 'F': fields_opt = optarg; break;
        case 'M':
            if (parse_size(optarg, &memory) || memory < (1u << 16))
                return cli_usage_error(sub, "--memory wants a size of at least 64K, such as 512M (got '%s')",
                                       optarg);
            break;
        case 'D':
            if (cli_parse_ulong(optarg, &segment_docs) || segment_docs == 0 || segment_docs > UINT32_MAX)
                return cli_usage_error(sub, "--segment-docs wants a positive number (got '%s')", optarg);
            break;
        case 'j':
            if (cli_parse_ulong(optarg, &jobs) || jobs == 0 || jobs > 256)
                return cli_usage_error(sub, "-j wants a number of threads from 1 to 256 (got '%s')", optarg);
            break;
        case 'q': quiet = 1; break;
        case 'h': usage(stdout); return CLI_EXIT_OK;
        default:
            fprintf(stderr, "Try 'ftindex %s --help' for more information.\n", sub);
            return CLI_EXIT_USAGE;
        }
    }
    if (add && optind >= argc) return cli_usage_error(sub, "nothing to add: give files or directories");

    ft_writer_opts wo;
    ft_writer_opts_default(&wo);
    if (lang && check_lang(lang, wo.analyzer.lang)) return CLI_EXIT_USAGE;
    if (stopwords) wo.analyzer.stopwords = 1;
    wo.memory = memory;
    wo.segment_docs = (uint32_t)segment_docs;
    if (add) wo.mode = FT_WRITE_APPEND;
    if (jobs == 0) {
        long nc = sysconf(_SC_NPROCESSORS_ONLN);
        jobs = nc > 0 ? (unsigned long)(nc < 256 ? nc : 256) : 1;
    }
    wo.threads = (unsigned)jobs;

    build b;
    memset(&b, 0, sizeof b);
    b.f_id = "id";
    /* FTINDEX_LONG_LINE_ (bytes) lowers the threshold, for the tests */
    const char *ll = getenv("FTINDEX_LONG_LINE_");
    b.long_line = ll && atol(ll) > 0 ? (size_t)atol(ll) : LONG_LINE;
    b.f_title = "title";
    b.f_body = "body";
    char fields_buf[256];
    if (fields_opt) {
        const char *f[3];
        if (strlen(fields_opt) >= sizeof fields_buf ||
            (strcpy(fields_buf, fields_opt), parse_fields(fields_buf, f)))
            return cli_usage_error("build",
                                   "--fields wants three comma-separated JSON keys, "
                                   "ID,TITLE,BODY (got '%s')", fields_opt);
        b.f_id = f[0];
        b.f_title = f[1];
        b.f_body = f[2];
    }

    static char *dot[] = {".", NULL};
    b.paths = optind < argc ? argv + optind : dot;
    b.npaths = optind < argc ? argc - optind : 1;

    /* A path that does not exist is a mistake in the command: say so before
     * anything is touched. */
    for (int i = 0; i < b.npaths; i++) {
        struct stat st;
        if (strcmp(b.paths[i], "-") && stat(b.paths[i], &st) != 0) {
            int e = errno;
            cli_msg("%s: %s", b.paths[i], strerror(e));
            return cli_exit_for_errno(e);
        }
    }

    char *dir = cli_index_for_build(out_opt);
    if (!dir) {
        cli_msg("out of memory");
        return CLI_EXIT_OTHER;
    }
    struct stat st;
    int existed = stat(dir, &st) == 0;

    cli_catch_interrupts();
    b.progress = !quiet && isatty(STDERR_FILENO);
    /* the ETA needs the input size: only plain files named on the command line */
    for (int i = 0; b.progress && i < b.npaths; i++) {
        struct stat ist;
        size_t pl = strlen(b.paths[i]);
        if (!strcmp(b.paths[i], "-") || stat(b.paths[i], &ist) || !S_ISREG(ist.st_mode) ||
            (pl > 4 && !strcmp(b.paths[i] + pl - 4, ".zst"))) {
            b.total_in = 0;
            break;
        }
        b.total_in += (uint64_t)ist.st_size;
    }
    progress_owner = &b;
    cli_set_msg_hook(progress_clear);
    b.t0 = b.last_progress = cli_now();
    pthread_mutex_init(&b.mu, NULL);
    pthread_cond_init(&b.cv, NULL);

    int status = CLI_EXIT_OTHER; /* until the commit; each failure below says which */
    sigset_t sigs, oldmask;
    ft_error err = {0};
    int rc = ft_writer_open(dir, &wo, &b.w, &err);
    if (rc != FT_OK) {
        cli_msg("cannot create index %s: %s", dir, err.msg[0] ? err.msg : ft_strerror(rc));
        status = cli_exit_for(rc);
        goto out;
    }
    if (stat(dir, &st) == 0) {
        b.have_out = 1;
        b.out_dev = st.st_dev;
        b.out_ino = st.st_ino;
    }

    /* -j 1: this thread reads, analyzes and writes, and takes the signals,
     * which interrupt its blocking reads.  -j N > 1: a reading thread takes
     * them, and analyzes when the queue is full; N - 2 more threads
     * analyze; this one adds the batches to the writer (whose N - 1 helper
     * threads compress). */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, &oldmask);
    pthread_t workers[256], reader;
    unsigned started = 0;
    for (unsigned long k = 2; k < jobs; k++) {
        if (pthread_create(&workers[started], NULL, analyze_batches, &b) != 0) break;
        started++;
    }
    pthread_mutex_lock(&b.mu);
    b.nworkers = started;
    b.reader = jobs > 1;
    b.analysts = jobs > 1 ? started + 1 : 0;
    b.max_depth = QUEUE_DEPTH + 2 * b.analysts;
    pthread_mutex_unlock(&b.mu);
    int consumed;
    if (b.reader && (rc = pthread_create(&reader, NULL, produce_thread, &b)) != 0) {
        cli_msg("cannot start a thread: %s", strerror(rc));
        consumed = CLI_EXIT_OTHER;
    } else if (b.reader) {
        consumed = pump(&b, 1);
        if (consumed != CLI_EXIT_OK) stop_reader(&b, reader);
        pthread_join(reader, NULL);
    } else {
        pthread_sigmask(SIG_SETMASK, &oldmask, NULL);
        produce(&b);
        pthread_mutex_lock(&b.mu);
        consumed = b.consumed;
        pthread_mutex_unlock(&b.mu);
        if (consumed == CLI_EXIT_OK && !b.failed && !cli_interrupted) consumed = pump(&b, 1);
    }
    pthread_mutex_lock(&b.mu);
    b.done = 1;
    if (consumed != CLI_EXIT_OK || b.failed || cli_interrupted) atomic_store(&b.stop, 1);
    pthread_cond_broadcast(&b.cv);
    pthread_mutex_unlock(&b.mu);
    for (unsigned k = 0; k < started; k++) pthread_join(workers[k], NULL);
    pthread_sigmask(SIG_SETMASK, &oldmask, NULL); /* a pending signal lands now */
    if (consumed != CLI_EXIT_OK || b.failed) {
        status = consumed != CLI_EXIT_OK ? consumed : b.failed;
        goto out;
    }
    if (cli_interrupted) goto out;
    progress_clear();

    unsigned long lines = b.skipped_lines + b.rejected_lines;
    unsigned long files = b.skipped_files + b.rejected_files;
    if (lines)
        cli_msg("skipped %lu line%s (see the warnings above)", lines, lines == 1 ? "" : "s");
    if (files)
        cli_msg("skipped %lu file%s (see the warnings above)", files, files == 1 ? "" : "s");

    if (b.docs == 0) {
        flockfile(stderr);
        fprintf(stderr, "%s: no documents to index in", cli_prog());
        for (int i = 0; i < b.npaths; i++) fprintf(stderr, " %s", b.paths[i]);
        fputc('\n', stderr);
        funlockfile(stderr);
        goto out; /* CLI_EXIT_OTHER: nothing to index */
    }

    if (b.progress) { /* writing a large index takes a while: say so */
        flockfile(stderr);
        progress_clear();
        b.progress_len = fprintf(stderr, "writing the index (%" PRIu64 " documents)...", b.docs);
        fflush(stderr);
        funlockfile(stderr);
    }
    rc = ft_writer_commit(b.w, &err);
    progress_clear();
    if (rc != FT_OK) {
        cli_msg("cannot write index %s: %s", dir, err.msg[0] ? err.msg : ft_strerror(rc));
        status = cli_exit_for(rc);
        goto out;
    }
    status = CLI_EXIT_OK;
    unsigned flushed = ft_writer_segments(b.w), merges = 0;
    uint64_t replaced = ft_writer_deleted(b.w);
    ft_writer_stats ws;
    ft_writer_get_stats(b.w, &ws);
    ft_writer_close(b.w); /* releases the lock for the merge */
    b.w = NULL;
    /* the pipeline's recycled batches and what the threads freed stay
     * resident otherwise, through the merge */
    for (batch *bt = b.spare, *next; bt; bt = next) {
        next = bt->next;
        batch_free(bt);
    }
    b.spare = NULL;
#ifdef __GLIBC__
    malloc_trim(0);
#endif
    ft_merge_opts mo;
    ft_merge_opts_default(&mo);
    rc = ft_index_merge(dir, &mo, &merges, &err);
    if (rc != FT_OK) {
        cli_msg("cannot merge segments of %s: %s (the index is complete; run 'ftindex merge' later)", dir,
                err.msg[0] ? err.msg : ft_strerror(rc));
        status = cli_exit_for(rc);
    }
    if (!quiet) {
        if (flushed > 1 || merges || replaced) {
            /* what the index is now, after merges and replacements */
            ft_index *ix = NULL;
            ft_index_stats is;
            ft_error e2 = {0};
            if (ft_index_open(dir, &ix, &e2) == FT_OK && ft_index_get_stats(ix, &is, &e2) == FT_OK)
                fprintf(stderr,
                        "%u segment%s written, %u merge%s, %" PRIu64 " document%s replaced: the index has %" PRIu32
                        " documents in %u segment%s, %" PRIu64 " bytes\n",
                        flushed, flushed == 1 ? "" : "s", merges, merges == 1 ? "" : "s", replaced,
                        replaced == 1 ? "" : "s", is.docs, is.segments, is.segments == 1 ? "" : "s",
                        is.bytes_dict + is.bytes_postings + is.bytes_positions + is.bytes_lengths + is.bytes_store +
                            is.bytes_ids + is.bytes_deletes);
            ft_index_close(ix);
        }
        uint64_t total = ws.bytes_dict + ws.bytes_postings + ws.bytes_positions +
                         ws.bytes_lengths + ws.bytes_store;
        fprintf(stderr,
                "indexed %" PRIu64 " document%s (%.1f MB) in %.2f s: %" PRIu64 " terms, %" PRIu64
                " postings, index %" PRIu64 " bytes (dict %" PRIu64 ", postings %" PRIu64
                ", positions %" PRIu64 ", lengths %" PRIu64 ", store %" PRIu64 ")\n",
                ws.docs, ws.docs == 1 ? "" : "s", (double)ws.input_bytes / 1e6, cli_now() - b.t0,
                ws.terms, ws.postings, total, ws.bytes_dict, ws.bytes_postings,
                ws.bytes_positions, ws.bytes_lengths, ws.bytes_store);
    }

out:
    progress_clear();
    if (status != CLI_EXIT_OK && cli_interrupted)
        cli_msg("interrupted; the previous index is unchanged");
    ft_writer_close(b.w); /* without a commit this discards the build */
    if (status != CLI_EXIT_OK && !existed) rmdir(dir); /* only if we made it and it is empty */
    cli_set_msg_hook(NULL);
    progress_owner = NULL;
    for (batch *bt = b.head, *next; bt; bt = next) {
        next = bt->next;
        batch_free(bt);
    }
    for (batch *bt = b.spare, *next; bt; bt = next) {
        next = bt->next;
        batch_free(bt);
    }
    batch_free(b.cur);
    ft_analyzer_free(b.an);
    ft_analyzer_free(b.an_reader);
    free(b.text);
    pthread_cond_destroy(&b.cv);
    pthread_mutex_destroy(&b.mu);
    free(dir);
    if (status != CLI_EXIT_OK && cli_interrupted) { /* die of the signal so the shell sees it */
        int sig = cli_interrupted;
        signal(sig, SIG_DFL);
        raise(sig);
    }
    return status;
}

/* ---------------------------------------------------------------- check */

static int cmd_check(int argc, char **argv)
{
    static const struct option opts[] = {
        {"index", required_argument, NULL, 'i'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *opt_i = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "i:h", opts, NULL)) != -1) {
        switch (c) {
        case 'i': opt_i = optarg; break;
        case 'h': usage(stdout); return CLI_EXIT_OK;
        default:
            fprintf(stderr, "Try 'ftindex check --help' for more information.\n");
            return CLI_EXIT_USAGE;
        }
    }
    if (optind < argc) return cli_usage_error("check", "unexpected argument '%s'", argv[optind]);

    char *dir;
    int status = cli_index_for_read(opt_i, &dir);
    if (status != CLI_EXIT_OK) return status;
    ft_error err = {0};
    ft_index *ix = NULL;
    int rc = ft_index_check(dir, &err);
    if (rc != FT_OK) { /* damage is CLI_EXIT_CORRUPT */
        cli_msg("%s: check failed: %s", dir, err.msg[0] ? err.msg : ft_strerror(rc));
        status = cli_exit_for(rc);
        goto out;
    }
    rc = ft_index_open(dir, &ix, &err);
    if (rc != FT_OK) {
        cli_msg("cannot open index %s: %s", dir, err.msg[0] ? err.msg : ft_strerror(rc));
        status = cli_exit_for(rc);
        goto out;
    }
    uint32_t docs = ft_index_doc_count(ix);
    unsigned segs = ft_index_segment_count(ix);
    printf("ok: %" PRIu32 " document%s, %u segment%s\n", docs, docs == 1 ? "" : "s", segs,
           segs == 1 ? "" : "s");
out:
    ft_index_close(ix);
    free(dir);
    return status;
}

static int cmd_build(int argc, char **argv) { return cmd_build_mode(argc, argv, 0); }
static int cmd_add(int argc, char **argv) { return cmd_build_mode(argc, argv, 1); }

/* ---------------------------------------------------------------- delete, merge */

/* Options shared by the commands that only take -i DIR (and a few flags). */
typedef struct simple_opts {
    const char *index;
    unsigned long max_segments;
    int json, quiet;
} simple_opts;

static int parse_simple(const char *sub, int argc, char **argv, simple_opts *so)
{
    static const struct option opts[] = {
        {"index", required_argument, NULL, 'i'},
        {"max-segments", required_argument, NULL, 'n'},
        {"json", no_argument, NULL, 'J'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    memset(so, 0, sizeof *so);
    so->max_segments = 1;
    int c;
    while ((c = getopt_long(argc, argv, "i:qh", opts, NULL)) != -1) {
        switch (c) {
        case 'i': so->index = optarg; break;
        case 'n':
            if (strcmp(sub, "merge") || cli_parse_ulong(optarg, &so->max_segments) || so->max_segments == 0 ||
                so->max_segments > 100000)
                return cli_usage_error(sub, "--max-segments wants a positive number (got '%s')", optarg);
            break;
        case 'J':
            if (strcmp(sub, "stats")) return cli_usage_error(sub, "--json is an option of stats");
            so->json = 1;
            break;
        case 'q': so->quiet = 1; break;
        case 'h': usage(stdout); return CLI_EXIT_OK + 100;
        default:
            fprintf(stderr, "Try 'ftindex %s --help' for more information.\n", sub);
            return CLI_EXIT_USAGE;
        }
    }
    return -1;
}

static int cmd_delete(int argc, char **argv)
{
    simple_opts so;
    int r = parse_simple("delete", argc, argv, &so);
    if (r >= 0) return r == 100 ? CLI_EXIT_OK : r;
    if (optind >= argc) return cli_usage_error("delete", "give the ids of the documents to delete");
    char *dir;
    int status = cli_index_for_read(so.index, &dir);
    if (status != CLI_EXIT_OK) return status;
    ft_writer_opts wo;
    ft_writer_opts_default(&wo);
    wo.mode = FT_WRITE_APPEND;
    ft_writer *w = NULL;
    ft_error err = {0};
    int rc = ft_writer_open(dir, &wo, &w, &err);
    if (rc != FT_OK) {
        cli_msg("cannot open index %s: %s", dir, err.msg[0] ? err.msg : ft_strerror(rc));
        goto out;
    }
    for (int i = optind; i < argc; i++)
        if ((rc = ft_writer_delete(w, argv[i], strlen(argv[i]), &err))) {
            cli_msg("%s: %s", argv[i], err.msg[0] ? err.msg : ft_strerror(rc));
            goto out;
        }
    if ((rc = ft_writer_commit(w, &err))) {
        cli_msg("cannot write index %s: %s", dir, err.msg[0] ? err.msg : ft_strerror(rc));
        goto out;
    }
    uint64_t n = ft_writer_deleted(w);
    if (!so.quiet) fprintf(stderr, "deleted %" PRIu64 " document%s\n", n, n == 1 ? "" : "s");
out:
    status = cli_exit_for(rc);
    ft_writer_close(w);
    free(dir);
    return status;
}

static int cmd_merge(int argc, char **argv)
{
    simple_opts so;
    int r = parse_simple("merge", argc, argv, &so);
    if (r >= 0) return r == 100 ? CLI_EXIT_OK : r;
    if (optind < argc && !so.index) so.index = argv[optind++]; /* ftindex merge DIR */
    if (optind < argc) return cli_usage_error("merge", "unexpected argument '%s'", argv[optind]);
    char *dir;
    int status = cli_index_for_read(so.index, &dir);
    if (status != CLI_EXIT_OK) return status;
    ft_merge_opts mo;
    ft_merge_opts_default(&mo);
    mo.max_segments = (unsigned)so.max_segments;
    ft_error err = {0};
    unsigned merges = 0;
    double t0 = cli_now();
    int rc = ft_index_merge(dir, &mo, &merges, &err);
    if (rc != FT_OK) {
        cli_msg("cannot merge %s: %s", dir, err.msg[0] ? err.msg : ft_strerror(rc));
        free(dir);
        return cli_exit_for(rc);
    }
    if (!so.quiet) fprintf(stderr, "%u merge%s in %.2f s\n", merges, merges == 1 ? "" : "s", cli_now() - t0);
    free(dir);
    return CLI_EXIT_OK;
}

/* ---------------------------------------------------------------- stats, dump */

static unsigned varint_len(uint64_t v)
{
    unsigned n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

typedef struct walk {
    const ft_index *ix;
    uint64_t gap_bytes, tf_bytes, pos_bytes, postings, positions;
    int rc;
    ft_error *err;
} walk;

static int walk_term(void *ctx, const char *term, size_t len, uint32_t df)
{
    walk *wk = ctx;
    ft_postings *p;
    if ((wk->rc = ft_postings_open(wk->ix, term, len, &p, wk->err))) return 1;
    uint32_t d, prev_plus1 = 0;
    while ((d = ft_postings_next(p)) != FT_DOC_END) {
        wk->gap_bytes += varint_len(d - prev_plus1);
        prev_plus1 = d + 1;
        wk->tf_bytes += varint_len(ft_postings_tf(p));
        wk->postings++;
        const uint32_t *pos;
        uint32_t n, prev = 0;
        if ((wk->rc = ft_postings_positions(p, &pos, &n))) break;
        for (uint32_t k = 0; k < n; k++) {
            wk->pos_bytes += varint_len(pos[k] - prev);
            prev = pos[k];
        }
        wk->positions += n;
    }
    if (!wk->rc) wk->rc = ft_postings_status(p, wk->err);
    ft_postings_close(p);
    (void)df;
    return wk->rc != 0;
}

static double ratio(double a, double b) { return b > 0 ? a / b : 0.0; }

static int cmd_stats(int argc, char **argv)
{
    simple_opts so;
    int r = parse_simple("stats", argc, argv, &so);
    if (r >= 0) return r == 100 ? CLI_EXIT_OK : r;
    if (optind < argc) return cli_usage_error("stats", "unexpected argument '%s'", argv[optind]);
    char *dir;
    int status = cli_index_for_read(so.index, &dir);
    if (status != CLI_EXIT_OK) return status;
    ft_error err = {0};
    ft_index *ix = NULL;
    ft_index_stats st;
    walk wk;
    memset(&wk, 0, sizeof wk);
    int rc = ft_index_open(dir, &ix, &err);
    if (!rc) rc = ft_index_get_stats(ix, &st, &err);
    wk.ix = ix;
    wk.err = &err;
    if (!rc) rc = ft_index_terms(ix, walk_term, &wk, &err);
    if (!rc) rc = wk.rc;
    /* the store's raw size: every live document's fields */
    uint64_t store_raw = 0;
    ft_docbuf *db = ft_docbuf_new();
    for (uint32_t d = 0; !rc && d < ft_index_doc_limit(ix); d++) {
        if (ft_index_doc_deleted(ix, d)) continue;
        ft_doc doc;
        if ((rc = ft_index_doc(ix, d, db, &doc, &err))) break;
        store_raw += varint_len(doc.id_len) + doc.id_len + varint_len(doc.title_len) + doc.title_len +
                     varint_len(doc.body_len) + doc.body_len;
    }
    ft_docbuf_free(db);
    if (rc) {
        cli_msg("cannot read index %s: %s", dir, err.msg[0] ? err.msg : ft_strerror(rc));
        status = cli_exit_for(rc);
        goto out;
    }
    uint64_t total = st.bytes_dict + st.bytes_postings + st.bytes_positions + st.bytes_lengths + st.bytes_store +
                     st.bytes_ids + st.bytes_deletes;
    double raw_post = (double)(wk.gap_bytes + wk.tf_bytes), raw_pos = (double)wk.pos_bytes;
    if (so.json) {
        printf("{\"documents\":%" PRIu32 ",\"deleted\":%" PRIu32 ",\"segments\":%u,\"terms\":%" PRIu64
               ",\"postings\":%" PRIu64 ",\"positions\":%" PRIu64
               ",\"bytes\":{\"total\":%" PRIu64 ",\"dictionary\":%" PRIu64 ",\"postings\":%" PRIu64
               ",\"positions\":%" PRIu64 ",\"lengths\":%" PRIu64 ",\"store\":%" PRIu64 ",\"ids\":%" PRIu64
               ",\"deletions\":%" PRIu64 "},"
               "\"bits\":{\"doc_gap_varint\":%.4f,\"frequency_varint\":%.4f,\"position_varint\":%.4f,"
               "\"posting_stored\":%.4f,\"position_stored\":%.4f},"
               "\"compression\":{\"postings\":%.4f,\"positions\":%.4f,\"store\":%.4f}}\n",
               st.docs, st.deleted, st.segments, st.terms, wk.postings, wk.positions, total,
               st.bytes_dict, st.bytes_postings, st.bytes_positions, st.bytes_lengths, st.bytes_store,
               st.bytes_ids, st.bytes_deletes, ratio(8.0 * wk.gap_bytes, wk.postings),
               ratio(8.0 * wk.tf_bytes, wk.postings), ratio(8.0 * raw_pos, wk.positions),
               ratio(8.0 * st.bytes_postings, wk.postings), ratio(8.0 * st.bytes_positions, wk.positions),
               ratio(raw_post, st.bytes_postings), ratio(raw_pos, st.bytes_positions),
               ratio((double)store_raw, st.bytes_store));
    } else {
        printf("documents     %" PRIu32 " live, %" PRIu32 " deleted (not yet merged away)\n", st.docs, st.deleted);
        printf("segments      %u\n", st.segments);
        printf("terms         %" PRIu64 " dictionary entries (summed over segments)\n", st.terms);
        printf("postings      %" PRIu64 " live (term, document) pairs, %" PRIu64 " positions\n", wk.postings,
               wk.positions);
        printf("bytes         %" PRIu64 " total\n", total);
        printf("  dictionary  %" PRIu64 "\n  postings    %" PRIu64 "\n  positions   %" PRIu64
               "\n  lengths     %" PRIu64 "\n  store       %" PRIu64 "\n  ids         %" PRIu64
               "\n  deletions   %" PRIu64 "\n",
               st.bytes_dict, st.bytes_postings, st.bytes_positions, st.bytes_lengths, st.bytes_store,
               st.bytes_ids, st.bytes_deletes);
        printf("bits, as varints before zstd: %.2f per doc-id gap, %.2f per frequency, %.2f per position\n",
               ratio(8.0 * wk.gap_bytes, wk.postings), ratio(8.0 * wk.tf_bytes, wk.postings),
               ratio(8.0 * raw_pos, wk.positions));
        printf("bits, as stored: %.2f per posting (gap + frequency + skip data), %.2f per position\n",
               ratio(8.0 * st.bytes_postings, wk.postings), ratio(8.0 * st.bytes_positions, wk.positions));
        printf("compression (varint or raw bytes / stored bytes): postings %.2f, positions %.2f, store %.2f\n",
               ratio(raw_post, st.bytes_postings), ratio(raw_pos, st.bytes_positions),
               ratio((double)store_raw, st.bytes_store));
    }
out:
    ft_index_close(ix);
    free(dir);
    return status;
}

static int dump_term_line(void *ctx, const char *term, size_t len, uint32_t df)
{
    (void)ctx;
    printf("%.*s\t%" PRIu32 "\n", (int)len, term, df);
    return 0;
}

static int cmd_dump(int argc, char **argv)
{
    simple_opts so;
    int r = parse_simple("dump", argc, argv, &so);
    if (r >= 0) return r == 100 ? CLI_EXIT_OK : r;
    if (argc - optind > 1) return cli_usage_error("dump", "unexpected argument '%s'", argv[optind + 1]);
    char *dir;
    int status = cli_index_for_read(so.index, &dir);
    if (status != CLI_EXIT_OK) return status;
    ft_error err = {0};
    ft_index *ix = NULL;
    ft_postings *p = NULL;
    ft_docbuf *db = NULL;
    int rc = ft_index_open(dir, &ix, &err);
    if (rc) goto fail;
    if (optind == argc) {
        if ((rc = ft_index_terms(ix, dump_term_line, NULL, &err))) goto fail;
        goto out;
    }
    const char *term = argv[optind];
    if ((rc = ft_postings_open(ix, term, strlen(term), &p, &err))) goto fail;
    printf("term %s: df %" PRIu32 ", cf %" PRIu64 "\n", term, ft_postings_df(p), ft_postings_cf(p));
    if (ft_postings_df(p) == 0) {
        cli_msg("term '%s' is not in the index (dump takes an analyzed term: lower case, stemmed)", term);
        status = CLI_EXIT_NONE; /* found nothing, like grep */
        goto out;
    }
    printf("doc\tid\ttf\tpositions\n");
    db = ft_docbuf_new();
    uint32_t d;
    while ((d = ft_postings_next(p)) != FT_DOC_END) {
        ft_doc doc;
        if ((rc = ft_index_doc(ix, d, db, &doc, &err))) goto fail;
        printf("%" PRIu32 "\t%.*s\t%" PRIu32 "\t", d, (int)doc.id_len, doc.id, ft_postings_tf(p));
        const uint32_t *pos;
        uint32_t n;
        if ((rc = ft_postings_positions(p, &pos, &n))) break;
        for (uint32_t k = 0; k < n; k++) printf(k ? ",%" PRIu32 : "%" PRIu32, pos[k]);
        putchar('\n');
    }
    if ((rc = ft_postings_status(p, &err))) goto fail;
    goto out;
fail:
    cli_msg("cannot read index %s: %s", dir, err.msg[0] ? err.msg : ft_strerror(rc));
    status = cli_exit_for(rc);
out:
    ft_docbuf_free(db);
    ft_postings_close(p);
    ft_index_close(ix);
    free(dir);
    return status;
}

/* ---------------------------------------------------------------- main */

int main(int argc, char **argv)
{
    cli_set_prog("ftindex");
    if (argc < 2) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        usage(stdout);
        return CLI_EXIT_OK;
    }
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "-V")) {
        printf("ftindex %s\n", FT_VERSION_STRING);
        return CLI_EXIT_OK;
    }
    int (*fn)(int, char **) = !strcmp(cmd, "build")    ? cmd_build
                              : !strcmp(cmd, "add")    ? cmd_add
                              : !strcmp(cmd, "delete") ? cmd_delete
                              : !strcmp(cmd, "merge")  ? cmd_merge
                              : !strcmp(cmd, "check")  ? cmd_check
                              : !strcmp(cmd, "stats")  ? cmd_stats
                              : !strcmp(cmd, "dump")   ? cmd_dump
                                                       : NULL;
    if (!fn) {
        if (cmd[0] == '-')
            return cli_usage_error(NULL, "expected a command (build, add, delete, merge, check, stats or dump) "
                                         "before '%s'", cmd);
        return cli_usage_error(NULL, "unknown command '%s' (expected build, add, delete, merge, check, stats or dump)",
                               cmd);
    }
    /* getopt prefixes its messages with argv[0] of what it parses. */
    argv[1] = (char *)"ftindex";
    int status = fn(argc - 1, argv + 1);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        cli_msg("error writing output: %s", strerror(errno));
        return CLI_EXIT_IO;
    }
    return status;
}
