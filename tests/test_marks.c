/*
 * test_marks.c — the position marks of stored bodies (docs/FORMAT.md, .sto)
 * and the snippets made with them.
 *
 * A record's fourth field lists where analysis of its body may start: the
 * exact bytes for known texts (a mark every 32 positions, moved to the next
 * word after white space), what ft_doc_mark answers, the records that keep
 * body0 only (a body that was not valid UTF-8, a record of 1 MiB or more,
 * whole or in pieces), marks surviving a merge, and ft_snipper's snippets,
 * which read only the window from the mark before it, equal to
 * ft_snippet_text's for windows deep in long bodies and past the 64 KiB
 * that snippets look at.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ft_test_util.h"

/* "w0000<sep>w0001<sep>...", then x0000 for word 10,000 and so on: word k
 * at offset 6k; sep[k] follows word k. */
static char *words(unsigned n, const char *seps)
{
    char *s = malloc((size_t)n * 6 + 1);
    cr_assert_not_null(s);
    for (unsigned k = 0; k < n; k++) {
        char w[8];
        snprintf(w, sizeof w, "%c%04u", 'w' + k / 10000, k % 10000);
        memcpy(s + 6 * k, w, 5);
        s[6 * k + 5] = seps ? seps[k] : ' ';
    }
    s[6 * n - 1] = 0;
    return s;
}

/* Word k of such a text becomes w (five letters). */
static void put_word(char *text, unsigned k, const char *w)
{
    memcpy(text + 6 * k, w, 5);
}

typedef struct one {
    char *dir;
    ft_index *ix;
    ft_docbuf *db;
    ft_doc d;
} one;

static void open_built(one *o)
{
    ft_error err = {0};
    cr_assert_eq(ft_index_open(o->dir, &o->ix, &err), FT_OK, "%s", err.msg);
    o->db = ft_docbuf_new();
    cr_assert_eq(ft_index_doc(o->ix, 0, o->db, &o->d, &err), FT_OK, "%s", err.msg);
}

static void build_one(one *o, const char *title, const char *body, size_t body_len)
{
    memset(o, 0, sizeof *o);
    o->dir = tu_mkdtemp();
    ft_writer_opts wo;
    ft_writer_opts_default(&wo);
    ft_writer *w;
    ft_error err = {0};
    cr_assert_eq(ft_writer_open(o->dir, &wo, &w, &err), FT_OK, "%s", err.msg);
    cr_assert_eq(ft_writer_add(w, "m", 1, title, strlen(title), body, body_len, &err), FT_OK, "%s", err.msg);
    cr_assert_eq(ft_writer_commit(w, &err), FT_OK, "%s", err.msg);
    ft_writer_close(w);
    open_built(o);
}

static void one_close(one *o)
{
    ft_docbuf_free(o->db);
    ft_index_close(o->ix);
    tu_rmrf(o->dir);
    free(o->dir);
}

static void assert_bytes(const uint8_t *got, size_t n, const uint8_t *want, size_t wn)
{
    cr_assert_eq(n, wn, "marks field of %zu bytes, expected %zu", n, wn);
    for (size_t i = 0; i < n; i++) cr_assert_eq(got[i], want[i], "marks byte %zu: %02x, expected %02x", i, got[i], want[i]);
}

Test(marks, exact_bytes_and_lookups)
{
    char *body = words(70, NULL);
    one o;
    build_one(&o, "Two words", body, strlen(body));
    /* body0 3 (the title's words are 0 and 1); marks at 32 (offset 192) and
     * 64 (offset 384): gaps 32/192 and 32/192 */
    static const uint8_t want[] = {0x03, 0x20, 0xc0, 0x01, 0x20, 0xc0, 0x01};
    assert_bytes(o.d.marks, o.d.marks_len, want, sizeof want);
    uint32_t body0 = 0, pos = 99;
    size_t off = 99;
    cr_assert_eq(ft_doc_mark(&o.d, 31, SIZE_MAX, &body0, &pos, &off), 1);
    cr_assert_eq(body0, 3);
    cr_assert_eq(pos, 0);
    cr_assert_eq(off, 0);
    cr_assert_eq(ft_doc_mark(&o.d, 40, SIZE_MAX, &body0, &pos, &off), 1);
    cr_assert_eq(pos, 32);
    cr_assert_eq(off, 192);
    cr_assert_eq(ft_doc_mark(&o.d, 1000, 384, &body0, &pos, &off), 1); /* the limit excludes offset 384 */
    cr_assert_eq(pos, 32);
    cr_assert_eq(ft_doc_mark(&o.d, 1000, 385, &body0, &pos, &off), 1);
    cr_assert_eq(pos, 64);
    cr_assert_eq(off, 384);
    ft_doc none = o.d;
    none.marks_len = 0;
    body0 = 7;
    cr_assert_eq(ft_doc_mark(&none, 40, SIZE_MAX, &body0, &pos, &off), 0);
    cr_assert_eq(body0, 7);
    cr_assert_eq(pos, 0);
    one_close(&o);
    free(body);
}

