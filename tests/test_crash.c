/*
 * test_crash.c — durability: writers killed with SIGKILL at random moments,
 * readers running while a writer commits, and a full disk.
 *
 * The killed writer (a forked child) runs a fixed script of commits on one
 * index: each step adds a batch of documents (small segments, so a step
 * flushes several), deletes some earlier ones, and some steps merge.  The
 * parent knows the set of live ids after every step, so after the kill it
 * checks that the index passes ft_index_check and holds exactly the
 * documents of one step at or before the last one that could have finished;
 * then the next writer must clean up every leftover (no *.tmp, no file the
 * MANIFEST does not name).  FT_CRASH_TRIALS sets the number of kills (a
 * handful in `make check`, hundreds in `make check-long`).
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "ft_test_util.h"

#define STEPS 10
#define BATCH 40

static void opts_none(ft_writer_opts *wo)
{
    ft_writer_opts_default(wo);
    strcpy(wo->analyzer.lang, "none");
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The script: step s adds documents s*BATCH .. s*BATCH+BATCH-1 of c (whose ids
 * are unique), deletes documents (s-1)*BATCH + 3k for k < 5, and steps 3, 6
 * and 9 merge.  Returns 0 or an ft_status. */
static int run_step(const char *dir, const tu_corpus *c, int s)
{
    ft_writer_opts wo;
    opts_none(&wo);
    wo.mode = FT_WRITE_APPEND;
    wo.segment_docs = 16;
    ft_writer *w = NULL;
    int rc = ft_writer_open(dir, &wo, &w, NULL);
    if (rc) return rc;
    for (int i = s * BATCH; i < s * BATCH + BATCH && !rc; i++) {
        const tu_doc *d = &c->docs[i];
        rc = ft_writer_add(w, d->id, d->id_len, d->title, d->title_len, d->body, d->body_len, NULL);
    }
    for (int k = 0; s > 0 && k < 5 && !rc; k++) {
        const tu_doc *d = &c->docs[(s - 1) * BATCH + 3 * k];
        rc = ft_writer_delete(w, d->id, d->id_len, NULL);
    }
    if (!rc) rc = ft_writer_commit(w, NULL);
    ft_writer_close(w);
    if (!rc && s % 3 == 0) {
        ft_merge_opts mo;
        ft_merge_opts_default(&mo);
        mo.max_segments = 2;
        rc = ft_index_merge(dir, &mo, NULL, NULL);
    }
    return rc;
}

/* Signature of a set of ids: count and sum of hashes. */
typedef struct sig {
    uint64_t n, h;
} sig;

static sig expected_after(const tu_corpus *c, int step)
{
    sig g = {0, 0};
    for (int s = 0; s <= step; s++)
        for (int i = s * BATCH; i < s * BATCH + BATCH; i++) {
            int deleted = 0;
            if (s < step && i % BATCH % 3 == 0 && i % BATCH < 15) deleted = 1;
            if (deleted) continue;
            g.n++;
            g.h += XXH64(c->docs[i].id, c->docs[i].id_len, 0);
        }
    return g;
}

static sig index_sig(const char *dir)
{
    ft_index *ix = NULL;
    ft_error err = {0};
    cr_assert_eq(ft_index_open(dir, &ix, &err), FT_OK, "%s", err.msg);
    sig g = {0, 0};
    ft_docbuf *db = ft_docbuf_new();
    for (uint32_t d = 0; d < ft_index_doc_limit(ix); d++) {
        if (ft_index_doc_deleted(ix, d)) continue;
        ft_doc doc;
        cr_assert_eq(ft_index_doc(ix, d, db, &doc, &err), FT_OK, "%s", err.msg);
        g.n++;
        g.h += XXH64(doc.id, doc.id_len, 0);
    }
    cr_assert_eq(g.n, ft_index_doc_count(ix));
    ft_docbuf_free(db);
    ft_index_close(ix);
    return g;
}

static void assert_clean_dir(const char *dir)
{
    char *man = tu_join(dir, "MANIFEST");
    char *text = tu_read_file(man, NULL);
    cr_assert_not_null(text);
    size_t n;
    char **names = tu_list_dir(dir, &n);
    for (size_t i = 0; i < n; i++) {
        cr_assert_null(strstr(names[i], ".tmp"), "leftover %s", names[i]);
        if (strncmp(names[i], "seg-", 4)) continue;
        char key[128];
        snprintf(key, sizeof key, " %s ", names[i]);
        cr_assert_not_null(strstr(text, key), "unreferenced %s left behind", names[i]);
    }
    tu_free_list(names, n);
    free(text);
    free(man);
}

