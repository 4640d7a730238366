/*
 * writer.c — in-memory inversion, segment writing, deletions and merges
 * (format: docs/FORMAT.md).
 *
 *   ft_writer_add ──analyze──> per-document occurrence lists
 *                 ──append───> per-term in-memory posting stream
 *                              [varint doc+1-prev][varint tf][varint pos gaps...]
 *                 ──append───> document store block (zstd at 64 KiB), id
 *                 ──over the memory budget──> flush a segment:
 *                    sort terms, 128-posting blocks zstd-compressed when that
 *                    pays, skip table first; .tid .pst .pos .len .sto .ids
 *                    under *.tmp names, fsync, rename (still unreferenced)
 *   ft_writer_commit ──> flush the open segment; (append mode) apply deletions
 *                    and replacements by id as new deletion files
 *                ──> MANIFEST.tmp, fsync, rename over MANIFEST, fsync dir,
 *                    remove the files no manifest names.
 *   ft_index_merge ──> a run of adjacent segments, k-way over their
 *                    dictionaries, becomes one segment without its deleted
 *                    documents; published the same way.
 *
 * Why so: appending varints per term keeps inversion linear in the input with
 * no sort per document (a per-document slot table finds the term's entry); the
 * sort at a flush is over distinct terms only, and the budget bounds what is
 * held (the estimate counts the capacities of the growing structures).
 *
 * One huge document: the analyzer streams tokens, and the writer inverts them
 * CHUNK_TOKENS (65,536) at a time, so the token and occurrence arrays never
 * grow past a chunk (about 2.5 MB).  A document that spans chunks writes each
 * chunk's positions straight into its terms' posting streams (varint gaps,
 * behind a hole its header fills at its end: the same bytes as a document
 * inverted whole), where the budget's estimate counts them; a record of 1 MiB
 * or more goes to the store file through streaming zstd instead of being
 * assembled and compressed whole.  When the estimate passes the budget
 * inside a document, the document's positions held in the streams are
 * spilled, in term order, as a run of a temporary file (SPILL_MIN), and its
 * segment is written at its end, each term's runs read back ahead of the
 * positions still held: the same bytes as without spilling.
 * What such a document still holds: its text (the caller's; but
 * ft_writer_begin/text/end take the body in pieces, analyzed up to the last
 * separator of what has come, so only a piece and an unfinished word are
 * held), its positions since the last spill (within the budget) and, per
 * distinct term of it, a slot and a run (36 bytes); when its segment is
 * written, a read buffer per spilled run (16 KiB) and the positions of one
 * frame of postings at a time (the runs are read straight into it): for a
 * term the document repeats, all of its positions there, as one zstd
 * frame compressed whole.
 * Threads (ft_writer_opts.threads = n > 1): the writer's own work stays on
 * the calling thread, in document order; n - 1 helper threads take jobs
 * whose results that thread writes in order, so the files are the same
 * bytes as with one thread.  While documents are added, full store blocks
 * are compressed by the helpers (8 to a job; see sgroup).  When a segment
 * is written, the terms are sorted in parts, the id file is written by a
 * job, and runs of consecutive terms are encoded into memory by jobs and
 * written in order (see echunk).  Extra memory: at most 2n store groups
 * (256 KiB each, with a zstd context) and 2n encoded chunks (about 1 MiB
 * each, or one term's postings, compressed; their source streams are freed
 * as they are encoded) and a copy of the term order (4 bytes a term) for
 * the sort.  The caller's thread runs queued jobs while it waits for one.
 * Nothing is visible until MANIFEST is renamed, so a crash at any point leaves
 * the previous commit, and files of a dead writer are unreferenced
 * *.tmp/seg-* files the next writer (holding the lock, lock.c) deletes.
 * Deleting a document re-analyzes its stored text to count, per term, the
 * deleted documents holding it, so readers get live document frequencies
 * without touching postings.  Every write goes through one wfile with a
 * sticky error and a running XXH64, so the checksums in MANIFEST cost no
 * second pass.
 */
#include "ft_index_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>
#include <zstd.h>

/* ------------------------------------------------------------------ output files */

typedef struct wfile {
    int fd;
    char *path;       /* temporary name */
    char *final;      /* published name */
    uint64_t off;
    XXH64_state_t *h;
    ft_buf buf;       /* write buffer; for a memory file, all of it */
    int rc;           /* sticky status */
    int mem;          /* a memory file (a helper's output): no fd, no hash */
} wfile;

static int wfile_open(wfile *f, const char *dir, const char *name, ft_error *err)
{
    memset(f, 0, sizeof *f);
    f->fd = -1;
    if (asprintf(&f->final, "%s/%s", dir, name) < 0) { f->final = NULL; goto nomem; }
    if (asprintf(&f->path, "%s/%s.tmp", dir, name) < 0) { f->path = NULL; goto nomem; }
    f->h = XXH64_createState();
    if (!f->h) goto nomem;
    XXH64_reset(f->h, 0);
    ft_buf_init(&f->buf);
    f->fd = open(f->path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644); /* read: store_unpack */
    if (f->fd < 0) return f->rc = ft_error_errno(err, errno, "cannot create %s", f->path);
    return FT_OK;
nomem:
    return f->rc = ft_error_set(err, FT_ENOMEM, "out of memory");
}

static void wfile_flush(wfile *f, ft_error *err)
{
    if (f->rc || f->buf.len == 0) return;
    f->rc = ft_write_all(f->fd, f->buf.p, f->buf.len, f->path, err);
    f->buf.len = 0;
}

static void wfile_write(wfile *f, const void *p, size_t n, ft_error *err)
{
    if (f->rc) return;
    if (f->mem) {
        ft_buf_append(&f->buf, p, n);
        f->off += n;
        if (f->buf.failed) f->rc = ft_error_set(err, FT_ENOMEM, "out of memory");
        return;
    }
    XXH64_update(f->h, p, n);
    f->off += n;
    if (n >= (1u << 20)) {
        wfile_flush(f, err);
        if (!f->rc) f->rc = ft_write_all(f->fd, p, n, f->path, err);
        return;
    }
    if (f->buf.len + n > (1u << 20)) wfile_flush(f, err);
    ft_buf_append(&f->buf, p, n);
    if (f->buf.failed) f->rc = ft_error_set(err, FT_ENOMEM, "out of memory writing %s", f->path);
}

static void wfile_u32(wfile *f, uint32_t v, ft_error *err)
{
    uint8_t t[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    wfile_write(f, t, 4, err);
}

static void wfile_u64(wfile *f, uint64_t v, ft_error *err)
{
    wfile_u32(f, (uint32_t)v, err);
    wfile_u32(f, (uint32_t)(v >> 32), err);
}

static void wfile_header(wfile *f, const char *magic, ft_error *err)
{
    wfile_write(f, magic, 4, err);
    wfile_u32(f, FT_FORMAT_VERSION, err);
}

/* Flush, fsync and close; the file stays under its temporary name. */
static int wfile_finish(wfile *f, ft_error *err)
{
    wfile_flush(f, err);
    if (!f->rc && fsync(f->fd) < 0) f->rc = ft_error_errno(err, errno, "cannot fsync %s", f->path);
    if (f->fd >= 0 && close(f->fd) < 0 && !f->rc)
        f->rc = ft_error_errno(err, errno, "cannot close %s", f->path);
    f->fd = -1;
    return f->rc;
}

static void wfile_discard(wfile *f)
{
    if (f->fd >= 0) close(f->fd);
    if (f->path) unlink(f->path);
    free(f->path);
    free(f->final);
    if (f->h) XXH64_freeState(f->h);
    ft_buf_free(&f->buf);
    memset(f, 0, sizeof *f);
    f->fd = -1;
}

/* Go back to offset off, dropping what was written after it; h is the hash
 * state the file had there. */
static int wfile_rewind(wfile *f, uint64_t off, const XXH64_state_t *h, ft_error *err)
{
    wfile_flush(f, err);
    if (f->rc) return f->rc;
    if (ftruncate(f->fd, (off_t)off) < 0 || lseek(f->fd, (off_t)off, SEEK_SET) < 0)
        return f->rc = ft_error_errno(err, errno, "cannot truncate %s", f->path);
    XXH64_copyState(f->h, h);
    f->off = off;
    return FT_OK;
}

/* ------------------------------------------------------------------ helper threads
 *
 * With opts.threads = n > 1 the writer starts n - 1 helper threads that take
 * jobs from one FIFO.  A thread that waits for a job runs queued jobs itself
 * meanwhile (pool_wait), so the calling thread is the n-th worker and a job
 * is never stuck behind idle helpers.  Jobs only touch their own buffers and
 * read what the writer does not change until it has waited for them; the
 * results are consumed in submission order by the writer's thread, so the
 * files are the same bytes as with one thread.  Helpers block every signal:
 * an application's handlers run on its own threads.  If no helper can be
 * started, jobs run inline at submission. */

typedef struct wjob {
    struct wjob *next;
    void (*run)(struct wjob *);
    int state;
} wjob;

enum { JOB_IDLE, JOB_QUEUED, JOB_RUNNING, JOB_DONE };

typedef struct wpool {
    pthread_mutex_t mu;
    pthread_cond_t work, done;
    wjob *head, *tail;
    pthread_t *th;
    unsigned n;
    int quit;
} wpool;

/* With p->mu held: run the oldest queued job (the lock released while it
 * runs); 0 when none is queued. */
static int pool_run_oldest(wpool *p)
{
    wjob *j = p->head;
    if (!j) return 0;
    if (!(p->head = j->next)) p->tail = NULL;
    j->state = JOB_RUNNING;
    pthread_mutex_unlock(&p->mu);
    j->run(j);
    pthread_mutex_lock(&p->mu);
    j->state = JOB_DONE;
    pthread_cond_broadcast(&p->done);
    return 1;
}

static void *pool_main(void *arg)
{
    wpool *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->head && !p->quit) pthread_cond_wait(&p->work, &p->mu);
        if (!pool_run_oldest(p)) break;
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

/* Join the helpers (they finish the queued jobs first) and free the pool.
 * Accepts NULL. */
static void pool_free(wpool *p)
{
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->quit = 1;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->mu);
    for (unsigned i = 0; i < p->n; i++) pthread_join(p->th[i], NULL);
    pthread_cond_destroy(&p->work);
    pthread_cond_destroy(&p->done);
    pthread_mutex_destroy(&p->mu);
    free(p->th);
    free(p);
}

/* A pool of up to n helpers; NULL when none could be started (then the
 * writer works on its own thread, as with threads <= 1). */
static wpool *pool_new(unsigned n)
{
    wpool *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    if (!(p->th = calloc(n, sizeof *p->th))) {
        free(p);
        return NULL;
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work, NULL);
    pthread_cond_init(&p->done, NULL);
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    while (p->n < n && pthread_create(&p->th[p->n], NULL, pool_main, p) == 0) p->n++;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (p->n == 0) {
        pool_free(p);
        return NULL;
    }
    return p;
}

/* Queue j; without a pool, run it now. */
static void pool_submit(wpool *p, wjob *j)
{
    j->next = NULL;
    if (!p) {
        j->run(j);
        j->state = JOB_DONE;
        return;
    }
    pthread_mutex_lock(&p->mu);
    j->state = JOB_QUEUED;
    if (p->tail) p->tail->next = j;
    else p->head = j;
    p->tail = j;
    pthread_cond_signal(&p->work);
    pthread_mutex_unlock(&p->mu);
}

/* Whether j has run (without waiting). */
static int pool_done(wpool *p, wjob *j)
{
    if (!p) return j->state == JOB_DONE;
    pthread_mutex_lock(&p->mu);
    int d = j->state == JOB_DONE;
    pthread_mutex_unlock(&p->mu);
    return d;
}

/* Wait until j has run, running queued jobs (the oldest first) meanwhile. */
static void pool_wait(wpool *p, wjob *j)
{
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    while (j->state != JOB_DONE)
        if (!pool_run_oldest(p)) pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
}

/* Document store blocks compressed by the helpers (flush_store): full
 * blocks are gathered SG_BLOCKS to a group, a group is one job, and the
 * writer's thread writes the compressed blocks and their index entries in
 * order, as each oldest group is done.  At most sg_ring groups (2 per helper
 * + 2) are held: with 16 KiB blocks, 128 KiB of raw and at most as much of
 * compressed bytes each, plus a zstd context. */
#define SG_BLOCKS 8
typedef struct sgroup {
    wjob job;               /* first member: the job is the group */
    ZSTD_CCtx *cctx;
    ft_buf raw, out, cbuf;  /* the blocks, their compressed forms, scratch */
    unsigned n;             /* blocks */
    size_t entry[SG_BLOCKS];  /* where each block's index entry is in sto_index */
    uint32_t len[SG_BLOCKS], stored[SG_BLOCKS];
    uint8_t z[SG_BLOCKS];   /* compressed */
} sgroup;

static void sgroup_run(wjob *j);

/* ------------------------------------------------------------------ writer state */

typedef struct term_ent {
    uint64_t hash;
    uint32_t off, len;      /* bytes in the term arena */
    uint32_t df;
    uint32_t last_plus1;    /* last document + 1 that holds the term (0: none) */
    uint32_t slot;          /* its slot in the open document */
    uint64_t cf;
    ft_buf post;            /* in-memory posting stream */
} term_ent;

typedef struct doc_slot {
    uint32_t term;
    uint32_t prev_plus1;    /* the term's previous document + 1 */
    uint32_t head, tail, tf;
} doc_slot;

/* Word cache: folded surface word -> term number, direct-mapped.  A hit skips
 * both the stemmer (and its cache) and the term hash table.  A key is a word
 * still to be stemmed or a final term (from ft_writer_add_tokens, or a
 * bigram): the two kinds are told apart by WC_STEM in len, so documents
 * added either way can share the cache. */
#define WC_BITS 18
#define WC_KEY 19
#define WC_STEM 0x80
typedef struct wc_slot {
    uint64_t hash;
    uint32_t term;
    uint8_t len; /* the key's length | WC_STEM for a word to stem; 0: empty */
    char key[WC_KEY];
} wc_slot;

typedef struct ptok {
    uint64_t h;        /* XXH3 of the word */
    uint32_t off;      /* word bytes in tokbytes */
    uint32_t pos;
    uint32_t term;     /* resolved term number */
    uint16_t len;
    uint8_t stem;
} ptok;

typedef struct occ {
    uint32_t pos, next;
} occ;

/* A document is inverted in chunks of CHUNK_TOKENS tokens, so the token and
 * occurrence arrays stay bounded whatever its length.  Once a document
 * outgrows one chunk, each chunk's occurrences go straight to the terms'
 * posting streams as varint gaps, after a HOLE-byte gap that the document's
 * header (document gap, tf: at most 5 + 5 bytes) fills at its end; a doc_run
 * per slot follows where its positions stand. */
#define CHUNK_TOKENS (1u << 16)
#define HOLE 10
typedef struct doc_run {
    size_t start;      /* offset of the hole in the term's posting stream */
    uint32_t last;     /* last position written */
    uint32_t written;  /* occurrences written */
} doc_run;

/* Spilling: when the estimate passes the budget inside a document (with at
 * least spill_min bytes of its positions held), the positions it has in the
 * posting streams go to a run in the segment's spill file (<seg>.spl.tmp)
 * and are freed; its later positions continue after them (gaps from
 * doc_run.last).  A run is its terms in dictionary order, each as
 * [varint term number][varint n][varint positions][n bytes of position
 * gaps].  The segment is flushed at the end of such a document, so it is the
 * segment's last; when the segment is written, the positions of its posting
 * are the bytes from each run in turn, then the ones still in memory after
 * its header (encode_term): the positions a build without spilling has, so
 * the same index. */
#define SPILL_MIN (4u << 20)
#define SPILL_READ (16u << 10)  /* read buffer per run when merging */

/* Records of STORE_STREAM bytes or more are not assembled in the store
 * block: the block (the small records before it, then this one) is
 * compressed as it is written, into one zstd frame, the same bytes as
 * compressing it whole; when that does not make it smaller, the file goes
 * back and the block is written raw. */
#define STORE_STREAM (1u << 20)

/* Position marks of a stored body (the record's fourth field, FORMAT.md
 * .sto): varint body0 (the position of the body's first word), then pairs
 * (varint position gap, varint byte-offset gap), body-relative, one every
 * MARK_EVERY positions or a little later.  A mark is only put on a word
 * that follows ASCII white space: the analyzer is between words and CJK
 * runs there, so analyzing the body from that byte with that first position
 * gives exactly the tokens of the whole body from that word on.  A snippet
 * of a word deep in a long body then analyzes fewer than MARK_EVERY words
 * before its window instead of every word from the start. */
#define MARK_EVERY 32

typedef struct marks_w {
    ft_buf b;             /* the field being built */
    const char *body;     /* the body being analyzed; NULL: not collecting */
    uint32_t body0, last_pos;
    size_t last_off;
} marks_w;

static void marks_begin(marks_w *m, const char *body, uint32_t body0)
{
    uint8_t v[10];
    ft_buf_reset(&m->b);
    ft_buf_append(&m->b, v, ft_varint_put(v, body0));
    m->body = body;
    m->body0 = body0;
    m->last_pos = 0;
    m->last_off = 0;
}

static inline void marks_token(marks_w *m, const ft_token *tok)
{
    if (!m->body) return;
    if (tok->start >= STORE_STREAM) { /* a large record keeps body0 only (store_record) */
        m->body = NULL;
        return;
    }
    uint32_t p = tok->pos - m->body0;
    if (p - m->last_pos < MARK_EVERY || tok->start == 0) return;
    if (!ft_ascii_space((unsigned char)m->body[tok->start - 1])) return;
    ft_buf_put_varint(&m->b, p - m->last_pos);
    ft_buf_put_varint(&m->b, tok->start - m->last_off);
    m->last_pos = p;
    m->last_off = tok->start;
}

/* A segment to name in the next MANIFEST: a flushed one, or one of the index
 * the writer started from. */
typedef struct mseg {
    char name[32];
    uint32_t ndocs, block, frame, ndeleted;
    uint64_t tokens;
    char file[FT_SEG_NFILES][48];
    uint64_t size[FT_SEG_NFILES], xxh[FT_SEG_NFILES];
    char del[48];             /* deletion file; "" when none */
    uint64_t del_size, del_xxh;
} mseg;

struct ft_writer {
    char *dir;
    ft_writer_opts opts;
    ft_analyzer *an;
    unsigned block, frame;
    char segname[32];
    uint32_t seg_no;          /* next number for a segment or deletion file */
    int lockfd;
    int seg_open;             /* the store file of a segment is open */
    ft_index *base;           /* FT_WRITE_APPEND: the index as opened */

    /* memory accounting (bytes of the growable structures) */
    uint64_t post_bytes;      /* capacities of the posting buffers */

    /* ids of the open segment: idoff[d]..idoff[d]+idlen[d] in idbytes */
    ft_buf idbytes;
    uint32_t *idoff, *idlen;
    size_t ids_cap;
    uint64_t seg_tokens;

    /* segments flushed by this writer */
    mseg *segs;
    unsigned nsegs, segs_cap;
    uint64_t terms_flushed;
    /* ids to delete at commit: varint length + bytes each */
    ft_buf delids;
    uint64_t deleted;

    /* dictionary */
    term_ent *terms;
    size_t nterms, terms_cap;
    uint32_t *table;        /* open addressing: term index + 1 */
    size_t table_mask;
    ft_buf arena;
    wc_slot *wcache;

