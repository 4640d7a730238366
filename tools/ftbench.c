/*
 * ftbench — measure ft: indexing speed and size, query throughput and
 * latency, ranking quality, and the posting codec.
 *
 *   ftbench index [-o DIR] [--memory SIZE] [-j N] [--lang L] CORPUS...
 *   ftbench query -i DIR QUERIES [--mode M] [-k N] [-j N] [--repeat R] [--warmup W]
 *                 [--no-cold] [--run OUT] [--latencies OUT] [--fetch | --snippets]
 *                 [--json]
 *   ftbench eval  -i DIR --queries Q --qrels R [-k N] [--mode M] [--k1 X] [--b Y]
 *                 [--per-query] [--run OUT]
 *   ftbench eval  --run RUNFILE --qrels R [--per-query]
 *   ftbench codec -i DIR [--repeat R]
 *
 * Why it is shaped so: a benchmark must measure the library, not a tool
 * around it, and must say exactly what it measured.  So every subcommand
 * drives the public API directly (ft_writer_*, ft_search, ft_postings_*), every
 * report ends with the machine, ft's version and the settings, and figures
 * that depend on the page cache say whether the cache was dropped.  Nothing
 * here decides pass or fail: it prints figures.
 *
 * index   reads JSON Lines (plain or .zst) with the same validating scanner as
 *         ftindex (jansson for the records it is unsure about) on the thread
 *         that feeds the writer, so it measures the single-threaded pipeline
 *         (ftindex parses on a second thread); --memory is the writer's
 *         budget before it flushes a segment.  The build goes to a temporary
 *         directory unless -o names one.  Reports documents/s, MB/s of id +
 *         title + body text (MB = 10^6 bytes), CPU seconds, peak RSS, bytes per
 *         index file kind, bits per posting and position as stored, and the
 *         split of a posting's bits between doc-id gap and frequency (each run
 *         compressed alone in the format's frames).
 * query   runs a query file (QID<TAB>TEXT or TEXT per line) against one open
 *         index from N threads (each with its own analyzer), taking queries
 *         from a shared counter; latency = parse + search of one query.  First
 *         a cold pass (the index files' pages dropped with
 *         posix_fadvise(POSIX_FADV_DONTNEED), residency checked with mincore,
 *         then a fresh open), then W untimed warm-up passes, then R timed
 *         passes.  any and all read each line as plain words
 *         (ft_query_parse_plain, the implicit operator OR or AND); phrase puts
 *         the line in double quotes and as-written passes it unchanged to
 *         ft_query_parse (docs/QUERY.md); lines that are not valid queries are
 *         counted and left out of the figures.
 * eval    scores rankings with tools/eval.c (trec_eval's definitions).
 * codec   re-encodes every posting list of an index in memory under several
 *         layouts (the format's zstd frames of 8 x 128-posting blocks at level
 *         1, other levels and frame sizes, plain varints) and reports bits per
 *         posting and position and decode time per posting (fastest of R
 *         passes over all lists).
 *
 * Exit status (cli.h, man/ftbench.1): 0 when the figures were printed, 2 for
 * a usage error or a malformed qrels or run line, 3 to 6 for failures as in
 * ftindex.  Queries without hits are figures, not failures.
 */
#include "cli.h"
#include "eval.h"
#include "ft_common.h"
#include "ft_index.h"
#include "ft_jsonl.h"
#include "ft_search.h"
#include "ft_tokenize.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: ftbench index [-o DIR] [--memory SIZE] [-j N] [--lang L] [-q] CORPUS...\n"
            "       ftbench query -i DIR QUERIES [--mode M] [-k N] [-j N] [--repeat R]\n"
            "                     [--warmup W] [--no-cold] [--run OUT] [--latencies OUT]\n"
            "                     [--fetch | --snippets | --snippet-cost] [--json] [-q]\n"
            "       ftbench eval -i DIR --queries Q --qrels R [-k N] [--mode M] [--k1 X]\n"
            "                    [--b Y] [--per-query] [--run OUT]\n"
            "       ftbench eval --run RUNFILE --qrels R [--per-query]\n"
            "       ftbench codec -i DIR [--repeat R] [-q]\n"
            "\n"
            "index  Build an index of JSON Lines files (.zst too) and report speed, CPU,\n"
            "       memory and sizes.  -o keeps the index in DIR (default: a temporary\n"
            "       directory, removed).  --memory: the writer's budget before it flushes a\n"
            "       segment (e.g. 256M); -j is not supported (see ftindex build -j N).\n"
            "query  Run every query of QUERIES (QID<TAB>TEXT or TEXT per line): a cold pass\n"
            "       (page cache dropped, fresh open), W warm-up passes (default 1), R timed\n"
            "       passes (default 3), N threads over one open index (default 1).\n"
            "       --mode any (default), all, phrase (the text in quotes) or as-written\n"
            "       (query syntax).  -k hits per query (default 10).  --run writes a TREC\n"
            "       run.  --json prints one JSON object.  --snippet-cost: --snippets\n"
            "       passes, each after a --fetch pass, and what snippets add to it.\n"
            "eval   nDCG@10 (trec_eval's ndcg_cut.10), MAP, P@10, Recall@100/1000 and MRR of\n"
            "       ft's rankings (-k default 1000) or of any TREC run.\n"
            "codec  Bits per posting and decode time of the posting layouts.\n"
            "  -q   no progress line\n"
            "\n"
            "Exit status: 0 success, 2 usage error or a malformed qrels or run file,\n"
            "3 I/O error, 4 corrupt or incompatible index, 5 other error (out of memory,\n"
            "no documents or no queries), 6 index locked by another writer.\n");
}

/* ------------------------------------------------------------------ progress */

static int progress_on;      /* stderr is a terminal and not -q */
static int progress_len;
static double progress_last;

static void progress_clear(void)
{
    if (progress_len) {
        fprintf(stderr, "\r%*s\r", progress_len, "");
        progress_len = 0;
    }
}

static void progress(int force, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void progress(int force, const char *fmt, ...)
{
    if (!progress_on) return;
    double now = cli_now();
    if (!force && now - progress_last < 0.5) return;
    progress_last = now;
    char line[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    int n = (int)strlen(line);
    fprintf(stderr, "\r%s", line);
    if (n < progress_len) fprintf(stderr, "%*s", progress_len - n, "");
    if (n > progress_len) progress_len = n;
    fflush(stderr);
}

/* ------------------------------------------------------------------ report footer */

typedef struct machine {
    char cpu[160];
    long cores;
    double mem_gb;
} machine;

static void machine_get(machine *m)
{
    snprintf(m->cpu, sizeof m->cpu, "unknown CPU");
    m->cores = sysconf(_SC_NPROCESSORS_ONLN);
    m->mem_gb = 0;
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[512];
    if (f) {
        while (fgets(line, sizeof line, f)) {
            if (!strncmp(line, "model name", 10)) {
                char *p = strchr(line, ':');
                if (p) {
                    p++;
                    while (*p == ' ' || *p == '\t') p++;
                    p[strcspn(p, "\n")] = '\0';
                    snprintf(m->cpu, sizeof m->cpu, "%s", p);
                }
                break;
            }
        }
        fclose(f);
    }
    if ((f = fopen("/proc/meminfo", "r"))) {
        unsigned long long kb;
        while (fgets(line, sizeof line, f))
            if (sscanf(line, "MemTotal: %llu kB", &kb) == 1) m->mem_gb = (double)kb / 1048576.0;
        fclose(f);
    }
}

static void footer_text(const char *settings)
{
    machine m;
    machine_get(&m);
    printf("\nmachine   %s, %ld cores, %.1f GiB memory\n", m.cpu, m.cores, m.mem_gb);
    printf("ft        %s\n", FT_VERSION_STRING);
    printf("settings  %s\n", settings);
}

static void footer_json(json_t *o, const char *settings)
{
    machine m;
    machine_get(&m);
    json_t *mj = json_object();
    json_object_set_new(mj, "cpu", json_string(m.cpu));
    json_object_set_new(mj, "cores", json_integer(m.cores));
    json_object_set_new(mj, "memory_gib", json_real(round(m.mem_gb * 10) / 10));
    json_object_set_new(o, "machine", mj);
    json_object_set_new(o, "ft_version", json_string(FT_VERSION_STRING));
    json_object_set_new(o, "settings", json_string(settings));
}

/* ------------------------------------------------------------------ helpers */

/* Report a failed library call; returns its exit status. */
static int lib_fail(const char *what, int rc, const ft_error *err)
{
    progress_clear();
    cli_msg("%s: %s", what, err->msg[0] ? err->msg : ft_strerror(rc));
    return cli_exit_for(rc);
}

/* Report a failed system call on path; returns its exit status. */
static int sys_fail(const char *path, int errnum)
{
    progress_clear();
    cli_msg("%s: %s", path, strerror(errnum));
    return cli_exit_for_errno(errnum);
}

/* getopt has printed what is wrong. */
static int try_help(void)
{
    fprintf(stderr, "Try 'ftbench --help' for more information.\n");
    return CLI_EXIT_USAGE;
}

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

static long peak_rss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcmp(s + n - m, suffix);
}

static int parse_count(const char *opt, const char *s, unsigned long min, unsigned long max,
                       unsigned long *out)
{
    if (cli_parse_ulong(s, out) || *out < min || *out > max) {
        cli_usage_error(NULL, "%s wants a whole number from %lu to %lu (got '%s')", opt, min, max,
                        s);
        return -1;
    }
    return 0;
}

/* "512M", "2G", "1048576": bytes, or -1. */
static int parse_size(const char *s, unsigned long long *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s || errno || *s == '-') return -1;
    unsigned long long mul = 1;
    if (*end == 'k' || *end == 'K') mul = 1ull << 10, end++;
    else if (*end == 'm' || *end == 'M') mul = 1ull << 20, end++;
    else if (*end == 'g' || *end == 'G') mul = 1ull << 30, end++;
    if (*end == 'B' || *end == 'b') end++;
    if (*end || v > UINT64_MAX / mul) return -1;
    *out = v * mul;
    return 0;
}

/* ------------------------------------------------------------------ JSON Lines */

typedef int (*doc_fn)(void *ctx, const char *id, size_t id_len, const char *title,
                      size_t title_len, const char *body, size_t body_len);

static int is_blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n') return 0;
    return 1;
}

