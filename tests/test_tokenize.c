/*
 * test_tokenize.c — the analyzer (ft_analyze and the ft_analyzer_opts API):
 * word splitting (letters, numbers, marks; apostrophes; digit separators),
 * case folding and NFKC, CJK bigrams, invalid UTF-8 handling, positions and
 * byte offsets, stopwords, overlong tokens, stemming against libstemmer, the
 * callback stop protocol, and option formatting/parsing/validation.
 */
#include <criterion/criterion.h>
#include <libstemmer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ft_test_util.h"

/* Analyze text with an analyzer of lang and check the exact term list and
 * that positions run consecutively from 0.  Returns the stats. */
static ft_analyze_stats expect_terms_n(const char *lang, const char *text, size_t len,
                                       const char *const *want)
{
    ft_analyzer *an = tu_analyzer(lang);
    tu_toks t = {0};
    ft_analyze_stats st;
    memset(&st, 0, sizeof st);
    int rc = tu_analyze(an, text, len, 0, &t, &st);
    cr_assert_eq(rc, 0);
    size_t nwant = 0;
    while (want[nwant]) nwant++;
    char got[2048] = "";
    for (size_t i = 0; i < t.n; i++) {
        strncat(got, "|", sizeof got - strlen(got) - 1);
        strncat(got, t.v[i].term, sizeof got - strlen(got) - 1);
    }
    cr_assert_eq(t.n, nwant, "lang %s, input \"%.*s\": %zu terms (%s), want %zu", lang, (int)len,
                 text, t.n, got, nwant);
    for (size_t i = 0; i < nwant; i++) {
        cr_assert_eq(t.v[i].len, strlen(want[i]),
                     "input \"%.*s\" term %zu: got \"%s\" (len %zu), want \"%s\"", (int)len, text, i,
                     t.v[i].term, t.v[i].len, want[i]);
        cr_assert(memcmp(t.v[i].term, want[i], t.v[i].len) == 0,
                  "input \"%.*s\" term %zu: got \"%s\", want \"%s\"", (int)len, text, i,
                  t.v[i].term, want[i]);
        cr_assert_eq(t.v[i].pos, (uint32_t)i, "input \"%.*s\" term %zu: pos %u", (int)len, text, i,
                     t.v[i].pos);
    }
    cr_assert_eq(st.tokens, (uint64_t)nwant);
    tu_toks_free(&t);
    ft_analyzer_free(an);
    return st;
}

#define TERMS(...) ((const char *const[]){__VA_ARGS__, NULL})
#define NOTERMS ((const char *const[]){NULL})
static ft_analyze_stats expect_terms(const char *lang, const char *text, const char *const *want)
{
    return expect_terms_n(lang, text, strlen(text), want);
}

/* ------------------------------------------------------------ basics */

Test(tokenize, ascii_words_positions_offsets)
{
    ft_analyzer *an = tu_analyzer("none");
    const char *text = "Hello, World! hello\tHELLO\n42";
    tu_toks t = {0};
    ft_analyze_stats st;
    cr_assert_eq(tu_analyze(an, text, strlen(text), 0, &t, &st), 0);
    const char *want[] = {"hello", "world", "hello", "hello", "42"};
    const size_t starts[] = {0, 7, 14, 20, 26}, ends[] = {5, 12, 19, 25, 28};
    cr_assert_eq(t.n, 5);
    for (size_t i = 0; i < 5; i++) {
        cr_assert_str_eq(t.v[i].term, want[i]);
        cr_assert_eq(t.v[i].pos, i);
        cr_assert_eq(t.v[i].start, starts[i], "tok %zu start %zu", i, t.v[i].start);
        cr_assert_eq(t.v[i].end, ends[i], "tok %zu end %zu", i, t.v[i].end);
    }
    cr_assert_eq(st.tokens, 5);
    cr_assert_eq(st.next_pos, 5);
    cr_assert_eq(st.invalid_bytes, 0);
    cr_assert_eq(st.dropped, 0);
    cr_assert_eq(st.stopped, 0);
    tu_toks_free(&t);

    /* first_pos shifts every position and next_pos */
    cr_assert_eq(tu_analyze(an, text, strlen(text), 1000, &t, &st), 0);
    cr_assert_eq(t.n, 5);
    for (size_t i = 0; i < 5; i++) cr_assert_eq(t.v[i].pos, 1000 + i);
    cr_assert_eq(st.next_pos, 1005);
    tu_toks_free(&t);
    ft_analyzer_free(an);
}

