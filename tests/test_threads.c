/*
 * test_threads.c — the writer's helper threads (ft_writer_opts.threads) and
 * ftindex -j must not change a byte of the index.
 *
 * Helpers compress document store blocks while documents are added and
 * encode ranges of terms when a segment is written; the writer's thread
 * writes their results in order.  So an index written with 1, 2 or 4
 * threads, through small and large records, documents added in pieces and
 * several segments, must be the same files.  A writer with work in flight
 * must close cleanly without a commit.  Documents added with ft_writer_add
 * and with ft_writer_add_tokens share the writer's word cache, whose keys
 * are words to stem in one case and final terms in the other: a word that
 * is also another word's stem ("univers", the stem of "university", stems
 * to "univ") must get its own term whichever way came first.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ft_index.h"
#include "ft_test_util.h"

#define SEED 0x7468726561647321ull

/* A body of n bytes of words drawn from the corpus vocabulary. */
static char *big_body(const tu_corpus *c, size_t n, uint64_t seed)
{
    tu_rng r = {seed};
    char *b = malloc(n + 1);
    cr_assert(b);
    size_t len = 0;
    while (len < n) {
        const char *w = c->vocab[tu_randn(&r, (uint32_t)c->nvocab)];
        size_t wl = strlen(w);
        if (len + wl + 1 > n) break;
        memcpy(b + len, w, wl);
        len += wl;
        b[len++] = ' ';
    }
    memset(b + len, 'x', n - len);
    b[n] = '\0';
    return b;
}

/* The corpus, with two large records (1.5 MB, written through the store's
 * stream) and one document added in pieces, with threads threads. */
static void build(const char *dir, const tu_corpus *c, const char *big, size_t big_len, unsigned threads,
                  uint64_t memory)
{
    ft_writer_opts wo;
    ft_writer_opts_default(&wo);
    wo.memory = memory;
    wo.threads = threads;
    ft_writer *w;
    ft_error err = {0};
    cr_assert_eq(ft_writer_open(dir, &wo, &w, &err), FT_OK, "%s", err.msg);
    for (size_t i = 0; i < c->n; i++) {
        const tu_doc *d = &c->docs[i];
        cr_assert_eq(ft_writer_add(w, d->id, d->id_len, d->title, d->title_len, d->body, d->body_len, &err), FT_OK,
                     "%s", err.msg);
        if (i == c->n / 3 || i == c->n / 2)
            cr_assert_eq(ft_writer_add(w, "big", 3, "a large record", 14, big, big_len, &err), FT_OK, "%s", err.msg);
        if (i == 2 * c->n / 3) {
            cr_assert_eq(ft_writer_begin(w, "pieces", 6, "in pieces", 9, big_len, big_len, &err), FT_OK, "%s",
                         err.msg);
            for (size_t off = 0; off < big_len; off += 100000) {
                size_t n = big_len - off < 100000 ? big_len - off : 100000;
                cr_assert_eq(ft_writer_text(w, big + off, n, &err), FT_OK, "%s", err.msg);
            }
            cr_assert_eq(ft_writer_end(w, &err), FT_OK, "%s", err.msg);
        }
    }
    cr_assert_eq(ft_writer_commit(w, &err), FT_OK, "%s", err.msg);
    ft_writer_close(w);
}

