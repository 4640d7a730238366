/*
 * test_ftbench.c — end-to-end checks of $FT_BIN/ftbench that do not depend on
 * timing: `ftbench eval --run` prints exactly the measures worked out by hand
 * (the case of test_eval.c's hand_worked_query, from files), rejects a
 * malformed run with the file and line (exit 2), `ftbench query --json` over
 * a small built index has every documented key and the right query and hit
 * counts, usage errors exit with status 2 and a missing index with 3.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ft_test_util.h"

/* $FT_BIN/ftbench with the NULL-terminated arguments. */
static void ftbench(tu_run *r, ...)
{
    va_list ap;
    va_start(ap, r);
    tu_run_toolv(r, "ftbench", ap);
    va_end(ap);
}

Test(ftbench, eval_run_file)
{
    char *dir = tu_mkdtemp();
    char *qrels = tu_join(dir, "qrels"), *run = tu_join(dir, "run");
    tu_write_str(qrels, "q1 0 d1 2\nq1 0 d2 1\nq1 0 d3 0\nq1 0 d4 1\nq2 0 d5 1\nq3 0 d6 0\n");
    tu_write_str(run, "q1 Q0 d2 1 1.0 t\nq1 Q0 d3 2 3.0 t\nq1 Q0 d9 3 1.0 t\nq1 Q0 d1 4 2.0 t\n"
                      "q3 Q0 d6 1 5.0 t\nq4 Q0 d1 1 5.0 t\n");
    tu_run r;
    ftbench(&r, "eval", "--json", "--run", run, "--qrels", qrels, NULL);
    cr_assert_eq(r.status, 0, "stderr: %s", r.err);
    json_error_t je;
    json_t *o = json_loads(r.out, 0, &je);
    cr_assert_not_null(o, "not JSON: %s", r.out);
    /* per query q1 (q2 scores 0), halved: see test_eval.c */
    cr_assert_eq(json_integer_value(json_object_get(o, "queries")), 2);
    cr_assert_float_eq(json_real_value(json_object_get(o, "map")), (0.5 + 0.5) / 3 / 2, 1e-12);
    cr_assert_float_eq(json_real_value(json_object_get(o, "P_10")), 0.1, 1e-12);
    cr_assert_float_eq(json_real_value(json_object_get(o, "recip_rank")), 0.25, 1e-12);
    cr_assert_str_eq(json_string_value(json_object_get(o, "ft_version")), FT_VERSION_STRING);
    json_decref(o);
    tu_run_free(&r);

    ftbench(&r, "eval", "--run", run, "--qrels", qrels, NULL);
    cr_assert_eq(r.status, 0);
    cr_assert_not_null(strstr(r.out, "map            0.1667        2\n"), "%s", r.out);
    cr_assert_not_null(strstr(r.out, "\nmachine "), "%s", r.out);
    tu_run_free(&r);

    tu_write_str(run, "q1 Q0 d2 1 1.0 t\nq1 Q0 d3 2 high t\n");
    ftbench(&r, "eval", "--run", run, "--qrels", qrels, NULL);
    cr_assert_eq(r.status, 2, "malformed run: exit %d", r.status);
    char want[512];
    snprintf(want, sizeof want, "ftbench: %s:2: score 'high' is not a number\n", run);
    cr_assert_str_eq(r.err, want);
    tu_run_free(&r);

    free(qrels);
    free(run);
    tu_rmrf(dir);
    free(dir);
}