Test(tokenize, empty_and_separator_only_input)
{
    ft_analyzer *an = tu_analyzer("english");
    tu_toks t = {0};
    ft_analyze_stats st;
    cr_assert_eq(tu_analyze(an, "", 0, 7, &t, &st), 0);
    cr_assert_eq(t.n, 0);
    cr_assert_eq(st.tokens, 0);
    cr_assert_eq(st.next_pos, 7);
    const char *seps = "  ,,, !! -- ... \n\t ()[]{} $%& \xe2\x80\x94 ";
    cr_assert_eq(tu_analyze(an, seps, strlen(seps), 3, &t, &st), 0);
    cr_assert_eq(t.n, 0);
    cr_assert_eq(st.next_pos, 3);
    tu_toks_free(&t);
    ft_analyzer_free(an);
}

Test(tokenize, many_tokens_consecutive_positions)
{
    ft_analyzer *an = tu_analyzer("none");
    size_t n = 20000;
    char *text = malloc(n * 8 + 1);
    size_t len = 0;
    for (size_t i = 0; i < n; i++) len += (size_t)sprintf(text + len, "w%zu ", i % 977);
    tu_toks t = {0};
    ft_analyze_stats st;
    cr_assert_eq(tu_analyze(an, text, len, 5, &t, &st), 0);
    cr_assert_eq(t.n, n);
    for (size_t i = 0; i < n; i++) {
        char w[16];
        snprintf(w, sizeof w, "w%zu", i % 977);
        cr_assert_str_eq(t.v[i].term, w);
        cr_assert_eq(t.v[i].pos, 5 + i);
        cr_assert_eq(memcmp(text + t.v[i].start, w, strlen(w)), 0);
        cr_assert_eq(t.v[i].end - t.v[i].start, strlen(w));
    }
    cr_assert_eq(st.next_pos, 5 + n);
    tu_toks_free(&t);
    ft_analyzer_free(an);
    free(text);
}

Test(tokenize, embedded_nul_separates)
{
    expect_terms_n("none", "ab\0cd", 5, TERMS("ab", "cd"));
}

static int stop_after_two(void *ctx, const ft_token *tok)
{
    (void)tok;
    int *count = ctx;
    return ++*count == 2 ? 42 : 0;
}

Test(tokenize, callback_stop_value_returned)
{
    ft_analyzer *an = tu_analyzer("none");
    int count = 0;
    const char *text = "one two three four";
    int rc = ft_analyze(an, text, strlen(text), 0, stop_after_two, &count, NULL);
    cr_assert_eq(rc, 42);
    cr_assert_eq(count, 2);
    ft_analyzer_free(an);
}

/* ------------------------------------------------------------ word rules */

Test(tokenize, punctuation_symbols_emoji_separate)
{
    expect_terms("none", "foo_bar a+b e-mail C++ x/y", TERMS("foo", "bar", "a", "b", "e", "mail",
                                                             "c", "x", "y"));
    expect_terms("none", "hello\xf0\x9f\x98\x80world", TERMS("hello", "world")); /* emoji */
    expect_terms("none", "x\xef\xbf\xbdy", TERMS("x", "y"));                   /* U+FFFD */
    expect_terms("none", "non\xc2\xa0" "breaking", TERMS("non", "breaking"));   /* NBSP */
    expect_terms("none", "a\xe2\x80\x94" "b\xe2\x80\xa6" "c", TERMS("a", "b", "c")); /* dash, ellipsis */
    expect_terms("none", "\xc2\xabquoted\xc2\xbb \"also\"", TERMS("quoted", "also"));
    expect_terms("none", "50% $10 #tag @user", TERMS("50", "10", "tag", "user"));
}

Test(tokenize, marks_and_numbers_are_word_characters)
{
    /* combining diaeresis (Mn) stays in the word, NFKC composes it */
    expect_terms("none", "nai\xcc\x88ve", TERMS("na\xc3\xafve"));
    /* superscript two (No) is a number: part of the word, NFKC maps it to 2 */
    expect_terms("none", "E=mc\xc2\xb2", TERMS("e", "mc2"));
    expect_terms("none", "abc123 4u", TERMS("abc123", "4u"));
}

Test(tokenize, apostrophes_and_possessives)
{
    expect_terms("none", "Xi's", TERMS("xi"));
    expect_terms("none", "Putin\xe2\x80\x99s", TERMS("putin"));
    expect_terms("none", "don't", TERMS("don't"));
    expect_terms("none", "don\xe2\x80\x99t", TERMS("don't")); /* U+2019 normalised to ' */
    expect_terms("none", "O'Clock", TERMS("o'clock"));
    expect_terms("none", "'quoted'", TERMS("quoted"));
    expect_terms("none", "rock 'n' roll", TERMS("rock", "n", "roll"));
    expect_terms("none", "students' books", TERMS("students", "books"));
    expect_terms("none", "it's James's", TERMS("it", "james"));
    expect_terms("none", "a' b", TERMS("a", "b"));
    expect_terms("none", "12's", TERMS("12", "s")); /* apostrophe not between letters */
    /* with stemming */
    expect_terms("english", "Russia's Putin\xe2\x80\x99s don't", TERMS("russia", "putin", "don't"));
}

