/*
 * test_search.c — BM25 retrieval (ft_query_parse, ft_search) and snippets.
 *
 * Reference scores are computed in this file in long double straight from
 * the formula (idf = ln(1 + (N - n + 0.5)/(n + 0.5)), tf saturation with k1
 * and length normalisation with b over avgdl) using a naive inversion of the
 * documents, then compared with ft_search: every score within 1e-9 relative,
 * the exact ranked order with ties broken by ascending document number, exact
 * match counts, any-word and all-words modes, top-k cuts, repeated query
 * words, non-default k1/b, absent terms and empty queries — on hand-made
 * documents, on 200 random queries over a generated 300-document corpus, and
 * (when the shared corpora are present) on the 225 Cranfield queries over the
 * Cranfield collection with English stemming, and on 100 queries cut from
 * Chinese Wikipedia articles (CJK bigrams).
 * Snippet tests check highlighting of matched (stemmed) words, custom
 * markers, newline flattening and cut marks.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ft_test_util.h"

#define REL_TOL 1e-9

typedef struct ref_hit {
    uint32_t doc;
    long double score;
} ref_hit;

typedef struct qterm {
    char *term;
    size_t len;
    unsigned qtf;
} qterm;

typedef struct fixture {
    char *dir;
    tu_corpus c;
    tu_inv inv;
    ft_index *ix;
    ft_analyzer *an;
} fixture;

/* The fixture's index, of segments of seg_docs documents (0: one segment). */
static void fixture_open_segs(fixture *f, const char *lang, uint32_t seg_docs)
{
    ft_writer_opts wo;
    ft_writer_opts_default(&wo);
    ft_analyzer_opts_default(&wo.analyzer);
    strcpy(wo.analyzer.lang, lang);
    wo.segment_docs = seg_docs;
    tu_inv_build(&f->inv, &f->c, &wo.analyzer);
    f->dir = tu_mkdtemp();
    tu_build_index(f->dir, &f->c, &wo);
    ft_error err = {0};
    cr_assert_eq(ft_index_open(f->dir, &f->ix, &err), FT_OK, "%s", err.msg);
    cr_assert_eq(ft_analyzer_new(ft_index_analyzer_opts(f->ix), &f->an, &err), FT_OK, "%s",
                 err.msg);
}

static void fixture_open(fixture *f, const char *lang) { fixture_open_segs(f, lang, 0); }

static void fixture_close(fixture *f)
{
    ft_analyzer_free(f->an);
    ft_index_close(f->ix);
    tu_inv_free(&f->inv);
    tu_corpus_free(&f->c);
    tu_rmrf(f->dir);
    free(f->dir);
}

/* The distinct analyzed terms of a query text with their counts. */
static size_t query_terms(ft_analyzer *an, const char *text, qterm *out, size_t cap)
{
    tu_toks t = {0};
    cr_assert_eq(tu_analyze(an, text, strlen(text), 0, &t, NULL), 0);
    size_t n = 0;
    for (size_t i = 0; i < t.n; i++) {
        size_t j;
        for (j = 0; j < n; j++)
            if (out[j].len == t.v[i].len && !memcmp(out[j].term, t.v[i].term, t.v[i].len)) break;
        if (j < n) {
            out[j].qtf++;
            continue;
        }
        cr_assert_lt(n, cap);
        out[n].term = strdup(t.v[i].term);
        out[n].len = t.v[i].len;
        out[n].qtf = 1;
        n++;
    }
    tu_toks_free(&t);
    return n;
}

static void free_qterms(qterm *q, size_t n)
{
    for (size_t i = 0; i < n; i++) free(q[i].term);
}

static int cmp_ref(const void *pa, const void *pb)
{
    const ref_hit *a = pa, *b = pb;
    if (a->score != b->score) return a->score > b->score ? -1 : 1;
    return a->doc < b->doc ? -1 : a->doc > b->doc;
}

/* Brute-force BM25 over the naive inversion.  Returns the number of matching
 * documents; out[] (ndocs entries) is filled sorted; all_scores[d] gets every
 * document's score (0 when not matching). */