/* Damaged marks: ft_doc_mark gives the marks before the damage, never an
 * offset outside the body or not after white space. */
Test(marks, damaged_marks)
{
    char *body = words(70, NULL);
    one o;
    build_one(&o, "Two words", body, strlen(body));
    static const uint8_t bad[][8] = {
        {0x03, 0x20, 0xc0, 0x01, 0x00, 0x05},       /* a position gap of 0 */
        {0x03, 0x20, 0xc0, 0x01, 0x20, 0xff, 0x7f}, /* past the body */
        {0x03, 0x20, 0xc0, 0x01, 0x20, 0x02},       /* not after white space */
        {0x03, 0x20, 0xc0, 0x01, 0x20, 0xc0},       /* a varint cut short */
    };
    static const size_t len[] = {6, 7, 6, 6};
    for (size_t k = 0; k < 4; k++) {
        ft_doc d = o.d;
        d.marks = bad[k];
        d.marks_len = len[k];
        uint32_t body0 = 0, pos;
        size_t off;
        cr_assert_eq(ft_doc_mark(&d, 1000, SIZE_MAX, &body0, &pos, &off), 1);
        cr_assert_eq(body0, 3);
        cr_assert_eq(pos, 32, "damage %zu", k);
        cr_assert_eq(off, 192, "damage %zu", k);
    }
    static const uint8_t bad0[] = {0x80}; /* body0 cut short: no marks */
    ft_doc d = o.d;
    d.marks = bad0;
    d.marks_len = 1;
    uint32_t body0 = 9, pos;
    size_t off;
    cr_assert_eq(ft_doc_mark(&d, 1000, SIZE_MAX, &body0, &pos, &off), 0);
    cr_assert_eq(body0, 9);
    one_close(&o);
    free(body);
}

/* Words joined by '-' are separate words, but a mark goes only on a word
 * after white space: here word 40 only. */
Test(marks, only_after_white_space)
{
    char seps[70];
    memset(seps, '-', sizeof seps);
    seps[39] = '\n';
    char *body = words(70, seps);
    one o;
    build_one(&o, "", body, strlen(body));
    static const uint8_t want[] = {0x01, 0x28, 0xf0, 0x01}; /* body0 1; 40 at offset 240 */
    assert_bytes(o.d.marks, o.d.marks_len, want, sizeof want);
    one_close(&o);
    free(body);
}

Test(marks, invalid_utf8_body_keeps_body0_only)
{
    char *body = words(70, NULL);
    body[2] = (char)0xff; /* stored as U+FFFD: three bytes for one */
    one o;
    build_one(&o, "Two words", body, strlen(body));
    static const uint8_t want[] = {0x03};
    assert_bytes(o.d.marks, o.d.marks_len, want, sizeof want);
    one_close(&o);
    free(body);
}

/* A record of 1 MiB or more keeps body0 only, added whole or in pieces. */
Test(marks, large_records_whole_and_in_pieces)
{
    size_t n = 1100000; /* 1.1 MB */
    char *body = words(999, NULL);
    size_t one_len = strlen(body) + 1;
    size_t len = 0;
    char *big = malloc(n + one_len);
    cr_assert_not_null(big);
    while (len + one_len < n) {
        memcpy(big + len, body, one_len - 1);
        big[len + one_len - 1] = ' ';
        len += one_len;
    }
    for (int pieces = 0; pieces < 2; pieces++) {
        one o;
        memset(&o, 0, sizeof o);
        o.dir = tu_mkdtemp();
        ft_writer_opts wo;
        ft_writer_opts_default(&wo);
        ft_writer *w;
        ft_error err = {0};
        cr_assert_eq(ft_writer_open(o.dir, &wo, &w, &err), FT_OK, "%s", err.msg);
        if (pieces) {
            cr_assert_eq(ft_writer_begin(w, "m", 1, "Big one", 7, len, len, &err), FT_OK, "%s", err.msg);
            for (size_t at = 0; at < len; at += 70001)
                cr_assert_eq(ft_writer_text(w, big + at, len - at < 70001 ? len - at : 70001, &err), FT_OK);
            cr_assert_eq(ft_writer_end(w, &err), FT_OK, "%s", err.msg);
        } else {
            cr_assert_eq(ft_writer_add(w, "m", 1, "Big one", 7, big, len, &err), FT_OK, "%s", err.msg);
        }
        cr_assert_eq(ft_writer_commit(w, &err), FT_OK, "%s", err.msg);
        ft_writer_close(w);
        open_built(&o);
        static const uint8_t want[] = {0x03};
        assert_bytes(o.d.marks, o.d.marks_len, want, sizeof want);
        cr_assert_eq(o.d.body_len, len);
        cr_assert_eq(ft_index_check(o.dir, &err), FT_OK, "%s", err.msg);
        one_close(&o);
    }
    free(big);
    free(body);
}

