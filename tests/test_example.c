/*
 * test_example.c — the library example (examples/quickstart.c) still builds,
 * runs and prints what README.md shows.
 *
 * The example is built by `make check` next to the tools ($FT_BIN/examples/
 * quickstart: linked against libft.so in the plain build, against the
 * sanitized libft.a in the ASan build).  It is run on a fresh temporary index
 * directory and its standard output must equal examples/quickstart.expected
 * byte for byte: the documents it indexes, the match count, each hit's rank,
 * score (four decimals), id, title and snippet.  Running it a second time on
 * the same directory must give the same output (a build replaces the index).
 * A query that does not parse must make it exit 1 with the parser's message
 * on stderr, and nothing on stdout after the indexing line.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "ft_test_util.h"

static char *example_path(void)
{
    const char *bin = tu_env_or_skip("FT_BIN");
    return tu_join(bin, "examples/quickstart");
}

static char *expected_output(void)
{
    const char *src = tu_env_or_skip("FT_SRC");
    char *path = tu_join(src, "examples/quickstart.expected");
    char *text = tu_read_file(path, NULL);
    cr_assert_not_null(text, "cannot read %s", path);
    free(path);
    return text;
}

Test(example, quickstart_prints_the_documented_hits)
{
    char *prog = example_path();
    char *want = expected_output();
    char *tmp = tu_mkdtemp();
    char *dir = tu_join(tmp, "quick.ftindex");
    for (int round = 0; round < 2; round++) {
        tu_run r;
        char *argv[] = {prog, dir, NULL};
        tu_run_prog(&r, argv);
        cr_assert_eq(r.status, 0, "quickstart exited %d; stderr:\n%s", r.status, r.err);
        cr_assert_str_eq(r.out, want, "quickstart output (round %d) differs from "
                         "examples/quickstart.expected:\n%s", round + 1, r.out);
        cr_assert_eq(r.err_len, 0, "quickstart wrote to stderr:\n%s", r.err);
        tu_run_free(&r);
    }
    tu_rmrf(tmp);
    free(dir);
    free(tmp);
    free(want);
    free(prog);
}

Test(example, quickstart_reports_a_query_error)
{
    char *prog = example_path();
    char *tmp = tu_mkdtemp();
    char *dir = tu_join(tmp, "quick.ftindex");
    tu_run r;
    char *argv[] = {prog, dir, "\"trade war", NULL};
    tu_run_prog(&r, argv);
    cr_assert_eq(r.status, 1, "quickstart with a broken query exited %d", r.status);
    cr_assert_str_eq(r.out, "indexed 4 documents\n");
    cr_assert(strstr(r.err, "quickstart: query: column 1: unbalanced quote"),
              "unexpected stderr: %s", r.err);
    tu_run_free(&r);
    tu_rmrf(tmp);
    free(dir);
    free(tmp);
    free(prog);
}