Test(tokenize, digit_separators)
{
    expect_terms("none", "24.5", TERMS("24.5"));
    expect_terms("none", "1,000", TERMS("1,000"));
    expect_terms("none", "1,000,000 and 3.14159", TERMS("1,000,000", "and", "3.14159"));
    expect_terms("none", "U.S.", TERMS("u", "s"));
    expect_terms("none", "a.b 3.x x.3 end. 1. .5 ,7 8,", TERMS("a", "b", "3", "x", "x", "3", "end",
                                                              "1", "5", "7", "8"));
    expect_terms("none", "2019-06-05", TERMS("2019", "06", "05"));
    expect_terms("none", "1, 2", TERMS("1", "2"));
    expect_terms("english", "costs 24.5 1,000", TERMS("cost", "24.5", "1,000"));
}

/* ------------------------------------------------------------ folding */

Test(tokenize, case_folding_and_nfkc)
{
    expect_terms("none", "Stra\xc3\x9f" "e", TERMS("strasse"));
    expect_terms("none", "\xef\xac\x81nd", TERMS("find"));                  /* ﬁ ligature */
    expect_terms("none", "\xef\xbc\xa1\xef\xbc\xa2\xef\xbc\xa3", TERMS("abc")); /* ＡＢＣ */
    expect_terms("none", "Caf\xc3\xa9", TERMS("caf\xc3\xa9"));
    expect_terms("none", "CAFE\xcc\x81", TERMS("caf\xc3\xa9")); /* decomposed input composes */
    expect_terms("none", "\xc4\xb0stanbul", TERMS("i\xcc\x87stanbul")); /* İ -> i + U+0307 */
    /* ΣΊΣΥΦΟΣ -> σίσυφοσ (case folding maps every sigma to σ) */
    expect_terms("none", "\xce\xa3\xce\x8a\xce\xa3\xce\xa5\xce\xa6\xce\x9f\xce\xa3",
                 TERMS("\xcf\x83\xce\xaf\xcf\x83\xcf\x85\xcf\x86\xce\xbf\xcf\x83"));
    /* final sigma already lower case also folds to σ */
    expect_terms("none", "\xcf\x83\xce\xbf\xcf\x86\xce\xbf\xcf\x82",
                 TERMS("\xcf\x83\xce\xbf\xcf\x86\xce\xbf\xcf\x83"));
    expect_terms("none", "\xd0\x9c\xd0\x9e\xd0\xa1\xd0\x9a\xd0\x92\xd0\x90",
                 TERMS("\xd0\xbc\xd0\xbe\xd1\x81\xd0\xba\xd0\xb2\xd0\xb0")); /* МОСКВА */
}

Test(tokenize, offsets_are_source_bytes)
{
    ft_analyzer *an = tu_analyzer("none");
    /* "Straße ＡＢＣ x" : ß is 2 bytes, each fullwidth letter 3 */
    const char *text = "Stra\xc3\x9f" "e \xef\xbc\xa1\xef\xbc\xa2\xef\xbc\xa3 x";
    tu_toks t = {0};
    cr_assert_eq(tu_analyze(an, text, strlen(text), 0, &t, NULL), 0);
    cr_assert_eq(t.n, 3);
    cr_assert_str_eq(t.v[0].term, "strasse");
    cr_assert_eq(t.v[0].start, 0);
    cr_assert_eq(t.v[0].end, 7);
    cr_assert_str_eq(t.v[1].term, "abc");
    cr_assert_eq(t.v[1].start, 8);
    cr_assert_eq(t.v[1].end, 17);
    cr_assert_str_eq(t.v[2].term, "x");
    cr_assert_eq(t.v[2].start, 18);
    cr_assert_eq(t.v[2].end, 19);
    tu_toks_free(&t);
    ft_analyzer_free(an);
}

/* ------------------------------------------------------------ CJK */