Test(ftbench, query_json)
{
    const char *src = tu_env_or_skip("FT_SRC");
    char *dir = tu_mkdtemp();
    char *ix = tu_join(dir, "ix"), *queries = tu_join(dir, "q.tsv");
    char *sample = tu_join(src, "sample/enwiki-sample.jsonl");
    tu_run r;
    ftbench(&r, "index", "-q", "-o", ix, sample, NULL);
    cr_assert_eq(r.status, 0, "stderr: %s", r.err);
    cr_assert_not_null(strstr(r.out, "input       3000 documents"), "%s", r.out);
    tu_run_free(&r);

    tu_write_str(queries, "a\tJarred Shaw\nb\tbasketball player\nc\tzzzqqqxx\n");
    ftbench(&r, "query", "-q", "--json", "-i", ix, queries, "-k", "5", "--repeat", "2", "-j", "2",
            NULL);
    cr_assert_eq(r.status, 0, "stderr: %s", r.err);
    json_error_t je;
    json_t *o = json_loads(r.out, 0, &je);
    cr_assert_not_null(o, "not JSON: %s", r.out);
    static const char *const keys[] = {"qps", "mean_ms", "p50_ms", "p95_ms", "p99_ms", "max_ms"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
        cr_assert(json_is_real(json_object_get(o, keys[i])), "key %s", keys[i]);
    cr_assert_eq(json_integer_value(json_object_get(o, "queries")), 3);
    cr_assert_eq(json_integer_value(json_object_get(o, "timed_queries")), 6);
    cr_assert_eq(json_integer_value(json_object_get(o, "threads")), 2);
    cr_assert_eq(json_integer_value(json_object_get(o, "hits")), 10); /* 5 + 5 + 0 */
    cr_assert(json_is_object(json_object_get(o, "cold")));
    json_decref(o);
    tu_run_free(&r);

    /* --fetch and --snippets time the same searches plus the hits' documents
     * (and snippets): the same hits, and the settings say what was timed */
    static const char *const fetch_opts[] = {"--fetch", "--snippets"};
    for (int f = 0; f < 2; f++) {
        ftbench(&r, "query", "-q", "--json", "-i", ix, queries, "-k", "5", "--no-cold", "--repeat", "1",
                fetch_opts[f], NULL);
        cr_assert_eq(r.status, 0, "%s: stderr: %s", fetch_opts[f], r.err);
        json_t *fo = json_loads(r.out, 0, &je);
        cr_assert_not_null(fo, "not JSON: %s", r.out);
        cr_assert_eq(json_integer_value(json_object_get(fo, "hits")), 10, "%s", fetch_opts[f]);
        cr_assert_not_null(strstr(r.out, f ? "its snippet (--snippets)" : "document (--fetch)"), "%s", r.out);
        json_decref(fo);
        tu_run_free(&r);
    }

    /* --snippet-cost: --snippets passes, each after a --fetch pass: both
     * summarized, and what the snippets added */
    ftbench(&r, "query", "-q", "--json", "-i", ix, queries, "-k", "5", "--no-cold", "--repeat", "3",
            "--snippet-cost", NULL);
    cr_assert_eq(r.status, 0, "stderr: %s", r.err);
    json_t *so = json_loads(r.out, 0, &je);
    cr_assert_not_null(so, "not JSON: %s", r.out);
    cr_assert_eq(json_integer_value(json_object_get(so, "timed_queries")), 9);
    json_t *fo = json_object_get(so, "fetch_only");
    cr_assert(json_is_object(fo), "%s", r.out);
    cr_assert_eq(json_integer_value(json_object_get(so, "hits")), 10);
    static const char *const cost_keys[] = {"qps", "mean_ms", "snippet_cost_median_pct", "snippet_cost_total_pct"};
    for (size_t i = 0; i < sizeof cost_keys / sizeof *cost_keys; i++)
        cr_assert(json_is_real(json_object_get(fo, cost_keys[i])), "key %s in %s", cost_keys[i], r.out);
    cr_assert_gt(json_real_value(json_object_get(fo, "snippet_cost_median_pct")), -100.0);
    json_decref(so);
    tu_run_free(&r);
    ftbench(&r, "query", "-q", "-i", ix, queries, "--no-cold", "--repeat", "1", "--snippet-cost", NULL);
    cr_assert_eq(r.status, 0, "stderr: %s", r.err);
    cr_assert_not_null(strstr(r.out, "\nfetch "), "%s", r.out);
    cr_assert_not_null(strstr(r.out, "snippets add "), "%s", r.out);
    tu_run_free(&r);

    /* --latencies: one line per query, in order: id, median ms, text */
    char *lat = tu_join(dir, "lat.tsv");
    ftbench(&r, "query", "-q", "-i", ix, queries, "--no-cold", "--repeat", "3", "--latencies", lat, NULL);
    cr_assert_eq(r.status, 0, "stderr: %s", r.err);
    tu_run_free(&r);
    char *text = tu_read_file(lat, NULL);
    static const char *const want[] = {"a\t", "\tJarred Shaw\n", "b\t", "\tbasketball player\n", "c\t",
                                       "\tzzzqqqxx\n"};
    const char *at = text;
    for (size_t i = 0; i < sizeof want / sizeof *want; i += 2) {
        cr_assert(!strncmp(at, want[i], strlen(want[i])), "line %zu of %s", i / 2, text);
        char *num_end;
        double ms = strtod(at + strlen(want[i]), &num_end);
        cr_assert(ms >= 0 && num_end > at + strlen(want[i]), "latency of line %zu in %s", i / 2, text);
        cr_assert(!strncmp(num_end, want[i + 1], strlen(want[i + 1])), "line %zu of %s", i / 2, text);
        at = num_end + strlen(want[i + 1]);
    }
    cr_assert_eq(*at, 0, "extra lines: %s", at);
    free(text);
    free(lat);

    free(ix);
    free(queries);
    free(sample);
    tu_rmrf(dir);
    free(dir);
}

Test(ftbench, usage_errors)
{
    tu_run r;
    ftbench(&r, NULL);
    cr_assert_eq(r.status, 2);
    tu_run_free(&r);
    ftbench(&r, "frobnicate", NULL);
    cr_assert_eq(r.status, 2);
    cr_assert_not_null(strstr(r.err, "ftbench: unknown subcommand 'frobnicate'"), "%s", r.err);
    tu_run_free(&r);
    ftbench(&r, "query", "-i", "x", NULL);
    cr_assert_eq(r.status, 2);
    tu_run_free(&r);
    ftbench(&r, "query", "-i", "x", "q", "--mode", "fuzzy", NULL);
    cr_assert_eq(r.status, 2);
    cr_assert_not_null(strstr(r.err, "--mode wants any, all, phrase or as-written"), "%s", r.err);
    tu_run_free(&r);
    ftbench(&r, "eval", "--run", "r", NULL);
    cr_assert_eq(r.status, 2);
    cr_assert_not_null(strstr(r.err, "--qrels R is required"), "%s", r.err);
    tu_run_free(&r);
}

/* Failures are told apart by the exit status: 3 for an index or a file that
 * cannot be read, 2 for a qrels file that is not one. */
Test(ftbench, io_errors)
{
    char *dir = tu_mkdtemp();
    char *queries = tu_join(dir, "q.tsv"), *missing = tu_join(dir, "missing");
    tu_write_str(queries, "a\tword\n");
    tu_run r;
    ftbench(&r, "query", "-q", "-i", missing, queries, NULL);
    cr_assert_eq(r.status, 3, "query, no index: exit %d: %s", r.status, r.err);
    tu_run_free(&r);
    ftbench(&r, "query", "-q", "-i", missing, missing, NULL);
    cr_assert_eq(r.status, 3, "query, no queries file: exit %d: %s", r.status, r.err);
    tu_run_free(&r);
    ftbench(&r, "codec", "-q", "-i", missing, NULL);
    cr_assert_eq(r.status, 3, "codec, no index: exit %d: %s", r.status, r.err);
    tu_run_free(&r);
    ftbench(&r, "eval", "--run", missing, "--qrels", queries, NULL);
    cr_assert_eq(r.status, 2, "eval, a qrels file of the wrong form: exit %d: %s", r.status, r.err);
    tu_run_free(&r);
    tu_write_str(queries, "a 0 d1 1\n"); /* now a qrels file */
    ftbench(&r, "eval", "--run", missing, "--qrels", queries, NULL);
    cr_assert_eq(r.status, 3, "eval, no run file: exit %d: %s", r.status, r.err);
    tu_run_free(&r);
    ftbench(&r, "index", "-q", missing, NULL);
    cr_assert_eq(r.status, 3, "index, no corpus: exit %d: %s", r.status, r.err);
    tu_run_free(&r);
    free(queries);
    free(missing);
    tu_rmrf(dir);
    free(dir);
}