/* One jansson string field: absent or null is empty.  Returns 0 or -1. */
static int jfield(json_t *o, const char *key, const char **s, size_t *n)
{
    json_t *v = json_object_get(o, key);
    *s = "";
    *n = 0;
    if (!v || json_is_null(v)) return 0;
    if (!json_is_string(v)) return -1;
    *s = json_string_value(v);
    *n = json_string_length(v);
    return 0;
}

/* Feed every record of a JSON Lines file to fn.  Bad lines are counted in
 * *skipped (with a warning for the first few).  Returns 0, or -1 when fn
 * failed (fn reports why), or an exit status after a message (the file
 * cannot be read, out of memory). */
static int read_jsonl(const char *path, doc_fn fn, void *ctx, unsigned long *skipped)
{
    cli_stream *s = cli_stream_open(path, ends_with(path, ".zst") ? CLI_ZSTD_YES : CLI_ZSTD_DETECT);
    if (!s) return sys_fail(path, errno);
    cli_lines *lines = cli_lines_new(s);
    if (!lines) {
        cli_msg("out of memory");
        return CLI_EXIT_OTHER;
    }
    static const char *const keys[3] = {"id", "title", "body"};
    static const int int_ok[3] = {1, 0, 0};
    ft_buf scratch;
    ft_buf_init(&scratch);
    char *line, where[64];
    size_t len;
    unsigned long lineno;
    int r, ret = 0;
    while ((r = cli_lines_next(lines, &line, &len, &lineno)) == 1) {
        if (lineno == 1 && len >= 3 && !memcmp(line, "\xEF\xBB\xBF", 3)) line += 3, len -= 3;
        if (is_blank(line, len)) continue;
        snprintf(where, sizeof where, "line%lu", lineno);
        ft_jsonl_value v[3];
        if (ft_jsonl_extract(line, len, keys, int_ok, 3, v, &scratch) == FT_JSONL_OK) {
            const char *id = where;
            size_t id_len = strlen(where);
            if ((v[0].kind == FT_JSONL_STRING || v[0].kind == FT_JSONL_INTEGER) && v[0].len) {
                id = v[0].text;
                id_len = v[0].len;
            }
            int ok1 = v[1].kind == FT_JSONL_STRING, ok2 = v[2].kind == FT_JSONL_STRING;
            if (fn(ctx, id, id_len, ok1 ? v[1].text : "", ok1 ? v[1].len : 0, ok2 ? v[2].text : "",
                   ok2 ? v[2].len : 0)) {
                ret = -1;
                break;
            }
            continue;
        }
        json_error_t jerr;
        json_t *o = json_loadb(line, len, JSON_ALLOW_NUL, &jerr);
        const char *title, *body, *id = where;
        size_t tl, bl, il = strlen(where);
        char idbuf[32];
        if (o && json_is_object(o) && !jfield(o, "title", &title, &tl) &&
            !jfield(o, "body", &body, &bl)) {
            json_t *jid = json_object_get(o, "id");
            if (json_is_string(jid) && json_string_length(jid)) {
                id = json_string_value(jid);
                il = json_string_length(jid);
            } else if (json_is_integer(jid)) {
                snprintf(idbuf, sizeof idbuf, "%" JSON_INTEGER_FORMAT, json_integer_value(jid));
                id = idbuf;
                il = strlen(idbuf);
            }
            int rc = fn(ctx, id, il, title, tl, body, bl);
            json_decref(o);
            if (rc) {
                ret = -1;
                break;
            }
            continue;
        }
        json_decref(o);
        if (++*skipped <= 5) {
            progress_clear();
            cli_msg("%s:%lu: skipped: not a JSON object with string title and body", path, lineno);
        }
    }
    if (r < 0 && ret == 0) {
        progress_clear();
        cli_msg("%s: %s", path, cli_lines_error(lines));
        ret = cli_interrupted ? CLI_EXIT_OTHER : CLI_EXIT_IO; /* or damaged zstd data */
    }
    ft_buf_free(&scratch);
    cli_lines_free(lines);
    return ret;
}

/* ------------------------------------------------------------------ posting lists in memory */

/* Every posting list of an index, decoded: docs, tfs and positions (each
 * document's positions, tf of them) in term order. */
typedef struct lists {
    uint64_t nterms, npost, npos;
    uint64_t *term_post;   /* nterms + 1 offsets into doc/tf */
    uint32_t *doc, *tf;
    uint32_t *pos;
    uint64_t cap_post, cap_pos, cap_terms;
    /* loading */
    const ft_index *ix;
    int rc;
    ft_error err;
} lists;

static void lists_free(lists *l)
{
    free(l->term_post);
    free(l->doc);
    free(l->tf);
    free(l->pos);
}

/* Make room for need elements in *p (capacity *cap).  Returns 0 or -1. */
#define GROW(p, cap, need)                                                                      \
    ((need) <= (cap) ? 0 : grow_arr((void *)&(p), &(cap), (need), sizeof *(p)))
static int grow_arr(void *pp, uint64_t *cap, uint64_t need, size_t elem)
{
    uint64_t c = *cap ? *cap : 4096;
    while (c < need) c *= 2;
    void *old;
    memcpy(&old, pp, sizeof old);
    void *q = realloc(old, (size_t)c * elem);
    if (!q) return -1;
    memcpy(pp, &q, sizeof q);
    *cap = c;
    return 0;
}

static int load_term(void *ctx, const char *term, size_t len, uint32_t df)
{
    lists *l = ctx;
    ft_postings *p;
    if ((l->rc = ft_postings_open(l->ix, term, len, &p, &l->err)) != FT_OK) return 1;
    uint64_t cap_tf = l->cap_post;
    if (GROW(l->term_post, l->cap_terms, l->nterms + 2) || GROW(l->doc, l->cap_post, l->npost + df) ||
        GROW(l->tf, cap_tf, l->npost + df)) {
        ft_postings_close(p);
        l->rc = ft_error_set(&l->err, FT_ENOMEM, "out of memory");
        return 1;
    }
    if (l->nterms == 0) l->term_post[0] = 0;
    uint32_t d;
    while ((d = ft_postings_next(p)) != FT_DOC_END) {
        if (l->npost >= l->cap_post) break; /* df lied: corrupt */
        const uint32_t *pos;
        uint32_t n;
        int rc = ft_postings_positions(p, &pos, &n);
        if (rc != FT_OK) {
            l->rc = ft_postings_status(p, &l->err);
            if (l->rc == FT_OK) l->rc = ft_error_set(&l->err, rc, "positions: %s", ft_strerror(rc));
            ft_postings_close(p);
            return 1;
        }
        if (GROW(l->pos, l->cap_pos, l->npos + n)) {
            ft_postings_close(p);
            l->rc = ft_error_set(&l->err, FT_ENOMEM, "out of memory");
            return 1;
        }
        memcpy(l->pos + l->npos, pos, n * sizeof(uint32_t));
        l->npos += n;
        l->doc[l->npost] = d;
        l->tf[l->npost] = ft_postings_tf(p);
        l->npost++;
    }
    if ((l->rc = ft_postings_status(p, &l->err)) != FT_OK) {
        ft_postings_close(p);
        return 1;
    }
    ft_postings_close(p);
    l->nterms++;
    l->term_post[l->nterms] = l->npost;
    progress(0, "reading posting lists: %" PRIu64 " terms, %" PRIu64 " postings", l->nterms,
             l->npost);
    return 0;
}

static int lists_load(const ft_index *ix, lists *l)
{
    memset(l, 0, sizeof *l);
    l->ix = ix;
    ft_error err = {0};
    int rc = ft_index_terms(ix, load_term, l, &err);
    if (l->rc != FT_OK) return lib_fail("reading posting lists", l->rc, &l->err);
    if (rc != FT_OK) return lib_fail("reading the dictionary", rc, &err);
    if (!l->term_post && !(l->term_post = calloc(1, sizeof(uint64_t)))) {
        cli_msg("out of memory");
        return CLI_EXIT_OTHER;
    }
    return CLI_EXIT_OK;
}

/* ------------------------------------------------------------------ layouts */

/* A layout: blocks of `block` postings, `frame` blocks per zstd frame, zstd
 * at `level` (0: plain varints, no frames).  what: which runs go in the frame
 * (both, gaps only or tfs only: to split a posting's bits). */
typedef struct layout {
    const char *name;
    unsigned block, frame;
    int level;
} layout;

enum { RUN_BOTH, RUN_GAPS, RUN_TFS };

typedef struct encoded {
    ft_buf post, pos;       /* frames: varint len<<1|z, [varint raw], bytes */
    uint64_t table_bytes;   /* frame-table bytes (len and raw-length varints) */
    uint64_t post_payload, pos_payload;
    int failed;
} encoded;

/* Append one frame of raw[0..n) to out, compressed when that is smaller and
 * n >= 64 (the format's rule); level 0 stores raw bytes with no header. */
static void put_frame(ZSTD_CCtx *cc, int level, const uint8_t *raw, size_t n, ft_buf *out,
                      ft_buf *tmp, uint64_t *table, uint64_t *payload, int *failed)
{
    if (level == 0) {
        ft_buf_append(out, raw, n);
        *payload += n;
        return;
    }
    size_t bound = ZSTD_compressBound(n);
    ft_buf_reset(tmp);
    if (ft_buf_reserve(tmp, bound)) {
        *failed = 1;
        return;
    }
    size_t c = n >= 64 ? ZSTD_compressCCtx(cc, tmp->p, bound, raw, n, level) : 0;
    int z = n >= 64 && !ZSTD_isError(c) && c < n;
    uint8_t hdr[20];
    size_t h = ft_varint_put(hdr, (uint64_t)(z ? c : n) << 1 | (unsigned)z);
    if (z) h += ft_varint_put(hdr + h, n);
    ft_buf_append(out, hdr, h);
    *table += h;
    ft_buf_append(out, z ? tmp->p : raw, z ? c : n);
    *payload += z ? c : n;
}

