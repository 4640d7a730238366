/*
 * search.c — query analysis, BM25 top-k retrieval, snippets.
 *
 * Retrieval is document-at-a-time over one posting cursor per distinct query
 * term: any-word queries take the smallest current document of all cursors;
 * all-words queries leapfrog from the rarest term with ft_postings_advance(),
 * which skips whole compressed blocks through the skip table.  A bounded heap
 * keeps the k best (score descending, document ascending), so results are
 * exact and deterministic.  BM25 is factored per term into a weight
 * w = qtf * idf * (k1 + 1) and per document into K = k1 * (1 - b + b * dl / avgdl),
 * giving w * tf / (tf + K) per posting.
 *
 * Snippets re-analyze the stored body (up to 1 MiB) with the index's analyzer,
 * so stemming decides what is highlighted: a query for "soybeans" lights up
 * "soybean" and "soybeans" alike.
 */
#include "ft_search.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SNIPPET_SCAN_MAX (1u << 20)

typedef struct qterm {
    char *t;
    size_t len;
    unsigned qtf;
} qterm;

struct ft_query {
    qterm *terms;
    size_t n, cap;
    int rc;
};

void ft_search_opts_default(ft_search_opts *o)
{
    o->k1 = 1.2;
    o->b = 0.75;
    o->k = 10;
    o->all = 0;
}

static int on_query_token(void *ctx, const ft_token *tok)
{
    ft_query *q = ctx;
    for (size_t i = 0; i < q->n; i++)
        if (q->terms[i].len == tok->len && !memcmp(q->terms[i].t, tok->term, tok->len)) {
            q->terms[i].qtf++;
            return 0;
        }
    if (q->n == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 8;
        qterm *p = realloc(q->terms, cap * sizeof *p);
        if (!p) return FT_ENOMEM;
        q->terms = p;
        q->cap = cap;
    }
    char *t = malloc(tok->len + 1);
    if (!t) return FT_ENOMEM;
    memcpy(t, tok->term, tok->len);
    t[tok->len] = 0;
    q->terms[q->n++] = (qterm){t, tok->len, 1};
    return 0;
}

int ft_query_parse(ft_analyzer *an, const char *text, size_t len, ft_query **out, ft_error *err)
{
    *out = NULL;
    ft_query *q = calloc(1, sizeof *q);
    if (!q) return ft_error_set(err, FT_ENOMEM, "out of memory");
    if (ft_analyze(an, text, len, 0, on_query_token, q, NULL)) {
        ft_query_free(q);
        return ft_error_set(err, FT_ENOMEM, "out of memory parsing the query");
    }
    *out = q;
    return FT_OK;
}

void ft_query_free(ft_query *q)
{
    if (!q) return;
    for (size_t i = 0; i < q->n; i++) free(q->terms[i].t);
    free(q->terms);
    free(q);
}

size_t ft_query_term_count(const ft_query *q) { return q->n; }

const char *ft_query_term(const ft_query *q, size_t i, size_t *len, unsigned *qtf)
{
    if (i >= q->n) return NULL;
    if (len) *len = q->terms[i].len;
    if (qtf) *qtf = q->terms[i].qtf;
    return q->terms[i].t;
}

/* ------------------------------------------------------------------ top-k heap */

typedef struct topk {
    ft_hit *h;
    size_t n, k;
} topk;

/* a is worse than b */
static int worse(const ft_hit *a, const ft_hit *b)
{
    return a->score < b->score || (a->score == b->score && a->doc > b->doc);
}

static void heap_push(topk *t, uint32_t doc, double score)
{
    ft_hit x = {doc, score};
    if (t->n < t->k) {
        size_t i = t->n++;
        while (i > 0) {
            size_t parent = (i - 1) / 2;
            if (!worse(&x, &t->h[parent])) break;
            t->h[i] = t->h[parent];
            i = parent;
        }
        t->h[i] = x;
        return;
    }
    if (!worse(&t->h[0], &x)) return;
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        const ft_hit *cur = (m == i) ? &x : &t->h[m];
        if (l < t->n && worse(&t->h[l], cur)) { m = l; cur = &t->h[l]; }
        if (r < t->n && worse(&t->h[r], cur)) m = r;
        if (m == i) break;
        t->h[i] = t->h[m];
        i = m;
    }
    t->h[i] = x;
}

static int cmp_hits(const void *a, const void *b)
{
    const ft_hit *x = a, *y = b;
    if (x->score != y->score) return x->score > y->score ? -1 : 1;
    return x->doc < y->doc ? -1 : x->doc > y->doc;
}

/* ------------------------------------------------------------------ search */

typedef struct qcur {
    ft_postings *p;
    double w;        /* qtf * idf * (k1 + 1) */
    uint32_t df;
} qcur;