static void crash_trials(unsigned trials)
{
    tu_corpus c;
    tu_corpus_gen(&c, (size_t)(STEPS + 1) * BATCH, 800, 0xc4a5ULL);
    sig want[STEPS + 1];
    for (int s = 0; s <= STEPS; s++) want[s] = expected_after(&c, s);

    /* one uninterrupted run: the script is right, and how long it takes */
    char *dir = tu_mkdtemp();
    double t0 = now();
    for (int s = 0; s <= STEPS; s++) cr_assert_eq(run_step(dir, &c, s), FT_OK, "step %d", s);
    double total = now() - t0;
    sig g = index_sig(dir);
    cr_assert(g.n == want[STEPS].n && g.h == want[STEPS].h, "uninterrupted run: %llu documents, want %llu",
              (unsigned long long)g.n, (unsigned long long)want[STEPS].n);
    tu_rmrf(dir);
    free(dir);

    tu_rng r = {0xdead};
    for (unsigned t = 0; t < trials; t++) {
        dir = tu_mkdtemp();
        cr_assert_eq(run_step(dir, &c, 0), FT_OK);
        pid_t child = fork();
        cr_assert_geq(child, 0);
        if (child == 0) {
            for (int s = 1; s <= STEPS; s++)
                if (run_step(dir, &c, s)) _exit(1);
            _exit(0);
        }
        useconds_t delay = (useconds_t)(tu_rand01(&r) * total * 1e6);
        usleep(delay);
        kill(child, SIGKILL);
        int st;
        cr_assert_eq(waitpid(child, &st, 0), child);
        cr_assert(WIFSIGNALED(st) || (WIFEXITED(st) && WEXITSTATUS(st) == 0), "trial %u: writer failed", t);
        ft_error err = {0};
        int rc = ft_index_check(dir, &err);
        cr_assert_eq(rc, FT_OK, "trial %u (killed after %u us): check: %s", t, (unsigned)delay, err.msg);
        g = index_sig(dir);
        int match = -1;
        for (int s = 0; s <= STEPS && match < 0; s++)
            if (g.n == want[s].n && g.h == want[s].h) match = s;
        cr_assert_geq(match, 0, "trial %u: the index holds %llu documents, no committed state", t,
                      (unsigned long long)g.n);
        /* the next writer removes what the dead one left */
        ft_writer_opts wo;
        opts_none(&wo);
        wo.mode = FT_WRITE_APPEND;
        ft_writer *w = NULL;
        cr_assert_eq(ft_writer_open(dir, &wo, &w, &err), FT_OK, "trial %u: %s", t, err.msg);
        ft_writer_close(w);
        assert_clean_dir(dir);
        /* and the index goes on from there */
        if (match < STEPS) {
            cr_assert_eq(run_step(dir, &c, match + 1), FT_OK, "trial %u: the step after a crash", t);
            g = index_sig(dir);
            cr_assert(g.n == want[match + 1].n && g.h == want[match + 1].h, "trial %u: after recovery", t);
            cr_assert_eq(ft_index_check(dir, &err), FT_OK, "%s", err.msg);
        }
        tu_rmrf(dir);
        free(dir);
    }
    tu_corpus_free(&c);
}

Test(crash, writer_killed_at_random_points, .timeout = 1800)
{
    const char *e = getenv("FT_CRASH_TRIALS");
    unsigned trials = e ? (unsigned)strtoul(e, NULL, 10) : 6;
    crash_trials(trials);
}

/* Readers open snapshots in a loop while a writer commits 50 times: every
 * snapshot is whole (every document's title holds TU_ALL_WORD, so its df and
 * postings must equal the live document count). */