static size_t ref_search(const tu_inv *inv, const qterm *q, size_t nq, double k1, double b, int all,
                         ref_hit *out, long double *all_scores)
{
    uint32_t N = inv->ndocs;
    long double avgdl = (long double)inv->tokens / (long double)N;
    unsigned *matched = calloc(N, sizeof *matched);
    for (uint32_t d = 0; d < N; d++) all_scores[d] = 0;
    for (size_t i = 0; i < nq; i++) {
        const tu_term *t = tu_inv_find(inv, q[i].term, q[i].len);
        if (!t) continue;
        long double n = t->df;
        long double idf = logl(1.0L + ((long double)N - n + 0.5L) / (n + 0.5L));
        for (uint32_t k = 0; k < t->df; k++) {
            uint32_t d = t->p[k].doc;
            long double tf = t->p[k].tf, dl = inv->doclen[d];
            long double kk1 = k1, bb = b;
            long double s = idf * tf * (kk1 + 1.0L) / (tf + kk1 * (1.0L - bb + bb * dl / avgdl));
            all_scores[d] += (long double)q[i].qtf * s;
            matched[d]++;
        }
    }
    size_t m = 0;
    for (uint32_t d = 0; d < N; d++) {
        int ok = all ? (nq > 0 && matched[d] == nq) : matched[d] > 0;
        if (!ok) {
            all_scores[d] = 0;
            continue;
        }
        out[m].doc = d;
        out[m].score = all_scores[d];
        m++;
    }
    free(matched);
    qsort(out, m, sizeof *out, cmp_ref);
    return m;
}

static int close_enough(long double a, long double b)
{
    long double diff = fabsl(a - b), mag = fabsl(b) > 1e-300L ? fabsl(b) : 1.0L;
    return diff <= REL_TOL * mag;
}

/* Run ft_search and compare with the reference: exact order where scores are
 * distinct (beyond the tolerance), exact scores, exact match count. */
static void check_query(const fixture *f, const char *text, double k1, double b, unsigned k,
                        int all)
{
    qterm q[64];
    size_t nq = query_terms(f->an, text, q, 64);

    ft_query *fq = NULL;
    ft_error err = {0};
    int rc = ft_query_parse_plain(f->an, text, strlen(text), &fq, &err); /* bag of words */
    cr_assert_eq(rc, FT_OK, "parse \"%s\": %s", text, err.msg);
    cr_assert_eq(ft_query_term_count(fq), nq, "query \"%s\": %zu terms, want %zu", text,
                 ft_query_term_count(fq), nq);
    for (size_t i = 0; i < nq; i++) {
        size_t len;
        unsigned qtf;
        const char *t = ft_query_term(fq, i, &len, &qtf);
        size_t j;
        for (j = 0; j < nq; j++)
            if (q[j].len == len && !memcmp(q[j].term, t, len)) break;
        cr_assert_lt(j, nq, "query \"%s\": unexpected term %.*s", text, (int)len, t);
        cr_assert_eq(qtf, q[j].qtf, "query \"%s\" term %s: qtf %u want %u", text, q[j].term, qtf,
                     q[j].qtf);
    }

    ft_search_opts so;
    ft_search_opts_default(&so);
    so.k1 = k1;
    so.b = b;
    so.k = k;
    so.all = all;
    ft_results res;
    memset(&res, 0, sizeof res);
    rc = ft_search(f->ix, fq, &so, &res, &err); /* pruned (the default) */
    cr_assert_eq(rc, FT_OK, "search \"%s\": %s", text, err.msg);
    ft_results ex;
    memset(&ex, 0, sizeof ex);
    so.count = 1; /* exhaustive, exact count */
    rc = ft_search(f->ix, fq, &so, &ex, &err);
    cr_assert_eq(rc, FT_OK, "search \"%s\" --count: %s", text, err.msg);

    uint32_t N = f->inv.ndocs;
    ref_hit *ref = malloc((N + 1) * sizeof *ref);
    long double *score_of = malloc((N + 1) * sizeof *score_of);
    size_t m = ref_search(&f->inv, q, nq, k1, b, all, ref, score_of);
    const char *mode = all ? "all" : "any";
    cr_assert_eq(ex.matches, m, "query \"%s\" (%s, k1 %g b %g): %llu matches, want %zu", text, mode,
                 k1, b, (unsigned long long)ex.matches, m);
    cr_assert(ex.matches_exact);
    cr_assert_leq(res.matches, m, "query \"%s\": pruned count %llu above the exact %zu", text,
                  (unsigned long long)res.matches, m);
    if (res.matches_exact)
        cr_assert_eq(res.matches, m, "query \"%s\": pruned count %llu claimed exact, want %zu", text,
                     (unsigned long long)res.matches, m);
    /* pruning never changes the ranked list: same documents, bit-identical scores */
    cr_assert_eq(res.n, ex.n, "query \"%s\" (%s): pruned %zu hits, exhaustive %zu", text, mode, res.n, ex.n);
    for (size_t i = 0; i < res.n; i++)
        cr_assert(res.hits[i].doc == ex.hits[i].doc && res.hits[i].score == ex.hits[i].score,
                  "query \"%s\" (%s) rank %zu: pruned doc %u %.17g, exhaustive doc %u %.17g", text, mode,
                  i + 1, res.hits[i].doc, res.hits[i].score, ex.hits[i].doc, ex.hits[i].score);
    ft_results_free(&ex);
    size_t want_n = m < k ? m : k;
    cr_assert_eq(res.n, want_n, "query \"%s\" (%s): %zu hits, want %zu", text, mode, res.n, want_n);
    for (size_t i = 0; i < res.n; i++) {
        const ft_hit *h = &res.hits[i];
        cr_assert_lt(h->doc, N);
        for (size_t j = 0; j < i; j++)
            cr_assert_neq(res.hits[j].doc, h->doc, "query \"%s\": doc %u returned twice", text,
                          h->doc);
        cr_assert(close_enough(h->score, ref[i].score),
                  "query \"%s\" (%s, k1 %g b %g) rank %zu: score %.17g, want %.17Lg (doc %u, "
                  "want doc %u)",
                  text, mode, k1, b, i + 1, h->score, ref[i].score, h->doc, ref[i].doc);
        cr_assert(score_of[h->doc] > 0 && close_enough(h->score, score_of[h->doc]),
                  "query \"%s\" rank %zu: doc %u scored %.17g, reference %.17Lg", text, i + 1,
                  h->doc, h->score, score_of[h->doc]);
        if (h->doc != ref[i].doc) /* only acceptable between equal scores */
            cr_assert(close_enough(score_of[h->doc], ref[i].score),
                      "query \"%s\" (%s) rank %zu: doc %u (%.17Lg), want doc %u (%.17Lg)", text,
                      mode, i + 1, h->doc, score_of[h->doc], ref[i].doc, ref[i].score);
        if (i > 0) {
            const ft_hit *p = &res.hits[i - 1];
            cr_assert(p->score > h->score || (p->score == h->score && p->doc < h->doc),
                      "query \"%s\": ranks %zu/%zu out of order (%u %.17g, %u %.17g)", text, i,
                      i + 1, p->doc, p->score, h->doc, h->score);
        }
    }
    free(ref);
    free(score_of);
    ft_results_free(&res);
    ft_query_free(fq);
    free_qterms(q, nq);
}

