/*
 * test_faults.c — fault injection: every allocation and every write, fsync
 * and rename of a small build or search fails in turn.
 *
 * The test binary is linked with -Wl,--wrap for malloc, calloc, realloc,
 * strdup, asprintf, ZSTD_createCCtx/DCtx, sb_stemmer_new, open, write, fsync
 * and rename (see FAULT_WRAP in the Makefile), so every such call made by the
 * library (libft.a is linked statically; calls made inside shared libraries
 * are not redirected) goes through the wrappers below.  A wrapper counts the
 * calls of its class while injection is armed and makes the N-th one fail
 * (NULL with ENOMEM, or -1 with ENOSPC/EIO).  A sweep runs the same small
 * operation for N = 1, 2, ... until a run completes without reaching N:
 *
 *   build    ft_writer_open/add/commit/close over an existing index: either
 *            the build succeeds, or it fails with a clean error (FT_ENOMEM for
 *            allocations; FT_ENOSPC/FT_EIO naming a file for I/O) and the
 *            directory still holds the previous index, complete (the same
 *            documents, ft_index_check passes) with no temporary files left;
 *   search   ft_index_open, ft_query_parse, ft_search, ft_snippet,
 *            ft_index_doc: each fails with FT_ENOMEM or returns exactly the
 *            results of an undisturbed run.
 *
 * Leaks: every run of the operation is tracked from its first call to its
 * last free (free, ZSTD_freeCCtx/DCtx and sb_stemmer_delete are wrapped too):
 * each block the library allocated in the run must have been released by the
 * end of it, or the test fails naming the failed call that leaked.  (This is
 * done here rather than by LeakSanitizer because tests/lsan.supp suppresses
 * every leak whose stack passes through libcriterion, i.e. all of them.)
 * Test code runs disarmed; only the library calls are counted.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "ft_test_util.h"


/* ------------------------------------------------------------ wrappers */

enum { K_ALLOC, K_WRITE, K_FSYNC, K_RENAME, K_OPEN, K_N };

typedef struct injector {
    int armed;        /* counting and failing */
    int track;        /* recording live blocks */
    int kind;         /* the class that fails */
    long fail_at;     /* 1-based call number of that class; 0: count only */
    long calls[K_N];
    int fired;
    int err;          /* errno for I/O failures */
} injector;

static injector fi;

/* Live blocks allocated by the library while tracking: an open-addressing
 * set of pointers (a run of the small build allocates a few hundred). */
#define LIVE_CAP (1u << 16)
static void *live[LIVE_CAP];
static size_t nlive;
static void *const TOMB = (void *)1;

static size_t slot_of(void *p) { return ((uintptr_t)p >> 4) * 0x9E3779B97F4A7C15ull >> 48; }

static void live_add(void *p)
{
    if (!fi.track || !p) return;
    size_t i = slot_of(p);
    while (live[i] && live[i] != TOMB) i = (i + 1) & (LIVE_CAP - 1);
    live[i] = p;
    nlive++;
}

static void live_del(void *p)
{
    if (!p || !nlive) return;
    for (size_t i = slot_of(p); live[i]; i = (i + 1) & (LIVE_CAP - 1))
        if (live[i] == p) {
            live[i] = TOMB;
            nlive--;
            return;
        }
}

static void live_reset(void)
{
    memset(live, 0, sizeof live);
    nlive = 0;
}

static int fail_now(int kind)
{
    if (!fi.armed) return 0;
    long n = ++fi.calls[kind];
    if (kind == fi.kind && n == fi.fail_at) {
        fi.fired = 1;
        return 1;
    }
    return 0;
}

void *__real_malloc(size_t);
void *__real_calloc(size_t, size_t);
void *__real_realloc(void *, size_t);
void __real_free(void *);
char *__real_strdup(const char *);
ZSTD_CCtx *__real_ZSTD_createCCtx(void);
ZSTD_DCtx *__real_ZSTD_createDCtx(void);
size_t __real_ZSTD_freeCCtx(ZSTD_CCtx *);
size_t __real_ZSTD_freeDCtx(ZSTD_DCtx *);
struct sb_stemmer;
struct sb_stemmer *__real_sb_stemmer_new(const char *, const char *);
void __real_sb_stemmer_delete(struct sb_stemmer *);
int __real_open(const char *, int, ...);
ssize_t __real_write(int, const void *, size_t);
int __real_fsync(int);
int __real_rename(const char *, const char *);

