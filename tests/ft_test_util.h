/*
 * ft_test_util.h — helpers shared by the test files: temporary directories,
 * file I/O, token collection, a deterministic PRNG, a generated corpus and a
 * naive in-memory inversion of it (the reference the on-disk index is
 * compared against), and running an external program with captured output.
 */
#ifndef FT_TEST_UTIL_H
#define FT_TEST_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "ft_common.h"
#include "ft_index.h"
#include "ft_search.h"
#include "ft_tokenize.h"

/* ---- files and directories ---- */

/* mkdtemp("/tmp/ft-test-XXXXXX"); returns a malloc'd path (asserts on failure). */
char *tu_mkdtemp(void);
/* Remove a file or a directory tree; ignores a missing path. */
void tu_rmrf(const char *path);
/* malloc'd "a/b". */
char *tu_join(const char *a, const char *b);
void tu_write_file(const char *path, const void *data, size_t len);
void tu_write_str(const char *path, const char *s);
/* Whole file, NUL-terminated, malloc'd; NULL if it cannot be read. */
char *tu_read_file(const char *path, size_t *len);
/* Names in a directory (no "." or ".."), sorted, malloc'd; *n set. */
char **tu_list_dir(const char *dir, size_t *n);
void tu_free_list(char **names, size_t n);
/* Asserts that directories a and b hold the same file names with the same
 * bytes (what: the failure messages' subject). */
void tu_assert_same_files(const char *a, const char *b, const char *what);
/* Recursive copy of a flat directory (regular files only). */
void tu_copy_dir(const char *from, const char *to);

/* ---- analyzer helpers ---- */

typedef struct tu_tok {
    char *term;
    size_t len;
    uint32_t pos;
    size_t start, end;
} tu_tok;

typedef struct tu_toks {
    tu_tok *v;
    size_t n, cap;
} tu_toks;

void tu_toks_free(tu_toks *t);
/* ft_analyze into *out (appends); returns ft_analyze's result. */
int tu_analyze(ft_analyzer *a, const char *text, size_t len, uint32_t first_pos, tu_toks *out,
               ft_analyze_stats *st);
/* New analyzer with the given language (stopwords 0, maxlen default). */
ft_analyzer *tu_analyzer(const char *lang);

/* ---- PRNG (splitmix64) ---- */
typedef struct tu_rng { uint64_t s; } tu_rng;
uint64_t tu_rand(tu_rng *r);
/* Uniform in [0, n). */
uint32_t tu_randn(tu_rng *r, uint32_t n);
double tu_rand01(tu_rng *r);

/* ---- generated corpus ---- */

typedef struct tu_doc {
    char *id, *title, *body;
    size_t id_len, title_len, body_len;
} tu_doc;

typedef struct tu_corpus {
    tu_doc *docs;
    size_t n;
    char **vocab;  /* words the generator draws from */
    size_t nvocab;
} tu_corpus;

/* The deterministic corpus described in test_index.c: ndocs documents over a
 * Zipf-like vocabulary of nvocab words.  Every title contains TU_ALL_WORD;
 * exactly one document contains TU_ONCE_WORD; some documents repeat
 * TU_REPEAT_WORD hundreds of times. */
#define TU_ALL_WORD "omnipresent"
#define TU_ONCE_WORD "singularity"
#define TU_REPEAT_WORD "echo"
void tu_corpus_gen(tu_corpus *c, size_t ndocs, size_t nvocab, uint64_t seed);
void tu_corpus_add(tu_corpus *c, const char *id, const char *title, const char *body);
void tu_corpus_free(tu_corpus *c);
/* Append up to max_docs documents ({"id","title","body"} per line) of a JSON
 * Lines file, zstd-compressed when the name ends in ".zst".  Returns the
 * number added. */
size_t tu_corpus_load_jsonl(tu_corpus *c, const char *path, size_t max_docs);
/* $FT_SRC/../shared/corpora/<rel>, or skip the test when it is absent. */
char *tu_shared_corpus_or_skip(const char *rel);

/* ---- naive inversion ---- */

typedef struct tu_posting {
    uint32_t doc;
    uint32_t tf;
    uint32_t *pos;
} tu_posting;

typedef struct tu_term {
    char *term;
    size_t len;
    uint32_t df;
    uint64_t cf;
    tu_posting *p;
} tu_term;

typedef struct tu_inv {
    tu_term *terms;  /* sorted: memcmp order, a prefix before its extensions */
    size_t nterms;
    uint32_t ndocs;
    uint32_t *doclen;
    uint64_t tokens;
    uint64_t postings;
    uint64_t invalid_bytes; /* reported by the analyzer over all titles and bodies */
} tu_inv;

/* Invert the corpus with an analyzer of these options, the way the writer is
 * specified to: title from position 0, body from (title next_pos + 1). */
void tu_inv_build(tu_inv *inv, const tu_corpus *c, const ft_analyzer_opts *ao);
void tu_inv_free(tu_inv *inv);
const tu_term *tu_inv_find(const tu_inv *inv, const char *term, size_t len);
int tu_term_cmp(const char *a, size_t alen, const char *b, size_t blen);

/* Write the corpus with ft_writer (asserts success). */
void tu_build_index(const char *dir, const tu_corpus *c, const ft_writer_opts *wo);

/* ---- index versus naive inversion (ft_test_check.c) ---- */

typedef struct tu_term_list {
    char **t;
    size_t *len;
    uint32_t *df;
    size_t n, cap;
    size_t limit; /* stop after this many (robustness walks) */
} tu_term_list;

/* ft_term_fn collecting into a tu_term_list. */
int tu_collect_term(void *ctx, const char *term, size_t len, uint32_t df);
void tu_term_list_free(tu_term_list *l);
/* Stored fields byte for byte: exactly as in c (sanitize 0), or as in c with
 * invalid UTF-8 replaced by U+FFFD per maximal subpart (sanitize 1). */
void tu_check_stored(const ft_index *ix, const tu_corpus *c, int sanitize);
/* Everything: counts, lengths, avgdl, stored fields (sanitize 1),
 * dictionary, every posting list with next() and advance(), absent terms. */
void tu_check_index(const ft_index *ix, const tu_corpus *c, const tu_inv *inv);

/* ---- external programs ---- */

typedef struct tu_run {
    int status;      /* exit status, or 128 + signal */
    char *out;       /* captured stdout, NUL-terminated */
    size_t out_len;
    char *err;       /* captured stderr */
    size_t err_len;
} tu_run;

/* Run argv (argv[0] a path) with NO_COLOR=1 and FT_INDEX unset, stdin from
 * /dev/null; captures stdout and stderr. */
void tu_run_prog(tu_run *r, char *const argv[]);
void tu_run_free(tu_run *r);
/* tu_run_prog of $FT_BIN/<tool> with the NULL-terminated arguments that
 * follow (at most 62); skips the test when FT_BIN is unset. */
void tu_run_tool(tu_run *r, const char *tool, ...);
void tu_run_toolv(tu_run *r, const char *tool, va_list ap);

/* Called (when set) by the suite's open() wrapper (test_faults.c) before
 * each open, with its arguments: a test can stop its process there. */
extern void (*tu_open_hook)(const char *path, int flags);

/* getenv or skip the test when unset. */
const char *tu_env_or_skip(const char *name);

#endif
