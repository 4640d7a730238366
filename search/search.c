/*
 * search.c — query evaluation (BM25, exact top-k with dynamic pruning),
 * explanations and snippets.
 *
 * A parsed query (query.c) becomes a tree of document-at-a-time iterators in
 * the manner of Lucene's scorers: term (a posting cursor), OR (sum of the
 * children on the current document), AND (leapfrog on ft_postings_advance,
 * which skips whole compressed blocks through the skip table), phrase (AND
 * plus a position check), required+optional (+a b), and exclusion (-c).
 * Every iterator knows an upper bound of its score, from the per-list
 * maximum tf and minimum document length and the per-block impacts stored in
 * the index (the (tf, length) pairs no other posting of the block beats; BM25
 * grows with tf and shrinks with length for any k1 >= 0, 0 <= b <= 1).
 *
 * Pruning (exact; --exhaustive turns it off):
 *  - a disjunction of terms (the usual any-word query) runs MaxScore: terms
 *    whose summed maxima cannot lift a document above the current k-th score
 *    are never iterated, only probed for candidates the others produced;
 *  - a conjunction of terms or a phrase runs block-max
 *    skipping: the blocks the next candidate would fall in are looked up in
 *    the skip tables alone, and whole runs of blocks whose summed impact
 *    bounds cannot beat the k-th score are passed over without being
 *    decoded; a phrase tests its two rarest terms' positions before moving
 *    the lists of its frequent words (while the heap is not full), a word
 *    repeated in it shares one cursor, and positions are checked only for
 *    documents whose score would enter the top k;
 *  - a single term skips blocks the same way and scores each block it reads
 *    whole, from the decoded arrays (run_term).
 * A document enters the top k only with a score strictly above the k-th
 * (ties go to the lower document number, which came first), so skipping
 * every document whose bound is at most the k-th score is exact.  Bounds are
 * inflated by 1e-9 relative against rounding, and scores are always summed
 * in the query's term order, so pruned and exhaustive runs give bit-identical
 * scores.
 *
 * Snippets: a window is W consecutive word positions, chosen from the
 * matches' positions alone.  ft_snipper reads the query terms' positions in
 * all the hits at once, so it knows the window before reading the body, and
 * analyzes only the window's words, from the stored mark before it (a byte
 * offset of a known position, docs/FORMAT.md); ft_snippet_text finds the
 * matches by analyzing the text (the two agree, tested).  When the caller
 * says snippets will follow (ft_search_opts.snippets), the pruned
 * strategies note for every hit they keep where each term's posting is
 * (ft_posting_loc: positions frame, block, occurrences before it), while the
 * cursors stand on it; the snipper then reads those positions directly
 * instead of opening cursors and decoding blocks to find the hits again
 * (a third of an all-words snippet's cost).  Other hits (--exhaustive, mixed
 * operators) are looked up (ft_postings_positions_of decodes only up to the
 * hit).
 *
 * BM25 per term: w * tf / (tf + K) with w = idf * (k1 + 1) and
 * K = k1 * (1 - b + b * dl / avgdl).  A phrase scores as the sum of its
 * terms (Xapian's convention); a prefix* as the sum of the expanded terms
 * present; excluded terms do not score.
 */
#include "ft_search_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A snippet's window is looked for in the body's first 64 KiB, and the
 * text's scan stops a window's length after the first window holding every
 * query term (no later window can hold more): snippets of long documents
 * cost what short ones do. */
#define SNIPPET_SCAN_MAX (1u << 16)
#define SNIP_STOP 1 /* on_snip_token: enough read (not an error) */
#define BOUND_SLACK 1e-9

void ft_search_opts_default(ft_search_opts *o)
{
    memset(o, 0, sizeof *o);
    o->k1 = 1.2;
    o->b = 0.75;
    o->k = 10;
}

/* ------------------------------------------------------------------ iterators */

typedef enum itkind { IT_TERM, IT_OR, IT_AND, IT_PHRASE, IT_REQOPT, IT_EXCL, IT_SYN, IT_FIELD } itkind;

typedef struct it {
    itkind kind;
    uint32_t doc;
    int started;
    double maxs;            /* upper bound of score() */
    /* IT_TERM */
    ft_postings *p;
    int shares_p;           /* p belongs to another term of the same phrase */
    uint32_t blast;         /* last document of the block bval bounds (FT_DOC_END: none);
                             * within one list no two blocks end on the same document */
    double bval;
    double w, idf;
    uint32_t df;
    const char *term;
    size_t tlen;
    /* composites */
    struct it **kids;
    size_t nkids;
    size_t lead;            /* IT_AND / IT_PHRASE: the rarest child */
    /* IT_PHRASE */
    uint32_t *offs;
    unsigned slop;
    /* IT_FIELD: the query node whose terms must be in the title */
    const qnode *qn;
    struct sctx *c;
} it;

typedef struct sctx {
    const ft_index *ix;
    ft_analyzer *an;        /* created on demand for title: checks */
    ft_docbuf *docbuf;
    const ft_search_opts *o;
    const uint32_t *lens;   /* document lengths */
    double N, avgdl, b1, bk;
    ft_error *err;
    int rc;
    char notice[256];
    int inexact;            /* pruning skipped documents without knowing if they match */
    char **owned;           /* expanded prefix terms */
    size_t nowned, owned_cap;
} sctx;

static void it_free(it *t)
{
    if (!t) return;
    if (!t->shares_p) ft_postings_close(t->p);
    for (size_t i = 0; i < t->nkids; i++) it_free(t->kids[i]);
    free(t->kids);
    free(t->offs);
    free(t);
}

static inline double kdoc(const sctx *c, uint32_t doc)
{
    return c->b1 + c->bk * c->lens[doc];
}

static uint32_t it_next(it *t);
static uint32_t it_advance(it *t, uint32_t target);

#define PHRASE_MAX_CHECK 64 /* longer phrases: only the first 64 terms are checked */

/* The first index >= j of pos[0..n) whose value is >= want (n if none):
 * galloping from j, then a binary search. */
