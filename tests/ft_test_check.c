/*
 * ft_test_check.c — comparison of an opened index with a naive inversion
 * (see ft_test_util.h): dictionary, postings walked with next() and with
 * random advance() targets, positions, block/list bounds, document lengths,
 * counts, avgdl and stored fields.  Shared by test_index.c and
 * test_corpora.c.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ft_test_util.h"

/* ------------------------------------------------------------ comparison */



int tu_collect_term(void *ctx, const char *term, size_t len, uint32_t df)
{
    tu_term_list *l = ctx;
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 256;
        l->t = realloc(l->t, l->cap * sizeof *l->t);
        l->len = realloc(l->len, l->cap * sizeof *l->len);
        l->df = realloc(l->df, l->cap * sizeof *l->df);
    }
    l->t[l->n] = malloc(len + 1);
    memcpy(l->t[l->n], term, len);
    l->t[l->n][len] = 0;
    l->len[l->n] = len;
    l->df[l->n] = df;
    l->n++;
    return (l->limit && l->n >= l->limit) ? 1 : 0;
}

void tu_term_list_free(tu_term_list *l)
{
    for (size_t i = 0; i < l->n; i++) free(l->t[i]);
    free(l->t);
    free(l->len);
    free(l->df);
    memset(l, 0, sizeof *l);
}

static void check_positions(ft_postings *p, const tu_posting *want, const char *term)
{
    const uint32_t *pos = NULL;
    uint32_t n = 0;
    int rc = ft_postings_positions(p, &pos, &n);
    cr_assert_eq(rc, FT_OK, "positions of %s in doc %u: rc %d", term, want->doc, rc);
    cr_assert_eq(n, want->tf, "term %s doc %u: %u positions, want %u", term, want->doc, n, want->tf);
    for (uint32_t i = 0; i < n; i++)
        cr_assert_eq(pos[i], want->pos[i], "term %s doc %u position #%u: got %u want %u", term,
                     want->doc, i, pos[i], want->pos[i]);
}

/* Walk one term's postings with next() and compare with the naive list. */
static void check_term_walk(const ft_index *ix, const tu_inv *inv, const tu_term *tm)
{
    ft_postings *p = NULL;
    ft_error err = {0};
    cr_assert_eq(ft_postings_open(ix, tm->term, tm->len, &p, &err), FT_OK, "%s", err.msg);
    cr_assert_eq(ft_postings_df(p), tm->df, "term %s: df %u want %u", tm->term, ft_postings_df(p),
                 tm->df);
    cr_assert_eq(ft_postings_cf(p), tm->cf, "term %s: cf %llu want %llu", tm->term,
                 (unsigned long long)ft_postings_cf(p), (unsigned long long)tm->cf);
    uint32_t max_tf = 0, min_len = UINT32_MAX;
    for (uint32_t i = 0; i < tm->df; i++) {
        const tu_posting *w = &tm->p[i];
        uint32_t d = ft_postings_next(p);
        cr_assert_eq(d, w->doc, "term %s posting #%u: doc %u want %u", tm->term, i, d, w->doc);
        cr_assert_eq(ft_postings_doc(p), w->doc);
        cr_assert_eq(ft_postings_tf(p), w->tf, "term %s doc %u: tf %u want %u", tm->term, d,
                     ft_postings_tf(p), w->tf);
        check_positions(p, w, tm->term);
        uint32_t blast, btf, blen;
        ft_postings_block_info(p, &blast, &btf, &blen);
        cr_assert_geq(blast, w->doc, "term %s: block last doc %u < current %u", tm->term, blast,
                      w->doc);
        cr_assert_geq(btf, w->tf, "term %s doc %u: block max tf %u < tf %u", tm->term, w->doc, btf,
                      w->tf);
        cr_assert_leq(blen, inv->doclen[w->doc], "term %s doc %u: block min len %u > len %u",
                      tm->term, w->doc, blen, inv->doclen[w->doc]);
        if (w->tf > max_tf) max_tf = w->tf;
        if (inv->doclen[w->doc] < min_len) min_len = inv->doclen[w->doc];
    }
    cr_assert_eq(ft_postings_next(p), FT_DOC_END, "term %s: more postings than df", tm->term);
    cr_assert_eq(ft_postings_next(p), FT_DOC_END);
    cr_assert_eq(ft_postings_status(p, &err), FT_OK, "%s", err.msg);
    uint32_t lmax, lmin;
    ft_postings_list_info(p, &lmax, &lmin);
    cr_assert_geq(lmax, max_tf, "term %s: list max tf %u < %u", tm->term, lmax, max_tf);
    cr_assert_leq(lmin, min_len, "term %s: list min len %u > %u", tm->term, lmin, min_len);
    ft_postings_close(p);
}

