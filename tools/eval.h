/*
 * eval.h — ranking-quality measures with trec_eval's definitions.
 *
 * Used by `ftbench eval` to score ft's own rankings and any TREC run file, so
 * every engine in bench/ is scored by the same code, and by tests/test_eval.c,
 * which checks each measure against values worked out by hand.
 *
 * Conventions (those of trec_eval 9 run with -c, as bench/trec_eval.py):
 * - a document is relevant when its qrels value is >= 1; the gain used by
 *   nDCG is that value (graded), negative values count as 0;
 * - only queries with at least one relevant document are scored; such a
 *   query with no results scores 0 on every measure; results for other
 *   queries are ignored;
 * - a query's results are ordered by score descending, ties broken by
 *   document id descending (byte order), whatever order they were added in;
 * - ndcg_cut_10 discounts rank r >= 2 by log2(r) and rank 1 not at all;
 *   ndcg10 is the common form with log2(r + 1) at every rank.
 *
 * The data is two flat arrays (judgements, results) sorted once, so there is
 * no hash table to get wrong; a few hundred queries of a thousand results each
 * sort in milliseconds.  Nothing here prints.
 */
#ifndef FT_EVAL_H
#define FT_EVAL_H

#include <stddef.h>

typedef struct ev_measures {
    double ndcg_cut_10; /* trec_eval ndcg_cut.10 */
    double ndcg10;      /* discount log2(r + 1) */
    double map;         /* average precision */
    double p10;         /* precision at 10 */
    double recall100;
    double recall1000;
    double rr;          /* reciprocal rank of the first relevant document */
} ev_measures;

/* Names of the measures as trec_eval.py prints them, in ev_measures order. */
#define EV_NMEASURES 7
extern const char *const ev_measure_names[EV_NMEASURES];
/* The i-th measure of m (in the order of ev_measure_names). */
double ev_measure_get(const ev_measures *m, int i);

typedef struct ev_set ev_set;

ev_set *ev_new(void); /* NULL when out of memory */
void ev_free(ev_set *s); /* accepts NULL */

/* Add one judgement (a later judgement of the same query and document
 * replaces the earlier) or one result.  Strings are copied.  Return 0, or -1
 * when out of memory. */
int ev_add_qrel(ev_set *s, const char *qid, const char *docid, int rel);
int ev_add_result(ev_set *s, const char *qid, const char *docid, double score);

/* Parse one line of a qrels file (`qid iter docid rel`) or of a TREC run
 * (`qid Q0 docid rank score tag`) and add it.  Returns 1 when added, 0 for a
 * blank line, or with a reason in why[0..cap): -1 for a malformed line, -2
 * when out of memory. */
int ev_parse_qrel_line(ev_set *s, const char *line, char *why, size_t cap);
int ev_parse_run_line(ev_set *s, const char *line, char *why, size_t cap);

typedef struct ev_query {
    const char *qid;    /* valid until ev_free */
    size_t relevant;    /* relevant documents in the qrels */
    size_t retrieved;   /* results for the query */
    ev_measures m;
} ev_query;

/* Score every query that has a relevant document.  On success *per (malloc'd,
 * the caller frees it) holds one entry per scored query in qid order (numeric
 * qids numerically, then the others in byte order), *mean the means over them
 * (all 0 when none).  Returns 0, -1 when out of memory, or -2 when a query
 * retrieved the same document twice (its qid and docid in why). */
int ev_evaluate(ev_set *s, ev_query **per, size_t *nper, ev_measures *mean, char *why,
                size_t cap);

/* Score one query.  rels[i] is the qrels value of the document at rank i + 1
 * (0 when unjudged); judged[0..njudged) are all of the query's qrels values. */
void ev_score_ranking(const int *rels, size_t n, const int *judged, size_t njudged,
                      ev_measures *out);

#endif