void *__wrap_malloc(size_t n)
{
    if (fail_now(K_ALLOC)) return errno = ENOMEM, NULL;
    void *p = __real_malloc(n);
    live_add(p);
    return p;
}
void *__wrap_calloc(size_t n, size_t m)
{
    if (fail_now(K_ALLOC)) return errno = ENOMEM, NULL;
    void *p = __real_calloc(n, m);
    live_add(p);
    return p;
}
void *__wrap_realloc(void *p, size_t n)
{
    if (fail_now(K_ALLOC)) return errno = ENOMEM, NULL;
    void *q = __real_realloc(p, n);
    if (q || !n) {
        live_del(p);
        live_add(q);
    }
    return q;
}
void __wrap_free(void *p)
{
    live_del(p);
    __real_free(p);
}
char *__wrap_strdup(const char *s)
{
    if (fail_now(K_ALLOC)) return errno = ENOMEM, NULL;
    char *p = __real_strdup(s);
    live_add(p);
    return p;
}
int __wrap_asprintf(char **out, const char *fmt, ...)
{
    if (fail_now(K_ALLOC)) return errno = ENOMEM, -1;
    va_list ap;
    va_start(ap, fmt);
    int r = vasprintf(out, fmt, ap);
    va_end(ap);
    if (r >= 0) live_add(*out);
    return r;
}
ZSTD_CCtx *__wrap_ZSTD_createCCtx(void)
{
    if (fail_now(K_ALLOC)) return NULL;
    ZSTD_CCtx *c = __real_ZSTD_createCCtx();
    live_add(c);
    return c;
}
ZSTD_DCtx *__wrap_ZSTD_createDCtx(void)
{
    if (fail_now(K_ALLOC)) return NULL;
    ZSTD_DCtx *c = __real_ZSTD_createDCtx();
    live_add(c);
    return c;
}
size_t __wrap_ZSTD_freeCCtx(ZSTD_CCtx *c)
{
    live_del(c);
    return __real_ZSTD_freeCCtx(c);
}
size_t __wrap_ZSTD_freeDCtx(ZSTD_DCtx *c)
{
    live_del(c);
    return __real_ZSTD_freeDCtx(c);
}
struct sb_stemmer *__wrap_sb_stemmer_new(const char *lang, const char *enc)
{
    if (fail_now(K_ALLOC)) return NULL;
    struct sb_stemmer *s = __real_sb_stemmer_new(lang, enc);
    live_add(s);
    return s;
}
void __wrap_sb_stemmer_delete(struct sb_stemmer *s)
{
    live_del(s);
    __real_sb_stemmer_delete(s);
}
int __wrap_open(const char *path, int flags, ...)
{
    mode_t mode = 0;
    if (flags & O_CREAT) {
        va_list ap;
        va_start(ap, flags);
        mode = (mode_t)va_arg(ap, int);
        va_end(ap);
    }
    if (tu_open_hook) tu_open_hook(path, flags);
    if (fail_now(K_OPEN)) return errno = fi.err, -1;
    return __real_open(path, flags, mode);
}
ssize_t __wrap_write(int fd, const void *p, size_t n)
{
    if (fail_now(K_WRITE)) return errno = fi.err, -1;
    return __real_write(fd, p, n);
}
int __wrap_fsync(int fd)
{
    if (fail_now(K_FSYNC)) return errno = fi.err, -1;
    return __real_fsync(fd);
}
int __wrap_rename(const char *a, const char *b)
{
    if (fail_now(K_RENAME)) return errno = fi.err, -1;
    return __real_rename(a, b);
}

