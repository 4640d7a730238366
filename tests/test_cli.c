/*
 * test_cli.c — end-to-end tests of the command-line tools ($FT_BIN/ftindex and
 * $FT_BIN/ftsearch), spawned with NO_COLOR=1 and without FT_INDEX, with their
 * stdout, stderr and exit status captured: building the bundled sample
 * ($FT_SRC/sample) and finding the news article for "Russia soybeans" (JSON
 * output parsed with jansson, text output checked line by line), TREC batch
 * output for a queries file (format, and agreement with single queries), and
 * error handling: a missing index, a JSON Lines file with a broken line, no
 * documents, invalid UTF-8, binary files, unreadable files, and a failed build
 * leaving the previous index intact.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ft_test_util.h"

#define NEWS_FILE "2019-06-05-china-russia-ties.txt"

static void build_ok(const char *out_dir, const char *path)
{
    tu_run r;
    tu_run_tool(&r, "ftindex", "build", "-o", out_dir, path, NULL);
    cr_assert_eq(r.status, 0, "ftindex build -o %s %s exited %d; stderr:\n%s", out_dir, path,
                 r.status, r.err);
    tu_run_free(&r);
}

static void build_sample(const char *out_dir)
{
    const char *src = tu_env_or_skip("FT_SRC");
    char *sample = tu_join(src, "sample");
    build_ok(out_dir, sample);
    free(sample);
}

/* `ftsearch --json -i DIR [-k K] QUERY` parsed; asserts exit 0 with hits, 1
 * without. */
static json_t *search_json(const char *dir, const char *k, const char *query)
{
    tu_run r;
    if (k)
        tu_run_tool(&r, "ftsearch", "--json", "-k", k, "-i", dir, query, NULL);
    else
        tu_run_tool(&r, "ftsearch", "--json", "-i", dir, query, NULL);
    json_error_t je;
    json_t *j = json_loads(r.out, 0, &je);
    cr_assert_not_null(j, "ftsearch --json output is not one JSON value (%s at line %d): %s; exit %d, "
                       "stderr:\n%s", je.text, je.line, r.out, r.status, r.err);
    cr_assert(json_is_object(j));
    cr_assert(json_is_array(json_object_get(j, "hits")), "no hits array: %s", r.out);
    int want = json_array_size(json_object_get(j, "hits")) > 0 ? 0 : 1;
    cr_assert_eq(r.status, want, "ftsearch --json '%s' exited %d, want %d; stderr:\n%s", query,
                 r.status, want, r.err);
    cr_assert(json_is_integer(json_object_get(j, "matches")), "no matches count: %s", r.out);
    cr_assert(json_is_string(json_object_get(j, "query")), "no query string: %s", r.out);
    tu_run_free(&r);
    return j;
}

static json_int_t json_matches(json_t *j) { return json_integer_value(json_object_get(j, "matches")); }