/* Merged segments carry every record's marks unchanged. */
Test(marks, kept_by_merges)
{
    char *dir = tu_mkdtemp();
    tu_corpus c = {0};
    char *bodies[4];
    for (unsigned i = 0; i < 4; i++) {
        bodies[i] = words(40 + 30 * i, NULL);
        char id[8];
        snprintf(id, sizeof id, "d%u", i);
        tu_corpus_add(&c, id, i % 2 ? "A title" : "", bodies[i]);
    }
    ft_writer_opts wo;
    ft_writer_opts_default(&wo);
    wo.segment_docs = 1;
    tu_build_index(dir, &c, &wo);
    ft_error err = {0};
    ft_index *ix;
    cr_assert_eq(ft_index_open(dir, &ix, &err), FT_OK, "%s", err.msg);
    cr_assert_eq(ft_index_segment_count(ix), 4);
    ft_docbuf *db = ft_docbuf_new();
    uint8_t before[4][64];
    size_t blen[4];
    for (uint32_t i = 0; i < 4; i++) {
        ft_doc d;
        cr_assert_eq(ft_index_doc(ix, i, db, &d, &err), FT_OK);
        cr_assert_lt(d.marks_len, sizeof before[i]);
        cr_assert_gt(d.marks_len, 1, "document %u has marks", i);
        memcpy(before[i], d.marks, d.marks_len);
        blen[i] = d.marks_len;
    }
    ft_index_close(ix);
    ft_merge_opts mo;
    ft_merge_opts_default(&mo);
    mo.max_segments = 1;
    cr_assert_eq(ft_index_merge(dir, &mo, NULL, &err), FT_OK, "%s", err.msg);
    cr_assert_eq(ft_index_open(dir, &ix, &err), FT_OK, "%s", err.msg);
    cr_assert_eq(ft_index_segment_count(ix), 1);
    for (uint32_t i = 0; i < 4; i++) {
        ft_doc d;
        cr_assert_eq(ft_index_doc(ix, i, db, &d, &err), FT_OK);
        assert_bytes(d.marks, d.marks_len, before[i], blen[i]);
    }
    cr_assert_eq(ft_index_check(dir, &err), FT_OK, "%s", err.msg);
    ft_docbuf_free(db);
    ft_index_close(ix);
    tu_corpus_free(&c);
    for (unsigned i = 0; i < 4; i++) free(bodies[i]);
    tu_rmrf(dir);
    free(dir);
}

/* ft_snipper reads a deep window from the mark before it; its snippets are
 * ft_snippet_text's, in a 5,000-word body (query words around word 4,000, and
 * near its end) and in one of 96 KB whose best window lies past the 64 KiB
 * snippets look at. */