Test(tokenize, cjk_bigrams)
{
    /* 中华人民 */
    ft_analyzer *an = tu_analyzer("english");
    const char *text = "\xe4\xb8\xad\xe5\x8d\x8e\xe4\xba\xba\xe6\xb0\x91";
    tu_toks t = {0};
    ft_analyze_stats st;
    cr_assert_eq(tu_analyze(an, text, strlen(text), 0, &t, &st), 0);
    cr_assert_eq(t.n, 3);
    cr_assert_str_eq(t.v[0].term, "\xe4\xb8\xad\xe5\x8d\x8e"); /* 中华 */
    cr_assert_str_eq(t.v[1].term, "\xe5\x8d\x8e\xe4\xba\xba"); /* 华人 */
    cr_assert_str_eq(t.v[2].term, "\xe4\xba\xba\xe6\xb0\x91"); /* 人民 */
    for (uint32_t i = 0; i < 3; i++) {
        cr_assert_eq(t.v[i].pos, i);
        cr_assert_eq(t.v[i].start, 3 * i);
        cr_assert_eq(t.v[i].end, 3 * i + 6);
    }
    cr_assert_eq(st.next_pos, 3);
    tu_toks_free(&t);
    ft_analyzer_free(an);

    expect_terms("english", "\xe4\xb8\xad", TERMS("\xe4\xb8\xad")); /* lone 中 */
    expect_terms("english", "abc\xe4\xb8\xad\xe5\x9b\xbd" "def",
                 TERMS("abc", "\xe4\xb8\xad\xe5\x9b\xbd", "def")); /* abc中国def */
    expect_terms("none", "\xe4\xb8\xad \xe5\x9b\xbd", TERMS("\xe4\xb8\xad", "\xe5\x9b\xbd"));
    /* 한국어 -> 한국, 국어 */
    expect_terms("english", "\xed\x95\x9c\xea\xb5\xad\xec\x96\xb4",
                 TERMS("\xed\x95\x9c\xea\xb5\xad", "\xea\xb5\xad\xec\x96\xb4"));
    /* ひらがな -> ひら らが がな */
    expect_terms("none", "\xe3\x81\xb2\xe3\x82\x89\xe3\x81\x8c\xe3\x81\xaa",
                 TERMS("\xe3\x81\xb2\xe3\x82\x89", "\xe3\x82\x89\xe3\x81\x8c",
                       "\xe3\x81\x8c\xe3\x81\xaa"));
    /* カタカナ -> カタ タカ カナ */
    expect_terms("none", "\xe3\x82\xab\xe3\x82\xbf\xe3\x82\xab\xe3\x83\x8a",
                 TERMS("\xe3\x82\xab\xe3\x82\xbf", "\xe3\x82\xbf\xe3\x82\xab",
                       "\xe3\x82\xab\xe3\x83\x8a"));
    /* 中华人民 共和国: two runs, positions continue across them */
    expect_terms("none", "\xe4\xb8\xad\xe5\x8d\x8e\xe4\xba\xba\xe6\xb0\x91 \xe5\x85\xb1\xe5\x92\x8c\xe5\x9b\xbd",
                 TERMS("\xe4\xb8\xad\xe5\x8d\x8e", "\xe5\x8d\x8e\xe4\xba\xba",
                       "\xe4\xba\xba\xe6\xb0\x91", "\xe5\x85\xb1\xe5\x92\x8c",
                       "\xe5\x92\x8c\xe5\x9b\xbd"));
    /* punctuation 、 breaks the run */
    expect_terms("none", "\xe4\xb8\xad\xe5\x9b\xbd\xe3\x80\x81\xe4\xba\xba",
                 TERMS("\xe4\xb8\xad\xe5\x9b\xbd", "\xe4\xba\xba"));
}

/* ------------------------------------------------------------ invalid UTF-8 */

static void expect_invalid(const char *text, size_t len, const char *const *want)
{
    ft_analyze_stats st = expect_terms_n("none", text, len, want);
    cr_assert_gt(st.invalid_bytes, 0, "input with bad bytes reported 0 invalid bytes");
}

Test(tokenize, invalid_utf8)
{
    ft_analyzer *an = tu_analyzer("none");
    tu_toks t = {0};
    ft_analyze_stats st;
    cr_assert_eq(tu_analyze(an, "ab\xff" "cd", 5, 0, &t, &st), 0);
    cr_assert_eq(t.n, 2);
    cr_assert_str_eq(t.v[0].term, "ab");
    cr_assert_str_eq(t.v[1].term, "cd");
    cr_assert_eq(t.v[0].pos, 0);
    cr_assert_eq(t.v[1].pos, 1);
    cr_assert_eq(t.v[1].start, 3);
    cr_assert_eq(t.v[1].end, 5);
    cr_assert_eq(st.invalid_bytes, 1);
    cr_assert_eq(st.next_pos, 2);
    tu_toks_free(&t);
    ft_analyzer_free(an);

    expect_invalid("ab\xc0\xaf" "cd", 6, TERMS("ab", "cd"));          /* overlong '/' */
    expect_invalid("ab\xe0\x80\xaf" "cd", 7, TERMS("ab", "cd"));      /* 3-byte overlong */
    expect_invalid("ab\xed\xa0\x80" "cd", 7, TERMS("ab", "cd"));      /* surrogate D800 */
    expect_invalid("ab\xe4\xb8", 4, TERMS("ab"));                     /* truncated at end */
    expect_invalid("ab\xe4\xb8" "cd", 6, TERMS("ab", "cd"));          /* truncated inside */
    expect_invalid("\x80" "ab\xbf", 4, TERMS("ab"));                  /* lone continuations */
    expect_invalid("ab\xf5\x80\x80\x80" "cd", 8, TERMS("ab", "cd"));  /* F5 never valid */
    expect_invalid("ab\xf4\x90\x80\x80" "cd", 8, TERMS("ab", "cd"));  /* > U+10FFFF */
    expect_invalid("ab\xfe\xff" "cd", 6, TERMS("ab", "cd"));
    /* 中\xff国: the bad byte ends the CJK run, two unigrams */
    expect_invalid("\xe4\xb8\xad\xff\xe5\x9b\xbd", 7, TERMS("\xe4\xb8\xad", "\xe5\x9b\xbd"));
    /* a valid multibyte word after garbage survives intact */
    expect_invalid("\xc3\xff" "Caf\xc3\xa9", 7, TERMS("caf\xc3\xa9"));
}

