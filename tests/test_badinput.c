/*
 * test_badinput.c — the bad-input catalogue (tests/badinput/README.md): every
 * row of its table is one of these tests.  Most run the tools ($FT_BIN/ftindex,
 * $FT_BIN/ftsearch) on inputs generated in a temporary directory and assert
 * the exit status, the warning or error line, and what is (or is not)
 * searchable afterwards; a few call the library directly.  The two large
 * inputs (a 200 MB document, a million documents) run only with FT_LONG=1
 * (`make check-long`), in the plain build.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "ft_test_util.h"

/* ftsearch --json: the number of matches and the id of the first hit
 * (malloc'd, NULL without hits).  Asserts valid JSON and the exit status:
 * 0 with hits, 1 without. */
static long long search_matches(const char *idx, const char *query, char **first_id)
{
    tu_run r;
    tu_run_tool(&r, "ftsearch", "-i", idx, "--json", "-k", "3", query, NULL);
    json_error_t e;
    json_t *j = json_loads(r.out, 0, &e);
    cr_assert_not_null(j, "ftsearch --json output is not JSON (%s): %.200s; exit %d: %s", e.text, r.out,
                       r.status, r.err);
    long long m = json_integer_value(json_object_get(j, "matches"));
    int want = json_array_size(json_object_get(j, "hits")) > 0 ? 0 : 1;
    cr_assert_eq(r.status, want, "ftsearch '%.60s' (%lld matches) exited %d, want %d: %s", query, m,
                 r.status, want, r.err);
    if (first_id) {
        json_t *h = json_array_get(json_object_get(j, "hits"), 0);
        *first_id = h ? strdup(json_string_value(json_object_get(h, "id"))) : NULL;
    }
    json_decref(j);
    tu_run_free(&r);
    return m;
}

static void expect_matches(const char *idx, const char *query, long long want)
{
    long long m = search_matches(idx, query, NULL);
    cr_assert_eq(m, want, "query '%.60s': %lld matches, want %lld", query, m, want);
}

/* ftindex build -o idx paths...; returns the run (caller frees). */
static void build(tu_run *r, const char *idx, const char *p1, const char *p2)
{
    tu_run_tool(r, "ftindex", "build", "-o", idx, p1, p2, NULL);
}

static void build_ok(const char *idx, const char *p1, const char *p2)
{
    tu_run r;
    build(&r, idx, p1, p2);
    cr_assert_eq(r.status, 0, "ftindex build exited %d: %s", r.status, r.err);
    tu_run_free(&r);
}

static void assert_has(const char *text, const char *needle, const char *what)
{
    cr_assert(strstr(text, needle), "%s: expected \"%s\" in:\n%s", what, needle, text);
}

/* A scratch directory with an index of one known document ("keepword"). */
typedef struct ws {
    char *dir, *idx, *in;
} ws;

static void ws_init(ws *w)
{
    w->dir = tu_mkdtemp();
    w->idx = tu_join(w->dir, "index");
    w->in = tu_join(w->dir, "in");
    mkdir(w->in, 0755);
    char *keep = tu_join(w->dir, "keep.txt");
    tu_write_str(keep, "keepword in the previous index\n");
    build_ok(w->idx, keep, NULL);
    free(keep);
}

static char *ws_file(ws *w, const char *name, const void *data, size_t len)
{
    char *p = tu_join(w->in, name);
    tu_write_file(p, data, len);
    return p;
}

/* The previous index still answers: nothing already indexed was lost. */
static void ws_previous_intact(ws *w)
{
    expect_matches(w->idx, "keepword", 1);
    tu_run r;
    tu_run_tool(&r, "ftindex", "check", "-i", w->idx, NULL);
    cr_assert_eq(r.status, 0, "ftindex check: %s%s", r.out, r.err);
    tu_run_free(&r);
}

static void ws_free(ws *w)
{
    tu_rmrf(w->dir);
    free(w->dir);
    free(w->idx);
    free(w->in);
}

/* ------------------------------------------------------------ text input */