static const char *hit_id(json_t *j, size_t i)
{
    json_t *h = json_array_get(json_object_get(j, "hits"), i);
    cr_assert_not_null(h, "no hit #%zu", i);
    json_t *id = json_object_get(h, "id");
    cr_assert(json_is_string(id));
    return json_string_value(id);
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

/* ------------------------------------------------------------ sample */

Test(cli, sample_json_search, .timeout = 120)
{
    char *dir = tu_mkdtemp();
    char *idx = tu_join(dir, "index");
    build_sample(idx);
    json_t *j = search_json(idx, NULL, "Russia soybeans");
    json_t *hits = json_object_get(j, "hits");
    cr_assert_gt(json_array_size(hits), 0);
    cr_assert_leq(json_array_size(hits), 10);
    cr_assert_geq(json_matches(j), (json_int_t)json_array_size(hits));
    cr_assert(ends_with(hit_id(j, 0), NEWS_FILE), "first hit is %s", hit_id(j, 0));
    cr_assert(strstr(json_string_value(json_object_get(j, "query")), "Russia"));
    double prev = 1e300;
    for (size_t i = 0; i < json_array_size(hits); i++) {
        json_t *h = json_array_get(hits, i);
        cr_assert(json_is_object(h));
        cr_assert(json_is_integer(json_object_get(h, "rank")), "hit %zu: rank", i);
        cr_assert_eq(json_integer_value(json_object_get(h, "rank")), (json_int_t)(i + 1));
        cr_assert(json_is_integer(json_object_get(h, "doc")), "hit %zu: doc", i);
        cr_assert(json_is_string(json_object_get(h, "id")), "hit %zu: id", i);
        cr_assert(json_is_string(json_object_get(h, "title")), "hit %zu: title", i);
        cr_assert(json_is_string(json_object_get(h, "snippet")), "hit %zu: snippet", i);
        json_t *sc = json_object_get(h, "score");
        cr_assert(json_is_number(sc), "hit %zu: score", i);
        double s = json_number_value(sc);
        cr_assert(s > 0 && s <= prev, "hit %zu: score %g after %g", i, s, prev);
        prev = s;
    }
    json_decref(j);
    tu_rmrf(dir);
    free(idx);
    free(dir);
}

Test(cli, sample_text_search, .timeout = 120)
{
    char *dir = tu_mkdtemp();
    char *idx = tu_join(dir, "index");
    build_sample(idx);
    json_t *j = search_json(idx, NULL, "Russia soybeans");

    tu_run r;
    tu_run_tool(&r, "ftsearch", "-i", idx, "Russia", "soybeans", NULL);
    cr_assert_eq(r.status, 0, "stderr:\n%s", r.err);
    cr_assert_null(strchr(r.out, '\x1b'), "colour escapes despite NO_COLOR: %s", r.out);
    char first[128];
    /* with pruning the count may be a lower bound; the JSON says which */
    int exact = json_is_true(json_object_get(j, "matches_exact"));
    snprintf(first, sizeof first, "%s%lld matching documents\n", exact ? "" : "at least ",
             (long long)json_matches(j));
    cr_assert(!strncmp(r.out, first, strlen(first)), "first line: want \"%s\", output:\n%s", first,
              r.out);

    /* every hit line: "RANK. [SCORE] ID — TITLE", ranks 1.. in the JSON order */
    json_t *hits = json_object_get(j, "hits");
    regex_t re;
    cr_assert_eq(regcomp(&re, "^([0-9]+)\\. \\[([0-9]+(\\.[0-9]+)?)\\] (.*)$", REG_EXTENDED), 0);
    size_t seen = 0;
    char *save = NULL;
    char *copy = strdup(r.out);
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        regmatch_t m[5];
        if (regexec(&re, line, 5, m, 0) != 0) continue;
        long rank = strtol(line + m[1].rm_so, NULL, 10);
        cr_assert_eq(rank, (long)(seen + 1), "hit line out of order: %s", line);
        json_t *h = json_array_get(hits, seen);
        cr_assert_not_null(h, "more hit lines than JSON hits: %s", line);
        char want[2048];
        snprintf(want, sizeof want, "%s \xe2\x80\x94 %s", json_string_value(json_object_get(h, "id")),
                 json_string_value(json_object_get(h, "title")));
        cr_assert_str_eq(line + m[4].rm_so, want, "hit %zu line: %s", seen + 1, line);
        double s = strtod(line + m[2].rm_so, NULL);
        double js = json_number_value(json_object_get(h, "score"));
        cr_assert(s > 0 && js > 0 && s / js > 0.99 && s / js < 1.01,
                  "text score %g vs JSON score %g", s, js);
        seen++;
    }
    cr_assert_eq(seen, json_array_size(hits), "%zu hit lines, JSON has %zu:\n%s", seen,
                 json_array_size(hits), r.out);
    cr_assert(strstr(r.out, "1. [") && strstr(r.out, NEWS_FILE), "%s", r.out);
    /* snippets: more lines than the header plus the hit lines */
    size_t lines = 0;
    for (const char *p = r.out; *p; p++) lines += *p == '\n';
    cr_assert_geq(lines, 1 + 2 * seen, "no snippet lines:\n%s", r.out);
    free(copy);
    regfree(&re);
    tu_run_free(&r);
    json_decref(j);
    tu_rmrf(dir);
    free(idx);
    free(dir);
}