/* ------------------------------------------------------------ hand-made docs */

static void handmade(fixture *f)
{
    memset(f, 0, sizeof *f);
    tu_corpus_add(&f->c, "d0", "Fox news", "the quick brown fox jumps over the lazy dog");
    tu_corpus_add(&f->c, "d1", "", "fox fox fox hunting season");
    tu_corpus_add(&f->c, "d2", "Dogs", "a lazy dog sleeps all day long in the sun");
    tu_corpus_add(&f->c, "d3", "Cats and dogs", "cats chase mice and dogs chase cats");
    tu_corpus_add(&f->c, "d4", "Birds", "the early bird catches the worm");
    tu_corpus_add(&f->c, "d5", "Twin", "brown bear meets brown fox");
    tu_corpus_add(&f->c, "d6", "Twin", "brown bear meets brown fox");
    tu_corpus_add(&f->c, "d7", "", "quantum entanglement explained simply");
    tu_corpus_add(&f->c, "d8", "Long document",
                  "fox dog cat bird bear mouse lion tiger wolf deer fox elk moose hare owl");
    fixture_open(f, "none");
}

Test(bm25, search_opts_default)
{
    ft_search_opts o;
    memset(&o, 0x33, sizeof o);
    ft_search_opts_default(&o);
    cr_assert(o.k1 == 1.2);
    cr_assert(o.b == 0.75);
    cr_assert_eq(o.k, 10);
    cr_assert_eq(o.all, 0);
}

Test(bm25, handmade_hand_checked_score)
{
    /* one score worked out by hand: "quantum" is only in d7 (4 tokens);
     * N = 9, total tokens = 2+9 + 5 + 1+10 + 3+7 + 1+6 + 1+5 + 1+5 + 4 + 2+15 = 77 */
    fixture f;
    handmade(&f);
    cr_assert_eq(ft_index_token_count(f.ix), 77);
    ft_query *q = NULL;
    ft_error err = {0};
    cr_assert_eq(ft_query_parse(f.an, "quantum", 7, &q, &err), FT_OK);
    ft_search_opts so;
    ft_search_opts_default(&so);
    ft_results r;
    memset(&r, 0, sizeof r);
    cr_assert_eq(ft_search(f.ix, q, &so, &r, &err), FT_OK, "%s", err.msg);
    cr_assert_eq(r.n, 1);
    cr_assert_eq(r.matches, 1);
    cr_assert_eq(r.hits[0].doc, 7);
    double idf = log(1.0 + (9 - 1 + 0.5) / (1 + 0.5));
    double want = idf * 1 * 2.2 / (1 + 1.2 * (1 - 0.75 + 0.75 * 4 / (77.0 / 9)));
    cr_assert(fabs(r.hits[0].score - want) <= 1e-12 * want, "score %.17g want %.17g",
              r.hits[0].score, want);
    ft_results_free(&r);
    ft_query_free(q);
    fixture_close(&f);
}

