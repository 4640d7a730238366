/*
 * ft_search_int.h — internal to search/: the parsed query tree shared by the
 * parser (query.c) and the evaluator (search.c).
 */
#ifndef FT_SEARCH_INT_H
#define FT_SEARCH_INT_H

#include "ft_search.h"

#define FT_QUERY_MAX_DEPTH 64    /* parentheses nesting */
#define FT_QUERY_MAX_LEAVES 1024 /* terms, phrases and prefixes, after analysis */
#define FT_PREFIX_MAX 1024       /* expansions of one prefix* */

typedef enum qkind { Q_TERM, Q_PHRASE, Q_PREFIX, Q_BOOL } qkind;
typedef enum occur { OCC_SHOULD, OCC_MUST, OCC_NOT } occur;

typedef struct qnode {
    qkind kind;
    int column;              /* 1-based column in the query text (for messages) */
    /* Q_TERM: one term; Q_PHRASE: nterms terms at relative positions offs[];
     * Q_PREFIX: the prefix (folded, unstemmed) in terms[0] */
    char **terms;
    size_t *lens;
    uint32_t *offs;
    size_t nterms;
    unsigned slop;           /* Q_PHRASE: extra positions allowed (~N) */
    int field;               /* Q_TERM/Q_PHRASE: 1 = must occur in the title */
    /* Q_BOOL */
    struct qnode **kids;
    occur *occ;
    size_t nkids;
} qnode;

struct ft_query {
    qnode *root;             /* NULL: the query matches nothing */
    /* distinct positive terms (not under NOT), for snippets and callers */
    char **pos_terms;
    size_t *pos_lens;
    unsigned *pos_qtf;
    size_t npos;
    size_t pos_cap;
    /* positive prefix* nodes (borrowed from the tree), for snippets */
    const qnode **prefixes;
    size_t nprefixes;
};

void ft_qnode_free(qnode *n);

#endif