Test(cli, batch_trec_output, .timeout = 120)
{
    char *dir = tu_mkdtemp();
    char *idx = tu_join(dir, "index");
    build_sample(idx);
    char *qf = tu_join(dir, "queries.tsv");
    const char *qids[3] = {"q1", "q2", "q3"};
    const char *qtext[3] = {"Russia soybeans", "basketball player", "Harrow School Shanghai"};
    tu_write_str(qf, "q1\tRussia soybeans\nq2\tbasketball player\nq3\tHarrow School Shanghai\n");

    tu_run r;
    tu_run_tool(&r, "ftsearch", "-i", idx, "--queries", qf, "--format", "trec", "-k", "5", NULL);
    cr_assert_eq(r.status, 0, "stderr:\n%s", r.err);

    regex_t re;
    cr_assert_eq(regcomp(&re,
                         "^([^ ]+) Q0 ([^ ]+) ([0-9]+) (-?[0-9]+(\\.[0-9]+)?([eE][-+]?[0-9]+)?) ft$",
                         REG_EXTENDED),
                 0);
    /* collect lines per qid */
    char *ids[3][5];
    double scores[3][5];
    size_t count[3] = {0, 0, 0};
    int last_q = -1;
    char *save = NULL;
    char *copy = strdup(r.out);
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        regmatch_t m[7];
        cr_assert_eq(regexec(&re, line, 7, m, 0), 0, "not a TREC line: \"%s\"", line);
        line[m[1].rm_eo] = 0;
        line[m[2].rm_eo] = 0;
        int q = -1;
        for (int i = 0; i < 3; i++)
            if (!strcmp(line + m[1].rm_so, qids[i])) q = i;
        cr_assert_geq(q, 0, "unknown qid %s", line + m[1].rm_so);
        cr_assert_geq(q, last_q, "qids out of order");
        last_q = q;
        cr_assert_lt(count[q], 5, "more than -k 5 lines for %s", qids[q]);
        long rank = strtol(line + m[3].rm_so, NULL, 10);
        cr_assert_eq(rank, (long)count[q] + 1, "%s: rank %ld after %zu lines", qids[q], rank,
                     count[q]);
        ids[q][count[q]] = strdup(line + m[2].rm_so);
        scores[q][count[q]] = strtod(line + m[4].rm_so, NULL);
        count[q]++;
    }
    for (int q = 0; q < 3; q++) {
        cr_assert_gt(count[q], 0, "no lines for %s", qids[q]);
        /* the same ranking as a single query */
        json_t *j = search_json(idx, "5", qtext[q]);
        json_t *hits = json_object_get(j, "hits");
        cr_assert_eq(count[q], json_array_size(hits), "%s: %zu TREC lines, %zu JSON hits", qids[q],
                     count[q], json_array_size(hits));
        for (size_t i = 0; i < count[q]; i++) {
            cr_assert_str_eq(ids[q][i], hit_id(j, i), "%s rank %zu", qids[q], i + 1);
            double js = json_number_value(json_object_get(json_array_get(hits, i), "score"));
            cr_assert(js > 0 && scores[q][i] / js > 0.9999 && scores[q][i] / js < 1.0001,
                      "%s rank %zu: TREC score %g, JSON %g", qids[q], i + 1, scores[q][i], js);
        }
        json_decref(j);
    }
    cr_assert(ends_with(ids[0][0], NEWS_FILE), "q1 first hit %s", ids[0][0]);
    for (int q = 0; q < 3; q++)
        for (size_t i = 0; i < count[q]; i++) free(ids[q][i]);
    free(copy);
    regfree(&re);
    tu_run_free(&r);
    free(qf);
    tu_rmrf(dir);
    free(idx);
    free(dir);
}

