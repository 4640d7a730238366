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
    int all;         /* 1: the implicit operator between words is AND; 0: OR */
    int exhaustive;  /* 1: score every match (no pruning) */
    int count;       /* 1: count every match exactly (implies exhaustive) */
    int snippets;    /* 1: the hits' snippets will be made (ft_snipper_new): the
                      * search notes where the hits' postings are, so that
                      * their positions are read without being looked for */
} ft_search_opts;

void ft_search_opts_default(ft_search_opts *o);

typedef struct ft_hit {
    uint32_t doc;
    double score;
} ft_hit;

typedef struct ft_query ft_query;

/* Parse a query in ft's query language (docs/QUERY.md): words, "phrases",
 * "phrases"~N, prefix*, +must, -mustnot, AND, OR, NOT, parentheses.  Words are
 * analyzed with an (the index's) analyzer.  A query whose words all analyze
 * to nothing (punctuation, stopwords) is valid and matches nothing; an empty
 * or malformed query is FT_EINVAL with a message naming the column. */
int ft_query_parse(ft_analyzer *an, const char *text, size_t len, ft_query **out, ft_error *err);
/* Plain text: every word is a term, no operators, phrases or prefixes
 * (bag-of-words, for evaluation runs and text pasted from elsewhere). */
int ft_query_parse_plain(ft_analyzer *an, const char *text, size_t len, ft_query **out, ft_error *err);
void ft_query_free(ft_query *q);
/* The parsed query in a canonical form, e.g. (~russia ~soybean) or
 * (+"new york" -citi): '+' must, '-' must not, '|' explicit OR, '~' the
 * implicit operator (OR, AND with --all).  malloc'd; NULL on out of memory. */
char *ft_query_describe(const ft_query *q);
size_t ft_query_term_count(const ft_query *q);
/* i-th distinct positive term (analyzed; not under NOT or '-'), and how often
 * it appears in the query.  Prefix expansions are not included. */
const char *ft_query_term(const ft_query *q, size_t i, size_t *len, unsigned *qtf);

typedef struct ft_results {
    ft_hit *hits;         /* best first */
    size_t n;
    uint64_t matches;     /* documents matching the query */
    int matches_exact;    /* 1: matches is exact; 0: a lower bound (pruning skipped some) */
    char notice[256];     /* non-empty: something the user should know (capped prefix...) */
    struct ft_res_terms *terms_; /* private: the query terms' dictionary entries, which
                                  * ft_snipper_new reuses; freed by ft_results_free */
} ft_results;

int ft_search(const ft_index *ix, const ft_query *q, const ft_search_opts *o,
              ft_results *out, ft_error *err);
void ft_results_free(ft_results *r); /* frees hits; accepts zeroed struct */

/* Why doc scored what it did: one entry per matched query term, in the order
 * the score adds them up; the contributions sum to the hit's score. */
typedef struct ft_explain_term {
    const char *term;     /* valid until ft_explain_free */
    size_t len;
    uint32_t df, tf, doc_len;
    double idf, avgdl, k1, b, contribution;
} ft_explain_term;

typedef struct ft_explanation {
    ft_explain_term *terms;
    size_t n;
    int matched;          /* 0: doc does not match the query */
    double score;
    char **owned;         /* internal */
    size_t nowned;
} ft_explanation;

int ft_explain(const ft_index *ix, const ft_query *q, const ft_search_opts *o, uint32_t doc,
               ft_explanation *out, ft_error *err);
void ft_explain_free(ft_explanation *e);

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
/* The same on text the caller already holds (the body of a document it has
 * fetched with ft_index_doc), which spares a second fetch: a front end that
 * shows a hit's id and title should use this one. */
int ft_snippet_text(ft_analyzer *an, const ft_query *q, const char *body, size_t body_len,
                    const ft_snippet_opts *o, char **out, ft_error *err);

/* Snippets of one search's hits, for a front end: ft_snipper_new reads the
 * query terms' positions in all res's hits from the index at once (one
 * cursor per term), and ft_snipper_get(s, i, ...) then makes the snippet of
 * res->hits[i] from its document (fetched by the caller with ft_index_doc):
 * the positions say which words match and where the best window is, so the
 * body is read only up to that window and nothing is stemmed.  The result
 * is what ft_snippet_text gives, but for queries with prefix* terms, where
 * ft_snipper_get falls back to it.  The snipper borrows ix, an, q and res
 * until ft_snipper_free. */
typedef struct ft_snipper ft_snipper;
int ft_snipper_new(const ft_index *ix, ft_analyzer *an, const ft_query *q, const ft_results *res,
                   ft_snipper **out, ft_error *err);
int ft_snipper_get(ft_snipper *s, size_t i, const ft_doc *d, const ft_snippet_opts *o, char **out,
                   ft_error *err);
void ft_snipper_free(ft_snipper *s);

#endif
