/*
 * fuzz_roundtrip.c — fuzz target: documents in, index out, everything read
 * back equal to a naive inversion.
 *
 * Input: byte 0 = options (bit 0: English stemming instead of none, bits 1-3:
 * postings per block 4..11), byte 1 = blocks per frame (1..3), then the
 * documents separated by NUL bytes (at most 300); in each, the bytes before
 * the first 0x01 are the title and the rest the body (no 0x01: all body).
 * The index is built in a scratch directory and compared with an inversion
 * computed here from ft_analyze (title from position 0, body from the title's
 * next position + 1): the dictionary in order with df, every posting (document,
 * tf, positions) through next() and through advance(), cf, document lengths,
 * token count and the stored fields (input with invalid UTF-8 replaced).
 */
#include <string.h>

#include "fuzz_util.h"
#include "ft_tokenize.h"

#define MAXDOCS 300

typedef struct occ {
    const char *term; /* into the arena */
    uint32_t len, doc, pos;
} occ;

typedef struct inv {
    ft_buf arena;   /* term bytes */
    occ *o;
    size_t n, cap;
    uint32_t doc;
    uint32_t *dl;
} inv;

static int on_tok(void *ctx, const ft_token *t)
{
    inv *v = ctx;
    if (v->n == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 256;
        v->o = realloc(v->o, v->cap * sizeof *v->o);
        FZ_CHECK(v->o, "out of memory");
    }
    /* store the offset for now; fixed up to pointers once the arena is final */
    v->o[v->n++] = (occ){(const char *)(uintptr_t)v->arena.len, (uint32_t)t->len, v->doc, t->pos};
    ft_buf_append(&v->arena, t->term, t->len);
    v->dl[v->doc]++;
    return 0;
}

static int term_cmp(const char *a, size_t al, const char *b, size_t bl)
{
    int c = memcmp(a, b, al < bl ? al : bl);
    if (c) return c;
    return al < bl ? -1 : al > bl;
}

static int occ_cmp(const void *x, const void *y)
{
    const occ *a = x, *b = y;
    int c = term_cmp(a->term, a->len, b->term, b->len);
    if (c) return c;
    if (a->doc != b->doc) return a->doc < b->doc ? -1 : 1;
    return a->pos < b->pos ? -1 : a->pos > b->pos;
}

typedef struct dict_walk {
    const occ *o;
    size_t n, i;
    int ok;
} dict_walk;

