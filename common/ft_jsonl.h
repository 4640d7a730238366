/*
 * ft_jsonl.h — fast extraction of a few fields from one JSON Lines record.
 *
 * Why it exists: building an index from JSON Lines spent more CPU in jansson
 * (a DOM per line: a hash table, a malloc per key and value) than in the
 * whole inverted-index writer (see bench/RESULTS.md).  Indexing needs three
 * string fields of a flat object, so this scanner validates the record and
 * extracts just those, pointing into the line when a string has no escapes.
 *
 * It is deliberately conservative: it accepts only what it has fully
 * validated as JSON that jansson would also accept with the same values, and
 * returns FT_JSONL_FALLBACK for everything else (syntax errors, deep nesting,
 * unusual numbers, lone surrogates, invalid UTF-8, values of other types in the
 * wanted fields).  The caller then parses the line with jansson, which gives
 * the exact error message or the slow-path handling.  A differential test
 * (tests/test_jsonl.c) holds the two to the same answers.
 */
#ifndef FT_JSONL_H
#define FT_JSONL_H

#include "ft_common.h"

#define FT_JSONL_OK 1
#define FT_JSONL_FALLBACK 0

typedef enum ft_jsonl_kind {
    FT_JSONL_ABSENT = 0, /* key not present */
    FT_JSONL_NULL,
    FT_JSONL_STRING,
    FT_JSONL_INTEGER     /* text: the literal, identical to printf("%lld") of its value */
} ft_jsonl_kind;

typedef struct ft_jsonl_value {
    ft_jsonl_kind kind;
    const char *text;  /* decoded bytes (valid UTF-8, may contain NUL); not NUL-terminated */
    size_t len;
} ft_jsonl_value;

/* Scan line[0..len) (one JSON object, surrounding whitespace allowed).  For
 * each of the nkeys keys (at most 8) fill out[i].  Strings with escapes are
 * decoded into scratch (reset by this call); text pointers stay valid until
 * scratch or the line changes.  integer_ok[i] says whether key i may hold an
 * integer (otherwise an integer there means FT_JSONL_FALLBACK).  Returns
 * FT_JSONL_OK or FT_JSONL_FALLBACK. */
int ft_jsonl_extract(const char *line, size_t len, const char *const *keys, const int *integer_ok,
                     int nkeys, ft_jsonl_value *out, ft_buf *scratch);

#endif