Test(bm25, handmade_any_and_all)
{
    fixture f;
    handmade(&f);
    const char *queries[] = {"fox",        "brown fox",   "lazy dog",         "cats",
                             "Fox DOGS",   "the",         "bear brown fox",   "dog fox cat",
                             "worm quantum", "fox lazy the quick brown dog"};
    for (size_t i = 0; i < sizeof queries / sizeof queries[0]; i++) {
        check_query(&f, queries[i], 1.2, 0.75, 10, 0);
        check_query(&f, queries[i], 1.2, 0.75, 10, 1);
    }
    fixture_close(&f);
}

Test(bm25, handmade_top_k)
{
    fixture f;
    handmade(&f);
    for (unsigned k = 1; k <= 4; k++) {
        check_query(&f, "the fox dog brown", 1.2, 0.75, k, 0);
        check_query(&f, "fox", 1.2, 0.75, k, 0);
    }
    /* matches stays the full count when k cuts the list */
    ft_query *q = NULL;
    ft_error err = {0};
    cr_assert_eq(ft_query_parse(f.an, "fox", 3, &q, &err), FT_OK);
    ft_search_opts so;
    ft_search_opts_default(&so);
    so.k = 2;
    ft_results r;
    memset(&r, 0, sizeof r);
    cr_assert_eq(ft_search(f.ix, q, &so, &r, &err), FT_OK);
    cr_assert_eq(r.n, 2);
    cr_assert_eq(r.matches, 5); /* d0 d1 d5 d6 d8 */
    ft_results_free(&r);
    ft_query_free(q);
    fixture_close(&f);
}

Test(bm25, ties_broken_by_doc_number)
{
    fixture f;
    handmade(&f);
    ft_query *q = NULL;
    ft_error err = {0};
    cr_assert_eq(ft_query_parse(f.an, "bear meets", 10, &q, &err), FT_OK);
    ft_search_opts so;
    ft_search_opts_default(&so);
    ft_results r;
    memset(&r, 0, sizeof r);
    cr_assert_eq(ft_search(f.ix, q, &so, &r, &err), FT_OK);
    cr_assert_eq(r.n, 3); /* d5, d6 (identical), d8 (bear only) */
    cr_assert_eq(r.hits[0].doc, 5);
    cr_assert_eq(r.hits[1].doc, 6);
    cr_assert_eq(r.hits[2].doc, 8);
    cr_assert(r.hits[0].score == r.hits[1].score, "identical documents scored %.17g and %.17g",
              r.hits[0].score, r.hits[1].score);
    ft_results_free(&r);
    ft_query_free(q);
    check_query(&f, "bear meets", 1.2, 0.75, 10, 0);
    check_query(&f, "twin", 1.2, 0.75, 1, 0); /* k = 1 keeps the lower number */
    fixture_close(&f);
}

Test(bm25, repeated_query_words)
{
    fixture f;
    handmade(&f);
    ft_query *q = NULL;
    ft_error err = {0};
    cr_assert_eq(ft_query_parse(f.an, "fox Fox", 7, &q, &err), FT_OK);
    cr_assert_eq(ft_query_term_count(q), 1);
    size_t len;
    unsigned qtf;
    const char *t = ft_query_term(q, 0, &len, &qtf);
    cr_assert_eq(len, 3);
    cr_assert(!memcmp(t, "fox", 3));
    cr_assert_eq(qtf, 2);
    ft_query_free(q);
    check_query(&f, "fox fox", 1.2, 0.75, 10, 0);
    check_query(&f, "fox fox dog", 1.2, 0.75, 10, 0);
    check_query(&f, "brown brown brown fox", 1.2, 0.75, 10, 1);
    fixture_close(&f);
}