    /* current document */
    ptok *ptoks;
    size_t nptok, ptok_cap;
    const ptok *tok_src;    /* tokens to invert instead of ptoks (ft_writer_add_tokens: the caller's) */
    uint32_t *tids;         /* their term numbers */
    size_t tids_cap;
    ft_buf tokbytes;
    marks_w marks;          /* the body's position marks */
    doc_slot *slots;
    size_t nslots, slots_cap;
    occ *occs;
    size_t nocc, occ_cap;
    size_t chunk;           /* tokens inverted at a time (CHUNK_TOKENS) */
    doc_run *runs;          /* per slot, once the document spans chunks */
    size_t nruns, runs_cap;
    int streaming;          /* the open document spans chunks */
    int store_raw;          /* tests: store large records raw */
    struct {                /* a document added in pieces (ft_writer_begin) */
        int open;
        char *id;
        size_t id_len;
        uint64_t input;     /* id, title and body bytes */
        uint64_t body_len, got;
        uint64_t stored_len, stored; /* the body as stored (made valid UTF-8) */
        uint32_t pos;       /* position of the next body token */
        ft_buf text;        /* body bytes not analyzed yet */
        ft_buf zout;
        XXH64_state_t *mark;
        uint64_t off, raw;  /* its store block: offset and raw size */
        uint8_t marks[11];  /* its marks field: length, body0 */
        size_t marks_len;
    } pc;
    uint64_t open_bytes;    /* position bytes of the open document held in the streams */
    size_t spill_min;       /* spill no fewer bytes than this (0: budget / 4, at most SPILL_MIN) */
    wfile spill;            /* the spill file of the open segment (fd -1: none) */
    ft_error spill_err;     /* why spilling failed */
    uint64_t *spill_runs;   /* offset where each run starts */
    size_t nspill, spill_cap;
    uint64_t spills;        /* runs written by this writer */
    uint32_t cur_doc;
    uint32_t cur_len;

    /* documents */
    uint32_t *lens;
    size_t ndocs, lens_cap;

    /* store */
    wfile sto;
    ft_buf sto_block, sto_index, scratch;
    uint32_t sto_first_doc, sto_nblocks;
    ZSTD_CCtx *cctx, *cctx_store;

    /* helper threads (opts.threads > 1), and the ring of store groups */
    wpool *pool;
    sgroup *sg;
    unsigned sg_ring, sg_head, sg_count;
    sgroup *sg_open;        /* the group being filled (the newest), or NULL */

    ft_writer_stats st;
    int committed;
    int rc;                 /* sticky failure */
    ft_error err;           /* first failure */
};

void ft_writer_opts_default(ft_writer_opts *o)
{
    memset(o, 0, sizeof *o);
    ft_analyzer_opts_default(&o->analyzer);
    o->zstd_level = 1;
    o->store_level = 1;
    o->block_postings = FT_DEFAULT_BLOCK;
    o->frame_blocks = FT_DEFAULT_FRAME;
    o->memory = FT_DEFAULT_MEMORY;
}

/* Highest number in use in dir's file names (segments seg-N.*, deletion
 * files seg-M.dN), so a new file never overwrites one of the live index. */
static uint32_t scan_max_segment(const char *dir)
{
    uint32_t mx = 0;
    DIR *d = opendir(dir);
    if (!d) return 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        unsigned v, g;
        int n = sscanf(e->d_name, "seg-%u.d%u", &v, &g);
        if (n >= 1 && v > mx) mx = v;
        if (n == 2 && g > mx) mx = g;
    }
    closedir(d);
    return mx;
}

/* Start the helpers and the store groups; with no helper started the
 * writer works alone (not an error). */
static int writer_threads(ft_writer *w, unsigned helpers, ft_error *err)
{
    if (!(w->pool = pool_new(helpers))) return FT_OK;
    w->sg_ring = 2 * w->pool->n + 2;
    if (!(w->sg = calloc(w->sg_ring, sizeof *w->sg))) return ft_error_set(err, FT_ENOMEM, "out of memory");
    for (unsigned i = 0; i < w->sg_ring; i++) {
        sgroup *g = &w->sg[i];
        g->job.run = sgroup_run;
        ft_buf_init(&g->raw);
        ft_buf_init(&g->out);
        ft_buf_init(&g->cbuf);
        g->job.state = JOB_DONE;
        if (!(g->cctx = ZSTD_createCCtx())) return ft_error_set(err, FT_ENOMEM, "out of memory");
        ZSTD_CCtx_setParameter(g->cctx, ZSTD_c_compressionLevel, w->opts.store_level);
    }
    return FT_OK;
}

/* A writer without lock or directory handling (ft_writer_open and the merger
 * add those). */
static int writer_new(const char *dir, const ft_writer_opts *opts, ft_writer **out, ft_error *err)
{
    *out = NULL;
    ft_writer *w = calloc(1, sizeof *w);
    if (!w) return ft_error_set(err, FT_ENOMEM, "out of memory");
    int rc;
    w->lockfd = -1;
    if (opts) w->opts = *opts;
    else ft_writer_opts_default(&w->opts);
    if (w->opts.zstd_level == 0) w->opts.zstd_level = 1;
    if (w->opts.store_level == 0) w->opts.store_level = 1;
    w->block = w->opts.block_postings ? w->opts.block_postings : FT_DEFAULT_BLOCK;
    w->frame = w->opts.frame_blocks ? w->opts.frame_blocks : FT_DEFAULT_FRAME;
    if (w->frame > FT_MAX_FRAME) {
        unsigned fb = w->frame;
        free(w);
        return ft_error_set(err, FT_EINVAL, "frame size %u out of range 1..%u", fb, FT_MAX_FRAME);
    }
    if (w->block < 4 || w->block > FT_MAX_BLOCK) {
        unsigned bs = w->block;
        free(w);
        return ft_error_set(err, FT_EINVAL, "block size %u out of range 4..%u", bs, FT_MAX_BLOCK);
    }
    w->sto.fd = -1;
    w->spill.fd = -1;
    w->chunk = CHUNK_TOKENS;
    w->dir = strdup(dir);
    if (!w->dir) { rc = ft_error_set(err, FT_ENOMEM, "out of memory"); goto fail; }
    rc = ft_analyzer_new(&w->opts.analyzer, &w->an, err);
    if (rc) goto fail;
    w->opts.analyzer = *ft_analyzer_options(w->an);
    w->seg_no = scan_max_segment(dir) + 1;

    w->table_mask = 4096 - 1;
    w->table = calloc(w->table_mask + 1, sizeof *w->table);
    w->cctx = ZSTD_createCCtx();
    w->cctx_store = ZSTD_createCCtx();
    w->wcache = calloc((size_t)1 << WC_BITS, sizeof *w->wcache);
    if (!w->table || !w->cctx || !w->cctx_store || !w->wcache) { rc = ft_error_set(err, FT_ENOMEM, "out of memory"); goto fail; }
    ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_compressionLevel, w->opts.zstd_level);
    ZSTD_CCtx_setParameter(w->cctx_store, ZSTD_c_compressionLevel, w->opts.store_level);
    if (w->opts.threads > 1 && (rc = writer_threads(w, w->opts.threads - 1, err))) goto fail;
    ft_buf_init(&w->arena);
    ft_buf_init(&w->tokbytes);
    ft_buf_init(&w->marks.b);
    ft_buf_init(&w->sto_block);
    ft_buf_init(&w->sto_index);
    ft_buf_init(&w->scratch);
    ft_buf_init(&w->idbytes);
    ft_buf_init(&w->delids);
    *out = w;
    return FT_OK;
fail:
    ft_writer_close(w);
    return rc;
}

int ft_writer_open(const char *dir, const ft_writer_opts *opts, ft_writer **out, ft_error *err)
{
    *out = NULL;
    struct stat st;
    if (stat(dir, &st) < 0) {
        if (errno != ENOENT || mkdir(dir, 0755) < 0)
            return ft_error_errno(err, errno, "cannot create index directory %s", dir);
    } else if (!S_ISDIR(st.st_mode)) {
        return ft_error_errno(err, ENOTDIR, "cannot use %s as the index directory", dir); /* FT_EIO */
    }
    int lockfd, rc;
    if ((rc = ft_lock_acquire(dir, &lockfd, err))) return rc;
    ft_remove_unreferenced(dir);
    ft_writer_opts o;
    if (opts) o = *opts;
    else ft_writer_opts_default(&o);
    ft_index *base = NULL;
    if (o.mode == FT_WRITE_APPEND) {
        rc = ft_index_open(dir, &base, err);
        if (rc == FT_ENOTFOUND) {
            base = NULL;
        } else if (rc) {
            ft_lock_release(dir, lockfd);
            return rc;
        } else {
            o.analyzer = *ft_index_analyzer_opts(base); /* the index's analysis, whatever was asked */
        }
    }
    ft_writer *w;
    if ((rc = writer_new(dir, &o, &w, err))) {
        ft_index_close(base);
        ft_lock_release(dir, lockfd);
        return rc;
    }
    w->lockfd = lockfd;
    w->base = base;
    *out = w;
    return FT_OK;
}

/* Start a new segment: its store file is written as documents arrive. */
static int segment_begin(ft_writer *w, ft_error *err)
{
    snprintf(w->segname, sizeof w->segname, "seg-%06u", w->seg_no++);
    char name[48];
    snprintf(name, sizeof name, "%s.sto", w->segname);
    int rc = wfile_open(&w->sto, w->dir, name, err);
    if (rc) return rc;
    wfile_header(&w->sto, MAGIC_STO, err);
    w->sto_first_doc = 0;
    w->sto_nblocks = 0;
    ft_buf_reset(&w->sto_index);
    ft_buf_reset(&w->sto_block);
    w->seg_open = 1;
    return w->sto.rc;
}

static uint32_t intern_term(ft_writer *w, const char *t, size_t len, uint64_t h)
{
    size_t i = (size_t)h & w->table_mask;
    for (;;) {
        uint32_t id = w->table[i];
        if (!id) break;
        term_ent *e = &w->terms[id - 1];
        if (e->hash == h && e->len == len && !memcmp(w->arena.p + e->off, t, len)) return id - 1;
        i = (i + 1) & w->table_mask;
    }
    /* insert */
    if (w->nterms == w->terms_cap) {
        size_t cap = w->terms_cap ? w->terms_cap * 2 : 1024;
        term_ent *p = realloc(w->terms, cap * sizeof *p);
        if (!p) return UINT32_MAX;
        w->terms = p;
        w->terms_cap = cap;
    }
    if (w->arena.len + len > UINT32_MAX) return UINT32_MAX;
    term_ent *e = &w->terms[w->nterms];
    memset(e, 0, sizeof *e);
    e->hash = h;
    e->off = (uint32_t)w->arena.len;
    e->len = (uint32_t)len;
    ft_buf_init(&e->post);
    ft_buf_append(&w->arena, t, len);
    if (w->arena.failed) return UINT32_MAX;
    w->table[i] = (uint32_t)++w->nterms;
    if (w->nterms * 2 > w->table_mask) { /* grow to keep load <= 1/2 */
        size_t mask = w->table_mask * 2 + 1;
        uint32_t *nt = calloc(mask + 1, sizeof *nt);
        if (!nt) return UINT32_MAX;
        for (size_t k = 0; k < w->nterms; k++) {
            size_t j = (size_t)w->terms[k].hash & mask;
            while (nt[j]) j = (j + 1) & mask;
            nt[j] = (uint32_t)k + 1;
        }
        free(w->table);
        w->table = nt;
        w->table_mask = mask;
    }
    return (uint32_t)w->nterms - 1;
}

/* Tokens of the open document are first collected (with their hash), then
 * resolved to term numbers in a second pass that prefetches the word-cache
 * slot of a token PREFETCH places ahead, and counted in a third pass that
 * prefetches the term entries: the lookups are memory-latency bound, and this
 * overlaps the misses instead of taking them one after another. */
#define PREFETCH 12

static int invert_chunk(ft_writer *w, const uint8_t *bytes);

static int collect_token(void *ctx, const ft_token *tok)
{
    ft_writer *w = ctx;
    if (w->nptok == w->ptok_cap) {
        if (w->ptok_cap >= w->chunk) { /* a long document: invert what is held */
            int rc = invert_chunk(w, w->tokbytes.p);
            if (rc) return rc;
        } else {
            size_t cap = w->ptok_cap ? w->ptok_cap * 2 : 1024;
            if (cap > w->chunk) cap = w->chunk;
            if (cap > UINT32_MAX) return FT_ENOMEM;
            ptok *p = realloc(w->ptoks, cap * sizeof *p);
            if (!p) return FT_ENOMEM;
            w->ptoks = p;
            w->ptok_cap = cap;
        }
    }
    if (w->tokbytes.len + tok->len > UINT32_MAX) return FT_ENOMEM;
    marks_token(&w->marks, tok);
    ptok *t = &w->ptoks[w->nptok++];
    t->h = XXH3_64bits(tok->term, tok->len);
    t->off = (uint32_t)w->tokbytes.len;
    t->len = (uint16_t)tok->len;
    t->stem = (uint8_t)tok->stem;
    t->pos = tok->pos;
    ft_buf_append(&w->tokbytes, tok->term, tok->len);
    return w->tokbytes.failed ? FT_ENOMEM : 0;
}

static uint32_t resolve_token(ft_writer *w, const ptok *t, const uint8_t *bytes)
{
    const char *word = (const char *)bytes + t->off;
    wc_slot *slot = NULL;
    if (t->len <= WC_KEY) {
        slot = &w->wcache[t->h & ((1u << WC_BITS) - 1)];
        if (slot->hash == t->h && slot->len == (t->len | (t->stem ? WC_STEM : 0)) && !memcmp(slot->key, word, t->len))
            return slot->term;
    }
    uint32_t id;
    if (t->stem) {
        size_t sl;
        const char *st = ft_analyzer_stem(w->an, word, t->len, &sl);
        id = intern_term(w, st, sl, XXH3_64bits(st, sl));
    } else {
        id = intern_term(w, word, t->len, t->h);
    }
    if (slot && id != UINT32_MAX) {
        slot->hash = t->h;
        slot->term = id;
        slot->len = (uint8_t)(t->len | (t->stem ? WC_STEM : 0));
        memcpy(slot->key, word, t->len);
    }
    return id;
}

static int count_occurrence(ft_writer *w, uint32_t id, uint32_t pos)
{
    term_ent *e = &w->terms[id];
    doc_slot *s;
    if (e->last_plus1 != w->cur_doc + 1) {
        if (w->nslots == w->slots_cap) {
            size_t cap = w->slots_cap ? w->slots_cap * 2 : 256;
            doc_slot *p = realloc(w->slots, cap * sizeof *p);
            if (!p) return FT_ENOMEM;
            w->slots = p;
            w->slots_cap = cap;
        }
        s = &w->slots[w->nslots++];
        s->term = id;
        s->prev_plus1 = e->last_plus1;
        s->head = s->tail = UINT32_MAX;
        s->tf = 0;
        e->last_plus1 = w->cur_doc + 1;
        e->slot = (uint32_t)(w->nslots - 1);
    } else {
        s = &w->slots[e->slot];
    }
    if (w->nocc == w->occ_cap) {
        size_t cap = w->occ_cap ? w->occ_cap * 2 : 1024;
        if (cap > UINT32_MAX) return FT_ENOMEM;
        occ *p = realloc(w->occs, cap * sizeof *p);
        if (!p) return FT_ENOMEM;
        w->occs = p;
        w->occ_cap = cap;
    }
    uint32_t k = (uint32_t)w->nocc++;
    w->occs[k].pos = pos;
    w->occs[k].next = UINT32_MAX;
    if (s->tail == UINT32_MAX) s->head = k;
    else w->occs[s->tail].next = k;
    s->tail = k;
    s->tf++;
    w->cur_len++;
    return 0;
}

/* Resolve and count the held tokens; their bytes are at bytes + off. */
static int invert_tokens(ft_writer *w, const uint8_t *bytes)
{
    size_t n = w->nptok;
    const ptok *t = w->tok_src ? w->tok_src : w->ptoks;
    if (n > w->tids_cap) {
        uint32_t *p = realloc(w->tids, n * sizeof *p);
        if (!p) return FT_ENOMEM;
        w->tids = p;
        w->tids_cap = n;
    }
    uint32_t *tid = w->tids;
    for (size_t i = 0; i < n; i++) {
        if (i + PREFETCH < n && t[i + PREFETCH].len <= WC_KEY)
            __builtin_prefetch(&w->wcache[t[i + PREFETCH].h & ((1u << WC_BITS) - 1)]);
        uint32_t id = resolve_token(w, &t[i], bytes);
        if (id == UINT32_MAX) return FT_ENOMEM;
        tid[i] = id;
    }
    for (size_t i = 0; i < n; i++) {
        if (i + PREFETCH < n) __builtin_prefetch(&w->terms[tid[i + PREFETCH]]);
        if (count_occurrence(w, tid[i], t[i].pos)) return FT_ENOMEM;
    }
    return 0;
}

/* Move the open document's counted occurrences into the posting streams of
 * its terms (see doc_run), leaving the occurrence array empty. */
static int stream_positions(ft_writer *w)
{
    if (w->nslots > w->runs_cap) {
        size_t cap = w->runs_cap ? w->runs_cap : 256;
        while (cap < w->nslots) cap *= 2;
        doc_run *p = realloc(w->runs, cap * sizeof *p);
        if (!p) return FT_ENOMEM;
        w->runs = p;
        w->runs_cap = cap;
    }
    for (size_t i = 0; i < w->nslots; i++) {
        doc_slot *s = &w->slots[i];
        doc_run *r = &w->runs[i];
        if (i < w->nruns && s->tf == r->written) continue; /* not in this chunk */
        ft_buf *b = &w->terms[s->term].post;
        size_t cap0 = b->cap;
        if (i >= w->nruns) { /* the term's first chunk in this document */
            if (ft_buf_reserve(b, HOLE)) return FT_ENOMEM;
            r->start = b->len;
            r->last = 0;
            r->written = 0;
            b->len += HOLE;
        }
        if (s->tf > r->written) {
            if (ft_buf_reserve(b, (size_t)(s->tf - r->written) * 5)) return FT_ENOMEM;
            uint32_t prev = r->last;
            size_t len0 = b->len;
            for (uint32_t k = s->head; k != UINT32_MAX; k = w->occs[k].next) {
                b->len += ft_varint_put(b->p + b->len, w->occs[k].pos - prev);
                prev = w->occs[k].pos;
            }
            w->open_bytes += b->len - len0;
            r->last = prev;
            r->written = s->tf;
            s->head = s->tail = UINT32_MAX;
        }
        w->post_bytes += b->cap - cap0;
    }
    w->nruns = w->nslots;
    w->nocc = 0;
    w->streaming = 1;
    return 0;
}

static uint64_t writer_memory(const ft_writer *w);
static int spill_positions(ft_writer *w);

/* Invert the held chunk of a long document and start the next one; spill
 * the document's positions when the estimate passes the budget. */
static int invert_chunk(ft_writer *w, const uint8_t *bytes)
{
    int rc = invert_tokens(w, bytes);
    if (!rc) rc = stream_positions(w);
    w->nptok = 0;
    ft_buf_reset(&w->tokbytes);
    if (!rc && w->opts.memory && w->spill_min != SIZE_MAX) {
        uint64_t min = w->spill_min ? w->spill_min : w->opts.memory / 4 < SPILL_MIN ? w->opts.memory / 4 : SPILL_MIN;
        if (w->open_bytes >= min && w->open_bytes > 0 && writer_memory(w) > w->opts.memory) rc = spill_positions(w);
    }
    return rc;
}

