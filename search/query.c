/*
 * query.c — the query language: lexer, recursive-descent parser, analysis of
 * words into index terms.  docs/QUERY.md is the user-facing description.
 *
 *   query    := list EOF
 *   list     := item+              implicit operator: OR (AND with --all)
 *   item     := ["+" | "-"] orx    + must match, - must not match
 *   orx      := andx ("OR" andx)*
 *   andx     := notx ("AND" notx)*
 *   notx     := unary ("NOT" unary)*        a NOT b = a AND NOT b
 *   unary    := "NOT" unary | primary
 *   primary  := WORD | WORD* | "phrase"[~N] | "(" list ")"
 *
 * Juxtaposition binds loosest, so "a b AND c" is a OR (b AND c), as in
 * Xapian.  Words go through the index's analyzer: a word that becomes several
 * terms ("x-ray", "U.S.", a run of Chinese characters) is a phrase of them,
 * and a word that becomes none (punctuation, a stopword) is dropped.
 *
 * Every failure names the column (1-based, in characters) so the user can
 * find it.  Nesting depth and the number of terms are capped, so no query
 * can exhaust the stack or memory.
 */
#include "ft_search_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum tkind { T_END, T_WORD, T_PHRASE, T_LPAREN, T_RPAREN, T_AND, T_OR, T_NOT, T_PLUS, T_MINUS } tkind;

typedef struct qtok {
    tkind kind;
    size_t start, len;   /* bytes of the word or of the phrase's inside */
    unsigned slop;
    int prefix;          /* word ended with '*' */
    int field;           /* 1: title:word or title:"phrase" */
} qtok;

typedef struct parser {
    ft_analyzer *an;
    const char *s;
    size_t n, i;
    qtok t;              /* current token */
    size_t leaves;
    int rc;
    ft_error *err;
} parser;

static int column_of(const parser *p, size_t off)
{
    int col = 1;
    for (size_t i = 0; i < off && i < p->n; i++)
        if (((unsigned char)p->s[i] & 0xC0) != 0x80) col++;
    return col;
}

static int fail(parser *p, size_t off, const char *fmt, const char *arg)
{
    if (!p->rc) {
        char msg[256];
        snprintf(msg, sizeof msg, fmt, arg ? arg : "");
        p->rc = ft_error_set(p->err, FT_EINVAL, "query: column %d: %s", column_of(p, off), msg);
    }
    return p->rc;
}

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

/* Read the next token into p->t. */
static void lex(parser *p);
static void lex(parser *p)
{
    while (p->i < p->n && is_space(p->s[p->i])) p->i++;
    qtok *t = &p->t;
    memset(t, 0, sizeof *t);
    t->start = p->i;
    if (p->i >= p->n) { t->kind = T_END; return; }
    char c = p->s[p->i];
    if (c == '(') { t->kind = T_LPAREN; p->i++; return; }
    if (c == ')') { t->kind = T_RPAREN; p->i++; return; }
    if ((c == '+' || c == '-') && !(p->i + 1 < p->n && (p->s[p->i + 1] == '+' || p->s[p->i + 1] == '-'))) {
        size_t j = p->i + 1;
        if (j >= p->n || is_space(p->s[j]) || p->s[j] == ')' ) {
            fail(p, p->i, c == '+' ? "'+' must be followed by a word, a phrase or '('"
                                    : "'-' must be followed by a word, a phrase or '('", NULL);
            t->kind = T_END;
            return;
        }
        t->kind = c == '+' ? T_PLUS : T_MINUS;
        p->i++;
        return;
    }
    if (c == '"') {
        size_t j = p->i + 1;
        while (j < p->n && p->s[j] != '"') j++;
        if (j >= p->n) {
            fail(p, p->i, "unbalanced quote: this '\"' has no closing '\"'", NULL);
            t->kind = T_END;
            return;
        }
        t->kind = T_PHRASE;
        t->start = p->i + 1;
        t->len = j - p->i - 1;
        p->i = j + 1;
        if (p->i < p->n && p->s[p->i] == '~') {
            size_t k = p->i + 1;
            unsigned long v = 0;
            while (k < p->n && p->s[k] >= '0' && p->s[k] <= '9' && v <= 1000) v = v * 10 + (unsigned long)(p->s[k++] - '0');
            if (k == p->i + 1 || v > 1000) {
                fail(p, p->i, "'~' after a phrase must be followed by a number from 0 to 1000", NULL);
                t->kind = T_END;
                return;
            }
            t->slop = (unsigned)v;
            p->i = k;
        }
        return;
    }
    size_t j = p->i;
    while (j < p->n && !is_space(p->s[j]) && p->s[j] != '(' && p->s[j] != ')' && p->s[j] != '"') j++;
    t->kind = T_WORD;
    t->len = j - p->i;
    p->i = j;
    const char *w = p->s + t->start;
    if (t->len >= 6 && !memcmp(w, "title:", 6)) { /* field restriction */
        if (t->len == 6) {
            if (p->i < p->n && p->s[p->i] == '"') {
                lex(p); /* the phrase right after title: */
                if (p->t.kind == T_PHRASE) p->t.field = 1;
                return;
            }
            fail(p, t->start, "'title:' must be followed by a word or a \"phrase\"", NULL);
            t->kind = T_END;
            return;
        }
        t->field = 1;
        t->start += 6;
        t->len -= 6;
        w += 6;
    }
    if (t->len == 3 && !memcmp(w, "AND", 3)) t->kind = T_AND;
    else if (t->len == 2 && !memcmp(w, "OR", 2)) t->kind = T_OR;
    else if (t->len == 3 && !memcmp(w, "NOT", 3)) t->kind = T_NOT;
    else if (t->len > 1 && w[t->len - 1] == '*') {
        t->prefix = 1;
        t->len--;
    }
}