Test(bm25, non_default_parameters)
{
    fixture f;
    handmade(&f);
    const char *queries[] = {"fox", "brown fox", "lazy dog cats", "the"};
    for (size_t i = 0; i < 4; i++) {
        check_query(&f, queries[i], 2.0, 0.3, 10, 0);
        check_query(&f, queries[i], 2.0, 0.3, 10, 1);
        check_query(&f, queries[i], 1.2, 0.0, 10, 0);
        check_query(&f, queries[i], 0.5, 1.0, 10, 0);
    }
    fixture_close(&f);
}

Test(bm25, absent_terms_and_empty_queries)
{
    fixture f;
    handmade(&f);
    /* any: an absent term is ignored */
    check_query(&f, "fox zzzabsent", 1.2, 0.75, 10, 0);
    /* all: an absent term matches nothing */
    check_query(&f, "fox zzzabsent", 1.2, 0.75, 10, 1);
    /* an empty query is an error naming the column; one whose words all
     * analyze to nothing is valid and matches nothing */
    const char *blank[] = {"", "   "};
    for (int i = 0; i < 2; i++) {
        ft_query *q = NULL;
        ft_error err = {0};
        cr_assert_eq(ft_query_parse(f.an, blank[i], strlen(blank[i]), &q, &err), FT_EINVAL);
        cr_assert_null(q);
        cr_assert_str_eq(err.msg, "query: column 1: empty query");
    }
    const char *empties[] = {"!!! ... ---", "( ... )", "\"...\""};
    for (int i = 0; i < 3; i++) {
        for (int all = 0; all < 2; all++) {
            ft_query *q = NULL;
            ft_error err = {0};
            cr_assert_eq(ft_query_parse(f.an, empties[i], strlen(empties[i]), &q, &err), FT_OK,
                         "empty query \"%s\" rejected: %s", empties[i], err.msg);
            cr_assert_eq(ft_query_term_count(q), 0);
            ft_search_opts so;
            ft_search_opts_default(&so);
            so.all = all;
            ft_results r;
            memset(&r, 0, sizeof r);
            cr_assert_eq(ft_search(f.ix, q, &so, &r, &err), FT_OK, "%s", err.msg);
            cr_assert_eq(r.n, 0);
            cr_assert_eq(r.matches, 0);
            ft_results_free(&r);
            ft_query_free(q);
        }
    }
    /* explicit: "fox zzzabsent" in all mode gives nothing */
    ft_query *q = NULL;
    ft_error err = {0};
    cr_assert_eq(ft_query_parse(f.an, "fox zzzabsent", 13, &q, &err), FT_OK);
    ft_search_opts so;
    ft_search_opts_default(&so);
    so.all = 1;
    ft_results r;
    memset(&r, 0, sizeof r);
    cr_assert_eq(ft_search(f.ix, q, &so, &r, &err), FT_OK);
    cr_assert_eq(r.n, 0);
    cr_assert_eq(r.matches, 0);
    ft_results_free(&r);
    ft_query_free(q);
    ft_results_free(&r); /* a zeroed struct is accepted */
    fixture_close(&f);
}

/* ------------------------------------------------------------ randomized */

Test(bm25, random_queries_match_brute_force, .timeout = 180)
{
    fixture f;
    memset(&f, 0, sizeof f);
    tu_corpus_gen(&f.c, 300, 2000, 0x5eed0f1dULL);
    fixture_open(&f, "none");
    tu_rng r = {2024};
    for (int i = 0; i < 200; i++) {
        char text[512] = "";
        uint32_t nw = 1 + tu_randn(&r, 5);
        for (uint32_t w = 0; w < nw; w++) {
            const char *word;
            uint32_t kind = tu_randn(&r, 20);
            if (kind == 0)
                word = TU_ALL_WORD;
            else if (kind == 1)
                word = TU_REPEAT_WORD;
            else if (kind == 2)
                word = TU_ONCE_WORD;
            else if (kind == 3)
                word = "qqqnotthere";
            else if (kind < 12) /* frequent words */
                word = f.c.vocab[tu_randn(&r, 50)];
            else
                word = f.c.vocab[tu_randn(&r, (uint32_t)f.c.nvocab)];
            if (w) strcat(text, " ");
            strcat(text, word);
        }
        unsigned k = tu_randn(&r, 4) == 0 ? 1 + tu_randn(&r, 30) : 10;
        check_query(&f, text, 1.2, 0.75, k, 0);
        check_query(&f, text, 1.2, 0.75, k, 1);
    }
    fixture_close(&f);
}

/* ------------------------------------------------------------ snippets */