/* ------------------------------------------------------------ errors */

Test(cli, missing_index)
{
    tu_run r;
    tu_run_tool(&r, "ftsearch", "-i", "/nonexistent/x", "foo", NULL);
    cr_assert_eq(r.status, 3, "exit %d; stderr:\n%s", r.status, r.err);
    cr_assert(strstr(r.err, "cannot open index"), "stderr: %s", r.err);
    cr_assert_eq(r.out_len, 0, "stdout: %s", r.out);
    tu_run_free(&r);
}

Test(cli, jsonl_broken_line, .timeout = 60)
{
    char *dir = tu_mkdtemp();
    char *src = tu_join(dir, "docs.jsonl");
    char *idx = tu_join(dir, "index");
    tu_write_str(src,
                 "{\"id\": \"j1\", \"title\": \"First\", \"body\": \"alphaword one\"}\n"
                 "{\"id\": \"j2\", \"title\": \"Second\", \"body\": \"betaword two\"}\n"
                 "{\"id\": \"j3\", \"title\": \"Broken\" \"body\": brokenword\n"
                 "{\"id\": \"j4\", \"title\": \"Fourth\", \"body\": \"gammaword four\"}\n"
                 "{\"id\": \"j5\", \"title\": \"Fifth\", \"body\": \"deltaword five\"}\n");
    tu_run r;
    tu_run_tool(&r, "ftindex", "build", "-o", idx, src, NULL);
    cr_assert_eq(r.status, 0, "exit %d; stderr:\n%s", r.status, r.err);
    cr_assert(strstr(r.err, "docs.jsonl:3:"), "stderr does not point at line 3:\n%s", r.err);
    cr_assert(strstr(r.err, "invalid JSON"), "stderr:\n%s", r.err);
    tu_run_free(&r);

    const char *words[] = {"alphaword", "betaword", "gammaword", "deltaword"};
    const char *ids[] = {"j1", "j2", "j4", "j5"};
    for (int i = 0; i < 4; i++) {
        json_t *j = search_json(idx, NULL, words[i]);
        cr_assert_eq(json_matches(j), 1, "%s: %lld matches", words[i], (long long)json_matches(j));
        cr_assert_str_eq(hit_id(j, 0), ids[i]);
        json_decref(j);
    }
    json_t *j = search_json(idx, NULL, "brokenword");
    cr_assert_eq(json_matches(j), 0);
    json_decref(j);
    free(src);
    free(idx);
    tu_rmrf(dir);
    free(dir);
}

Test(cli, no_documents)
{
    char *dir = tu_mkdtemp();
    char *in = tu_join(dir, "in");
    mkdir(in, 0700);
    char *empty = tu_join(in, "empty.txt");
    tu_write_str(empty, "");
    char *idx = tu_join(dir, "index");
    tu_run r;
    tu_run_tool(&r, "ftindex", "build", "-o", idx, in, NULL);
    cr_assert_eq(r.status, 5, "exit %d; stderr:\n%s", r.status, r.err);
    cr_assert(strstr(r.err, "no documents"), "stderr:\n%s", r.err);
    tu_run_free(&r);
    free(empty);
    free(in);
    free(idx);
    tu_rmrf(dir);
    free(dir);
}

Test(cli, invalid_utf8_text_file_indexed, .timeout = 60)
{
    char *dir = tu_mkdtemp();
    char *in = tu_join(dir, "in");
    mkdir(in, 0700);
    char *f = tu_join(in, "bad.txt");
    /* mostly text, with a few bad sequences: overlong, surrogate, stray
     * bytes and a truncated sequence at the end */
    const char text[] = "Broken bytes\n\nThis file is ordinary prose that was saved with a few "
                        "damaged bytes in it, as happens with mixed encodings or a bad copy.\n"
                        "valid words here\xff\xfe zebra\xc0\xaf" "crossing\xed\xa0\x80"
                        " ends \xe4\xb8";
    tu_write_file(f, text, sizeof text - 1);
    char *idx = tu_join(dir, "index");
    build_ok(idx, in);
    const char *words[] = {"zebra", "crossing", "ends", "valid"};
    for (int i = 0; i < 4; i++) {
        json_t *j = search_json(idx, NULL, words[i]);
        cr_assert_eq(json_matches(j), 1, "%s: %lld matches", words[i], (long long)json_matches(j));
        cr_assert(ends_with(hit_id(j, 0), "bad.txt"), "%s", hit_id(j, 0));
        json_decref(j);
    }
    free(f);
    free(in);
    free(idx);
    tu_rmrf(dir);
    free(dir);
}