/* ------------------------------------------------------------------ nodes */

void ft_qnode_free(qnode *n)
{
    if (!n) return;
    for (size_t i = 0; i < n->nterms; i++) free(n->terms[i]);
    free(n->terms);
    free(n->lens);
    free(n->offs);
    for (size_t i = 0; i < n->nkids; i++) ft_qnode_free(n->kids[i]);
    free(n->kids);
    free(n->occ);
    free(n);
}

static qnode *new_node(parser *p, qkind k, size_t off)
{
    qnode *n = calloc(1, sizeof *n);
    if (!n) {
        if (!p->rc) p->rc = ft_error_set(p->err, FT_ENOMEM, "out of memory parsing the query");
        return NULL;
    }
    n->kind = k;
    n->column = column_of(p, off);
    return n;
}

static int add_kid(parser *p, qnode *b, qnode *kid, occur o)
{
    if (!kid) return 0;
    qnode **k = realloc(b->kids, (b->nkids + 1) * sizeof *k);
    if (k) b->kids = k;
    occur *oc = k ? realloc(b->occ, (b->nkids + 1) * sizeof *oc) : NULL;
    if (!k || !oc) {
        ft_qnode_free(kid);
        if (!p->rc) p->rc = ft_error_set(p->err, FT_ENOMEM, "out of memory parsing the query");
        return p->rc;
    }
    b->occ = oc;
    b->kids[b->nkids] = kid;
    b->occ[b->nkids] = o;
    b->nkids++;
    return 0;
}

/* Drop empty booleans; a boolean of one SHOULD or MUST child is that child. */
static qnode *simplify(qnode *b)
{
    if (!b || b->kind != Q_BOOL) return b;
    if (b->nkids == 0) {
        ft_qnode_free(b);
        return NULL;
    }
    if (b->nkids == 1 && b->occ[0] != OCC_NOT) {
        qnode *k = b->kids[0];
        b->nkids = 0;
        ft_qnode_free(b);
        return k;
    }
    return b;
}

typedef struct collect {
    char **t;
    size_t *l;
    uint32_t *pos;
    size_t n, cap;
    int oom;
} collect;

static int on_qtok(void *ctx, const ft_token *tok)
{
    collect *c = ctx;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 4;
        char **t = realloc(c->t, cap * sizeof *t);
        if (t) c->t = t;
        size_t *l = t ? realloc(c->l, cap * sizeof *l) : NULL;
        if (l) c->l = l;
        uint32_t *ps = l ? realloc(c->pos, cap * sizeof *ps) : NULL;
        if (!ps) { c->oom = 1; return 1; }
        c->pos = ps;
        c->cap = cap;
    }
    char *s = malloc(tok->len + 1);
    if (!s) { c->oom = 1; return 1; }
    memcpy(s, tok->term, tok->len);
    s[tok->len] = 0;
    c->t[c->n] = s;
    c->l[c->n] = tok->len;
    c->pos[c->n] = tok->pos;
    c->n++;
    return 0;
}