static char *snippet(const fixture *f, const char *query, uint32_t doc, unsigned max_words,
                     const char *open, const char *close)
{
    ft_query *q = NULL;
    ft_error err = {0};
    cr_assert_eq(ft_query_parse(f->an, query, strlen(query), &q, &err), FT_OK);
    ft_snippet_opts so = {max_words, open, close};
    char *out = NULL;
    int rc = ft_snippet(f->ix, f->an, q, doc, &so, &out, &err);
    cr_assert_eq(rc, FT_OK, "ft_snippet: %d %s", rc, err.msg);
    cr_assert_not_null(out);
    ft_query_free(q);
    return out;
}

static size_t count_words(const char *s)
{
    size_t n = 0;
    int in = 0;
    for (; *s; s++) {
        int sp = (*s == ' ');
        if (!sp && !in) n++;
        in = !sp;
    }
    return n;
}

Test(snippet, highlights_query_words)
{
    fixture f;
    memset(&f, 0, sizeof f);
    tu_corpus_add(&f.c, "a", "Animals", "The quick brown fox jumps over the lazy dog.");
    tu_corpus_add(&f.c, "b", "Den", "Foxes and a Fox\nlive in the den.\nNo other fox here.");
    char body[4096] = "";
    for (int i = 0; i < 200; i++) strcat(body, i == 100 ? "needle " : "hay ");
    tu_corpus_add(&f.c, "c", "Stack", body);
    fixture_open(&f, "none");

    char *s = snippet(&f, "fox", 0, 30, "[", "]");
    cr_assert(strstr(s, "[fox]"), "snippet \"%s\" lacks [fox]", s);
    cr_assert(strstr(s, "quick"), "snippet \"%s\" lacks the context", s);
    free(s);

    s = snippet(&f, "fox", 1, 30, "[", "]");
    cr_assert(strstr(s, "[Fox]"), "snippet \"%s\" lacks [Fox]", s);
    cr_assert(strstr(s, "[fox]"), "snippet \"%s\" lacks [fox]", s);
    cr_assert_null(strstr(s, "[Foxes]"), "snippet \"%s\" highlights a different word", s);
    cr_assert_null(strchr(s, '\n'), "snippet \"%s\" keeps a newline", s);
    free(s);

    s = snippet(&f, "lazy dog", 0, 30, "<b>", "</b>");
    cr_assert(strstr(s, "<b>lazy</b>") && strstr(s, "<b>dog</b>"), "snippet \"%s\"", s);
    cr_assert_null(strchr(s, '['), "snippet \"%s\" uses default markers", s);
    free(s);

    s = snippet(&f, "needle", 2, 10, "[", "]");
    cr_assert(strstr(s, "[needle]"), "snippet \"%s\" lacks [needle]", s);
    cr_assert(strstr(s, "..."), "cut snippet \"%s\" lacks ...", s);
    cr_assert_leq(count_words(s), 20, "snippet of about 10 words has %zu: %s", count_words(s), s);
    free(s);
    fixture_close(&f);
}

Test(snippet, highlights_stemmed_matches)
{
    fixture f;
    memset(&f, 0, sizeof f);
    tu_corpus_add(&f.c, "a", "Runners", "Running dogs ran past the runner who runs daily.");
    fixture_open(&f, "english");
    char *s = snippet(&f, "run", 0, 30, "[", "]");
    cr_assert(strstr(s, "[Running]"), "snippet \"%s\" lacks [Running]", s);
    cr_assert(strstr(s, "[runs]"), "snippet \"%s\" lacks [runs]", s);
    cr_assert_null(strstr(s, "[dogs]"), "snippet \"%s\" highlights dogs", s);
    free(s);
    fixture_close(&f);
}

/* Long documents: the scan stops a window after the first window holding
 * every query term, and never reads past 64 KiB; exact outputs, and
 * ft_snippet_text on the fetched body gives what ft_snippet gives. */