Test(badinput, invalid_utf8_and_overlongs_indexed_replaced, .timeout = 60)
{
    ws w;
    ws_init(&w);
    static const char text[] = "alphaword \xff\xfe stray \xc0\xaf overlong-slash \xe0\x80\xaf overlong3 "
                               "\xed\xa0\x80 surrogate \xf4\x90\x80\x80 beyond \xe4\xb8 cut omegaword\n";
    /* valid text around it: more than one invalid sequence per 10 bytes of
     * the first 8 KiB would make the file "binary" (next test) */
    const char *pad = "plain valid words to keep the share of invalid bytes low. ";
    size_t plen = strlen(pad), n = 0;
    char buf[2048];
    for (int i = 0; i < 20; i++) memcpy(buf + n, pad, plen), n += plen;
    memcpy(buf + n, text, sizeof text - 1);
    n += sizeof text - 1;
    char *f = ws_file(&w, "bad.txt", buf, n);
    build_ok(w.idx, f, NULL);
    expect_matches(w.idx, "alphaword", 1);
    expect_matches(w.idx, "omegaword", 1);
    expect_matches(w.idx, "overlong3", 1);
    /* stored as U+FFFD: the JSON snippet is valid UTF-8 (jansson parsed it) and holds U+FFFD */
    tu_run r;
    tu_run_tool(&r, "ftsearch", "-i", w.idx, "--json", "stray", NULL);
    cr_assert_eq(r.status, 0);
    assert_has(r.out, "\xef\xbf\xbd", "snippet of invalid UTF-8");
    cr_assert_null(strstr(r.out, "\xc0\xaf"), "an overlong sequence came back: %s", r.out);
    tu_run_free(&r);
    free(f);
    ws_free(&w);
}

