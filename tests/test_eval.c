/*
 * test_eval.c — the ranking-quality measures of tools/eval.c (used by
 * `ftbench eval`) against values worked out by hand, with trec_eval's
 * conventions: graded gains for nDCG and trec_eval's discount (rank 1 and 2
 * undiscounted), the rank column ignored in favour of score descending then
 * document id descending, queries without a relevant document not scored,
 * judged queries without results scoring 0, and malformed lines rejected.
 * The same cases are in bench/trec_eval.py --selftest, so the C and Python
 * scorers agree.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../tools/eval.h"

#define EPS 1e-12

static void close_to(double got, double want, const char *what)
{
    cr_assert(fabs(got - want) < EPS, "%s: got %.15f, want %.15f", what, got, want);
}

static ev_set *load(const char *qrels, const char *run)
{
    ev_set *s = ev_new();
    cr_assert_not_null(s);
    char why[200];
    char *copy = strdup(qrels), *save = NULL;
    for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
        cr_assert(ev_parse_qrel_line(s, l, why, sizeof why) >= 0, "qrels '%s': %s", l, why);
    free(copy);
    copy = strdup(run);
    for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
        cr_assert(ev_parse_run_line(s, l, why, sizeof why) >= 0, "run '%s': %s", l, why);
    free(copy);
    return s;
}

static const char *QRELS = "q1 0 d1 2\n"
                           "q1 0 d2 1\n"
                           "q1 0 d3 0\n"
                           "q1 0 d4 1\n"
                           "q2 0 d5 1\n"
                           "q3 0 d6 0\n";

Test(eval, hand_worked_query)
{
    /* q1: the rank column disagrees with the scores (ignored); d9 and d2 tie at 1.0
     * and docid descending puts d9 first: ranking d3 d1 d9 d2.  q2 has no results;
     * q3 has no relevant document (not scored); q4 is not judged (ignored). */
    ev_set *s = load(QRELS, "q1 Q0 d2 1 1.0 t\n"
                            "q1 Q0 d3 2 3.0 t\n"
                            "q1 Q0 d9 3 1.0 t\n"
                            "q1 Q0 d1 4 2.0 t\n"
                            "q3 Q0 d6 1 5.0 t\n"
                            "q4 Q0 d1 1 5.0 t\n");
    ev_query *per;
    size_t n;
    ev_measures mean;
    char why[200];
    cr_assert_eq(ev_evaluate(s, &per, &n, &mean, why, sizeof why), 0);
    cr_assert_eq(n, 2);
    cr_assert_str_eq(per[0].qid, "q1");
    cr_assert_str_eq(per[1].qid, "q2");
    cr_assert_eq(per[0].relevant, 3);
    cr_assert_eq(per[0].retrieved, 4);
    cr_assert_eq(per[1].retrieved, 0);
    const ev_measures *m = &per[0].m;
    /* relevant: d1 (gain 2) at rank 2, d2 (gain 1) at rank 4; d4 not retrieved */
    close_to(m->map, (1.0 / 2 + 2.0 / 4) / 3, "map");
    close_to(m->p10, 0.2, "P_10");
    close_to(m->recall100, 2.0 / 3, "recall_100");
    close_to(m->recall1000, 2.0 / 3, "recall_1000");
    close_to(m->rr, 0.5, "recip_rank");
    /* trec_eval: rank 1 undiscounted, rank r >= 2 divided by log2(r); ideal 2, 1, 1 */
    close_to(m->ndcg_cut_10, (2.0 / 1 + 1.0 / 2) / (2 + 1.0 / 1 + 1.0 / log2(3)), "ndcg_cut_10");
    close_to(m->ndcg10, (2.0 / log2(3) + 1.0 / log2(5)) / (2 + 1.0 / log2(3) + 1.0 / 2), "ndcg@10");
    for (int k = 0; k < EV_NMEASURES; k++) {
        close_to(ev_measure_get(&per[1].m, k), 0, ev_measure_names[k]);
        close_to(ev_measure_get(&mean, k), ev_measure_get(m, k) / 2, ev_measure_names[k]);
    }
    close_to(mean.map, 1.0 / 6, "mean map");
    free(per);
    ev_free(s);
}

Test(eval, perfect_ranking)
{
    ev_set *s = load(QRELS, "q1 Q0 d1 1 9 t\nq1 Q0 d2 2 8 t\nq1 Q0 d4 3 7 t\nq2 Q0 d5 1 1 t\n");
    ev_query *per;
    size_t n;
    ev_measures mean;
    char why[200];
    cr_assert_eq(ev_evaluate(s, &per, &n, &mean, why, sizeof why), 0);
    cr_assert_eq(n, 2);
    for (size_t q = 0; q < 2; q++) {
        close_to(per[q].m.ndcg_cut_10, 1, "ndcg_cut_10");
        close_to(per[q].m.ndcg10, 1, "ndcg@10");
        close_to(per[q].m.map, 1, "map");
        close_to(per[q].m.recall100, 1, "recall_100");
        close_to(per[q].m.recall1000, 1, "recall_1000");
        close_to(per[q].m.rr, 1, "recip_rank");
    }
    close_to(per[0].m.p10, 0.3, "P_10 q1");
    close_to(per[1].m.p10, 0.1, "P_10 q2");
    free(per);
    ev_free(s);
}