static int cmp_df(const void *a, const void *b)
{
    const qcur *x = a, *y = b;
    return x->df < y->df ? -1 : x->df > y->df;
}

void ft_results_free(ft_results *r)
{
    if (!r) return;
    free(r->hits);
    r->hits = NULL;
    r->n = 0;
}

int ft_search(const ft_index *ix, const ft_query *q, const ft_search_opts *o, ft_results *out, ft_error *err)
{
    memset(out, 0, sizeof *out);
    ft_search_opts def;
    if (!o) {
        ft_search_opts_default(&def);
        o = &def;
    }
    if (o->k == 0) return ft_error_set(err, FT_EINVAL, "k must be at least 1");
    if (!(o->k1 >= 0) || !(o->b >= 0 && o->b <= 1))
        return ft_error_set(err, FT_EINVAL, "BM25 parameters out of range (k1 >= 0, 0 <= b <= 1)");
    int rc = FT_OK;
    size_t nc = 0;
    qcur *c = calloc(q->n ? q->n : 1, sizeof *c);
    topk t = {NULL, 0, o->k};
    double *kt = NULL;
    t.h = malloc(((size_t)o->k < 1024 ? o->k : 1024) * sizeof *t.h);
    if (!c || !t.h) { rc = ft_error_set(err, FT_ENOMEM, "out of memory"); goto out; }
    if (o->k > 1024) {
        size_t cap = o->k;
        if (cap > (size_t)ft_index_doc_count(ix)) cap = ft_index_doc_count(ix) ? ft_index_doc_count(ix) : 1;
        ft_hit *h = realloc(t.h, cap * sizeof *h);
        if (!h) { rc = ft_error_set(err, FT_ENOMEM, "out of memory"); goto out; }
        t.h = h;
        if (t.k > cap) t.k = cap;
    }
    const double N = ft_index_doc_count(ix);
    const double avgdl = ft_index_avgdl(ix) > 0 ? ft_index_avgdl(ix) : 1.0;
    for (size_t i = 0; i < q->n; i++) {
        ft_postings *p;
        if ((rc = ft_postings_open(ix, q->terms[i].t, q->terms[i].len, &p, err))) goto out;
        uint32_t df = ft_postings_df(p);
        if (df == 0) {
            ft_postings_close(p);
            if (o->all) goto out; /* a missing term: nothing matches every word */
            continue;
        }
        double idf = log(1.0 + (N - df + 0.5) / (df + 0.5));
        c[nc++] = (qcur){p, q->terms[i].qtf * idf * (o->k1 + 1.0), df};
    }
    if (nc == 0) goto out;
    qsort(c, nc, sizeof *c, cmp_df);
    /* K per document length would be a table; lengths vary too much, so compute */
    const double k1 = o->k1, b1 = o->k1 * (1.0 - o->b), bk = o->k1 * o->b / avgdl;
    (void)k1;
    uint64_t matches = 0;
    if (o->all) {
        uint32_t d = ft_postings_next(c[0].p);
        while (d != FT_DOC_END) {
            size_t i;
            for (i = 1; i < nc; i++) {
                uint32_t x = ft_postings_advance(c[i].p, d);
                if (x != d) {
                    d = (x == FT_DOC_END) ? FT_DOC_END : ft_postings_advance(c[0].p, x);
                    break;
                }
            }
            if (d == FT_DOC_END) break;
            if (i < nc) continue;
            double K = b1 + bk * ft_index_doc_length(ix, d), s = 0;
            for (i = 0; i < nc; i++) {
                double tf = ft_postings_tf(c[i].p);
                s += c[i].w * tf / (tf + K);
            }
            matches++;
            heap_push(&t, d, s);
            d = ft_postings_next(c[0].p);
        }
    } else {
        for (size_t i = 0; i < nc; i++) ft_postings_next(c[i].p);
        for (;;) {
            uint32_t d = FT_DOC_END;
            for (size_t i = 0; i < nc; i++) {
                uint32_t x = ft_postings_doc(c[i].p);
                if (x < d) d = x;
            }
            if (d == FT_DOC_END) break;
            double K = b1 + bk * ft_index_doc_length(ix, d), s = 0;
            for (size_t i = 0; i < nc; i++) {
                if (ft_postings_doc(c[i].p) != d) continue;
                double tf = ft_postings_tf(c[i].p);
                s += c[i].w * tf / (tf + K);
                ft_postings_next(c[i].p);
            }
            matches++;
            heap_push(&t, d, s);
        }
    }
    for (size_t i = 0; i < nc; i++)
        if ((rc = ft_postings_status(c[i].p, err))) goto out;
    qsort(t.h, t.n, sizeof *t.h, cmp_hits);
    out->hits = t.h;
    out->n = t.n;
    out->matches = matches;
    t.h = NULL;
out:
    for (size_t i = 0; i < nc; i++) ft_postings_close(c[i].p);
    free(c);
    free(t.h);
    free(kt);
    return rc;
}

