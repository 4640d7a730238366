/*
 * test_impacts.c — the per-block impact frontier (ft_impact_add and
 * ft_impact_reduce, index/ft_index_int.h) that block-max skipping bounds
 * scores with: exact frontiers for hand-made blocks, the reduction to
 * FT_IMPACTS pairs, and on random blocks the property that matters: the
 * largest BM25 value over the stored pairs bounds every posting of the block
 * and equals the true maximum when nothing was reduced.
 */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "ft_index_int.h"

static unsigned frontier(const uint32_t (*pairs)[2], unsigned n, ft_impact *f)
{
    unsigned m = 0;
    for (unsigned i = 0; i < n; i++) ft_impact_add(f, &m, pairs[i][0], pairs[i][1]);
    return m;
}

static void expect(const ft_impact *f, unsigned m, const uint32_t (*want)[2], unsigned n)
{
    cr_assert_eq(m, n, "frontier has %u pairs, expected %u", m, n);
    for (unsigned i = 0; i < n; i++) {
        cr_assert_eq(f[i].tf, want[i][0], "pair %u: tf %u, expected %u", i, f[i].tf, want[i][0]);
        cr_assert_eq(f[i].len, want[i][1], "pair %u: len %u, expected %u", i, f[i].len, want[i][1]);
    }
}

Test(impacts, frontier_of_a_handmade_block)
{
    /* (tf, len) */
    static const uint32_t in[][2] = {{1, 50}, {1, 20}, {3, 40}, {2, 20}, {1, 10},
                                     {5, 100}, {3, 30}, {2, 60}, {5, 90}, {4, 95}};
    static const uint32_t want[][2] = {{1, 10}, {2, 20}, {3, 30}, {5, 90}};
    ft_impact f[16];
    unsigned m = frontier(in, sizeof in / sizeof *in, f);
    expect(f, m, want, 4);
}

Test(impacts, one_posting_dominating_all)
{
    static const uint32_t in[][2] = {{1, 30}, {2, 25}, {7, 3}, {4, 9}};
    static const uint32_t want[][2] = {{7, 3}};
    ft_impact f[8];
    expect(f, frontier(in, 4, f), want, 1);
}

Test(impacts, equal_pairs_and_equal_tf)
{
    static const uint32_t in[][2] = {{2, 10}, {2, 10}, {2, 8}, {1, 8}, {3, 12}, {3, 12}};
    static const uint32_t want[][2] = {{2, 8}, {3, 12}};
    ft_impact f[8];
    expect(f, frontier(in, 6, f), want, 2);
}

Test(impacts, reduce_to_eight_groups)
{
    cr_assert_eq(FT_IMPACTS, 8);
    /* a staircase of 10 pairs: groups {0} {1} {2} {3,4} {5} {6} {7} {8,9} */
    ft_impact f[32]; /* room for every distinct tf added */
    unsigned m = 0;
    for (uint32_t k = 1; k <= 10; k++) ft_impact_add(f, &m, k, 10 * k);
    cr_assert_eq(m, 10);
    ft_impact_reduce(f, &m);
    static const uint32_t want[][2] = {{1, 10}, {2, 20}, {3, 30}, {5, 40}, {6, 60}, {7, 70}, {8, 80}, {10, 90}};
    expect(f, m, want, 8);
    /* 20 pairs: groups of 2 and 3 alternating by the floor formula */
    m = 0;
    for (uint32_t k = 1; k <= 20; k++) ft_impact_add(f, &m, k, 10 * k);
    ft_impact_reduce(f, &m);
    static const uint32_t want20[][2] = {{2, 10}, {5, 30}, {7, 60}, {10, 80}, {12, 110}, {15, 130}, {17, 160}, {20, 180}};
    expect(f, m, want20, 8);
}

static double bm25(double tf, double len, double k1, double b, double avgdl)
{
    return tf / (tf + k1 * (1 - b + b * len / avgdl));
}

Test(impacts, random_blocks_bound_every_posting)
{
    srand(12345);
    static const double params[][3] = {{1.2, 0.75, 40}, {0.5, 1.0, 300}, {2.0, 0.0, 10}, {0.9, 0.3, 5}};
    for (int trial = 0; trial < 2000; trial++) {
        uint32_t pairs[128][2];
        unsigned n = 1 + (unsigned)rand() % 128;
        for (unsigned i = 0; i < n; i++) {
            pairs[i][0] = 1 + (uint32_t)(rand() % (trial % 3 ? 4 : 60));
            pairs[i][1] = 1 + (uint32_t)(rand() % 500);
        }
        ft_impact f[129];
        unsigned m = frontier(pairs, n, f);
        for (unsigned i = 1; i < m; i++)
            cr_assert(f[i].tf > f[i - 1].tf && f[i].len > f[i - 1].len, "frontier not increasing");
        unsigned full = m;
        ft_impact_reduce(f, &m);
        cr_assert_leq(m, FT_IMPACTS);
        for (unsigned p = 0; p < sizeof params / sizeof *params; p++) {
            double k1 = params[p][0], b = params[p][1], avgdl = params[p][2], best = 0, bound = 0;
            for (unsigned i = 0; i < n; i++) {
                double v = bm25(pairs[i][0], pairs[i][1], k1, b, avgdl);
                if (v > best) best = v;
            }
            for (unsigned i = 0; i < m; i++) {
                double v = bm25(f[i].tf, f[i].len, k1, b, avgdl);
                if (v > bound) bound = v;
            }
            cr_assert_geq(bound, best, "trial %d: bound %.17g below the block's best %.17g", trial, bound, best);
            if (full <= FT_IMPACTS)
                cr_assert_eq(bound, best, "trial %d: exact frontier gives %.17g, best is %.17g", trial, bound,
                             best);
        }
    }
}