/* Encode every list of l under layout lay (runs: RUN_*). */
static int encode_all(const lists *l, const layout *lay, int runs, int with_pos, encoded *e)
{
    memset(e, 0, sizeof *e);
    ft_buf_init(&e->post);
    ft_buf_init(&e->pos);
    ft_buf raw, rawpos, tmp, tfs;
    ft_buf_init(&raw);
    ft_buf_init(&rawpos);
    ft_buf_init(&tmp);
    ft_buf_init(&tfs);
    ZSTD_CCtx *cc = ZSTD_createCCtx();
    if (!cc) return -1;
    uint64_t pi = 0;
    for (uint64_t t = 0; t < l->nterms; t++) {
        uint64_t a = l->term_post[t], b = l->term_post[t + 1];
        int64_t prev = -1;
        uint64_t nblocks = (b - a + lay->block - 1) / lay->block;
        for (uint64_t fb = 0; fb < nblocks; fb += lay->frame) {
            ft_buf_reset(&raw);
            ft_buf_reset(&rawpos);
            for (uint64_t blk = fb; blk < fb + lay->frame && blk < nblocks; blk++) {
                uint64_t s = a + blk * lay->block, e2 = s + lay->block < b ? s + lay->block : b;
                ft_buf_reset(&tfs);
                for (uint64_t i = s; i < e2; i++) {
                    if (runs != RUN_TFS) ft_buf_put_varint(&raw, (uint64_t)(l->doc[i] - prev - 1));
                    prev = l->doc[i];
                    if (runs != RUN_GAPS) ft_buf_put_varint(&tfs, l->tf[i]);
                    if (with_pos) {
                        uint32_t last = 0;
                        for (uint32_t k = 0; k < l->tf[i]; k++, pi++) {
                            ft_buf_put_varint(&rawpos, k ? l->pos[pi] - last : l->pos[pi]);
                            last = l->pos[pi];
                        }
                    }
                }
                ft_buf_append(&raw, tfs.p, tfs.len);
            }
            put_frame(cc, lay->level, raw.p, raw.len, &e->post, &tmp, &e->table_bytes,
                      &e->post_payload, &e->failed);
            if (with_pos)
                put_frame(cc, lay->level, rawpos.p, rawpos.len, &e->pos, &tmp, &e->table_bytes,
                          &e->pos_payload, &e->failed);
        }
    }
    ZSTD_freeCCtx(cc);
    int bad = e->failed || raw.failed || rawpos.failed || tmp.failed || tfs.failed ||
              e->post.failed || e->pos.failed;
    ft_buf_free(&raw);
    ft_buf_free(&rawpos);
    ft_buf_free(&tmp);
    ft_buf_free(&tfs);
    return bad ? -1 : 0;
}

static void encoded_free(encoded *e)
{
    ft_buf_free(&e->post);
    ft_buf_free(&e->pos);
}

static volatile uint64_t decode_sink;

/* Decode every posting (gaps and tfs) of e, as a query would: per frame,
 * decompress, then turn the varints into documents and frequencies.  Returns
 * seconds; *check receives a sum so the work cannot be optimised away. */
static double decode_postings(const lists *l, const layout *lay, const encoded *e, ZSTD_DCtx *dc,
                              uint8_t *scratch, size_t scratch_cap, uint32_t *docs, uint32_t *tfv,
                              uint64_t *check)
{
    double t0 = cli_now();
    const uint8_t *p = e->post.p, *end = p + e->post.len;
    uint64_t sum = 0;
    for (uint64_t t = 0; t < l->nterms; t++) {
        uint64_t n = l->term_post[t + 1] - l->term_post[t];
        uint64_t nblocks = (n + lay->block - 1) / lay->block;
        uint64_t left = n;
        uint32_t prev = UINT32_MAX;
        for (uint64_t fb = 0; fb < nblocks; fb += lay->frame) {
            const uint8_t *raw;
            size_t rawlen;
            uint64_t inframe = (uint64_t)lay->frame * lay->block;
            if (left < inframe) inframe = left;
            if (lay->level == 0) {
                raw = p;
                rawlen = (size_t)(end - p);
            } else {
                uint64_t f = 0, rl = 0;
                ft_varint_get(&p, end, &f);
                if (f & 1) ft_varint_get(&p, end, &rl);
                size_t stored = (size_t)(f >> 1);
                if (f & 1) {
                    size_t got = ZSTD_decompressDCtx(dc, scratch, scratch_cap, p, stored);
                    if (ZSTD_isError(got)) return -1;
                    raw = scratch;
                    rawlen = got;
                } else {
                    raw = p;
                    rawlen = stored;
                }
                p += stored;
            }
            /* blocks: gaps then tfs */
            const uint8_t *q = raw, *qe = raw + rawlen;
            uint64_t done = 0;
            while (done < inframe) {
                uint64_t m = inframe - done < lay->block ? inframe - done : lay->block;
                for (uint64_t i = 0; i < m; i++) {
                    uint32_t g = 0;
                    ft_varint_get32(&q, qe, &g);
                    prev += g + 1;
                    docs[i] = prev;
                }
                for (uint64_t i = 0; i < m; i++) ft_varint_get32(&q, qe, &tfv[i]);
                sum += docs[m - 1] + tfv[m - 1];
                done += m;
            }
            if (lay->level == 0) p = q;
            left -= inframe;
        }
    }
    *check = sum;
    return cli_now() - t0;
}

/* Decode every position of e; returns seconds. */
static double decode_positions(const lists *l, const layout *lay, const encoded *e,
                               ZSTD_DCtx *dc, uint8_t *scratch, size_t scratch_cap,
                               uint64_t *check)
{
    double t0 = cli_now();
    const uint8_t *p = e->pos.p, *end = p + e->pos.len;
    uint64_t sum = 0;
    if (lay->level == 0) {
        for (uint64_t i = 0; i < l->npos; i++) {
            uint32_t v = 0;
            ft_varint_get32(&p, end, &v);
            sum += v;
        }
    } else {
        while (p < end) {
            uint64_t f = 0, rl = 0;
            ft_varint_get(&p, end, &f);
            if (f & 1) ft_varint_get(&p, end, &rl);
            size_t stored = (size_t)(f >> 1);
            const uint8_t *raw = p;
            size_t rawlen = stored;
            if (f & 1) {
                size_t got = ZSTD_decompressDCtx(dc, scratch, scratch_cap, p, stored);
                if (ZSTD_isError(got)) return -1;
                raw = scratch;
                rawlen = got;
            }
            p += stored;
            const uint8_t *q = raw, *qe = raw + rawlen;
            while (q < qe) {
                uint32_t v;
                if (ft_varint_get32(&q, qe, &v)) break;
                sum += v;
            }
        }
    }
    *check = sum;
    return cli_now() - t0;
}

/* ------------------------------------------------------------------ ftbench index */

typedef struct index_run {
    ft_writer *w;
    uint64_t docs, bytes;
    double t0;
    int rc;
    ft_error err;
    unsigned long rejected;
} index_run;

static int add_doc(void *ctx, const char *id, size_t il, const char *title, size_t tl,
                   const char *body, size_t bl)
{
    index_run *r = ctx;
    ft_error err = {0};
    int rc = ft_writer_add(r->w, id, il, title, tl, body, bl, &err);
    if (rc == FT_EINVAL) {
        r->rejected++;
        return 0;
    }
    if (rc != FT_OK) {
        r->rc = rc;
        r->err = err;
        return -1;
    }
    r->docs++;
    r->bytes += il + tl + bl;
    if (progress_on && (r->docs & 255) == 0) {
        double s = cli_now() - r->t0;
        progress(0, "indexing: %" PRIu64 " documents, %.1f MB, %.1f MB/s", r->docs,
                 (double)r->bytes / 1e6, s > 0 ? (double)r->bytes / 1e6 / s : 0.0);
    }
    return cli_interrupted ? -1 : 0;
}

static uint64_t dir_bytes(const char *dir, const char *suffix)
{
    DIR *d = opendir(dir);
    if (!d) return 0;
    uint64_t sum = 0;
    struct dirent *e;
    char path[4096];
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        if (suffix && !ends_with(e->d_name, suffix)) continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) sum += (uint64_t)st.st_size;
    }
    closedir(d);
    return sum;
}

static void rm_index_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    char path[4096];
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

/* Bits per doc-id gap and per frequency: each run compressed alone in the
 * format's frames (B = 128, F = 8, level 1). */
static int gap_tf_split(const char *dir, double *gap_bits, double *tf_bits, uint64_t *npost)
{
    ft_index *ix;
    ft_error err = {0};
    int rc = ft_index_open(dir, &ix, &err);
    if (rc != FT_OK) return lib_fail(dir, rc, &err);
    lists l;
    int st = lists_load(ix, &l);
    if (st == CLI_EXIT_OK) {
        layout lay = {"format", 128, 8, 1};
        encoded eg, et;
        if (encode_all(&l, &lay, RUN_GAPS, 0, &eg) || encode_all(&l, &lay, RUN_TFS, 0, &et)) {
            cli_msg("out of memory");
            st = CLI_EXIT_OTHER;
        } else {
            *npost = l.npost;
            *gap_bits = l.npost ? 8.0 * (double)eg.post_payload / (double)l.npost : 0;
            *tf_bits = l.npost ? 8.0 * (double)et.post_payload / (double)l.npost : 0;
        }
        encoded_free(&eg);
        encoded_free(&et);
    }
    lists_free(&l);
    ft_index_close(ix);
    return st;
}