Test(eval, trec_discount_second_rank)
{
    /* one relevant document at rank 2: trec_eval's nDCG does not discount rank 2 */
    ev_set *s = load("a 0 x 1\n", "a Q0 y 1 2 t\na Q0 x 2 1 t\n");
    ev_query *per;
    size_t n;
    ev_measures mean;
    char why[200];
    cr_assert_eq(ev_evaluate(s, &per, &n, &mean, why, sizeof why), 0);
    cr_assert_eq(n, 1);
    close_to(per[0].m.ndcg_cut_10, 1, "ndcg_cut_10");
    close_to(per[0].m.ndcg10, 1 / log2(3), "ndcg@10");
    close_to(per[0].m.map, 0.5, "map");
    close_to(per[0].m.rr, 0.5, "recip_rank");
    free(per);
    ev_free(s);
}

Test(eval, cutoffs_and_graded_ideal)
{
    /* 12 judged relevant documents with gains 3,3,2,1,...; the run retrieves 150
     * documents with relevant ones at ranks 1, 11 and 120. */
    int judged[12] = {1, 3, 1, 2, 1, 1, 3, 1, 1, 1, 1, 1};
    int rels[150] = {0};
    rels[0] = 3;
    rels[10] = 2;
    rels[119] = 1;
    ev_measures m;
    ev_score_ranking(rels, 150, judged, 12, &m);
    /* ideal top 10: 3 3 2 1 1 1 1 1 1 1 */
    double ideal = 3 + 3 + 2 / log2(3) + 1 / log2(4);
    for (int r = 5; r <= 10; r++) ideal += 1 / log2(r);
    close_to(m.ndcg_cut_10, 3 / ideal, "ndcg_cut_10 (rank 11 is past the cut)");
    close_to(m.p10, 0.1, "P_10");
    close_to(m.recall100, 2.0 / 12, "recall_100");
    close_to(m.recall1000, 3.0 / 12, "recall_1000");
    close_to(m.map, (1.0 / 1 + 2.0 / 11 + 3.0 / 120) / 12, "map");
    close_to(m.rr, 1, "recip_rank");
}

Test(eval, numeric_qid_order_and_duplicate_judgement)
{
    /* qids 10, 9, x sort as 9, 10, x; the second judgement of (9, a) replaces the first */
    ev_set *s = load("10 0 a 1\n9 0 a 0\n9 0 a 1\nx 0 b 1\n", "9 Q0 a 1 1 t\n10 Q0 z 1 1 t\n");
    ev_query *per;
    size_t n;
    ev_measures mean;
    char why[200];
    cr_assert_eq(ev_evaluate(s, &per, &n, &mean, why, sizeof why), 0);
    cr_assert_eq(n, 3);
    cr_assert_str_eq(per[0].qid, "9");
    cr_assert_str_eq(per[1].qid, "10");
    cr_assert_str_eq(per[2].qid, "x");
    close_to(per[0].m.map, 1, "map 9");
    close_to(per[1].m.map, 0, "map 10");
    close_to(mean.map, 1.0 / 3, "mean map");
    free(per);
    ev_free(s);
}

Test(eval, rejects_bad_input)
{
    ev_set *s = ev_new();
    char why[200];
    cr_assert_eq(ev_parse_qrel_line(s, "   \t", why, sizeof why), 0);
    cr_assert_eq(ev_parse_qrel_line(s, "q1 0 d1", why, sizeof why), -1);
    cr_assert_str_eq(why, "expected 4 fields (qid iter docid rel), got 3");
    cr_assert_eq(ev_parse_qrel_line(s, "q1 0 d1 high", why, sizeof why), -1);
    cr_assert_str_eq(why, "relevance 'high' is not a whole number");
    cr_assert_eq(ev_parse_run_line(s, "q1 Q0 d1 1 x t", why, sizeof why), -1);
    cr_assert_str_eq(why, "score 'x' is not a number");
    cr_assert_eq(ev_parse_run_line(s, "q1 Q0 d1 1 1.5", why, sizeof why), -1);
    cr_assert_eq(ev_parse_qrel_line(s, "q1 0 d1 1", why, sizeof why), 1);
    cr_assert_eq(ev_parse_run_line(s, "q1 Q0 d1 1 1.5 t", why, sizeof why), 1);
    cr_assert_eq(ev_parse_run_line(s, "q1 Q0 d1 2 0.5 t", why, sizeof why), 1);
    ev_query *per;
    size_t n;
    ev_measures mean;
    cr_assert_eq(ev_evaluate(s, &per, &n, &mean, why, sizeof why), -2);
    cr_assert_str_eq(why, "document d1 retrieved twice for query q1");
    cr_assert_null(per);
    ev_free(s);
}

Test(eval, nothing_judged)
{
    ev_set *s = load("q 0 a 0\n", "q Q0 a 1 1 t\n");
    ev_query *per;
    size_t n;
    ev_measures mean;
    char why[200];
    cr_assert_eq(ev_evaluate(s, &per, &n, &mean, why, sizeof why), 0);
    cr_assert_eq(n, 0);
    close_to(mean.map, 0, "map");
    free(per);
    ev_free(s);
}