static int cmp_slot_terms(const void *a, const void *b, void *ctx);

/* Write the open document's held positions as a run of the spill file (see
 * SPILL_MIN) and free them. */
static int spill_positions(ft_writer *w)
{
    if (w->spill.fd < 0) {
        char name[48];
        snprintf(name, sizeof name, "%s.spl", w->segname);
        if (wfile_open(&w->spill, w->dir, name, &w->spill_err)) {
            int rc = w->spill.rc;
            wfile_discard(&w->spill);
            return rc;
        }
    }
    if (w->nspill == w->spill_cap) {
        size_t cap = w->spill_cap ? w->spill_cap * 2 : 16;
        uint64_t *p = realloc(w->spill_runs, cap * sizeof *p);
        if (!p) return FT_ENOMEM;
        w->spill_runs = p;
        w->spill_cap = cap;
    }
    uint32_t *order = malloc((w->nslots ? w->nslots : 1) * sizeof *order);
    if (!order) return FT_ENOMEM;
    size_t n = 0;
    for (size_t i = 0; i < w->nslots; i++)
        if (w->terms[w->slots[i].term].post.len > w->runs[i].start + HOLE) order[n++] = (uint32_t)i;
    qsort_r(order, n, sizeof *order, cmp_slot_terms, w);
    w->spill_runs[w->nspill++] = w->spill.off;
    w->spills++;
    for (size_t k = 0; k < n && !w->spill.rc; k++) {
        doc_slot *s = &w->slots[order[k]];
        ft_buf *b = &w->terms[s->term].post;
        size_t keep = w->runs[order[k]].start + HOLE;
        uint8_t h[30];
        uint64_t npos = 0; /* varints: their last bytes are below 0x80 */
        for (size_t i = keep; i < b->len; i++) npos += b->p[i] < 0x80;
        size_t hl = ft_varint_put(h, s->term);
        hl += ft_varint_put(h + hl, b->len - keep);
        hl += ft_varint_put(h + hl, npos);
        wfile_write(&w->spill, h, hl, &w->spill_err);
        wfile_write(&w->spill, b->p + keep, b->len - keep, &w->spill_err);
        b->len = keep;
        if (b->cap >= 2 * keep + 256) { /* give the memory back */
            uint8_t *q = realloc(b->p, keep);
            if (q) {
                w->post_bytes -= b->cap - keep;
                b->p = q;
                b->cap = keep;
            }
        }
    }
    free(order);
    w->open_bytes = 0;
    return w->spill.rc;
}

static void spill_discard(ft_writer *w)
{
    wfile_discard(&w->spill);
    free(w->spill_runs);
    w->spill_runs = NULL;
    w->nspill = w->spill_cap = 0;
}

/* The end of a document that spanned chunks: each term's header goes into
 * its hole, the positions move up against it, so the stream holds the same
 * bytes as for a document inverted whole. */
static void finish_streamed(ft_writer *w)
{
    for (size_t i = 0; i < w->nslots; i++) {
        doc_slot *s = &w->slots[i];
        doc_run *r = &w->runs[i];
        term_ent *e = &w->terms[s->term];
        ft_buf *b = &e->post;
        uint8_t h[HOLE];
        size_t n = ft_varint_put(h, (uint64_t)w->cur_doc + 1 - s->prev_plus1);
        n += ft_varint_put(h + n, s->tf);
        size_t tail = b->len - r->start - HOLE;
        memmove(b->p + r->start + n, b->p + r->start + HOLE, tail);
        memcpy(b->p + r->start, h, n);
        b->len -= HOLE - n;
        e->cf += s->tf;
        e->df++;
        w->st.postings++;
    }
}

static int flush_store(ft_writer *w, ft_error *err);
static int store_drain(ft_writer *w, ft_error *err);
static int segment_flush(ft_writer *w, ft_error *err);

/* Bytes held by the structures that grow with the open segment; the budget
 * compares against this.  Not counted, and documented as the constant on
 * top: the word cache (8 MiB), the zstd contexts, and the per-document
 * scratch arrays: tokens and occurrences of one chunk at most (32 bytes a
 * token and its bytes, about 2.5 MB) and 36 bytes per distinct term of the
 * largest document. */
static uint64_t writer_memory(const ft_writer *w)
{
    return w->post_bytes + w->arena.cap + (uint64_t)w->terms_cap * sizeof(term_ent) +
           ((uint64_t)w->table_mask + 1) * sizeof *w->table + (uint64_t)w->lens_cap * 4 +
           (uint64_t)w->ids_cap * 8 + w->idbytes.cap + w->sto_block.cap + w->sto_index.cap;
}


/* Write p[0..n) to the store file, through the store's zstd stream when z. */
static void store_put(ft_writer *w, ft_buf *zout, int z, const void *p, size_t n, ft_error *err)
{
    if (!n) return;
    if (!z) {
        wfile_write(&w->sto, p, n, err);
        return;
    }
    ZSTD_inBuffer in = {p, n, 0};
    while (in.pos < in.size && !w->sto.rc) {
        ZSTD_outBuffer out = {zout->p, zout->cap, 0};
        size_t r = ZSTD_compressStream2(w->cctx_store, &out, &in, ZSTD_e_continue);
        if (ZSTD_isError(r)) {
            w->sto.rc = ft_error_set(err, FT_EIO, "zstd: %s", ZSTD_getErrorName(r));
            return;
        }
        wfile_write(&w->sto, out.dst, out.pos, err);
    }
}

/* One field of a record: its length, then its bytes, sanitized (bad) a
 * piece at a time. */
static void store_field(ft_writer *w, ft_buf *zout, int z, const char *f, size_t fl, size_t slen, int bad,
                        ft_error *err)
{
    uint8_t v[10];
    store_put(w, zout, z, v, ft_varint_put(v, slen), err);
    if (!bad) {
        store_put(w, zout, z, f, fl, err);
        return;
    }
    for (size_t i = 0; i < fl && !w->sto.rc;) {
        ft_buf_reset(&w->scratch);
        ft_utf8_sanitize_part(f, fl, &i, STORE_STREAM, &w->scratch);
        if (w->scratch.failed) {
            w->sto.rc = ft_error_set(err, FT_ENOMEM, "out of memory");
            return;
        }
        store_put(w, zout, z, w->scratch.p, w->scratch.len, err);
    }
}

/* End the store's zstd frame. */
static void store_frame_end(ft_writer *w, ft_buf *zout, ft_error *err)
{
    while (!w->sto.rc) {
        ZSTD_inBuffer in = {NULL, 0, 0};
        ZSTD_outBuffer out = {zout->p, zout->cap, 0};
        size_t r = ZSTD_compressStream2(w->cctx_store, &out, &in, ZSTD_e_end);
        if (ZSTD_isError(r)) {
            w->sto.rc = ft_error_set(err, FT_EIO, "zstd: %s", ZSTD_getErrorName(r));
            return;
        }
        wfile_write(&w->sto, out.dst, out.pos, err);
        if (r == 0) break;
    }
}

/* The open block and one record, text fields sanitized (bad[k]) a piece at a time. */
static void store_fields(ft_writer *w, ft_buf *zout, int z, const char *const *fv, const size_t *flv,
                         const size_t *slen, const int *bad, ft_error *err)
{
    store_put(w, zout, z, w->sto_block.p, w->sto_block.len, err);
    for (int k = 0; k < 4 && !w->sto.rc; k++) store_field(w, zout, z, fv[k], flv[k], slen[k], bad[k], err);
    if (z) store_frame_end(w, zout, err);
}

/* The index entry of a block holding a large record (the open document's). */
static int store_large_entry(ft_writer *w, uint64_t off, uint64_t stored, uint64_t raw, int z, ft_error *err)
{
    ft_buf_put_u64le(&w->sto_index, off);
    ft_buf_put_u32le(&w->sto_index, (uint32_t)stored);
    ft_buf_put_u32le(&w->sto_index, z ? (uint32_t)raw : 0);
    ft_buf_put_u32le(&w->sto_index, w->sto_first_doc);
    w->sto_nblocks++;
    w->sto_first_doc = (uint32_t)w->ndocs + 1; /* the next block starts after this record */
    ft_buf_reset(&w->sto_block);
    if (w->sto_index.failed) return ft_error_set(err, FT_ENOMEM, "out of memory");
    return FT_OK;
}

/* Write the open block with a large record as one store block. */
static int store_large(ft_writer *w, const char *const *fv, const size_t *flv, int text_valid, ft_error *err)
{
    int bad[4];
    size_t slen[4];
    uint64_t raw = w->sto_block.len;
    for (int k = 0; k < 4; k++) {
        uint8_t v[10];
        bad[k] = k < 3 && !(k && text_valid) && ft_utf8_valid_prefix(fv[k], flv[k]) != flv[k];
        slen[k] = bad[k] ? ft_utf8_sanitized_len(fv[k], flv[k]) : flv[k];
        raw += ft_varint_put(v, slen[k]) + slen[k];
    }
    if (raw > UINT32_MAX) return ft_error_set(err, FT_EINVAL, "a stored document block exceeds 4 GiB");
    uint64_t off = w->sto.off;
    XXH64_state_t *mark = XXH64_createState();
    ft_buf zout;
    ft_buf_init(&zout);
    if (!mark || ft_buf_reserve(&zout, ZSTD_CStreamOutSize())) {
        XXH64_freeState(mark);
        return ft_error_set(err, FT_ENOMEM, "out of memory");
    }
    XXH64_copyState(mark, w->sto.h);
    ZSTD_CCtx_reset(w->cctx_store, ZSTD_reset_session_only);
    ZSTD_CCtx_setPledgedSrcSize(w->cctx_store, raw);
    store_fields(w, &zout, 1, fv, flv, slen, bad, err);
    uint64_t stored = w->sto.off - off;
    int z = 1;
    if (!w->sto.rc && (stored >= raw || w->store_raw) && !wfile_rewind(&w->sto, off, mark, err)) {
        store_fields(w, &zout, 0, fv, flv, slen, bad, err);
        stored = raw;
        z = 0;
    }
    XXH64_freeState(mark);
    ft_buf_free(&zout);
    if (w->sto.rc) return w->sto.rc;
    return store_large_entry(w, off, stored, raw, z, err);
}

/* A record written compressed from pieces (ft_writer_text) did not get
 * smaller: the pieces are gone, so its block is decompressed from the file
 * into an unlinked temporary file, and written raw from there in its place
 * (the file goes back to off, whose hash state is mark). */
static int store_unpack(ft_writer *w, uint64_t off, const XXH64_state_t *mark, ft_error *err)
{
    wfile_flush(&w->sto, err);
    if (w->sto.rc) return w->sto.rc;
    uint64_t end = w->sto.off;
    char *tmp = NULL;
    int tfd = -1, rc = FT_OK;
    size_t cap = 1u << 17;
    uint8_t *in = malloc(cap), *outb = malloc(cap);
    ZSTD_DCtx *dc = ZSTD_createDCtx();
    if (!in || !outb || !dc || asprintf(&tmp, "%s/%s.raw.tmp", w->dir, w->segname) < 0) {
        tmp = NULL;
        rc = ft_error_set(err, FT_ENOMEM, "out of memory");
        goto out;
    }
    tfd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (tfd < 0) {
        rc = ft_error_errno(err, errno, "cannot create %s", tmp);
        goto out;
    }
    unlink(tmp);
    for (uint64_t at = off; at < end && !rc;) {
        size_t want = end - at < cap ? (size_t)(end - at) : cap;
        ssize_t n = pread(w->sto.fd, in, want, (off_t)at);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            rc = ft_error_errno(err, n < 0 ? errno : EIO, "cannot read %s", w->sto.path);
            break;
        }
        at += (uint64_t)n;
        ZSTD_inBuffer zi = {in, (size_t)n, 0};
        int more = 1;
        while (!rc && (zi.pos < zi.size || (at == end && more))) {
            ZSTD_outBuffer zo = {outb, cap, 0};
            size_t r = ZSTD_decompressStream(dc, &zo, &zi);
            if (ZSTD_isError(r)) {
                rc = ft_error_set(err, FT_EIO, "zstd: %s", ZSTD_getErrorName(r));
                break;
            }
            rc = ft_write_all(tfd, outb, zo.pos, tmp, err);
            more = zo.pos == cap;
        }
    }
    if (!rc) rc = wfile_rewind(&w->sto, off, mark, err);
    if (!rc && lseek(tfd, 0, SEEK_SET) < 0) rc = ft_error_errno(err, errno, "cannot read %s", tmp);
    while (!rc) {
        ssize_t n = read(tfd, outb, cap);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) rc = ft_error_errno(err, errno, "cannot read %s", tmp);
        if (n <= 0) break;
        wfile_write(&w->sto, outb, (size_t)n, err);
        rc = w->sto.rc;
    }
out:
    if (tfd >= 0) close(tfd);
    free(tmp);
    free(in);
    free(outb);
    ZSTD_freeDCtx(dc);
    if (rc && !w->sto.rc) w->sto.rc = rc;
    return rc;
}

static int store_id(ft_writer *w, const char *id, size_t id_len, ft_error *err);

/* The length of a marks field's first varint (body0): the field of a body
 * without pairs. */
static size_t marks_body0_len(const char *f, size_t fl)
{
    const uint8_t *q = (const uint8_t *)f;
    uint64_t v;
    return ft_varint_get(&q, q + fl, &v) ? 0 : (size_t)(q - (const uint8_t *)f);
}

/* Append one record (id, title, body, marks) to the store block (text
 * fields made valid UTF-8; text_valid: the analysis of title and body found
 * them valid, which is what the sanitizer would find, so they are not
 * scanned again), or write it with its block when large.  A large
 * record's body, and a body that was not valid UTF-8, keep body0 of their
 * marks only: a large one is stored the same whether it came whole or in
 * pieces (whose marks are not collected), and a repaired one has moved
 * offsets. */
static int store_record(ft_writer *w, const char *const *fv, const size_t *flv, int text_valid, ft_error *err)
{
    if (flv[0] + flv[1] + flv[2] >= STORE_STREAM) {
        const char *f[4] = {fv[0], fv[1], fv[2], fv[3]};
        size_t fl[4] = {flv[0], flv[1], flv[2], marks_body0_len(fv[3], flv[3])};
        int rc = store_large(w, f, fl, text_valid, err);
        if (rc) return rc;
    } else {
        int repaired = 0;
        for (int k = 0; k < 4; k++) {
            const char *f = fv[k];
            size_t fl = flv[k];
            ft_buf_reset(&w->scratch);
            if (k < 3 && !(k && text_valid) && ft_utf8_sanitize(f, fl, &w->scratch)) {
                f = (const char *)w->scratch.p;
                fl = w->scratch.len;
                repaired = k == 2;
            }
            if (k == 3 && repaired) fl = marks_body0_len(f, fl);
            ft_buf_put_varint(&w->sto_block, fl);
            ft_buf_append(&w->sto_block, f, fl);
        }
        if (w->sto_block.failed || w->scratch.failed) return ft_error_set(err, FT_ENOMEM, "out of memory");
    }
    return store_id(w, fv[0], flv[0], err);
}

/* The open document's id, for the sorted id file. */
static int store_id(ft_writer *w, const char *id, size_t id_len, ft_error *err)
{
    if (w->ndocs >= w->ids_cap) {
        size_t cap = w->ids_cap ? w->ids_cap * 2 : 1024;
        uint32_t *a = realloc(w->idoff, cap * sizeof *a);
        if (a) w->idoff = a;
        uint32_t *b = a ? realloc(w->idlen, cap * sizeof *b) : NULL;
        if (!b) return ft_error_set(err, FT_ENOMEM, "out of memory");
        w->idlen = b;
        w->ids_cap = cap;
    }
    if (w->idbytes.len + id_len > UINT32_MAX) return ft_error_set(err, FT_EINVAL, "too many id bytes in one segment");
    w->idoff[w->ndocs] = (uint32_t)w->idbytes.len;
    w->idlen[w->ndocs] = (uint32_t)id_len;
    ft_buf_append(&w->idbytes, id, id_len);
    if (w->idbytes.failed) return ft_error_set(err, FT_ENOMEM, "out of memory");
    return FT_OK;
}

/* Record one document's length (after its store record). */
static int add_length(ft_writer *w, uint32_t len)
{
    if (w->ndocs == w->lens_cap) {
        size_t cap = w->lens_cap ? w->lens_cap * 2 : 1024;
        uint32_t *p = realloc(w->lens, cap * sizeof *p);
        if (!p) return FT_ENOMEM;
        w->lens = p;
        w->lens_cap = cap;
    }
    w->lens[w->ndocs++] = len;
    w->seg_tokens += len;
    return FT_OK;
}

static int writer_fail(ft_writer *w, int rc, const ft_error *e)
{
    if (!w->rc) {
        w->rc = rc;
        if (e) w->err = *e;
    }
    return rc;
}

/* ------------------------------------------------------------------ analysis outside the writer
 *
 * For parallel builds: threads analyze documents (tokenize, fold: the
 * larger part of the work) into ft_tokens, each with its own analyzer, and
 * one thread hands them to the writer in document order.  The tokens are
 * the words as ft_writer_add collects them (hashed, flagged when they are
 * to be stemmed): the writer resolves them through its word cache, which
 * skips the stemmer for most, so the same term numbers, in the same order,
 * as ft_writer_add: the index is the same byte for byte.  (Stemming here
 * instead cost a stem-cache lookup and a second hash per token, about a
 * sixth of the CPU time of a -j 2 build.)
 *
 * One ft_tokens holds a batch of documents in three arrays (tokens, their
 * bytes, the bodies' marks) that are cleared and reused, not freed: a
 * document's own arrays, grown from nothing and freed by the writer's
 * thread, cost a -j 2 build a tenth of its CPU time in copies, allocator
 * work and lock waits (the allocating thread's arena is the other one's). */

typedef struct tdoc {
    size_t tok0, ntok;        /* its tokens in ptoks */
    size_t mark0, nmark;      /* its marks field in marks */
    uint64_t invalid_bytes;
    const char *title, *body; /* the text analyzed */
    size_t title_len, body_len;
} tdoc;

struct ft_tokens {
    ptok *ptoks;
    size_t n, cap;
    ft_buf bytes;
    ft_buf marks;
    tdoc *docs;
    size_t ndocs, docs_cap;
    marks_w mw;               /* the document being analyzed */
};

ft_tokens *ft_tokens_new(void)
{
    ft_tokens *t = calloc(1, sizeof *t);
    if (t) {
        ft_buf_init(&t->bytes);
        ft_buf_init(&t->marks);
        ft_buf_init(&t->mw.b);
    }
    return t;
}

void ft_tokens_free(ft_tokens *t)
{
    if (!t) return;
    free(t->ptoks);
    free(t->docs);
    ft_buf_free(&t->bytes);
    ft_buf_free(&t->marks);
    ft_buf_free(&t->mw.b);
    free(t);
}

/* Back to n tokens, nbytes of their bytes and nmarks of marks: what was
 * appended after them, and any append that failed, undone. */
static void tokens_truncate(ft_tokens *t, size_t n, size_t nbytes, size_t nmarks)
{
    t->n = n;
    t->bytes.len = nbytes;
    t->marks.len = nmarks;
    t->bytes.failed = t->marks.failed = t->mw.b.failed = 0;
}