static int cmd_index(int argc, char **argv)
{
    static const struct option opts[] = {
        {"output", required_argument, NULL, 'o'}, {"memory", required_argument, NULL, 'm'},
        {"lang", required_argument, NULL, 'l'},   {"quiet", no_argument, NULL, 'q'},
        {"json", no_argument, NULL, 'J'},         {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *out = NULL, *memory = NULL, *lang = "english";
    unsigned long threads = 1;
    int quiet = 0, json = 0, ch;
    unsigned long long mem_bytes = 0;
    while ((ch = getopt_long(argc, argv, "o:j:qh", opts, NULL)) != -1) {
        switch (ch) {
        case 'o': out = optarg; break;
        case 'm':
            memory = optarg;
            if (parse_size(optarg, &mem_bytes))
                return cli_usage_error("index", "--memory wants a size such as 512M (got '%s')",
                                       optarg);
            break;
        case 'j':
            if (parse_count("-j", optarg, 1, 256, &threads)) return CLI_EXIT_USAGE;
            break;
        case 'l': lang = optarg; break;
        case 'q': quiet = 1; break;
        case 'J': json = 1; break;
        case 'h': usage(stdout); return CLI_EXIT_OK;
        default: return try_help();
        }
    }
    if (optind >= argc) return cli_usage_error("index", "no CORPUS file given");
    progress_on = !quiet && isatty(STDERR_FILENO);
    /* Parallel analysis needs the caller's threads (ft_tokens_analyze, as in
     * `ftindex build -j N`); this measures the one-thread pipeline. */
    if (threads > 1)
        cli_msg("-j: not supported here (ftindex build -j N runs analysis threads); "
                "building with 1 thread");

    ft_writer_opts wo;
    ft_writer_opts_default(&wo);
    if (memory) wo.memory = mem_bytes;
    if (strlen(lang) >= sizeof wo.analyzer.lang)
        return cli_usage_error("index", "--lang: no such language '%s'", lang);
    snprintf(wo.analyzer.lang, sizeof wo.analyzer.lang, "%s", lang);

    char tmpl[] = "/tmp/ftbench-XXXXXX";
    const char *dir = out;
    if (!dir) {
        if (!mkdtemp(tmpl)) {
            int e = errno;
            cli_msg("cannot create a temporary directory: %s", strerror(e));
            return cli_exit_for_errno(e);
        }
        dir = tmpl;
    }
    int status = CLI_EXIT_OTHER; /* until the report is out; failures below say which */
    index_run r;
    memset(&r, 0, sizeof r);
    ft_error err = {0};
    double c0 = cpu_seconds(), t0 = cli_now();
    r.t0 = t0;
    int rc = ft_writer_open(dir, &wo, &r.w, &err);
    if (rc != FT_OK) {
        status = lib_fail(dir, rc, &err);
        goto done;
    }
    unsigned long skipped = 0;
    for (int i = optind; i < argc; i++) {
        int st = read_jsonl(argv[i], add_doc, &r, &skipped);
        if (st < 0 && r.rc) status = lib_fail(argv[i], r.rc, &r.err);
        else if (st < 0) cli_msg("interrupted"); /* CLI_EXIT_OTHER */
        else if (st > 0) status = st;
        if (st) goto done;
    }
    if (r.docs == 0) {
        cli_msg("no documents in the input");
        goto done; /* CLI_EXIT_OTHER: nothing to index */
    }
    double t_add = cli_now();
    progress(1, "committing %" PRIu64 " documents ...", r.docs);
    if ((rc = ft_writer_commit(r.w, &err)) != FT_OK) {
        status = lib_fail(dir, rc, &err);
        goto done;
    }
    double t1 = cli_now(), c1 = cpu_seconds();
    long rss = peak_rss_kb();
    ft_writer_stats st;
    ft_writer_get_stats(r.w, &st);
    unsigned segments = ft_writer_segments(r.w);
    ft_writer_close(r.w);
    r.w = NULL;

    double gap_bits = 0, tf_bits = 0;
    uint64_t npost = 0;
    if ((status = gap_tf_split(dir, &gap_bits, &tf_bits, &npost)) != CLI_EXIT_OK) goto done;
    progress_clear();

    double secs = t1 - t0, mb = (double)st.input_bytes / 1e6;
    uint64_t ix_bytes =
        st.bytes_dict + st.bytes_postings + st.bytes_positions + st.bytes_lengths + st.bytes_ids;
    uint64_t disk = dir_bytes(dir, NULL);
    char settings[512];
    snprintf(settings, sizeof settings,
             "lang=%s zstd_level=%d store_level=%d block=%u frame=%u threads=1 memory=%" PRIu64
             " bytes; single-threaded read+parse+add+commit",
             lang, wo.zstd_level ? wo.zstd_level : 1, wo.store_level ? wo.store_level : 1,
             wo.block_postings ? wo.block_postings : 128, wo.frame_blocks ? wo.frame_blocks : 8,
             (uint64_t)wo.memory);
    if (json) {
        json_t *o = json_object();
        json_object_set_new(o, "docs", json_integer((json_int_t)st.docs));
        json_object_set_new(o, "input_bytes", json_integer((json_int_t)st.input_bytes));
        json_object_set_new(o, "seconds", json_real(secs));
        json_object_set_new(o, "seconds_add", json_real(t_add - t0));
        json_object_set_new(o, "seconds_commit", json_real(t1 - t_add));
        json_object_set_new(o, "cpu_seconds", json_real(c1 - c0));
        json_object_set_new(o, "docs_per_s", json_real((double)st.docs / secs));
        json_object_set_new(o, "mb_per_s", json_real(mb / secs));
        json_object_set_new(o, "peak_rss_kb", json_integer(rss));
        json_object_set_new(o, "tokens", json_integer((json_int_t)st.tokens));
        json_object_set_new(o, "terms", json_integer((json_int_t)st.terms));
        json_object_set_new(o, "postings", json_integer((json_int_t)st.postings));
        json_object_set_new(o, "bytes_dict", json_integer((json_int_t)st.bytes_dict));
        json_object_set_new(o, "bytes_postings", json_integer((json_int_t)st.bytes_postings));
        json_object_set_new(o, "bytes_positions", json_integer((json_int_t)st.bytes_positions));
        json_object_set_new(o, "bytes_lengths", json_integer((json_int_t)st.bytes_lengths));
        json_object_set_new(o, "bytes_ids", json_integer((json_int_t)st.bytes_ids));
        json_object_set_new(o, "bytes_store", json_integer((json_int_t)st.bytes_store));
        json_object_set_new(o, "segments_written", json_integer(segments));
        json_object_set_new(o, "index_bytes", json_integer((json_int_t)ix_bytes));
        json_object_set_new(o, "disk_bytes", json_integer((json_int_t)disk));
        json_object_set_new(o, "bits_per_posting",
                            json_real(st.postings ? 8.0 * st.bytes_postings / st.postings : 0));
        json_object_set_new(o, "bits_per_gap", json_real(gap_bits));
        json_object_set_new(o, "bits_per_tf", json_real(tf_bits));
        json_object_set_new(o, "bits_per_position",
                            json_real(st.tokens ? 8.0 * st.bytes_positions / st.tokens : 0));
        json_object_set_new(o, "index_ratio", json_real((double)ix_bytes / st.input_bytes));
        footer_json(o, settings);
        json_dumpf(o, stdout, JSON_PRESERVE_ORDER);
        putchar('\n');
        json_decref(o);
    } else {
        printf("input       %" PRIu64 " documents, %.1f MB of id+title+body text (%lu lines "
               "skipped, %lu documents rejected)\n",
               st.docs, mb, skipped, r.rejected);
        printf("time        %.3f s wall (add %.3f s, commit %.3f s), %.3f s CPU\n", secs,
               t_add - t0, t1 - t_add, c1 - c0);
        printf("speed       %.0f documents/s, %.2f MB/s\n", (double)st.docs / secs, mb / secs);
        printf("peak RSS    %.1f MB\n", rss / 1024.0);
        printf("content     %" PRIu64 " tokens, %" PRIu64 " terms, %" PRIu64 " postings\n",
               st.tokens, st.terms, st.postings);
        printf("index       dictionary %" PRIu64 ", postings %" PRIu64 ", positions %" PRIu64
               ", lengths %" PRIu64 ", ids %" PRIu64 " = %" PRIu64
               " bytes (%.3f of the input, ratio %.2f:1)\n",
               st.bytes_dict, st.bytes_postings, st.bytes_positions, st.bytes_lengths,
               st.bytes_ids, ix_bytes, (double)ix_bytes / st.input_bytes,
               (double)st.input_bytes / ix_bytes);
        printf("segments    %u written\n", segments);
        printf("store       %" PRIu64 " bytes (ids, titles, text; %.3f of the input); %" PRIu64
               " bytes on disk in all\n",
               st.bytes_store, (double)st.bytes_store / st.input_bytes, disk);
        printf("bits        %.2f per posting (doc-id gap + frequency, as stored), %.2f per "
               "position\n",
               st.postings ? 8.0 * st.bytes_postings / st.postings : 0.0,
               st.tokens ? 8.0 * st.bytes_positions / st.tokens : 0.0);
        printf("            split: %.2f per doc-id gap, %.2f per frequency (each run compressed "
               "alone)\n",
               gap_bits, tf_bits);
        if (out) printf("kept        %s\n", out);
        footer_text(settings);
    }
    status = CLI_EXIT_OK;
done:
    progress_clear();
    ft_writer_close(r.w);
    if (!out) rm_index_dir(tmpl);
    return status;
}

/* ------------------------------------------------------------------ queries */

typedef struct qline { char *qid, *text; } qline;

enum { MODE_ANY, MODE_ALL, MODE_PHRASE, MODE_ASWRITTEN };
static const char *const mode_names[] = {"any", "all", "phrase", "as-written"};

static int parse_mode(const char *s, int *mode)
{
    for (int i = 0; i < 4; i++)
        if (!strcmp(s, mode_names[i])) {
            *mode = i;
            return 0;
        }
    return -1;
}

/* any and all read the text as plain words (bag of words, whatever characters
 * it holds); phrase (the text in quotes) and as-written use the query language. */
static int parse_query(ft_analyzer *an, int mode, const char *text, ft_query **q, ft_error *err)
{
    if (mode == MODE_ANY || mode == MODE_ALL)
        return ft_query_parse_plain(an, text, strlen(text), q, err);
    return ft_query_parse(an, text, strlen(text), q, err);
}

static void free_queries(qline *q, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(q[i].qid);
        free(q[i].text);
    }
    free(q);
}

/* Read QID<TAB>TEXT or TEXT lines (qid = line number); the text of phrase
 * mode is wrapped in double quotes.  Returns CLI_EXIT_OK or an exit status
 * after a message. */
static int read_queries(const char *path, int mode, qline **out, size_t *nout)
{
    *out = NULL;
    *nout = 0;
    cli_stream *s = cli_stream_open(path, CLI_ZSTD_DETECT);
    if (!s) return sys_fail(path, errno);
    cli_lines *ls = cli_lines_new(s);
    if (!ls) {
        cli_msg("out of memory");
        return CLI_EXIT_OTHER;
    }
    qline *v = NULL;
    size_t n = 0, cap = 0;
    char *line;
    size_t len;
    unsigned long lineno;
    int r;
    while ((r = cli_lines_next(ls, &line, &len, &lineno)) == 1) {
        while (len && (line[len - 1] == '\r' || line[len - 1] == ' ')) line[--len] = '\0';
        if (is_blank(line, len)) continue;
        char num[32], *text = line, *qid = num;
        snprintf(num, sizeof num, "%lu", lineno);
        char *tab = strchr(line, '\t');
        if (tab) {
            *tab = '\0';
            qid = line;
            text = tab + 1;
            qid += strspn(qid, " ");
            if (!*qid) qid = num;
        }
        if (n == cap) {
            cap = cap ? 2 * cap : 256;
            qline *nv = realloc(v, cap * sizeof *v);
            if (!nv) goto nomem;
            v = nv;
        }
        v[n].qid = strdup(qid);
        if (mode == MODE_PHRASE) {
            size_t tl = strlen(text);
            v[n].text = malloc(tl + 3);
            if (v[n].text) {
                v[n].text[0] = '"';
                memcpy(v[n].text + 1, text, tl);
                memcpy(v[n].text + 1 + tl, "\"", 2);
            }
        } else {
            v[n].text = strdup(text);
        }
        n++;
        if (!v[n - 1].qid || !v[n - 1].text) goto nomem;
    }
    if (r < 0) {
        cli_msg("%s: %s", path, cli_lines_error(ls));
        free_queries(v, n);
        cli_lines_free(ls);
        return CLI_EXIT_IO;
    }
    cli_lines_free(ls);
    *out = v;
    *nout = n;
    return CLI_EXIT_OK;
nomem:
    cli_msg("out of memory");
    free_queries(v, n);
    cli_lines_free(ls);
    return CLI_EXIT_OTHER;
}

/* ------------------------------------------------------------------ ftbench query */

typedef struct qbench {
    const ft_index *ix;
    const qline *q;
    size_t nq;
    ft_search_opts so;
    int mode;
    int fetch;            /* 1: fetch each hit's stored document; 2: and its snippet */
    atomic_size_t next;
    atomic_uint unparsed;
    double *lat;          /* seconds per query of the current pass */
    atomic_uint_fast64_t hits, matches;
    atomic_int failed;
    pthread_mutex_t mu;   /* guards err */
    ft_error err;
    int err_rc;
} qbench;

typedef struct qworker {
    qbench *b;
    ft_analyzer *an;
    ft_docbuf *db;
    pthread_t th;
} qworker;

/* What a search front end does with the hits: fetch each stored document
 * (id, title) and, with --snippets, make its snippet. */
static int fetch_hits(qworker *w, const ft_query *q, const ft_results *res, ft_error *err)
{
    ft_snipper *sn = NULL;
    int rc = w->b->fetch > 1 ? ft_snipper_new(w->b->ix, w->an, q, res, &sn, err) : FT_OK;
    for (size_t h = 0; h < res->n && rc == FT_OK; h++) {
        ft_doc d;
        rc = ft_index_doc(w->b->ix, res->hits[h].doc, w->db, &d, err);
        if (rc == FT_OK && sn) {
            char *snip = NULL;
            rc = ft_snipper_get(sn, h, &d, NULL, &snip, err);
            free(snip);
        }
    }
    ft_snipper_free(sn);
    return rc;
}

static void *qworker_run(void *arg)
{
    qworker *w = arg;
    qbench *b = w->b;
    uint64_t hits = 0, matches = 0;
    for (;;) {
        size_t i = atomic_fetch_add(&b->next, 1);
        if (i >= b->nq || atomic_load(&b->failed)) break;
        ft_error err = {0};
        ft_query *q = NULL;
        ft_results res = {0};
        double t0 = cli_now();
        int rc = parse_query(w->an, b->mode, b->q[i].text, &q, &err);
        if (rc == FT_EINVAL) { /* not a valid query: counted, left out of the latencies */
            b->lat[i] = -1;
            atomic_fetch_add(&b->unparsed, 1);
            if (q) ft_query_free(q);
            continue;
        }
        if (rc == FT_OK) rc = ft_search(b->ix, q, &b->so, &res, &err);
        if (rc == FT_OK && b->fetch) rc = fetch_hits(w, q, &res, &err);
        b->lat[i] = cli_now() - t0;
        hits += res.n;
        matches += res.matches;
        ft_results_free(&res);
        if (q) ft_query_free(q);
        if (rc != FT_OK) {
            pthread_mutex_lock(&b->mu);
            if (!atomic_load(&b->failed)) {
                b->err = err;
                b->err_rc = rc;
                snprintf(b->err.msg + strlen(b->err.msg),
                         sizeof b->err.msg - strlen(b->err.msg), " (query %s)", b->q[i].qid);
            }
            atomic_store(&b->failed, 1);
            pthread_mutex_unlock(&b->mu);
            break;
        }
    }
    atomic_fetch_add(&b->hits, hits);
    atomic_fetch_add(&b->matches, matches);
    return NULL;
}

static int run_pass(qbench *b, qworker *w, unsigned nthreads, double *secs);

/* A run_pass with --fetch (no snippets) in a --snippets benchmark. */
static int fetch_pass(qbench *b, qworker *w, unsigned nthreads, double *secs)
{
    b->fetch = 1;
    b->so.snippets = 0;
    int st = run_pass(b, w, nthreads, secs);
    b->fetch = 2;
    b->so.snippets = 1;
    return st;
}

/* One pass over all queries with the workers: *secs gets the wall time.
 * Returns CLI_EXIT_OK or an exit status after a message. */
static int run_pass(qbench *b, qworker *w, unsigned nthreads, double *secs)
{
    atomic_store(&b->next, 0);
    atomic_store(&b->unparsed, 0);
    atomic_store(&b->hits, 0);
    atomic_store(&b->matches, 0);
    double t0 = cli_now();
    if (nthreads == 1) {
        qworker_run(&w[0]);
    } else {
        unsigned started = 0;
        for (unsigned i = 0; i < nthreads; i++) {
            if (pthread_create(&w[i].th, NULL, qworker_run, &w[i])) break;
            started++;
        }
        for (unsigned i = 0; i < started; i++) pthread_join(w[i].th, NULL);
        if (started < nthreads) {
            cli_msg("cannot start %u threads", nthreads);
            return CLI_EXIT_OTHER;
        }
    }
    *secs = cli_now() - t0;
    if (atomic_load(&b->failed)) return lib_fail("search failed", b->err_rc, &b->err);
    return CLI_EXIT_OK;
}

typedef struct latstats {
    double qps, mean, p50, p95, p99, max;
    size_t n;
} latstats;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentiles of v[0..n) in seconds (sorted in place; negative
 * entries dropped). */
static void lat_summary(double *v, size_t n, double wall, latstats *s)
{
    memset(s, 0, sizeof *s);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) /* queries that did not parse are marked -1 */
        if (v[i] >= 0) v[m++] = v[i];
    n = m;
    s->n = n;
    if (!n) return;
    qsort(v, n, sizeof *v, cmp_double);
    double sum = 0;
    for (size_t i = 0; i < n; i++) sum += v[i];
    s->mean = sum / (double)n;
#define PCT(p) v[(size_t)ceil((p) / 100.0 * (double)n) - 1]
    s->p50 = PCT(50);
    s->p95 = PCT(95);
    s->p99 = PCT(99);
#undef PCT
    s->max = v[n - 1];
    s->qps = wall > 0 ? (double)n / wall : 0;
}