/* ------------------------------------------------------------ stopwords, length */

Test(tokenize, stopwords_keep_positions)
{
    ft_analyzer_opts o;
    ft_analyzer_opts_default(&o);
    o.stopwords = 1;
    ft_analyzer *an = NULL;
    ft_error err = {0};
    cr_assert_eq(ft_analyzer_new(&o, &an, &err), FT_OK, "%s", err.msg);
    const char *text = "the cat and The hat";
    tu_toks t = {0};
    ft_analyze_stats st;
    cr_assert_eq(tu_analyze(an, text, strlen(text), 0, &t, &st), 0);
    cr_assert_eq(t.n, 2);
    cr_assert_str_eq(t.v[0].term, "cat");
    cr_assert_eq(t.v[0].pos, 1);
    cr_assert_eq(t.v[0].start, 4);
    cr_assert_str_eq(t.v[1].term, "hat");
    cr_assert_eq(t.v[1].pos, 4);
    cr_assert_eq(t.v[1].start, 16);
    cr_assert_eq(st.stopped, 3);
    cr_assert_eq(st.tokens, 2);
    cr_assert_eq(st.next_pos, 5);
    tu_toks_free(&t);
    ft_analyzer_free(an);

    /* without stopwords (the default) "the" is a term */
    expect_terms("english", "the cat", TERMS("the", "cat"));
}

/* Words far longer than the analyzer's word buffer (1 KiB at first): the
 * buffer grows, the word is dropped as overlong, positions stay right, and
 * a short word after it is intact (the ASan build checks the writes). */
Test(tokenize, words_longer_than_the_word_buffer)
{
    size_t n = 70000;
    char *text = malloc(n + 64);
    cr_assert_not_null(text);
    size_t k = 0;
    k += (size_t)sprintf(text + k, "Start ");
    for (size_t i = 0; i < 5000; i++) text[k++] = (char)('A' + i % 26);
    text[k++] = ' ';
    for (size_t i = 0; i < 3000; i++) text[k++] = (char)('0' + i % 10);
    memcpy(text + k, "\xc3\xa9", 2); /* é inside: the word leaves the ASCII fast path */
    k += 2;
    for (size_t i = 0; i < 3000; i++) text[k++] = 'b';
    k += (size_t)sprintf(text + k, " End");
    ft_analyzer *an = tu_analyzer("none");
    tu_toks t = {0};
    ft_analyze_stats st;
    cr_assert_eq(tu_analyze(an, text, k, 0, &t, &st), 0);
    cr_assert_eq(t.n, 2);
    cr_assert_str_eq(t.v[0].term, "start");
    cr_assert_eq(t.v[0].pos, 0);
    cr_assert_str_eq(t.v[1].term, "end");
    cr_assert_eq(t.v[1].pos, 3);
    cr_assert_eq(st.dropped, 2);
    tu_toks_free(&t);
    ft_analyzer_free(an);
    free(text);
}

