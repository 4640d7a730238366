/*
 * fuzz_query.c — fuzz target: query analysis and retrieval.
 *
 * Input: byte 0 = options (bit 0: all-words, bits 1-4: k, 0..15), byte 1 =
 * snippet length in words, the rest = the query text (any bytes).  The query
 * is parsed with the analyzer of a small fixed index (built on the first
 * call), searched, and a snippet is made for every hit.  Checked: hits are
 * at most k, ordered by score descending then document ascending, scores
 * finite and positive, matches >= hits, and every hit's snippet made by
 * ft_snipper (from the index's positions) equals ft_snippet's (from the
 * text).  When the query text is plain
 * lower-case ASCII words (no character any query syntax could use), the
 * results are also compared with a brute-force BM25 over the posting lists:
 * the number of hits, every hit's score, no better document left out, and a
 * match count no larger than the true one.
 */
#include <math.h>
#include <string.h>

#include "fuzz_util.h"
#include "ft_search.h"

static ft_index *ix;
static ft_analyzer *an;

static void setup(void)
{
    char *dir = fz_tempdir();
    fz_build_small_index(dir);
    ft_error err = {0};
    FZ_CHECK(ft_index_open(dir, &ix, &err) == FT_OK, "open: %s", err.msg);
    FZ_CHECK(ft_analyzer_new(ft_index_analyzer_opts(ix), &an, &err) == FT_OK, "analyzer: %s", err.msg);
    free(dir);
}

static int plain_words(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= '0' && p[i] <= '9') || p[i] == ' ')) return 0;
    return 1;
}

#define MAXD 64