/* Drop the page-cache pages of every file in dir; returns the fraction of
 * their pages still resident afterwards (mincore), or -1 if unknown. */
static double drop_pages(const char *dir, int *dropped)
{
    DIR *d = opendir(dir);
    *dropped = 0;
    if (!d) return -1;
    struct dirent *e;
    char path[4096];
    uint64_t pages = 0, resident = 0;
    long psz = sysconf(_SC_PAGESIZE);
    int ok = 1;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        int fd = open(path, O_RDONLY);
        if (fd < 0) continue;
        struct stat st;
        if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
            fdatasync(fd);
            if (posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) != 0) ok = 0;
            void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
            if (m != MAP_FAILED) {
                size_t np = ((size_t)st.st_size + (size_t)psz - 1) / (size_t)psz;
                unsigned char *vec = malloc(np);
                if (vec && mincore(m, (size_t)st.st_size, vec) == 0) {
                    for (size_t i = 0; i < np; i++) resident += vec[i] & 1;
                    pages += np;
                }
                free(vec);
                munmap(m, (size_t)st.st_size);
            }
        }
        close(fd);
    }
    closedir(d);
    *dropped = ok;
    return pages ? (double)resident / (double)pages : -1;
}

static json_t *lat_json(const latstats *s)
{
    json_t *o = json_object();
    json_object_set_new(o, "qps", json_real(s->qps));
    json_object_set_new(o, "mean_ms", json_real(s->mean * 1e3));
    json_object_set_new(o, "p50_ms", json_real(s->p50 * 1e3));
    json_object_set_new(o, "p95_ms", json_real(s->p95 * 1e3));
    json_object_set_new(o, "p99_ms", json_real(s->p99 * 1e3));
    json_object_set_new(o, "max_ms", json_real(s->max * 1e3));
    return o;
}

static void lat_print(const char *what, const latstats *s)
{
    printf("%-6s %10.1f %9.3f %9.3f %9.3f %9.3f %9.3f %8zu\n", what, s->qps, s->mean * 1e3,
           s->p50 * 1e3, s->p95 * 1e3, s->p99 * 1e3, s->max * 1e3, s->n);
}

/* Write a TREC run of qs against ix (one thread).  Returns CLI_EXIT_OK or an
 * exit status after a message. */