static inline uint32_t gallop(const uint32_t *pos, uint32_t n, uint32_t j, uint64_t want)
{
    if (j >= n || pos[j] >= want) return j;
    uint32_t lo = j, step = 1; /* pos[lo] < want */
    while (lo + step < n && pos[lo + step] < want) {
        lo += step;
        step *= 2;
    }
    uint32_t hi = lo + step < n ? lo + step : n; /* the answer is in (lo, hi] */
    lo++;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (pos[mid] < want) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

/* Do positions line up as a phrase?  pos[i] (np[i] of them, increasing) are
 * the positions of the i-th term, offs[i] its offset in the phrase (offs[0]
 * is 0); with slop 0 every term must be exactly at its offset, otherwise in
 * order within a window of offs[n-1] + slop positions.  An exact phrase is
 * driven by the term with the fewest positions in the document ("the" in
 * "the incredibles" has many), the others followed by galloping cursors. */
static int positions_match(const uint32_t *const *pos, const uint32_t *np, const uint32_t *offs, size_t n,
                           unsigned slop)
{
    if (slop == 0) {
        size_t r = 0, i;
        for (i = 1; i < n; i++)
            if (np[i] < np[r]) r = i;
        uint32_t at[PHRASE_MAX_CHECK];
        memset(at, 0, n * sizeof *at);
        for (uint32_t a = 0; a < np[r]; a++) {
            if (pos[r][a] < offs[r]) continue;
            uint64_t start = (uint64_t)pos[r][a] - offs[r];
            for (i = 0; i < n; i++) {
                if (i == r) continue;
                uint64_t want = start + offs[i];
                uint32_t j = at[i] = gallop(pos[i], np[i], at[i], want);
                if (j == np[i]) return 0; /* later starts want even larger positions */
                if (pos[i][j] != want) break;
            }
            if (i == n) return 1;
        }
        return 0;
    }
    uint32_t span = offs[n - 1] + slop;
    for (uint32_t a = 0; a < np[0]; a++) {
        uint32_t start = pos[0][a];
        uint64_t prev = start;
        size_t i;
        for (i = 1; i < n; i++) {
            uint32_t lo = 0, hi = np[i];
            while (lo < hi) {
                uint32_t mid = lo + (hi - lo) / 2;
                if (pos[i][mid] <= prev) lo = mid + 1;
                else hi = mid;
            }
            if (lo == np[i] || pos[i][lo] - (uint64_t)start > span) break;
            prev = pos[i][lo];
        }
        if (i == n) return 1;
    }
    return 0;
}

/* phrase: do the children's positions line up on the current document? */
/* The two rarest of an exact phrase's first terms (ties: the earlier). */
static void phrase_pair(const it *t, size_t n, size_t *pa, size_t *pb)
{
    size_t a = 0, b = 1;
    if (t->kids[b]->df < t->kids[a]->df) { a = 1; b = 0; }
    for (size_t i = 2; i < n; i++) {
        if (t->kids[i]->df < t->kids[a]->df) { b = a; a = i; }
        else if (t->kids[i]->df < t->kids[b]->df) b = i;
    }
    *pa = a;
    *pb = b;
}

/* Do terms a and b of the phrase stand at their offsets from one another
 * somewhere in the current document?  (The positions of frequent words are
 * the costly ones to decode: the rarest pair is tested first.) */
static int pair_match(it *t, size_t a, size_t b)
{
    const uint32_t *pa, *pb;
    uint32_t na, nb;
    if (ft_postings_positions(t->kids[a]->p, &pa, &na) || na == 0 ||
        ft_postings_positions(t->kids[b]->p, &pb, &nb) || nb == 0)
        return 0;
    int64_t da = t->offs[a], db = t->offs[b];
    uint32_t i = 0, j = 0;
    while (i < na && j < nb) {
        int64_t x = (int64_t)pa[i] - da, y = (int64_t)pb[j] - db;
        if (x == y) return 1;
        if (x < y) i++;
        else j++;
    }
    return 0;
}

/* pair_done: the caller has already tested the rarest pair. */
static int phrase_match_from(it *t, int pair_done)
{
    size_t n = t->nkids < PHRASE_MAX_CHECK ? t->nkids : PHRASE_MAX_CHECK;
    const uint32_t *pos[PHRASE_MAX_CHECK];
    uint32_t np[PHRASE_MAX_CHECK];
    if (t->slop == 0 && n > 2 && !pair_done) {
        size_t a, b;
        phrase_pair(t, n, &a, &b);
        if (!pair_match(t, a, b)) return 0;
    }
    for (size_t i = 0; i < n; i++)
        if (ft_postings_positions(t->kids[i]->p, &pos[i], &np[i]) || np[i] == 0) return 0;
    return positions_match(pos, np, t->offs, n, t->slop);
}

static int phrase_match(it *t) { return phrase_match_from(t, 0); }

/* title: restriction — the document's stored title, analyzed like the
 * index, must hold the term (or the phrase).  Reading the stored title costs
 * a store-block decompression per candidate (cached for neighbours), so
 * title: on a very frequent word is slower than a plain word. */
typedef struct title_toks {
    const qnode *qn;
    uint32_t *pos[PHRASE_MAX_CHECK];
    uint32_t np[PHRASE_MAX_CHECK], cap[PHRASE_MAX_CHECK];
    int oom;
} title_toks;

static int on_title_tok(void *arg, const ft_token *tok)
{
    title_toks *tt = arg;
    const qnode *qn = tt->qn;
    size_t n = qn->nterms < PHRASE_MAX_CHECK ? qn->nterms : PHRASE_MAX_CHECK;
    for (size_t i = 0; i < n; i++) {
        if (qn->lens[i] != tok->len || memcmp(qn->terms[i], tok->term, tok->len)) continue;
        if (tt->np[i] == tt->cap[i]) {
            uint32_t cap = tt->cap[i] ? tt->cap[i] * 2 : 8;
            uint32_t *v = realloc(tt->pos[i], cap * sizeof *v);
            if (!v) {
                tt->oom = 1;
                return 1;
            }
            tt->pos[i] = v;
            tt->cap[i] = cap;
        }
        tt->pos[i][tt->np[i]++] = tok->pos;
    }
    return 0;
}

static int title_match(it *t, uint32_t doc)
{
    struct sctx *c = t->c;
    ft_error e;
    if (!c->an && ft_analyzer_new(ft_index_analyzer_opts(c->ix), &c->an, &e)) {
        c->rc = e.code;
        if (c->err) *c->err = e;
        return 0;
    }
    if (!c->docbuf && !(c->docbuf = ft_docbuf_new())) {
        c->rc = ft_error_set(c->err, FT_ENOMEM, "out of memory");
        return 0;
    }
    ft_doc d;
    int rc = ft_index_doc(c->ix, doc, c->docbuf, &d, &e);
    if (rc) {
        if (!c->rc) {
            c->rc = rc;
            if (c->err) *c->err = e;
        }
        return 0;
    }
    title_toks tt;
    memset(&tt, 0, sizeof tt);
    tt.qn = t->qn;
    ft_analyze(c->an, d.title, d.title_len, 0, on_title_tok, &tt, NULL);
    size_t n = t->qn->nterms < PHRASE_MAX_CHECK ? t->qn->nterms : PHRASE_MAX_CHECK;
    int ok = !tt.oom;
    for (size_t i = 0; ok && i < n; i++)
        if (tt.np[i] == 0) ok = 0;
    if (ok && n > 1)
        ok = positions_match((const uint32_t *const *)tt.pos, tt.np, t->qn->offs, n, t->qn->slop);
    for (size_t i = 0; i < n; i++) free(tt.pos[i]);
    if (tt.oom && !c->rc) c->rc = ft_error_set(c->err, FT_ENOMEM, "out of memory");
    return ok;
}

static uint32_t field_find(it *t, uint32_t d)
{
    while (d != FT_DOC_END && !t->c->rc && !title_match(t, d)) d = it_next(t->kids[0]);
    if (t->c->rc) d = FT_DOC_END;
    return t->doc = d;
}

/* AND / PHRASE: bring every child to the same document >= d. */
static uint32_t align(it *t, uint32_t d)
{
    for (;;) {
        if (d == FT_DOC_END) return t->doc = FT_DOC_END;
        size_t i;
        for (i = 0; i < t->nkids; i++) {
            uint32_t x = it_advance(t->kids[i], d);
            if (x != d) {
                d = x;
                break;
            }
        }
        if (i == t->nkids) {
            if (t->kind == IT_PHRASE && !phrase_match(t)) {
                d = it_next(t->kids[t->lead]);
                continue;
            }
            return t->doc = d;
        }
    }
}

static uint32_t or_min(it *t)
{
    uint32_t d = FT_DOC_END;
    for (size_t i = 0; i < t->nkids; i++)
        if (t->kids[i]->doc < d) d = t->kids[i]->doc;
    return t->doc = d;
}

static uint32_t excl_find(it *t, uint32_t d)
{
    it *pos = t->kids[0], *ex = t->kids[1];
    while (d != FT_DOC_END) {
        uint32_t x = (ex->started && ex->doc >= d) ? ex->doc : it_advance(ex, d);
        if (x != d) break;
        d = it_next(pos);
    }
    return t->doc = d;
}

static uint32_t it_next(it *t)
{
    if (t->started && t->doc == FT_DOC_END) return FT_DOC_END;
    int first = !t->started;
    t->started = 1;
    switch (t->kind) {
    case IT_TERM:
        return t->doc = ft_postings_next(t->p);
    case IT_OR:
    case IT_SYN:
        for (size_t i = 0; i < t->nkids; i++)
            if (first || t->kids[i]->doc == t->doc) it_next(t->kids[i]);
        return or_min(t);
    case IT_AND:
    case IT_PHRASE:
        return align(t, it_next(t->kids[t->lead]));
    case IT_REQOPT:
        return t->doc = it_next(t->kids[0]);
    case IT_EXCL:
        return excl_find(t, it_next(t->kids[0]));
    case IT_FIELD:
        return field_find(t, it_next(t->kids[0]));
    }
    return FT_DOC_END;
}

static uint32_t it_advance(it *t, uint32_t target)
{
    if (t->started && (t->doc == FT_DOC_END || t->doc >= target)) return t->doc;
    t->started = 1;
    switch (t->kind) {
    case IT_TERM:
        return t->doc = ft_postings_advance(t->p, target);
    case IT_OR:
    case IT_SYN:
        for (size_t i = 0; i < t->nkids; i++)
            if (!t->kids[i]->started || t->kids[i]->doc < target) it_advance(t->kids[i], target);
        return or_min(t);
    case IT_AND:
    case IT_PHRASE:
        return align(t, it_advance(t->kids[t->lead], target));
    case IT_REQOPT:
        return t->doc = it_advance(t->kids[0], target);
    case IT_EXCL:
        return excl_find(t, it_advance(t->kids[0], target));
    case IT_FIELD:
        return field_find(t, it_advance(t->kids[0], target));
    }
    return FT_DOC_END;
}

/* A synonym group (prefix*): one pseudo-term whose tf is the sum of the
 * expansions' tfs on the document. */
static double syn_tf(const it *t)
{
    double tf = 0;
    for (size_t i = 0; i < t->nkids; i++)
        if (t->kids[i]->doc == t->doc) tf += ft_postings_tf(t->kids[i]->p);
    return tf;
}

/* Score at the current document; K is the document's BM25 length factor. */
static double it_score(it *t, double K)
{
    switch (t->kind) {
    case IT_TERM: {
        double tf = ft_postings_tf(t->p);
        return t->w * tf / (tf + K);
    }
    case IT_OR: {
        double s = 0;
        for (size_t i = 0; i < t->nkids; i++)
            if (t->kids[i]->doc == t->doc) s += it_score(t->kids[i], K);
        return s;
    }
    case IT_AND:
    case IT_PHRASE: {
        double s = 0;
        for (size_t i = 0; i < t->nkids; i++) s += it_score(t->kids[i], K);
        return s;
    }
    case IT_REQOPT: {
        double s = it_score(t->kids[0], K);
        it *opt = t->kids[1];
        if (!opt->started || opt->doc < t->doc) it_advance(opt, t->doc);
        if (opt->doc == t->doc) s += it_score(opt, K);
        return s;
    }
    case IT_EXCL:
    case IT_FIELD:
        return it_score(t->kids[0], K);
    case IT_SYN: {
        double tf = syn_tf(t);
        return t->w * tf / (tf + K);
    }
    }
    return 0;
}

/* ------------------------------------------------------------------ building */

static it *new_it(sctx *c, itkind k)
{
    it *t = calloc(1, sizeof *t);
    if (!t && !c->rc) c->rc = ft_error_set(c->err, FT_ENOMEM, "out of memory");
    if (t) t->kind = k;
    return t;
}

/* The largest BM25 contribution of a block's impacts (ft_impact). */
static double impact_bound(const sctx *c, double w, const ft_impact *imp, unsigned n)
{
    double best = 0;
    for (unsigned k = 0; k < n; k++) {
        double tf = imp[k].tf, v = tf / (tf + c->b1 + c->bk * imp[k].len);
        if (v > best) best = v;
    }
    return w * best;
}

static double term_bound(const sctx *c, double w, uint32_t max_tf, uint32_t min_len)
{
    if (max_tf == 0) return 0;
    double K = c->b1 + c->bk * min_len;
    return w * max_tf / (max_tf + K);
}

/* A term iterator, or NULL when the term is absent (or on error: c->rc). */
static it *term_it(sctx *c, const char *term, size_t len)
{
    ft_postings *p;
    int rc = ft_postings_open(c->ix, term, len, &p, c->err);
    if (rc) {
        c->rc = rc;
        return NULL;
    }
    uint32_t df = ft_postings_df(p);
    if (df == 0) {
        ft_postings_close(p);
        return NULL;
    }
    it *t = new_it(c, IT_TERM);
    if (!t) {
        ft_postings_close(p);
        return NULL;
    }
    t->p = p;
    t->blast = FT_DOC_END;
    t->df = df;
    t->idf = log(1.0 + (c->N - df + 0.5) / (df + 0.5));
    t->w = t->idf * (c->o->k1 + 1.0);
    t->term = term;
    t->tlen = len;
    uint32_t mt, ml;
    ft_postings_list_info(p, &mt, &ml);
    t->maxs = term_bound(c, t->w, mt, ml);
    return t;
}

static it *composite(sctx *c, itkind k, it **kids, size_t n)
{
    if (n == 0) {
        free(kids);
        return NULL;
    }
    if (n == 1 && (k == IT_OR || k == IT_AND)) {
        it *one = kids[0];
        free(kids);
        return one;
    }
    it *t = new_it(c, k);
    if (!t) {
        for (size_t i = 0; i < n; i++) it_free(kids[i]);
        free(kids);
        return NULL;
    }
    t->kids = kids;
    t->nkids = n;
    double m = 0;
    uint32_t best = UINT32_MAX;
    for (size_t i = 0; i < n; i++) {
        m += kids[i]->maxs;
        uint32_t cost = kids[i]->kind == IT_TERM ? kids[i]->df : UINT32_MAX - 1;
        if (cost < best) {
            best = cost;
            t->lead = i;
        }
    }
    t->maxs = m;
    return t;
}

typedef struct itlist {
    it **v;
    size_t n, cap;
} itlist;

static int push(sctx *c, itlist *l, it *t)
{
    if (!t) return 0;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 4;
        it **v = realloc(l->v, cap * sizeof *v);
        if (!v) {
            it_free(t);
            return c->rc = ft_error_set(c->err, FT_ENOMEM, "out of memory");
        }
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = t;
    return 0;
}

static void list_free(itlist *l)
{
    for (size_t i = 0; i < l->n; i++) it_free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

typedef struct prefix_ctx {
    sctx *c;
    itlist *l;
    size_t count;
    int capped;
} prefix_ctx;

static int on_prefix_term(void *pc_, const char *term, size_t len, uint32_t df)
{
    prefix_ctx *pc = pc_;
    sctx *c = pc->c;
    if (pc->count >= FT_PREFIX_MAX) {
        pc->capped = 1;
        return 1;
    }
    pc->count++;
    if (c->nowned == c->owned_cap) {
        size_t cap = c->owned_cap ? c->owned_cap * 2 : 16;
        char **o = realloc(c->owned, cap * sizeof *o);
        if (!o) { c->rc = ft_error_set(c->err, FT_ENOMEM, "out of memory"); return 1; }
        c->owned = o;
        c->owned_cap = cap;
    }
    char *s = malloc(len + 1);
    if (!s) { c->rc = ft_error_set(c->err, FT_ENOMEM, "out of memory"); return 1; }
    memcpy(s, term, len);
    s[len] = 0;
    c->owned[c->nowned++] = s;
    (void)df;
    it *t = term_it(c, s, len);
    if (c->rc) return 1;
    return push(c, pc->l, t) ? 1 : 0;
}

static it *build_node(sctx *c, const qnode *n);

static it *build(sctx *c, const qnode *n)
{
    it *t = build_node(c, n);
    if (!t || !n || !n->field || (n->kind != Q_TERM && n->kind != Q_PHRASE)) return t;
    it **one = malloc(sizeof *one);
    it *f = one ? new_it(c, IT_FIELD) : NULL;
    if (!one || !f) {
        free(one);
        it_free(t);
        if (!c->rc) c->rc = ft_error_set(c->err, FT_ENOMEM, "out of memory");
        return NULL;
    }
    one[0] = t;
    f->kids = one;
    f->nkids = 1;
    f->maxs = t->maxs;
    f->qn = n;
    f->c = c;
    return f;
}

static it *build_node(sctx *c, const qnode *n)
{
    if (!n || c->rc) return NULL;
    switch (n->kind) {
    case Q_TERM:
        return term_it(c, n->terms[0], n->lens[0]);
    case Q_PHRASE: {
        it **kids = calloc(n->nterms, sizeof *kids);
        uint32_t *offs = malloc(n->nterms * sizeof *offs);
        if (!kids || !offs) {
            free(kids);
            free(offs);
            c->rc = ft_error_set(c->err, FT_ENOMEM, "out of memory");
            return NULL;
        }
        for (size_t i = 0; i < n->nterms; i++) {
            /* a word repeated in the phrase ("to be or not to be") reads the
             * same cursor as its first occurrence: one list decoded, not two */
            size_t f = 0;
            while (f < i && !(n->lens[f] == n->lens[i] && !memcmp(n->terms[f], n->terms[i], n->lens[i]))) f++;
            if (f < i) {
                if ((kids[i] = new_it(c, IT_TERM))) {
                    *kids[i] = *kids[f];
                    kids[i]->shares_p = 1;
                }
            } else {
                kids[i] = term_it(c, n->terms[i], n->lens[i]);
            }
            offs[i] = n->offs[i];
            if (!kids[i]) { /* a phrase with an absent term matches nothing */
                for (size_t j = 0; j < i; j++) it_free(kids[j]);
                free(kids);
                free(offs);
                return NULL;
            }
        }
        it *t = composite(c, IT_PHRASE, kids, n->nterms);
        if (t) {
            t->offs = offs;
            t->slop = n->slop;
        } else {
            free(offs);
        }
        return t;
    }
    case Q_PREFIX: {
        itlist l = {0};
        prefix_ctx pc = {c, &l, 0, 0};
        int rc = ft_index_terms_prefix(c->ix, n->terms[0], n->lens[0], on_prefix_term, &pc, c->err);
        if (rc && !c->rc) c->rc = rc;
        if (c->rc) {
            list_free(&l);
            return NULL;
        }
        if (pc.capped && !c->notice[0])
            snprintf(c->notice, sizeof c->notice,
                     "'%.64s*' matches more than %d terms; only the first %d (in term order) were searched",
                     n->terms[0], FT_PREFIX_MAX, FT_PREFIX_MAX);
        if (l.n <= 1) return composite(c, IT_OR, l.v, l.n);
        /* one pseudo-term (Xapian's OP_SYNONYM): tf summed over the
         * expansions, idf of the most frequent expansion (a lower bound of
         * the idf of their union), so a document is not rewarded for holding
         * many different words that share the prefix */
        it *syn = composite(c, IT_SYN, l.v, l.n);
        if (!syn) return NULL;
        uint32_t df = 0, sum_tf = 0;
        for (size_t i = 0; i < syn->nkids; i++) {
            uint32_t mt, ml;
            if (syn->kids[i]->df > df) df = syn->kids[i]->df;
            ft_postings_list_info(syn->kids[i]->p, &mt, &ml);
            sum_tf = sum_tf + mt < sum_tf ? UINT32_MAX : sum_tf + mt;
        }
        syn->df = df;
        syn->idf = log(1.0 + (c->N - df + 0.5) / (df + 0.5));
        syn->w = syn->idf * (c->o->k1 + 1.0);
        syn->term = n->terms[0];
        syn->tlen = n->lens[0];
        syn->maxs = term_bound(c, syn->w, sum_tf, 0);
        return syn;
    }
    case Q_BOOL: {
        itlist must = {0}, should = {0}, not = {0};
        int must_missing = 0;
        for (size_t i = 0; i < n->nkids && !c->rc; i++) {
            occur o = n->occ[i];
            if (o == OCC_SHOULD && n->slop && c->o->all) o = OCC_MUST; /* implicit AND (--all) */
            it *k = build(c, n->kids[i]);
            if (o == OCC_MUST && !k) must_missing = 1;
            push(c, o == OCC_MUST ? &must : o == OCC_SHOULD ? &should : &not, k);
        }
        if (c->rc || must_missing) {
            list_free(&must);
            list_free(&should);
            list_free(&not);
            return NULL;
        }
        it *pos;
        if (must.n) {
            pos = composite(c, IT_AND, must.v, must.n);
            if (should.n) {
                it *opt = composite(c, IT_OR, should.v, should.n);
                it **two = malloc(2 * sizeof *two);
                if (!two || !pos || !opt) {
                    free(two);
                    it_free(pos);
                    it_free(opt);
                    list_free(&not);
                    if (!c->rc) c->rc = ft_error_set(c->err, FT_ENOMEM, "out of memory");
                    return NULL;
                }
                two[0] = pos;
                two[1] = opt;
                pos = composite(c, IT_REQOPT, two, 2);
            }
        } else if (should.n) {
            pos = composite(c, IT_OR, should.v, should.n);
        } else {
            /* only exclusions: nothing positive to match */
            if (not.n && !c->notice[0])
                snprintf(c->notice, sizeof c->notice,
                         "a query of only excluded terms matches nothing; add a term to search for");
            list_free(&not);
            return NULL;
        }
        if (pos && not.n) {
            it *ex = composite(c, IT_OR, not.v, not.n);
            it **two = malloc(2 * sizeof *two);
            if (!two || !ex) {
                free(two);
                it_free(pos);
                it_free(ex);
                if (!c->rc) c->rc = ft_error_set(c->err, FT_ENOMEM, "out of memory");
                return NULL;
            }
            two[0] = pos;
            two[1] = ex;
            it *t = composite(c, IT_EXCL, two, 2);
            if (t) t->maxs = pos->maxs;
            return t;
        }
        list_free(&not);
        return pos;
    }
    }
    return NULL;
}

/* ------------------------------------------------------------------ top-k heap */

typedef struct topk {
    ft_hit *h;
    size_t n, k;
    /* with locators (ft_search_opts.snippets, a conjunction of terms): the
     * row of loc, nloc wide, holding where h[i]'s postings are */
    uint32_t *slot;
    ft_posting_loc *loc;
    size_t nloc;
} topk;

/* a is worse than b */
static int worse(const ft_hit *a, const ft_hit *b)
{
    return a->score < b->score || (a->score == b->score && a->doc > b->doc);
}

/* Push a hit; with locators, the row of loc it takes (a new one, or the one
 * of the hit it evicts), else 0; -1 when it does not enter. */
static long heap_push(topk *t, uint32_t doc, double score)
{
    ft_hit x = {doc, score};
    uint32_t *sl = t->slot, xs;
    if (t->n < t->k) {
        size_t i = t->n++;
        xs = (uint32_t)i;
        while (i > 0) {
            size_t parent = (i - 1) / 2;
            if (!worse(&x, &t->h[parent])) break;
            t->h[i] = t->h[parent];
            if (sl) sl[i] = sl[parent];
            i = parent;
        }
        t->h[i] = x;
        if (sl) sl[i] = xs;
        return sl ? (long)xs : 0;
    }
    if (!worse(&t->h[0], &x)) return -1;
    xs = sl ? sl[0] : 0;
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        const ft_hit *cur = &x;
        if (l < t->n && worse(&t->h[l], cur)) { m = l; cur = &t->h[l]; }
        if (r < t->n && worse(&t->h[r], cur)) m = r;
        if (m == i) break;
        t->h[i] = t->h[m];
        if (sl) sl[i] = sl[m];
        i = m;
    }
    t->h[i] = x;
    if (sl) sl[i] = xs;
    return (long)xs;
}

/* With locators, note in row (heap_push's) where the postings of hit d are:
 * the kids standing on d hold it, the others do not (no positions). */
static void note_postings(topk *t, long row, it **kids, size_t n, uint32_t d)
{
    if (row < 0 || !t->loc) return;
    ft_posting_loc *l = &t->loc[(size_t)row * n];
    for (size_t i = 0; i < n; i++)
        if (kids[i]->doc == d) ft_postings_locate_(kids[i]->p, &l[i]);
        else memset(&l[i], 0, sizeof l[i]);
}

/* The score a document must beat, or -1 while the heap is not full. */
static inline double threshold(const topk *t) { return t->n < t->k ? -1.0 : t->h[0].score; }

static inline int cannot_enter(double bound, double theta)
{
    return theta >= 0 && bound * (1.0 + BOUND_SLACK) <= theta;
}

static int cmp_hits(const void *a, const void *b)
{
    const ft_hit *x = a, *y = b;
    if (x->score != y->score) return x->score > y->score ? -1 : 1;
    return x->doc < y->doc ? -1 : x->doc > y->doc;
}

/* ------------------------------------------------------------------ strategies */

static uint64_t run_exhaustive(sctx *c, it *root, topk *t)
{
    uint64_t matches = 0;
    for (uint32_t d = it_next(root); d != FT_DOC_END; d = it_next(root)) {
        matches++;
        heap_push(t, d, it_score(root, kdoc(c, d)));
    }
    return matches;
}

static int cmp_maxs(const void *a, const void *b)
{
    const it *x = *(it *const *)a, *y = *(it *const *)b;
    return x->maxs < y->maxs ? -1 : x->maxs > y->maxs;
}

/* MaxScore over a disjunction of terms (root->kids all IT_TERM). */
static uint64_t run_maxscore(sctx *c, it *root, topk *t)
{
    size_t n = root->nkids;
    it **kids = root->kids;
    it **ord = malloc(n * sizeof *ord);
    double *ub = malloc(n * sizeof *ub), *contrib = calloc(n, sizeof *contrib);
    size_t *idx = malloc(n * sizeof *idx);
    uint64_t matches = 0;
    if (!ord || !ub || !contrib || !idx) {
        c->rc = ft_error_set(c->err, FT_ENOMEM, "out of memory");
        goto out;
    }
    memcpy(ord, kids, n * sizeof *ord);
    qsort(ord, n, sizeof *ord, cmp_maxs);
    for (size_t j = 0; j < n; j++) {
        ub[j] = ord[j]->maxs + (j ? ub[j - 1] : 0);
        for (size_t i = 0; i < n; i++)
            if (kids[i] == ord[j]) idx[j] = i; /* canonical position of ord[j] */
    }
    for (size_t i = 0; i < n; i++) it_next(kids[i]);
    size_t ne = 0; /* ord[0..ne) are non-essential */
    double theta = -1;
    for (;;) {
        uint32_t d = FT_DOC_END;
        for (size_t j = ne; j < n; j++)
            if (ord[j]->doc < d) d = ord[j]->doc;
        if (d == FT_DOC_END) break;
        double K = kdoc(c, d), s = 0;
        for (size_t j = ne; j < n; j++) {
            if (ord[j]->doc == d) {
                double v = it_score(ord[j], K);
                contrib[idx[j]] = v;
                s += v;
            }
        }
        int skip = 0;
        for (size_t j = ne; j-- > 0;) {
            if (cannot_enter(s + ub[j], theta)) {
                skip = 1;
                c->inexact = 1;
                break;
            }
            if (ord[j]->doc < d) it_advance(ord[j], d);
            if (ord[j]->doc == d) {
                double v = it_score(ord[j], K);
                contrib[idx[j]] = v;
                s += v;
            }
        }
        if (!skip) {
            matches++;
            double total = 0; /* canonical order: the same sum as the exhaustive OR */
            if (!cannot_enter(s, theta)) {
                for (size_t i = 0; i < n; i++) total += contrib[i];
                note_postings(t, heap_push(t, d, total), kids, n, d); /* every kid is at d or past it */
            }
            double nt = threshold(t);
            if (nt != theta) {
                theta = nt;
                while (ne < n && cannot_enter(ub[ne], theta)) ne++;
                if (ne) c->inexact = 1; /* documents only in those lists go unseen */
            }
        }
        memset(contrib, 0, n * sizeof *contrib);
        for (size_t j = ne; j < n; j++)
            if (ord[j]->doc == d) it_next(ord[j]);
        /* non-essential cursors sitting on d also move on lazily via advance */
    }
out:
    free(ord);
    free(ub);
    free(contrib);
    free(idx);
    return matches;
}

/* Conjunction of terms or a phrase: block-max skipping.  Once the
 * heap is full, the blocks that would hold the next candidate are looked up
 * in the skip tables alone (ft_postings_shallow) and whole runs of blocks
 * whose summed bounds cannot enter are passed over without being decoded;
 * only then do the cursors move.  A phrase's positions are checked only for
 * documents that would enter the top k.  kids are the conjunction's terms,
 * lead the rarest. */
static uint64_t run_blockmax_and(sctx *c, it *root, it **kids, size_t n, size_t lead, topk *t)
{
    uint64_t matches = 0;
    int phrase = root->kind == IT_PHRASE;
    size_t pa = lead, pb = lead;
    int pair = phrase && root->slop == 0 && n > 2 && n <= PHRASE_MAX_CHECK;
    if (pair) phrase_pair(root, n, &pa, &pb);
    pair = pair && pa == lead;
    for (size_t i = 0; i < n; i++) {
        kids[i]->started = 1;
        kids[i]->doc = 0; /* below every target: the first alignment moves every cursor */
    }
    double theta = threshold(t);
    uint32_t d = 0;
    /* the window [d, upto]: every cursor's block holding its next document
     * >= d is the same throughout, and bound is the sum of their impacts */
    uint32_t upto = 0;
    double bound = 0;
    int window = 0;
    for (;;) {
        if (theta >= 0 && (!window || d > upto)) {
            for (;;) {
                bound = 0;
                upto = FT_DOC_END;
                for (size_t i = 0; i < n; i++) {
                    const ft_impact *imp;
                    unsigned ni;
                    uint32_t last = ft_postings_shallow(kids[i]->p, d, &imp, &ni);
                    if (last == FT_DOC_END) return matches; /* a list has nothing left */
                    if (last != kids[i]->blast) { /* a block not bounded yet */
                        kids[i]->blast = last;
                        kids[i]->bval = impact_bound(c, kids[i]->w, imp, ni);
                    }
                    bound += kids[i]->bval;
                    if (last < upto) upto = last;
                }
                if (!cannot_enter(bound, theta)) break;
                c->inexact = 1;
                d = upto + 1;
            }
            window = 1;
        }
        /* align every cursor on d, the lead first (for an exact phrase, the
         * rarest pair first: while the heap is not full every candidate's
         * positions are checked anyway, so the pair is tested before the
         * lists of the frequent words are moved) */
        uint32_t x = kids[lead]->doc = ft_postings_advance(kids[lead]->p, d);
        if (x == FT_DOC_END) break;
        d = x;
        /* the candidate's length is a cache miss (a random place in a
         * table of 4 bytes a document): let it overlap the other lists'
         * moves */
        __builtin_prefetch(&c->lens[d]);
        size_t i;
        int pair_done = 0;
        if (pair) {
            x = kids[pb]->doc;
            if (x <= d) x = kids[pb]->doc = ft_postings_advance(kids[pb]->p, d);
            if (x != d) {
                if (x == FT_DOC_END) break;
                d = x;
                continue;
            }
            if (theta < 0) {
                if (!pair_match(root, lead, pb)) { /* not a match */
                    if (d + 1 == FT_DOC_END) break;
                    d++;
                    continue;
                }
                pair_done = 1;
            }
        }
        for (i = 0; i < n; i++) {
            if (i == lead) continue;
            x = kids[i]->doc;
            if (x <= d) x = kids[i]->doc = ft_postings_advance(kids[i]->p, d);
            if (x != d) break;
        }
        if (i < n) {
            if (x == FT_DOC_END) break;
            d = x;
            continue;
        }
        double K = kdoc(c, d), s = 0;
        for (i = 0; i < n; i++) s += it_score(kids[i], K);
        if (!(theta >= 0 && s <= theta)) {
            root->doc = d;
            if (!phrase || phrase_match_from(root, pair_done)) {
                matches++;
                note_postings(t, heap_push(t, d, s), kids, n, d);
                theta = threshold(t);
                if (window && d <= upto && cannot_enter(bound, theta)) {
                    c->inexact = 1; /* the rest of the window cannot enter now */
                    d = upto;
                }
            }
        } else if (phrase) {
            c->inexact = 1; /* positions not checked: may or may not match */
        } else {
            matches++; /* every term is there: a match, just not a top-k one */
        }
        if (d + 1 == FT_DOC_END) break;
        d++;
    }
    return matches;
}

/* One term: block-max skipping as in run_blockmax_and, and every block that
 * may enter scored whole from its decoded arrays.  A frequent word's top k
 * reads most of its blocks (their bounds sit close to the threshold), and
 * moving a cursor posting by posting cost several times the scoring.  A
 * posting is scored only when a multiplication cannot rule it out, and then
 * exactly as it_score does, so the hits are those of the general loop. */
static uint64_t run_term(sctx *c, it *term, topk *t)
{
    uint64_t matches = 0;
    ft_postings *p = term->p;
    const double w = term->w;
    double theta = threshold(t);
    uint32_t d = 0;
    term->started = 1;
    for (;;) {
        double bound = -1;
        if (theta >= 0) {
            for (;;) {
                const ft_impact *imp;
                unsigned ni;
                uint32_t last = ft_postings_shallow(p, d, &imp, &ni);
                if (last == FT_DOC_END) return matches;
                bound = impact_bound(c, w, imp, ni);
                if (!cannot_enter(bound, theta)) break;
                c->inexact = 1;
                d = last + 1;
            }
        }
        if (ft_postings_advance(p, d) == FT_DOC_END) break;
        const uint32_t *docs, *tfs;
        const uint8_t *del;
        uint32_t n, base;
        if (ft_postings_block_(p, &docs, &tfs, &n, &base, &del) || n == 0) break; /* an error: tree_status */
        for (uint32_t k = 0; k < n; k++) {
            uint32_t local = docs[k];
            if (del && (del[local >> 3] >> (local & 7) & 1)) continue;
            matches++;
            double K = kdoc(c, base + local), tf = tfs[k];
            /* w tf / (tf + K) <= theta, with room for rounding */
            if (theta >= 0 && w * tf < theta * (tf + K) * (1.0 - BOUND_SLACK)) continue;
            double sc = w * tf / (tf + K);
            if (theta >= 0 && sc <= theta) continue;
            term->doc = base + local;
            if (t->loc) ft_postings_advance(p, term->doc); /* the locator reads the cursor's posting */
            note_postings(t, heap_push(t, term->doc, sc), &term, 1, term->doc);
            theta = threshold(t);
            if (bound >= 0 && cannot_enter(bound, theta) && k + 1 < n) {
                c->inexact = 1; /* the rest of the block cannot enter now */
                break;
            }
        }
        uint64_t next = (uint64_t)base + docs[n - 1] + 1;
        if (next >= FT_DOC_END) break;
        d = (uint32_t)next;
    }
    return matches;
}

static int all_terms(const it *t)
{
    for (size_t i = 0; i < t->nkids; i++)
        if (t->kids[i]->kind != IT_TERM) return 0;
    return 1;
}

/* Report the first cursor error anywhere in the tree. */
static int tree_status(const it *t, ft_error *err)
{
    if (!t) return 0;
    if (t->p) {
        int rc = ft_postings_status(t->p, err);
        if (rc) return rc;
    }
    for (size_t i = 0; i < t->nkids; i++) {
        int rc = tree_status(t->kids[i], err);
        if (rc) return rc;
    }
    return 0;
}

static int ctx_init(sctx *c, const ft_index *ix, const ft_search_opts *o, ft_error *err)
{
    memset(c, 0, sizeof *c);
    if (!(o->k1 >= 0) || !(o->b >= 0 && o->b <= 1))
        return ft_error_set(err, FT_EINVAL, "BM25 parameters out of range (k1 >= 0, 0 <= b <= 1)");
    c->ix = ix;
    c->o = o;
    c->err = err;
    c->N = ft_index_doc_count(ix);
    c->lens = ft_index_lengths(ix);
    c->avgdl = ft_index_avgdl(ix) > 0 ? ft_index_avgdl(ix) : 1.0;
    c->b1 = o->k1 * (1.0 - o->b);
    c->bk = o->k1 * o->b / c->avgdl;
    return FT_OK;
}

static void ctx_free(sctx *c)
{
    ft_analyzer_free(c->an);
    ft_docbuf_free(c->docbuf);
    for (size_t i = 0; i < c->nowned; i++) free(c->owned[i]);
    free(c->owned);
}

/* The positive query terms' dictionary entries, kept with the results so
 * that ft_snipper_new opens their cursors without looking them up again. */
struct ft_res_terms {
    const ft_index *ix;
    ft_posting_loc *loc; /* NULL, or per hit nloc locators (ft_search_opts.snippets) */
    size_t nloc;
    int *col;            /* per positive term: its column of loc, or -1 */
    size_t n;
    ft_term_ref *ref[]; /* per positive term (NULL: not found in the tree) */
};

void ft_results_free(ft_results *r)
{
    if (!r) return;
    free(r->hits);
    r->hits = NULL;
    r->n = 0;
    if (r->terms_) {
        for (size_t i = 0; i < r->terms_->n; i++) ft_term_ref_free_(r->terms_->ref[i]);
        free(r->terms_->loc);
        free(r->terms_->col);
    }
    free(r->terms_);
    r->terms_ = NULL;
}

static const it *find_term(const it *t, const char *term, size_t len)
{
    if (!t) return NULL;
    if (t->kind == IT_TERM) return t->p && t->tlen == len && !memcmp(t->term, term, len) ? t : NULL;
    for (size_t i = 0; i < t->nkids; i++) {
        const it *f = find_term(t->kids[i], term, len);
        if (f) return f;
    }
    return NULL;
}

/* Keep the positive terms' entries (out of memory: keep fewer; the snipper
 * looks the others up), and the hits' locators: loc (per hit, in out's
 * order, the nloc terms kids[]), taken over; the column of each positive
 * term is that of the kid reading its cursor. */
static void keep_terms(ft_results *out, const ft_index *ix, const ft_query *q, const it *root, it **kids,
                       ft_posting_loc *loc, size_t nloc)
{
    struct ft_res_terms *k = NULL;
    if (root && q->npos) k = calloc(1, sizeof *k + q->npos * sizeof *k->ref);
    if (k && loc && !(k->col = malloc(q->npos * sizeof *k->col))) {
        free(loc);
        loc = NULL;
    }
    if (!k) {
        free(loc);
        return;
    }
    k->ix = ix;
    k->n = q->npos;
    k->loc = loc;
    k->nloc = nloc;
    for (size_t i = 0; i < q->npos; i++) {
        const it *t = find_term(root, q->pos_terms[i], q->pos_lens[i]);
        if (t) k->ref[i] = ft_postings_ref_(t->p);
        if (!loc) continue;
        k->col[i] = -1;
        for (size_t j = 0; t && j < nloc; j++)
            if (kids[j]->p == t->p) {
                k->col[i] = (int)j;
                break;
            }
    }
    out->terms_ = k;
}

typedef struct hit_row {
    ft_hit h;
    uint32_t row;
} hit_row;

static int cmp_hit_rows(const void *a, const void *b) { return cmp_hits(&((const hit_row *)a)->h, &((const hit_row *)b)->h); }

/* Sort the hits best first, and their locators (when kept) with them into
 * a new array, in the hits' order: NULL when not kept or out of memory. */
static ft_posting_loc *sort_hits(topk *t)
{
    ft_posting_loc *loc = NULL;
    hit_row *v = t->loc ? malloc(t->n * sizeof *v) : NULL;
    if (v) loc = malloc(t->n * t->nloc * sizeof *loc);
    if (!loc) {
        free(v);
        qsort(t->h, t->n, sizeof *t->h, cmp_hits);
        return NULL;
    }
    for (size_t i = 0; i < t->n; i++) v[i] = (hit_row){t->h[i], t->slot[i]};
    qsort(v, t->n, sizeof *v, cmp_hit_rows);
    for (size_t i = 0; i < t->n; i++) {
        t->h[i] = v[i].h;
        memcpy(&loc[i * t->nloc], &t->loc[(size_t)v[i].row * t->nloc], t->nloc * sizeof *loc);
    }
    free(v);
    return loc;
}

int ft_search(const ft_index *ix, const ft_query *q, const ft_search_opts *o, ft_results *out, ft_error *err)
{
    memset(out, 0, sizeof *out);
    out->matches_exact = 1;
    ft_search_opts def;
    if (!o) {
        ft_search_opts_default(&def);
        o = &def;
    }
    if (o->k == 0) return ft_error_set(err, FT_EINVAL, "k must be at least 1");
    sctx c;
    int rc = ctx_init(&c, ix, o, err);
    if (rc) return rc;
    /* no more hits than documents: the heap never needs more room */
    uint32_t N = ft_index_doc_count(ix);
    topk t = {NULL, 0, o->k <= N ? o->k : (N ? N : 1), NULL, NULL, 0};
    t.h = malloc(t.k * sizeof *t.h);
    it *root = NULL;
    if (!t.h) {
        rc = ft_error_set(err, FT_ENOMEM, "out of memory");
        goto done;
    }
    root = build(&c, q->root);
    if (c.rc) {
        rc = c.rc;
        goto done;
    }
    uint64_t matches = 0;
    it **kids = NULL;
    if (root) {
        int exhaustive = o->exhaustive || o->count;
        enum { EXHAUSTIVE, MAXSCORE, BLOCKMAX } how = EXHAUSTIVE;
        size_t nk = 0;
        if (!exhaustive && root->kind == IT_OR && all_terms(root)) how = MAXSCORE;
        else if (!exhaustive && (root->kind == IT_AND || root->kind == IT_PHRASE) && all_terms(root)) how = BLOCKMAX;
        if (how != EXHAUSTIVE) {
            kids = root->kids;
            nk = root->nkids;
        } else if (!exhaustive && root->kind == IT_TERM) {
            how = BLOCKMAX;
            kids = &root;
            nk = 1;
        }
        if (kids && o->snippets) { /* locators: none when out of memory */
            t.slot = malloc(t.k * sizeof *t.slot);
            t.loc = t.slot ? malloc(t.k * nk * sizeof *t.loc) : NULL;
            t.nloc = nk;
        }
        if (how == MAXSCORE) {
            matches = run_maxscore(&c, root, &t);
        } else if (how == BLOCKMAX && kids == &root) { /* one term */
            matches = run_term(&c, root, &t);
        } else if (how == BLOCKMAX) {
            matches = run_blockmax_and(&c, root, kids, nk, root->lead, &t);
        } else {
            matches = run_exhaustive(&c, root, &t);
        }
        if (c.rc) {
            rc = c.rc;
            goto done;
        }
        if ((rc = tree_status(root, err))) goto done;
    }
    out->matches_exact = !c.inexact;
    ft_posting_loc *loc = sort_hits(&t);
    out->hits = t.h;
    out->n = t.n;
    out->matches = matches;
    t.h = NULL;
    memcpy(out->notice, c.notice, sizeof out->notice);
    keep_terms(out, ix, q, root, kids, loc, t.nloc);
done:
    it_free(root);
    free(t.h);
    free(t.slot);
    free(t.loc);
    ctx_free(&c);
    return rc;
}

/* ------------------------------------------------------------------ explain */

/* One entry of an explanation: term t (a term or a synonym group) with
 * frequency tf in doc. */
static int explain_add(ft_explanation *e, const sctx *c, const it *t, double tf, double K, uint32_t doc)
{
    ft_explain_term *v = realloc(e->terms, (e->n + 1) * sizeof *v);
    if (!v) return FT_ENOMEM;
    e->terms = v;
    ft_explain_term *x = &e->terms[e->n++];
    x->term = t->term;
    x->len = t->tlen;
    x->df = t->df;
    x->tf = (uint32_t)tf;
    x->doc_len = ft_index_doc_length(c->ix, doc);
    x->idf = t->idf;
    x->avgdl = c->avgdl;
    x->k1 = c->o->k1;
    x->b = c->o->b;
    x->contribution = t->w * tf / (tf + K);
    return 0;
}

/* Walk the tree the way it_score adds up, listing each term's part. */
static int explain_walk(ft_explanation *e, const sctx *c, it *t, double K, uint32_t doc)
{
    switch (t->kind) {
    case IT_TERM:
        return explain_add(e, c, t, ft_postings_tf(t->p), K, doc);
    case IT_OR:
        for (size_t i = 0; i < t->nkids; i++)
            if (t->kids[i]->doc == doc && explain_walk(e, c, t->kids[i], K, doc)) return FT_ENOMEM;
        return 0;
    case IT_AND:
    case IT_PHRASE:
        for (size_t i = 0; i < t->nkids; i++)
            if (explain_walk(e, c, t->kids[i], K, doc)) return FT_ENOMEM;
        return 0;
    case IT_REQOPT: {
        if (explain_walk(e, c, t->kids[0], K, doc)) return FT_ENOMEM;
        it *opt = t->kids[1];
        if (!opt->started || opt->doc < doc) it_advance(opt, doc);
        if (opt->doc == doc) return explain_walk(e, c, opt, K, doc);
        return 0;
    }
    case IT_EXCL:
    case IT_FIELD:
        return explain_walk(e, c, t->kids[0], K, doc);
    case IT_SYN:
        return explain_add(e, c, t, syn_tf(t), K, doc); /* the prefix, as one pseudo-term */
    }
    return 0;
}

int ft_explain(const ft_index *ix, const ft_query *q, const ft_search_opts *o, uint32_t doc,
               ft_explanation *out, ft_error *err)
{
    memset(out, 0, sizeof *out);
    ft_search_opts def;
    if (!o) {
        ft_search_opts_default(&def);
        o = &def;
    }
    sctx c;
    int rc = ctx_init(&c, ix, o, err);
    if (rc) return rc;
    it *root = build(&c, q->root);
    if (c.rc) {
        rc = c.rc;
        goto done;
    }
    if (root && it_advance(root, doc) == doc) {
        double K = kdoc(&c, doc);
        out->matched = 1;
        out->score = it_score(root, K);
        if (explain_walk(out, &c, root, K, doc)) {
            rc = ft_error_set(err, FT_ENOMEM, "out of memory");
            goto done;
        }
    }
    if ((rc = tree_status(root, err))) goto done;
    /* term strings of prefix expansions belong to the explanation */
    out->owned = c.owned;
    out->nowned = c.nowned;
    c.owned = NULL;
    c.nowned = 0;
done:
    it_free(root);
    ctx_free(&c);
    if (rc) ft_explain_free(out);
    return rc;
}

void ft_explain_free(ft_explanation *e)
{
    if (!e) return;
    free(e->terms);
    for (size_t i = 0; i < e->nowned; i++) free(e->owned[i]);
    free(e->owned);
    memset(e, 0, sizeof *e);
}

/* ------------------------------------------------------------------ snippets */

typedef struct stok {
    size_t start, end;
    uint32_t pos;
    int term; /* index of the matched query term or -1 */
} stok;

typedef struct smatch {
    uint32_t pos;  /* position in the body (0 = its first word) */
    int term;      /* query term slot */
} smatch;

/* Snippet windows are W consecutive word positions of the body.  The best
 * is chosen from the matches' positions alone (choose_window), whether they
 * come from analyzing the text or from the index, so both agree; reading
 * ends a window's length after the first window holding every term (the
 * horizon: no later window can hold more terms, and a text read up to it
 * holds what is needed). */
typedef struct snip_ctx {
    const ft_query *q;
    ft_analyzer *an;
    uint8_t first[256];     /* first bytes of the query terms */
    stok *t;
    size_t n, cap;
    /* text: the matches seen in the last W positions, and the horizon */
    unsigned *wcnt;
    size_t W, target, distinct, lo;
    uint32_t horizon;       /* UINT32_MAX: not reached */
    int more;               /* a word follows the window */
} snip_ctx;

static int count_only(void *ctx, const ft_token *tok)
{
    (void)ctx;
    (void)tok;
    return 0;
}

static int snip_push(snip_ctx *s, const ft_token *tok, int m)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        stok *p = realloc(s->t, cap * sizeof *p);
        if (!p) return FT_ENOMEM;
        s->t = p;
        s->cap = cap;
    }
    s->t[s->n++] = (stok){tok->start, tok->end, tok->pos, m};
    return 0;
}