/* Brute-force BM25 of every document (the index has fewer than MAXD). */
static void brute(const ft_query *q, const ft_search_opts *o, double *score, unsigned *nmatch)
{
    uint32_t N = ft_index_doc_count(ix);
    double avgdl = ft_index_avgdl(ix);
    memset(score, 0, MAXD * sizeof *score);
    memset(nmatch, 0, MAXD * sizeof *nmatch);
    for (size_t i = 0; i < ft_query_term_count(q); i++) {
        size_t len;
        unsigned qtf;
        const char *t = ft_query_term(q, i, &len, &qtf);
        ft_postings *p = NULL;
        ft_error err = {0};
        FZ_CHECK(ft_postings_open(ix, t, len, &p, &err) == FT_OK, "postings: %s", err.msg);
        double n = ft_postings_df(p);
        double idf = log(1.0 + (N - n + 0.5) / (n + 0.5));
        double w = qtf * idf * (o->k1 + 1);
        uint32_t d;
        while ((d = ft_postings_next(p)) != FT_DOC_END) {
            FZ_CHECK(d < MAXD, "doc %u", d);
            double tf = ft_postings_tf(p);
            double K = o->k1 * (1 - o->b + o->b * ft_index_doc_length(ix, d) / avgdl);
            score[d] += w * tf / (tf + K);
            nmatch[d]++;
        }
        ft_postings_close(p);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!ix) setup();
    if (size < 2) return 0;
    ft_search_opts o;
    ft_search_opts_default(&o);
    o.all = data[0] & 1;
    o.k = (data[0] >> 1) & 15;
    o.snippets = (data[1] >> 6) & 1; /* the snipper reads where the search noted the positions */
    unsigned swords = data[1] % 40;
    const char *text = (const char *)data + 2;
    size_t len = size - 2;

    ft_query *q = NULL;
    ft_error err = {0};
    int rc = ft_query_parse(an, text, len, &q, &err);
    if (rc != FT_OK) {
        FZ_CHECK(rc == FT_EINVAL, "query parse failed with %d: %s", rc, err.msg);
        FZ_CHECK(err.msg[0], "query parse error without a message");
        return 0;
    }
    ft_results res;
    memset(&res, 0, sizeof res);
    rc = ft_search(ix, q, &o, &res, &err);
    if (rc != FT_OK) {
        FZ_CHECK(rc == FT_EINVAL, "search failed with %d: %s", rc, err.msg);
        ft_query_free(q);
        return 0;
    }
    FZ_CHECK(res.n <= o.k, "%zu hits for k=%u", res.n, o.k);
    FZ_CHECK(res.matches >= res.n, "matches %llu < hits %zu", (unsigned long long)res.matches, res.n);
    FZ_CHECK(res.matches <= ft_index_doc_count(ix), "matches %llu", (unsigned long long)res.matches);
    ft_snipper *sn = NULL;
    ft_docbuf *db = ft_docbuf_new();
    ft_error nerr = {0};
    if (db && ft_snipper_new(ix, an, q, &res, &sn, &nerr) != FT_OK) sn = NULL;
    for (size_t i = 0; i < res.n; i++) {
        FZ_CHECK(res.hits[i].doc < ft_index_doc_count(ix), "hit doc %u", res.hits[i].doc);
        FZ_CHECK(isfinite(res.hits[i].score), "score not finite");
        if (i)
            FZ_CHECK(res.hits[i - 1].score > res.hits[i].score ||
                         (res.hits[i - 1].score == res.hits[i].score &&
                          res.hits[i - 1].doc < res.hits[i].doc),
                     "hits %zu and %zu out of order", i - 1, i);
        ft_snippet_opts so = {swords, "[", "]"};
        char *snip = NULL;
        ft_error serr = {0};
        if (ft_snippet(ix, an, q, res.hits[i].doc, &so, &snip, &serr) == FT_OK) {
            FZ_CHECK(snip, "snippet OK but NULL");
            ft_doc d;
            char *other = NULL;
            if (sn && ft_index_doc(ix, res.hits[i].doc, db, &d, &serr) == FT_OK &&
                ft_snipper_get(sn, i, &d, &so, &other, &serr) == FT_OK)
                FZ_CHECK(strcmp(snip, other) == 0, "hit %zu: snipper \"%s\", text \"%s\"", i, other, snip);
            free(other);
        }
        free(snip);
    }
    ft_snipper_free(sn);
    ft_docbuf_free(db);

    if (plain_words(data + 2, len) && ft_query_term_count(q) > 0) {
        double score[MAXD];
        unsigned nm[MAXD];
        brute(q, &o, score, nm);
        size_t nt = ft_query_term_count(q);
        uint64_t matches = 0;
        for (uint32_t d = 0; d < ft_index_doc_count(ix); d++)
            if (o.all ? nm[d] == nt : nm[d] > 0) matches++;
        /* exact, or a lower bound where the engine prunes (never more) */
        FZ_CHECK(res.matches <= matches, "matches %llu, brute force %llu",
                 (unsigned long long)res.matches, (unsigned long long)matches);
        FZ_CHECK(res.n == (matches < o.k ? matches : o.k), "%zu hits, %llu matches, k %u", res.n,
                 (unsigned long long)matches, o.k);
        for (size_t i = 0; i < res.n; i++) {
            uint32_t d = res.hits[i].doc;
            FZ_CHECK(fabs(res.hits[i].score - score[d]) <= 1e-9 * (1 + fabs(score[d])),
                     "doc %u score %.17g, brute force %.17g", d, res.hits[i].score, score[d]);
        }
        if (res.n) {
            double last = res.hits[res.n - 1].score;
            for (uint32_t d = 0; d < ft_index_doc_count(ix); d++) {
                int hit = 0;
                for (size_t i = 0; i < res.n; i++) hit |= res.hits[i].doc == d;
                int match = o.all ? nm[d] == nt : nm[d] > 0;
                if (!hit && match)
                    FZ_CHECK(score[d] <= last + 1e-9 * (1 + fabs(last)),
                             "doc %u (score %.17g) left out, last hit %.17g", d, score[d], last);
            }
        }
    }
    ft_results_free(&res);
    ft_query_free(q);
    return 0;
}