static int write_run(const ft_index *ix, const qline *qs, size_t nq, int mode,
                     const ft_search_opts *so, const char *path, const char *tag)
{
    FILE *f = fopen(path, "w");
    if (!f) return sys_fail(path, errno);
    ft_analyzer *an;
    ft_error err = {0};
    int rc = ft_analyzer_new(ft_index_analyzer_opts(ix), &an, &err);
    if (rc != FT_OK) {
        fclose(f);
        return lib_fail("analyzer", rc, &err);
    }
    ft_docbuf *db = ft_docbuf_new();
    if (!db) {
        fclose(f);
        ft_analyzer_free(an);
        cli_msg("out of memory");
        return CLI_EXIT_OTHER;
    }
    for (size_t i = 0; i < nq && rc == FT_OK; i++) {
        ft_query *q = NULL;
        ft_results res = {0};
        rc = parse_query(an, mode, qs[i].text, &q, &err);
        if (rc == FT_EINVAL) { /* skipped, as in the timed passes */
            rc = FT_OK;
            if (q) ft_query_free(q);
            continue;
        }
        if (rc == FT_OK) rc = ft_search(ix, q, so, &res, &err);
        for (size_t k = 0; rc == FT_OK && k < res.n; k++) {
            ft_doc d;
            rc = ft_index_doc(ix, res.hits[k].doc, db, &d, &err);
            if (rc == FT_OK)
                fprintf(f, "%s Q0 %.*s %zu %.6f %s\n", qs[i].qid, (int)d.id_len, d.id, k + 1,
                        res.hits[k].score, tag);
        }
        ft_results_free(&res);
        if (q) ft_query_free(q);
    }
    ft_analyzer_free(an);
    ft_docbuf_free(db);
    if (fclose(f) != 0 && rc == FT_OK) return sys_fail(path, errno);
    if (rc != FT_OK) return lib_fail(path, rc, &err);
    return CLI_EXIT_OK;
}

/* --latencies FILE: one line per query, "qid<TAB>median ms<TAB>text", the
 * median over the timed passes (-1 for a query that did not parse); for
 * finding the queries that dominate a pass. */