/* ------------------------------------------------------------------ snippets */

typedef struct stok {
    size_t start, end;
    int term; /* index of the matched query term or -1 */
} stok;

typedef struct snip_ctx {
    const ft_query *q;
    stok *t;
    size_t n, cap;
} snip_ctx;

static int on_snip_token(void *ctx, const ft_token *tok)
{
    snip_ctx *s = ctx;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 256;
        stok *p = realloc(s->t, cap * sizeof *p);
        if (!p) return FT_ENOMEM;
        s->t = p;
        s->cap = cap;
    }
    int m = -1;
    for (size_t i = 0; i < s->q->n; i++)
        if (s->q->terms[i].len == tok->len && !memcmp(s->q->terms[i].t, tok->term, tok->len)) {
            m = (int)i;
            break;
        }
    s->t[s->n++] = (stok){tok->start, tok->end, m};
    return 0;
}

/* Append text with whitespace runs collapsed to one space. */
static void put_clean(ft_buf *b, const char *s, size_t n, int *space)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f' || c == '\v' || c < 0x20) {
            if (!*space) ft_buf_put_u8(b, ' ');
            *space = 1;
        } else {
            ft_buf_put_u8(b, c);
            *space = 0;
        }
    }
}

int ft_snippet(const ft_index *ix, ft_analyzer *an, const ft_query *q, uint32_t doc,
               const ft_snippet_opts *o, char **out, ft_error *err)
{
    *out = NULL;
    unsigned W = o && o->max_words ? o->max_words : 30;
    const char *ho = o && o->hl_open ? o->hl_open : "[";
    const char *hc = o && o->hl_close ? o->hl_close : "]";
    ft_docbuf *db = ft_docbuf_new();
    if (!db) return ft_error_set(err, FT_ENOMEM, "out of memory");
    ft_doc d;
    int rc = ft_index_doc(ix, doc, db, &d, err);
    if (rc) {
        ft_docbuf_free(db);
        return rc;
    }
    size_t blen = d.body_len < SNIPPET_SCAN_MAX ? d.body_len : SNIPPET_SCAN_MAX;
    snip_ctx s = {q, NULL, 0, 0};
    unsigned *cnt = calloc(q->n ? q->n : 1, sizeof *cnt);
    ft_buf b;
    ft_buf_init(&b);
    if (!cnt || ft_analyze(an, d.body, blen, 0, on_snip_token, &s, NULL)) {
        rc = ft_error_set(err, FT_ENOMEM, "out of memory");
        goto out;
    }
    /* best window: most distinct terms, then most matches; earliest on ties */
    size_t best = 0, bestd = 0, bestm = 0, distinct = 0, m = 0;
    for (size_t i = 0; i < s.n; i++) {
        if (s.t[i].term >= 0) {
            if (cnt[s.t[i].term]++ == 0) distinct++;
            m++;
        }
        if (i >= W) {
            int old = s.t[i - W].term;
            if (old >= 0) {
                if (--cnt[old] == 0) distinct--;
                m--;
            }
        }
        size_t start = i + 1 >= W ? i + 1 - W : 0;
        if (distinct > bestd || (distinct == bestd && m > bestm)) {
            bestd = distinct;
            bestm = m;
            best = start;
        }
    }
    if (s.n > 0) {
        size_t ws = best, we = best + W < s.n ? best + W : s.n; /* [ws, we) */
        /* center a lone match a little: show some words before it */
        if (bestd > 0 && ws == best) {
            size_t first = ws;
            while (first < we && s.t[first].term < 0) first++;
            size_t lead = W / 4;
            if (first > ws + lead) {
                size_t shift = first - ws - lead;
                ws += shift;
                we = ws + W < s.n ? ws + W : s.n;
            }
        }
        int space = 1;
        if (ws > 0) ft_buf_append(&b, "...", 3);
        size_t at = s.t[ws].start;
        for (size_t i = ws; i < we; i++) {
            put_clean(&b, d.body + at, s.t[i].start - at, &space);
            if (s.t[i].term >= 0) ft_buf_append(&b, ho, strlen(ho));
            put_clean(&b, d.body + s.t[i].start, s.t[i].end - s.t[i].start, &space);
            if (s.t[i].term >= 0) ft_buf_append(&b, hc, strlen(hc));
            at = s.t[i].end;
        }
        if (we < s.n) ft_buf_append(&b, "...", 3);
    }
    ft_buf_put_u8(&b, 0);
    if (b.failed) {
        rc = ft_error_set(err, FT_ENOMEM, "out of memory");
        goto out;
    }
    *out = (char *)b.p;
    b.p = NULL;
out:
    ft_buf_free(&b);
    free(s.t);
    free(cnt);
    ft_docbuf_free(db);
    return rc;
}