Test(snippet, long_documents_exact)
{
    fixture f;
    memset(&f, 0, sizeof f);
    size_t cap = 300000;
    char *a = malloc(cap), *b = malloc(cap);
    cr_assert(a && b);
    /* a: both terms early, a better window (more matches) 100,000 words later */
    size_t n = (size_t)sprintf(a, "alpha red blue beta green ");
    for (int i = 0; i < 20000; i++) {
        memcpy(a + n, "hay ", 4);
        n += 4;
    }
    strcpy(a + n, "alpha beta alpha beta end");
    /* b: the only match lies past the first 64 KiB */
    n = 0;
    for (int i = 0; i < 20000; i++) {
        memcpy(b + n, "hay ", 4);
        n += 4;
    }
    strcpy(b + n, "alpha beta");
    tu_corpus_add(&f.c, "a", "A", a);
    tu_corpus_add(&f.c, "b", "B", b);
    fixture_open(&f, "none");

    char *s = snippet(&f, "alpha beta", 0, 8, "[", "]");
    cr_assert_str_eq(s, "[alpha] red blue [beta] green hay hay hay...");
    free(s);
    s = snippet(&f, "alpha beta", 1, 5, "[", "]");
    cr_assert_str_eq(s, "hay hay hay hay hay...");
    free(s);

    ft_query *q = NULL;
    ft_error err = {0};
    cr_assert_eq(ft_query_parse(f.an, "beta", 4, &q, &err), FT_OK);
    ft_docbuf *db = ft_docbuf_new();
    ft_doc d;
    cr_assert_eq(ft_index_doc(f.ix, 0, db, &d, &err), FT_OK);
    ft_snippet_opts so = {6, "<", ">"};
    char *t = NULL, *u = NULL;
    cr_assert_eq(ft_snippet_text(f.an, q, d.body, d.body_len, &so, &t, &err), FT_OK);
    cr_assert_eq(ft_snippet(f.ix, f.an, q, 0, &so, &u, &err), FT_OK);
    cr_assert_str_eq(t, "...blue <beta> green hay hay hay..."); /* a lone match is re-centred */
    cr_assert_str_eq(t, u);
    free(t);
    free(u);
    ft_docbuf_free(db);
    ft_query_free(q);
    free(a);
    free(b);
    fixture_close(&f);
}

/* ft_snipper (positions from the index, reading stops after the best
 * window) gives exactly ft_snippet_text's snippets: every hit of 120 queries
 * over the bundled Wikipedia sample and the news article in several segments,
 * English stemming, any-word, all-words and phrase queries, two window sizes,
 * the positions read from where the search noted the hits' postings
 * (ft_search_opts.snippets) or looked up again. */
Test(snippet, snipper_equals_text_snippets, .timeout = 120)
{
    const char *src = getenv("FT_SRC");
    cr_assert_not_null(src);
    char *p = tu_join(src, "sample/enwiki-sample.jsonl");
    char *news = tu_join(src, "sample/2019-06-05-china-russia-ties.txt");
    fixture f;
    memset(&f, 0, sizeof f);
    cr_assert_gt(tu_corpus_load_jsonl(&f.c, p, 3000), 1000);
    char *article = tu_read_file(news, NULL);
    cr_assert_not_null(article);
    tu_corpus_add(&f.c, "news", "China and Russia", article);
    free(article);
    fixture_open_segs(&f, "english", 700);
    cr_assert_gt(ft_index_segment_count(f.ix), 1);
    static const char *const base[] = {"Russia soybeans", "Xi Putin Huawei", "football club",
                                       "river valley town", "the of and", "album released band",
                                       "university professor research", "war army battle",
                                       "species family genus", "film director actor", "\"united states\"",
                                       "church village parish", "railway station line", "election party vote",
                                       "ship navy", "music singer song", "king queen", "water", "city council",
                                       "\"world war\""};
    ft_docbuf *db = ft_docbuf_new();
    size_t compared = 0;
    for (size_t qi = 0; qi < 120; qi++) {
        const char *text = base[qi % 20];
        char buf[128];
        if (qi >= 20 && qi < 40) snprintf(buf, sizeof buf, "%s history", text);
        else if (qi >= 40 && qi < 60) snprintf(buf, sizeof buf, "+%s", text);
        else snprintf(buf, sizeof buf, "%s", text);
        ft_query *q = NULL;
        ft_error err = {0};
        cr_assert_eq(ft_query_parse(f.an, buf, strlen(buf), &q, &err), FT_OK, "%s: %s", buf, err.msg);
        ft_search_opts so;
        ft_search_opts_default(&so);
        so.k = 10;
        so.all = qi % 3 == 1;
        ft_results plain;
        cr_assert_eq(ft_search(f.ix, q, &so, &plain, &err), FT_OK);
        so.snippets = 1; /* the same hits, their postings noted */
        ft_results res;
        cr_assert_eq(ft_search(f.ix, q, &so, &res, &err), FT_OK);
        cr_assert_eq(res.n, plain.n, "query %s", buf);
        for (size_t i = 0; i < res.n; i++) {
            cr_assert_eq(res.hits[i].doc, plain.hits[i].doc, "query %s", buf);
            cr_assert_eq(res.hits[i].score, plain.hits[i].score, "query %s", buf);
        }
        ft_snipper *sn = NULL, *sp = NULL;
        cr_assert_eq(ft_snipper_new(f.ix, f.an, q, &res, &sn, &err), FT_OK, "%s", err.msg);
        cr_assert_eq(ft_snipper_new(f.ix, f.an, q, &plain, &sp, &err), FT_OK, "%s", err.msg);
        for (size_t i = 0; i < res.n; i++) {
            ft_doc d;
            cr_assert_eq(ft_index_doc(f.ix, res.hits[i].doc, db, &d, &err), FT_OK);
            ft_snippet_opts o = {qi % 2 ? 12 : 30, "[", "]"};
            char *a = NULL, *b = NULL;
            cr_assert_eq(ft_snipper_get(sn, i, &d, &o, &a, &err), FT_OK);
            cr_assert_eq(ft_snippet_text(f.an, q, d.body, d.body_len, &o, &b, &err), FT_OK);
            cr_assert_str_eq(a, b, "query %s, hit %zu (%.*s)", buf, i, (int)d.id_len, d.id);
            if (strchr(a, '[')) compared++;
            free(a);
            cr_assert_eq(ft_snipper_get(sp, i, &d, &o, &a, &err), FT_OK);
            cr_assert_str_eq(a, b, "query %s, hit %zu (%.*s), looked up", buf, i, (int)d.id_len, d.id);
            free(a);
            free(b);
        }
        ft_snipper_free(sn);
        ft_snipper_free(sp);
        ft_results_free(&res);
        ft_results_free(&plain);
        ft_query_free(q);
    }
    cr_assert_gt(compared, 500, "only %zu highlighted snippets compared", compared);
    ft_docbuf_free(db);
    free(p);
    free(news);
    fixture_close(&f);
}