/* Start a run: count calls, fail the fail_at-th of class kind, track blocks. */
static void arm(int kind, long fail_at, int err)
{
    memset(&fi, 0, sizeof fi);
    live_reset();
    fi.kind = kind;
    fi.fail_at = fail_at;
    fi.err = err;
    fi.armed = 1;
    fi.track = 1;
}
/* The operation is over; its cleanup may still free (and is tracked). */
static void disarm(void) { fi.armed = 0; }
/* The run is over: every block it allocated must be gone. */
static void end_run(const char *what)
{
    fi.track = 0;
    cr_assert_eq(nlive, 0, "%s: %zu blocks allocated by the library were never freed", what, nlive);
}

/* ------------------------------------------------------------ build sweep */

static void small_corpus(tu_corpus *c, size_t n, uint64_t seed)
{
    tu_corpus_gen(c, n, 120, seed);
    tu_corpus_add(c, "cjk", "中国北京", "北京大学 \xff invalid byte");
}

static void wopts(ft_writer_opts *wo)
{
    ft_writer_opts_default(wo);
    ft_analyzer_opts_default(&wo->analyzer); /* english: the stemmer too */
    wo->block_postings = 4;
    wo->frame_blocks = 2;
}

/* The index in dir holds exactly corpus c (by ids, count, one posting list). */
static int index_is(const char *dir, const tu_corpus *c, const tu_inv *inv)
{
    ft_index *ix = NULL;
    ft_error err = {0};
    if (ft_index_open(dir, &ix, &err) != FT_OK) return 0;
    int ok = ft_index_doc_count(ix) == c->n && ft_index_token_count(ix) == inv->tokens;
    ft_docbuf *b = ft_docbuf_new();
    for (size_t d = 0; ok && d < c->n; d++) {
        ft_doc doc;
        ok = ft_index_doc(ix, (uint32_t)d, b, &doc, &err) == FT_OK && doc.id_len == c->docs[d].id_len &&
             !memcmp(doc.id, c->docs[d].id, doc.id_len);
    }
    ft_docbuf_free(b);
    const tu_term *t = tu_inv_find(inv, TU_ALL_WORD, strlen(TU_ALL_WORD));
    ft_postings *p = NULL;
    if (ok && t && ft_postings_open(ix, t->term, t->len, &p, &err) == FT_OK) {
        ok = ft_postings_df(p) == t->df;
        for (uint32_t i = 0; ok && i < t->df; i++) ok = ft_postings_next(p) == t->p[i].doc;
        ft_postings_close(p);
    }
    ft_index_close(ix);
    return ok && ft_index_check(dir, &err) == FT_OK;
}

static void assert_no_tmp(const char *dir, const char *what)
{
    size_t n;
    char **names = tu_list_dir(dir, &n);
    for (size_t i = 0; i < n; i++)
        cr_assert_null(strstr(names[i], ".tmp"), "%s: temporary file %s left behind", what, names[i]);
    tu_free_list(names, n);
}

/* One armed build of c over dir; returns the status, fills err. */
static int armed_build(const char *dir, const tu_corpus *c, int kind, long n, int e, ft_error *err)
{
    ft_writer_opts wo;
    wopts(&wo);
    ft_writer *w = NULL;
    arm(kind, n, e);
    int rc = ft_writer_open(dir, &wo, &w, err);
    for (size_t i = 0; !rc && i < c->n; i++) {
        const tu_doc *d = &c->docs[i];
        rc = ft_writer_add(w, d->id, d->id_len, d->title, d->title_len, d->body, d->body_len, err);
    }
    if (!rc) rc = ft_writer_commit(w, err);
    ft_writer_close(w);
    disarm();
    char what[96];
    snprintf(what, sizeof what, "build with call #%ld failing", n);
    end_run(what);
    return rc;
}