/* From the text: every word, matched by stemming, up to the horizon. */
static int on_snip_token(void *arg, const ft_token *tok)
{
    snip_ctx *s = arg;
    if (tok->pos > s->horizon) return SNIP_STOP;
    int m = -1;
    const char *term = tok->term;
    size_t len = tok->len;
    unsigned char c0 = len ? (unsigned char)term[0] : 0;
    if (len && (s->first[c0] || c0 >= 0x80)) {
        /* Words arrive unstemmed; Snowball stemmers rewrite endings, never
         * an ASCII first letter, so only words whose first byte starts some
         * query term (or is not ASCII) need stemming: most of a document is
         * skipped. */
        if (tok->stem) term = ft_analyzer_stem(s->an, term, len, &len);
        for (size_t i = 0; i < s->q->npos; i++)
            if (s->q->pos_lens[i] == len && !memcmp(s->q->pos_terms[i], term, len)) {
                m = (int)i;
                break;
            }
        /* prefix*: the indexed (stemmed) term starts with the prefix; all
         * prefixes share one highlight slot after the plain terms */
        for (size_t i = 0; m < 0 && i < s->q->nprefixes; i++) {
            const qnode *pn = s->q->prefixes[i];
            if (len >= pn->lens[0] && !memcmp(term, pn->terms[0], pn->lens[0])) m = (int)(s->q->npos + i);
        }
    }
    if (snip_push(s, tok, m)) return FT_ENOMEM;
    if (m < 0 || s->horizon != UINT32_MAX) return 0;
    /* the matches of the last W positions: does a window hold every term? */
    if (s->wcnt[m]++ == 0) s->distinct++;
    while (s->t[s->lo].pos + s->W <= tok->pos) {
        int old = s->t[s->lo++].term;
        if (old >= 0 && --s->wcnt[old] == 0) s->distinct--;
    }
    if (s->distinct == s->target) s->horizon = tok->pos + (uint32_t)s->W;
    return 0;
}

