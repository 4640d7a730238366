/*
 * ft_tokenize.h — the analyzer: UTF-8 text in, index terms out.
 *
 * Pipeline, per token:
 *   decode UTF-8 (invalid bytes count as U+FFFD, a separator, and are counted)
 *   -> split on Unicode letter/number/mark runs (apostrophes inside a word join it;
 *      a trailing possessive 's is removed)
 *   -> Han, Hiragana, Katakana and Hangul runs become overlapping character bigrams
 *      (a lone character stays a unigram), since those scripts are written
 *      without spaces between words
 *   -> NFKC + Unicode case folding (utf8proc), with an ASCII fast path
 *   -> optional stopword removal (positions still advance, so phrases keep gaps)
 *   -> tokens longer than max_token_bytes are dropped (positions still advance)
 *   -> Snowball stemming (libstemmer) through a direct-mapped stem cache.
 *
 * An analyzer holds a stemmer and a cache, so it is not thread-safe: use one
 * per thread.  The settings are serialised with ft_analyzer_opts_format() into
 * the index manifest and parsed back at search time, so queries are analyzed
 * exactly as the documents were.
 */
#ifndef FT_TOKENIZE_H
#define FT_TOKENIZE_H

#include "ft_common.h"

#define FT_MAX_TOKEN_BYTES 64   /* default: longer tokens are dropped */
#define FT_LANG_MAX 32

typedef struct ft_analyzer_opts {
    char lang[FT_LANG_MAX];    /* a libstemmer language ("english") or "none" */
    int stopwords;             /* 1: remove the built-in stopwords of lang (english only) */
    unsigned max_token_bytes;  /* after folding; 0 means FT_MAX_TOKEN_BYTES */
} ft_analyzer_opts;

void ft_analyzer_opts_default(ft_analyzer_opts *o);

/* Serialise as "lang=english stopwords=0 maxlen=64 cjk=bigram" (NUL-terminated,
 * at most cap bytes).  Returns FT_OK or FT_EINVAL if cap is too small. */
int ft_analyzer_opts_format(const ft_analyzer_opts *o, char *out, size_t cap);
/* Parse the string produced above.  Unknown keys are an error. */
int ft_analyzer_opts_parse(const char *s, ft_analyzer_opts *o, ft_error *err);

/* NULL-terminated list of the stemming languages libstemmer ships (static). */
const char **ft_stem_languages(void);

typedef struct ft_analyzer ft_analyzer;

int ft_analyzer_new(const ft_analyzer_opts *opts, ft_analyzer **out, ft_error *err);
void ft_analyzer_free(ft_analyzer *a); /* accepts NULL */
const ft_analyzer_opts *ft_analyzer_options(const ft_analyzer *a);

typedef struct ft_token {
    const char *term;  /* folded, stemmed term; valid only during the callback */
    size_t len;
    uint32_t pos;      /* token position (first_pos + ordinal, stopwords count) */
    size_t start;      /* byte range of the source word in the input text */
    size_t end;
    int stem;          /* ft_analyze_words only: 1 if the term is a word still to be
                        * stemmed with ft_analyzer_stem(), 0 if final (CJK bigram) */
} ft_token;

/* Return 0 to continue, non-zero to stop (that value is returned by ft_analyze). */
typedef int (*ft_token_fn)(void *ctx, const ft_token *tok);

typedef struct ft_analyze_stats {
    uint64_t tokens;        /* terms delivered to the callback */
    uint64_t dropped;       /* overlong tokens dropped */
    uint64_t stopped;       /* stopwords removed */
    uint64_t invalid_bytes; /* invalid UTF-8 bytes replaced */
    uint32_t next_pos;      /* position after the last token */
} ft_analyze_stats;

/* Analyze text[0..len).  Positions start at first_pos.  stats may be NULL.
 * Returns 0, or the callback's non-zero value. */
int ft_analyze(ft_analyzer *a, const char *text, size_t len, uint32_t first_pos,
               ft_token_fn fn, void *ctx, ft_analyze_stats *stats);

/* Like ft_analyze, but terms are delivered folded and NOT stemmed (tok->stem
 * says which need ft_analyzer_stem).  Lets a caller cache word -> term itself
 * (the index writer does, saving a second hash lookup per token). */
int ft_analyze_words(ft_analyzer *a, const char *text, size_t len, uint32_t first_pos,
                     ft_token_fn fn, void *ctx, ft_analyze_stats *stats);
/* ft_analyze_words delivering only the terms at positions >= from: earlier
 * ones are counted, not folded or delivered (snippets read a body up to the
 * window the index's positions point to). */
int ft_analyze_words_from(ft_analyzer *a, const char *text, size_t len, uint32_t first_pos,
                          uint32_t from, ft_token_fn fn, void *ctx, ft_analyze_stats *stats);
/* The words of ft_analyze_words_from at positions [from, to), as their
 * positions and byte ranges only (snippets whose matches the index gave):
 * written to out, at most cap of them (one word a position: to - from is
 * enough).  A word of ASCII bytes is neither copied nor folded.  *n gets
 * their number; returns 1 when a word at position to or later was reached
 * (or out was full), 0 when the text ended before, FT_ENOMEM. */
typedef struct ft_span {
    uint32_t pos;
    size_t start, end;
} ft_span;
int ft_analyze_spans(ft_analyzer *a, const char *text, size_t len, uint32_t first_pos, uint32_t from,
                     uint32_t to, ft_span *out, size_t cap, size_t *n);

/* Where a valid UTF-8 text may be cut so that analyzing text[0..k) and then
 * the rest (from the first's next_pos) gives the tokens of the whole: the
 * end k of its last separator character (not a letter, digit, mark,
 * apostrophe, number punctuation nor CJK), k > from; 0 when there is none. */
size_t ft_analyze_cut(const char *text, size_t len, size_t from);

/* Stem one folded word (through the stem cache).  The result is valid until
 * the next call on this analyzer. */
const char *ft_analyzer_stem(ft_analyzer *a, const char *word, size_t len, size_t *out_len);

/* Copy text to out with every invalid UTF-8 sequence replaced by U+FFFD.
 * Returns the number of invalid bytes; when it is 0, out is left untouched. */
size_t ft_utf8_sanitize(const char *text, size_t len, ft_buf *out);
/* Length of the longest valid UTF-8 prefix of text (len when all is valid). */
size_t ft_utf8_valid_prefix(const char *text, size_t len);
/* The same output as ft_utf8_sanitize, a piece at a time: continue from
 * *pos (a position a previous call stopped at, or 0), append to out until
 * it grew by at least max bytes or the text ends, and advance *pos. */
void ft_utf8_sanitize_part(const char *text, size_t len, size_t *pos, size_t max, ft_buf *out);
/* Length of ft_utf8_sanitize's output for text (len when all is valid). */
size_t ft_utf8_sanitized_len(const char *text, size_t len);

/* Stem-cache counters (for benchmarks). */
void ft_analyzer_cache_stats(const ft_analyzer *a, uint64_t *hits, uint64_t *misses);

#endif