/* Sweep failures of one class over a build of corpus b replacing corpus a. */
static long sweep_build(int kind, int e, const char *kname)
{
    tu_corpus a, b;
    small_corpus(&a, 12, 11);
    small_corpus(&b, 30, 22);
    ft_writer_opts wo;
    wopts(&wo);
    tu_inv ia, ib;
    tu_inv_build(&ia, &a, &wo.analyzer);
    tu_inv_build(&ib, &b, &wo.analyzer);
    char *dir = tu_mkdtemp();
    tu_build_index(dir, &a, &wo);

    long n;
    unsigned failed = 0, replaced = 0;
    for (n = 1;; n++) {
        ft_error err = {0};
        char what[96];
        snprintf(what, sizeof what, "build with %s call #%ld failing", kname, n);
        int rc = armed_build(dir, &b, kind, n, e, &err);
        int fired = fi.fired;
        if (!fired) {
            cr_assert_eq(rc, FT_OK, "%s: not reached, yet the build failed: %s", what, err.msg);
            cr_assert(index_is(dir, &b, &ib), "%s: undisturbed build is wrong", what);
            break;
        }
        assert_no_tmp(dir, what);
        if (rc == FT_OK) {
            /* the failure was absorbed (a retry or an optional buffer) */
            cr_assert(index_is(dir, &b, &ib), "%s: build reported success but the index is wrong", what);
            replaced++;
        } else {
            cr_assert(err.code == rc && err.msg[0], "%s: error %d without a message", what, rc);
            if (kind == K_ALLOC)
                cr_assert_eq(rc, FT_ENOMEM, "%s: status %d (%s): %s", what, rc, ft_strerror(rc), err.msg);
            else
                cr_assert(rc == (e == ENOSPC ? FT_ENOSPC : FT_EIO) && strstr(err.msg, dir),
                          "%s: status %d (%s), message: %s", what, rc, ft_strerror(rc), err.msg);
            failed++;
            /* the previous index, whole; or (a failure after the commit
             * point, e.g. syncing the directory) the new one, whole */
            int old = index_is(dir, &a, &ia);
            int neu = !old && index_is(dir, &b, &ib);
            cr_assert(old || neu, "%s (%s): the directory holds neither the previous nor the new index",
                      what, err.msg);
            if (neu) replaced++;
        }
        if (!index_is(dir, &a, &ia)) { /* put the previous index back */
            tu_rmrf(dir);
            tu_build_index(dir, &a, &wo);
        }
        cr_assert_lt(n, 100000, "runaway sweep");
    }
    cr_assert_gt(failed, 0, "no %s failure was ever reported", kname);
    if (getenv("FT_FAULT_STATS"))
        fprintf(stderr, "build, %s failing: %ld calls swept, %u failed cleanly, %u absorbed or after the commit point\n",
                kname, n - 1, failed, replaced);
    tu_inv_free(&ia);
    tu_inv_free(&ib);
    tu_corpus_free(&a);
    tu_corpus_free(&b);
    tu_rmrf(dir);
    free(dir);
    return n - 1;
}

Test(faults, build_every_allocation_fails, .timeout = 600)
{
    long n = sweep_build(K_ALLOC, ENOMEM, "allocation");
    cr_assert_gt(n, 20, "only %ld allocations in a build", n);
}

Test(faults, build_every_write_fails_enospc, .timeout = 300)
{
    sweep_build(K_WRITE, ENOSPC, "write");
}

Test(faults, build_every_write_fails_eio, .timeout = 300)
{
    sweep_build(K_WRITE, EIO, "write");
}

Test(faults, build_every_fsync_fails, .timeout = 300)
{
    sweep_build(K_FSYNC, EIO, "fsync");
}

Test(faults, build_every_rename_fails, .timeout = 300)
{
    sweep_build(K_RENAME, EIO, "rename");
}

Test(faults, build_every_open_fails, .timeout = 300)
{
    sweep_build(K_OPEN, EMFILE, "open");
}

/* ------------------------------------------------------------ search sweep */

typedef struct answer {
    int rc;
    uint64_t matches;
    size_t n;
    uint32_t doc[10];
    double score[10];
    char snippet[512];
    char id[64];
} answer;

static const char *const QUERY_ANY = TU_ALL_WORD " " TU_REPEAT_WORD " 北京";
static const char *const QUERY_ALL = TU_ALL_WORD " " TU_REPEAT_WORD;