/* ------------------------------------------------------------ Cranfield */

Test(bm25, cranfield_queries_match_brute_force, .timeout = 180)
{
    char *docs = tu_shared_corpus_or_skip("judged/cranfield/docs.jsonl");
    char *qpath = tu_shared_corpus_or_skip("judged/cranfield/queries.tsv");
    fixture f;
    memset(&f, 0, sizeof f);
    tu_corpus_load_jsonl(&f.c, docs, 100000);
    fixture_open(&f, "english");
    char *qs = tu_read_file(qpath, NULL);
    cr_assert_not_null(qs);
    size_t nq = 0;
    char *save = NULL;
    for (char *line = strtok_r(qs, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *tab = strchr(line, '\t');
        const char *text = tab ? tab + 1 : line;
        check_query(&f, text, 1.2, 0.75, 10, 0);
        check_query(&f, text, 1.2, 0.75, 10, 1);
        if (nq % 10 == 0) check_query(&f, text, 0.9, 0.4, 100, 0);
        nq++;
    }
    cr_assert_geq(nq, 225);
    free(qs);
    free(docs);
    free(qpath);
    fixture_close(&f);
}

/* ------------------------------------------------------------ CJK queries */

/* Up to n code points of s starting at the first character boundary at or
 * after off, copied into out (NUL-terminated). */
static void utf8_slice(const char *s, size_t len, size_t off, size_t n, char *out, size_t cap)
{
    while (off < len && ((unsigned char)s[off] & 0xc0) == 0x80) off++;
    size_t end = off, cps = 0;
    while (end < len && cps < n) {
        end++;
        while (end < len && ((unsigned char)s[end] & 0xc0) == 0x80) end++;
        cps++;
    }
    size_t l = end - off < cap - 1 ? end - off : cap - 1;
    memcpy(out, s + off, l);
    out[l] = 0;
}

Test(bm25, zhwiki_cjk_queries_match_brute_force, .timeout = 180)
{
    char *path = tu_shared_corpus_or_skip("large/zhwiki.jsonl.zst");
    fixture f;
    memset(&f, 0, sizeof f);
    cr_assert_eq(tu_corpus_load_jsonl(&f.c, path, 150), 150);
    fixture_open(&f, "english");
    tu_rng r = {31337};
    for (int i = 0; i < 100; i++) {
        char q[256] = "";
        int parts = 1 + (int)tu_randn(&r, 3);
        for (int p = 0; p < parts; p++) {
            const tu_doc *d = &f.c.docs[tu_randn(&r, (uint32_t)f.c.n)];
            if (!d->body_len) continue;
            char piece[64];
            utf8_slice(d->body, d->body_len, tu_randn(&r, (uint32_t)d->body_len), 2 + tu_randn(&r, 5),
                       piece, sizeof piece);
            if (p) strcat(q, " ");
            strcat(q, piece);
        }
        check_query(&f, q, 1.2, 0.75, 10, 0);
        check_query(&f, q, 1.2, 0.75, 10, 1);
    }
    free(path);
    fixture_close(&f);
}
