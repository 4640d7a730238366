/*
 * eval.c — trec_eval's measures over flat, sorted arrays (see eval.h).
 *
 * Judgements and results are appended to two arrays of records whose strings
 * live in one arena of NUL-terminated copies (offsets, so the arena can grow).
 * ev_evaluate sorts judgements by (qid, docid, insertion order) and results by
 * (qid, score descending, docid descending), then walks both in qid order:
 * for each judged query it looks up each result's qrels value by binary
 * search in the query's judgements and scores the ranking.
 */
#include "eval.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const ev_measure_names[EV_NMEASURES] = {
    "ndcg_cut_10", "ndcg@10", "map", "P_10", "recall_100", "recall_1000", "recip_rank",
};

double ev_measure_get(const ev_measures *m, int i)
{
    switch (i) {
    case 0: return m->ndcg_cut_10;
    case 1: return m->ndcg10;
    case 2: return m->map;
    case 3: return m->p10;
    case 4: return m->recall100;
    case 5: return m->recall1000;
    default: return m->rr;
    }
}

typedef struct qrel { size_t qid, doc, seq; int rel; } qrel;
typedef struct result { size_t qid, doc; double score; } result;

struct ev_set {
    char *arena;
    size_t used, cap;
    qrel *q;
    size_t nq, capq;
    result *r;
    size_t nr, capr;
    const char *base; /* arena, for the sort comparators */
};

ev_set *ev_new(void) { return calloc(1, sizeof(ev_set)); }

void ev_free(ev_set *s)
{
    if (!s) return;
    free(s->arena);
    free(s->q);
    free(s->r);
    free(s);
}

/* Copy s into the arena; returns its offset or SIZE_MAX when out of memory. */
static size_t intern(ev_set *s, const char *str, size_t len)
{
    if (s->cap - s->used < len + 1) {
        size_t c = s->cap ? s->cap : 4096;
        while (c - s->used < len + 1) {
            if (c > SIZE_MAX / 2) return SIZE_MAX;
            c *= 2;
        }
        char *p = realloc(s->arena, c);
        if (!p) return SIZE_MAX;
        s->arena = p;
        s->cap = c;
    }
    size_t off = s->used;
    memcpy(s->arena + off, str, len);
    s->arena[off + len] = '\0';
    s->used += len + 1;
    return off;
}

static int grow(void **p, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap) return 0;
    size_t c = *cap ? *cap * 2 : 256;
    void *q = realloc(*p, c * elem);
    if (!q) return -1;
    *p = q;
    *cap = c;
    return 0;
}

static int add_qrel(ev_set *s, const char *qid, size_t qlen, const char *doc, size_t dlen, int rel)
{
    if (grow((void **)&s->q, &s->capq, s->nq, sizeof(qrel))) return -1;
    size_t a = intern(s, qid, qlen), b = a == SIZE_MAX ? SIZE_MAX : intern(s, doc, dlen);
    if (b == SIZE_MAX) return -1;
    s->q[s->nq] = (qrel){a, b, s->nq, rel};
    s->nq++;
    return 0;
}

static int add_result(ev_set *s, const char *qid, size_t qlen, const char *doc, size_t dlen,
                      double score)
{
    if (grow((void **)&s->r, &s->capr, s->nr, sizeof(result))) return -1;
    size_t a = intern(s, qid, qlen), b = a == SIZE_MAX ? SIZE_MAX : intern(s, doc, dlen);
    if (b == SIZE_MAX) return -1;
    s->r[s->nr++] = (result){a, b, score};
    return 0;
}

int ev_add_qrel(ev_set *s, const char *qid, const char *docid, int rel)
{
    return add_qrel(s, qid, strlen(qid), docid, strlen(docid), rel);
}

int ev_add_result(ev_set *s, const char *qid, const char *docid, double score)
{
    return add_result(s, qid, strlen(qid), docid, strlen(docid), score);
}

/* Split line into at most max white-space separated fields; returns the
 * count (max + 1 when there are more). */
static int split(const char *line, const char **f, size_t *len, int max)
{
    int n = 0;
    const char *p = line;
    for (;;) {
        while (*p && isspace((unsigned char)*p)) p++;
        if (!*p) return n;
        if (n == max) return max + 1;
        f[n] = p;
        while (*p && !isspace((unsigned char)*p)) p++;
        len[n] = (size_t)(p - f[n]);
        n++;
    }
}