static int write_per_query(const char *path, const qline *qs, size_t nq, const double *all,
                           unsigned long repeat)
{
    FILE *f = fopen(path, "w");
    double *v = malloc(repeat * sizeof *v);
    if (!f || !v) {
        cli_msg("%s: %s", path, f ? "out of memory" : strerror(errno));
        if (f) fclose(f);
        free(v);
        return -1;
    }
    for (size_t i = 0; i < nq; i++) {
        for (unsigned long r = 0; r < repeat; r++) v[r] = all[r * nq + i];
        qsort(v, repeat, sizeof *v, cmp_double);
        double m = v[repeat / 2];
        fprintf(f, "%s\t%.4f\t%s\n", qs[i].qid, m < 0 ? -1.0 : m * 1e3, qs[i].text);
    }
    free(v);
    if (fclose(f) != 0) {
        cli_msg("%s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

static int cmd_query(int argc, char **argv)
{
    enum { O_MODE = 256, O_REPEAT, O_WARMUP, O_JSON, O_NOCOLD, O_RUN, O_PERQ, O_FETCH, O_SNIP, O_SNIPCOST };
    static const struct option opts[] = {
        {"index", required_argument, NULL, 'i'},   {"mode", required_argument, NULL, O_MODE},
        {"repeat", required_argument, NULL, O_REPEAT}, {"warmup", required_argument, NULL, O_WARMUP},
        {"json", no_argument, NULL, O_JSON},       {"no-cold", no_argument, NULL, O_NOCOLD},
        {"run", required_argument, NULL, O_RUN},   {"quiet", no_argument, NULL, 'q'},
        {"latencies", required_argument, NULL, O_PERQ}, {"fetch", no_argument, NULL, O_FETCH},
        {"snippets", no_argument, NULL, O_SNIP}, {"snippet-cost", no_argument, NULL, O_SNIPCOST},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
    };
    const char *dir = NULL, *runfile = NULL, *perq = NULL;
    int mode = MODE_ANY, json = 0, cold = 1, quiet = 0, fetch = 0, snipcost = 0, ch;
    unsigned long k = 10, threads = 1, repeat = 3, warmup = 1;
    while ((ch = getopt_long(argc, argv, "i:k:j:qh", opts, NULL)) != -1) {
        switch (ch) {
        case 'i': dir = optarg; break;
        case 'k':
            if (parse_count("-k", optarg, 1, 100000, &k)) return CLI_EXIT_USAGE;
            break;
        case 'j':
            if (parse_count("-j", optarg, 1, 256, &threads)) return CLI_EXIT_USAGE;
            break;
        case O_MODE:
            if (parse_mode(optarg, &mode))
                return cli_usage_error("query", "--mode wants any, all, phrase or as-written "
                                                "(got '%s')", optarg);
            break;
        case O_REPEAT:
            if (parse_count("--repeat", optarg, 1, 100000, &repeat)) return CLI_EXIT_USAGE;
            break;
        case O_WARMUP:
            if (parse_count("--warmup", optarg, 0, 100000, &warmup)) return CLI_EXIT_USAGE;
            break;
        case O_JSON: json = 1; break;
        case O_NOCOLD: cold = 0; break;
        case O_RUN: runfile = optarg; break;
        case O_PERQ: perq = optarg; break;
        case O_FETCH: fetch = fetch > 1 ? fetch : 1; break;
        case O_SNIP: fetch = 2; break;
        case O_SNIPCOST: fetch = 2; snipcost = 1; break;
        case 'q': quiet = 1; break;
        case 'h': usage(stdout); return CLI_EXIT_OK;
        default: return try_help();
        }
    }
    if (!dir) return cli_usage_error("query", "-i DIR is required");
    if (optind != argc - 1) return cli_usage_error("query", "give one QUERIES file");
    progress_on = !quiet && isatty(STDERR_FILENO);

    qline *qs;
    size_t nq;
    int status = read_queries(argv[optind], mode, &qs, &nq);
    if (status != CLI_EXIT_OK) return status;
    if (nq == 0) {
        cli_msg("%s: no queries", argv[optind]);
        free(qs);
        return CLI_EXIT_OTHER;
    }

    int dropped = 0;
    status = CLI_EXIT_OTHER; /* until the report is out; failures below say which */
    double resident = -1, open_secs;
    ft_index *ix = NULL;
    ft_error err = {0};
    qbench b;
    memset(&b, 0, sizeof b);
    pthread_mutex_init(&b.mu, NULL);
    qworker *w = calloc(threads, sizeof *w);
    double *all = malloc(nq * repeat * sizeof(double));
    /* --snippet-cost: the interleaved --fetch passes' latencies, and each
     * round's wall-time ratio */
    double *allf = snipcost ? malloc(nq * repeat * sizeof(double)) : NULL;
    double *ratio = snipcost ? malloc(repeat * sizeof(double)) : NULL;
    b.lat = malloc(nq * sizeof(double));
    if (!w || !all || !b.lat || (snipcost && (!allf || !ratio))) {
        cli_msg("out of memory");
        goto out;
    }
    if (cold) resident = drop_pages(dir, &dropped);
    double t0 = cli_now();
    int rc = ft_index_open(dir, &ix, &err);
    open_secs = cli_now() - t0;
    if (rc != FT_OK) {
        status = lib_fail(dir, rc, &err);
        goto out;
    }
    b.ix = ix;
    b.q = qs;
    b.nq = nq;
    ft_search_opts_default(&b.so);
    b.so.k = (unsigned)k;
    b.so.all = mode == MODE_ALL || mode == MODE_PHRASE;
    b.so.snippets = fetch > 1;
    b.mode = mode;
    b.fetch = fetch;
    for (unsigned i = 0; i < threads; i++) {
        w[i].b = &b;
        if (!(w[i].db = ft_docbuf_new())) {
            cli_msg("out of memory");
            goto out;
        }
        if ((rc = ft_analyzer_new(ft_index_analyzer_opts(ix), &w[i].an, &err)) != FT_OK) {
            status = lib_fail("analyzer", rc, &err);
            goto out;
        }
    }

    latstats cs = {0}, ws;
    double s;
    if (cold) {
        progress(1, "cold pass ...");
        if ((status = run_pass(&b, w, (unsigned)threads, &s)) != CLI_EXIT_OK) goto out;
        lat_summary(b.lat, nq, s, &cs);
    }
    for (unsigned long i = 0; i < warmup; i++) {
        progress(1, "warm-up pass %lu of %lu ...", i + 1, warmup);
        if (snipcost && (status = fetch_pass(&b, w, (unsigned)threads, &s)) != CLI_EXIT_OK) goto out;
        if ((status = run_pass(&b, w, (unsigned)threads, &s)) != CLI_EXIT_OK) goto out;
    }
    double wall = 0, wallf = 0;
    uint64_t hits = 0, matches = 0;
    unsigned unparsed = 0;
    for (unsigned long r = 0; r < repeat; r++) {
        progress(1, "timed pass %lu of %lu ...", r + 1, repeat);
        double sf = 0;
        if (snipcost) {
            if ((status = fetch_pass(&b, w, (unsigned)threads, &sf)) != CLI_EXIT_OK) goto out;
            wallf += sf;
            memcpy(allf + r * nq, b.lat, nq * sizeof(double));
        }
        if ((status = run_pass(&b, w, (unsigned)threads, &s)) != CLI_EXIT_OK) goto out;
        if (snipcost) ratio[r] = sf > 0 ? s / sf : 0;
        wall += s;
        memcpy(all + r * nq, b.lat, nq * sizeof(double));
        hits = atomic_load(&b.hits);
        matches = atomic_load(&b.matches);
        unparsed = atomic_load(&b.unparsed);
    }
    progress_clear();
    if (perq && write_per_query(perq, qs, nq, all, repeat)) goto out; /* before: the summary sorts */
    lat_summary(all, nq * repeat, wall, &ws);
    latstats fs = {0};
    double cost_median = 0, cost_total = 0; /* what snippets add, in % of the --fetch passes */
    if (snipcost) {
        lat_summary(allf, nq * repeat, wallf, &fs);
        qsort(ratio, repeat, sizeof *ratio, cmp_double);
        cost_median = (repeat % 2 ? ratio[repeat / 2] : (ratio[repeat / 2 - 1] + ratio[repeat / 2]) / 2 ) * 100 - 100;
        cost_total = wallf > 0 ? (wall / wallf) * 100 - 100 : 0;
    }
    if (runfile && (status = write_run(ix, qs, nq, mode, &b.so, runfile, "ft")) != CLI_EXIT_OK)
        goto out;

    char settings[512];
    snprintf(settings, sizeof settings,
             "mode=%s%s k=%lu threads=%lu repeat=%lu warmup=%lu k1=%.2f b=%.2f; latency = parse + "
             "search%s",
             mode_names[mode],
             mode == MODE_PHRASE       ? " (the text in double quotes, ft_query_parse)"
             : mode == MODE_ASWRITTEN ? " (ft_query_parse)"
                                      : " (plain words, ft_query_parse_plain)",
             k,
             threads, repeat, warmup, b.so.k1, b.so.b,
             fetch > 1 ? " + fetch of every hit's document + its snippet (--snippets)"
             : fetch   ? " + fetch of every hit's document (--fetch)"
                       : " (no document fetch)");
    char coldnote[200];
    if (!cold) snprintf(coldnote, sizeof coldnote, "not run (--no-cold)");
    else if (dropped && resident >= 0)
        snprintf(coldnote, sizeof coldnote,
                 "index pages dropped with posix_fadvise(DONTNEED), %.1f%% still resident; open "
                 "%.2f ms",
                 resident * 100, open_secs * 1e3);
    else
        snprintf(coldnote, sizeof coldnote, "page drop not permitted; cache state unknown");
    if (json) {
        json_t *o = lat_json(&ws);
        json_object_set_new(o, "queries", json_integer((json_int_t)nq));
        json_object_set_new(o, "timed_queries", json_integer((json_int_t)ws.n));
        json_object_set_new(o, "mode", json_string(mode_names[mode]));
        json_object_set_new(o, "k", json_integer((json_int_t)k));
        json_object_set_new(o, "threads", json_integer((json_int_t)threads));
        json_object_set_new(o, "repeat", json_integer((json_int_t)repeat));
        json_object_set_new(o, "warmup", json_integer((json_int_t)warmup));
        json_object_set_new(o, "hits", json_integer((json_int_t)hits));
        json_object_set_new(o, "matches", json_integer((json_int_t)matches));
        json_object_set_new(o, "unparsed", json_integer(unparsed));
        if (snipcost) {
            json_t *f = lat_json(&fs);
            json_object_set_new(f, "snippet_cost_median_pct", json_real(cost_median));
            json_object_set_new(f, "snippet_cost_total_pct", json_real(cost_total));
            json_object_set_new(o, "fetch_only", f);
        }
        if (cold) {
            json_t *c = lat_json(&cs);
            json_object_set_new(c, "pages_dropped", json_boolean(dropped));
            json_object_set_new(c, "resident_after_drop", json_real(resident));
            json_object_set_new(c, "open_ms", json_real(open_secs * 1e3));
            json_object_set_new(o, "cold", c);
        }
        footer_json(o, settings);
        json_dumpf(o, stdout, JSON_PRESERVE_ORDER);
        putchar('\n');
        json_decref(o);
    } else {
        printf("index    %s: %u documents, %u segment(s)\n", dir, ft_index_doc_count(ix),
               ft_index_segment_count(ix));
        printf("queries  %s: %zu, mode %s, top %lu; %" PRIu64 " hits, %" PRIu64
               " matching documents (a lower bound where pruning skipped some) per pass\n",
               argv[optind], nq, mode_names[mode], k, hits, matches);
        if (unparsed)
            printf("         %u queries are not valid in ft's query language: left out\n",
                   unparsed);
        printf("\n%-6s %10s %9s %9s %9s %9s %9s %8s\n", "pass", "QPS", "mean ms", "p50 ms",
               "p95 ms", "p99 ms", "max ms", "queries");
        if (cold) lat_print("cold", &cs);
        lat_print("warm", &ws);
        if (snipcost) lat_print("fetch", &fs);
        printf("\ncold: %s\nwarm: %lu timed pass(es) after %lu warm-up pass(es)\n", coldnote,
               repeat, warmup);
        if (snipcost)
            printf("fetch: the same passes with --fetch, each run just before one above; snippets add "
                   "%.1f%% (median of the %lu pairs' wall-time ratios), %.1f%% in all\n",
                   cost_median, repeat, cost_total);
        footer_text(settings);
    }
    status = CLI_EXIT_OK;
out:
    progress_clear();
    for (unsigned i = 0; w && i < threads; i++) {
        ft_analyzer_free(w[i].an);
        ft_docbuf_free(w[i].db);
    }
    free(w);
    free(all);
    free(allf);
    free(ratio);
    free(b.lat);
    pthread_mutex_destroy(&b.mu);
    ft_index_close(ix);
    free_queries(qs, nq);
    return status;
}

/* ------------------------------------------------------------------ ftbench eval */

/* Add every line of a qrels (qrels 1) or run file to s.  Returns CLI_EXIT_OK,
 * CLI_EXIT_USAGE for a malformed line, or another exit status, after a
 * message. */
static int load_lines(const char *path, ev_set *s, int qrels)
{
    cli_stream *st = cli_stream_open(path, CLI_ZSTD_DETECT);
    if (!st) return sys_fail(path, errno);
    cli_lines *ls = cli_lines_new(st);
    if (!ls) {
        cli_msg("out of memory");
        return CLI_EXIT_OTHER;
    }
    char *line, why[256];
    size_t len;
    unsigned long lineno;
    int r;
    while ((r = cli_lines_next(ls, &line, &len, &lineno)) == 1) {
        int a = qrels ? ev_parse_qrel_line(s, line, why, sizeof why)
                      : ev_parse_run_line(s, line, why, sizeof why);
        if (a < 0) {
            cli_msg("%s:%lu: %s", path, lineno, why);
            cli_lines_free(ls);
            return a == -1 ? CLI_EXIT_USAGE : CLI_EXIT_OTHER;
        }
    }
    if (r < 0) cli_msg("%s: %s", path, cli_lines_error(ls));
    cli_lines_free(ls);
    return r < 0 ? CLI_EXIT_IO : CLI_EXIT_OK;
}

/* Rank qs with ix and add the results to s, scores rounded as a TREC run
 * prints them (%.6f) so the figures equal those of the run file. */
static int rank_into(const ft_index *ix, const qline *qs, size_t nq, int mode,
                     const ft_search_opts *so, ev_set *s)
{
    ft_analyzer *an;
    ft_error err = {0};
    int rc = ft_analyzer_new(ft_index_analyzer_opts(ix), &an, &err);
    if (rc != FT_OK) return lib_fail("analyzer", rc, &err);
    ft_docbuf *db = ft_docbuf_new();
    if (!db) {
        ft_analyzer_free(an);
        cli_msg("out of memory");
        return CLI_EXIT_OTHER;
    }
    char idbuf[1024];
    for (size_t i = 0; i < nq && rc == FT_OK; i++) {
        ft_query *q = NULL;
        ft_results res = {0};
        rc = parse_query(an, mode, qs[i].text, &q, &err);
        if (rc == FT_EINVAL) { /* no results: scores 0 if judged */
            rc = FT_OK;
            if (q) ft_query_free(q);
            continue;
        }
        if (rc == FT_OK) rc = ft_search(ix, q, so, &res, &err);
        for (size_t k = 0; rc == FT_OK && k < res.n; k++) {
            ft_doc d;
            rc = ft_index_doc(ix, res.hits[k].doc, db, &d, &err);
            if (rc != FT_OK) break;
            snprintf(idbuf, sizeof idbuf, "%.*s", (int)d.id_len, d.id);
            char sc[64];
            snprintf(sc, sizeof sc, "%.6f", res.hits[k].score);
            if (ev_add_result(s, qs[i].qid, idbuf, strtod(sc, NULL)))
                rc = ft_error_set(&err, FT_ENOMEM, "out of memory");
        }
        progress(0, "ranking: %zu of %zu queries", i + 1, nq);
        ft_results_free(&res);
        if (q) ft_query_free(q);
    }
    ft_analyzer_free(an);
    ft_docbuf_free(db);
    if (rc != FT_OK) return lib_fail("search failed", rc, &err);
    return CLI_EXIT_OK;
}

static int cmd_eval(int argc, char **argv)
{
    enum { O_QUERIES = 256, O_QRELS, O_RUN, O_K1, O_B, O_PERQ, O_MODE, O_JSON };
    static const struct option opts[] = {
        {"index", required_argument, NULL, 'i'},    {"queries", required_argument, NULL, O_QUERIES},
        {"qrels", required_argument, NULL, O_QRELS}, {"run", required_argument, NULL, O_RUN},
        {"k1", required_argument, NULL, O_K1},       {"b", required_argument, NULL, O_B},
        {"per-query", no_argument, NULL, O_PERQ},    {"mode", required_argument, NULL, O_MODE},
        {"json", no_argument, NULL, O_JSON},         {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},            {NULL, 0, NULL, 0},
    };
    const char *dir = NULL, *queries = NULL, *qrels = NULL, *run = NULL;
    int per_query = 0, mode = MODE_ANY, json = 0, quiet = 0, ch;
    unsigned long k = 1000;
    ft_search_opts so;
    ft_search_opts_default(&so);
    double d;
    while ((ch = getopt_long(argc, argv, "i:k:qh", opts, NULL)) != -1) {
        switch (ch) {
        case 'i': dir = optarg; break;
        case 'k':
            if (parse_count("-k", optarg, 1, 1000000, &k)) return CLI_EXIT_USAGE;
            break;
        case O_QUERIES: queries = optarg; break;
        case O_QRELS: qrels = optarg; break;
        case O_RUN: run = optarg; break;
        case O_K1:
            if (cli_parse_double(optarg, &d) || d < 0)
                return cli_usage_error("eval", "--k1 wants a number >= 0 (got '%s')", optarg);
            so.k1 = d;
            break;
        case O_B:
            if (cli_parse_double(optarg, &d) || d < 0 || d > 1)
                return cli_usage_error("eval", "--b wants a number from 0 to 1 (got '%s')", optarg);
            so.b = d;
            break;
        case O_PERQ: per_query = 1; break;
        case O_MODE:
            if (parse_mode(optarg, &mode))
                return cli_usage_error("eval", "--mode wants any, all, phrase or as-written "
                                               "(got '%s')", optarg);
            break;
        case O_JSON: json = 1; break;
        case 'q': quiet = 1; break;
        case 'h': usage(stdout); return CLI_EXIT_OK;
        default: return try_help();
        }
    }
    if (optind < argc) return cli_usage_error("eval", "unexpected argument '%s'", argv[optind]);
    if (!qrels) return cli_usage_error("eval", "--qrels R is required");
    if (dir && !queries) return cli_usage_error("eval", "-i DIR needs --queries Q");
    if (!dir && (!run || queries))
        return cli_usage_error("eval", "give -i DIR --queries Q, or --run RUNFILE");
    progress_on = !quiet && isatty(STDERR_FILENO);
    so.k = (unsigned)k;
    so.all = mode == MODE_ALL || mode == MODE_PHRASE;

    ev_set *s = ev_new();
    if (!s) {
        cli_msg("out of memory");
        return CLI_EXIT_OTHER;
    }
    int status;
    ft_index *ix = NULL;
    qline *qs = NULL;
    size_t nq = 0;
    ev_query *per = NULL;
    size_t nper = 0;
    ev_measures mean;
    char why[256], settings[512];
    if ((status = load_lines(qrels, s, 1)) != CLI_EXIT_OK) goto out;
    if (dir) {
        ft_error err = {0};
        int rc = ft_index_open(dir, &ix, &err);
        if (rc != FT_OK) {
            status = lib_fail(dir, rc, &err);
            goto out;
        }
        if ((status = read_queries(queries, mode, &qs, &nq)) != CLI_EXIT_OK) goto out;
        if ((status = rank_into(ix, qs, nq, mode, &so, s)) != CLI_EXIT_OK) goto out;
        if (run && (status = write_run(ix, qs, nq, mode, &so, run, "ft")) != CLI_EXIT_OK) goto out;
        snprintf(settings, sizeof settings, "ft ranking of %s, mode=%s k=%lu k1=%.2f b=%.2f; qrels %s",
                 queries, mode_names[mode], k, so.k1, so.b, qrels);
    } else {
        if ((status = load_lines(run, s, 0)) != CLI_EXIT_OK) goto out;
        snprintf(settings, sizeof settings, "run %s; qrels %s", run, qrels);
    }
    progress_clear();
    int r = ev_evaluate(s, &per, &nper, &mean, why, sizeof why);
    if (r == -1) {
        cli_msg("out of memory");
        status = CLI_EXIT_OTHER;
        goto out;
    }
    if (r == -2) { /* a document retrieved twice for one query */
        cli_msg("%s: %s", run ? run : "ranking", why);
        status = run && !dir ? CLI_EXIT_USAGE : CLI_EXIT_OTHER; /* a bad run file, or a bug */
        goto out;
    }
    if (json) {
        json_t *o = json_object();
        for (int m = 0; m < EV_NMEASURES; m++)
            json_object_set_new(o, ev_measure_names[m], json_real(ev_measure_get(&mean, m)));
        json_object_set_new(o, "queries", json_integer((json_int_t)nper));
        footer_json(o, settings);
        json_dumpf(o, stdout, JSON_PRESERVE_ORDER);
        putchar('\n');
        json_decref(o);
    } else {
        if (per_query) {
            printf("%-8s", "qid");
            for (int m = 0; m < EV_NMEASURES; m++) printf(" %11s", ev_measure_names[m]);
            printf("\n");
            for (size_t i = 0; i < nper; i++) {
                printf("%-8s", per[i].qid);
                for (int m = 0; m < EV_NMEASURES; m++)
                    printf(" %11.4f", ev_measure_get(&per[i].m, m));
                printf("\n");
            }
            printf("\n");
        }
        printf("%-12s %8s %8s\n", "measure", "value", "queries");
        for (int m = 0; m < EV_NMEASURES; m++)
            printf("%-12s %8.4f %8zu\n", ev_measure_names[m], ev_measure_get(&mean, m), nper);
        printf("\nnDCG: ndcg_cut_10 is trec_eval's ndcg_cut.10 (gain = qrels value, rank r >= 2\n"
               "divided by log2(r)); ndcg@10 divides by log2(r + 1).  Queries without a relevant\n"
               "document are not scored; judged queries without results score 0.\n");
        footer_text(settings);
    }
    status = CLI_EXIT_OK;
out:
    progress_clear();
    free(per);
    ev_free(s);
    free_queries(qs, nq);
    ft_index_close(ix);
    return status;
}

/* ------------------------------------------------------------------ ftbench codec */

static int cmd_codec(int argc, char **argv)
{
    static const struct option opts[] = {
        {"index", required_argument, NULL, 'i'}, {"repeat", required_argument, NULL, 'r'},
        {"quiet", no_argument, NULL, 'q'},       {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *dir = NULL;
    unsigned long repeat = 3;
    int quiet = 0, ch;
    while ((ch = getopt_long(argc, argv, "i:qh", opts, NULL)) != -1) {
        switch (ch) {
        case 'i': dir = optarg; break;
        case 'r':
            if (parse_count("--repeat", optarg, 1, 1000, &repeat)) return CLI_EXIT_USAGE;
            break;
        case 'q': quiet = 1; break;
        case 'h': usage(stdout); return CLI_EXIT_OK;
        default: return try_help();
        }
    }
    if (!dir) return cli_usage_error("codec", "-i DIR is required");
    if (optind < argc) return cli_usage_error("codec", "unexpected argument '%s'", argv[optind]);
    progress_on = !quiet && isatty(STDERR_FILENO);

    static const layout lays[] = {
        {"varint, no compression", 128, 1, 0},
        {"zstd-1, 1 block of 128 per frame", 128, 1, 1},
        {"zstd-1, 8 blocks of 128 (format)", 128, 8, 1},
        {"zstd-1, 32 blocks of 128", 128, 32, 1},
        {"zstd-1, 4 blocks of 256", 256, 4, 1},
        {"zstd-3, 8 blocks of 128", 128, 8, 3},
        {"zstd-9, 8 blocks of 128", 128, 8, 9},
    };
    enum { NLAYS = sizeof lays / sizeof lays[0] };

    ft_index *ix;
    ft_error err = {0};
    int rc = ft_index_open(dir, &ix, &err);
    if (rc != FT_OK) return lib_fail(dir, rc, &err);
    lists l;
    int status = lists_load(ix, &l);
    ft_index_close(ix);
    if (status != CLI_EXIT_OK) {
        lists_free(&l);
        return status;
    }
    size_t scratch_cap = 64 * 1024 * 1024;
    size_t maxblock = 256;
    uint8_t *scratch = malloc(scratch_cap);
    uint32_t *docs = malloc(maxblock * sizeof(uint32_t)), *tfv = malloc(maxblock * sizeof(uint32_t));
    ZSTD_DCtx *dc = ZSTD_createDCtx();
    if (!scratch || !docs || !tfv || !dc) {
        cli_msg("out of memory");
        status = CLI_EXIT_OTHER;
        goto out;
    }
    printf("index    %s: %" PRIu64 " terms, %" PRIu64 " postings, %" PRIu64 " positions\n\n", dir,
           l.nterms, l.npost, l.npos);
    printf("%-34s %9s %9s %9s %11s %11s\n", "layout", "bits/post", "+table", "bits/pos",
           "ns/posting", "ns/position");
    for (int li = 0; li < NLAYS; li++) {
        const layout *lay = &lays[li];
        progress(1, "encoding: %s", lay->name);
        encoded e;
        if (encode_all(&l, lay, RUN_BOTH, 1, &e)) {
            encoded_free(&e);
            cli_msg("out of memory");
            status = CLI_EXIT_OTHER;
            goto out;
        }
        double best = HUGE_VAL, bestp = HUGE_VAL;
        uint64_t check = 0, check2 = 0;
        for (unsigned long r = 0; r < repeat; r++) {
            progress(1, "decoding: %s (%lu of %lu)", lay->name, r + 1, repeat);
            double s = decode_postings(&l, lay, &e, dc, scratch, scratch_cap, docs, tfv, &check);
            double sp = decode_positions(&l, lay, &e, dc, scratch, scratch_cap, &check2);
            if (s < 0 || sp < 0) {
                encoded_free(&e);
                progress_clear();
                cli_msg("decoding failed (layout %s)", lay->name);
                status = CLI_EXIT_OTHER;
                goto out;
            }
            decode_sink += check + check2; /* keeps the decoding from being optimised away */
            if (s < best) best = s;
            if (sp < bestp) bestp = sp;
        }
        progress_clear();
        double np = l.npost ? (double)l.npost : 1, npos = l.npos ? (double)l.npos : 1;
        printf("%-34s %9.2f %9.2f %9.2f %11.2f %11.2f\n", lay->name, 8.0 * e.post_payload / np,
               8.0 * (e.post_payload + e.table_bytes) / np, 8.0 * e.pos_payload / npos,
               best * 1e9 / np, bestp * 1e9 / npos);
        encoded_free(&e);
    }
    printf("\nbits/post: doc-id gap + frequency, frame contents only; +table adds the frame\n"
           "table (stored and raw length per frame; the skip table, the same for every\n"
           "layout with 128-posting blocks, is not counted).  Decode: all lists, in memory,\n"
           "decompress + varint decode, fastest of %lu passes; positions decoded to deltas.\n",
           repeat);
    char settings[256];
    snprintf(settings, sizeof settings, "index %s; repeat=%lu; zstd %s", dir, repeat,
             ZSTD_versionString());
    footer_text(settings);
out:
    progress_clear();
    ZSTD_freeDCtx(dc);
    free(scratch);
    free(docs);
    free(tfv);
    lists_free(&l);
    return status;
}

/* ------------------------------------------------------------------ main */

int main(int argc, char **argv)
{
    cli_set_prog("ftbench");
    cli_set_msg_hook(progress_clear);
    if (argc < 2) return cli_usage_error(NULL, "no subcommand (index, query, eval or codec)");
    const char *sub = argv[1];
    if (!strcmp(sub, "-h") || !strcmp(sub, "--help")) {
        usage(stdout);
        return CLI_EXIT_OK;
    }
    if (!strcmp(sub, "-V") || !strcmp(sub, "--version")) {
        printf("ftbench %s\n", FT_VERSION_STRING);
        return CLI_EXIT_OK;
    }
    cli_catch_interrupts();
    argv[1] = (char *)"ftbench"; /* getopt's message prefix */
    int status;
    if (!strcmp(sub, "index")) status = cmd_index(argc - 1, argv + 1);
    else if (!strcmp(sub, "query")) status = cmd_query(argc - 1, argv + 1);
    else if (!strcmp(sub, "eval")) status = cmd_eval(argc - 1, argv + 1);
    else if (!strcmp(sub, "codec")) status = cmd_codec(argc - 1, argv + 1);
    else return cli_usage_error(NULL, "unknown subcommand '%s' (index, query, eval or codec)", sub);
    if (status == CLI_EXIT_OK && (fflush(stdout) != 0 || ferror(stdout))) {
        cli_msg("error writing output: %s", strerror(errno));
        status = CLI_EXIT_IO;
    }
    return status;
}