Test(crash, readers_during_commits, .timeout = 300)
{
    tu_corpus c;
    tu_corpus_gen(&c, 50 * 8 + 20, 500, 0x7eadULL);
    char *dir = tu_mkdtemp();
    ft_writer_opts wo;
    opts_none(&wo);
    tu_corpus first = {0};
    for (size_t i = 0; i < 20; i++) tu_corpus_add(&first, c.docs[i].id, c.docs[i].title, c.docs[i].body);
    tu_build_index(dir, &first, &wo);
    pid_t child = fork();
    cr_assert_geq(child, 0);
    if (child == 0) {
        for (int k = 0; k < 50; k++) {
            ft_writer_opts ao;
            opts_none(&ao);
            ao.mode = FT_WRITE_APPEND;
            ft_writer *w = NULL;
            if (ft_writer_open(dir, &ao, &w, NULL)) _exit(1);
            for (size_t i = 20 + (size_t)k * 8; i < 20 + (size_t)k * 8 + 8; i++) {
                const tu_doc *d = &c.docs[i];
                if (ft_writer_add(w, d->id, d->id_len, d->title, d->title_len, d->body, d->body_len, NULL)) _exit(1);
            }
            if (k % 5 == 4 && ft_writer_delete(w, c.docs[k].id, c.docs[k].id_len, NULL)) _exit(1);
            if (ft_writer_commit(w, NULL)) _exit(1);
            ft_writer_close(w);
            if (k % 10 == 9 && ft_index_merge(dir, NULL, NULL, NULL)) _exit(1);
        }
        _exit(0);
    }
    unsigned opens = 0;
    int st = 0;
    for (;;) {
        pid_t done = waitpid(child, &st, WNOHANG);
        ft_index *ix = NULL;
        ft_error err = {0};
        int rc = ft_index_open(dir, &ix, &err);
        cr_assert_eq(rc, FT_OK, "open %u during commits: %s", opens, err.msg);
        ft_postings *p = NULL;
        cr_assert_eq(ft_postings_open(ix, TU_ALL_WORD, strlen(TU_ALL_WORD), &p, &err), FT_OK, "%s", err.msg);
        uint32_t n = 0;
        while (ft_postings_next(p) != FT_DOC_END) n++;
        cr_assert_eq(ft_postings_status(p, &err), FT_OK, "%s", err.msg);
        cr_assert_eq(ft_postings_df(p), ft_index_doc_count(ix));
        cr_assert_eq(n, ft_index_doc_count(ix), "snapshot %u: %u postings, %u documents", opens, n,
                     ft_index_doc_count(ix));
        ft_postings_close(p);
        ft_index_close(ix);
        opens++;
        if (done == child) break;
    }
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the writer failed");
    ft_index *ix = NULL;
    ft_error err = {0};
    cr_assert_eq(ft_index_open(dir, &ix, &err), FT_OK);
    cr_assert_eq(ft_index_doc_count(ix), 20 + 50 * 8 - 10);
    ft_index_close(ix);
    cr_assert_gt(opens, 1);
    tu_corpus_free(&first);
    tu_corpus_free(&c);
    tu_rmrf(dir);
    free(dir);
}

/* A file size limit (EFBIG, as a full disk gives ENOSPC) in the middle of an
 * add: a clear FT_ENOSPC naming the file, and the previous index intact. */
Test(crash, file_size_limit_leaves_previous_index, .timeout = 120)
{
    tu_corpus c;
    tu_corpus_gen(&c, 30, 500, 0xf00dULL);
    char *dir = tu_mkdtemp();
    ft_writer_opts wo;
    opts_none(&wo);
    tu_build_index(dir, &c, &wo);
    /* a large body of varied words: its store block outgrows the limit */
    size_t big = 4u << 20;
    char *body = malloc(big + 1);
    tu_rng r = {5};
    for (size_t i = 0; i < big; i++) body[i] = (i % 7 == 6) ? ' ' : (char)('a' + tu_randn(&r, 26));
    body[big] = 0;
    pid_t child = fork();
    cr_assert_geq(child, 0);
    if (child == 0) {
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit rl = {1u << 20, 1u << 20};
        if (setrlimit(RLIMIT_FSIZE, &rl)) _exit(3);
        ft_writer_opts ao;
        opts_none(&ao);
        ao.mode = FT_WRITE_APPEND;
        ft_writer *w = NULL;
        ft_error err = {0};
        if (ft_writer_open(dir, &ao, &w, &err)) _exit(4);
        int rc = ft_writer_add(w, "big", 3, "big", 3, body, big, &err);
        if (!rc) rc = ft_writer_commit(w, &err);
        ft_writer_close(w);
        if (rc != FT_ENOSPC) _exit(5);
        if (!strstr(err.msg, dir) || !strstr(err.msg, "File too large")) _exit(6);
        _exit(0);
    }
    int st;
    cr_assert_eq(waitpid(child, &st, 0), child);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %d", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    ft_error err = {0};
    cr_assert_eq(ft_index_check(dir, &err), FT_OK, "%s", err.msg);
    ft_index *ix = NULL;
    cr_assert_eq(ft_index_open(dir, &ix, &err), FT_OK);
    cr_assert_eq(ft_index_doc_count(ix), 30);
    ft_index_close(ix);
    assert_clean_dir(dir);
    free(body);
    tu_corpus_free(&c);
    tu_rmrf(dir);
    free(dir);
}