int ev_parse_qrel_line(ev_set *s, const char *line, char *why, size_t cap)
{
    const char *f[4];
    size_t len[4];
    int n = split(line, f, len, 4);
    if (n == 0) return 0;
    if (n != 4) {
        snprintf(why, cap, "expected 4 fields (qid iter docid rel), got %s",
                 n > 4 ? "more" : n == 1 ? "1" : n == 2 ? "2" : "3");
        return -1;
    }
    char num[32], *end;
    if (len[3] >= sizeof num) goto badrel;
    memcpy(num, f[3], len[3]);
    num[len[3]] = '\0';
    errno = 0;
    long rel = strtol(num, &end, 10);
    if (*end || errno || rel < -1000000 || rel > 1000000) goto badrel;
    if (add_qrel(s, f[0], len[0], f[2], len[2], (int)rel)) {
        snprintf(why, cap, "out of memory");
        return -2;
    }
    return 1;
badrel:
    snprintf(why, cap, "relevance '%.*s' is not a whole number", (int)(len[3] > 40 ? 40 : len[3]),
             f[3]);
    return -1;
}

int ev_parse_run_line(ev_set *s, const char *line, char *why, size_t cap)
{
    const char *f[6];
    size_t len[6];
    int n = split(line, f, len, 6);
    if (n == 0) return 0;
    if (n != 6) {
        snprintf(why, cap, "expected 6 fields (qid Q0 docid rank score tag)");
        return -1;
    }
    char num[64], *end;
    if (len[4] >= sizeof num) goto badscore;
    memcpy(num, f[4], len[4]);
    num[len[4]] = '\0';
    errno = 0;
    double score = strtod(num, &end);
    if (*end || !isfinite(score)) goto badscore;
    if (add_result(s, f[0], len[0], f[2], len[2], score)) {
        snprintf(why, cap, "out of memory");
        return -2;
    }
    return 1;
badscore:
    snprintf(why, cap, "score '%.*s' is not a number", (int)(len[4] > 40 ? 40 : len[4]), f[4]);
    return -1;
}

/* ---------------------------------------------------------------- measures */

static int cmp_int_desc(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x < y) - (x > y);
}

/* DCG of gains g[0..n) cut at k; trec: trec_eval's discount. */
static double dcg(const int *g, size_t n, size_t k, int trec)
{
    double s = 0;
    for (size_t i = 0; i < n && i < k; i++) {
        if (g[i] <= 0) continue;
        double r = (double)(i + 1);
        if (trec) s += i == 0 ? g[i] : g[i] / log2(r);
        else s += g[i] / log2(r + 1);
    }
    return s;
}

void ev_score_ranking(const int *rels, size_t n, const int *judged, size_t njudged,
                      ev_measures *out)
{
    memset(out, 0, sizeof *out);
    size_t num_rel = 0;
    int ideal[10];
    size_t nideal = 0;
    /* the ten largest positive judgements, by insertion into a sorted array */
    for (size_t i = 0; i < njudged; i++) {
        if (judged[i] < 1) continue;
        num_rel++;
        if (nideal < 10) ideal[nideal++] = judged[i];
        else if (judged[i] > ideal[9]) ideal[9] = judged[i];
        else continue;
        qsort(ideal, nideal, sizeof(int), cmp_int_desc);
    }
    if (num_rel == 0) return;
    double i1 = dcg(ideal, nideal, 10, 1), i2 = dcg(ideal, nideal, 10, 0);
    out->ndcg_cut_10 = dcg(rels, n, 10, 1) / i1;
    out->ndcg10 = dcg(rels, n, 10, 0) / i2;
    size_t hits = 0;
    double ap = 0;
    for (size_t i = 0; i < n; i++) {
        if (rels[i] < 1) continue;
        hits++;
        ap += (double)hits / (double)(i + 1);
        if (out->rr == 0) out->rr = 1.0 / (double)(i + 1);
        if (i < 10) out->p10 += 1;
        if (i < 100) out->recall100 += 1;
        if (i < 1000) out->recall1000 += 1;
    }
    out->map = ap / (double)num_rel;
    out->p10 /= 10.0;
    out->recall100 /= (double)num_rel;
    out->recall1000 /= (double)num_rel;
}

/* ---------------------------------------------------------------- evaluation */

static _Thread_local const char *sort_base;

static int cmp_qrel(const void *a, const void *b)
{
    const qrel *x = a, *y = b;
    int c = strcmp(sort_base + x->qid, sort_base + y->qid);
    if (!c) c = strcmp(sort_base + x->doc, sort_base + y->doc);
    if (!c) c = (x->seq > y->seq) - (x->seq < y->seq);
    return c;
}

static int cmp_result(const void *a, const void *b)
{
    const result *x = a, *y = b;
    int c = strcmp(sort_base + x->qid, sort_base + y->qid);
    if (c) return c;
    if (x->score != y->score) return x->score < y->score ? 1 : -1;
    return -strcmp(sort_base + x->doc, sort_base + y->doc);
}

static int cmp_result_doc(const void *a, const void *b)
{
    const result *x = a, *y = b;
    int c = strcmp(sort_base + x->qid, sort_base + y->qid);
    return c ? c : strcmp(sort_base + x->doc, sort_base + y->doc);
}