void ft_tokens_clear(ft_tokens *t)
{
    t->ndocs = 0;
    tokens_truncate(t, 0, 0, 0);
}

size_t ft_tokens_count(const ft_tokens *t) { return t->ndocs; }

size_t ft_tokens_bytes(const ft_tokens *t)
{
    return t->cap * sizeof *t->ptoks + t->docs_cap * sizeof *t->docs + t->bytes.cap + t->marks.cap + t->mw.b.cap;
}

static int collect_final(void *ctx, const ft_token *tok)
{
    ft_tokens *t = ctx;
    const char *term = tok->term;
    size_t len = tok->len;
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        if (cap > UINT32_MAX) return FT_ENOMEM;
        ptok *p = realloc(t->ptoks, cap * sizeof *p);
        if (!p) return FT_ENOMEM;
        t->ptoks = p;
        t->cap = cap;
    }
    if (t->bytes.len + len > UINT32_MAX) return FT_ENOMEM;
    marks_token(&t->mw, tok);
    ptok *pt = &t->ptoks[t->n++];
    pt->h = XXH3_64bits(term, len);
    pt->off = (uint32_t)t->bytes.len;
    pt->len = (uint16_t)len;
    pt->stem = (uint8_t)tok->stem;
    pt->pos = tok->pos;
    pt->term = 0;
    ft_buf_append(&t->bytes, term, len);
    return t->bytes.failed ? FT_ENOMEM : 0;
}

int ft_tokens_analyze(ft_tokens *t, ft_analyzer *an, const char *title, size_t title_len, const char *body,
                      size_t body_len, ft_error *err)
{
    if (t->ndocs == t->docs_cap) {
        size_t cap = t->docs_cap ? t->docs_cap * 2 : 64;
        tdoc *d = realloc(t->docs, cap * sizeof *d);
        if (!d) return ft_error_set(err, FT_ENOMEM, "out of memory analyzing a document");
        t->docs = d;
        t->docs_cap = cap;
    }
    tdoc *d = &t->docs[t->ndocs];
    size_t n0 = t->n, b0 = t->bytes.len;
    *d = (tdoc){n0, 0, t->marks.len, 0, 0, title, body, title_len, body_len};
    ft_analyze_stats s1, s2;
    t->mw.body = NULL;
    int rc = ft_analyze_words(an, title, title_len, 0, collect_final, t, &s1);
    if (!rc) {
        marks_begin(&t->mw, body, s1.next_pos + 1);
        rc = ft_analyze_words(an, body, body_len, s1.next_pos + 1, collect_final, t, &s2);
        t->mw.body = NULL;
    }
    if (!rc) ft_buf_append(&t->marks, t->mw.b.p, t->mw.b.len);
    if (rc || t->mw.b.failed || t->marks.failed) {
        tokens_truncate(t, n0, b0, d->mark0); /* the batch as it was */
        return ft_error_set(err, FT_ENOMEM, "out of memory analyzing a document");
    }
    d->ntok = t->n - n0;
    d->nmark = t->mw.b.len;
    d->invalid_bytes = s1.invalid_bytes + s2.invalid_bytes;
    t->ndocs++;
    return FT_OK;
}

const ft_analyzer_opts *ft_writer_analyzer_opts(const ft_writer *w) { return &w->opts.analyzer; }

void ft_writer_set_chunk_(ft_writer *w, size_t tokens) { w->chunk = tokens ? tokens : 1; }

void ft_writer_set_spill_(ft_writer *w, size_t min_bytes) { w->spill_min = min_bytes; }
uint64_t ft_writer_spills_(const ft_writer *w) { return w->spills; }
void ft_writer_set_store_raw_(ft_writer *w, int raw) { w->store_raw = raw; }

static int writer_add(ft_writer *w, const ft_tokens *pre, size_t k, const char *id, size_t id_len,
                      const char *title, size_t title_len, const char *body, size_t body_len, ft_error *err);

int ft_writer_add(ft_writer *w, const char *id, size_t id_len, const char *title,
                  size_t title_len, const char *body, size_t body_len, ft_error *err)
{
    return writer_add(w, NULL, 0, id, id_len, title, title_len, body, body_len, err);
}

int ft_writer_add_tokens(ft_writer *w, const ft_tokens *t, size_t k, const char *id, size_t id_len,
                         const char *title, size_t title_len, const char *body, size_t body_len, ft_error *err)
{
    if (k >= t->ndocs) return ft_error_set(err, FT_EINVAL, "no analyzed document %zu in the batch", k);
    return writer_add(w, t, k, id, id_len, title, title_len, body, body_len, err);
}

/* Checks, and the state of a new document (writer_add, ft_writer_begin). */
static int doc_begin(ft_writer *w, size_t id_len, ft_error *err)
{
    if (w->rc) {
        if (err) *err = w->err;
        return w->rc;
    }
    if (w->committed) return ft_error_set(err, FT_EINVAL, "writer already committed");
    if (w->pc.open) return ft_error_set(err, FT_EINVAL, "a document added in pieces is not ended");
    if (id_len == 0) return ft_error_set(err, FT_EINVAL, "document has an empty id");
    if (w->ndocs >= UINT32_MAX - 2) return ft_error_set(err, FT_EINVAL, "too many documents in one segment");
    if (!w->seg_open) {
        int r = segment_begin(w, err);
        if (r) return writer_fail(w, r, err);
    }
    w->cur_doc = (uint32_t)w->ndocs;
    w->cur_len = 0;
    w->marks.body = NULL;
    w->nslots = 0;
    w->nocc = 0;
    w->nptok = 0;
    w->nruns = 0;
    w->streaming = 0;
    w->open_bytes = 0;
    ft_buf_reset(&w->tokbytes);
    return FT_OK;
}

/* Collecting or inverting the open document's tokens failed with rc: out of
 * memory, or writing the spill file. */
static int doc_failed(ft_writer *w, int rc, const char *id, size_t id_len, ft_error *err)
{
    if (rc != FT_ENOMEM && w->spill.rc) {
        if (err) *err = w->spill_err;
        return writer_fail(w, rc, err);
    }
    ft_error_set(err, FT_ENOMEM, "out of memory indexing document %.*s", (int)(id_len > 200 ? 200 : id_len), id);
    return writer_fail(w, FT_ENOMEM, err);
}

/* Once the open document's tokens are collected (their bytes at bytes):
 * invert what is held and append the document to its terms' streams. */
static int doc_postings(ft_writer *w, const uint8_t *bytes, const char *id, size_t id_len, ft_error *err)
{
    int rc = invert_tokens(w, bytes);
    if (!rc && w->streaming) rc = stream_positions(w);
    if (rc) return doc_failed(w, rc, id, id_len, err);
    if (w->streaming) {
        finish_streamed(w);
        return FT_OK;
    }
    for (size_t i = 0; i < w->nslots; i++) {
        if (i + PREFETCH < w->nslots) { /* the end of a stream a few terms ahead */
            const ft_buf *ahead = &w->terms[w->slots[i + PREFETCH].term].post;
            if (ahead->p) __builtin_prefetch(ahead->p + ahead->len, 1);
        }
        doc_slot *s = &w->slots[i];
        term_ent *e = &w->terms[s->term];
        ft_buf *b = &e->post;
        size_t cap0 = b->cap;
        if (ft_buf_reserve(b, 20 + (size_t)s->tf * 5)) return doc_failed(w, FT_ENOMEM, id, id_len, err);
        w->post_bytes += b->cap - cap0;
        b->len += ft_varint_put(b->p + b->len, (uint64_t)w->cur_doc + 1 - s->prev_plus1);
        b->len += ft_varint_put(b->p + b->len, s->tf);
        uint32_t prev = 0;
        for (uint32_t k = s->head; k != UINT32_MAX; k = w->occs[k].next) {
            b->len += ft_varint_put(b->p + b->len, w->occs[k].pos - prev);
            prev = w->occs[k].pos;
        }
        e->cf += s->tf;
        e->df++;
        w->st.postings++;
    }
    return FT_OK;
}

/* After the store record: the document's length, and the flushes it calls for. */
static int doc_end(ft_writer *w, uint64_t input, const char *id, size_t id_len, ft_error *err)
{
    int rc;
    if (add_length(w, w->cur_len)) return doc_failed(w, FT_ENOMEM, id, id_len, err);
    w->st.docs++;
    w->st.tokens += w->cur_len;
    w->st.input_bytes += input;
    if (w->sto_block.len >= FT_STORE_BLOCK) {
        rc = flush_store(w, err);
        if (rc) return writer_fail(w, rc, err);
    }
    if ((w->opts.memory && writer_memory(w) > w->opts.memory) || w->nspill ||
        (w->opts.segment_docs && w->ndocs >= w->opts.segment_docs)) {
        rc = segment_flush(w, err);
        if (rc) return writer_fail(w, rc, err);
    }
    return FT_OK;
}

static int writer_add(ft_writer *w, const ft_tokens *pre, size_t pk, const char *id, size_t id_len,
                      const char *title, size_t title_len, const char *body, size_t body_len, ft_error *err)
{
    int rc = doc_begin(w, id_len, err);
    if (rc) return rc;
    const uint8_t *bytes;
    int text_valid = 0; /* the analysis found title and body valid UTF-8 */
    const tdoc *pd = pre ? &pre->docs[pk] : NULL;
    if (pd) { /* analyzed by the caller: take its tokens, a chunk at a time */
        bytes = pre->bytes.p;
        for (size_t k = 0;;) { /* read in place */
            size_t m = pd->ntok - k < w->chunk ? pd->ntok - k : w->chunk;
            w->tok_src = m ? pre->ptoks + pd->tok0 + k : NULL;
            w->nptok = m;
            k += m;
            if (k == pd->ntok || (rc = invert_chunk(w, bytes))) break;
        }
        w->st.invalid_bytes += pd->invalid_bytes;
        /* the same text analyzed: its validity is known */
        text_valid = pd->invalid_bytes == 0 && pd->title == title && pd->title_len == title_len &&
                     pd->body == body && pd->body_len == body_len;
    } else {
        ft_analyze_stats s1, s2;
        rc = ft_analyze_words(w->an, title, title_len, 0, collect_token, w, &s1);
        if (!rc) {
            marks_begin(&w->marks, body, s1.next_pos + 1);
            rc = ft_analyze_words(w->an, body, body_len, s1.next_pos + 1, collect_token, w, &s2);
            w->marks.body = NULL;
            if (w->marks.b.failed) rc = FT_ENOMEM;
        }
        if (!rc) w->st.invalid_bytes += s1.invalid_bytes + s2.invalid_bytes;
        if (!rc) text_valid = s1.invalid_bytes + s2.invalid_bytes == 0;
        bytes = w->tokbytes.p;
    }
    if (!rc) rc = doc_postings(w, bytes, id, id_len, err);
    else rc = doc_failed(w, rc, id, id_len, err);
    w->tok_src = NULL;
    w->nptok = 0;
    if (rc) return rc;

    /* store record (ids, titles and bodies stored as valid UTF-8, the
     * body's marks), length */
    const char *f[4] = {id, title, body, pd ? (const char *)pre->marks.p + pd->mark0 : (const char *)w->marks.b.p};
    size_t fl[4] = {id_len, title_len, body_len, pd ? pd->nmark : w->marks.b.len};
    if (w->sg && id_len + title_len + body_len >= STORE_STREAM && (rc = store_drain(w, err)))
        return writer_fail(w, rc, err); /* a large record is written to the file at once */
    if ((rc = store_record(w, f, fl, text_valid, err))) {
        if (rc == FT_ENOMEM) return doc_failed(w, rc, id, id_len, err);
        return writer_fail(w, rc, err);
    }
    return doc_end(w, (uint64_t)id_len + title_len + body_len, id, id_len, err);
}

/* ------------------------------------------------------------------ a document in pieces
 *
 * The body arrives in pieces cut anywhere.  Each is appended to the text
 * not yet analyzed, which is analyzed up to its last separator
 * (ft_analyze_cut): a word, an apostrophe word or a CJK run cut by a
 * piece's end waits for the next piece, so the tokens and their positions
 * are those of the whole body.  What is analyzed goes to the store record
 * (through the streaming zstd of store_large: the record is STORE_STREAM
 * bytes or more), made valid UTF-8 as ft_utf8_sanitize does: a part ends
 * after a whole character, where the sanitizer starts afresh, so the same
 * bytes as for the whole.  The text held is a piece and the unfinished word
 * before it. */

static void piece_reset(ft_writer *w)
{
    free(w->pc.id);
    w->pc.id = NULL;
    ft_buf_free(&w->pc.text);
    ft_buf_free(&w->pc.zout);
    XXH64_freeState(w->pc.mark);
    w->pc.mark = NULL;
    w->pc.open = 0;
}

/* Analyze the held text up to k (the whole of it when last), and store it. */
static int piece_analyze(ft_writer *w, size_t k, ft_error *err)
{
    ft_buf *t = &w->pc.text;
    const char *p = (const char *)t->p;
    ft_analyze_stats st;
    int rc = ft_analyze_words(w->an, p, k, w->pc.pos, collect_token, w, &st);
    if (rc) return doc_failed(w, rc, w->pc.id, w->pc.id_len, err);
    w->pc.pos = st.next_pos;
    w->st.invalid_bytes += st.invalid_bytes;
    if (ft_utf8_valid_prefix(p, k) == k) {
        if (k > w->pc.stored_len - w->pc.stored) goto longer;
        store_put(w, &w->pc.zout, 1, p, k, err);
        w->pc.stored += k;
    } else {
        for (size_t i = 0; i < k && !w->sto.rc;) {
            ft_buf_reset(&w->scratch);
            ft_utf8_sanitize_part(p, k, &i, STORE_STREAM, &w->scratch);
            if (w->scratch.failed) return doc_failed(w, FT_ENOMEM, w->pc.id, w->pc.id_len, err);
            if (w->scratch.len > w->pc.stored_len - w->pc.stored) goto longer;
            store_put(w, &w->pc.zout, 1, w->scratch.p, w->scratch.len, err);
            w->pc.stored += w->scratch.len;
        }
    }
    if (w->sto.rc) return writer_fail(w, w->sto.rc, err);
    memmove(t->p, t->p + k, t->len - k);
    t->len -= k;
    return FT_OK;
longer:
    ft_error_set(err, FT_EINVAL, "the body of document %.*s is longer as stored than announced",
                 (int)(w->pc.id_len > 200 ? 200 : w->pc.id_len), w->pc.id);
    return writer_fail(w, FT_EINVAL, err);
}

int ft_writer_begin(ft_writer *w, const char *id, size_t id_len, const char *title, size_t title_len,
                    uint64_t body_len, uint64_t stored_len, ft_error *err)
{
    int rc = doc_begin(w, id_len, err);
    if (rc) return rc;
    if ((uint64_t)id_len + title_len + body_len < STORE_STREAM)
        return ft_error_set(err, FT_EINVAL, "a document added in pieces must be at least %u bytes", STORE_STREAM);
    if (w->sg && (rc = store_drain(w, err))) return writer_fail(w, rc, err); /* its record goes to the file */
    const char *fv[2] = {id, title};
    size_t flv[2] = {id_len, title_len}, slen[2];
    int bad[2];
    uint64_t raw = w->sto_block.len;
    uint8_t v[10];
    for (int k = 0; k < 2; k++) {
        bad[k] = ft_utf8_valid_prefix(fv[k], flv[k]) != flv[k];
        slen[k] = bad[k] ? ft_utf8_sanitized_len(fv[k], flv[k]) : flv[k];
        raw += ft_varint_put(v, slen[k]) + slen[k];
    }
    raw += ft_varint_put(v, stored_len) + stored_len;
    raw += 11; /* at most, for the marks field; set below */
    if (raw > UINT32_MAX) return ft_error_set(err, FT_EINVAL, "a stored document block exceeds 4 GiB");
    raw -= 11;
    memset(&w->pc, 0, sizeof w->pc);
    w->pc.open = 1;
    w->pc.id = malloc(id_len);
    w->pc.mark = XXH64_createState();
    if (!w->pc.id || !w->pc.mark || ft_buf_reserve(&w->pc.zout, ZSTD_CStreamOutSize()))
        return doc_failed(w, FT_ENOMEM, id, id_len, err);
    memcpy(w->pc.id, id, id_len);
    w->pc.id_len = id_len;
    w->pc.input = (uint64_t)id_len + title_len + body_len;
    w->pc.body_len = body_len;
    w->pc.stored_len = stored_len;

    /* the title's tokens, then the body's from the position after the next */
    ft_analyze_stats s1;
    rc = ft_analyze_words(w->an, title, title_len, 0, collect_token, w, &s1);
    if (rc) return doc_failed(w, rc, id, id_len, err);
    w->st.invalid_bytes += s1.invalid_bytes;
    w->pc.pos = s1.next_pos + 1;
    /* the body's marks: body0 only (a large record, store_record) */
    w->pc.marks_len = 1 + ft_varint_put(w->pc.marks + 1, w->pc.pos);
    w->pc.marks[0] = (uint8_t)(w->pc.marks_len - 1);
    raw += w->pc.marks_len;

    /* the store block: the small records before, id, title, the body's length */
    w->pc.off = w->sto.off;
    w->pc.raw = raw;
    XXH64_copyState(w->pc.mark, w->sto.h);
    ZSTD_CCtx_reset(w->cctx_store, ZSTD_reset_session_only);
    ZSTD_CCtx_setPledgedSrcSize(w->cctx_store, raw);
    store_put(w, &w->pc.zout, 1, w->sto_block.p, w->sto_block.len, err);
    for (int k = 0; k < 2 && !w->sto.rc; k++) store_field(w, &w->pc.zout, 1, fv[k], flv[k], slen[k], bad[k], err);
    store_put(w, &w->pc.zout, 1, v, ft_varint_put(v, stored_len), err);
    if (w->sto.rc) return writer_fail(w, w->sto.rc, err);
    return FT_OK;
}

int ft_writer_text(ft_writer *w, const char *p, size_t n, ft_error *err)
{
    if (w->rc) {
        if (err) *err = w->err;
        return w->rc;
    }
    if (!w->pc.open) return ft_error_set(err, FT_EINVAL, "no document begun");
    if (n > w->pc.body_len - w->pc.got) {
        ft_error_set(err, FT_EINVAL, "more body than announced for document %.*s",
                     (int)(w->pc.id_len > 200 ? 200 : w->pc.id_len), w->pc.id);
        return writer_fail(w, FT_EINVAL, err);
    }
    w->pc.got += n;
    ft_buf *t = &w->pc.text;
    size_t from = t->len;
    ft_buf_append(t, p, n);
    if (t->failed) return doc_failed(w, FT_ENOMEM, w->pc.id, w->pc.id_len, err);
    size_t k = ft_analyze_cut((const char *)t->p, t->len, from);
    return k ? piece_analyze(w, k, err) : FT_OK;
}