static void collect_free(collect *c)
{
    for (size_t i = 0; i < c->n; i++) free(c->t[i]);
    free(c->t);
    free(c->l);
    free(c->pos);
}

/* A word or the inside of a phrase, analyzed: NULL when it has no terms. */
static qnode *leaf(parser *p, size_t start, size_t len, int phrase, unsigned slop, int prefix, int field)
{
    collect c;
    memset(&c, 0, sizeof c);
    if (prefix) ft_analyze_words(p->an, p->s + start, len, 0, on_qtok, &c, NULL);
    else ft_analyze(p->an, p->s + start, len, 0, on_qtok, &c, NULL);
    if (c.oom) {
        collect_free(&c);
        if (!p->rc) p->rc = ft_error_set(p->err, FT_ENOMEM, "out of memory parsing the query");
        return NULL;
    }
    if (c.n == 0) {
        collect_free(&c);
        return NULL;
    }
    if (prefix && c.n != 1) {
        collect_free(&c);
        fail(p, start, "a prefix query (word*) must be a single word", NULL);
        return NULL;
    }
    p->leaves += c.n;
    if (p->leaves > FT_QUERY_MAX_LEAVES) {
        collect_free(&c);
        fail(p, start, "the query has more than %s terms", "1024");
        return NULL;
    }
    qnode *n = new_node(p, prefix ? Q_PREFIX : c.n == 1 ? Q_TERM : Q_PHRASE, start);
    if (!n) {
        collect_free(&c);
        return NULL;
    }
    n->terms = c.t;
    n->lens = c.l;
    n->nterms = c.n;
    n->offs = c.pos;
    uint32_t base = c.pos[0];
    for (size_t i = 0; i < c.n; i++) n->offs[i] -= base; /* relative to the first term */
    n->slop = phrase ? slop : 0;
    n->field = prefix ? 0 : field;
    if (prefix && field) {
        ft_qnode_free(n);
        fail(p, start, "title: does not apply to a prefix* query", NULL);
        return NULL;
    }
    return n;
}

static qnode *parse_list(parser *p, int depth, int inner);

static qnode *parse_primary(parser *p, int depth)
{
    qtok t = p->t;
    switch (t.kind) {
    case T_WORD:
        lex(p);
        return leaf(p, t.start, t.len, 0, 0, t.prefix, t.field);
    case T_PHRASE:
        lex(p);
        return leaf(p, t.start, t.len, 1, t.slop, 0, t.field);
    case T_LPAREN: {
        if (depth >= FT_QUERY_MAX_DEPTH) {
            fail(p, t.start, "the query is nested more than %s levels deep", "64");
            return NULL;
        }
        lex(p);
        if (p->t.kind == T_RPAREN) {
            fail(p, t.start, "empty parentheses", NULL);
            return NULL;
        }
        qnode *n = parse_list(p, depth + 1, 1);
        if (p->rc) {
            ft_qnode_free(n);
            return NULL;
        }
        if (p->t.kind != T_RPAREN) {
            ft_qnode_free(n);
            fail(p, t.start, "unbalanced parenthesis: this '(' is never closed", NULL);
            return NULL;
        }
        lex(p);
        return n;
    }
    case T_RPAREN:
        fail(p, t.start, "unbalanced parenthesis: ')' without a matching '('", NULL);
        return NULL;
    case T_AND:
    case T_OR:
        fail(p, t.start, t.kind == T_AND ? "'AND' needs a query on each side" : "'OR' needs a query on each side", NULL);
        return NULL;
    case T_END:
    default:
        fail(p, t.start, "the query ends where a word, a phrase or '(' was expected", NULL);
        return NULL;
    }
}

static qnode *parse_unary(parser *p, int depth)
{
    if (p->t.kind == T_NOT) {
        size_t at = p->t.start;
        if (depth >= FT_QUERY_MAX_DEPTH) {
            fail(p, at, "the query is nested more than %s levels deep", "64");
            return NULL;
        }
        lex(p);
        if (p->t.kind == T_END || p->t.kind == T_RPAREN || p->t.kind == T_AND || p->t.kind == T_OR) {
            fail(p, at, "'NOT' must be followed by a word, a phrase or '('", NULL);
            return NULL;
        }
        qnode *x = parse_unary(p, depth + 1);
        if (p->rc) { ft_qnode_free(x); return NULL; }
        if (!x) return NULL;
        qnode *b = new_node(p, Q_BOOL, at);
        if (!b) { ft_qnode_free(x); return NULL; }
        add_kid(p, b, x, OCC_NOT);
        return b;
    }
    return parse_primary(p, depth);
}