/* Numeric qids first, numerically, then the rest in byte order. */
static int qid_order(const char *a, const char *b)
{
    size_t na = strspn(a, "0123456789"), nb = strspn(b, "0123456789");
    int da = na > 0 && !a[na], db = nb > 0 && !b[nb];
    if (da != db) return da ? -1 : 1;
    if (da) {
        while (*a == '0' && a[1]) a++, na--;
        while (*b == '0' && b[1]) b++, nb--;
        if (na != nb) return na < nb ? -1 : 1;
    }
    return strcmp(a, b);
}

static int cmp_query(const void *a, const void *b)
{
    return qid_order(((const ev_query *)a)->qid, ((const ev_query *)b)->qid);
}

int ev_evaluate(ev_set *s, ev_query **per, size_t *nper, ev_measures *mean, char *why,
                size_t cap)
{
    *per = NULL;
    *nper = 0;
    memset(mean, 0, sizeof *mean);
    sort_base = s->arena;
    if (s->nq) qsort(s->q, s->nq, sizeof(qrel), cmp_qrel);
    const char *A = s->arena;
    if (s->nr) { /* a document retrieved twice for one query makes the run invalid */
        qsort(s->r, s->nr, sizeof(result), cmp_result_doc);
        for (size_t i = 1; i < s->nr; i++) {
            if (!strcmp(A + s->r[i - 1].qid, A + s->r[i].qid) &&
                !strcmp(A + s->r[i - 1].doc, A + s->r[i].doc)) {
                snprintf(why, cap, "document %.100s retrieved twice for query %.100s",
                         A + s->r[i].doc, A + s->r[i].qid);
                return -2;
            }
        }
        qsort(s->r, s->nr, sizeof(result), cmp_result);
    }

    /* keep the last judgement of each (qid, docid) */
    size_t m = 0;
    for (size_t i = 0; i < s->nq; i++) {
        if (m > 0 && !strcmp(A + s->q[m - 1].qid, A + s->q[i].qid) &&
            !strcmp(A + s->q[m - 1].doc, A + s->q[i].doc))
            m--;
        s->q[m++] = s->q[i];
    }
    s->nq = m;

    size_t nquery = 0;
    for (size_t i = 0; i < s->nq; i++)
        if (i == 0 || strcmp(A + s->q[i - 1].qid, A + s->q[i].qid)) nquery++;
    ev_query *out = calloc(nquery ? nquery : 1, sizeof *out);
    int *judged = malloc((s->nq ? s->nq : 1) * sizeof(int));
    int *rels = malloc((s->nr ? s->nr : 1) * sizeof(int));
    if (!out || !judged || !rels) {
        free(out);
        free(judged);
        free(rels);
        snprintf(why, cap, "out of memory");
        return -1;
    }

    size_t nout = 0, ri = 0;
    for (size_t qi = 0; qi < s->nq;) {
        const char *qid = A + s->q[qi].qid;
        size_t qe = qi, nrel = 0;
        while (qe < s->nq && !strcmp(A + s->q[qe].qid, qid)) {
            judged[qe - qi] = s->q[qe].rel;
            if (s->q[qe].rel >= 1) nrel++;
            qe++;
        }
        /* results of this query: skip those of smaller qids */
        while (ri < s->nr && strcmp(A + s->r[ri].qid, qid) < 0) ri++;
        size_t re = ri;
        while (re < s->nr && !strcmp(A + s->r[re].qid, qid)) re++;
        if (nrel > 0) {
            for (size_t j = ri; j < re; j++) {
                const char *doc = A + s->r[j].doc;
                size_t lo = qi, hi = qe;
                int rel = 0;
                while (lo < hi) {
                    size_t mid = lo + (hi - lo) / 2;
                    int c = strcmp(A + s->q[mid].doc, doc);
                    if (c == 0) {
                        rel = s->q[mid].rel;
                        break;
                    }
                    if (c < 0) lo = mid + 1;
                    else hi = mid;
                }
                rels[j - ri] = rel;
            }
            ev_query *o = &out[nout++];
            o->qid = qid;
            o->relevant = nrel;
            o->retrieved = re - ri;
            ev_score_ranking(rels, re - ri, judged, qe - qi, &o->m);
        }
        ri = re;
        qi = qe;
    }
    free(judged);
    free(rels);
    qsort(out, nout, sizeof *out, cmp_query);
    if (nout) {
        double sum[EV_NMEASURES] = {0};
        for (size_t i = 0; i < nout; i++)
            for (int k = 0; k < EV_NMEASURES; k++) sum[k] += ev_measure_get(&out[i].m, k);
        double n = (double)nout;
        mean->ndcg_cut_10 = sum[0] / n;
        mean->ndcg10 = sum[1] / n;
        mean->map = sum[2] / n;
        mean->p10 = sum[3] / n;
        mean->recall100 = sum[4] / n;
        mean->recall1000 = sum[5] / n;
        mean->rr = sum[6] / n;
    }
    *per = out;
    *nper = nout;
    return 0;
}
