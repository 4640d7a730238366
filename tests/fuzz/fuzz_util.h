/*
 * fuzz_util.h — helpers shared by the fuzz targets in tests/fuzz/.
 *
 * Each target is one file defining LLVMFuzzerTestOneInput (and optionally
 * LLVMFuzzerInitialize).  The same file is linked either with libFuzzer
 * (`make fuzz`, clang -fsanitize=fuzzer) or with replay.c, a plain driver that
 * feeds it every saved input of tests/fuzz/corpus/<target>/ (`make check`,
 * plain and ASan builds).  So a target must not depend on libFuzzer: it keeps
 * its state in statics set up on the first call, reports a broken invariant
 * with FZ_CHECK (message on stderr, then abort(), which both drivers treat as a
 * failure), and frees everything it allocates per input so LeakSanitizer can
 * flag a leak.
 */
#ifndef FT_FUZZ_UTIL_H
#define FT_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "ft_common.h"
#include "ft_index.h"
#include "ft_tokenize.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_CHECK(cond, ...)                                                      \
    do {                                                                         \
        if (!(cond)) {                                                           \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                        \
            fputc('\n', stderr);                                                 \
            abort();                                                             \
        }                                                                        \
    } while (0)

/* A fresh directory under /dev/shm (fsync is free there) or $TMPDIR or /tmp,
 * removed at exit.  malloc'd path; aborts on failure. */
char *fz_tempdir(void);
/* Remove a flat directory and its files. */
void fz_rmdir(const char *dir);

/* The small fixed index the query and reader targets use: a few dozen
 * generated documents (English analyzer, tiny blocks so posting lists span
 * several blocks and frames), built once into dir. */
void fz_build_small_index(const char *dir);

/* Walk everything an index offers (terms, every posting with positions,
 * advance(), every stored document, lengths); returns the number of
 * postings seen.  Errors are allowed; crashes are what the walk looks for. */
uint64_t fz_walk_index(const ft_index *ix);

/* Whole file into malloc'd memory; aborts on failure. */
uint8_t *fz_read_file(const char *path, size_t *len);
void fz_write_file(const char *path, const void *p, size_t n);

#endif
