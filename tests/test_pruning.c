/*
 * test_pruning.c — dynamic pruning is exact, and the query language.
 *
 * Thousands of random queries (1 to 8 words drawn log-uniformly across the
 * dictionary's frequency range, so both rare and very common words occur),
 * any-word and all-words, k = 1, 10, 100 and 1000, over several corpora: the
 * pruned ranked list (MaxScore, block-max AND) must equal the exhaustive one
 * document for document and score for score (bit-identical).  Phrases,
 * exclusions and required terms are checked the same way, plus exact parse
 * trees and error messages for the query language.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ft_test_util.h"

typedef struct vocab {
    char **t;
    uint32_t *df;
    size_t n, cap;
} vocab;

static int on_term(void *ctx, const char *term, size_t len, uint32_t df)
{
    vocab *v = ctx;
    /* only terms that survive re-analysis unchanged are usable as query words:
     * plain letters and digits */
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)term[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch >= 0x80)) return 0;
    }
    if (v->n == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 1024;
        v->t = realloc(v->t, v->cap * sizeof *v->t);
        v->df = realloc(v->df, v->cap * sizeof *v->df);
    }
    v->t[v->n] = strndup(term, len);
    v->df[v->n] = df;
    v->n++;
    return 0;
}

static vocab *sorted_vocab;
static int by_df_desc(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    uint32_t dx = sorted_vocab->df[x], dy = sorted_vocab->df[y];
    if (dx != dy) return dx > dy ? -1 : 1;
    return strcmp(sorted_vocab->t[x], sorted_vocab->t[y]);
}

static void compare(const ft_index *ix, ft_analyzer *an, const char *text, int plain, unsigned k, int all,
                    size_t *nonempty)
{
    ft_query *q = NULL;
    ft_error err = {0};
    int rc = plain ? ft_query_parse_plain(an, text, strlen(text), &q, &err)
                   : ft_query_parse(an, text, strlen(text), &q, &err);
    cr_assert_eq(rc, FT_OK, "parse \"%s\": %s", text, err.msg);
    ft_search_opts so;
    ft_search_opts_default(&so);
    so.k = k;
    so.all = all;
    ft_results pr, ex;
    memset(&pr, 0, sizeof pr);
    memset(&ex, 0, sizeof ex);
    cr_assert_eq(ft_search(ix, q, &so, &pr, &err), FT_OK, "%s", err.msg);
    so.exhaustive = 1;
    so.count = 1;
    cr_assert_eq(ft_search(ix, q, &so, &ex, &err), FT_OK, "%s", err.msg);
    cr_assert_eq(pr.n, ex.n, "\"%s\" (k %u, %s): pruned %zu hits, exhaustive %zu", text, k,
                 all ? "all" : "any", pr.n, ex.n);
    for (size_t i = 0; i < pr.n; i++)
        cr_assert(pr.hits[i].doc == ex.hits[i].doc && pr.hits[i].score == ex.hits[i].score,
                  "\"%s\" (k %u, %s) rank %zu: pruned doc %u %.17g, exhaustive doc %u %.17g", text, k,
                  all ? "all" : "any", i + 1, pr.hits[i].doc, pr.hits[i].score, ex.hits[i].doc,
                  ex.hits[i].score);
    cr_assert(ex.matches_exact);
    cr_assert_leq(pr.matches, ex.matches);
    if (pr.matches_exact) cr_assert_eq(pr.matches, ex.matches, "\"%s\": count claimed exact", text);
    cr_assert_eq(ex.n, ex.matches < k ? ex.matches : k);
    if (ex.n) (*nonempty)++;
    ft_results_free(&pr);
    ft_results_free(&ex);
    ft_query_free(q);
}