Test(marks, deep_windows_equal_text_snippets)
{
    char *dir = tu_mkdtemp();
    tu_corpus c = {0};
    char *deep = words(5000, NULL);
    put_word(deep, 4000, "amber");
    put_word(deep, 4010, "opals");
    put_word(deep, 4990, "amber");
    tu_corpus_add(&c, "deep", "Deep", deep);
    char *far = words(16000, NULL); /* 96 KB */
    put_word(far, 100, "amber");
    put_word(far, 15000, "amber");
    put_word(far, 15003, "opals");
    tu_corpus_add(&c, "far", "", far);
    ft_writer_opts wo;
    ft_writer_opts_default(&wo);
    tu_build_index(dir, &c, &wo);
    ft_error err = {0};
    ft_index *ix;
    cr_assert_eq(ft_index_open(dir, &ix, &err), FT_OK, "%s", err.msg);
    ft_analyzer *an;
    cr_assert_eq(ft_analyzer_new(ft_index_analyzer_opts(ix), &an, &err), FT_OK);
    static const char *const queries[] = {"amber opals", "opals", "amber", "w3999 opals", "w4995 amber", "w0000 w0001"};
    static const char *const want_deep[] = {
        "...w3997 w3998 w3999 [amber] w4001 w4002 w4003 w4004 w4005 w4006 w4007 w4008 w4009 [opals] w4011...",
        "...w4007 w4008 w4009 [opals] w4011 w4012 w4013 w4014 w4015 w4016 w4017 w4018 w4019 w4020 w4021...",
        "...w3997 w3998 w3999 [amber] w4001 w4002 w4003 w4004 w4005 w4006 w4007 w4008 w4009 opals w4011...",
        "...w3996 w3997 w3998 [w3999] amber w4001 w4002 w4003 w4004 w4005 w4006 w4007 w4008 w4009 [opals]...",
        "...w4987 w4988 w4989 [amber] w4991 w4992 w4993 w4994 [w4995] w4996 w4997 w4998 w4999",
        "[w0000] [w0001] w0002 w0003 w0004 w0005 w0006 w0007 w0008 w0009 w0010 w0011 w0012 w0013 w0014..."};
    /* in far, the words past 64 KiB are not looked at: amber at 100 alone */
    static const char *const want_far[] = {
        "...w0097 w0098 w0099 [amber] w0101 w0102 w0103 w0104 w0105 w0106 w0107 w0108 w0109 w0110 w0111...",
        "w0000 w0001 w0002 w0003 w0004 w0005 w0006 w0007 w0008 w0009 w0010 w0011 w0012 w0013 w0014...",
        "...w0097 w0098 w0099 [amber] w0101 w0102 w0103 w0104 w0105 w0106 w0107 w0108 w0109 w0110 w0111...",
        "...w3996 w3997 w3998 [w3999] w4000 w4001 w4002 w4003 w4004 w4005 w4006 w4007 w4008 w4009 w4010...",
        "...w0097 w0098 w0099 [amber] w0101 w0102 w0103 w0104 w0105 w0106 w0107 w0108 w0109 w0110 w0111...",
        "[w0000] [w0001] w0002 w0003 w0004 w0005 w0006 w0007 w0008 w0009 w0010 w0011 w0012 w0013 w0014..."};
    ft_docbuf *db = ft_docbuf_new();
    size_t compared = 0;
    for (size_t qi = 0; qi < sizeof queries / sizeof *queries; qi++) {
        ft_query *q = NULL;
        cr_assert_eq(ft_query_parse(an, queries[qi], strlen(queries[qi]), &q, &err), FT_OK);
        ft_search_opts so;
        ft_search_opts_default(&so);
        ft_results res;
        cr_assert_eq(ft_search(ix, q, &so, &res, &err), FT_OK);
        ft_snipper *sn = NULL;
        cr_assert_eq(ft_snipper_new(ix, an, q, &res, &sn, &err), FT_OK, "%s", err.msg);
        for (size_t i = 0; i < res.n; i++) {
            ft_doc d;
            cr_assert_eq(ft_index_doc(ix, res.hits[i].doc, db, &d, &err), FT_OK);
            ft_snippet_opts o = {15, "[", "]"};
            char *a = NULL, *b = NULL;
            cr_assert_eq(ft_snipper_get(sn, i, &d, &o, &a, &err), FT_OK);
            cr_assert_eq(ft_snippet_text(an, q, d.body, d.body_len, &o, &b, &err), FT_OK);
            cr_assert_str_eq(a, b, "query %s, document %.*s", queries[qi], (int)d.id_len, d.id);
            if (d.id_len == 4 && !memcmp(d.id, "deep", 4)) cr_assert_str_eq(a, want_deep[qi], "query %s", queries[qi]);
            else cr_assert_str_eq(a, want_far[qi], "query %s", queries[qi]);
            compared++;
            free(a);
            free(b);
        }
        ft_snipper_free(sn);
        ft_results_free(&res);
        ft_query_free(q);
    }
    cr_assert_eq(compared, 12);
    ft_docbuf_free(db);
    ft_analyzer_free(an);
    ft_index_close(ix);
    tu_corpus_free(&c);
    free(deep);
    free(far);
    tu_rmrf(dir);
    free(dir);
}

/* Snippets collapse white space (runs of spaces, tabs, newlines and control
 * bytes become one space) the same at every alignment of the text. */