/* First naive posting index with doc >= target, or df. */
static uint32_t lower_bound(const tu_term *tm, uint32_t target)
{
    uint32_t lo = 0, hi = tm->df;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (tm->p[mid].doc < target)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Random mix of advance() and next() against the naive list. */
static void check_term_advance(const ft_index *ix, const tu_inv *inv, const tu_term *tm, tu_rng *r)
{
    ft_postings *p = NULL;
    ft_error err = {0};
    cr_assert_eq(ft_postings_open(ix, tm->term, tm->len, &p, &err), FT_OK, "%s", err.msg);
    uint32_t cur = 0;
    int started = 0;
    uint32_t idx = 0; /* naive index of the current posting */
    for (int step = 0; step < 64; step++) {
        uint32_t lo = started ? cur + 1 : 0;
        if (lo > inv->ndocs + 2) break;
        if (started && tu_randn(r, 4) == 0) {
            uint32_t d = ft_postings_next(p);
            idx++;
            uint32_t want = idx < tm->df ? tm->p[idx].doc : FT_DOC_END;
            cr_assert_eq(d, want, "term %s next after %u: got %u want %u", tm->term, cur, d, want);
            if (d == FT_DOC_END) break;
            cur = d;
        } else {
            /* mostly short hops, sometimes long jumps, sometimes beyond the end */
            uint32_t span = tu_randn(r, 3) == 0 ? inv->ndocs + 3 : 1 + tu_randn(r, 12);
            uint32_t target = lo + tu_randn(r, span);
            uint32_t d = ft_postings_advance(p, target);
            idx = lower_bound(tm, target);
            uint32_t want = idx < tm->df ? tm->p[idx].doc : FT_DOC_END;
            cr_assert_eq(d, want, "term %s advance(%u) from %s%u: got %u want %u", tm->term, target,
                         started ? "" : "start ", cur, d, want);
            if (d == FT_DOC_END) break;
            cur = d;
        }
        started = 1;
        cr_assert_eq(ft_postings_doc(p), cur);
        cr_assert_eq(ft_postings_tf(p), tm->p[idx].tf, "term %s doc %u tf", tm->term, cur);
        if (tu_randn(r, 2)) check_positions(p, &tm->p[idx], tm->term);
    }
    cr_assert_eq(ft_postings_status(p, &err), FT_OK, "%s", err.msg);
    ft_postings_close(p);
}

/* Reference replacement of invalid UTF-8 by U+FFFD, one per maximal subpart
 * of an ill-formed subsequence (the Unicode / WHATWG practice): a lead byte
 * followed by too few valid continuation bytes becomes one U+FFFD and the
 * offending byte is looked at again; bytes that can never start a sequence
 * (80..C1, F5..FF) become one U+FFFD each.  Returns a malloc'd copy. */
static char *utf8_sanitize_ref(const char *s, size_t n, size_t *out_len)
{
    const unsigned char *p = (const unsigned char *)s;
    char *out = malloc(3 * n + 1);
    cr_assert_not_null(out);
    size_t o = 0, i = 0;
    static const char rep[] = "\xef\xbf\xbd";
    while (i < n) {
        unsigned c = p[i];
        size_t need;
        unsigned lo = 0x80, hi = 0xbf; /* allowed range of the second byte */
        if (c < 0x80) {
            out[o++] = (char)c;
            i++;
            continue;
        } else if (c >= 0xc2 && c <= 0xdf) {
            need = 1;
        } else if (c >= 0xe0 && c <= 0xef) {
            need = 2;
            if (c == 0xe0) lo = 0xa0;
            if (c == 0xed) hi = 0x9f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            need = 3;
            if (c == 0xf0) lo = 0x90;
            if (c == 0xf4) hi = 0x8f;
        } else {
            memcpy(out + o, rep, 3);
            o += 3;
            i++;
            continue;
        }
        size_t k = 1;
        while (k <= need && i + k < n) {
            unsigned b = p[i + k];
            unsigned l = k == 1 ? lo : 0x80, h = k == 1 ? hi : 0xbf;
            if (b < l || b > h) break;
            k++;
        }
        if (k == need + 1) { /* complete and valid */
            memcpy(out + o, s + i, k);
            o += k;
        } else { /* bytes i .. i+k-1 are one maximal subpart */
            memcpy(out + o, rep, 3);
            o += 3;
        }
        i += k;
    }
    out[o] = 0;
    *out_len = o;
    return out;
}

static void expect_field(uint32_t d, const char *what, const char *got, size_t got_len,
                         const char *in, size_t in_len, int sanitize)
{
    size_t wl = in_len;
    char *w = sanitize ? utf8_sanitize_ref(in, in_len, &wl) : NULL;
    const char *want = w ? w : in;
    cr_assert_eq(got_len, wl, "doc %u %s: length %zu, want %zu", d, what, got_len, wl);
    cr_assert(wl == 0 || memcmp(got, want, wl) == 0, "doc %u %s bytes differ", d, what);
    free(w);
}

/* Stored fields of every document, byte for byte: exactly the input when
 * sanitize is 0, else the input with invalid UTF-8 replaced as above
 * (docs/FORMAT.md: stored text is valid UTF-8). */
void tu_check_stored(const ft_index *ix, const tu_corpus *c, int sanitize)
{
    ft_docbuf *buf = ft_docbuf_new();
    cr_assert_not_null(buf);
    ft_error err = {0};
    for (uint32_t d = 0; d < c->n; d++) {
        const tu_doc *w = &c->docs[d];
        ft_doc doc;
        int rc = ft_index_doc(ix, d, buf, &doc, &err);
        cr_assert_eq(rc, FT_OK, "ft_index_doc(%u): %d %s", d, rc, err.msg);
        expect_field(d, "id", doc.id, doc.id_len, w->id, w->id_len, sanitize);
        expect_field(d, "title", doc.title, doc.title_len, w->title, w->title_len, sanitize);
        expect_field(d, "body", doc.body, doc.body_len, w->body, w->body_len, sanitize);
    }
    ft_doc doc;
    cr_assert_neq(ft_index_doc(ix, (uint32_t)c->n, buf, &doc, &err), FT_OK,
                  "ft_index_doc past the end succeeded");
    ft_docbuf_free(buf);
}

static void check_docs(const ft_index *ix, const tu_corpus *c, const tu_inv *inv)
{
    cr_assert_eq(ft_index_doc_count(ix), c->n, "doc count %u want %zu", ft_index_doc_count(ix),
                 c->n);
    cr_assert_eq(ft_index_token_count(ix), inv->tokens, "token count %llu want %llu",
                 (unsigned long long)ft_index_token_count(ix), (unsigned long long)inv->tokens);
    double want_avg = c->n ? (double)inv->tokens / (double)c->n : 0.0;
    cr_assert(fabs(ft_index_avgdl(ix) - want_avg) <= 1e-12 * (want_avg > 1 ? want_avg : 1),
              "avgdl %.17g want %.17g", ft_index_avgdl(ix), want_avg);
    for (uint32_t d = 0; d < c->n; d++)
        cr_assert_eq(ft_index_doc_length(ix, d), inv->doclen[d], "doc %u length %u want %u", d,
                     ft_index_doc_length(ix, d), inv->doclen[d]);
    cr_assert_eq(ft_index_doc_length(ix, (uint32_t)c->n), 0);
    cr_assert_eq(ft_index_doc_length(ix, (uint32_t)c->n + 1000), 0);

    tu_check_stored(ix, c, 1);
}

static void check_dictionary(const ft_index *ix, const tu_inv *inv)
{
    tu_term_list l = {0};
    ft_error err = {0};
    cr_assert_eq(ft_index_terms(ix, tu_collect_term, &l, &err), FT_OK, "%s", err.msg);
    size_t m = l.n < inv->nterms ? l.n : inv->nterms;
    for (size_t i = 0; i < m; i++) {
        const tu_term *w = &inv->terms[i];
        cr_assert(l.len[i] == w->len && memcmp(l.t[i], w->term, w->len) == 0,
                  "dictionary entry %zu: got \"%s\" want \"%s\"", i, l.t[i], w->term);
        cr_assert_eq(l.df[i], w->df, "term %s: df %u want %u", w->term, l.df[i], w->df);
    }
    cr_assert_eq(l.n, inv->nterms, "dictionary has %zu terms, want %zu", l.n, inv->nterms);
    tu_term_list_free(&l);
}

static void check_absent(const ft_index *ix, const char *term)
{
    ft_postings *p = NULL;
    ft_error err = {0};
    cr_assert_eq(ft_postings_open(ix, term, strlen(term), &p, &err), FT_OK, "%s", err.msg);
    cr_assert_eq(ft_postings_df(p), 0);
    cr_assert_eq(ft_postings_cf(p), 0);
    cr_assert_eq(ft_postings_next(p), FT_DOC_END);
    ft_postings_close(p);
    cr_assert_eq(ft_postings_open(ix, term, strlen(term), &p, &err), FT_OK, "%s", err.msg);
    cr_assert_eq(ft_postings_advance(p, 0), FT_DOC_END);
    ft_postings_close(p);
}

void tu_check_index(const ft_index *ix, const tu_corpus *c, const tu_inv *inv)
{
    check_docs(ix, c, inv);
    check_dictionary(ix, inv);
    for (size_t i = 0; i < inv->nterms; i++) check_term_walk(ix, inv, &inv->terms[i]);
    tu_rng r = {77};
    for (size_t i = 0; i < inv->nterms; i++) check_term_advance(ix, inv, &inv->terms[i], &r);
    /* absent terms: a prefix of a real term, an extension, and unrelated */
    check_absent(ix, "zzzzzzzzzzzzzzz");
    check_absent(ix, "");
    check_absent(ix, TU_ALL_WORD "x");
    check_absent(ix, "omnipresen");
}