/* Random queries over an index; returns how many had results. */
static size_t random_queries(const ft_index *ix, ft_analyzer *an, size_t nq, uint64_t seed)
{
    vocab v = {0};
    ft_error err = {0};
    cr_assert_eq(ft_index_terms(ix, on_term, &v, &err), FT_OK);
    cr_assert_gt(v.n, 50);
    size_t *order = malloc(v.n * sizeof *order);
    for (size_t i = 0; i < v.n; i++) order[i] = i;
    sorted_vocab = &v;
    qsort(order, v.n, sizeof *order, by_df_desc);
    tu_rng rng = {seed};
    static const unsigned ks[] = {1, 10, 100, 1000};
    size_t nonempty = 0;
    char text[2048];
    for (size_t qi = 0; qi < nq; qi++) {
        size_t words = 1 + tu_rand(&rng) % 8, len = 0;
        for (size_t w = 0; w < words; w++) {
            /* log-uniform rank: common and rare words alike */
            double u = (double)(tu_rand(&rng) % 1000000) / 1000000.0;
            size_t rank = (size_t)exp(u * log((double)v.n));
            if (rank >= v.n) rank = v.n - 1;
            const char *t = v.t[order[rank]];
            len += (size_t)snprintf(text + len, sizeof text - len, "%s%s", w ? " " : "", t);
        }
        unsigned k = ks[qi % 4];
        compare(ix, an, text, 1, k, 0, &nonempty);
        compare(ix, an, text, 1, k, 1, &nonempty);
        /* the same words through the query language, as a phrase and with
         * a required and an excluded word */
        if (words >= 2 && qi % 3 == 0) {
            char lang[2100];
            snprintf(lang, sizeof lang, "\"%s\"", text);
            compare(ix, an, lang, 0, k, 0, &nonempty);
            char *sp = strchr(text, ' ');
            *sp = 0;
            snprintf(lang, sizeof lang, "+%s %s", text, sp + 1);
            compare(ix, an, lang, 0, k, 0, &nonempty);
            snprintf(lang, sizeof lang, "%s -%s", sp + 1, text);
            compare(ix, an, lang, 0, k, 0, &nonempty);
        }
    }
    for (size_t i = 0; i < v.n; i++) free(v.t[i]);
    free(v.t);
    free(v.df);
    free(order);
    return nonempty;
}

static void run_on_corpus(tu_corpus *c, const char *lang, size_t nq, uint64_t seed)
{
    char *dir = tu_mkdtemp();
    ft_writer_opts wo;
    ft_writer_opts_default(&wo);
    snprintf(wo.analyzer.lang, sizeof wo.analyzer.lang, "%s", lang);
    tu_build_index(dir, c, &wo);
    ft_index *ix;
    ft_error err = {0};
    cr_assert_eq(ft_index_open(dir, &ix, &err), FT_OK, "%s", err.msg);
    ft_analyzer *an;
    cr_assert_eq(ft_analyzer_new(ft_index_analyzer_opts(ix), &an, &err), FT_OK);
    size_t nonempty = random_queries(ix, an, nq, seed);
    cr_assert_gt(nonempty, nq / 2, "too few queries with results (%zu)", nonempty);
    ft_analyzer_free(an);
    ft_index_close(ix);
    tu_rmrf(dir);
    free(dir);
}

Test(pruning, generated_corpus, .timeout = 120)
{
    tu_corpus c = {0};
    tu_corpus_gen(&c, 2000, 3000, 7);
    run_on_corpus(&c, "none", 800, 11);
    tu_corpus_free(&c);
}

Test(pruning, bundled_wikipedia_sample, .timeout = 120)
{
    const char *src = getenv("FT_SRC");
    cr_assert_not_null(src);
    char *p = tu_join(src, "sample/enwiki-sample.jsonl");
    tu_corpus c = {0};
    cr_assert_gt(tu_corpus_load_jsonl(&c, p, 3000), 1000);
    run_on_corpus(&c, "english", 800, 12);
    tu_corpus_free(&c);
    free(p);
}

Test(pruning, cranfield, .timeout = 120)
{
    const char *src = getenv("FT_SRC");
    cr_assert_not_null(src);
    char *p = tu_join(src, "../shared/corpora/judged/cranfield/docs.jsonl");
    tu_corpus c = {0};
    if (tu_corpus_load_jsonl(&c, p, 1400) == 0) {
        free(p);
        cr_skip_test("shared corpora not available");
    }
    run_on_corpus(&c, "english", 600, 13);
    tu_corpus_free(&c);
    free(p);
}

Test(pruning, chinese_wikipedia, .timeout = 120)
{
    const char *src = getenv("FT_SRC");
    cr_assert_not_null(src);
    char *p = tu_join(src, "../shared/corpora/large/zhwiki.jsonl.zst");
    tu_corpus c = {0};
    if (tu_corpus_load_jsonl(&c, p, 300) == 0) {
        free(p);
        cr_skip_test("shared corpora not available");
    }
    run_on_corpus(&c, "english", 300, 14);
    tu_corpus_free(&c);
    free(p);
}

/* ------------------------------------------------------------ the language */

static char *describe(ft_analyzer *an, const char *text)
{
    ft_query *q = NULL;
    ft_error err = {0};
    cr_assert_eq(ft_query_parse(an, text, strlen(text), &q, &err), FT_OK, "parse \"%s\": %s", text, err.msg);
    char *d = ft_query_describe(q);
    ft_query_free(q);
    return d;
}