Test(cli, binary_file_skipped, .timeout = 60)
{
    char *dir = tu_mkdtemp();
    char *in = tu_join(dir, "in");
    mkdir(in, 0700);
    char *good = tu_join(in, "good.txt");
    tu_write_str(good, "Good\n\nan ordinary text file\n");
    char *blob = tu_join(in, "blob.txt");
    const char bin[] = "secretword in a file\0\0\0\x01\x02 with NUL bytes";
    tu_write_file(blob, bin, sizeof bin - 1);
    char *idx = tu_join(dir, "index");
    tu_run r;
    tu_run_tool(&r, "ftindex", "build", "-o", idx, in, NULL);
    cr_assert_eq(r.status, 0, "exit %d; stderr:\n%s", r.status, r.err);
    cr_assert(strstr(r.err, "binary"), "stderr:\n%s", r.err);
    cr_assert(strstr(r.err, "blob.txt"), "stderr does not name the file:\n%s", r.err);
    tu_run_free(&r);
    json_t *j = search_json(idx, NULL, "secretword");
    cr_assert_eq(json_matches(j), 0);
    json_decref(j);
    j = search_json(idx, NULL, "ordinary");
    cr_assert_eq(json_matches(j), 1);
    json_decref(j);
    free(good);
    free(blob);
    free(in);
    free(idx);
    tu_rmrf(dir);
    free(dir);
}

Test(cli, unreadable_file_reported, .timeout = 60)
{
    if (geteuid() == 0) cr_skip_test("running as root: chmod 000 does not stop reading");
    char *dir = tu_mkdtemp();
    char *in = tu_join(dir, "in");
    mkdir(in, 0700);
    char *ok = tu_join(in, "ok.txt");
    tu_write_str(ok, "Readable\n\nreadable words\n");
    char *locked = tu_join(in, "locked.txt");
    tu_write_str(locked, "Locked\n\nhiddenword\n");
    cr_assert_eq(chmod(locked, 0), 0);
    char *idx = tu_join(dir, "index");
    tu_run r;
    tu_run_tool(&r, "ftindex", "build", "-o", idx, in, NULL);
    cr_assert(strstr(r.err, "locked.txt"), "unreadable file not reported (exit %d):\n%s", r.status,
              r.err);
    tu_run_free(&r);
    chmod(locked, 0600);
    free(ok);
    free(locked);
    free(in);
    free(idx);
    tu_rmrf(dir);
    free(dir);
}

Test(cli, failed_build_keeps_previous_index, .timeout = 60)
{
    char *dir = tu_mkdtemp();
    char *in = tu_join(dir, "in");
    mkdir(in, 0700);
    char *f = tu_join(in, "keep.txt");
    tu_write_str(f, "Keeper\n\npersistent words survive\n");
    char *empty_in = tu_join(dir, "empty");
    mkdir(empty_in, 0700);
    char *e = tu_join(empty_in, "nothing.txt");
    tu_write_str(e, "");
    char *idx = tu_join(dir, "index");
    build_ok(idx, in);

    tu_run before;
    tu_run_tool(&before, "ftsearch", "-i", idx, "persistent", NULL);
    cr_assert_eq(before.status, 0, "stderr:\n%s", before.err);
    cr_assert(!strncmp(before.out, "1 matching document", 19), "%s", before.out);

    tu_run r;
    tu_run_tool(&r, "ftindex", "build", "-o", idx, empty_in, NULL);
    cr_assert_eq(r.status, 5, "exit %d; stderr:\n%s", r.status, r.err);
    tu_run_free(&r);

    tu_run after;
    tu_run_tool(&after, "ftsearch", "-i", idx, "persistent", NULL);
    cr_assert_eq(after.status, 0, "index unusable after a failed build; stderr:\n%s", after.err);
    cr_assert_str_eq(after.out, before.out);
    tu_run_free(&before);
    tu_run_free(&after);
    free(f);
    free(e);
    free(in);
    free(empty_in);
    free(idx);
    tu_rmrf(dir);
    free(dir);
}

