/*
 * test_jsonl.c — the fast JSON Lines field scanner (common/ft_jsonl.h)
 * against jansson: exact values on hand-written records, records it must
 * hand back to jansson, every line of the judged corpora and the bundled
 * sample, and thousands of randomly damaged records, where any record the
 * scanner accepts must be one jansson accepts with identical field values.
 */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ft_jsonl.h"
#include "ft_test_util.h"

static const char *const KEYS[3] = {"id", "title", "body"};
static const int INT_OK[3] = {1, 0, 0};

typedef struct ref {
    int ok;              /* jansson parsed an object and every field has an accepted type */
    int kind[3];
    char *text[3];
    size_t len[3];
} ref;

static void ref_free(ref *r)
{
    for (int i = 0; i < 3; i++) free(r->text[i]);
}

/* The reading ftindex's slow path makes of a line. */
static ref jansson_read(const char *line, size_t len)
{
    ref r;
    memset(&r, 0, sizeof r);
    json_error_t e;
    json_t *o = json_loadb(line, len, JSON_ALLOW_NUL, &e);
    if (!o) return r;
    if (!json_is_object(o)) {
        json_decref(o);
        return r;
    }
    r.ok = 1;
    for (int i = 0; i < 3; i++) {
        json_t *v = json_object_get(o, KEYS[i]);
        if (!v) r.kind[i] = FT_JSONL_ABSENT;
        else if (json_is_null(v)) r.kind[i] = FT_JSONL_NULL;
        else if (json_is_string(v)) {
            r.kind[i] = FT_JSONL_STRING;
            r.len[i] = json_string_length(v);
            r.text[i] = malloc(r.len[i] + 1);
            memcpy(r.text[i], json_string_value(v), r.len[i]);
        } else if (json_is_integer(v) && INT_OK[i]) {
            r.kind[i] = FT_JSONL_INTEGER;
            char buf[32];
            snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
            r.len[i] = strlen(buf);
            r.text[i] = strdup(buf);
        } else {
            r.ok = 0; /* a type the tools reject */
        }
    }
    json_decref(o);
    return r;
}

/* If the scanner accepts the line, jansson must agree on every field.
 * Returns 1 if the scanner accepted it. */
static int check_line(const char *line, size_t len, ft_buf *scratch)
{
    ft_jsonl_value v[3];
    int rc = ft_jsonl_extract(line, len, KEYS, INT_OK, 3, v, scratch);
    if (rc != FT_JSONL_OK) return 0;
    ref r = jansson_read(line, len);
    cr_assert(r.ok, "scanner accepted a record jansson rejects: %.*s", (int)(len > 200 ? 200 : len), line);
    for (int i = 0; i < 3; i++) {
        cr_assert_eq((int)v[i].kind, r.kind[i], "field %s kind in: %.*s", KEYS[i], (int)(len > 200 ? 200 : len), line);
        if (r.kind[i] == FT_JSONL_STRING || r.kind[i] == FT_JSONL_INTEGER) {
            cr_assert_eq(v[i].len, r.len[i], "field %s length in: %.*s", KEYS[i], (int)(len > 200 ? 200 : len), line);
            cr_assert(memcmp(v[i].text, r.text[i], r.len[i]) == 0, "field %s bytes in: %.*s", KEYS[i],
                      (int)(len > 200 ? 200 : len), line);
        }
    }
    ref_free(&r);
    return 1;
}

static void expect_ok(const char *line, const char *id, const char *title, const char *body, size_t body_len)
{
    ft_buf scratch;
    ft_buf_init(&scratch);
    ft_jsonl_value v[3];
    cr_assert_eq(ft_jsonl_extract(line, strlen(line), KEYS, INT_OK, 3, v, &scratch), FT_JSONL_OK, "%s", line);
    const char *want[3] = {id, title, body};
    size_t wl[3] = {id ? strlen(id) : 0, title ? strlen(title) : 0, body ? body_len : 0};
    for (int i = 0; i < 3; i++) {
        if (!want[i]) {
            cr_assert(v[i].kind == FT_JSONL_ABSENT || v[i].kind == FT_JSONL_NULL, "%s: field %d", line, i);
            continue;
        }
        cr_assert_eq(v[i].len, wl[i], "%s: field %d length %zu want %zu", line, i, v[i].len, wl[i]);
        cr_assert(memcmp(v[i].text, want[i], wl[i]) == 0, "%s: field %d bytes", line, i);
    }
    cr_assert(check_line(line, strlen(line), &scratch));
    ft_buf_free(&scratch);
}