static qnode *parse_not(parser *p, int depth)
{
    size_t at = p->t.start;
    qnode *x = parse_unary(p, depth);
    if (p->rc) { ft_qnode_free(x); return NULL; }
    if (p->t.kind != T_NOT) return x;
    qnode *b = new_node(p, Q_BOOL, at);
    if (!b) { ft_qnode_free(x); return NULL; }
    add_kid(p, b, x, OCC_MUST);
    while (!p->rc && p->t.kind == T_NOT) {
        size_t nat = p->t.start;
        lex(p);
        if (p->t.kind == T_END || p->t.kind == T_RPAREN || p->t.kind == T_AND || p->t.kind == T_OR) {
            fail(p, nat, "'NOT' must be followed by a word, a phrase or '('", NULL);
            break;
        }
        qnode *y = parse_unary(p, depth);
        if (!p->rc) add_kid(p, b, y, OCC_NOT);
        else ft_qnode_free(y);
    }
    if (p->rc) { ft_qnode_free(b); return NULL; }
    return simplify(b);
}

static qnode *parse_binary(parser *p, int depth, tkind op)
{
    size_t at = p->t.start;
    qnode *x = op == T_OR ? parse_binary(p, depth, T_AND) : parse_not(p, depth);
    if (p->rc) { ft_qnode_free(x); return NULL; }
    if (p->t.kind != op) return x;
    qnode *b = new_node(p, Q_BOOL, at);
    if (!b) { ft_qnode_free(x); return NULL; }
    occur o = op == T_OR ? OCC_SHOULD : OCC_MUST;
    add_kid(p, b, x, o);
    while (!p->rc && p->t.kind == op) {
        size_t oat = p->t.start;
        lex(p);
        if (p->t.kind == T_END || p->t.kind == T_RPAREN || p->t.kind == T_AND || p->t.kind == T_OR) {
            fail(p, oat, op == T_OR ? "'OR' needs a query on each side" : "'AND' needs a query on each side", NULL);
            break;
        }
        qnode *y = op == T_OR ? parse_binary(p, depth, T_AND) : parse_not(p, depth);
        if (!p->rc) add_kid(p, b, y, o);
        else ft_qnode_free(y);
    }
    if (p->rc) { ft_qnode_free(b); return NULL; }
    /* AND with a side that analyzed to nothing: that side is dropped (it
     * cannot be required); the rest still has to match */
    return simplify(b);
}

/* list := item+ ; inner lists end at ')' */
static qnode *parse_list(parser *p, int depth, int inner)
{
    size_t at = p->t.start;
    qnode *b = new_node(p, Q_BOOL, at);
    if (!b) return NULL;
    b->slop = 1; /* marks an implicit-operator list (see ft_search: --all) */
    int items = 0;
    while (!p->rc && p->t.kind != T_END && !(inner && p->t.kind == T_RPAREN)) {
        occur o = OCC_SHOULD;
        if (p->t.kind == T_PLUS || p->t.kind == T_MINUS) {
            o = p->t.kind == T_PLUS ? OCC_MUST : OCC_NOT;
            lex(p);
            if (p->t.kind != T_WORD && p->t.kind != T_PHRASE && p->t.kind != T_LPAREN && p->t.kind != T_NOT) {
                fail(p, p->t.start, "'+' or '-' must be followed by a word, a phrase or '('", NULL);
                break;
            }
        } else if (p->t.kind == T_AND || p->t.kind == T_OR) {
            fail(p, p->t.start, p->t.kind == T_AND ? "'AND' needs a query on each side" : "'OR' needs a query on each side", NULL);
            break;
        } else if (p->t.kind == T_RPAREN) {
            fail(p, p->t.start, "unbalanced parenthesis: ')' without a matching '('", NULL);
            break;
        }
        qnode *x = parse_binary(p, depth, T_OR);
        if (p->rc) { ft_qnode_free(x); break; }
        items++;
        add_kid(p, b, x, o);
    }
    if (!p->rc && items == 0) {
        if (inner) fail(p, at, "empty parentheses", NULL);
        else fail(p, 0, "empty query", NULL);
    }
    if (p->rc) { ft_qnode_free(b); return NULL; }
    if (b->nkids == 1 && b->occ[0] == OCC_SHOULD) return simplify(b);
    if (b->nkids == 0) { ft_qnode_free(b); return NULL; }
    return b;
}