Test(tokenize, overlong_tokens_dropped)
{
    char text[512];
    char a64[65], a65[66];
    memset(a64, 'a', 64);
    a64[64] = 0;
    memset(a65, 'a', 65);
    a65[65] = 0;
    snprintf(text, sizeof text, "x %s y %s z", a65, a64);
    ft_analyzer *an = tu_analyzer("none");
    tu_toks t = {0};
    ft_analyze_stats st;
    cr_assert_eq(tu_analyze(an, text, strlen(text), 0, &t, &st), 0);
    cr_assert_eq(t.n, 4);
    cr_assert_str_eq(t.v[0].term, "x");
    cr_assert_eq(t.v[0].pos, 0);
    cr_assert_str_eq(t.v[1].term, "y");
    cr_assert_eq(t.v[1].pos, 2);
    cr_assert_str_eq(t.v[2].term, a64);
    cr_assert_eq(t.v[2].pos, 3);
    cr_assert_str_eq(t.v[3].term, "z");
    cr_assert_eq(t.v[3].pos, 4);
    cr_assert_eq(st.dropped, 1);
    cr_assert_eq(st.next_pos, 5);
    tu_toks_free(&t);

    /* the limit applies after folding: 33 × ß (66 bytes) folds to 66 bytes of
     * "ss" (dropped); 32 × ß folds to exactly 64 (kept); 30 fullwidth letters
     * (90 bytes of input) fold to 30 bytes (kept) */
    char buf[400];
    size_t n = 0;
    for (int i = 0; i < 33; i++) n += (size_t)sprintf(buf + n, "\xc3\x9f");
    n += (size_t)sprintf(buf + n, " ");
    for (int i = 0; i < 32; i++) n += (size_t)sprintf(buf + n, "\xc3\x9f");
    n += (size_t)sprintf(buf + n, " ");
    for (int i = 0; i < 30; i++) n += (size_t)sprintf(buf + n, "\xef\xbd\x81"); /* ａ */
    cr_assert_eq(tu_analyze(an, buf, n, 0, &t, &st), 0);
    cr_assert_eq(t.n, 2);
    char ss32[65];
    for (int i = 0; i < 64; i++) ss32[i] = 's';
    ss32[64] = 0;
    cr_assert_str_eq(t.v[0].term, ss32);
    cr_assert_eq(t.v[0].pos, 1);
    cr_assert_eq(t.v[1].len, 30);
    cr_assert_eq(strspn(t.v[1].term, "a"), 30);
    cr_assert_eq(t.v[1].pos, 2);
    cr_assert_eq(st.dropped, 1);
    tu_toks_free(&t);
    ft_analyzer_free(an);

    /* a custom limit */
    ft_analyzer_opts o;
    ft_analyzer_opts_default(&o);
    strcpy(o.lang, "none");
    o.max_token_bytes = 5;
    ft_error err = {0};
    cr_assert_eq(ft_analyzer_new(&o, &an, &err), FT_OK, "%s", err.msg);
    const char *s2 = "abcde abcdef ab";
    cr_assert_eq(tu_analyze(an, s2, strlen(s2), 0, &t, &st), 0);
    cr_assert_eq(t.n, 2);
    cr_assert_str_eq(t.v[0].term, "abcde");
    cr_assert_eq(t.v[0].pos, 0);
    cr_assert_str_eq(t.v[1].term, "ab");
    cr_assert_eq(t.v[1].pos, 2);
    cr_assert_eq(st.dropped, 1);
    cr_assert_eq(st.next_pos, 3);
    tu_toks_free(&t);
    ft_analyzer_free(an);
}

/* ------------------------------------------------------------ stemming */

Test(tokenize, english_stemming)
{
    expect_terms("english", "running ponies soybeans Russia generously",
                 TERMS("run", "poni", "soybean", "russia", "generous"));
    expect_terms("english", "RUNNING Ponies", TERMS("run", "poni"));
    expect_terms("none", "running ponies soybeans", TERMS("running", "ponies", "soybeans"));
}

/* Stem word with libstemmer directly. */
static char *raw_stem(const char *lang, const char *word)
{
    struct sb_stemmer *s = sb_stemmer_new(lang, "UTF_8");
    cr_assert_not_null(s, "libstemmer has no %s", lang);
    const sb_symbol *r = sb_stemmer_stem(s, (const sb_symbol *)word, (int)strlen(word));
    cr_assert_not_null(r);
    char *out = strndup((const char *)r, (size_t)sb_stemmer_length(s));
    sb_stemmer_delete(s);
    return out;
}

Test(tokenize, other_languages_match_libstemmer)
{
    expect_terms("french", "continuellement", TERMS("continuel"));
    char *g = raw_stem("german", "aufeinanderfolgenden");
    expect_terms("german", "Aufeinanderfolgenden", TERMS(g));
    free(g);
    char *f = raw_stem("french", "\xc3\xa9tudiants"); /* étudiants */
    expect_terms("french", "\xc3\x89TUDIANTS", TERMS(f));
    free(f);
    char *r = raw_stem("russian", "\xd0\xba\xd0\xbd\xd0\xb8\xd0\xb3\xd0\xb0\xd0\xbc\xd0\xb8"); /* книгами */
    expect_terms("russian", "\xd0\x9a\xd0\xbd\xd0\xb8\xd0\xb3\xd0\xb0\xd0\xbc\xd0\xb8", TERMS(r));
    free(r);
}

