/*
 * ft_search.h — BM25-ranked retrieval and snippets over an ft_index.
 *
 * Scoring (docs/RANKING.md): for a query with terms t (repeats counted),
 *   score(d) = sum_t idf(t) * tf(t,d) * (k1 + 1) / (tf(t,d) + k1 * (1 - b + b * |d| / avgdl))
 *   idf(t)   = ln(1 + (N - n_t + 0.5) / (n_t + 0.5))
 * with N documents, n_t documents containing t, |d| the indexed tokens of d and
 * avgdl the mean over the index.  Results are ordered by score descending, then
 * document number ascending, so rankings are deterministic.
 */
#ifndef FT_SEARCH_H
#define FT_SEARCH_H

#include "ft_common.h"
#include "ft_index.h"
#include "ft_tokenize.h"

typedef struct ft_search_opts {
    double k1;       /* default 1.2 */
    double b;        /* default 0.75 */
    unsigned k;      /* number of hits wanted; default 10 */
    int all;         /* 1: every query term must match (AND); 0: any (OR) */
} ft_search_opts;

void ft_search_opts_default(ft_search_opts *o);

typedef struct ft_hit {
    uint32_t doc;
    double score;
} ft_hit;

typedef struct ft_query ft_query;

/* Analyze a query string with the index's analyzer.  An empty query (no terms
 * after analysis) is valid and matches nothing. */
int ft_query_parse(ft_analyzer *an, const char *text, size_t len, ft_query **out, ft_error *err);
void ft_query_free(ft_query *q);
size_t ft_query_term_count(const ft_query *q);
/* i-th distinct term (analyzed), and how often it appeared in the query. */
const char *ft_query_term(const ft_query *q, size_t i, size_t *len, unsigned *qtf);

typedef struct ft_results {
    ft_hit *hits;         /* best first */
    size_t n;
    uint64_t matches;     /* documents matching the query (exact) */
} ft_results;

int ft_search(const ft_index *ix, const ft_query *q, const ft_search_opts *o,
              ft_results *out, ft_error *err);
void ft_results_free(ft_results *r); /* frees hits; accepts zeroed struct */

/* A snippet of doc's stored text: the window of about max_words words holding
 * the most distinct query terms, with each matched word wrapped in hl_open /
 * hl_close.  Newlines become spaces; "..." marks cut ends.  *out is malloc'd. */
typedef struct ft_snippet_opts {
    unsigned max_words;     /* default 30 */
    const char *hl_open;    /* default "[" */
    const char *hl_close;   /* default "]" */
} ft_snippet_opts;

int ft_snippet(const ft_index *ix, ft_analyzer *an, const ft_query *q, uint32_t doc,
               const ft_snippet_opts *o, char **out, ft_error *err);

#endif