int ft_writer_end(ft_writer *w, ft_error *err)
{
    if (w->rc) {
        if (err) *err = w->err;
        return w->rc;
    }
    if (!w->pc.open) return ft_error_set(err, FT_EINVAL, "no document begun");
    const char *id = w->pc.id;
    size_t id_len = w->pc.id_len;
    int rc;
    if (w->pc.got != w->pc.body_len) {
        ft_error_set(err, FT_EINVAL, "less body than announced for document %.*s", (int)(id_len > 200 ? 200 : id_len),
                     id);
        return writer_fail(w, FT_EINVAL, err);
    }
    if ((rc = piece_analyze(w, w->pc.text.len, err))) return rc;
    if (w->pc.stored != w->pc.stored_len) {
        ft_error_set(err, FT_EINVAL, "the body of document %.*s is shorter as stored than announced",
                     (int)(id_len > 200 ? 200 : id_len), id);
        return writer_fail(w, FT_EINVAL, err);
    }
    if ((rc = doc_postings(w, w->tokbytes.p, id, id_len, err))) return rc;

    /* the store block: the marks field, compressed, or raw when that is not smaller */
    store_put(w, &w->pc.zout, 1, w->pc.marks, w->pc.marks_len, err);
    store_frame_end(w, &w->pc.zout, err);
    uint64_t stored = w->sto.off - w->pc.off;
    int z = 1;
    if (!w->sto.rc && (stored >= w->pc.raw || w->store_raw) && !store_unpack(w, w->pc.off, w->pc.mark, err)) {
        stored = w->pc.raw;
        z = 0;
    }
    if (w->sto.rc) return writer_fail(w, w->sto.rc, err);
    if ((rc = store_large_entry(w, w->pc.off, stored, w->pc.raw, z, err)) || (rc = store_id(w, id, id_len, err))) {
        if (rc == FT_ENOMEM) return doc_failed(w, rc, id, id_len, err);
        return writer_fail(w, rc, err);
    }
    uint64_t input = w->pc.input;
    char *keep = w->pc.id;
    w->pc.id = NULL;
    piece_reset(w);
    rc = doc_end(w, input, keep, id_len, err);
    free(keep);
    return rc;
}

/* Compress raw[0..n) when that pays.  Returns the bytes to write (raw or
 * w->cbuf) and sets *field = stored_len << 1 | compressed. */
static const uint8_t *pack_with(ZSTD_CCtx *cctx, ft_buf *cbuf, const uint8_t *raw, size_t n,
                                size_t *stored, uint64_t *field)
{
    if (n >= FT_RAW_MIN) {
        size_t bound = ZSTD_compressBound(n);
        ft_buf_reset(cbuf);
        if (!ft_buf_reserve(cbuf, bound)) {
            size_t c = ZSTD_compress2(cctx, cbuf->p, bound, raw, n);
            if (!ZSTD_isError(c) && c < n) {
                *stored = c;
                *field = (uint64_t)c << 1 | 1;
                return cbuf->p;
            }
        }
    }
    *stored = n;
    *field = (uint64_t)n << 1;
    return raw;
}

/* A helper's job: compress each block of the group when that pays. */
static void sgroup_run(wjob *j)
{
    sgroup *g = (sgroup *)j;
    ft_buf_reset(&g->out);
    size_t off = 0;
    for (unsigned k = 0; k < g->n; k++) {
        size_t stored;
        uint64_t field;
        const uint8_t *p = pack_with(g->cctx, &g->cbuf, g->raw.p + off, g->len[k], &stored, &field);
        ft_buf_append(&g->out, p, stored);
        g->stored[k] = (uint32_t)stored;
        g->z[k] = (uint8_t)(field & 1);
        off += g->len[k];
    }
}

/* Wait for the oldest group and write its blocks and index entries. */
static int store_write_oldest(ft_writer *w, ft_error *err)
{
    sgroup *g = &w->sg[w->sg_head];
    pool_wait(w->pool, &g->job);
    w->sg_head = (w->sg_head + 1) % w->sg_ring;
    w->sg_count--;
    if (g->out.failed || g->raw.failed) return ft_error_set(err, FT_ENOMEM, "out of memory");
    size_t off = 0;
    for (unsigned k = 0; k < g->n; k++) {
        uint8_t *e = w->sto_index.p + g->entry[k];
        uint64_t at = w->sto.off;
        uint32_t raw = g->z[k] ? g->len[k] : 0;
        ft_set_u64le(e, at);
        ft_set_u32le(e + 8, g->stored[k]);
        ft_set_u32le(e + 12, raw);
        wfile_write(&w->sto, g->out.p + off, g->stored[k], err);
        off += g->stored[k];
    }
    g->n = 0;
    return w->sto.rc;
}

static void store_submit(ft_writer *w)
{
    if (!w->sg_open) return;
    pool_submit(w->pool, &w->sg_open->job);
    w->sg_open = NULL;
}

/* Write every group held, the open one included: before anything else is
 * written to the store file, and at the segment's end. */
static int store_drain(ft_writer *w, ft_error *err)
{
    int rc = FT_OK;
    store_submit(w);
    while (w->sg_count && !rc) rc = store_write_oldest(w, err);
    return rc;
}

/* Let the helpers finish the groups they have (the writer is failing or
 * closing: nothing more is written). */
static void store_abandon(ft_writer *w)
{
    for (; w->sg_count; w->sg_count--, w->sg_head = (w->sg_head + 1) % w->sg_ring) {
        sgroup *g = &w->sg[w->sg_head];
        if (g != w->sg_open) pool_wait(w->pool, &g->job);
        g->n = 0;
    }
    w->sg_open = NULL;
}

/* With helpers: the full block joins the open group, handed to a helper
 * once it has SG_BLOCKS blocks; the groups done are written. */
static int store_queue(ft_writer *w, ft_error *err)
{
    int rc;
    sgroup *g = w->sg_open;
    if (!g) {
        if (w->sg_count == w->sg_ring && (rc = store_write_oldest(w, err))) return rc;
        g = w->sg_open = &w->sg[(w->sg_head + w->sg_count++) % w->sg_ring];
        g->job.state = JOB_IDLE;
        g->n = 0;
        ft_buf_reset(&g->raw);
    }
    /* the block's index entry now, its offset and sizes once written: the
     * index grows as without helpers (the memory estimate counts it) */
    g->entry[g->n] = w->sto_index.len;
    ft_buf_put_u64le(&w->sto_index, 0);
    ft_buf_put_u32le(&w->sto_index, 0);
    ft_buf_put_u32le(&w->sto_index, 0);
    ft_buf_put_u32le(&w->sto_index, w->sto_first_doc);
    g->len[g->n++] = (uint32_t)w->sto_block.len;
    ft_buf_append(&g->raw, w->sto_block.p, w->sto_block.len);
    if (g->raw.failed || w->sto_index.failed) return ft_error_set(err, FT_ENOMEM, "out of memory");
    w->sto_nblocks++;
    w->sto_first_doc = (uint32_t)w->ndocs;
    ft_buf_reset(&w->sto_block);
    if (g->n == SG_BLOCKS) store_submit(w);
    while (w->sg_count && &w->sg[w->sg_head] != w->sg_open && pool_done(w->pool, &w->sg[w->sg_head].job))
        if ((rc = store_write_oldest(w, err))) return rc;
    return FT_OK;
}

static int flush_store(ft_writer *w, ft_error *err)
{
    if (w->sto_block.len == 0) return FT_OK;
    if (w->sto_block.len > UINT32_MAX)
        return ft_error_set(err, FT_EINVAL, "a stored document block exceeds 4 GiB");
    if (w->sg) return store_queue(w, err);
    size_t stored;
    uint64_t field;
    const uint8_t *p = pack_with(w->cctx_store, &w->scratch, w->sto_block.p, w->sto_block.len, &stored, &field);
    if (w->sto_block.len > UINT32_MAX || stored > UINT32_MAX)
        return ft_error_set(err, FT_EINVAL, "a stored document block exceeds 4 GiB");
    ft_buf_put_u64le(&w->sto_index, w->sto.off);
    ft_buf_put_u32le(&w->sto_index, (uint32_t)stored);
    ft_buf_put_u32le(&w->sto_index, (field & 1) ? (uint32_t)w->sto_block.len : 0);
    ft_buf_put_u32le(&w->sto_index, w->sto_first_doc);
    wfile_write(&w->sto, p, stored, err);
    w->sto_nblocks++;
    w->sto_first_doc = (uint32_t)w->ndocs;
    ft_buf_reset(&w->sto_block);
    if (w->sto_index.failed) return ft_error_set(err, FT_ENOMEM, "out of memory");
    return w->sto.rc;
}

static int cmp_term_ents(const ft_writer *w, const term_ent *x, const term_ent *y)
{
    uint32_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(w->arena.p + x->off, w->arena.p + y->off, n);
    if (c) return c;
    return x->len < y->len ? -1 : x->len > y->len;
}

static int cmp_terms(const void *a, const void *b, void *ctx)
{
    const ft_writer *w = ctx;
    return cmp_term_ents(w, &w->terms[*(const uint32_t *)a], &w->terms[*(const uint32_t *)b]);
}

/* Slots of the open document in the order of their terms. */
static int cmp_slot_terms(const void *a, const void *b, void *ctx)
{
    const ft_writer *w = ctx;
    return cmp_term_ents(w, &w->terms[w->slots[*(const uint32_t *)a].term],
                         &w->terms[w->slots[*(const uint32_t *)b].term]);
}

typedef struct enc_state {
    ft_buf draw, praw;       /* raw bytes of the frame being filled */
    ft_buf cbuf, skip, frames, data;
    uint32_t *docs, *tfs;
    const uint8_t **pstart, **pend;
    ft_impact *imp;          /* the block's impact frontier (room for a block) */
    ZSTD_CCtx *cctx;         /* the frames' compressor */
} enc_state;

/* Compress the filled frame and append its header and bytes. */
static void flush_frame(ft_writer *w, enc_state *es, wfile *pos, ft_error *err)
{
    size_t stored;
    uint64_t field;
    const uint8_t *dp = pack_with(es->cctx, &es->cbuf, es->draw.p, es->draw.len, &stored, &field);
    ft_buf_put_varint(&es->frames, field);
    if (field & 1) ft_buf_put_varint(&es->frames, es->draw.len);
    ft_buf_append(&es->data, dp, stored);
    const uint8_t *pp = pack_with(es->cctx, &es->cbuf, es->praw.p, es->praw.len, &stored, &field);
    ft_buf_put_varint(&es->frames, field);
    if (field & 1) ft_buf_put_varint(&es->frames, es->praw.len);
    wfile_write(pos, pp, stored, err);
    ft_buf_reset(&es->draw);
    ft_buf_reset(&es->praw);
}

/* Reading back one run of the spill file: the next record's term and the
 * bytes of it left, through a buffer of SPILL_READ bytes. */
typedef struct spill_rd {
    uint64_t off, end;      /* file bytes not yet read */
    uint8_t *buf;
    size_t pos, len;
    uint32_t term;          /* UINT32_MAX: the run is over */
    uint64_t left, count;   /* bytes left of the record, its positions */
} spill_rd;

/* A term whose spilled positions are read back while it is encoded. */
typedef struct spill_join {
    int fd;
    spill_rd *rd;
    size_t n;
    uint32_t term, doc;     /* the term, the spilled document */
    uint64_t count;         /* positions of the document in the runs */
} spill_join;