Test(badinput, mostly_invalid_utf8_skipped_as_binary, .timeout = 60)
{
    ws w;
    ws_init(&w);
    char *f = ws_file(&w, "latin1.txt", "caf\xe9 na\xefve \xe0 la cr\xe8me br\xfbl\xe9" "e\n", 29);
    char *ok = ws_file(&w, "ok.txt", "okword\n", 7);
    tu_run r;
    build(&r, w.idx, w.in, NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    assert_has(r.err, "latin1.txt: skipped: binary file", "dense invalid UTF-8");
    tu_run_free(&r);
    expect_matches(w.idx, "okword", 1);
    free(f);
    free(ok);
    ws_free(&w);
}

Test(badinput, nul_bytes_text_file_skipped_as_binary, .timeout = 60)
{
    ws w;
    ws_init(&w);
    char *a = ws_file(&w, "nul.txt", "text with a\0NUL byte nulword\n", 29);
    char *b = ws_file(&w, "ok.txt", "okword\n", 7);
    tu_run r;
    build(&r, w.idx, w.in, NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    assert_has(r.err, "nul.txt: skipped: binary file", "NUL byte");
    assert_has(r.err, "skipped 1 file", "NUL byte");
    tu_run_free(&r);
    expect_matches(w.idx, "okword", 1);
    expect_matches(w.idx, "nulword", 0);
    free(a);
    free(b);
    ws_free(&w);
}

Test(badinput, binary_file_skipped_previous_index_kept, .timeout = 60)
{
    ws w;
    ws_init(&w);
    unsigned char bin[4096];
    tu_rng g = {77};
    for (size_t i = 0; i < sizeof bin; i++) bin[i] = (unsigned char)tu_rand(&g);
    char *f = ws_file(&w, "blob.bin", bin, sizeof bin);
    tu_run r;
    build(&r, w.idx, f, NULL);
    cr_assert_eq(r.status, 5, "a build of only a binary file: exit %d", r.status);
    assert_has(r.err, "blob.bin: skipped: binary file", "binary");
    assert_has(r.err, "no documents to index", "binary");
    tu_run_free(&r);
    ws_previous_intact(&w);
    free(f);
    ws_free(&w);
}

Test(badinput, empty_files_and_directories, .timeout = 60)
{
    ws w;
    ws_init(&w);
    char *e1 = ws_file(&w, "empty.txt", "", 0);
    char *e2 = ws_file(&w, "empty.jsonl", "", 0);
    char *sub = tu_join(w.in, "emptydir");
    mkdir(sub, 0755);
    tu_run r;
    build(&r, w.idx, w.in, NULL);
    cr_assert_eq(r.status, 5, "only empty inputs: exit %d", r.status);
    assert_has(r.err, "empty.txt: skipped: empty file", "empty text file");
    assert_has(r.err, "no documents to index", "empty inputs");
    tu_run_free(&r);
    build(&r, w.idx, sub, NULL);
    cr_assert_eq(r.status, 5, "an empty directory: exit %d", r.status);
    assert_has(r.err, "no documents to index in", "empty directory");
    tu_run_free(&r);
    ws_previous_intact(&w);
    /* with one real document next to them, the build goes on */
    char *ok = ws_file(&w, "ok.txt", "realword\n", 9);
    build_ok(w.idx, w.in, NULL);
    expect_matches(w.idx, "realword", 1);
    free(e1);
    free(e2);
    free(ok);
    free(sub);
    ws_free(&w);
}

Test(badinput, symlink_loops, .timeout = 60)
{
    ws w;
    ws_init(&w);
    char *ok = ws_file(&w, "ok.txt", "loopword\n", 9);
    char *self = tu_join(w.in, "self");
    char *a = tu_join(w.in, "a");
    char *b = tu_join(w.in, "b");
    cr_assert_eq(symlink(".", self), 0);
    cr_assert_eq(symlink("b", a), 0);
    cr_assert_eq(symlink("a", b), 0);
    tu_run r;
    build(&r, w.idx, w.in, NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    assert_has(r.err, "/a: skipped: Too many levels of symbolic links", "symlink loop");
    assert_has(r.err, "/b: skipped: Too many levels of symbolic links", "symlink loop");
    assert_has(r.err, "skipped 2 files", "symlink loop");
    cr_assert_null(strstr(r.err, "self"), "a symlinked directory is not followed, silently: %s", r.err);
    tu_run_free(&r);
    expect_matches(w.idx, "loopword", 1); /* once: the loop through "self" was not walked */
    free(ok);
    free(self);
    free(a);
    free(b);
    ws_free(&w);
}

Test(badinput, unreadable_file_skipped, .timeout = 60)
{
    if (geteuid() == 0) cr_skip_test("running as root: permissions do not stop reads");
    ws w;
    ws_init(&w);
    char *f = ws_file(&w, "secret.txt", "secretword\n", 11);
    char *ok = ws_file(&w, "ok.txt", "plainword\n", 10);
    cr_assert_eq(chmod(f, 0), 0);
    tu_run r;
    build(&r, w.idx, w.in, NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    assert_has(r.err, "secret.txt: skipped: Permission denied", "unreadable");
    tu_run_free(&r);
    expect_matches(w.idx, "plainword", 1);
    expect_matches(w.idx, "secretword", 0);
    free(f);
    free(ok);
    ws_free(&w);
}

Test(badinput, very_long_tokens_dropped, .timeout = 60)
{
    ws w;
    ws_init(&w);
    size_t n = 1 << 20;
    char *text = malloc(n + 64);
    memcpy(text, "beforeword ", 11);
    memset(text + 11, 'x', n);
    memcpy(text + 11 + n, " afterword\n", 11);
    char *f = ws_file(&w, "long.txt", text, n + 22);
    build_ok(w.idx, f, NULL);
    expect_matches(w.idx, "beforeword", 1);
    expect_matches(w.idx, "afterword", 1);
    char q[101];
    memset(q, 'x', 100);
    q[100] = 0;
    expect_matches(w.idx, q, 0); /* longer than 64 bytes: not indexed */
    free(text);
    free(f);
    ws_free(&w);
}

Test(badinput, word_a_stemmer_strips_to_nothing_kept_whole)
{
    /* the Nepali stemmer reduces "दी" to an empty string; the analyzer keeps
     * the word instead of emitting an empty term (found by fuzz_tokenize) */
    ft_analyzer *an = tu_analyzer("nepali");
    tu_toks t = {0};
    const char *text = "\xe0\xa4\xa6\xe0\xa5\x80 x";
    cr_assert_eq(tu_analyze(an, text, strlen(text), 0, &t, NULL), 0);
    cr_assert_eq(t.n, 2);
    cr_assert_eq(t.v[0].len, 6);
    cr_assert(!memcmp(t.v[0].term, text, 6));
    cr_assert_eq(t.v[0].pos, 0);
    cr_assert_str_eq(t.v[1].term, "x");
    tu_toks_free(&t);
    ft_analyzer_free(an);
}

Test(badinput, stem_longer_than_maxlen_word_kept_whole)
{
    /* the Turkish stemmer lengthens "ereunnqng" by a byte; a term must never
     * exceed maxlen (nor so the format's 255 bytes): the word is kept
     * (found by fuzz_tokenize) */
    ft_analyzer_opts o;
    ft_analyzer_opts_default(&o);
    strcpy(o.lang, "turkish");
    static const unsigned maxlen[2] = {9, 255};
    for (int k = 0; k < 2; k++) {
        o.max_token_bytes = maxlen[k];
        ft_analyzer *an = NULL;
        ft_error err = {0};
        cr_assert_eq(ft_analyzer_new(&o, &an, &err), FT_OK, "%s", err.msg);
        char word[256];
        memset(word, 'x', maxlen[k] - 9);
        strcpy(word + maxlen[k] - 9, "ereunnqng");
        tu_toks t = {0};
        cr_assert_eq(tu_analyze(an, word, strlen(word), 0, &t, NULL), 0);
        cr_assert_eq(t.n, 1);
        cr_assert_eq(t.v[0].len, maxlen[k], "maxlen %u: a term of %zu bytes", maxlen[k], t.v[0].len);
        cr_assert(!memcmp(t.v[0].term, word, maxlen[k]));
        tu_toks_free(&t);
        ft_analyzer_free(an);
    }
}

/* ------------------------------------------------------------ JSON Lines */

Test(badinput, json_missing_fields_wrong_types_duplicates, .timeout = 60)
{
    ws w;
    ws_init(&w);
    const char *recs =
        "{\"title\":\"missingbody no id\"}\n"
        "{\"id\":\"dup\",\"body\":\"firstcopy\"}\n"
        "{\"id\":\"dup\",\"body\":\"secondcopy\"}\n"
        "{\"id\":[1],\"body\":\"arrayid\"}\n"
        "{\"id\":\"b5\",\"body\":5}\n"
        "{\"id\":\"t5\",\"title\":{\"x\":1},\"body\":\"objtitle\"}\n"
        "[1,2]\n"
        "\"just a string\"\n"
        "{\"id\":\"broken\",\"body\":\"unterminated\n"
        "\n"
        "{\"id\":\"last\",\"body\":\"lastword\"}\n";
    char *f = ws_file(&w, "recs.jsonl", recs, strlen(recs));
    tu_run r;
    build(&r, w.idx, f, NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    assert_has(r.err, "recs.jsonl:4: skipped: \"id\" is an array, expected a string or an integer", "wrong type");
    assert_has(r.err, "recs.jsonl:5: skipped: \"body\" is an integer, expected a string", "wrong type");
    assert_has(r.err, "recs.jsonl:6: skipped: \"title\" is an object, expected a string", "wrong type");
    assert_has(r.err, "recs.jsonl:7: skipped: not a JSON object (found an array)", "array");
    assert_has(r.err, "recs.jsonl:8: skipped: invalid JSON", "string");
    assert_has(r.err, "recs.jsonl:9: skipped: invalid JSON", "unterminated");
    assert_has(r.err, "skipped 6 lines", "count");
    tu_run_free(&r);
    char *id = NULL;
    cr_assert_eq(search_matches(w.idx, "missingbody", &id), 1);
    cr_assert(id && strstr(id, "recs.jsonl:1"), "missing id becomes FILE:LINE, got %s", id);
    free(id);
    /* duplicate ids: both documents are kept */
    expect_matches(w.idx, "firstcopy", 1);
    expect_matches(w.idx, "secondcopy", 1);
    expect_matches(w.idx, "dup", 0);
    expect_matches(w.idx, "arrayid", 0);
    expect_matches(w.idx, "objtitle", 0);
    expect_matches(w.idx, "lastword", 1);
    free(f);
    ws_free(&w);
}

Test(badinput, json_deep_nesting_huge_numbers_escapes, .timeout = 60)
{
    ws w;
    ws_init(&w);
    size_t depth = 100000;
    size_t cap = 2 * depth + 4096;
    char *recs = malloc(cap);
    size_t n = 0;
    n += (size_t)snprintf(recs + n, cap - n, "{\"id\":\"deep\",\"x\":");
    memset(recs + n, '[', depth), n += depth;
    memset(recs + n, ']', depth), n += depth;
    n += (size_t)snprintf(recs + n, cap - n,
                          ",\"body\":\"deepbody\"}\n"
                          "{\"id\":\"deep2\",\"x\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]],"
                          "\"body\":\"shallowbody\"}\n"
                          "{\"id\":123456789012345678901234567890,\"body\":\"hugeint\"}\n"
                          "{\"id\":1e400,\"body\":\"hugefloat\"}\n"
                          "{\"id\":-9223372036854775808,\"body\":\"minint\"}\n"
                          "{\"id\":\"esc\",\"title\":\"t\\u00e9\\t\\\"q\\\"\",\"body\":\"caf\\u00e9 \\ud83d\\ude00 "
                          "nul\\u0000byte\"}\n"
                          "{\"id\":\"lone\",\"body\":\"lone \\ud800 surrogate\"}\n"
                          "{\"id\":\"nulkey\",\"b\\u0000ody\":\"nulkeyword\"}\n"
                          "{\"id\":\"bad\\escape\",\"body\":\"badescape\"}\n");
    char *f = ws_file(&w, "deep.jsonl", recs, n);
    tu_run r;
    build(&r, w.idx, f, NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    assert_has(r.err, "deep.jsonl:1: skipped: invalid JSON (maximum parsing depth reached", "deep nesting");
    assert_has(r.err, "deep.jsonl:3: skipped: invalid JSON (too big integer", "huge integer");
    assert_has(r.err, "deep.jsonl:4: skipped: invalid JSON (real number overflow", "huge real");
    assert_has(r.err, "deep.jsonl:7: skipped: invalid JSON (invalid Unicode '\\uD800'", "lone surrogate");
    assert_has(r.err, "deep.jsonl:8: skipped: invalid JSON (NUL byte in object key not supported", "NUL key");
    assert_has(r.err, "deep.jsonl:9: skipped: invalid JSON", "bad escape");
    assert_has(r.err, "skipped 6 lines", "count");
    tu_run_free(&r);
    expect_matches(w.idx, "deepbody", 0);
    expect_matches(w.idx, "shallowbody", 1);
    expect_matches(w.idx, "hugeint", 0);
    char *id = NULL;
    cr_assert_eq(search_matches(w.idx, "minint", &id), 1);
    cr_assert_str_eq(id, "-9223372036854775808");
    free(id);
    expect_matches(w.idx, "café", 1);
    expect_matches(w.idx, "nul", 1);
    expect_matches(w.idx, "byte", 1);
    expect_matches(w.idx, "nulkeyword", 0);
    free(recs);
    free(f);
    ws_free(&w);
}

/* ------------------------------------------------------------ queries */

static void one_doc_index(ws *w)
{
    ws_init(w);
    char *f = ws_file(w, "doc.txt", "short word here\n", 16);
    build_ok(w->idx, f, NULL);
    free(f);
}

Test(badinput, ten_thousand_term_query, .timeout = 60)
{
    ws w;
    one_doc_index(&w);
    size_t cap = 10000 * 8 + 16;
    char *q = malloc(cap);
    size_t n = 0;
    for (int i = 0; i < 10000; i++) n += (size_t)snprintf(q + n, cap - n, "w%d ", i);
    snprintf(q + n, cap - n, "short");
    clock_t t0 = clock();
    tu_run r;
    tu_run_tool(&r, "ftsearch", "-i", w.idx, "--json", q, NULL);
    cr_assert_eq(r.status, 2, "10,000-term query: exit %d, stderr %s", r.status, r.err);
    assert_has(r.err, "the query has more than 1024 terms", "term cap");
    tu_run_free(&r);
    /* batch mode: the long query is skipped with a message, the others run */
    char *qf = tu_join(w.dir, "queries.tsv");
    size_t qcap = n + 64;
    char *qs = malloc(qcap);
    snprintf(qs, qcap, "q1\tshort\nq2\t%s\nq3\tword\n", q);
    tu_write_str(qf, qs);
    tu_run_tool(&r, "ftsearch", "-i", w.idx, "--queries", qf, NULL);
    cr_assert_eq(r.status, 0, "batch: exit %d: %s", r.status, r.err);
    char *doc = tu_join(w.in, "doc.txt");
    char want[1024];
    snprintf(want, sizeof want, "q1 Q0 %s 1 0.287682 ft\nq3 Q0 %s 1 0.287682 ft\n", doc, doc);
    cr_assert_str_eq(r.out, want, "batch output: %s", r.out);
    free(doc);
    assert_has(r.err, "queries.tsv:2: skipped this query", "batch");
    tu_run_free(&r);
    /* with at most 1024 distinct terms the query runs */
    n = 0;
    for (int i = 0; i < 1000; i++) n += (size_t)snprintf(q + n, cap - n, "w%d ", i);
    snprintf(q + n, cap - n, "short");
    expect_matches(w.idx, q, 1);
    cr_assert_lt((double)(clock() - t0) / CLOCKS_PER_SEC, 20.0);
    free(qs);
    free(qf);
    free(q);
    ws_free(&w);
}

Test(badinput, unbalanced_query_syntax, .timeout = 60)
{
    ws w;
    one_doc_index(&w);
    static const struct {
        const char *q, *msg;
    } bad[] = {
        {"\"short", "column 1: unbalanced quote"},
        {"(short", "column 1: unbalanced parenthesis"},
        {"short)", "column 6: unbalanced parenthesis"},
        {"short AND", "column 7: 'AND' needs a query on each side"},
        {"OR", "column 1: 'OR' needs a query on each side"},
        {"-", "column 1: '-' must be followed by"},
        {"NOT", "column 1: 'NOT' must be followed by"},
        {"\"", "column 1: unbalanced quote"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tu_run r;
        tu_run_tool(&r, "ftsearch", "-i", w.idx, bad[i].q, NULL);
        cr_assert_eq(r.status, 2, "query '%s': exit %d", bad[i].q, r.status);
        assert_has(r.err, bad[i].msg, bad[i].q);
        tu_run_free(&r);
    }
    /* nesting is capped, not recursed without bound */
    char deep[2100];
    memset(deep, '(', 2000);
    strcpy(deep + 2000, "short");
    tu_run r;
    tu_run_tool(&r, "ftsearch", "-i", w.idx, deep, NULL);
    cr_assert_eq(r.status, 2);
    assert_has(r.err, "nested more than 64 levels deep", "deep nesting");
    tu_run_free(&r);
    expect_matches(w.idx, "+short", 1);
    expect_matches(w.idx, "*", 0);
    ws_free(&w);
}

/* ------------------------------------------------------------ index directories */

Test(badinput, index_dir_that_is_not_an_index, .timeout = 60)
{
    ws w;
    ws_init(&w);
    char *empty = tu_join(w.dir, "emptydir");
    mkdir(empty, 0755);
    tu_run r;
    tu_run_tool(&r, "ftsearch", "-i", empty, "x", NULL);
    cr_assert_eq(r.status, 3, "no MANIFEST: exit %d", r.status);
    assert_has(r.err, "is not an ft index (no MANIFEST)", "empty dir");
    tu_run_free(&r);

    char *man = tu_join(empty, "MANIFEST");
    tu_write_str(man, "garbage");
    tu_run_tool(&r, "ftsearch", "-i", empty, "x", NULL);
    cr_assert_eq(r.status, 4, "garbage MANIFEST: exit %d", r.status);
    assert_has(r.err, "MANIFEST: corrupt at offset 7: manifest does not end with a newline", "garbage");
    tu_run_free(&r);
    tu_run_tool(&r, "ftindex", "check", "-i", empty, NULL);
    cr_assert_eq(r.status, 4, "check of a garbage MANIFEST: exit %d", r.status);
    assert_has(r.err, "check failed", "garbage");
    tu_run_free(&r);

    /* a regular file given as the index */
    char *file = tu_join(w.dir, "keep.txt");
    tu_run_tool(&r, "ftsearch", "-i", file, "x", NULL);
    cr_assert_eq(r.status, 3, "a file as the index: exit %d", r.status);
    assert_has(r.err, "Not a directory", "file as index");
    tu_run_free(&r);
    /* ... and as the output of a build or an add: an I/O error too, as for check */
    tu_run_tool(&r, "ftindex", "build", "--quiet", "-o", file, file, NULL);
    cr_assert_eq(r.status, 3, "build into a file: exit %d", r.status);
    assert_has(r.err, "cannot use", "build into a file");
    assert_has(r.err, "as the index directory: Not a directory", "build into a file");
    tu_run_free(&r);
    tu_run_tool(&r, "ftindex", "add", "--quiet", "-i", file, file, NULL);
    cr_assert_eq(r.status, 3, "add into a file: exit %d", r.status);
    assert_has(r.err, "as the index directory: Not a directory", "add into a file");
    tu_run_free(&r);
    tu_run_tool(&r, "ftindex", "check", "-i", file, NULL);
    cr_assert_eq(r.status, 3, "check of a file: exit %d", r.status);
    tu_run_free(&r);

    /* building into a directory that holds other files keeps them */
    char *other = tu_join(empty, "notes.txt");
    tu_write_str(other, "my notes\n");
    unlink(man);
    build_ok(empty, file, NULL);
    char *back = tu_read_file(other, NULL);
    cr_assert_str_eq(back, "my notes\n");
    free(back);
    free(other);
    free(file);
    free(man);
    free(empty);
    ws_free(&w);
}

/* Rewrite MANIFEST's first line and its checksum line (XXH64, seed 0, of
 * every byte before the checksum line). */
static void set_manifest_version(const char *idx, const char *first_line)
{
    char *man = tu_join(idx, "MANIFEST");
    size_t len;
    char *text = tu_read_file(man, &len);
    cr_assert_not_null(text);
    char *nl = strchr(text, '\n');
    char *ck = strstr(text, "checksum ");
    cr_assert(nl && ck);
    size_t cap = len + 256;
    char *out = malloc(cap);
    size_t n = (size_t)snprintf(out, cap, "%s\n", first_line);
    memcpy(out + n, nl + 1, (size_t)(ck - nl - 1));
    n += (size_t)(ck - nl - 1);
    n += (size_t)snprintf(out + n, cap - n, "checksum %016llx\n", (unsigned long long)XXH64(out, n, 0));
    tu_write_file(man, out, n);
    free(out);
    free(text);
    free(man);
}

Test(badinput, index_of_a_newer_format_version, .timeout = 60)
{
    ws w;
    ws_init(&w);
    char newer[32], msg[96], cur[32];
    snprintf(newer, sizeof newer, "ft-index %d", FT_FORMAT_VERSION + 1);
    snprintf(msg, sizeof msg, "format version %d, this ft reads version %d", FT_FORMAT_VERSION + 1, FT_FORMAT_VERSION);
    set_manifest_version(w.idx, newer);
    ft_index *ix = NULL;
    ft_error err = {0};
    cr_assert_eq(ft_index_open(w.idx, &ix, &err), FT_EVERSION, "%s", err.msg);
    assert_has(err.msg, msg, "library");
    cr_assert_eq(ft_index_check(w.idx, &err), FT_EVERSION, "%s", err.msg);
    tu_run r;
    tu_run_tool(&r, "ftsearch", "-i", w.idx, "keepword", NULL);
    cr_assert_eq(r.status, 4, "newer format: exit %d", r.status);
    assert_has(r.err, msg, "ftsearch");
    tu_run_free(&r);
    tu_run_tool(&r, "ftindex", "check", "-i", w.idx, NULL);
    cr_assert_eq(r.status, 4, "check of a newer format: exit %d", r.status);
    snprintf(cur, sizeof cur, "format version %d", FT_FORMAT_VERSION + 1);
    assert_has(r.err, cur, "ftindex check");
    assert_has(r.err, "a newer index: use the ft that wrote it", "ftindex check");
    tu_run_free(&r);
    /* an older version: the message says to rebuild */
    snprintf(cur, sizeof cur, "ft-index %d", FT_FORMAT_VERSION - 1);
    set_manifest_version(w.idx, cur);
    tu_run_tool(&r, "ftsearch", "-i", w.idx, "keepword", NULL);
    cr_assert_eq(r.status, 4, "older format: exit %d", r.status);
    assert_has(r.err, "an older index: rebuild it from its documents with ftindex build", "ftsearch");
    tu_run_free(&r);
    /* the edit itself is sound: the current version with a recomputed checksum opens */
    snprintf(cur, sizeof cur, "ft-index %d", FT_FORMAT_VERSION);
    set_manifest_version(w.idx, cur);
    ws_previous_intact(&w);
    ws_free(&w);
}

/* ------------------------------------------------------------ large inputs (FT_LONG=1) */

static void long_only(void)
{
    const char *l = getenv("FT_LONG");
    if (!l || strcmp(l, "1")) cr_skip_test("large input: run with `make check-long`");
}

Test(badinput_long, single_200mb_document, .timeout = 900)
{
    long_only();
    ws w;
    ws_init(&w);
    char *f = tu_join(w.in, "big.txt");
    FILE *fp = fopen(f, "wb");
    cr_assert_not_null(fp);
    static const char *const words[] = {"river", "stone", "cloud", "maple", "ember", "frost", "grain", "harbor"};
    char line[256];
    size_t total = 0, want = 200u << 20;
    tu_rng g = {200};
    fputs("firstmarker ", fp);
    while (total < want) {
        size_t n = 0;
        for (int i = 0; i < 12; i++)
            n += (size_t)snprintf(line + n, sizeof line - n, "%s%u ", words[tu_randn(&g, 8)], tu_randn(&g, 1000));
        line[n - 1] = '\n';
        fwrite(line, 1, n, fp);
        total += n;
    }
    fputs("lastmarker\n", fp);
    fclose(fp);
    tu_run r;
    build(&r, w.idx, f, NULL);
    cr_assert_eq(r.status, 0, "200 MB document: exit %d: %s", r.status, r.err);
    assert_has(r.err, "indexed 1 document", "200 MB");
    tu_run_free(&r);
    expect_matches(w.idx, "firstmarker", 1);
    expect_matches(w.idx, "lastmarker", 1);
    expect_matches(w.idx, "river7", 1);
    tu_run_tool(&r, "ftindex", "check", "-i", w.idx, NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    tu_run_free(&r);
    free(f);
    ws_free(&w);
}

Test(badinput_long, a_million_tiny_documents, .timeout = 900)
{
    long_only();
    ws w;
    ws_init(&w);
    char *f = tu_join(w.in, "tiny.jsonl");
    FILE *fp = fopen(f, "wb");
    cr_assert_not_null(fp);
    for (unsigned i = 0; i < 1000000; i++) fprintf(fp, "{\"id\":\"d%u\",\"body\":\"w%u tiny\"}\n", i, i % 1000);
    fclose(fp);
    tu_run r;
    build(&r, w.idx, f, NULL);
    cr_assert_eq(r.status, 0, "a million documents: exit %d: %s", r.status, r.err);
    assert_has(r.err, "indexed 1000000 documents", "a million documents");
    tu_run_free(&r);
    expect_matches(w.idx, "tiny", 1000000);
    expect_matches(w.idx, "w999", 1000);
    char *id = NULL;
    cr_assert_eq(search_matches(w.idx, "w0", &id), 1000);
    free(id);
    tu_run_tool(&r, "ftindex", "check", "-i", w.idx, NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    tu_run_free(&r);
    free(f);
    ws_free(&w);
}