static void expect_tree(ft_analyzer *an, const char *text, const char *want)
{
    char *d = describe(an, text);
    cr_assert_str_eq(d, want, "query \"%s\"", text);
    free(d);
}

static void expect_error(ft_analyzer *an, const char *text, size_t len, const char *want)
{
    ft_query *q = NULL;
    ft_error err = {0};
    cr_assert_eq(ft_query_parse(an, text, len, &q, &err), FT_EINVAL, "\"%s\" parsed", text);
    cr_assert_null(q);
    cr_assert_str_eq(err.msg, want, "query \"%s\"", text);
}

Test(query, parse_trees)
{
    ft_analyzer *an = tu_analyzer("english");
    expect_tree(an, "Russia soybeans", "(~russia ~soybean)");
    expect_tree(an, "soybeans", "soybean");
    expect_tree(an, "\"trade war\" +huawei -5g", "(~\"trade war\" +huawei -5g)");
    expect_tree(an, "\"tariffs levied\"~3", "\"tariff levi\"~3");
    expect_tree(an, "a b AND c", "(~a ~(+b +c))");
    expect_tree(an, "(china OR russia) AND tariff*", "(+(|china |russia) +tariff*)");
    expect_tree(an, "putin NOT xi", "(+putin -xi)");
    expect_tree(an, "NOT xi", "(-xi)");
    expect_tree(an, "x-ray", "\"x ray\"");
    expect_tree(an, "中华人民", "\"中华 华人 人民\"");
    expect_tree(an, "!!! ... ---", "<nothing>");
    expect_tree(an, "Xi's", "xi");
    ft_analyzer_free(an);
}

Test(query, stopword_gaps_in_phrases)
{
    ft_analyzer_opts o;
    ft_analyzer_opts_default(&o);
    o.stopwords = 1;
    ft_analyzer *an;
    ft_error err = {0};
    cr_assert_eq(ft_analyzer_new(&o, &an, &err), FT_OK);
    expect_tree(an, "\"bank of america\"", "\"bank @2 america\"");
    ft_analyzer_free(an);
}

Test(query, errors_name_the_column)
{
    ft_analyzer *an = tu_analyzer("english");
    expect_error(an, "", 0, "query: column 1: empty query");
    expect_error(an, "a AND", 5, "query: column 3: 'AND' needs a query on each side");
    expect_error(an, "OR b", 4, "query: column 1: 'OR' needs a query on each side");
    expect_error(an, "(a \"b", 5, "query: column 4: unbalanced quote: this '\"' has no closing '\"'");
    expect_error(an, "(a b", 4, "query: column 1: unbalanced parenthesis: this '(' is never closed");
    expect_error(an, "a b)", 4, "query: column 4: unbalanced parenthesis: ')' without a matching '('");
    expect_error(an, "a + b", 5, "query: column 3: '+' must be followed by a word, a phrase or '('");
    expect_error(an, "a NOT", 5, "query: column 3: 'NOT' must be followed by a word, a phrase or '('");
    expect_error(an, "\"a b\"~x", 7, "query: column 6: '~' after a phrase must be followed by a number from 0 to 1000");
    expect_error(an, "()", 2, "query: column 1: empty parentheses");
    expect_error(an, "a ( )", 5, "query: column 3: empty parentheses");
    expect_error(an, "caf\xc3\xa9 \xff", 7, "query: column 6: invalid UTF-8 in the query");
    /* 10,000 terms; nesting 10,000 deep: refused, no crash, bounded memory */
    size_t n = 10000 * 2;
    char *big = malloc(n + 1);
    for (size_t i = 0; i < 10000; i++) {
        big[2 * i] = 'a' + (char)(i % 26);
        big[2 * i + 1] = ' ';
    }
    big[n] = 0;
    ft_query *q = NULL;
    ft_error err = {0};
    cr_assert_eq(ft_query_parse(an, big, n, &q, &err), FT_EINVAL);
    cr_assert(strstr(err.msg, "more than 1024 terms"), "%s", err.msg);
    for (size_t i = 0; i < n; i++) big[i] = i < n / 2 ? '(' : ')';
    cr_assert_eq(ft_query_parse(an, big, n, &q, &err), FT_EINVAL);
    cr_assert(strstr(err.msg, "nested more than 64"), "%s", err.msg);
    for (size_t i = 0; i + 4 <= n; i += 4) memcpy(big + i, "NOT ", 4);
    memcpy(big + n - 4, "NOT x", 4);
    cr_assert_eq(ft_query_parse(an, big, n, &q, &err), FT_EINVAL);
    free(big);
    ft_analyzer_free(an);
}