static void expect_fallback(const char *line, size_t len)
{
    ft_buf scratch;
    ft_buf_init(&scratch);
    ft_jsonl_value v[3];
    cr_assert_eq(ft_jsonl_extract(line, len, KEYS, INT_OK, 3, v, &scratch), FT_JSONL_FALLBACK,
                 "should fall back: %.*s", (int)(len > 200 ? 200 : len), line);
    ft_buf_free(&scratch);
}

Test(jsonl, exact_values)
{
    expect_ok("{\"id\": \"a1\", \"title\": \"T\", \"body\": \"hello world\"}", "a1", "T", "hello world", 11);
    expect_ok("  {\"body\":\"b\",\"id\":42,\"extra\":[1,2,{\"x\":null}],\"title\":\"t\"}\r\n", "42", "t", "b", 1);
    expect_ok("{\"id\":-7}", "-7", NULL, NULL, 0);
    expect_ok("{\"id\":null,\"title\":null,\"body\":\"x\"}", NULL, NULL, "x", 1);
    expect_ok("{}", NULL, NULL, NULL, 0);
    /* escapes, including a surrogate pair and an escaped NUL */
    expect_ok("{\"id\":\"q\\\"\\\\\\/\",\"body\":\"a\\nb\\tc\\u00e9\\ud83d\\ude00\\u0000z\"}", "q\"\\/", NULL,
              "a\nb\tc\xc3\xa9\xf0\x9f\x98\x80\0z", 13);
    /* a key written with escapes still matches */
    expect_ok("{\"t\\u0069tle\":\"esc key\"}", NULL, "esc key", NULL, 0);
    /* duplicate keys: the last wins, as in jansson */
    expect_ok("{\"id\":\"first\",\"id\":\"second\"}", "second", NULL, NULL, 0);
    /* raw UTF-8 passes through */
    expect_ok("{\"title\":\"中国 Straße\"}", NULL, "中国 Straße", NULL, 0);
    /* other values are validated and skipped */
    expect_ok("{\"n\":-0.5,\"b\":[true,false,null],\"o\":{\"id\":\"inner\"},\"id\":\"outer\"}", "outer", NULL, NULL, 0);
}

Test(jsonl, falls_back_on_anything_uncertain)
{
    static const char *const cases[] = {
        "",                                   /* empty */
        "[1,2]",                              /* not an object */
        "{\"id\":\"a\"} x",                   /* trailing garbage */
        "{\"id\":\"a\",}",                    /* trailing comma */
        "{\"id\":\"a\"",                      /* truncated */
        "{\"id\":\"a}",                       /* unterminated string */
        "{\"id\":'a'}",                       /* single quotes */
        "{\"body\":\"\\ud800\"}",              /* lone high surrogate */
        "{\"body\":\"\\udc00\"}",              /* lone low surrogate */
        "{\"body\":\"\\x41\"}",                /* bad escape */
        "{\"body\":\"\\u12g4\"}",              /* bad hex */
        "{\"body\":\"a\tb\"}",                 /* raw control character */
        "{\"body\":\"\xff\"}",                 /* invalid UTF-8 */
        "{\"body\":\"\xc0\xaf\"}",             /* overlong */
        "{\"body\":\"\xed\xa0\x80\"}",         /* encoded surrogate */
        "{\"id\":1e5}",                       /* exponent */
        "{\"id\":-0}",                        /* -0 prints as 0 */
        "{\"id\":01}",                        /* leading zero */
        "{\"id\":1.5}",                       /* a real where an id is read */
        "{\"id\":12345678901234567890}",      /* out of 64-bit range */
        "{\"title\":5}",                      /* wrong type in a wanted field */
        "{\"body\":[\"x\"]}",
        "{\"id\":true}",
        "{\"x\":nul}",
        "{\"x\":tru}",
        "{\"x\" 1}",
        "{x:1}",
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) expect_fallback(cases[i], strlen(cases[i]));
    /* nesting deeper than the scanner follows */
    char deep[400];
    size_t n = 0;
    n += (size_t)sprintf(deep, "{\"x\":");
    for (int i = 0; i < 100; i++) deep[n++] = '[';
    for (int i = 0; i < 100; i++) deep[n++] = ']';
    deep[n++] = '}';
    expect_fallback(deep, n);
}