/* ------------------------------------------------------------ exit status */

/* Run $FT_BIN/<tool> with the NULL-terminated arguments and assert its exit
 * status; returns the run (caller frees) for more checks. */
static tu_run expect_exit(int want, const char *tool, ...)
{
    char args[512] = "";
    size_t n = 0;
    va_list ap, copy;
    va_start(ap, tool);
    va_copy(copy, ap);
    const char *a;
    while ((a = va_arg(copy, const char *)) && n < sizeof args)
        n += (size_t)snprintf(args + n, sizeof args - n, " %.40s", a);
    va_end(copy);
    tu_run r;
    tu_run_toolv(&r, tool, ap);
    va_end(ap);
    cr_assert_eq(r.status, want, "%s%s: exit %d, want %d; stdout:\n%.300s\nstderr:\n%s", tool, args,
                 r.status, want, r.out, r.err);
    return r;
}

/* The name of the first file of dir ending in suffix (malloc'd path). */
static char *file_with_suffix(const char *dir, const char *suffix)
{
    size_t n;
    char **names = tu_list_dir(dir, &n);
    char *path = NULL;
    for (size_t i = 0; i < n && !path; i++)
        if (ends_with(names[i], suffix)) path = tu_join(dir, names[i]);
    tu_free_list(names, n);
    cr_assert_not_null(path, "no *%s file in %s", suffix, dir);
    return path;
}

static void flip_byte(const char *path, size_t off)
{
    size_t len;
    char *data = tu_read_file(path, &len);
    cr_assert(data && off < len, "%s: %zu bytes, cannot flip byte %zu", path, len, off);
    data[off] ^= 0x5a;
    tu_write_file(path, data, len);
    free(data);
}

/* ftsearch, like grep: 0 with a hit, 1 without, 2 for a usage error or a
 * query that does not parse, 3 when the index or a file cannot be read, 4
 * for a damaged index. */