static int spill_fill(int fd, spill_rd *r, ft_error *err)
{
    memmove(r->buf, r->buf + r->pos, r->len - r->pos);
    r->len -= r->pos;
    r->pos = 0;
    while (r->len < SPILL_READ && r->off < r->end) {
        size_t want = SPILL_READ - r->len;
        if (want > r->end - r->off) want = (size_t)(r->end - r->off);
        ssize_t n = pread(fd, r->buf + r->len, want, (off_t)r->off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return ft_error_errno(err, n < 0 ? errno : EIO, "cannot read the spill file");
        r->len += (size_t)n;
        r->off += (uint64_t)n;
    }
    return FT_OK;
}

/* Step to the run's next record. */
static int spill_next(int fd, spill_rd *r, ft_error *err)
{
    r->term = UINT32_MAX;
    if (r->len - r->pos < 30 && spill_fill(fd, r, err)) return FT_EIO;
    if (r->pos == r->len) return FT_OK;
    const uint8_t *p = r->buf + r->pos, *end = r->buf + r->len;
    uint64_t t, n, c;
    if (ft_varint_get(&p, end, &t) || ft_varint_get(&p, end, &n) || ft_varint_get(&p, end, &c) || t >= UINT32_MAX)
        return ft_error_set(err, FT_EIO, "internal error: spill file");
    r->pos = (size_t)(p - r->buf);
    r->term = (uint32_t)t;
    r->left = n;
    r->count = c;
    return FT_OK;
}

/* Append the current record's bytes to out and step to the next record. */
static int spill_take(int fd, spill_rd *r, ft_buf *out, ft_error *err)
{
    while (r->left) {
        if (r->pos == r->len && spill_fill(fd, r, err)) return FT_EIO;
        size_t n = r->len - r->pos;
        if (n == 0) return ft_error_set(err, FT_EIO, "internal error: spill file truncated");
        if (n > r->left) n = (size_t)r->left;
        ft_buf_append(out, r->buf + r->pos, n);
        r->pos += n;
        r->left -= n;
    }
    if (out->failed) return ft_error_set(err, FT_ENOMEM, "out of memory");
    return spill_next(fd, r, err);
}

/* Encoding one term's postings (docs/FORMAT.md, "Posting lists"): blocks of
 * w->block postings, grouped w->frame blocks to a zstd frame; a skip table of
 * every block first, then the frame table, then the frames.  The positions
 * frames go to .pos as they fill; the skip table, frame table and doc/tf
 * frames are held until the term ends.  enc_blocks takes the term's
 * in-memory stream ([gap][tf][position gaps...] per posting) a piece at a
 * time, so a merge need not hold a frequent term's whole stream. */
typedef struct term_enc {
    int multi;                 /* more than one block: skip entries are written */
    uint32_t b;                /* blocks encoded so far */
    uint32_t prev_plus1;       /* decoding state of the stream */
    uint32_t last_of_prev;     /* last doc of the previous block + 1 (0 at start) */
    uint64_t pst0, pos0;
} term_enc;

static void enc_begin(enc_state *es, term_enc *te, int multi, const wfile *pst, const wfile *pos)
{
    memset(te, 0, sizeof *te);
    te->multi = multi;
    te->pst0 = pst->off;
    te->pos0 = pos->off;
    ft_buf_reset(&es->skip);
    ft_buf_reset(&es->frames);
    ft_buf_reset(&es->data);
    ft_buf_reset(&es->draw);
    ft_buf_reset(&es->praw);
}

/* Encode count postings of the stream [p, end) as blocks; unless last, count
 * is a whole number of blocks (and the term goes on). */
static int enc_blocks(ft_writer *w, enc_state *es, term_enc *te, const uint8_t *p, const uint8_t *end,
                      uint32_t count, int last, const spill_join *sj, wfile *pos, ft_error *err)
{
    int multi = te->multi;
    while (count > 0) {
        uint32_t cnt = count < w->block ? count : w->block;
        int final = last && cnt == count; /* the term's last block */
        unsigned nimp = 0;
        for (uint32_t i = 0; i < cnt; i++) {
            uint64_t gap, tf;
            if (ft_varint_get(&p, end, &gap) || ft_varint_get(&p, end, &tf))
                return ft_error_set(err, FT_EINVAL, "internal error: posting stream");
            uint32_t d = te->prev_plus1 + (uint32_t)gap - 1;
            te->prev_plus1 = d + 1;
            es->docs[i] = d;
            es->tfs[i] = (uint32_t)tf;
            es->pstart[i] = p;
            uint64_t held = tf; /* positions in the stream */
            if (sj && d == sj->doc) {
                if (sj->count > tf) return ft_error_set(err, FT_EINVAL, "internal error: spilled positions");
                held = tf - sj->count;
            }
            if (!(p = ft_varints_skip(p, end, held))) return ft_error_set(err, FT_EINVAL, "internal error: positions");
            es->pend[i] = p;
            if (multi) ft_impact_add(es->imp, &nimp, (uint32_t)tf, w->lens[d]);
        }
        size_t d0 = es->draw.len, p0 = es->praw.len;
        uint32_t base = te->last_of_prev;
        for (uint32_t i = 0; i < cnt; i++) {
            ft_buf_put_varint(&es->draw, es->docs[i] - base);
            base = es->docs[i] + 1;
        }
        for (uint32_t i = 0; i < cnt; i++) ft_buf_put_varint(&es->draw, es->tfs[i]);
        for (uint32_t i = 0; i < cnt; i++) {
            for (size_t k = 0; sj && es->docs[i] == sj->doc && k < sj->n; k++) /* the runs first */
                if (sj->rd[k].term == sj->term) {
                    int rc = spill_take(sj->fd, &sj->rd[k], &es->praw, err);
                    if (rc) return rc;
                }
            ft_buf_append(&es->praw, es->pstart[i], (size_t)(es->pend[i] - es->pstart[i]));
        }
        if (multi) {
            ft_buf_put_varint(&es->skip, es->docs[cnt - 1] + 1 - te->last_of_prev);
            ft_impact_reduce(es->imp, &nimp);
            ft_buf_put_varint(&es->skip, nimp);
            ft_buf_put_varint(&es->skip, es->imp[0].len);
            ft_buf_put_varint(&es->skip, es->imp[0].tf);
            for (unsigned k = 1; k < nimp; k++) {
                ft_buf_put_varint(&es->skip, es->imp[k].len - es->imp[k - 1].len);
                ft_buf_put_varint(&es->skip, es->imp[k].tf - es->imp[k - 1].tf);
            }
            ft_buf_put_varint(&es->skip, es->draw.len - d0);
            ft_buf_put_varint(&es->skip, es->praw.len - p0);
        }
        te->last_of_prev = es->docs[cnt - 1] + 1;
        te->b++;
        if (te->b % w->frame == 0 || final) flush_frame(w, es, pos, err);
        count -= cnt;
        if (!final && count > 0 && count < w->block && !last)
            return ft_error_set(err, FT_EINVAL, "internal error: a partial block before the last");
    }
    return FT_OK;
}

static int enc_end(enc_state *es, const term_enc *te, wfile *pst, wfile *pos, uint64_t *pst_len, uint64_t *pos_len,
                   ft_error *err)
{
    wfile_write(pst, es->skip.p, es->skip.len, err);
    wfile_write(pst, es->frames.p, es->frames.len, err);
    wfile_write(pst, es->data.p, es->data.len, err);
    if (es->skip.failed || es->frames.failed || es->data.failed || es->draw.failed || es->praw.failed)
        return ft_error_set(err, FT_ENOMEM, "out of memory");
    *pst_len = pst->off - te->pst0;
    *pos_len = pos->off - te->pos0;
    return pst->rc ? pst->rc : pos->rc;
}

/* A whole term at once, from its in-memory stream e->post.  Returns the
 * bytes written to .pst and .pos. */
static int encode_term(ft_writer *w, enc_state *es, const term_ent *e, const spill_join *sj, wfile *pst,
                       wfile *pos, uint64_t *pst_len, uint64_t *pos_len, ft_error *err)
{
    term_enc te;
    enc_begin(es, &te, e->df > w->block, pst, pos);
    int rc = enc_blocks(w, es, &te, e->post.p, e->post.p + e->post.len, e->df, 1, sj, pos, err);
    return rc ? rc : enc_end(es, &te, pst, pos, pst_len, pos_len, err);
}

static void put_varint_file(wfile *f, uint64_t v, ft_error *err)
{
    uint8_t t[10];
    wfile_write(f, t, ft_varint_put(t, v), err);
}

/* With helpers, the id file (a sort of the segment's ids) is written by a
 * job while the terms' postings are encoded (ids_run). */
typedef struct ids_job {
    wjob job;
    ft_writer *w;
    wfile *f;
    int queued, rc;
    ft_error err;
} ids_job;

/* The dictionary being written: terms arrive in order with their in-memory
 * posting streams (docs/FORMAT.md, .tid). */
typedef struct dict_w {
    wfile *tid, *pst, *pos;
    ids_job *ids;           /* with helpers: the id file's job, queued once the terms are sorted */
    enc_state es;
    ft_buf index;
    uint8_t prev[512];
    uint32_t prev_len;
    uint64_t nterms, nblocks;
} dict_w;

static int enc_init(const ft_writer *w, enc_state *es, ZSTD_CCtx *cctx)
{
    memset(es, 0, sizeof *es);
    es->cctx = cctx;
    es->docs = malloc(w->block * sizeof *es->docs);
    es->tfs = malloc(w->block * sizeof *es->tfs);
    es->pstart = malloc(w->block * sizeof *es->pstart);
    es->pend = malloc(w->block * sizeof *es->pend);
    es->imp = malloc(w->block * sizeof *es->imp);
    return es->docs && es->tfs && es->pstart && es->pend && es->imp ? FT_OK : FT_ENOMEM;
}

static void enc_free(enc_state *es)
{
    free(es->docs);
    free(es->tfs);
    free(es->pstart);
    free(es->pend);
    free(es->imp);
    ft_buf_free(&es->draw);
    ft_buf_free(&es->praw);
    ft_buf_free(&es->cbuf);
    ft_buf_free(&es->skip);
    ft_buf_free(&es->frames);
    ft_buf_free(&es->data);
}

static int dict_init(ft_writer *w, dict_w *d, wfile *files, ft_error *err)
{
    memset(d, 0, sizeof *d);
    d->tid = &files[0];
    d->pst = &files[1];
    d->pos = &files[2];
    ft_buf_init(&d->index);
    if (enc_init(w, &d->es, w->cctx)) return ft_error_set(err, FT_ENOMEM, "out of memory");
    return FT_OK;
}

static void dict_free(dict_w *d)
{
    enc_free(&d->es);
    ft_buf_free(&d->index);
}

/* A term's dictionary side: a block-index entry when a dictionary block
 * starts (taken before the term's postings are written, which start at
 * pst_off and pos_off), then the entry. */
static void dict_begin_at(dict_w *d, uint64_t pst_off, uint64_t pos_off)
{
    if (d->nterms % FT_TERMS_PER_BLOCK == 0) {
        ft_buf_put_u64le(&d->index, d->tid->off);
        ft_buf_put_u64le(&d->index, pst_off);
        ft_buf_put_u64le(&d->index, pos_off);
        d->nblocks++;
        d->prev_len = 0;
    }
}

static void dict_begin(dict_w *d) { dict_begin_at(d, d->pst->off, d->pos->off); }

static int dict_entry(dict_w *d, const uint8_t *t, uint32_t len, uint32_t df, uint64_t cf, uint64_t pl,
                      uint64_t ql, ft_error *err)
{
    wfile *tid = d->tid;
    uint32_t shared = 0;
    while (shared < d->prev_len && shared < len && d->prev[shared] == t[shared]) shared++;
    if (len > sizeof d->prev) return ft_error_set(err, FT_EINVAL, "term longer than %zu bytes", sizeof d->prev);
    uint8_t e[sizeof d->prev + 60]; /* written at once */
    size_t n = ft_varint_put(e, shared);
    n += ft_varint_put(e + n, len - shared);
    memcpy(e + n, t + shared, len - shared);
    n += len - shared;
    n += ft_varint_put(e + n, df);
    n += ft_varint_put(e + n, cf - df);
    n += ft_varint_put(e + n, pl);
    n += ft_varint_put(e + n, ql);
    wfile_write(tid, e, n, err);
    memcpy(d->prev, t, len);
    d->prev_len = len;
    d->nterms++;
    return tid->rc;
}

static int dict_add(ft_writer *w, dict_w *d, const uint8_t *t, uint32_t len, const term_ent *e,
                    const spill_join *sj, ft_error *err)
{
    uint64_t pl = 0, ql = 0;
    if (len > sizeof d->prev) return ft_error_set(err, FT_EINVAL, "term longer than %zu bytes", sizeof d->prev);
    dict_begin(d);
    int rc = encode_term(w, &d->es, e, sj, d->pst, d->pos, &pl, &ql, err);
    return rc ? rc : dict_entry(d, t, len, e->df, e->cf, pl, ql, err);
}

static int dict_finish(dict_w *d, ft_error *err)
{
    wfile *tid = d->tid;
    if (d->index.failed) return ft_error_set(err, FT_ENOMEM, "out of memory");
    uint64_t index_off = tid->off;
    wfile_write(tid, d->index.p, d->index.len, err);
    wfile_u64(tid, d->nterms, err);
    wfile_u64(tid, d->nblocks, err);
    wfile_u64(tid, index_off, err);
    wfile_u32(tid, FT_TERMS_PER_BLOCK, err);
    wfile_write(tid, MAGIC_TID_END, 4, err);
    return tid->rc ? tid->rc : d->pst->rc ? d->pst->rc : d->pos->rc;
}

/* Parallel encoding.  With helpers (and no spilled document),
 * write_postings cuts the sorted terms into chunks of consecutive terms, at
 * most ECHUNK_TERMS of them and, unless one term is larger, ECHUNK_BYTES of
 * posting streams.  A job encodes a chunk into memory files (its .pst and
 * .pos bytes and each term's lengths), freeing the streams as it goes; the
 * writer's thread takes the chunks in order and writes their dictionary
 * entries (the offsets are the files' plus the lengths of the chunk's terms
 * before) and then their bytes: the same files as encoding term by term.
 * At most 2 chunks per thread are out at once, so the extra memory is that
 * many chunks' encoded bytes (about ECHUNK_BYTES, or one term's postings,
 * compressed), with a zstd context and an encoder's scratch each, while
 * the streams they came from are freed. */
#define ECHUNK_BYTES (1u << 20)
#define ECHUNK_TERMS 4096

typedef struct echunk {
    wjob job;                /* first member: the job is the chunk */
    ft_writer *w;
    const uint32_t *order;   /* the sorted term numbers */
    size_t i0, i1;           /* the chunk: order[i0..i1) */
    atomic_int *stop;        /* the write failed: skip the rest */
    enc_state es;
    wfile pst, pos;          /* memory files */
    uint64_t pl[ECHUNK_TERMS], ql[ECHUNK_TERMS];
    int rc;
    ft_error err;
} echunk;

static void echunk_run(wjob *j)
{
    echunk *c = (echunk *)j;
    ft_writer *w = c->w;
    ft_buf_reset(&c->pst.buf);
    ft_buf_reset(&c->pos.buf);
    c->pst.off = c->pos.off = 0;
    c->rc = FT_OK;
    for (size_t i = c->i0; i < c->i1 && !c->rc && !atomic_load(c->stop); i++) {
        term_ent *e = &w->terms[c->order[i]];
        c->rc = encode_term(w, &c->es, e, NULL, &c->pst, &c->pos, &c->pl[i - c->i0], &c->ql[i - c->i0], &c->err);
        ft_buf_free(&e->post); /* no longer needed: give its memory back now */
    }
}

/* The dictionary entries and the bytes of an encoded chunk. */
static int echunk_write(ft_writer *w, dict_w *d, const echunk *c, ft_error *err)
{
    if (c->rc) {
        if (err) *err = c->err;
        return c->rc;
    }
    uint64_t po = d->pst->off, qo = d->pos->off;
    for (size_t i = c->i0; i < c->i1; i++) {
        const term_ent *e = &w->terms[c->order[i]];
        dict_begin_at(d, po, qo);
        int rc = dict_entry(d, w->arena.p + e->off, e->len, e->df, e->cf, c->pl[i - c->i0], c->ql[i - c->i0], err);
        if (rc) return rc;
        po += c->pl[i - c->i0];
        qo += c->ql[i - c->i0];
    }
    wfile_write(d->pst, c->pst.buf.p, c->pst.buf.len, err);
    wfile_write(d->pos, c->pos.buf.p, c->pos.buf.len, err);
    return d->pst->rc ? d->pst->rc : d->pos->rc;
}

static int write_postings_par(ft_writer *w, dict_w *d, const uint32_t *order, ft_error *err)
{
    unsigned ring = 2 * (w->pool->n + 1), head = 0, count = 0, made = 0;
    atomic_int stop = 0;
    int rc = FT_OK;
    echunk *cs = calloc(ring, sizeof *cs);
    if (!cs) return ft_error_set(err, FT_ENOMEM, "out of memory");
    for (; made < ring; made++) {
        echunk *c = &cs[made];
        c->job.run = echunk_run;
        c->w = w;
        c->order = order;
        c->stop = &stop;
        c->pst.fd = c->pos.fd = -1;
        c->pst.mem = c->pos.mem = 1;
        ft_buf_init(&c->pst.buf);
        ft_buf_init(&c->pos.buf);
        ZSTD_CCtx *cctx = ZSTD_createCCtx();
        if (!cctx || enc_init(w, &c->es, cctx)) {
            ZSTD_freeCCtx(cctx);
            enc_free(&c->es);
            rc = ft_error_set(err, FT_ENOMEM, "out of memory");
            break;
        }
        ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, w->opts.zstd_level);
    }
    for (size_t next = 0; !rc;) {
        while (count < ring && next < w->nterms) {
            echunk *c = &cs[(head + count) % ring];
            size_t i = next, bytes = 0;
            do bytes += w->terms[order[i++]].post.len;
            while (i < w->nterms && i - next < ECHUNK_TERMS && bytes < ECHUNK_BYTES);
            c->i0 = next;
            c->i1 = next = i;
            pool_submit(w->pool, &c->job);
            count++;
        }
        if (!count) break;
        echunk *c = &cs[head];
        pool_wait(w->pool, &c->job);
        head = (head + 1) % ring;
        count--;
        rc = echunk_write(w, d, c, err);
    }
    atomic_store(&stop, 1);
    for (; count; count--, head = (head + 1) % ring) pool_wait(w->pool, &cs[head].job);
    for (unsigned i = 0; i < made; i++) {
        ZSTD_freeCCtx(cs[i].es.cctx);
        enc_free(&cs[i].es);
        ft_buf_free(&cs[i].pst.buf);
        ft_buf_free(&cs[i].pos.buf);
    }
    free(cs);
    return rc;
}

/* Sorting the terms with helpers: each thread sorts a part, and the parts
 * are merged (terms are distinct, so the order is the one qsort gives). */
typedef struct sort_job {
    wjob job;
    ft_writer *w;
    uint32_t *a;
    size_t n;
} sort_job;

static void sort_run(wjob *j)
{
    sort_job *x = (sort_job *)j;
    qsort_r(x->a, x->n, sizeof *x->a, cmp_terms, x->w);
}

#define SORT_PARTS 8

static void sort_terms(ft_writer *w, uint32_t *order, size_t n)
{
    unsigned parts = w->pool ? w->pool->n + 1 : 1;
    if (parts > SORT_PARTS) parts = SORT_PARTS;
    uint32_t *tmp = parts > 1 && n >= 1024 ? malloc(n * sizeof *tmp) : NULL;
    if (!tmp) { /* alone, small, or no memory for the merge */
        qsort_r(order, n, sizeof *order, cmp_terms, w);
        return;
    }
    sort_job js[SORT_PARTS];
    size_t bound[SORT_PARTS + 1];
    for (unsigned p = 0; p <= parts; p++) bound[p] = n / parts * p + (p == parts ? n % parts : 0);
    for (unsigned p = 0; p < parts; p++) {
        js[p] = (sort_job){.job.run = sort_run, .w = w, .a = order + bound[p], .n = bound[p + 1] - bound[p]};
        if (p) pool_submit(w->pool, &js[p].job);
    }
    sort_run(&js[0].job);
    for (unsigned p = 1; p < parts; p++) pool_wait(w->pool, &js[p].job);
    uint32_t *src = order, *dst = tmp;
    for (unsigned width = 1; width < parts; width *= 2) {
        for (unsigned p = 0; p < parts; p += 2 * width) {
            size_t lo = bound[p], mid = bound[p + width < parts ? p + width : parts];
            size_t hi = bound[p + 2 * width < parts ? p + 2 * width : parts], i = lo, j = mid, k = lo;
            while (i < mid && j < hi)
                dst[k++] = cmp_term_ents(w, &w->terms[src[i]], &w->terms[src[j]]) < 0 ? src[i++] : src[j++];
            while (i < mid) dst[k++] = src[i++];
            while (j < hi) dst[k++] = src[j++];
        }
        uint32_t *t = src;
        src = dst;
        dst = t;
    }
    if (src != order) memcpy(order, src, n * sizeof *order);
    free(tmp);
}

/* The in-memory terms, sorted, into the dictionary; the spilled positions of
 * the last document merged back into their terms' streams (SPILL_MIN). */
static int write_postings(ft_writer *w, dict_w *d, ft_error *err)
{
    uint32_t *order = malloc((w->nterms ? w->nterms : 1) * sizeof *order);
    spill_rd *rd = calloc(w->nspill ? w->nspill : 1, sizeof *rd);
    int fd = -1, rc = FT_OK;
    if (!order || !rd) {
        rc = ft_error_set(err, FT_ENOMEM, "out of memory");
        goto out;
    }
    if (w->nspill) {
        wfile_flush(&w->spill, err);
        if ((rc = w->spill.rc)) goto out;
        fd = open(w->spill.path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            rc = ft_error_errno(err, errno, "cannot open %s", w->spill.path);
            goto out;
        }
        for (size_t k = 0; k < w->nspill; k++) {
            rd[k].off = w->spill_runs[k];
            rd[k].end = k + 1 < w->nspill ? w->spill_runs[k + 1] : w->spill.off;
            if (!(rd[k].buf = malloc(SPILL_READ))) {
                rc = ft_error_set(err, FT_ENOMEM, "out of memory");
                goto out;
            }
            if ((rc = spill_next(fd, &rd[k], err))) goto out;
        }
    }
    for (size_t i = 0; i < w->nterms; i++) order[i] = (uint32_t)i;
    sort_terms(w, order, w->nterms);
    if (d->ids) { /* after the sort, which the helpers share */
        pool_submit(w->pool, &d->ids->job);
        d->ids->queued = 1;
    }
    if (w->pool && !w->nspill) {
        rc = write_postings_par(w, d, order, err);
        goto out;
    }
    for (size_t i = 0; i < w->nterms && !rc; i++) {
        term_ent *e = &w->terms[order[i]];
        spill_join sj = {fd, rd, w->nspill, order[i], w->cur_doc, 0};
        for (size_t k = 0; k < w->nspill; k++)
            if (rd[k].term == order[i]) sj.count += rd[k].count;
        rc = dict_add(w, d, w->arena.p + e->off, e->len, e, sj.count ? &sj : NULL, err);
        /* the stream is no longer needed: give its memory back now */
        ft_buf_free(&e->post);
    }
    for (size_t k = 0; k < w->nspill && !rc; k++)
        if (rd[k].term != UINT32_MAX) rc = ft_error_set(err, FT_EIO, "internal error: spill file");
out:
    if (fd >= 0) close(fd);
    for (size_t k = 0; rd && k < w->nspill; k++) free(rd[k].buf);
    free(rd);
    free(order);
    return rc;
}

static int write_lengths(ft_writer *w, wfile *len, ft_error *err)
{
    ft_buf raw, c;
    ft_buf_init(&raw);
    ft_buf_init(&c);
    for (size_t i = 0; i < w->ndocs; i++) ft_buf_put_u32le(&raw, w->lens[i]);
    size_t bound = ZSTD_compressBound(raw.len);
    if (raw.failed || ft_buf_reserve(&c, bound)) {
        ft_buf_free(&raw);
        ft_buf_free(&c);
        return ft_error_set(err, FT_ENOMEM, "out of memory");
    }
    size_t n = ZSTD_compress2(w->cctx, c.p, bound, raw.p, raw.len);
    int rc = FT_OK;
    if (ZSTD_isError(n)) {
        rc = ft_error_set(err, FT_EIO, "zstd: %s", ZSTD_getErrorName(n));
    } else {
        wfile_u64(len, w->ndocs, err);
        wfile_write(len, c.p, n, err);
        rc = len->rc;
    }
    ft_buf_free(&raw);
    ft_buf_free(&c);
    return rc;
}

static int cmp_ids(const void *a, const void *b, void *ctx)
{
    const ft_writer *w = ctx;
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    uint32_t lx = w->idlen[x], ly = w->idlen[y];
    int c = memcmp(w->idbytes.p + w->idoff[x], w->idbytes.p + w->idoff[y], lx < ly ? lx : ly);
    if (c) return c;
    if (lx != ly) return lx < ly ? -1 : 1;
    return x < y ? -1 : x > y;
}