static size_t check_file(const char *path, int zst_ok)
{
    size_t len;
    char *data = tu_read_file(path, &len);
    if (!data) return 0;
    ft_buf scratch;
    ft_buf_init(&scratch);
    size_t lines = 0, accepted = 0;
    char *p = data, *end = data + len;
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
        lines++;
        accepted += (size_t)check_line(p, l, &scratch);
        p += l + 1;
    }
    /* every record of these files is a plain object: the fast path takes all */
    cr_assert_eq(accepted, lines, "%s: %zu of %zu lines accepted", path, accepted, lines);
    ft_buf_free(&scratch);
    free(data);
    (void)zst_ok;
    return lines;
}

Test(jsonl, agrees_with_jansson_on_real_corpora)
{
    const char *src = getenv("FT_SRC");
    cr_assert_not_null(src, "FT_SRC not set");
    char *sample = tu_join(src, "sample/enwiki-sample.jsonl");
    cr_assert_gt(check_file(sample, 0), 2000);
    free(sample);
    const char *judged[] = {"../shared/corpora/judged/cranfield/docs.jsonl", "../shared/corpora/judged/cacm/docs.jsonl"};
    for (int i = 0; i < 2; i++) {
        char *p = tu_join(src, judged[i]);
        check_file(p, 0); /* absent shared data: 0 lines, nothing to check */
        free(p);
    }
}

Test(jsonl, damaged_records_never_disagree)
{
    const char *src = getenv("FT_SRC");
    cr_assert_not_null(src);
    char *sample = tu_join(src, "sample/enwiki-sample.jsonl");
    size_t len;
    char *data = tu_read_file(sample, &len);
    cr_assert_not_null(data);
    /* the first 200 records, cut short to keep the test fast */
    char *recs[200];
    size_t rl[200], nrec = 0;
    for (char *p = data; nrec < 200 && p < data + len;) {
        char *nl = memchr(p, '\n', (size_t)(data + len - p));
        size_t l = nl ? (size_t)(nl - p) : (size_t)(data + len - p);
        recs[nrec] = p;
        rl[nrec++] = l < 600 ? l : 600;
        p += l + 1;
    }
    static const char alphabet[] = "\"\\{}[],:u0123456789abcdefnrt \x01\x7f\xc3\xa9\xed\xa0\xff-.eE";
    tu_rng rng = {20261128};
    ft_buf scratch;
    ft_buf_init(&scratch);
    char *buf = malloc(2000);
    size_t accepted = 0, total = 0;
    for (int t = 0; t < 20000; t++) {
        size_t k = tu_rand(&rng) % nrec, l = rl[k];
        memcpy(buf, recs[k], l);
        if (l == 600) { /* close a record cut short so it can still be valid */
            memcpy(buf, "{\"id\":\"cut\",\"body\":\"", 20);
            l = 20 + (size_t)(tu_rand(&rng) % 500);
            for (size_t i = 20; i < l; i++) buf[i] = (char)('a' + tu_rand(&rng) % 26);
            buf[l++] = '"';
            buf[l++] = '}';
        }
        int muts = 1 + (int)(tu_rand(&rng) % 3);
        for (int m = 0; m < muts && l > 0; m++) {
            size_t at = tu_rand(&rng) % l;
            char c = alphabet[tu_rand(&rng) % (sizeof alphabet - 1)];
            switch (tu_rand(&rng) % 4) {
            case 0: buf[at] = c; break;                                  /* replace */
            case 1: memmove(buf + at + 1, buf + at, l - at); buf[at] = c; l++; break; /* insert */
            case 2: memmove(buf + at, buf + at + 1, l - at - 1); l--; break;          /* delete */
            default: l = at; break;                                      /* truncate */
            }
        }
        total++;
        accepted += (size_t)check_line(buf, l, &scratch);
    }
    /* both outcomes must occur, or the mutations test nothing */
    cr_assert_gt(accepted, 100, "only %zu of %zu damaged records accepted", accepted, total);
    cr_assert_lt(accepted, total, "every damaged record accepted");
    free(buf);
    ft_buf_free(&scratch);
    free(data);
    free(sample);
}