/* The best window of W positions for matches m[0..n) (sorted by position):
 * most distinct terms, then most matches, the earliest; then a lone match
 * is shown a little after the window's start.  Matches past the horizon
 * (a window's length after the first window holding all target terms) are
 * not considered.  Sets *ws (the window's first position) and returns the
 * horizon (UINT32_MAX: none). */
static uint32_t choose_window(const smatch *m, size_t n, uint32_t W, size_t target, unsigned *cnt, uint32_t *ws)
{
    size_t best_d = 0, best_m = 0, nd = 0, lo = 0;
    uint32_t best = 0, horizon = UINT32_MAX;
    size_t i;
    for (i = 0; i < n && m[i].pos <= horizon; i++) {
        if (cnt[m[i].term]++ == 0) nd++;
        while (m[lo].pos + W <= m[i].pos) {
            if (--cnt[m[lo].term] == 0) nd--;
            lo++;
        }
        if (nd > best_d || (nd == best_d && i - lo + 1 > best_m)) {
            best_d = nd;
            best_m = i - lo + 1;
            best = m[i].pos >= W ? m[i].pos - W + 1 : 0;
        }
        if (nd == target && horizon == UINT32_MAX) horizon = m[i].pos + W;
    }
    for (size_t j = lo; j < i; j++) cnt[m[j].term] = 0;
    if (best_d > 0) { /* centre a lone match a little: show some words before it */
        size_t k = 0;
        while (m[k].pos < best) k++;
        uint32_t lead = W / 4;
        if (m[k].pos > best + lead) best = m[k].pos - lead;
    }
    *ws = best;
    return horizon;
}