Test(query, semantics_on_handmade_documents)
{
    tu_corpus c = {0};
    tu_corpus_add(&c, "d0", "", "new york city is big");
    tu_corpus_add(&c, "d1", "", "york is old and new");
    tu_corpus_add(&c, "d2", "", "new jersey is not york");
    tu_corpus_add(&c, "d3", "", "the city of new york");
    char *dir = tu_mkdtemp();
    ft_writer_opts wo;
    ft_writer_opts_default(&wo);
    strcpy(wo.analyzer.lang, "none");
    tu_build_index(dir, &c, &wo);
    ft_index *ix;
    ft_error err = {0};
    cr_assert_eq(ft_index_open(dir, &ix, &err), FT_OK);
    ft_analyzer *an = tu_analyzer("none");
    struct { const char *q; const char *ids; } cases[] = {
        {"\"new york\"", "d0 d3"},
        {"\"york new\"", ""},
        {"\"new york\"~1", "d0 d3"},
        {"\"york new\"~3", "d1"},             /* in order, 3 words between */
        {"\"york new\"~2", ""},
        {"\"new city\"~2", "d0"},              /* d3 has city before new */
        {"\"new city\"", ""},
        {"\"york city\"", "d0"},
        {"york -new", ""},
        {"york -jersey", "d0 d1 d3"},
        {"+city york", "d0 d3"},
        {"jersey OR old", "d1 d2"},
        {"new AND (jersey OR old)", "d1 d2"},
        {"new NOT york", ""},
        {"ne*", "d0 d1 d2 d3"},
        {"j* c*", "d0 d2 d3"},
        {"-york", ""},
        {"zzz", ""},
        {"+zzz york", ""},
        {"zzz york", "d0 d1 d2 d3"},
        {"\"york city is\"", "d0"},          /* phrases of three and more terms */
        {"\"city of new york\"", "d3"},
        {"\"city of york\"", ""},
        {"\"new york city big\"", ""},
        {"\"new york city is big\"", "d0"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        ft_query *q = NULL;
        cr_assert_eq(ft_query_parse(an, cases[i].q, strlen(cases[i].q), &q, &err), FT_OK, "%s", err.msg);
        ft_search_opts so;
        ft_search_opts_default(&so);
        so.count = 1;
        ft_results r;
        cr_assert_eq(ft_search(ix, q, &so, &r, &err), FT_OK, "%s", err.msg);
        /* ids in document order */
        int seen[4] = {0};
        for (size_t h = 0; h < r.n; h++) seen[r.hits[h].doc] = 1;
        char got[64] = "";
        for (int d = 0; d < 4; d++)
            if (seen[d]) snprintf(got + strlen(got), sizeof got - strlen(got), "%sd%d", got[0] ? " " : "", d);
        cr_assert_str_eq(got, cases[i].ids, "query %s", cases[i].q);
        cr_assert_eq(r.matches, r.n);
        ft_results_free(&r);
        ft_query_free(q);
    }
    /* --all makes the implicit operator AND, explicit OR stays OR */
    const char *qa = "new city";
    ft_query *q = NULL;
    cr_assert_eq(ft_query_parse(an, qa, strlen(qa), &q, &err), FT_OK);
    ft_search_opts so;
    ft_search_opts_default(&so);
    so.all = 1;
    ft_results r;
    cr_assert_eq(ft_search(ix, q, &so, &r, &err), FT_OK);
    cr_assert_eq(r.n, 2);
    ft_results_free(&r);
    ft_query_free(q);
    /* explain sums to the score */
    cr_assert_eq(ft_query_parse(an, "\"new york\" city ne*", 19, &q, &err), FT_OK);
    ft_search_opts_default(&so);
    cr_assert_eq(ft_search(ix, q, &so, &r, &err), FT_OK);
    cr_assert_gt(r.n, 0);
    for (size_t h = 0; h < r.n; h++) {
        ft_explanation e;
        cr_assert_eq(ft_explain(ix, q, &so, r.hits[h].doc, &e, &err), FT_OK);
        cr_assert(e.matched);
        double sum = 0;
        for (size_t t = 0; t < e.n; t++) sum += e.terms[t].contribution;
        cr_assert(fabs(sum - r.hits[h].score) <= 1e-12 * r.hits[h].score, "explain sum %.17g score %.17g", sum,
                  r.hits[h].score);
        cr_assert(e.score == r.hits[h].score);
        ft_explain_free(&e);
    }
    ft_results_free(&r);
    ft_query_free(q);
    ft_analyzer_free(an);
    ft_index_close(ix);
    tu_corpus_free(&c);
    tu_rmrf(dir);
    free(dir);
}

Test(query, title_field)
{
    tu_corpus c = {0};
    tu_corpus_add(&c, "d0", "Russian soybeans", "trade with china");
    tu_corpus_add(&c, "d1", "China trade", "russian soybeans are cheap");
    tu_corpus_add(&c, "d2", "Soybeans of Russia", "nothing else");
    char *dir = tu_mkdtemp();
    ft_writer_opts wo;
    ft_writer_opts_default(&wo);
    tu_build_index(dir, &c, &wo);
    ft_index *ix;
    ft_error err = {0};
    cr_assert_eq(ft_index_open(dir, &ix, &err), FT_OK);
    ft_analyzer *an = tu_analyzer("english");
    expect_tree(an, "title:soybeans china", "(~title:soybean ~china)");
    expect_tree(an, "title:\"Russian soybeans\"", "title:\"russian soybean\"");
    expect_error(an, "title:", 6, "query: column 1: 'title:' must be followed by a word or a \"phrase\"");
    struct { const char *q; const char *ids; } cases[] = {
        {"title:soybeans", "d0 d2"},
        {"title:china", "d1"},
        {"title:\"russian soybeans\"", "d0"},
        {"\"russian soybeans\"", "d0 d1"},
        {"+title:trade soybeans", "d1"},
        {"soybeans -title:russia", "d0 d1"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        ft_query *q = NULL;
        cr_assert_eq(ft_query_parse(an, cases[i].q, strlen(cases[i].q), &q, &err), FT_OK, "%s", err.msg);
        ft_search_opts so;
        ft_search_opts_default(&so);
        ft_results r;
        cr_assert_eq(ft_search(ix, q, &so, &r, &err), FT_OK, "%s", err.msg);
        int seen[3] = {0};
        for (size_t h = 0; h < r.n; h++) seen[r.hits[h].doc] = 1;
        char got[64] = "";
        for (int d = 0; d < 3; d++)
            if (seen[d]) snprintf(got + strlen(got), sizeof got - strlen(got), "%sd%d", got[0] ? " " : "", d);
        cr_assert_str_eq(got, cases[i].ids, "query %s", cases[i].q);
        ft_results_free(&r);
        ft_query_free(q);
    }
    ft_analyzer_free(an);
    ft_index_close(ix);
    tu_corpus_free(&c);
    tu_rmrf(dir);
    free(dir);
}

Test(query, snippets_highlight_prefix_and_cjk)
{
    tu_corpus c = {0};
    tu_corpus_add(&c, "d0", "", "Russian soybeans and Russia's pandas; 我在北京大学学习");
    char *dir = tu_mkdtemp();
    ft_writer_opts wo;
    ft_writer_opts_default(&wo);
    tu_build_index(dir, &c, &wo);
    ft_index *ix;
    ft_error err = {0};
    cr_assert_eq(ft_index_open(dir, &ix, &err), FT_OK);
    ft_analyzer *an = tu_analyzer("english");
    struct { const char *q, *want; } cases[] = {
        {"russ*", "[Russian] soybeans and [Russia's] pandas; 我在北京大学学习"},
        {"soybeans", "Russian [soybeans] and Russia's pandas; 我在北京大学学习"},
        {"北京", "Russian soybeans and Russia's pandas; 我在[北京]大学学习"},
        {"北京大学", "Russian soybeans and Russia's pandas; 我在[北京大学]学习"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        ft_query *q = NULL;
        cr_assert_eq(ft_query_parse(an, cases[i].q, strlen(cases[i].q), &q, &err), FT_OK, "%s", err.msg);
        ft_snippet_opts so = {30, "[", "]"};
        char *snip = NULL;
        cr_assert_eq(ft_snippet(ix, an, q, 0, &so, &snip, &err), FT_OK, "%s", err.msg);
        cr_assert_str_eq(snip, cases[i].want, "query %s", cases[i].q);
        free(snip);
        ft_query_free(q);
    }
    ft_analyzer_free(an);
    ft_index_close(ix);
    tu_corpus_free(&c);
    tu_rmrf(dir);
    free(dir);
}