Test(threads, writer_threads_build_the_same_index_byte_for_byte, .timeout = 300)
{
    tu_corpus c;
    tu_corpus_gen(&c, 4000, 3000, SEED);
    size_t big_len = 1500000;
    char *big = big_body(&c, big_len, SEED + 1);
    char *tmp = tu_mkdtemp();
    static const uint64_t budgets[] = {0, 1u << 20}; /* one segment; several */
    for (int k = 0; k < 2; k++) {
        char *one = tu_join(tmp, "t1");
        build(one, &c, big, big_len, 1, budgets[k]);
        static const unsigned threads[] = {2, 4};
        for (int t = 0; t < 2; t++) {
            char name[16];
            snprintf(name, sizeof name, "t%u", threads[t]);
            char *other = tu_join(tmp, name);
            build(other, &c, big, big_len, threads[t], budgets[k]);
            char what[64];
            snprintf(what, sizeof what, "%u threads, budget %llu", threads[t], (unsigned long long)budgets[k]);
            tu_assert_same_files(one, other, what);
            tu_rmrf(other);
            free(other);
        }
        size_t n;
        char **l = tu_list_dir(one, &n);
        if (k == 1) cr_assert_gt(n, 13, "expected several segments");
        tu_free_list(l, n);
        tu_rmrf(one);
        free(one);
    }
    free(big);
    tu_corpus_free(&c);
    tu_rmrf(tmp);
    free(tmp);
}

Test(threads, writer_with_work_in_flight_closes_without_commit, .timeout = 120)
{
    tu_corpus c;
    tu_corpus_gen(&c, 3000, 2000, SEED + 2);
    char *tmp = tu_mkdtemp();
    char *dir = tu_join(tmp, "ix");
    ft_writer_opts wo;
    ft_writer_opts_default(&wo);
    wo.threads = 3;
    ft_writer *w;
    ft_error err = {0};
    cr_assert_eq(ft_writer_open(dir, &wo, &w, &err), FT_OK, "%s", err.msg);
    for (size_t i = 0; i < c.n; i++) {
        const tu_doc *d = &c.docs[i];
        cr_assert_eq(ft_writer_add(w, d->id, d->id_len, d->title, d->title_len, d->body, d->body_len, &err), FT_OK,
                     "%s", err.msg);
    }
    ft_writer_close(w); /* store groups queued: discarded, helpers joined */
    size_t n;
    char **l = tu_list_dir(dir, &n);
    for (size_t i = 0; i < n; i++) cr_assert(strncmp(l[i], "seg-", 4), "%s left behind", l[i]);
    tu_free_list(l, n);
    ft_index *ix;
    cr_assert_neq(ft_index_open(dir, &ix, &err), FT_OK, "no index was committed");
    tu_corpus_free(&c);
    tu_rmrf(tmp);
    free(dir);
    free(tmp);
}

/* docs[i] is added through ft_writer_add_tokens when tokens[i]. */
static void build_mixed(const char *dir, const char *const *bodies, const int *tokens, size_t n)
{
    ft_writer *w;
    ft_error err = {0};
    cr_assert_eq(ft_writer_open(dir, NULL, &w, &err), FT_OK, "%s", err.msg);
    ft_analyzer *an;
    cr_assert_eq(ft_analyzer_new(ft_writer_analyzer_opts(w), &an, &err), FT_OK, "%s", err.msg);
    ft_tokens *t = ft_tokens_new();
    cr_assert(t);
    for (size_t i = 0; i < n; i++) {
        char id[32];
        snprintf(id, sizeof id, "d%zu", i);
        size_t bl = strlen(bodies[i]);
        if (tokens[i]) {
            /* batches of three documents, whose memory is reused */
            if (ft_tokens_count(t) == 3) ft_tokens_clear(t);
            cr_assert_eq(ft_tokens_analyze(t, an, "", 0, bodies[i], bl, &err), FT_OK, "%s", err.msg);
            size_t k = ft_tokens_count(t) - 1;
            /* a document the batch does not hold is refused */
            cr_assert_eq(ft_writer_add_tokens(w, t, k + 1, id, strlen(id), "", 0, bodies[i], bl, &err), FT_EINVAL);
            cr_assert_eq(ft_writer_add_tokens(w, t, k, id, strlen(id), "", 0, bodies[i], bl, &err), FT_OK, "%s",
                         err.msg);
        } else {
            cr_assert_eq(ft_writer_add(w, id, strlen(id), "", 0, bodies[i], bl, &err), FT_OK, "%s", err.msg);
        }
    }
    ft_tokens_free(t);
    ft_analyzer_free(an);
    cr_assert_eq(ft_writer_commit(w, &err), FT_OK, "%s", err.msg);
    ft_writer_close(w);
}