/* Append text with whitespace runs collapsed to one space (controls count
 * as white space): one reservation, then a run of bytes at a time while
 * they need no change (no control byte, no space after a space): sixteen
 * where SSE2 is, else eight; a byte loop for the rest. */
static void put_clean(ft_buf *b, const char *s, size_t n, int *space)
{
    if (n == 0 || ft_buf_reserve(b, n)) return;
    uint8_t *d = b->p + b->len;
    unsigned sp = (unsigned)*space;
    size_t i = 0;
    while (i < n) {
#if FT_SSE2
        if (n - i >= 16) {
            __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
            /* bytes <= 0x20 (unsigned), and the spaces among them */
            unsigned low = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x20)), v));
            unsigned spc = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(0x20)));
            if (low == spc && !(spc & (spc << 1 | sp))) {
                _mm_storeu_si128((__m128i *)(void *)d, v);
                d += 16;
                i += 16;
                sp = spc >> 15;
                continue;
            }
        }
#else
        if (n - i >= 8) {
            const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull, lows = ~highs;
            uint64_t x = ft_get_u64le((const uint8_t *)s + i);
            uint64_t y = x ^ (0x20 * ones);
            uint64_t spc = ~(((y & lows) + lows) | y | lows); /* exactly the spaces' high bits */
            /* no byte below 0x20 (exact for ASCII bytes), no space after a space */
            if (!((x - 0x20 * ones) & ~x & highs) && !(spc & (spc << 8 | (uint64_t)sp << 7))) {
                ft_set_u64le(d, x);
                d += 8;
                i += 8;
                sp = (unsigned)(spc >> 63);
                continue;
            }
        }
