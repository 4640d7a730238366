/*
 * test_stems.c — English stemming through the whole analyzer pipeline and its
 * stem cache, against a golden list (tests/data/stems_english.txt: word<TAB>stem,
 * produced by calling libstemmer's sb_stemmer_stem directly, not through ft).
 * Also checks that repeated and interleaved words give identical stems while
 * the cache reports hits, and that a large shuffled workload (forcing cache
 * collisions and evictions) still agrees with libstemmer called directly.
 */
#include <criterion/criterion.h>
#include <libstemmer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ft_test_util.h"

typedef struct golden {
    char **word, **stem;
    size_t n;
    char *data;
} golden;

static void load_golden(golden *g)
{
    const char *src = tu_env_or_skip("FT_SRC");
    char *path = tu_join(src, "tests/data/stems_english.txt");
    size_t len;
    g->data = tu_read_file(path, &len);
    cr_assert_not_null(g->data, "cannot read %s", path);
    free(path);
    size_t cap = 1024;
    g->word = malloc(cap * sizeof *g->word);
    g->stem = malloc(cap * sizeof *g->stem);
    g->n = 0;
    char *save = NULL;
    for (char *line = strtok_r(g->data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *tab = strchr(line, '\t');
        cr_assert_not_null(tab, "bad golden line: %s", line);
        *tab = 0;
        if (g->n == cap) {
            cap *= 2;
            g->word = realloc(g->word, cap * sizeof *g->word);
            g->stem = realloc(g->stem, cap * sizeof *g->stem);
        }
        g->word[g->n] = line;
        g->stem[g->n] = tab + 1;
        g->n++;
    }
    cr_assert_geq(g->n, 500, "golden list has only %zu words", g->n);
}

static void free_golden(golden *g)
{
    free(g->word);
    free(g->stem);
    free(g->data);
}

static void expect_stem(ft_analyzer *an, const char *word, const char *stem)
{
    tu_toks t = {0};
    cr_assert_eq(tu_analyze(an, word, strlen(word), 0, &t, NULL), 0);
    cr_assert_eq(t.n, 1, "word %s gave %zu tokens", word, t.n);
    cr_assert_str_eq(t.v[0].term, stem, "word %s: got stem %s, want %s", word, t.v[0].term, stem);
    tu_toks_free(&t);
}

Test(stems, golden_english_list)
{
    golden g;
    load_golden(&g);
    ft_analyzer *an = tu_analyzer("english");
    for (size_t i = 0; i < g.n; i++) expect_stem(an, g.word[i], g.stem[i]);
    /* the same words analyzed as one text: positions and stems in order */
    size_t total = 0;
    for (size_t i = 0; i < g.n; i++) total += strlen(g.word[i]) + 1;
    char *text = malloc(total + 1);
    size_t len = 0;
    for (size_t i = 0; i < g.n; i++) len += (size_t)sprintf(text + len, "%s ", g.word[i]);
    tu_toks t = {0};
    cr_assert_eq(tu_analyze(an, text, len, 0, &t, NULL), 0);
    cr_assert_eq(t.n, g.n);
    for (size_t i = 0; i < g.n; i++) {
        cr_assert_str_eq(t.v[i].term, g.stem[i], "word %s", g.word[i]);
        cr_assert_eq(t.v[i].pos, i);
    }
    tu_toks_free(&t);
    free(text);
    ft_analyzer_free(an);
    free_golden(&g);
}

Test(stems, cache_repeated_interleaved)
{
    ft_analyzer *an = tu_analyzer("english");
    uint64_t hits = 0, misses = 0;
    const char *text = "running generously ponies running soybeans caresses running generously";
    const char *want[] = {"run", "generous", "poni", "run", "soybean", "caress", "run", "generous"};
    for (int round = 0; round < 2; round++) {
        tu_toks t = {0};
        cr_assert_eq(tu_analyze(an, text, strlen(text), 0, &t, NULL), 0);
        cr_assert_eq(t.n, 8);
        for (size_t i = 0; i < 8; i++) cr_assert_str_eq(t.v[i].term, want[i]);
        tu_toks_free(&t);
    }
    ft_analyzer_cache_stats(an, &hits, &misses);
    cr_assert_gt(hits, 0, "stem cache reports no hits after repeated words");
    cr_assert_gt(misses, 0, "stem cache reports no misses for first-seen words");
    cr_assert_leq(hits + misses, 16, "more lookups (%llu) than stemmed words",
                  (unsigned long long)(hits + misses));
    ft_analyzer_free(an);
}

Test(stems, cache_stress_matches_libstemmer)
{
    golden g;
    load_golden(&g);
    /* add derived words so the working set is well beyond any small cache */
    size_t n = g.n * 4;
    char **words = malloc(n * sizeof *words);
    const char *suffix[] = {"", "s", "ing", "ness"};
    for (size_t i = 0; i < g.n; i++)
        for (size_t s = 0; s < 4; s++) {
            char *w = NULL;
            cr_assert(asprintf(&w, "%s%s", g.word[i], suffix[s]) > 0);
            words[i * 4 + s] = w;
        }
    struct sb_stemmer *ref = sb_stemmer_new("english", "UTF_8");
    cr_assert_not_null(ref);
    char **want = malloc(n * sizeof *want);
    for (size_t i = 0; i < n; i++) {
        const sb_symbol *r = sb_stemmer_stem(ref, (const sb_symbol *)words[i], (int)strlen(words[i]));
        want[i] = strndup((const char *)r, (size_t)sb_stemmer_length(ref));
    }
    sb_stemmer_delete(ref);

    ft_analyzer *an = tu_analyzer("english");
    tu_rng rng = {12345};
    size_t *order = malloc(n * sizeof *order);
    for (size_t i = 0; i < n; i++) order[i] = i;
    for (int pass = 0; pass < 3; pass++) {
        for (size_t i = n - 1; i > 0; i--) {
            size_t j = tu_randn(&rng, (uint32_t)(i + 1));
            size_t tmp = order[i];
            order[i] = order[j];
            order[j] = tmp;
        }
        /* one text per 50 words, so the cache persists across calls */
        for (size_t b = 0; b < n; b += 50) {
            size_t e = b + 50 < n ? b + 50 : n;
            size_t len = 0;
            for (size_t i = b; i < e; i++) len += strlen(words[order[i]]) + 1;
            char *text = malloc(len + 1);
            len = 0;
            for (size_t i = b; i < e; i++) len += (size_t)sprintf(text + len, "%s ", words[order[i]]);
            tu_toks t = {0};
            cr_assert_eq(tu_analyze(an, text, len, 0, &t, NULL), 0);
            cr_assert_eq(t.n, e - b);
            for (size_t i = b; i < e; i++)
                cr_assert_str_eq(t.v[i - b].term, want[order[i]], "pass %d word %s", pass,
                                 words[order[i]]);
            tu_toks_free(&t);
            free(text);
        }
    }
    uint64_t hits, misses;
    ft_analyzer_cache_stats(an, &hits, &misses);
    cr_assert_gt(hits, 0);
    ft_analyzer_free(an);
    for (size_t i = 0; i < n; i++) {
        free(words[i]);
        free(want[i]);
    }
    free(words);
    free(want);
    free(order);
    free_golden(&g);
}