static void armed_search(const char *dir, int all, answer *out, ft_error *err, long n)
{
    memset(out, 0, sizeof *out);
    ft_index *ix = NULL;
    ft_analyzer *an = NULL;
    ft_query *q = NULL;
    ft_results r;
    memset(&r, 0, sizeof r);
    ft_docbuf *b = NULL;
    char *snip = NULL;
    arm(K_ALLOC, n, ENOMEM);
    int rc = ft_index_open(dir, &ix, err);
    if (!rc) rc = ft_analyzer_new(ft_index_analyzer_opts(ix), &an, err);
    const char *qs = all ? QUERY_ALL : QUERY_ANY;
    if (!rc) rc = ft_query_parse(an, qs, strlen(qs), &q, err);
    ft_search_opts o;
    ft_search_opts_default(&o);
    o.all = all;
    if (!rc) rc = ft_search(ix, q, &o, &r, err);
    /* a snippet of the last hit (the one document with CJK text ranks low) */
    uint32_t sdoc = r.n ? r.hits[r.n - 1].doc : 0;
    if (!rc && r.n) rc = ft_snippet(ix, an, q, sdoc, NULL, &snip, err);
    if (!rc && !(b = ft_docbuf_new())) rc = FT_ENOMEM;
    ft_doc d;
    if (!rc && r.n) rc = ft_index_doc(ix, r.hits[0].doc, b, &d, err);
    disarm();
    out->rc = rc;
    if (!rc) {
        out->matches = r.matches;
        out->n = r.n;
        for (size_t i = 0; i < r.n && i < 10; i++) {
            out->doc[i] = r.hits[i].doc;
            out->score[i] = r.hits[i].score;
        }
        if (snip) snprintf(out->snippet, sizeof out->snippet, "%s", snip);
        if (r.n) snprintf(out->id, sizeof out->id, "%.*s", (int)d.id_len, d.id);
    }
    free(snip);
    ft_docbuf_free(b);
    ft_results_free(&r);
    ft_query_free(q);
    ft_analyzer_free(an);
    ft_index_close(ix);
    char what[96];
    snprintf(what, sizeof what, "search with allocation #%ld failing", n);
    end_run(what);
}

static void sweep_search(int all)
{
    tu_corpus c;
    small_corpus(&c, 40, 33);
    /* keep CJK out of the hits' snippets: only the last document has it */
    ft_writer_opts wo;
    wopts(&wo);
    char *dir = tu_mkdtemp();
    tu_build_index(dir, &c, &wo);
    ft_error err = {0};
    answer want, got;
    armed_search(dir, all, &want, &err, 0);
    cr_assert_eq(want.rc, FT_OK, "undisturbed search: %s", err.msg);
    cr_assert_gt(want.n, 0);
    long n;
    unsigned failed = 0;
    for (n = 1;; n++) {
        memset(&err, 0, sizeof err);
        armed_search(dir, all, &got, &err, n);
        if (!fi.fired) {
            cr_assert_eq(got.rc, FT_OK);
            break;
        }
        if (got.rc) {
            cr_assert_eq(got.rc, FT_ENOMEM, "search with allocation #%ld failing: status %d (%s): %s", n,
                         got.rc, ft_strerror(got.rc), err.msg);
            failed++;
        } else {
            cr_assert_eq(got.matches, want.matches, "allocation #%ld failed: %llu matches, want %llu", n,
                         (unsigned long long)got.matches, (unsigned long long)want.matches);
            cr_assert_eq(got.n, want.n, "allocation #%ld failed: %zu hits, want %zu", n, got.n, want.n);
            for (size_t i = 0; i < got.n && i < 10; i++)
                cr_assert(got.doc[i] == want.doc[i] && got.score[i] == want.score[i],
                          "allocation #%ld failed: hit %zu differs", n, i);
            cr_assert_str_eq(got.snippet, want.snippet, "allocation #%ld failed: snippet differs", n);
            cr_assert_str_eq(got.id, want.id);
        }
        cr_assert_lt(n, 100000, "runaway sweep");
    }
    cr_assert_gt(failed, 10, "only %u failures", failed);
    if (getenv("FT_FAULT_STATS"))
        fprintf(stderr, "search (%s): %ld allocations swept, %u failed with FT_ENOMEM\n", all ? "all" : "any",
                n - 1, failed);
    tu_corpus_free(&c);
    tu_rmrf(dir);
    free(dir);
}

Test(faults, search_any_every_allocation_fails, .timeout = 300) { sweep_search(0); }
Test(faults, search_all_every_allocation_fails, .timeout = 300) { sweep_search(1); }