#endif
        for (size_t e = i + 8 < n ? i + 8 : n; i < e; i++) { /* without branches: words and */
            uint8_t c = (uint8_t)s[i];                         /* spaces alternate unpredictably */
            unsigned ws = c <= 0x20;
            *d = ws ? ' ' : c;
            d += !(ws & sp);
            sp = ws;
        }
    }
    b->len = (size_t)(d - b->p);
    *space = (int)sp;
}

int ft_snippet(const ft_index *ix, ft_analyzer *an, const ft_query *q, uint32_t doc,
               const ft_snippet_opts *o, char **out, ft_error *err)
{
    *out = NULL;
    ft_docbuf *db = ft_docbuf_new();
    if (!db) return ft_error_set(err, FT_ENOMEM, "out of memory");
    ft_doc d;
    int rc = ft_index_doc(ix, doc, db, &d, err);
    if (rc == FT_OK) rc = ft_snippet_text(an, q, d.body, d.body_len, o, out, err);
    ft_docbuf_free(db);
    return rc;
}

static int snippet_make(ft_analyzer *an, const ft_query *q, const char *body, size_t body_len,
                        const ft_snippet_opts *o, const smatch *mt, size_t nmt, const ft_doc *d, char **out,
                        ft_error *err);

struct ft_snipper {
    ft_analyzer *an;
    const ft_query *q;
    const ft_results *res;
    int text_only;      /* prefix* terms: their matches are found in the text */
    smatch *m;          /* every hit's matches (sorted by position), hit after hit */
    size_t *off, *nm;   /* hit i's: m[off[i] .. off[i] + nm[i]) */
    smatch *scratch;    /* the body's part of one hit's matches */
    size_t scratch_cap;
};