Test(threads, add_and_add_tokens_share_the_word_cache, .timeout = 60)
{
    /* "univers" stems to "univ"; "university" stems to "univers" */
    static const char *const bodies[] = {"univers university", "university univers", "univers", "university"};
    static const int plain[] = {0, 0, 0, 0};
    static const int mixes[][4] = {{0, 1, 0, 1}, {1, 0, 1, 0}, {1, 1, 0, 0}, {0, 0, 1, 1}};
    char *tmp = tu_mkdtemp();
    char *ref = tu_join(tmp, "ref"), *mix = tu_join(tmp, "mix");
    build_mixed(ref, bodies, plain, 4);
    ft_index *ix;
    ft_error err = {0};
    cr_assert_eq(ft_index_open(ref, &ix, &err), FT_OK, "%s", err.msg);
    ft_postings *p;
    cr_assert_eq(ft_postings_open(ix, "univ", 4, &p, &err), FT_OK);
    cr_assert_eq(ft_postings_df(p), 3);
    ft_postings_close(p);
    cr_assert_eq(ft_postings_open(ix, "univers", 7, &p, &err), FT_OK);
    cr_assert_eq(ft_postings_df(p), 3);
    ft_postings_close(p);
    ft_index_close(ix);
    for (int k = 0; k < 4; k++) {
        build_mixed(mix, bodies, mixes[k], 4);
        char what[32];
        snprintf(what, sizeof what, "mix %d", k);
        tu_assert_same_files(ref, mix, what);
        tu_rmrf(mix);
    }
    tu_rmrf(tmp);
    free(ref);
    free(mix);
    free(tmp);
}

/* ftindex -j 1, 2 and 4 on JSON Lines with large bodies (handed over
 * whole, added by the writer's thread) among small ones. */
Test(threads, ftindex_jobs_with_large_bodies_same_bytes, .timeout = 300)
{
    tu_corpus c;
    tu_corpus_gen(&c, 3000, 2000, SEED + 3);
    char *big = big_body(&c, 1200000, SEED + 4);
    char *tmp = tu_mkdtemp();
    char *in = tu_join(tmp, "docs.jsonl");
    FILE *f = fopen(in, "w");
    cr_assert(f);
    for (size_t i = 0; i < c.n; i++) {
        fprintf(f, "{\"id\":\"%s\",\"title\":\"%s\",\"body\":\"%s\"}\n", c.docs[i].id, c.docs[i].title,
                c.docs[i].body);
        if (i % 1000 == 500) fprintf(f, "{\"id\":\"big%zu\",\"title\":\"big\",\"body\":\"%s\"}\n", i, big);
    }
    fclose(f);
    static const char *const jobs[] = {"1", "2", "4"};
    char *dirs[3];
    for (int k = 0; k < 3; k++) {
        char name[32];
        snprintf(name, sizeof name, "j%s", jobs[k]);
        dirs[k] = tu_join(tmp, name);
        tu_run r;
        tu_run_tool(&r, "ftindex", "build", "-q", "-j", jobs[k], "--memory", "3M", "-o", dirs[k], in, NULL);
        cr_assert_eq(r.status, 0, "-j %s: %s", jobs[k], r.err);
        tu_run_free(&r);
    }
    tu_assert_same_files(dirs[0], dirs[1], "-j 1 against -j 2");
    tu_assert_same_files(dirs[0], dirs[2], "-j 1 against -j 4");
    for (int k = 0; k < 3; k++) free(dirs[k]);
    free(big);
    free(in);
    tu_corpus_free(&c);
    tu_rmrf(tmp);
    free(tmp);
}