Test(tokenize, every_listed_language_works)
{
    const char **langs = ft_stem_languages();
    cr_assert_not_null(langs);
    int has_en = 0, has_fr = 0, has_de = 0;
    size_t n = 0;
    const char *words[] = {"running", "nationalities", "continuellement", "generations"};
    for (; langs[n]; n++) {
        const char *l = langs[n];
        if (!strcmp(l, "none")) continue; /* not a stemmer, if listed at all */
        has_en |= !strcmp(l, "english");
        has_fr |= !strcmp(l, "french");
        has_de |= !strcmp(l, "german");
        ft_analyzer *an = tu_analyzer(l);
        for (size_t w = 0; w < 4; w++) {
            char *want = raw_stem(l, words[w]);
            tu_toks t = {0};
            cr_assert_eq(tu_analyze(an, words[w], strlen(words[w]), 0, &t, NULL), 0);
            cr_assert_eq(t.n, 1);
            cr_assert_str_eq(t.v[0].term, want, "lang %s word %s", l, words[w]);
            tu_toks_free(&t);
            free(want);
        }
        ft_analyzer_free(an);
    }
    cr_assert(n >= 10, "only %zu stemming languages listed", n);
    cr_assert(has_en && has_fr && has_de);
}

/* ------------------------------------------------------------ options */

Test(tokenize, opts_default_format_parse)
{
    ft_analyzer_opts o;
    memset(&o, 0x5a, sizeof o);
    ft_analyzer_opts_default(&o);
    cr_assert_str_eq(o.lang, "english");
    cr_assert_eq(o.stopwords, 0);
    cr_assert_eq(o.max_token_bytes, 64);

    char s[256];
    cr_assert_eq(ft_analyzer_opts_format(&o, s, sizeof s), FT_OK);
    cr_assert_str_eq(s, "lang=english stopwords=0 maxlen=64 cjk=bigram");

    ft_analyzer_opts p;
    memset(&p, 0, sizeof p);
    ft_error err = {0};
    cr_assert_eq(ft_analyzer_opts_parse(s, &p, &err), FT_OK, "%s", err.msg);
    cr_assert_str_eq(p.lang, "english");
    cr_assert_eq(p.stopwords, 0);
    cr_assert_eq(p.max_token_bytes, 64);

    ft_analyzer_opts c;
    ft_analyzer_opts_default(&c);
    strcpy(c.lang, "french");
    c.stopwords = 1;
    c.max_token_bytes = 100;
    cr_assert_eq(ft_analyzer_opts_format(&c, s, sizeof s), FT_OK);
    cr_assert(strstr(s, "lang=french") && strstr(s, "stopwords=1") && strstr(s, "maxlen=100"), "%s",
              s);
    memset(&p, 0, sizeof p);
    cr_assert_eq(ft_analyzer_opts_parse(s, &p, &err), FT_OK, "%s", err.msg);
    cr_assert_str_eq(p.lang, "french");
    cr_assert_eq(p.stopwords, 1);
    cr_assert_eq(p.max_token_bytes, 100);

    /* too small a buffer */
    cr_assert_eq(ft_analyzer_opts_format(&o, s, 10), FT_EINVAL);
}

Test(tokenize, opts_parse_rejects_unknown_key)
{
    ft_analyzer_opts p;
    ft_error err = {0};
    int rc = ft_analyzer_opts_parse("lang=english stopwords=0 maxlen=64 cjk=bigram colour=blue", &p,
                                    &err);
    cr_assert_eq(rc, FT_EINVAL);
    cr_assert_eq(err.code, FT_EINVAL);
    cr_assert(strstr(err.msg, "colour"), "message does not name the key: %s", err.msg);
}

Test(tokenize, unknown_language_rejected)
{
    ft_analyzer_opts o;
    ft_analyzer_opts_default(&o);
    strcpy(o.lang, "klingon");
    ft_analyzer *an = NULL;
    ft_error err = {0};
    int rc = ft_analyzer_new(&o, &an, &err);
    cr_assert_eq(rc, FT_EINVAL);
    cr_assert_null(an);
    cr_assert(strstr(err.msg, "klingon"), "message does not name the language: %s", err.msg);
}

Test(tokenize, analyzer_options_reported)
{
    ft_analyzer_opts o;
    ft_analyzer_opts_default(&o);
    strcpy(o.lang, "none");
    o.stopwords = 0;
    o.max_token_bytes = 20;
    ft_analyzer *an = NULL;
    ft_error err = {0};
    cr_assert_eq(ft_analyzer_new(&o, &an, &err), FT_OK, "%s", err.msg);
    const ft_analyzer_opts *g = ft_analyzer_options(an);
    cr_assert_str_eq(g->lang, "none");
    cr_assert_eq(g->max_token_bytes, 20);
    ft_analyzer_free(an);
    ft_analyzer_free(NULL);
}