typedef struct hit_ref {
    uint32_t doc;
    size_t i;
} hit_ref;

static int cmp_hit_doc(const void *a, const void *b)
{
    const hit_ref *x = a, *y = b;
    return x->doc < y->doc ? -1 : x->doc > y->doc;
}

void ft_snipper_free(ft_snipper *s)
{
    if (!s) return;
    free(s->m);
    free(s->off);
    free(s->scratch);
    free(s);
}

/* Merge one term's positions (sorted) into a hit's n matches at m (sorted;
 * no two terms share a position; room for n + np), from the back. */
static void merge_matches(smatch *m, size_t n, const uint32_t *pos, uint32_t np, int term)
{
    size_t i = n, w = n + np;
    for (uint32_t j = np; j > 0;) {
        if (i > 0 && m[i - 1].pos > pos[j - 1]) m[--w] = m[--i];
        else m[--w] = (smatch){pos[--j], term};
    }
}

int ft_snipper_new(const ft_index *ix, ft_analyzer *an, const ft_query *q, const ft_results *res,
                   ft_snipper **out, ft_error *err)
{
    *out = NULL;
    ft_snipper *s = calloc(1, sizeof *s);
    size_t n = res->n, npos = q->npos;
    if (!s) return ft_error_set(err, FT_ENOMEM, "out of memory");
    s->an = an;
    s->q = q;
    s->res = res;
    s->text_only = q->nprefixes > 0;
    if (s->text_only || n == 0) {
        *out = s;
        return FT_OK;
    }
    /* per term: a reader of the positions where the search noted the hits'
     * postings (column col of kt->loc), or a cursor looking them up */
    const struct ft_res_terms *kt = res->terms_;
    int noted = kt && kt->ix == ix && kt->loc && kt->n == npos;
    hit_ref ord_local[64], *ord = n <= 64 ? ord_local : malloc(n * sizeof *ord);
    ft_postings *cur_local[16], **cur = npos <= 16 ? cur_local : calloc(npos, sizeof *cur);
    int rc = FT_OK;
    size_t used = 0, cap = 0;
    s->off = calloc(2 * n, sizeof *s->off);
    if (!ord || !cur || !s->off) goto nomem;
    s->nm = s->off + n;
    for (size_t t = 0; t < npos; t++) {
        cur[t] = NULL;
        if (noted && kt->col[t] >= 0) {
            if ((rc = ft_positions_reader_(ix, &cur[t], err))) goto fail;
        } else if (kt && kt->ix == ix && t < kt->n && kt->ref[t]) {
            if ((rc = ft_postings_open_ref_(kt->ref[t], &cur[t], err))) goto fail;
        } else if ((rc = ft_postings_open(ix, q->pos_terms[t], q->pos_lens[t], &cur[t], err))) {
            goto fail;
        }
    }
    for (size_t i = 0; i < n; i++) ord[i] = (hit_ref){res->hits[i].doc, i};
    qsort(ord, n, sizeof *ord, cmp_hit_doc); /* document order: each cursor only moves forward */
    for (size_t k = 0; k < n; k++) {
        size_t h = ord[k].i, nm = 0;
        const ft_posting_loc *hl = noted ? &kt->loc[h * kt->nloc] : NULL; /* hit h's row */
        s->off[h] = used;
        for (size_t t = 0; hl && t < npos; t++) /* the terms' frames sought at once: misses overlap */
            if (kt->col[t] >= 0 && ft_postings_prefetch_at_(cur[t], &hl[kt->col[t]])) {
                rc = ft_postings_status(cur[t], err);
                goto fail;
            }
        for (size_t t = 0; t < npos; t++) {
            const uint32_t *pos;
            uint32_t np;
            int r = hl && kt->col[t] >= 0 ? ft_postings_positions_at_(cur[t], &hl[kt->col[t]], &pos, &np)
                                          : ft_postings_positions_of(cur[t], ord[k].doc, &pos, &np);
            if (r < 0) {
                rc = ft_postings_status(cur[t], err);
                goto fail;
            }
            if (!np) continue;
            if (used + nm + np > cap) {
                size_t c = cap ? cap : 256;
                while (c < used + nm + np) c *= 2;
                smatch *v = realloc(s->m, c * sizeof *v);
                if (!v) goto nomem;
                s->m = v;
                cap = c;
            }
            merge_matches(s->m + used, nm, pos, np, (int)t);
            nm += np;
        }
        s->nm[h] = nm;
        used += nm;
    }
    goto done;
nomem:
    rc = ft_error_set(err, FT_ENOMEM, "out of memory");
fail:
    ft_snipper_free(s);
    s = NULL;
done:
    for (size_t t = 0; cur && t < npos; t++) ft_postings_close(cur[t]);
    if (ord != ord_local) free(ord);
    if (cur != cur_local) free(cur);
    *out = s;
    return rc;
}