/* ft_index_terms must list exactly the distinct terms, in order, with df. */
static int on_term(void *ctx, const char *term, size_t len, uint32_t df)
{
    dict_walk *w = ctx;
    FZ_CHECK(w->i < w->n, "dictionary has an extra term %.*s", (int)len, term);
    const occ *a = &w->o[w->i];
    FZ_CHECK(a->len == len && !memcmp(a->term, term, len), "dictionary term %.*s, expected %.*s",
             (int)len, term, (int)a->len, a->term);
    uint32_t ndf = 0, last = UINT32_MAX;
    size_t j = w->i;
    while (j < w->n && w->o[j].len == len && !memcmp(w->o[j].term, term, len)) {
        if (w->o[j].doc != last) ndf++;
        last = w->o[j].doc;
        j++;
    }
    FZ_CHECK(df == ndf, "term %.*s df %u, expected %u", (int)len, term, df, ndf);
    w->i = j;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char *dir;
    if (!dir) dir = fz_tempdir();
    if (size < 2) return 0;
    ft_writer_opts wo;
    ft_writer_opts_default(&wo);
    ft_analyzer_opts_default(&wo.analyzer);
    snprintf(wo.analyzer.lang, sizeof wo.analyzer.lang, "%s", (data[0] & 1) ? "english" : "none");
    wo.block_postings = 4 + ((data[0] >> 1) & 7);
    wo.frame_blocks = 1 + data[1] % 3;

    /* split into documents */
    const char *p = (const char *)data + 2, *end = (const char *)data + size;
    const char *ts[MAXDOCS], *bs[MAXDOCS];
    size_t tl[MAXDOCS], bl[MAXDOCS];
    uint32_t nd = 0;
    while (p < end && nd < MAXDOCS) {
        const char *e = memchr(p, 0, (size_t)(end - p));
        if (!e) e = end;
        const char *s = memchr(p, 1, (size_t)(e - p));
        if (s) {
            ts[nd] = p, tl[nd] = (size_t)(s - p);
            bs[nd] = s + 1, bl[nd] = (size_t)(e - s - 1);
        } else {
            ts[nd] = p, tl[nd] = 0;
            bs[nd] = p, bl[nd] = (size_t)(e - p);
        }
        nd++;
        p = e + 1;
    }

    ft_error err = {0};
    ft_writer *w = NULL;
    FZ_CHECK(ft_writer_open(dir, &wo, &w, &err) == FT_OK, "writer open: %s", err.msg);
    for (uint32_t d = 0; d < nd; d++) {
        char id[16];
        snprintf(id, sizeof id, "%u", d);
        FZ_CHECK(ft_writer_add(w, id, strlen(id), ts[d], tl[d], bs[d], bl[d], &err) == FT_OK, "add: %s",
                 err.msg);
    }
    int rc = ft_writer_commit(w, &err);
    ft_writer_close(w);
    if (nd == 0 && rc != FT_OK) return 0; /* an empty build may be refused */
    FZ_CHECK(rc == FT_OK, "commit: %s", err.msg);

    /* naive inversion */
    ft_analyzer *an = NULL;
    FZ_CHECK(ft_analyzer_new(&wo.analyzer, &an, &err) == FT_OK, "analyzer: %s", err.msg);
    inv v;
    memset(&v, 0, sizeof v);
    ft_buf_init(&v.arena);
    v.dl = calloc(nd + 1, sizeof *v.dl);
    uint64_t tokens = 0;
    for (uint32_t d = 0; d < nd; d++) {
        v.doc = d;
        ft_analyze_stats st;
        memset(&st, 0, sizeof st);
        ft_analyze(an, ts[d], tl[d], 0, on_tok, &v, &st);
        ft_analyze(an, bs[d], bl[d], st.next_pos + 1, on_tok, &v, NULL);
        tokens += v.dl[d];
    }
    FZ_CHECK(!v.arena.failed, "out of memory");
    for (size_t i = 0; i < v.n; i++) v.o[i].term = (const char *)v.arena.p + (uintptr_t)v.o[i].term;
    if (v.n) qsort(v.o, v.n, sizeof *v.o, occ_cmp);

    ft_index *ix = NULL;
    FZ_CHECK(ft_index_open(dir, &ix, &err) == FT_OK, "open: %s", err.msg);
    FZ_CHECK(ft_index_doc_count(ix) == nd, "%u documents, expected %u", ft_index_doc_count(ix), nd);
    FZ_CHECK(ft_index_token_count(ix) == tokens, "%llu tokens, expected %llu",
             (unsigned long long)ft_index_token_count(ix), (unsigned long long)tokens);
    for (uint32_t d = 0; d < nd; d++)
        FZ_CHECK(ft_index_doc_length(ix, d) == v.dl[d], "doc %u length %u, expected %u", d,
                 ft_index_doc_length(ix, d), v.dl[d]);

    dict_walk dw = {v.o, v.n, 0, 1};
    FZ_CHECK(ft_index_terms(ix, on_term, &dw, &err) == FT_OK, "terms: %s", err.msg);
    FZ_CHECK(dw.i == v.n, "dictionary ends early: %zu of %zu occurrences covered", dw.i, v.n);

    for (size_t i = 0; i < v.n;) {
        size_t j = i;
        while (j < v.n && v.o[j].len == v.o[i].len && !memcmp(v.o[j].term, v.o[i].term, v.o[i].len)) j++;
        const char *t = v.o[i].term;
        int tlen = (int)v.o[i].len;
        ft_postings *pc = NULL;
        FZ_CHECK(ft_postings_open(ix, t, v.o[i].len, &pc, &err) == FT_OK, "postings %.*s: %s", tlen, t, err.msg);
        FZ_CHECK(ft_postings_cf(pc) == j - i, "term %.*s cf %llu, expected %zu", tlen, t,
                 (unsigned long long)ft_postings_cf(pc), j - i);
        size_t k = i;
        while (k < j) {
            uint32_t doc = v.o[k].doc;
            size_t m = k;
            while (m < j && v.o[m].doc == doc) m++;
            uint32_t got = ft_postings_next(pc);
            FZ_CHECK(got == doc, "term %.*s: document %u, expected %u", tlen, t, got, doc);
            FZ_CHECK(ft_postings_tf(pc) == m - k, "term %.*s doc %u: tf %u, expected %zu", tlen, t, doc,
                     ft_postings_tf(pc), m - k);
            const uint32_t *pos;
            uint32_t n;
            FZ_CHECK(ft_postings_positions(pc, &pos, &n) == FT_OK, "positions of %.*s", tlen, t);
            FZ_CHECK(n == m - k, "term %.*s doc %u: %u positions", tlen, t, doc, n);
            for (uint32_t x = 0; x < n; x++)
                FZ_CHECK(pos[x] == v.o[k + x].pos, "term %.*s doc %u: position %u, expected %u", tlen, t, doc,
                         pos[x], v.o[k + x].pos);
            k = m;
        }
        FZ_CHECK(ft_postings_next(pc) == FT_DOC_END, "term %.*s: extra postings", tlen, t);
        FZ_CHECK(ft_postings_status(pc, &err) == FT_OK, "term %.*s: %s", tlen, t, err.msg);
        ft_postings_close(pc);

        /* advance() to every other document of the list, from a fresh cursor */
        FZ_CHECK(ft_postings_open(ix, t, v.o[i].len, &pc, &err) == FT_OK, "postings: %s", err.msg);
        uint32_t prev = UINT32_MAX;
        int skip = 0;
        for (k = i; k < j; k++) {
            if (v.o[k].doc == prev) continue;
            prev = v.o[k].doc;
            if ((skip ^= 1)) continue;
            uint32_t got = ft_postings_advance(pc, prev);
            FZ_CHECK(got == prev, "term %.*s: advance(%u) gave %u", tlen, t, prev, got);
        }
        ft_postings_close(pc);
        i = j;
    }

    ft_docbuf *db = ft_docbuf_new();
    ft_buf want;
    ft_buf_init(&want);
    for (uint32_t d = 0; d < nd; d++) {
        ft_doc doc;
        FZ_CHECK(ft_index_doc(ix, d, db, &doc, &err) == FT_OK, "doc %u: %s", d, err.msg);
        const char *src[2] = {ts[d], bs[d]};
        size_t sl[2] = {tl[d], bl[d]};
        const char *got[2] = {doc.title, doc.body};
        size_t gl[2] = {doc.title_len, doc.body_len};
        for (int f = 0; f < 2; f++) {
            ft_buf_reset(&want);
            const char *wp = src[f];
            size_t wl = sl[f];
            if (ft_utf8_sanitize(src[f], sl[f], &want)) wp = (const char *)want.p, wl = want.len;
            FZ_CHECK(gl[f] == wl && !memcmp(got[f], wp, wl), "doc %u: stored %s differs", d, f ? "body" : "title");
        }
    }
    ft_buf_free(&want);
    ft_docbuf_free(db);
    ft_index_close(ix);
    ft_analyzer_free(an);
    free(v.o);
    free(v.dl);
    ft_buf_free(&v.arena);
    return 0;
}