/* ------------------------------------------------------------------ positive terms */

static int add_pos_term(ft_query *q, const char *t, size_t len)
{
    for (size_t i = 0; i < q->npos; i++)
        if (q->pos_lens[i] == len && !memcmp(q->pos_terms[i], t, len)) {
            q->pos_qtf[i]++;
            return 0;
        }
    if (q->npos == q->pos_cap) {
        size_t cap = q->pos_cap ? q->pos_cap * 2 : 8;
        char **a = realloc(q->pos_terms, cap * sizeof *a);
        if (a) q->pos_terms = a;
        size_t *b = a ? realloc(q->pos_lens, cap * sizeof *b) : NULL;
        if (b) q->pos_lens = b;
        unsigned *c = b ? realloc(q->pos_qtf, cap * sizeof *c) : NULL;
        if (!c) return FT_ENOMEM;
        q->pos_qtf = c;
        q->pos_cap = cap;
    }
    char *s = malloc(len + 1);
    if (!s) return FT_ENOMEM;
    memcpy(s, t, len);
    s[len] = 0;
    q->pos_terms[q->npos] = s;
    q->pos_lens[q->npos] = len;
    q->pos_qtf[q->npos] = 1;
    q->npos++;
    return 0;
}

static int gather_positive(ft_query *q, const qnode *n)
{
    if (!n) return 0;
    if (n->kind == Q_PREFIX) {
        const qnode **v = realloc(q->prefixes, (q->nprefixes + 1) * sizeof *v);
        if (!v) return FT_ENOMEM;
        q->prefixes = v;
        q->prefixes[q->nprefixes++] = n;
        return 0;
    }
    if (n->kind == Q_TERM || n->kind == Q_PHRASE) {
        for (size_t i = 0; i < n->nterms; i++)
            if (add_pos_term(q, n->terms[i], n->lens[i])) return FT_ENOMEM;
        return 0;
    }
    for (size_t i = 0; i < n->nkids; i++)
        if (n->occ[i] != OCC_NOT && gather_positive(q, n->kids[i])) return FT_ENOMEM;
    return 0;
}

int ft_query_parse(ft_analyzer *an, const char *text, size_t len, ft_query **out, ft_error *err)
{
    *out = NULL;
    parser p = {an, text, len, 0, {0}, 0, 0, err};
    size_t valid = ft_utf8_valid_prefix(text, len);
    if (valid < len) {
        fail(&p, valid, "invalid UTF-8 in the query", NULL);
        return p.rc;
    }
    ft_query *q = calloc(1, sizeof *q);
    if (!q) return ft_error_set(err, FT_ENOMEM, "out of memory");
    lex(&p);
    qnode *root = p.rc ? NULL : parse_list(&p, 0, 0);
    if (!p.rc && p.t.kind != T_END) fail(&p, p.t.start, "unexpected text", NULL);
    if (p.rc) {
        ft_qnode_free(root);
        ft_query_free(q);
        return p.rc;
    }
    q->root = root;
    if (gather_positive(q, root)) {
        ft_query_free(q);
        return ft_error_set(err, FT_ENOMEM, "out of memory");
    }
    *out = q;
    return FT_OK;
}

void ft_query_free(ft_query *q)
{
    if (!q) return;
    ft_qnode_free(q->root);
    for (size_t i = 0; i < q->npos; i++) free(q->pos_terms[i]);
    free(q->pos_terms);
    free(q->pos_lens);
    free(q->pos_qtf);
    free(q->prefixes);
    free(q);
}

size_t ft_query_term_count(const ft_query *q) { return q->npos; }

const char *ft_query_term(const ft_query *q, size_t i, size_t *len, unsigned *qtf)
{
    if (i >= q->npos) return NULL;
    if (len) *len = q->pos_lens[i];
    if (qtf) *qtf = q->pos_qtf[i];
    return q->pos_terms[i];
}

/* ------------------------------------------------------------------ plain text */

typedef struct plain_ctx {
    parser *p;
    qnode *list;
} plain_ctx;