int ft_snipper_get(ft_snipper *s, size_t i, const ft_doc *d, const ft_snippet_opts *o, char **out,
                   ft_error *err)
{
    *out = NULL;
    if (s->text_only || i >= s->res->n) return ft_snippet_text(s->an, s->q, d->body, d->body_len, o, out, err);
    /* the body's positions follow the title's, one apart (as the writer
     * numbers them): the record says where, or the title is counted */
    uint32_t body0, mpos;
    size_t moff;
    if (!ft_doc_mark(d, 0, 0, &body0, &mpos, &moff)) {
        ft_analyze_stats st;
        if (ft_analyze_words(s->an, d->title, d->title_len, 0, count_only, NULL, &st))
            return ft_error_set(err, FT_ENOMEM, "out of memory");
        body0 = st.next_pos + 1;
    }
    const smatch *hm = s->m + s->off[i];
    size_t k = 0;
    while (k < s->nm[i] && hm[k].pos < body0) k++;
    size_t nb = s->nm[i] - k;
    if (nb > s->scratch_cap || !s->scratch) {
        size_t cap = nb > 64 ? nb : 64;
        smatch *v = realloc(s->scratch, cap * sizeof *v);
        if (!v) return ft_error_set(err, FT_ENOMEM, "out of memory");
        s->scratch = v;
        s->scratch_cap = cap;
    }
    smatch *mt = s->scratch;
    for (size_t j = 0; j < nb; j++) mt[j] = (smatch){hm[k + j].pos - body0, hm[k + j].term};
    return snippet_make(s->an, s->q, d->body, d->body_len, o, mt, nb, d, out, err);
}

int ft_snippet_text(ft_analyzer *an, const ft_query *q, const char *body, size_t body_len,
                    const ft_snippet_opts *o, char **out, ft_error *err)
{
    return snippet_make(an, q, body, body_len, o, NULL, 0, NULL, out, err);
}

/* Where the text of a snippet is looked at: the body's first
 * SNIPPET_SCAN_MAX bytes, cut at the last ASCII white space of the last
 * KiB (so no word is cut, in spaced scripts). */
static size_t scan_len(const char *body, size_t body_len)
{
    if (body_len <= SNIPPET_SCAN_MAX) return body_len;
    for (size_t i = SNIPPET_SCAN_MAX; i > SNIPPET_SCAN_MAX - 1024; i--)
        if (ft_ascii_space((unsigned char)body[i])) return i;
    return SNIPPET_SCAN_MAX;
}

/* The snippet.  From the text alone (mt NULL): the body is analyzed up to
 * the horizon, words matched by stemming.  With mt (the body's matches from
 * the index, sorted by position) the window is known before reading, and
 * only its words are analyzed, from the last of d's marks before it. */
static int snippet_make(ft_analyzer *an, const ft_query *q, const char *body, size_t body_len,
                        const ft_snippet_opts *o, const smatch *mt, size_t nmt, const ft_doc *d, char **out,
                        ft_error *err)
{
    *out = NULL;
    unsigned W = o && o->max_words ? o->max_words : 30;
    const char *ho = o && o->hl_open ? o->hl_open : "[";
    const char *hc = o && o->hl_close ? o->hl_close : "]";
    size_t lho = strlen(ho), lhc = strlen(hc);
    int rc = FT_OK;
    size_t blen = scan_len(body, body_len);
    size_t nslots = q->npos + q->nprefixes + 1;
    snip_ctx s;
    memset(&s, 0, sizeof s);
    s.q = q;
    s.an = an;
    s.W = W;
    s.horizon = UINT32_MAX;
    /* the most distinct terms a window can hold (the query's positive terms
     * are distinct: query.c merges repeats) */
    s.target = q->npos + q->nprefixes;
    unsigned cnt_local[64] = {0}, *cnt = cnt_local; /* match counts; on the heap for long queries */
    if (2 * nslots > 64) cnt = calloc(2 * nslots, sizeof *cnt);
    stok t_local[64]; /* the window's words (the index path) */
    smatch *mm = NULL;
    ft_buf b;
    ft_buf_init(&b);
    if (!cnt) goto nomem;
    s.wcnt = cnt + nslots;
    uint32_t ws, we;
    int arc;
    size_t nhl = 0, wend = 0; /* the window's matched words, its end */
    if (mt) {
        /* matches past the scanned text do not count: the text's words
         * there are counted from the last mark before its end */
        uint32_t body0, mpos;
        size_t moff;
        if (blen < body_len && nmt) {
            ft_doc_mark(d, UINT32_MAX, blen, &body0, &mpos, &moff);
            if (mt[nmt - 1].pos >= mpos) {
                ft_analyze_stats st;
                if (ft_analyze_words_from(an, body + moff, blen - moff, mpos, UINT32_MAX, count_only, NULL, &st))
                    goto nomem;
                while (nmt && mt[nmt - 1].pos >= st.next_pos) nmt--;
            }
        }
        s.horizon = choose_window(mt, nmt, W, s.target, cnt, &ws);
        we = ws + W;
        if (s.horizon != UINT32_MAX && we > s.horizon + 1) we = s.horizon + 1;
        mpos = 0;
        moff = 0;
        if (ws > 0) ft_doc_mark(d, ws, blen, &body0, &mpos, &moff);
        /* the window's words, marked from the matches */
        size_t cap = we - ws, ns = 0;
        ft_span local[64], *sp = cap <= 64 ? local : malloc(cap * sizeof *sp);
        s.t = cap <= 64 ? t_local : malloc(cap * sizeof *s.t);
        if (!sp || !s.t) {
            if (sp != local) free(sp);
            goto nomem;
        }
        arc = ft_analyze_spans(an, body + moff, blen - moff, mpos, ws, we, sp, cap, &ns); /* 1: more words */
        s.more = arc == 1;
        for (size_t i = 0, mi = 0; i < ns; i++) {
            int m = -1;
            while (mi < nmt && mt[mi].pos < sp[i].pos) mi++;
            if (mi < nmt && mt[mi].pos == sp[i].pos) {
                m = mt[mi].term;
                nhl++;
            }
            s.t[i] = (stok){moff + sp[i].start, moff + sp[i].end, sp[i].pos, m};
            if (s.t[i].end > wend) wend = s.t[i].end;
        }
        s.n = ns;
        if (sp != local) free(sp);
    } else {
        for (size_t i = 0; i < q->npos; i++)
            if (q->pos_lens[i]) s.first[(unsigned char)q->pos_terms[i][0]] = 1;
        for (size_t i = 0; i < q->nprefixes; i++)
            if (q->prefixes[i]->lens[0]) s.first[(unsigned char)q->prefixes[i]->terms[0][0]] = 1;
        arc = ft_analyze_words(an, body, blen, 0, on_snip_token, &s, NULL);
        if (arc == 0 || arc == SNIP_STOP) {
            size_t nm = 0;
            for (size_t i = 0; i < s.n; i++) nm += s.t[i].term >= 0;
            mm = calloc(nm ? nm : 1, sizeof *mm);
            if (!mm) goto nomem;
            nm = 0;
            for (size_t i = 0; i < s.n; i++)
                if (s.t[i].term >= 0) mm[nm++] = (smatch){s.t[i].pos, s.t[i].term};
            memset(cnt, 0, nslots * sizeof *cnt);
            choose_window(mm, nm, W, s.target, cnt, &ws);
            we = ws + W;
            s.more = arc == SNIP_STOP;
        }
    }
    if (arc != 0 && arc != SNIP_STOP) goto nomem;
    /* the window's words: [i0, i1) of s.t (from the index, only they are there) */
    size_t i0 = 0, i1 = s.n;
    if (!mt) {
        while (i0 < s.n && s.t[i0].pos < ws) i0++;
        for (i1 = i0; i1 < s.n && s.t[i1].pos < we; i1++) continue;
        if (i1 < s.n) s.more = 1;
    }
    if (i1 > i0) {
        int space = 1;
        /* tokens can overlap (CJK bigrams): highlight the union of the
         * matched tokens' byte ranges, emit every byte once */
        size_t from = s.t[i0].start, to = wend;
        if (!mt) { /* (the index path counted them while converting its spans) */
            to = s.t[i0].end;
            for (size_t i = i0; i < i1; i++) {
                if (s.t[i].end > to) to = s.t[i].end;
                nhl += s.t[i].term >= 0;
            }
        }
        /* the whole snippet's room at once: text, marks, two "..." and NUL */
        ft_buf_reserve(&b, to - from + nhl * (lho + lhc) + 7);
        if (ws > 0) ft_buf_append(&b, "...", 3);
        size_t at = from;
        for (size_t i = i0; i < i1;) {
            if (s.t[i].term < 0) {
                i++;
                continue;
            }
            size_t hs = s.t[i].start, he = s.t[i].end;
            size_t j = i + 1;
            while (j < i1 && s.t[j].start < he) { /* overlapping tokens */
                if (s.t[j].term >= 0 && s.t[j].end > he) he = s.t[j].end;
                j++;
            }
            if (hs < at) hs = at;
            if (he > hs) {
                put_clean(&b, body + at, hs - at, &space);
                ft_buf_append(&b, ho, lho);
                put_clean(&b, body + hs, he - hs, &space);
                ft_buf_append(&b, hc, lhc);
                at = he;
            }
            i = j;
        }
        if (to > at) put_clean(&b, body + at, to - at, &space);
        if (s.more || blen < body_len) ft_buf_append(&b, "...", 3);
    }
    ft_buf_put_u8(&b, 0);
    if (b.failed) goto nomem;
    *out = (char *)b.p;
    b.p = NULL;
    goto out;
nomem:
    rc = ft_error_set(err, FT_ENOMEM, "out of memory");
out:
    ft_buf_free(&b);
    if (s.t != t_local) free(s.t);
    if (cnt != cnt_local) free(cnt);
    free(mm);
    return rc;
}