/* .ids: the documents' ids sorted (then by document), for lookups by id. */
static int write_ids(ft_writer *w, wfile *f, ft_error *err)
{
    uint32_t *order = malloc((w->ndocs ? w->ndocs : 1) * sizeof *order);
    uint64_t *offs = malloc((w->ndocs ? w->ndocs : 1) * sizeof *offs);
    if (!order || !offs) {
        free(order);
        free(offs);
        return ft_error_set(err, FT_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < w->ndocs; i++) order[i] = (uint32_t)i;
    qsort_r(order, w->ndocs, sizeof *order, cmp_ids, w);
    for (size_t i = 0; i < w->ndocs; i++) {
        uint32_t d = order[i];
        offs[i] = f->off;
        put_varint_file(f, w->idlen[d], err);
        wfile_write(f, w->idbytes.p + w->idoff[d], w->idlen[d], err);
        put_varint_file(f, d, err);
    }
    uint64_t table = f->off;
    for (size_t i = 0; i < w->ndocs; i++) wfile_u64(f, offs[i], err);
    wfile_u64(f, w->ndocs, err);
    wfile_u64(f, table, err);
    wfile_write(f, MAGIC_IDS_END, 4, err);
    free(order);
    free(offs);
    return f->rc;
}

static void hex64(char out[17], uint64_t v) { snprintf(out, 17, "%016llx", (unsigned long long)v); }

/* Create a file under its temporary name with data, fsync it, rename it into
 * place; its size and XXH64 are returned. */
static int write_small_file(const char *dir, const char *name, const ft_buf *data, uint64_t *size, uint64_t *xxh,
                            ft_error *err)
{
    wfile f;
    int rc = wfile_open(&f, dir, name, err);
    if (!rc) {
        wfile_write(&f, data->p, data->len, err);
        rc = wfile_finish(&f, err);
    }
    if (!rc && rename(f.path, f.final) < 0) rc = ft_error_errno(err, errno, "cannot rename %s", f.path);
    if (!rc) {
        *size = f.off;
        *xxh = XXH64_digest(f.h);
        free(f.path);
        f.path = NULL; /* in place: keep it */
    }
    wfile_discard(&f);
    return rc;
}

/* Free what the in-memory inversion holds, so the next segment starts small. */
static void reset_inversion(ft_writer *w)
{
    for (size_t i = 0; i < w->nterms; i++) ft_buf_free(&w->terms[i].post);
    w->terms_flushed += w->nterms;
    free(w->terms);
    w->terms = NULL;
    w->nterms = w->terms_cap = 0;
    free(w->table);
    w->table_mask = 4096 - 1;
    w->table = calloc(w->table_mask + 1, sizeof *w->table);
    ft_buf_free(&w->arena);
    memset(w->wcache, 0, ((size_t)1 << WC_BITS) * sizeof *w->wcache);
    w->post_bytes = 0;
    free(w->lens);
    w->lens = NULL;
    w->ndocs = w->lens_cap = 0;
    free(w->idoff);
    free(w->idlen);
    w->idoff = w->idlen = NULL;
    w->ids_cap = 0;
    ft_buf_free(&w->idbytes);
    ft_buf_free(&w->sto_block);
    ft_buf_free(&w->sto_index);
    ft_buf_free(&w->scratch);
    w->seg_tokens = 0;
    w->seg_open = 0;
}

typedef int (*terms_fn)(ft_writer *w, dict_w *d, void *ctx, ft_error *err);


static void ids_run(wjob *j)
{
    ids_job *x = (ids_job *)j;
    x->rc = write_ids(x->w, x->f, &x->err);
}

/* Wait for the id file's job; its status. */
static int ids_wait(ft_writer *w, ids_job *x, ft_error *err)
{
    if (!x->queued) return FT_OK;
    pool_wait(w->pool, &x->job);
    x->queued = 0;
    if (x->rc && err) *err = x->err;
    return x->rc;
}

/* Write the open segment: the store (already streamed) gets its index, the
 * dictionary and postings come from terms() (the in-memory inversion by
 * default), then lengths and ids.  Files are fsynced and renamed to their
 * final names, but stay unreferenced until a MANIFEST names them. */
static int segment_write(ft_writer *w, terms_fn terms, void *ctx, ft_error *err)
{
    wfile files[FT_SEG_NFILES];
    memset(files, 0, sizeof files);
    for (int i = 0; i < FT_SEG_NFILES; i++) files[i].fd = -1;
    dict_w d;
    memset(&d, 0, sizeof d);
    ids_job ij = {.job.run = ids_run, .w = w, .f = &files[5]};
    int rc = FT_OK;
    if (!w->seg_open && (rc = segment_begin(w, err))) goto fail;
    if ((rc = flush_store(w, err))) goto fail;
    if (w->sg && (rc = store_drain(w, err))) goto fail;
    uint64_t idx_off = w->sto.off;
    wfile_write(&w->sto, w->sto_index.p, w->sto_index.len, err);
    wfile_u64(&w->sto, idx_off, err);
    wfile_u32(&w->sto, w->sto_nblocks, err);
    wfile_u32(&w->sto, (uint32_t)w->ndocs, err);
    wfile_write(&w->sto, MAGIC_STO_END, 4, err);
    /* fsynced with the other files at the end; the kernel starts writing it
     * back now (sync_file_range does not wait) */
    wfile_flush(&w->sto, err);
    if ((rc = w->sto.rc)) goto fail;
    sync_file_range(w->sto.fd, 0, 0, SYNC_FILE_RANGE_WRITE);
    files[4] = w->sto; /* ownership moves to files[] */
    memset(&w->sto, 0, sizeof w->sto);
    w->sto.fd = -1;

    static const char *const magic[] = {MAGIC_TID, MAGIC_PST, MAGIC_POS, MAGIC_LEN, NULL, MAGIC_IDS};
    for (int i = 0; i < FT_SEG_NFILES; i++) {
        if (i == 4) continue;
        char name[48];
        snprintf(name, sizeof name, "%s.%s", w->segname, ft_seg_exts[i]);
        if ((rc = wfile_open(&files[i], w->dir, name, err))) goto fail;
        wfile_header(&files[i], magic[i], err);
    }
    if ((rc = dict_init(w, &d, files, err))) goto fail;
    if (w->pool && !terms) d.ids = &ij;
    if ((rc = terms ? terms(w, &d, ctx, err) : write_postings(w, &d, err))) goto fail;
    if ((rc = dict_finish(&d, err))) goto fail;
    if ((rc = write_lengths(w, &files[3], err))) goto fail;
    if ((rc = ij.queued ? ids_wait(w, &ij, err) : write_ids(w, &files[5], err))) goto fail;
    for (int i = 0; i < FT_SEG_NFILES; i++)
        if ((rc = wfile_finish(&files[i], err))) goto fail;
    for (int i = 0; i < FT_SEG_NFILES; i++)
        if (rename(files[i].path, files[i].final) < 0) {
            rc = ft_error_errno(err, errno, "cannot rename %s", files[i].path);
            for (int k = 0; k < i; k++) unlink(files[k].final);
            goto fail;
        }
    if ((rc = ft_fsync_dir(w->dir, err))) goto fail_named;
    if (w->nsegs == w->segs_cap) {
        unsigned cap = w->segs_cap ? w->segs_cap * 2 : 8;
        mseg *p = realloc(w->segs, cap * sizeof *p);
        if (!p) { rc = ft_error_set(err, FT_ENOMEM, "out of memory"); goto fail_named; }
        w->segs = p;
        w->segs_cap = cap;
    }
    mseg *m = &w->segs[w->nsegs++];
    memset(m, 0, sizeof *m);
    snprintf(m->name, sizeof m->name, "%s", w->segname);
    m->ndocs = (uint32_t)w->ndocs;
    m->tokens = w->seg_tokens;
    m->block = w->block;
    m->frame = w->frame;
    for (int i = 0; i < FT_SEG_NFILES; i++) {
        snprintf(m->file[i], sizeof m->file[i], "%s.%s", w->segname, ft_seg_exts[i]);
        m->size[i] = files[i].off;
        m->xxh[i] = XXH64_digest(files[i].h);
    }
    w->st.bytes_dict += files[0].off;
    w->st.bytes_postings += files[1].off;
    w->st.bytes_positions += files[2].off;
    w->st.bytes_lengths += files[3].off;
    w->st.bytes_store += files[4].off;
    w->st.bytes_ids += files[5].off;
    for (int i = 0; i < FT_SEG_NFILES; i++) {
        free(files[i].path);
        files[i].path = NULL; /* renamed: nothing to unlink */
        wfile_discard(&files[i]);
    }
    dict_free(&d);
    return FT_OK;
fail_named:
    for (int i = 0; i < FT_SEG_NFILES; i++) unlink(files[i].final);
fail:
    ids_wait(w, &ij, NULL); /* its file is discarded below */
    for (int i = 0; i < FT_SEG_NFILES; i++) wfile_discard(&files[i]);
    dict_free(&d);
    return rc;
}

static int segment_flush(ft_writer *w, ft_error *err)
{
    int rc = segment_write(w, NULL, NULL, err);
    spill_discard(w);
    if (!rc) reset_inversion(w);
    return rc;
}

/* ------------------------------------------------------------------ manifest */

static void mseg_from_desc(mseg *m, const ft_seg_desc *d)
{
    memset(m, 0, sizeof *m);
    snprintf(m->name, sizeof m->name, "%s", d->name);
    m->ndocs = d->ndocs;
    m->tokens = d->tokens;
    m->block = d->block;
    m->frame = d->frame;
    m->ndeleted = d->ndeleted;
    for (int i = 0; i < FT_SEG_NFILES; i++) {
        snprintf(m->file[i], sizeof m->file[i], "%s", d->file[i]);
        m->size[i] = d->size[i];
        m->xxh[i] = d->xxh[i];
    }
    if (d->del_file) {
        snprintf(m->del, sizeof m->del, "%s", d->del_file);
        m->del_size = d->del_size;
        m->del_xxh = d->del_xxh;
    }
}

/* MANIFEST text naming segs (docs/FORMAT.md, MANIFEST).  Segments whose
 * every document is deleted are left out. */
static int manifest_text(const ft_analyzer_opts *ao, const mseg *segs, unsigned n, ft_buf *m, ft_error *err)
{
    char line[512], an[256], hx[17], hy[17];
    uint64_t docs = 0, tokens = 0;
    for (unsigned i = 0; i < n; i++)
        if (!(segs[i].ndocs && segs[i].ndeleted == segs[i].ndocs)) {
            docs += segs[i].ndocs;
            tokens += segs[i].tokens;
        }
    if (docs >= UINT32_MAX) return ft_error_set(err, FT_EINVAL, "more than %u documents in one index", UINT32_MAX - 1);
    ft_analyzer_opts_format(ao, an, sizeof an);
    ft_buf_reset(m);
    snprintf(line, sizeof line, "ft-index %d\nanalyzer %s\ndocs %llu\ntokens %llu\n", FT_FORMAT_VERSION, an,
             (unsigned long long)docs, (unsigned long long)tokens);
    ft_buf_append(m, line, strlen(line));
    for (unsigned i = 0; i < n; i++) {
        const mseg *s = &segs[i];
        if (s->ndocs && s->ndeleted == s->ndocs) continue;
        snprintf(line, sizeof line, "segment %s docs %u tokens %llu block %u frame %u\n", s->name, s->ndocs,
                 (unsigned long long)s->tokens, s->block, s->frame);
        ft_buf_append(m, line, strlen(line));
        for (int k = 0; k < FT_SEG_NFILES; k++) {
            hex64(hx, s->xxh[k]);
            snprintf(line, sizeof line, "file %s %llu %s\n", s->file[k], (unsigned long long)s->size[k], hx);
            ft_buf_append(m, line, strlen(line));
        }
        if (s->del[0]) {
            hex64(hy, s->del_xxh);
            snprintf(line, sizeof line, "deletes %s %llu %s\n", s->del, (unsigned long long)s->del_size, hy);
            ft_buf_append(m, line, strlen(line));
        }
    }
    hex64(hx, XXH64(m->p, m->len, 0));
    snprintf(line, sizeof line, "checksum %s\n", hx);
    ft_buf_append(m, line, strlen(line));
    if (m->failed) return ft_error_set(err, FT_ENOMEM, "out of memory");
    return FT_OK;
}

/* Write MANIFEST.tmp, fsync, rename over MANIFEST (the commit point), fsync
 * the directory, then remove the files no longer named.  *published is set
 * once MANIFEST has been renamed into place: an error after that leaves the
 * new index live (its files must then be kept). */
static int publish_manifest(const char *dir, const ft_buf *m, int *published, ft_error *err)
{
    char *tmp = NULL, *final = NULL;
    int rc;
    *published = 0;
    if (asprintf(&tmp, "%s/%s.tmp", dir, FT_MANIFEST) < 0) tmp = NULL;
    if (asprintf(&final, "%s/%s", dir, FT_MANIFEST) < 0) final = NULL;
    if (!tmp || !final) {
        rc = ft_error_set(err, FT_ENOMEM, "out of memory");
        goto out;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) { rc = ft_error_errno(err, errno, "cannot create %s", tmp); goto out; }
    rc = ft_write_all(fd, m->p, m->len, tmp, err);
    if (!rc && fsync(fd) < 0) rc = ft_error_errno(err, errno, "cannot fsync %s", tmp);
    if (close(fd) < 0 && !rc) rc = ft_error_errno(err, errno, "cannot close %s", tmp);
    if (!rc && rename(tmp, final) < 0) rc = ft_error_errno(err, errno, "cannot rename %s", tmp);
    if (rc) { unlink(tmp); goto out; }
    *published = 1;
    rc = ft_fsync_dir(dir, err);
    /* on failure the rename may not survive a crash and the old MANIFEST may
     * come back: keep its files too (the next writer removes what no manifest
     * names) */
    if (!rc) ft_remove_unreferenced(dir);
out:
    free(tmp);
    free(final);
    return rc;
}

/* ------------------------------------------------------------------ deletions */

/* Per segment: the deletion bitmap being built and the terms of the newly
 * deleted documents (each document's distinct terms, for the df corrections). */
typedef struct seg_del {
    uint8_t *bits;
    uint32_t ndocs, ndeleted, added;
    ft_buf terms;           /* varint len + bytes, per (document, distinct term) */
    uint32_t *docs;         /* newly deleted local documents */
    size_t ndocs_new, docs_cap;
} seg_del;

static int mark_deleted(seg_del *sd, uint32_t d)
{
    if (sd->bits[d >> 3] >> (d & 7) & 1) return 0;
    sd->bits[d >> 3] |= (uint8_t)(1u << (d & 7));
    sd->ndeleted++;
    if (sd->ndocs_new == sd->docs_cap) {
        size_t cap = sd->docs_cap ? sd->docs_cap * 2 : 64;
        uint32_t *p = realloc(sd->docs, cap * sizeof *p);
        if (!p) return FT_ENOMEM;
        sd->docs = p;
        sd->docs_cap = cap;
    }
    sd->docs[sd->ndocs_new++] = d;
    return 0;
}

typedef struct del_ctx {
    ft_writer *w;
    const ft_index *view;
    seg_del *sd;
    unsigned seg;          /* the new segment whose ids are being walked */
    const char *prev;      /* previous id of that walk */
    size_t prev_len;
    uint32_t prev_doc;
    uint32_t *found;
    int rc;
} del_ctx;

#define FIND_MAX 4096

/* Delete every document with this id in segments [0, upto). */
static int delete_id_before(del_ctx *c, unsigned upto, const char *id, size_t len)
{
    for (unsigned i = 0; i < upto; i++) {
        uint32_t n = ft_index_find_id_(c->view, i, id, len, c->found, FIND_MAX);
        for (uint32_t k = 0; k < n; k++)
            if (mark_deleted(&c->sd[i], c->found[k])) return FT_ENOMEM;
    }
    return 0;
}

static int replace_cb(void *ctx, const char *id, size_t len, uint32_t doc)
{
    del_ctx *c = ctx;
    if (c->prev && c->prev_len == len && !memcmp(c->prev, id, len)) {
        /* the same id twice in this segment: the later document wins */
        if (mark_deleted(&c->sd[c->seg], c->prev_doc)) return c->rc = FT_ENOMEM;
    } else if (delete_id_before(c, c->seg, id, len)) {
        return c->rc = FT_ENOMEM;
    }
    c->prev = id;
    c->prev_len = len;
    c->prev_doc = doc;
    return 0;
}

typedef struct term_rec {
    const uint8_t *t;
    uint32_t len, count;
} term_rec;

static int cmp_term_rec(const void *a, const void *b)
{
    const term_rec *x = a, *y = b;
    int c = memcmp(x->t, y->t, x->len < y->len ? x->len : y->len);
    if (c) return c;
    return x->len < y->len ? -1 : x->len > y->len;
}

typedef struct doc_terms {
    term_rec *v;
    size_t n, cap;
    ft_buf bytes;
} doc_terms;

static int collect_term(void *ctx, const ft_token *tok)
{
    doc_terms *dt = ctx;
    if (dt->n == dt->cap) {
        size_t cap = dt->cap ? dt->cap * 2 : 256;
        term_rec *p = realloc(dt->v, cap * sizeof *p);
        if (!p) return FT_ENOMEM;
        dt->v = p;
        dt->cap = cap;
    }
    dt->v[dt->n].t = (const uint8_t *)(uintptr_t)dt->bytes.len; /* offset until the bytes stop moving */
    dt->v[dt->n].len = (uint32_t)tok->len;
    dt->v[dt->n].count = 1;
    dt->n++;
    ft_buf_append(&dt->bytes, tok->term, tok->len);
    return dt->bytes.failed ? FT_ENOMEM : 0;
}

static int add_corr(void *ctx, const uint8_t *term, size_t len, uint32_t count)
{
    doc_terms *all = ctx;
    size_t n0 = all->n;
    ft_token tok;
    memset(&tok, 0, sizeof tok);
    tok.term = (const char *)term;
    tok.len = len;
    if (collect_term(all, &tok)) return FT_ENOMEM;
    all->v[n0].count = count;
    return 0;
}

/* Write segment i's new deletion file: bitmap plus df corrections, the old
 * corrections merged with the distinct terms of the newly deleted documents
 * (found by analyzing their stored text again, as the writer did). */
static int write_deletions(ft_writer *w, const ft_index *view, unsigned i, seg_del *sd, mseg *m, ft_error *err)
{
    doc_terms all, one;
    memset(&all, 0, sizeof all);
    memset(&one, 0, sizeof one);
    ft_buf_init(&all.bytes);
    ft_buf_init(&one.bytes);
    ft_buf out;
    ft_buf_init(&out);
    ft_docbuf *db = ft_docbuf_new();
    int rc = db ? FT_OK : ft_error_set(err, FT_ENOMEM, "out of memory");
    if (!rc && ft_index_corrections_(view, i, add_corr, &all)) rc = ft_error_set(err, FT_ENOMEM, "out of memory");
    ft_seg_desc desc;
    ft_index_segment_(view, i, &desc);
    for (size_t k = 0; k < sd->ndocs_new && !rc; k++) {
        ft_doc doc;
        if ((rc = ft_index_doc(view, desc.base + sd->docs[k], db, &doc, err))) break;
        one.n = 0;
        ft_buf_reset(&one.bytes);
        ft_analyze_stats s1;
        rc = ft_analyze(w->an, doc.title, doc.title_len, 0, collect_term, &one, &s1);
        if (!rc) rc = ft_analyze(w->an, doc.body, doc.body_len, s1.next_pos + 1, collect_term, &one, NULL);
        if (rc) { rc = ft_error_set(err, FT_ENOMEM, "out of memory"); break; }
        for (size_t t = 0; t < one.n; t++) one.v[t].t = one.bytes.p + (uintptr_t)one.v[t].t;
        qsort(one.v, one.n, sizeof *one.v, cmp_term_rec);
        for (size_t t = 0; t < one.n && !rc; t++) {
            if (t && !cmp_term_rec(&one.v[t - 1], &one.v[t])) continue; /* distinct terms only */
            if (add_corr(&all, one.v[t].t, one.v[t].len, 1)) rc = ft_error_set(err, FT_ENOMEM, "out of memory");
        }
    }
    if (!rc) {
        for (size_t t = 0; t < all.n; t++) all.v[t].t = all.bytes.p + (uintptr_t)all.v[t].t;
        qsort(all.v, all.n, sizeof *all.v, cmp_term_rec);
        size_t nuniq = 0;
        for (size_t t = 0; t < all.n; t++) {
            if (nuniq && !cmp_term_rec(&all.v[nuniq - 1], &all.v[t])) all.v[nuniq - 1].count += all.v[t].count;
            else all.v[nuniq++] = all.v[t];
        }
        ft_buf_append(&out, MAGIC_DEL, 4);
        ft_buf_put_u32le(&out, FT_FORMAT_VERSION);
        ft_buf_put_u32le(&out, sd->ndocs);
        ft_buf_put_u32le(&out, sd->ndeleted);
        ft_buf_append(&out, sd->bits, ((size_t)sd->ndocs + 7) / 8);
        ft_buf_put_u64le(&out, nuniq);
        for (size_t t = 0; t < nuniq; t++) {
            ft_buf_put_varint(&out, all.v[t].len);
            ft_buf_append(&out, all.v[t].t, all.v[t].len);
            ft_buf_put_varint(&out, all.v[t].count);
        }
        ft_buf_append(&out, MAGIC_DEL_END, 4);
        if (out.failed) rc = ft_error_set(err, FT_ENOMEM, "out of memory");
    }
    if (!rc) {
        snprintf(m->del, sizeof m->del, "%s.d%06u", m->name, w->seg_no++);
        rc = write_small_file(w->dir, m->del, &out, &m->del_size, &m->del_xxh, err);
        m->ndeleted = sd->ndeleted;
    }
    ft_docbuf_free(db);
    free(all.v);
    free(one.v);
    ft_buf_free(&all.bytes);
    ft_buf_free(&one.bytes);
    ft_buf_free(&out);
    return rc;
}

/* Apply ft_writer_delete ids and replacements by id over segs (the index the
 * writer started from, then its new segments), writing new deletion files. */
static int apply_deletions(ft_writer *w, mseg *segs, unsigned n, unsigned nbase, ft_error *err)
{
    ft_buf m;
    ft_buf_init(&m);
    int rc = manifest_text(&w->opts.analyzer, segs, n, &m, err);
    ft_index *view = NULL;
    seg_del *sd = calloc(n ? n : 1, sizeof *sd);
    del_ctx c;
    memset(&c, 0, sizeof c);
    c.found = malloc(FIND_MAX * sizeof *c.found);
    if (!rc && (!sd || !c.found)) rc = ft_error_set(err, FT_ENOMEM, "out of memory");
    if (!rc) rc = ft_index_open_text_(w->dir, (const char *)m.p, m.len, &view, err);
    /* manifest_text drops fully deleted segments; none are among these yet
     * (they are dropped from the final manifest only) */
    if (!rc && ft_index_segment_count(view) != n)
        rc = ft_error_set(err, FT_EINVAL, "internal error: segment count of the deletion view");
    for (unsigned i = 0; i < n && !rc; i++) {
        sd[i].ndocs = segs[i].ndocs;
        sd[i].bits = calloc(((size_t)segs[i].ndocs + 7) / 8 + 1, 1);
        if (!sd[i].bits) { rc = ft_error_set(err, FT_ENOMEM, "out of memory"); break; }
        const uint8_t *old = ft_index_del_bits_(view, i);
        if (old) memcpy(sd[i].bits, old, ((size_t)segs[i].ndocs + 7) / 8);
        sd[i].ndeleted = segs[i].ndeleted;
    }
    c.w = w;
    c.view = view;
    c.sd = sd;
    const uint8_t *q = w->delids.p, *end = q + w->delids.len;
    while (!rc && q < end) {
        uint64_t len = 0;
        ft_varint_get(&q, end, &len);
        if (delete_id_before(&c, nbase, (const char *)q, len)) rc = ft_error_set(err, FT_ENOMEM, "out of memory");
        q += len;
    }
    for (unsigned i = nbase; i < n && !rc; i++) {
        c.seg = i;
        c.prev = NULL;
        rc = ft_index_ids_(view, i, replace_cb, &c, err);
        if (c.rc) rc = ft_error_set(err, FT_ENOMEM, "out of memory");
    }
    for (unsigned i = 0; i < n && !rc; i++) {
        if (!sd[i].ndocs_new) continue;
        w->deleted += sd[i].ndocs_new;
        rc = write_deletions(w, view, i, &sd[i], &segs[i], err);
    }
    for (unsigned i = 0; i < n && sd; i++) {
        free(sd[i].bits);
        free(sd[i].docs);
        ft_buf_free(&sd[i].terms);
    }
    free(sd);
    free(c.found);
    ft_index_close(view);
    ft_buf_free(&m);
    return rc;
}

/* ------------------------------------------------------------------ commit */

int ft_writer_delete(ft_writer *w, const char *id, size_t id_len, ft_error *err)
{
    if (w->committed) return ft_error_set(err, FT_EINVAL, "writer already committed");
    if (w->opts.mode != FT_WRITE_APPEND)
        return ft_error_set(err, FT_EINVAL, "deleting needs a writer opened to add to the index");
    if (id_len == 0) return ft_error_set(err, FT_EINVAL, "empty id");
    ft_buf_put_varint(&w->delids, id_len);
    ft_buf_append(&w->delids, id, id_len);
    if (w->delids.failed) return writer_fail(w, ft_error_set(err, FT_ENOMEM, "out of memory"), err);
    return FT_OK;
}

uint64_t ft_writer_deleted(const ft_writer *w) { return w->deleted; }
unsigned ft_writer_segments(const ft_writer *w) { return w->nsegs; }

int ft_writer_commit(ft_writer *w, ft_error *err)
{
    if (w->rc) {
        if (err) *err = w->err;
        return w->rc;
    }
    if (w->committed) return ft_error_set(err, FT_EINVAL, "writer already committed");
    if (w->pc.open) return ft_error_set(err, FT_EINVAL, "a document added in pieces is not ended");
    int rc = FT_OK;
    mseg *all = NULL;
    ft_buf m;
    ft_buf_init(&m);
    /* the open segment; a replacing build of no documents still writes one
     * (empty) segment, so the result is an index */
    if (w->ndocs || w->seg_open || (w->nsegs == 0 && w->opts.mode == FT_WRITE_REPLACE))
        if ((rc = segment_flush(w, err))) goto fail;
    unsigned nbase = w->base ? ft_index_segment_count(w->base) : 0, n = nbase + w->nsegs;
    all = calloc(n ? n : 1, sizeof *all);
    if (!all) { rc = ft_error_set(err, FT_ENOMEM, "out of memory"); goto fail; }
    for (unsigned i = 0; i < nbase; i++) {
        ft_seg_desc d;
        ft_index_segment_(w->base, i, &d);
        mseg_from_desc(&all[i], &d);
    }
    if (w->nsegs) memcpy(all + nbase, w->segs, w->nsegs * sizeof *all);
    if (w->opts.mode == FT_WRITE_APPEND && (w->nsegs || w->delids.len))
        if ((rc = apply_deletions(w, all, n, nbase, err))) goto fail;
    if ((rc = manifest_text(&w->opts.analyzer, all, n, &m, err))) goto fail;
    int published;
    rc = publish_manifest(w->dir, &m, &published, err);
    if (published) w->committed = 1; /* the new files are live: keep them */
    if (rc) goto fail;
    free(all);
    ft_buf_free(&m);
    return FT_OK;
fail:
    free(all);
    ft_buf_free(&m);
    if (err) w->err = *err;
    w->rc = rc;
    return rc;
}

void ft_writer_get_stats(const ft_writer *w, ft_writer_stats *st)
{
    *st = w->st;
    st->terms = w->terms_flushed + w->nterms;
}

void ft_writer_close(ft_writer *w)
{
    if (!w) return;
    if (w->sg) store_abandon(w);
    pool_free(w->pool); /* no job is left: every path waits for its own */
    for (unsigned i = 0; w->sg && i < w->sg_ring; i++) {
        ZSTD_freeCCtx(w->sg[i].cctx);
        ft_buf_free(&w->sg[i].raw);
        ft_buf_free(&w->sg[i].out);
        ft_buf_free(&w->sg[i].cbuf);
    }
    free(w->sg);
    wfile_discard(&w->sto);
    spill_discard(w);
    piece_reset(w);
    if (!w->committed) /* flushed segments of a build that is abandoned */
        for (unsigned i = 0; i < w->nsegs; i++)
            for (int k = 0; k < FT_SEG_NFILES; k++) {
                char *p;
                if (asprintf(&p, "%s/%s", w->dir, w->segs[i].file[k]) >= 0) {
                    unlink(p);
                    free(p);
                }
            }
    for (size_t i = 0; i < w->nterms; i++) ft_buf_free(&w->terms[i].post);
    free(w->terms);
    free(w->table);
    free(w->wcache);
    free(w->ptoks);
    free(w->tids);
    ft_buf_free(&w->tokbytes);
    ft_buf_free(&w->marks.b);
    ft_buf_free(&w->arena);
    free(w->slots);
    free(w->occs);
    free(w->runs);
    free(w->lens);
    free(w->idoff);
    free(w->idlen);
    ft_buf_free(&w->idbytes);
    ft_buf_free(&w->delids);
    free(w->segs);
    ft_buf_free(&w->sto_block);
    ft_buf_free(&w->sto_index);
    ft_buf_free(&w->scratch);
    ZSTD_freeCCtx(w->cctx);
    ZSTD_freeCCtx(w->cctx_store);
    ft_analyzer_free(w->an);
    ft_index_close(w->base);
    if (w->lockfd >= 0) ft_lock_release(w->dir, w->lockfd);
    free(w->dir);
    free(w);
}

/* ------------------------------------------------------------------ merging
 *
 * Segments are merged in runs of adjacent segments, so the merged documents
 * keep their order and the result is simply the run's live documents
 * renumbered from 0.  Terms are merged k-way over the run's dictionaries
 * (ft_index_terms_range_), and each term's posting lists are concatenated
 * through one cursor over the run, deleted documents skipped.  Memory: the
 * document number map and lengths (4 bytes a document each), the ids of the
 * run (for the sorted id file), one term's postings at a time and one store
 * block. */

void ft_merge_opts_default(ft_merge_opts *o)
{
    memset(o, 0, sizeof *o);
    o->factor = 10;
}

typedef struct merge_ctx {
    ft_writer *w;
    const ft_index *ix;
    unsigned a, b;
    uint32_t base_a;
    const uint32_t *map;    /* old document - base_a -> new document */
    dict_w *d;
    term_ent e;
    ft_error *err;
    int rc;
    uint64_t nterms;
} merge_ctx;

/* One term of a merge: its postings, renumbered, become the in-memory
 * stream; a term longer than a frame (w->block * w->frame postings) is
 * encoded a frame at a time, so a merge holds one frame of its most frequent
 * term, not the whole list with its positions. */
static int merge_term(void *ctx, const char *term, size_t len, ft_postings *p)
{
    merge_ctx *m = ctx;
    int rc = FT_OK;
    if (++m->nterms % 16384 == 0) ft_index_drop_pages_(m->ix, m->a, m->b);
    term_ent *e = &m->e;
    ft_buf_reset(&e->post);
    e->df = 0;
    e->cf = 0;
    dict_w *dw = m->d;
    ft_writer *w = m->w;
    const uint32_t chunk = w->block * w->frame;
    uint32_t pending = 0; /* postings in e->post */
    int streaming = 0;
    term_enc te;
    uint32_t prev_plus1 = 0, d;
    while ((d = ft_postings_next(p)) != FT_DOC_END) {
        if (pending == chunk) { /* a frame's worth, and more to come */
            if (!streaming) {
                if (len > sizeof dw->prev) {
                    rc = ft_error_set(m->err, FT_EINVAL, "term longer than %zu bytes", sizeof dw->prev);
                    break;
                }
                dict_begin(dw);
                enc_begin(&dw->es, &te, 1, dw->pst, dw->pos);
                streaming = 1;
            }
            if ((rc = enc_blocks(w, &dw->es, &te, e->post.p, e->post.p + e->post.len, pending, 0, NULL, dw->pos,
                                 m->err)))
                break;
            ft_buf_reset(&e->post);
            pending = 0;
        }
        uint32_t nd = m->map[d - m->base_a];
        uint32_t tf = ft_postings_tf(p), n;
        const uint32_t *pos;
        if ((rc = ft_postings_positions(p, &pos, &n))) break;
        ft_buf *b = &e->post;
        if (ft_buf_reserve(b, 20 + (size_t)n * 5)) { rc = FT_ENOMEM; break; }
        b->len += ft_varint_put(b->p + b->len, (uint64_t)nd + 1 - prev_plus1);
        b->len += ft_varint_put(b->p + b->len, tf);
        uint32_t prev = 0;
        for (uint32_t k = 0; k < n; k++) {
            b->len += ft_varint_put(b->p + b->len, pos[k] - prev);
            prev = pos[k];
        }
        prev_plus1 = nd + 1;
        e->df++;
        e->cf += tf;
        pending++;
    }
    if (!rc) rc = ft_postings_status(p, m->err);
    else if (rc == FT_ENOMEM) ft_error_set(m->err, FT_ENOMEM, "out of memory");
    else ft_postings_status(p, m->err);
    if (!rc && streaming) {
        uint64_t pl = 0, ql = 0;
        rc = enc_blocks(w, &dw->es, &te, e->post.p, e->post.p + e->post.len, pending, 1, NULL, dw->pos, m->err);
        if (!rc) rc = enc_end(&dw->es, &te, dw->pst, dw->pos, &pl, &ql, m->err);
        if (!rc) rc = dict_entry(dw, (const uint8_t *)term, (uint32_t)len, e->df, e->cf, pl, ql, m->err);
    } else if (!rc && e->df) {
        rc = dict_add(w, dw, (const uint8_t *)term, (uint32_t)len, e, NULL, m->err);
    }
    return rc ? (m->rc = rc) : 0;
}

static int merge_terms(ft_writer *w, dict_w *d, void *ctx, ft_error *err)
{
    merge_ctx *m = ctx;
    m->d = d;
    m->err = err;
    int rc = ft_index_terms_postings_(m->ix, m->a, m->b, merge_term, m, err);
    return m->rc ? m->rc : rc;
}

/* Merge segments [a, b) of ix into one and publish. */
static int merge_run(const char *dir, const ft_index *ix, unsigned a, unsigned b, const ft_merge_opts *mo,
                     ft_error *err)
{
    ft_writer_opts wo;
    ft_writer_opts_default(&wo);
    wo.analyzer = *ft_index_analyzer_opts(ix);
    wo.zstd_level = mo->zstd_level;
    wo.store_level = mo->store_level;
    wo.memory = 0;
    ft_writer *w = NULL;
    int rc = writer_new(dir, &wo, &w, err);
    if (rc) return rc;
    unsigned n = ft_index_segment_count(ix);
    ft_seg_desc first, last;
    ft_index_segment_(ix, a, &first);
    ft_index_segment_(ix, b - 1, &last);
    uint32_t base_a = first.base, end = last.base + last.ndocs;
    uint32_t *map = malloc(((size_t)(end - base_a) + 1) * sizeof *map);
    ft_docbuf *db = ft_docbuf_new();
    mseg *all = calloc(n, sizeof *all);
    ft_buf m;
    ft_buf_init(&m);
    merge_ctx mc;
    memset(&mc, 0, sizeof mc);
    ft_buf_init(&mc.e.post);
    if (!map || !db || !all) { rc = ft_error_set(err, FT_ENOMEM, "out of memory"); goto out; }
    if ((rc = segment_begin(w, err))) goto out;
    for (unsigned i = a; i < b && !rc; i++) {
        ft_seg_desc sd;
        ft_index_segment_(ix, i, &sd);
        const uint8_t *bits = ft_index_del_bits_(ix, i);
        for (uint32_t l = 0; l < sd.ndocs; l++) {
            uint32_t g = sd.base + l;
            if (bits && (bits[l >> 3] >> (l & 7) & 1)) {
                map[g - base_a] = UINT32_MAX;
                continue;
            }
            map[g - base_a] = (uint32_t)w->ndocs;
            ft_doc doc;
            if ((rc = ft_index_doc(ix, g, db, &doc, err))) break;
            const char *f[4] = {doc.id, doc.title, doc.body, (const char *)doc.marks};
            size_t fl[4] = {doc.id_len, doc.title_len, doc.body_len, doc.marks_len};
            if ((rc = store_record(w, f, fl, 1, err))) break; /* stored text is valid UTF-8 */
            if (add_length(w, ft_index_doc_length(ix, g))) { rc = ft_error_set(err, FT_ENOMEM, "out of memory"); break; }
            if (w->sto_block.len >= FT_STORE_BLOCK && (rc = flush_store(w, err))) break;
            if ((w->ndocs & 8191) == 0) ft_index_drop_pages_(ix, a, b);
        }
    }
    if (rc) goto out;
    mc.w = w;
    mc.ix = ix;
    mc.a = a;
    mc.b = b;
    mc.base_a = base_a;
    mc.map = map;
    if ((rc = segment_write(w, merge_terms, &mc, err))) goto out;
    unsigned k = 0;
    for (unsigned i = 0; i < n; i++) {
        if (i == a && w->segs[0].ndocs) all[k++] = w->segs[0]; /* an all-deleted run leaves nothing */
        if (i >= a && i < b) continue;
        ft_seg_desc sd;
        ft_index_segment_(ix, i, &sd);
        mseg_from_desc(&all[k++], &sd);
    }
    if ((rc = manifest_text(ft_index_analyzer_opts(ix), all, k, &m, err))) goto out;
    int published;
    rc = publish_manifest(dir, &m, &published, err);
    if (published) w->committed = 1; /* the merged segment is live: keep it */
out:
    ft_buf_free(&mc.e.post);
    ft_buf_free(&m);
    free(all);
    free(map);
    ft_docbuf_free(db);
    ft_writer_close(w);
    return rc;
}

/* Choose the next run to merge: [*a, *b), or return 0 when none. */
static int choose_run(const ft_index *ix, const ft_merge_opts *mo, unsigned *a, unsigned *b)
{
    unsigned n = ft_index_segment_count(ix);
    if (n == 0) return 0;
    uint64_t *live = malloc(n * sizeof *live);
    if (!live) return 0;
    for (unsigned i = 0; i < n; i++) {
        ft_seg_desc d;
        ft_index_segment_(ix, i, &d);
        live[i] = d.ndocs - d.ndeleted;
    }
    int found = 0;
    if (mo->max_segments) {
        if (n > mo->max_segments) { /* the cheapest window that brings n down to the limit */
            unsigned len = n - mo->max_segments + 1;
            uint64_t best = UINT64_MAX;
            for (unsigned s = 0; s + len <= n; s++) {
                uint64_t sum = 0;
                for (unsigned i = s; i < s + len; i++) sum += live[i];
                if (sum < best) {
                    best = sum;
                    *a = s;
                    *b = s + len;
                }
            }
            found = 1;
        } else { /* an explicit merge also drops deleted documents */
            for (unsigned i = 0; i < n && !found; i++) {
                ft_seg_desc d;
                ft_index_segment_(ix, i, &d);
                if (d.ndeleted) {
                    *a = i;
                    *b = i + 1;
                    found = 1;
                }
            }
        }
    } else {
        unsigned f = mo->factor >= 2 ? mo->factor : 10;
        /* the first f adjacent segments of similar size (largest < f times
         * the smallest): each merge makes a segment about f times larger,
         * which then stops matching its smaller neighbours, so every size
         * class holds fewer than f segments: O(f log_f N) segments in all */
        for (unsigned st = 0; st + f <= n && !found; st++) {
            uint64_t mn = UINT64_MAX, mx = 0;
            unsigned e = st;
            for (; e < n && e < st + f; e++) {
                uint64_t x = live[e] ? live[e] : 1;
                uint64_t nmn = x < mn ? x : mn, nmx = x > mx ? x : mx;
                if (nmx >= (uint64_t)f * nmn) break;
                mn = nmn;
                mx = nmx;
            }
            if (e == st + f) {
                *a = st;
                *b = e;
                found = 1;
            }
        }
    }
    free(live);
    return found;
}

int ft_index_merge(const char *dir, const ft_merge_opts *opts, unsigned *merges, ft_error *err)
{
    ft_merge_opts mo;
    if (opts) mo = *opts;
    else ft_merge_opts_default(&mo);
    if (merges) *merges = 0;
    int lockfd, rc;
    if ((rc = ft_lock_acquire(dir, &lockfd, err))) return rc;
    ft_remove_unreferenced(dir);
    for (;;) {
        ft_index *ix = NULL;
        if ((rc = ft_index_open(dir, &ix, err))) break;
        ft_index_for_merge_(ix);
        unsigned a, b;
        int more = choose_run(ix, &mo, &a, &b);
        if (more) rc = merge_run(dir, ix, a, b, &mo, err);
        ft_index_close(ix);
        if (!more || rc) break;
        if (merges) (*merges)++;
    }
    ft_lock_release(dir, lockfd);
    return rc;
}
