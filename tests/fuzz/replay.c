/*
 * replay.c — runs saved fuzz inputs through a target without libFuzzer, the
 * way zstd's regression driver does, so `make check` (plain and ASan builds)
 * re-checks every input the fuzzers found interesting or crashing.
 *
 *   replay-TARGET PATH...     each PATH a file or a directory of files
 *
 * Inputs are run in sorted order; the target aborts on a broken invariant, so
 * reaching the end means every input passed.  Prints one summary line.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static unsigned long files;
static unsigned long long bytes;

static void run_file(const char *path)
{
    size_t n;
    uint8_t *p = fz_read_file(path, &n);
    /* a private copy of exactly n bytes, so ASan sees any read past the end */
    uint8_t *q = malloc(n ? n : 1);
    FZ_CHECK(q, "out of memory");
    memcpy(q, p, n);
    free(p);
    LLVMFuzzerTestOneInput(q, n);
    free(q);
    files++;
    bytes += n;
}

static int cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void run_path(const char *path)
{
    struct stat st;
    FZ_CHECK(stat(path, &st) == 0, "%s: %s", path, strerror(errno));
    if (!S_ISDIR(st.st_mode)) {
        run_file(path);
        return;
    }
    DIR *d = opendir(path);
    FZ_CHECK(d, "%s: %s", path, strerror(errno));
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            names = realloc(names, cap * sizeof *names);
            FZ_CHECK(names, "out of memory");
        }
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    if (n) qsort(names, n, sizeof *names, cmp);
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(path) + strlen(names[i]) + 2;
        char *f = malloc(l);
        FZ_CHECK(f, "out of memory");
        snprintf(f, l, "%s/%s", path, names[i]);
        run_path(f);
        free(f);
        free(names[i]);
    }
    free(names);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE-OR-DIRECTORY...\n", argv[0]);
        return 2;
    }
    if (LLVMFuzzerInitialize) LLVMFuzzerInitialize(&argc, &argv);
    for (int i = 1; i < argc; i++) run_path(argv[i]);
    const char *name = strrchr(argv[0], '/');
    printf("%s: %lu inputs (%llu bytes) passed\n", name ? name + 1 : argv[0], files, bytes);
    return 0;
}