Test(marks, white_space_collapsed_at_every_alignment)
{
    static const char *const seps[] = {" ", "  ", "\t", "\n", " \n ", "\x01", "  \t  ", " \r\n"};
    tu_rng r = {12345};
    ft_analyzer *an = tu_analyzer("none");
    ft_error err = {0};
    ft_query *q = NULL;
    cr_assert_eq(ft_query_parse(an, "w07", 3, &q, &err), FT_OK);
    for (int trial = 0; trial < 200; trial++) {
        char body[2048], want[2048];
        size_t bl = 0, wl = 0;
        unsigned lead = tu_randn(&r, 9); /* the body's first bytes shift the alignment */
        for (unsigned k = 0; k < lead; k++) body[bl++] = 'a';
        body[bl++] = ' ';
        wl += (size_t)snprintf(want + wl, sizeof want - wl, "%.*s", (int)lead, "aaaaaaaa");
        for (unsigned w = 0; w < 60; w++) {
            const char *sep = seps[tu_randn(&r, 8)];
            char word[8];
            snprintf(word, sizeof word, "w%02u", w);
            bl += (size_t)snprintf(body + bl, sizeof body - bl, "%s%s", word, sep);
            wl += (size_t)snprintf(want + wl, sizeof want - wl, lead || w ? " %s%s%s" : "%s%s%s", w == 7 ? "[" : "",
                                   word, w == 7 ? "]" : "");
        }
        ft_snippet_opts o = {1000, "[", "]"};
        char *got = NULL;
        cr_assert_eq(ft_snippet_text(an, q, body, bl, &o, &got, &err), FT_OK);
        cr_assert_str_eq(got, want, "trial %d", trial);
        free(got);
    }
    ft_query_free(q);
    ft_analyzer_free(an);
}

/* Text the analysis found invalid is stored repaired, whichever way it was
 * added: whole, or as tokens analyzed from the same buffers, or as tokens of
 * other (valid) buffers (the writer skips its own UTF-8 scan only when the
 * analysis it was given covered these very bytes and found them valid). */
Test(marks, invalid_text_stored_repaired_every_way)
{
    const char title[] = "T\xff" "t", body[] = "good \xc3 bad \xe2\x82 words";
    const char *want_title = "T\xef\xbf\xbdt", *want_body = "good \xef\xbf\xbd bad \xef\xbf\xbd words";
    for (int way = 0; way < 3; way++) {
        char *dir = tu_mkdtemp();
        ft_writer_opts wo;
        ft_writer_opts_default(&wo);
        ft_writer *w;
        ft_error err = {0};
        cr_assert_eq(ft_writer_open(dir, &wo, &w, &err), FT_OK, "%s", err.msg);
        if (way == 0) {
            cr_assert_eq(ft_writer_add(w, "d", 1, title, strlen(title), body, strlen(body), &err), FT_OK);
        } else {
            ft_analyzer *an;
            cr_assert_eq(ft_analyzer_new(ft_writer_analyzer_opts(w), &an, &err), FT_OK);
            ft_tokens *t = ft_tokens_new();
            char *tc = strdup(title), *bc = strdup(body); /* valid copies: a caller's mistake */
            for (char *q = tc; *q; q++) if ((unsigned char)*q >= 0x80) *q = 'x';
            for (char *q = bc; *q; q++) if ((unsigned char)*q >= 0x80) *q = 'x';
            if (way == 1) cr_assert_eq(ft_tokens_analyze(t, an, title, strlen(title), body, strlen(body), &err), FT_OK);
            else cr_assert_eq(ft_tokens_analyze(t, an, tc, strlen(tc), bc, strlen(bc), &err), FT_OK);
            cr_assert_eq(ft_writer_add_tokens(w, t, 0, "d", 1, title, strlen(title), body, strlen(body), &err), FT_OK);
            free(tc);
            free(bc);
            ft_tokens_free(t);
            ft_analyzer_free(an);
        }
        cr_assert_eq(ft_writer_commit(w, &err), FT_OK, "%s", err.msg);
        ft_writer_close(w);
        ft_index *ix;
        cr_assert_eq(ft_index_open(dir, &ix, &err), FT_OK);
        ft_docbuf *db = ft_docbuf_new();
        ft_doc d;
        cr_assert_eq(ft_index_doc(ix, 0, db, &d, &err), FT_OK);
        cr_assert_eq(d.title_len, strlen(want_title), "way %d", way);
        cr_assert_eq(memcmp(d.title, want_title, d.title_len), 0, "way %d", way);
        cr_assert_eq(d.body_len, strlen(want_body), "way %d", way);
        cr_assert_eq(memcmp(d.body, want_body, d.body_len), 0, "way %d", way);
        cr_assert_eq(d.marks_len, 1, "way %d: body0 only", way);
        ft_docbuf_free(db);
        ft_index_close(ix);
        tu_rmrf(dir);
        free(dir);
    }
}