static int on_plain_tok(void *arg, const ft_token *tok)
{
    plain_ctx *pc = arg;
    parser *p = pc->p;
    if (++p->leaves > FT_QUERY_MAX_LEAVES) {
        fail(p, tok->start, "the query has more than %s terms", "1024");
        return 1;
    }
    qnode *n = new_node(p, Q_TERM, tok->start);
    if (!n) return 1;
    n->terms = calloc(1, sizeof *n->terms);
    n->lens = malloc(sizeof *n->lens);
    n->offs = calloc(1, sizeof *n->offs);
    if (n->terms) n->terms[0] = malloc(tok->len + 1);
    if (!n->terms || !n->lens || !n->offs || !n->terms[0]) {
        if (n->terms && n->terms[0]) n->nterms = 1;
        ft_qnode_free(n);
        if (!p->rc) p->rc = ft_error_set(p->err, FT_ENOMEM, "out of memory parsing the query");
        return 1;
    }
    memcpy(n->terms[0], tok->term, tok->len);
    n->terms[0][tok->len] = 0;
    n->lens[0] = tok->len;
    n->nterms = 1;
    return add_kid(p, pc->list, n, OCC_SHOULD) ? 1 : 0;
}

int ft_query_parse_plain(ft_analyzer *an, const char *text, size_t len, ft_query **out, ft_error *err)
{
    *out = NULL;
    parser p = {an, text, len, 0, {0}, 0, 0, err};
    ft_query *q = calloc(1, sizeof *q);
    qnode *list = q ? new_node(&p, Q_BOOL, 0) : NULL;
    if (!q || !list) {
        free(q);
        return ft_error_set(err, FT_ENOMEM, "out of memory");
    }
    list->slop = 1; /* implicit operator: OR, or AND with --all */
    plain_ctx pc = {&p, list};
    ft_analyze(an, text, len, 0, on_plain_tok, &pc, NULL);
    if (p.rc) {
        ft_qnode_free(list);
        ft_query_free(q);
        return p.rc;
    }
    q->root = list->nkids ? list : NULL;
    if (!q->root) ft_qnode_free(list);
    if (gather_positive(q, q->root)) {
        ft_query_free(q);
        return ft_error_set(err, FT_ENOMEM, "out of memory");
    }
    *out = q;
    return FT_OK;
}

/* ------------------------------------------------------------------ description */

static void describe(const qnode *n, ft_buf *b)
{
    if (!n) {
        ft_buf_append(b, "<nothing>", 9);
        return;
    }
    char t[32];
    switch (n->kind) {
    case Q_TERM:
        if (n->field) ft_buf_append(b, "title:", 6);
        ft_buf_append(b, n->terms[0], n->lens[0]);
        break;
    case Q_PREFIX:
        ft_buf_append(b, n->terms[0], n->lens[0]);
        ft_buf_put_u8(b, '*');
        break;
    case Q_PHRASE:
        if (n->field) ft_buf_append(b, "title:", 6);
        ft_buf_put_u8(b, '"');
        for (size_t i = 0; i < n->nterms; i++) {
            if (i) {
                if (n->offs[i] != n->offs[i - 1] + 1) {
                    snprintf(t, sizeof t, " @%u ", n->offs[i]);
                    ft_buf_append(b, t, strlen(t));
                } else {
                    ft_buf_put_u8(b, ' ');
                }
            }
            ft_buf_append(b, n->terms[i], n->lens[i]);
        }
        ft_buf_put_u8(b, '"');
        if (n->slop) {
            snprintf(t, sizeof t, "~%u", n->slop);
            ft_buf_append(b, t, strlen(t));
        }
        break;
    case Q_BOOL:
        ft_buf_put_u8(b, '(');
        for (size_t i = 0; i < n->nkids; i++) {
            if (i) ft_buf_put_u8(b, ' ');
            ft_buf_put_u8(b, n->occ[i] == OCC_MUST ? '+' : n->occ[i] == OCC_NOT ? '-' : n->slop ? '~' : '|');
            describe(n->kids[i], b);
        }
        ft_buf_put_u8(b, ')');
        break;
    }
}

char *ft_query_describe(const ft_query *q)
{
    ft_buf b;
    ft_buf_init(&b);
    describe(q->root, &b);
    ft_buf_put_u8(&b, 0);
    if (b.failed) {
        ft_buf_free(&b);
        return NULL;
    }
    return (char *)b.p;
}