Test(cli, exit_status_ftsearch, .timeout = 120)
{
    char *dir = tu_mkdtemp();
    char *idx = tu_join(dir, "index");
    build_sample(idx);
    tu_run r;

    r = expect_exit(0, "ftsearch", "-i", idx, "Russia", "soybeans", NULL);
    tu_run_free(&r);
    r = expect_exit(0, "ftsearch", "-i", idx, "--json", "Russia", NULL);
    tu_run_free(&r);
    r = expect_exit(1, "ftsearch", "-i", idx, "zzzqqqxx", NULL);
    cr_assert_str_eq(r.out, "no matching documents\n");
    cr_assert_eq(r.err_len, 0, "no hits is not an error: %s", r.err);
    tu_run_free(&r);
    r = expect_exit(1, "ftsearch", "-i", idx, "--json", "zzzqqqxx", NULL);
    cr_assert(strstr(r.out, "\"matches\": 0"), "%s", r.out);
    tu_run_free(&r);
    /* every word is in the index, but no document has all of them */
    r = expect_exit(1, "ftsearch", "-i", idx, "--all", "soybeans", "basketball", NULL);
    tu_run_free(&r);

    /* --count: a count of 0 is no result */
    r = expect_exit(0, "ftsearch", "-i", idx, "--count", "--json", "soybeans", NULL);
    cr_assert_null(strstr(r.out, "\"matches\": 0"), "%s", r.out);
    tu_run_free(&r);
    r = expect_exit(1, "ftsearch", "-i", idx, "--count", "--json", "zzzqqqxx", NULL);
    cr_assert(strstr(r.out, "\"matches\": 0"), "%s", r.out);
    tu_run_free(&r);

    /* usage errors */
    r = expect_exit(2, "ftsearch", "-i", idx, "\"trade war", NULL);
    cr_assert(strstr(r.err, "unbalanced quote"), "%s", r.err);
    tu_run_free(&r);
    r = expect_exit(2, "ftsearch", "-i", idx, "(russia", NULL);
    tu_run_free(&r);
    r = expect_exit(2, "ftsearch", "-i", idx, "--no-such-option", "russia", NULL);
    tu_run_free(&r);
    r = expect_exit(2, "ftsearch", "-i", idx, "-k", "zero", "russia", NULL);
    tu_run_free(&r);
    r = expect_exit(2, "ftsearch", "-i", idx, NULL);
    tu_run_free(&r);

    /* I/O: no index there, or not an index */
    r = expect_exit(3, "ftsearch", "-i", "/nonexistent/x", "russia", NULL);
    cr_assert_eq(r.out_len, 0, "stdout: %s", r.out);
    tu_run_free(&r);
    char *empty = tu_join(dir, "empty");
    mkdir(empty, 0700);
    r = expect_exit(3, "ftsearch", "-i", empty, "russia", NULL);
    cr_assert(strstr(r.err, "no MANIFEST"), "%s", r.err);
    tu_run_free(&r);

    /* a damaged dictionary: the magic number of the term file */
    char *bad = tu_join(dir, "bad");
    mkdir(bad, 0700);
    tu_copy_dir(idx, bad);
    char *tid = file_with_suffix(bad, ".tid");
    flip_byte(tid, 0);
    r = expect_exit(4, "ftsearch", "-i", bad, "russia", NULL);
    cr_assert(strstr(r.err, ".tid"), "the damaged file is not named: %s", r.err);
    cr_assert_eq(r.out_len, 0, "stdout: %s", r.out);
    tu_run_free(&r);

    free(tid);
    free(bad);
    free(empty);
    free(idx);
    tu_rmrf(dir);
    free(dir);
}

/* ftsearch --queries: 0 when any query had a hit, 1 when none had (queries
 * that do not parse are skipped with a message), 2 for a query id a TREC
 * run cannot hold, 3 for a queries file that cannot be read. */
Test(cli, exit_status_ftsearch_batch, .timeout = 120)
{
    char *dir = tu_mkdtemp();
    char *idx = tu_join(dir, "index");
    build_sample(idx);
    char *qf = tu_join(dir, "queries.tsv");
    tu_run r;

    tu_write_str(qf, "q1\tzzzqqqxx\nq2\tRussia soybeans\nq3\tyyyqqqxx\n");
    r = expect_exit(0, "ftsearch", "-i", idx, "--queries", qf, NULL);
    cr_assert(strstr(r.out, "q2 Q0 "), "%s", r.out);
    tu_run_free(&r);

    tu_write_str(qf, "q1\tzzzqqqxx\nq2\tyyyqqqxx\n");
    r = expect_exit(1, "ftsearch", "-i", idx, "--queries", qf, NULL);
    cr_assert_eq(r.out_len, 0, "stdout: %s", r.out);
    cr_assert_eq(r.err_len, 0, "no hits is not an error: %s", r.err);
    tu_run_free(&r);

    tu_write_str(qf, "q1\t\"unbalanced\nq2\tzzzqqqxx\n");
    r = expect_exit(1, "ftsearch", "-i", idx, "--queries", qf, NULL);
    cr_assert(strstr(r.err, "queries.tsv:1: skipped this query"), "%s", r.err);
    tu_run_free(&r);

    tu_write_str(qf, "q1\t\"unbalanced\nq2\tsoybeans\n");
    r = expect_exit(0, "ftsearch", "-i", idx, "--queries", qf, NULL);
    cr_assert(strstr(r.err, "queries.tsv:1: skipped this query"), "%s", r.err);
    tu_run_free(&r);

    tu_write_str(qf, "");
    r = expect_exit(1, "ftsearch", "-i", idx, "--queries", qf, NULL);
    tu_run_free(&r);

    tu_write_str(qf, "q 1\tsoybeans\n");
    r = expect_exit(2, "ftsearch", "-i", idx, "--queries", qf, NULL);
    cr_assert(strstr(r.err, "contains white space"), "%s", r.err);
    tu_run_free(&r);

    char *missing = tu_join(dir, "no-such-queries.tsv");
    r = expect_exit(3, "ftsearch", "-i", idx, "--queries", missing, NULL);
    cr_assert(strstr(r.err, "No such file or directory"), "%s", r.err);
    tu_run_free(&r);

    free(missing);
    free(qf);
    free(idx);
    tu_rmrf(dir);
    free(dir);
}