static int count_tokens_only(void *ctx, const ft_token *t)
{
    (void)ctx;
    (void)t;
    return 0;
}

/* (position, start, end) of every token, for spans_equal_words */
typedef struct tuples {
    uint64_t v[3 * 512];
    size_t n;
} tuples;

static int on_tuple(void *ctx, const ft_token *t)
{
    tuples *u = ctx;
    cr_assert_lt(u->n + 3, sizeof u->v / sizeof *u->v);
    u->v[u->n++] = t->pos;
    u->v[u->n++] = t->start;
    u->v[u->n++] = t->end;
    return 0;
}

/* ft_analyze_spans gives the words of ft_analyze_words_from, for every range
 * of positions, on texts that cross between its ASCII path and the others:
 * apostrophes (ASCII and U+2019) and possessives, numbers with separators,
 * accented letters and combining marks joining ASCII words, CJK runs, words
 * over the length limit (dropped, their position kept), invalid bytes; with
 * and without stopwords. */
Test(tokenize, spans_equal_words)
{
    static const char *const texts[] = {
        "Don't stop JOHN'S dog's o'clock 3.14 1,000,000 a.b 1.a",
        "caf\xc3\xa9 na\xc3\xafve's abc\xc3\xa9xyz \xc3\xa9t\xc3\xa9-abc e\xcc\x81t\xc3\xa9 the",
        "O\xe2\x80\x99" "Brien\xe2\x80\x99s ab\xe2\x80\x99" "cd x\xe2\x80\x99s 12\xd9\xab" "34 it's",
        "abc\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e" "def \xe6\x97\xa5 ghi\xe4\xb8\xad jkl",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa's end",
        "bad \xff byte\xfe" "s and \xc3 half an\xc3\xa9 \xe2\x80 the and of",
        "  lead, trail.  ' '' 's 'tis x' y''z 5.5.5 ..1 1.. ,2,",
        /* 64 letters and 's: a term of 64 bytes, kept; 65 and 's: dropped */
        "x bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb's y "
        "ccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc's z",
    };
    for (int sw = 0; sw < 2; sw++) {
        ft_analyzer_opts o;
        ft_analyzer_opts_default(&o);
        strcpy(o.lang, "english");
        o.stopwords = sw;
        o.max_token_bytes = 64;
        ft_analyzer *an;
        ft_error err = {0};
        cr_assert_eq(ft_analyzer_new(&o, &an, &err), FT_OK, "%s", err.msg);
        /* every text from each of its first 16 bytes too: the ASCII path
         * reads 16 bytes at a time, so its chunks fall everywhere */
        for (size_t tk = 0; tk < 16 * (sizeof texts / sizeof *texts); tk++) {
            size_t t = tk / 16, skip = tk % 16;
            if (skip >= strlen(texts[t])) continue;
            const char *text = texts[t] + skip;
            size_t len = strlen(text);
            ft_analyze_stats st;
            cr_assert_eq(ft_analyze_words(an, text, len, 7, count_tokens_only, NULL, &st), 0);
            for (uint32_t from = 7; from <= st.next_pos + 1; from++)
                for (uint32_t to = from + 1; to <= st.next_pos + 2; to++) {
                    static tuples w;
                    w.n = 0;
                    cr_assert_eq(ft_analyze_words_from(an, text, len, 7, from, on_tuple, &w, NULL), 0);
                    size_t want = 0, more = 0;
                    while (want < w.n / 3 && w.v[3 * want] < to) want++;
                    more = want < w.n / 3;
                    ft_span sp[512];
                    size_t n = 99;
                    int r = ft_analyze_spans(an, text, len, 7, from, to, sp, to - from, &n);
                    cr_assert_eq(r, (int)more, "text %zu [%u, %u): returned %d", t, from, to, r);
                    cr_assert_eq(n, want, "text %zu [%u, %u): %zu words, expected %zu", t, from, to, n, want);
                    for (size_t i = 0; i < n; i++) {
                        cr_assert_eq(sp[i].pos, w.v[3 * i], "text %zu [%u, %u) word %zu", t, from, to, i);
                        cr_assert_eq(sp[i].start, w.v[3 * i + 1], "text %zu [%u, %u) word %zu", t, from, to, i);
                        cr_assert_eq(sp[i].end, w.v[3 * i + 2], "text %zu [%u, %u) word %zu", t, from, to, i);
                    }
                    if (!sw && tk == 0 && from == 7 && to == st.next_pos + 2) cr_assert_eq(n, 11);
                }
        }
        ft_analyzer_free(an);
    }
}