/* ftindex: 0 on success (check of a sound index), 1 when dump finds no such
 * term, 2 for usage errors, 3 for paths that cannot be read, 4 when check
 * finds damage, 5 when there is nothing to index. */
Test(cli, exit_status_ftindex, .timeout = 120)
{
    char *dir = tu_mkdtemp();
    char *idx = tu_join(dir, "index");
    build_sample(idx);
    tu_run r;

    r = expect_exit(0, "ftindex", "check", "-i", idx, NULL);
    cr_assert(!strncmp(r.out, "ok: ", 4), "%s", r.out);
    tu_run_free(&r);
    r = expect_exit(0, "ftindex", "dump", "-i", idx, "soybean", NULL);
    tu_run_free(&r);
    r = expect_exit(1, "ftindex", "dump", "-i", idx, "zzzqqqxx", NULL);
    cr_assert(strstr(r.err, "'zzzqqqxx' is not in the index"), "%s", r.err);
    tu_run_free(&r);
    r = expect_exit(0, "ftindex", "stats", "-i", idx, NULL);
    tu_run_free(&r);

    r = expect_exit(2, "ftindex", NULL);
    tu_run_free(&r);
    r = expect_exit(2, "ftindex", "frobnicate", NULL);
    tu_run_free(&r);
    r = expect_exit(2, "ftindex", "check", "--no-such-option", NULL);
    tu_run_free(&r);
    r = expect_exit(2, "ftindex", "build", "-o", idx, "--memory", "lots", NULL);
    tu_run_free(&r);

    char *missing = tu_join(dir, "no-such-input");
    r = expect_exit(3, "ftindex", "build", "-o", idx, missing, NULL);
    cr_assert(strstr(r.err, "No such file or directory"), "%s", r.err);
    tu_run_free(&r);
    r = expect_exit(3, "ftindex", "check", "-i", "/nonexistent/x", NULL);
    tu_run_free(&r);
    r = expect_exit(3, "ftindex", "stats", "-i", "/nonexistent/x", NULL);
    tu_run_free(&r);

    /* damage in the middle of the postings: only the checksum can tell */
    char *pst = file_with_suffix(idx, ".pst");
    size_t len;
    free(tu_read_file(pst, &len));
    flip_byte(pst, len / 2);
    r = expect_exit(4, "ftindex", "check", "-i", idx, NULL);
    cr_assert(strstr(r.err, ".pst"), "the damaged file is not named: %s", r.err);
    cr_assert(strstr(r.err, "check failed"), "%s", r.err);
    tu_run_free(&r);
    flip_byte(pst, len / 2);
    r = expect_exit(0, "ftindex", "check", "-i", idx, NULL);
    tu_run_free(&r);

    char *empty = tu_join(dir, "empty");
    mkdir(empty, 0700);
    r = expect_exit(5, "ftindex", "build", "-o", idx, empty, NULL);
    cr_assert(strstr(r.err, "no documents to index"), "%s", r.err);
    tu_run_free(&r);

    free(empty);
    free(pst);
    free(missing);
    free(idx);
    tu_rmrf(dir);
    free(dir);
}
