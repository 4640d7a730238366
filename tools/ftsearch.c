/*
 * ftsearch — query an ft index.
 *
 *   ftsearch [-i DIR] [-k N] [--all] [--json] [--k1 X] [--b Y] [--no-snippet]
 *            [--color=WHEN] QUERY...
 *   ftsearch [-i DIR] --queries FILE [--format trec] [-k N] [--all] [--k1 X] [--b Y]
 *
 * One query prints ranked hits for a person (text with snippets) or for a
 * program (--json, one object on one line).  Batch mode runs a whole query file
 * against one opened index and prints a TREC run, the input of trec_eval and
 * of the project's quality benchmarks.
 *
 * Why it is shaped so: everything about retrieval lives in the library; this
 * file only resolves the index, validates numbers, and formats.  Text meant
 * for a terminal comes from documents and so may hold control characters or
 * broken UTF-8; it is cleaned before printing so a document cannot move the
 * cursor or recolour the screen, and snippets are requested with one-byte
 * markers that are turned into colour or brackets only after that cleaning.
 * JSON strings are repaired to valid UTF-8 because jansson requires it.
 *
 * Exit status, like grep's: 0 when at least one document matched (in batch
 * mode: when any query had a hit), 1 when none did, 2 for a usage error or a
 * query that does not parse, and 3 to 6 for failures (cli.h).
 */
#include "cli.h"
#include "ft_common.h"
#include "ft_index.h"
#include "ft_search.h"
#include "ft_tokenize.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HL_OPEN "\x01"  /* snippet markers, replaced when printed */
#define HL_CLOSE "\x02"

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: ftsearch [OPTIONS] QUERY...\n"
            "       ftsearch [OPTIONS] --queries FILE [--format trec]\n"
            "\n"
            "Search an index built by `ftindex build` and print the best documents\n"
            "ranked by BM25.  The QUERY words are joined with spaces.\n"
            "\n"
            "Query syntax (docs/QUERY.md): words match any of them (--all: every one);\n"
            "  \"exact phrase\"  \"near words\"~3  prefix*  +required  -excluded\n"
            "  title:word  title:\"a phrase\"\n"
            "  a AND b   a OR b   a NOT b   (grouping)\n"
            "Examples:\n"
            "  ftsearch Russia soybeans\n"
            "  ftsearch '\"trade war\" +huawei -5g'\n"
            "  ftsearch '(china OR russia) AND tariff*'\n"
            "\n"
            "  -i, --index DIR      index directory (default: $FT_INDEX, else the nearest\n"
            "                       .ftindex in the current directory or its parents)\n"
            "  -k N                 number of hits to return (default 10)\n"
            "      --all            only documents containing every query term\n"
            "      --json           one JSON object on one line instead of text\n"
            "      --k1 X           BM25 term-frequency saturation, X >= 0 (default 1.2)\n"
            "      --b Y            BM25 length normalisation, 0 <= Y <= 1 (default 0.75)\n"
            "      --no-snippet     do not print snippets\n"
            "      --snippet-len N  words per snippet (default 30)\n"
            "      --explain        show each hit's BM25 score term by term\n"
            "      --count          count every match exactly (no pruning)\n"
            "      --exhaustive     score every match (no pruning; the ranking is the same)\n"
            "      --plain          treat the query as plain words (no operators, phrases\n"
            "                       or prefixes)\n"
            "      --color[=WHEN]   highlight matches: always, never or auto (default auto;\n"
            "                       auto honours NO_COLOR and TERM=dumb)\n"
            "      --queries FILE   run every query of FILE ('-' for standard input); each\n"
            "                       line is QID<TAB>QUERY or just QUERY (the QID is then\n"
            "                       the line number); prints a TREC run:\n"
            "                       QID Q0 DOCID RANK SCORE ft\n"
            "      --format FMT     batch output format; only 'trec'\n"
            "  -h, --help           show this help\n"
            "  -V, --version        show the version\n"
            "\n"
            "Exit status: 0 if a document matched (--queries: if any query had a hit),\n"
            "1 if none did, 2 usage error or a query that does not parse, 3 I/O error or\n"
            "no index, 4 corrupt or incompatible index, 5 other error (out of memory).\n");
}

typedef struct search_ctx {
    const char *dir;
    ft_index *ix;
    ft_analyzer *an;
    ft_docbuf *docbuf;
    ft_snipper *snipper;    /* the hits' snippets, while they are printed */
    ft_search_opts so;
    int plain;              /* --plain: words only, no query syntax */
    int explain;            /* --explain */
    unsigned snippet_words; /* --snippet-len */
    unsigned long skipped;  /* batch: queries that did not parse */
    unsigned long answered; /* batch: queries with at least one hit */
} search_ctx;

/* Fail with the library's message; returns the exit status for rc. */
static int lib_error(const char *what, int rc, const ft_error *err)
{
    cli_msg("%s: %s", what, err->msg[0] ? err->msg : ft_strerror(rc));
    return cli_exit_for(rc);
}

/* Run one query; *q and *res must be freed by the caller even on failure.
 * Returns CLI_EXIT_OK, CLI_EXIT_USAGE for a query that does not parse, or
 * the exit status of another failure. */
static int run_query(search_ctx *c, const char *text, size_t len, ft_query **q, ft_results *res)
{
    ft_error err = {0};
    int rc = c->plain ? ft_query_parse_plain(c->an, text, len, q, &err)
                      : ft_query_parse(c->an, text, len, q, &err);
    if (rc == FT_EINVAL) { /* a syntax error: the message says where */
        cli_msg("%s", err.msg);
        return cli_exit_for(rc);
    }
    if (rc != FT_OK) return lib_error("cannot parse query", rc, &err);
    rc = ft_search(c->ix, *q, &c->so, res, &err);
    if (rc != FT_OK) return lib_error("search failed", rc, &err);
    if (res->notice[0]) cli_msg("note: %s", res->notice);
    return CLI_EXIT_OK;
}

/* ------------------------------------------------------------ text output */

/* Print s[0..n) for a terminal: broken UTF-8 repaired, control characters
 * (C0, DEL, C1) shown as spaces, snippet markers replaced by open/close. */
static int put_clean(const char *s, size_t n, const char *open, const char *close)
{
    size_t m;
    char *t = cli_utf8_clean(s, n, &m);
    if (!t) return -1;
    for (size_t i = 0; i < m; i++) {
        unsigned char ch = (unsigned char)t[i];
        if (ch == 0x01 && open) fputs(open, stdout);
        else if (ch == 0x02 && close) fputs(close, stdout);
        else if (ch < 0x20 || ch == 0x7f) putchar(' ');
        else if (ch == 0xC2 && i + 1 < m && (unsigned char)t[i + 1] < 0xA0) { /* U+0080..9F */
            putchar(' ');
            i++;
        } else putchar(ch);
    }
    free(t);
    return 0;
}

static int print_text(search_ctx *c, const ft_query *q, const ft_results *res, int color,
                      int snippets)
{
    ft_error err = {0};
    if (res->matches == 0) printf("no matching documents\n");
    else printf("%s%" PRIu64 " matching document%s\n", res->matches_exact ? "" : "at least ",
                res->matches, res->matches == 1 ? "" : "s");
    const char *hl_open = color ? "\033[1;31m" : "[";
    const char *hl_close = color ? "\033[0m" : "]";
    for (size_t i = 0; i < res->n; i++) {
        ft_doc d;
        int rc = ft_index_doc(c->ix, res->hits[i].doc, c->docbuf, &d, &err);
        if (rc != FT_OK) return lib_error(c->dir, rc, &err);
        if (i > 0) putchar('\n');
        printf("%zu. [%.4f] ", i + 1, res->hits[i].score);
        if (color) fputs("\033[1m", stdout);
        if (put_clean(d.id, d.id_len, NULL, NULL)) goto nomem;
        if (color) fputs("\033[0m", stdout);
        if (d.title_len) {
            fputs(" \xE2\x80\x94 ", stdout); /* em dash */
            if (put_clean(d.title, d.title_len, NULL, NULL)) goto nomem;
        }
        putchar('\n');
        if (c->explain) {
            ft_explanation e;
            rc = ft_explain(c->ix, q, &c->so, res->hits[i].doc, &e, &err);
            if (rc != FT_OK) return lib_error(c->dir, rc, &err);
            for (size_t t = 0; t < e.n; t++) {
                const ft_explain_term *x = &e.terms[t];
                printf("   %+.4f  ", x->contribution);
                if (put_clean(x->term, x->len, NULL, NULL)) {
                    ft_explain_free(&e);
                    goto nomem;
                }
                printf(": idf %.4f (N %u, df %u) x tf %u x (k1+1) / (tf + k1 (1 - b + b dl/avgdl)), "
                       "dl %u, avgdl %.2f, k1 %g, b %g\n",
                       x->idf, ft_index_doc_count(c->ix), x->df, x->tf, x->doc_len, x->avgdl, x->k1, x->b);
            }
            printf("   = %.4f\n", e.score);
            ft_explain_free(&e);
        }
        if (!snippets) continue;
        ft_snippet_opts sopt = {c->snippet_words, HL_OPEN, HL_CLOSE};
        char *snip = NULL;
        rc = ft_snipper_get(c->snipper, i, &d, &sopt, &snip, &err);
        if (rc != FT_OK) {
            free(snip);
            return lib_error(c->dir, rc, &err);
        }
        if (snip && *snip) {
            fputs("   ", stdout);
            int bad = put_clean(snip, strlen(snip), hl_open, hl_close);
            putchar('\n');
            if (bad) {
                free(snip);
                goto nomem;
            }
        }
        free(snip);
    }
    return CLI_EXIT_OK;
nomem:
    cli_msg("out of memory");
    return CLI_EXIT_OTHER;
}

/* ------------------------------------------------------------ JSON output */

static json_t *jstr(const char *s, size_t n)
{
    size_t m;
    char *t = cli_utf8_clean(s, n, &m);
    if (!t) return NULL;
    json_t *j = json_stringn_nocheck(t, m);
    free(t);
    return j;
}

/* json_object_set_new that reports failure (it frees v either way). */
static int jset(json_t *o, const char *key, json_t *v)
{
    return v && json_object_set_new(o, key, v) == 0 ? 0 : -1;
}

static int print_json(search_ctx *c, const char *query, const ft_query *q, const ft_results *res,
                      int snippets)
{
    ft_error err = {0};
    int status = CLI_EXIT_OTHER; /* until the output is complete (what is left to fail: memory) */
    json_t *root = json_object(), *hits = json_array();
    if (!root || !hits) {
        json_decref(hits);
        goto nomem;
    }
    if (jset(root, "query", jstr(query, strlen(query))) ||
        jset(root, "matches", json_integer((json_int_t)res->matches)) ||
        jset(root, "matches_exact", json_boolean(res->matches_exact)) ||
        (res->notice[0] && jset(root, "notice", jstr(res->notice, strlen(res->notice))))) {
        json_decref(hits);
        goto nomem;
    }
    if (jset(root, "hits", hits)) goto nomem; /* hits is freed either way */
    for (size_t i = 0; i < res->n; i++) {
        ft_doc d;
        int rc = ft_index_doc(c->ix, res->hits[i].doc, c->docbuf, &d, &err);
        if (rc != FT_OK) {
            status = lib_error(c->dir, rc, &err);
            goto out;
        }
        json_t *h = json_object();
        if (!h || json_array_append_new(hits, h)) goto nomem;
        if (jset(h, "rank", json_integer((json_int_t)(i + 1))) ||
            jset(h, "doc", json_integer(res->hits[i].doc)) || jset(h, "id", jstr(d.id, d.id_len)) ||
            jset(h, "title", jstr(d.title, d.title_len)) ||
            jset(h, "score", json_real(res->hits[i].score)))
            goto nomem;
        if (c->explain) {
            ft_explanation e;
            rc = ft_explain(c->ix, q, &c->so, res->hits[i].doc, &e, &err);
            if (rc != FT_OK) {
                status = lib_error(c->dir, rc, &err);
                goto out;
            }
            json_t *ex = json_array();
            if (!ex || jset(h, "explain", ex)) {
                ft_explain_free(&e);
                goto nomem;
            }
            for (size_t t = 0; t < e.n; t++) {
                const ft_explain_term *x = &e.terms[t];
                json_t *o = json_object();
                if (!o || json_array_append_new(ex, o) || jset(o, "term", jstr(x->term, x->len)) ||
                    jset(o, "idf", json_real(x->idf)) || jset(o, "df", json_integer(x->df)) ||
                    jset(o, "tf", json_integer(x->tf)) || jset(o, "doc_len", json_integer(x->doc_len)) ||
                    jset(o, "avgdl", json_real(x->avgdl)) || jset(o, "contribution", json_real(x->contribution))) {
                    ft_explain_free(&e);
                    goto nomem;
                }
            }
            ft_explain_free(&e);
        }
        if (snippets) {
            ft_snippet_opts sopt = {c->snippet_words, "[", "]"};
            char *snip = NULL;
            rc = ft_snipper_get(c->snipper, i, &d, &sopt, &snip, &err);
            if (rc != FT_OK) {
                free(snip);
                status = lib_error(c->dir, rc, &err);
                goto out;
            }
            int bad = jset(h, "snippet", jstr(snip ? snip : "", snip ? strlen(snip) : 0));
            free(snip);
            if (bad) goto nomem;
        }
    }
    if (json_dumpf(root, stdout, JSON_PRESERVE_ORDER) != 0) goto nomem;
    putchar('\n');
    status = CLI_EXIT_OK;
    goto out;
nomem:
    cli_msg("out of memory");
out:
    json_decref(root);
    return status;
}

/* ------------------------------------------------------------ batch mode */

static int is_space(char ch) { return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\v' || ch == '\f'; }

/* Run every query of file.  Returns CLI_EXIT_OK when any query had a hit,
 * CLI_EXIT_NONE when none had (queries that do not parse are reported and
 * skipped), or the exit status of the failure that stopped the batch. */
static int run_batch(search_ctx *c, const char *file)
{
    const char *name = strcmp(file, "-") ? file : "<stdin>";
    cli_stream *s = cli_stream_open(file, CLI_ZSTD_DETECT);
    if (!s) {
        int e = errno;
        cli_msg("%s: %s", name, strerror(e));
        return cli_exit_for_errno(e);
    }
    cli_lines *lines = cli_lines_new(s);
    if (!lines) {
        cli_msg("out of memory");
        return CLI_EXIT_OTHER;
    }
    int status = CLI_EXIT_OK, r;
    char *line, numbuf[32];
    size_t len;
    unsigned long lineno;
    while (status == CLI_EXIT_OK && (r = cli_lines_next(lines, &line, &len, &lineno)) == 1) {
        while (len > 0 && line[len - 1] == '\r') line[--len] = '\0';
        size_t k = 0;
        while (k < len && is_space(line[k])) k++;
        if (k == len) continue; /* blank */

        const char *qid = numbuf, *text = line;
        size_t qid_len, text_len = len;
        snprintf(numbuf, sizeof numbuf, "%lu", lineno);
        qid_len = strlen(numbuf);
        char *tab = memchr(line, '\t', len);
        if (tab) {
            char *a = line, *e = tab;
            while (a < e && is_space(*a)) a++;
            while (e > a && is_space(e[-1])) e--;
            text = tab + 1;
            text_len = len - (size_t)(text - line);
            if (e > a) {
                for (char *p = a; p < e; p++) {
                    if (is_space(*p)) {
                        cli_msg("%s:%lu: the query id '%.*s' contains white space, which a TREC "
                                "run cannot hold",
                                name, lineno, (int)(e - a), a);
                        status = CLI_EXIT_USAGE;
                        break;
                    }
                }
                if (status != CLI_EXIT_OK) break;
                qid = a;
                qid_len = (size_t)(e - a);
            }
        }

        ft_query *q = NULL;
        ft_results res = {0};
        status = run_query(c, text, text_len, &q, &res);
        if (status == CLI_EXIT_USAGE) { /* this query does not parse: say where, go on */
            cli_msg("%s:%lu: skipped this query", name, lineno);
            c->skipped++;
            status = CLI_EXIT_OK;
        }
        if (status == CLI_EXIT_OK && res.n > 0) c->answered++;
        for (size_t i = 0; status == CLI_EXIT_OK && i < res.n; i++) {
            ft_doc d;
            ft_error err = {0};
            int rc = ft_index_doc(c->ix, res.hits[i].doc, c->docbuf, &d, &err);
            if (rc != FT_OK) {
                status = lib_error(c->dir, rc, &err);
                break;
            }
            printf("%.*s Q0 %.*s %zu %.6f ft\n", (int)qid_len, qid, (int)d.id_len, d.id, i + 1,
                   res.hits[i].score);
        }
        if (status != CLI_EXIT_OK) cli_msg("%s:%lu: while running this query", name, lineno);
        ft_results_free(&res);
        if (q) ft_query_free(q);
    }
    if (status == CLI_EXIT_OK && r < 0) {
        cli_msg("%s: %s", name, cli_lines_error(lines));
        status = CLI_EXIT_IO; /* a read error, or a damaged .zst file */
    }
    if (status == CLI_EXIT_OK && c->skipped)
        cli_msg("%s: skipped %lu quer%s that did not parse (see above)", name, c->skipped,
                c->skipped == 1 ? "y" : "ies");
    cli_lines_free(lines);
    if (status == CLI_EXIT_OK && c->answered == 0) status = CLI_EXIT_NONE;
    return status;
}

/* ------------------------------------------------------------ main */

enum {
    OPT_ALL = 256, OPT_JSON, OPT_K1, OPT_B, OPT_NO_SNIPPET, OPT_COLOR, OPT_QUERIES, OPT_FORMAT,
    OPT_EXHAUSTIVE, OPT_COUNT, OPT_EXPLAIN, OPT_SNIPPET_LEN, OPT_PLAIN
};

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"index", required_argument, NULL, 'i'},
        {"all", no_argument, NULL, OPT_ALL},
        {"json", no_argument, NULL, OPT_JSON},
        {"k1", required_argument, NULL, OPT_K1},
        {"b", required_argument, NULL, OPT_B},
        {"no-snippet", no_argument, NULL, OPT_NO_SNIPPET},
        {"color", optional_argument, NULL, OPT_COLOR},
        {"colour", optional_argument, NULL, OPT_COLOR},
        {"queries", required_argument, NULL, OPT_QUERIES},
        {"format", required_argument, NULL, OPT_FORMAT},
        {"exhaustive", no_argument, NULL, OPT_EXHAUSTIVE},
        {"count", no_argument, NULL, OPT_COUNT},
        {"explain", no_argument, NULL, OPT_EXPLAIN},
        {"snippet-len", required_argument, NULL, OPT_SNIPPET_LEN},
        {"plain", no_argument, NULL, OPT_PLAIN},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    cli_set_prog("ftsearch");
    if (argc > 0) argv[0] = (char *)"ftsearch"; /* getopt's message prefix */

    search_ctx c;
    memset(&c, 0, sizeof c);
    ft_search_opts_default(&c.so);
    c.snippet_words = 30;
    const char *opt_i = NULL, *queries = NULL, *format = NULL;
    int json = 0, snippets = 1, color_mode = CLI_COLOR_AUTO, ch;
    unsigned long ul;
    double d;
    while ((ch = getopt_long(argc, argv, "i:k:hV", opts, NULL)) != -1) {
        switch (ch) {
        case 'i': opt_i = optarg; break;
        case 'k':
            if (cli_parse_ulong(optarg, &ul) || ul < 1 || ul > UINT32_MAX)
                return cli_usage_error(NULL, "-k wants a whole number of hits, at least 1 "
                                             "(got '%s')", optarg);
            c.so.k = (unsigned)ul;
            break;
        case OPT_ALL: c.so.all = 1; break;
        case OPT_JSON: json = 1; break;
        case OPT_K1:
            if (cli_parse_double(optarg, &d) || d < 0)
                return cli_usage_error(NULL, "--k1 wants a number >= 0 (got '%s')", optarg);
            c.so.k1 = d;
            break;
        case OPT_B:
            if (cli_parse_double(optarg, &d) || d < 0 || d > 1)
                return cli_usage_error(NULL, "--b wants a number from 0 to 1 (got '%s')", optarg);
            c.so.b = d;
            break;
        case OPT_NO_SNIPPET: snippets = 0; break;
        case OPT_COLOR:
            if (cli_parse_color(optarg, &color_mode))
                return cli_usage_error(NULL, "--color wants always, never or auto (got '%s')",
                                       optarg);
            break;
        case OPT_QUERIES: queries = optarg; break;
        case OPT_EXHAUSTIVE: c.so.exhaustive = 1; break;
        case OPT_COUNT: c.so.count = 1; break;
        case OPT_EXPLAIN: c.explain = 1; break;
        case OPT_PLAIN: c.plain = 1; break;
        case OPT_SNIPPET_LEN:
            if (cli_parse_ulong(optarg, &ul) || ul < 1 || ul > 1000)
                return cli_usage_error(NULL, "--snippet-len wants a number of words from 1 to 1000 "
                                             "(got '%s')", optarg);
            c.snippet_words = (unsigned)ul;
            break;
        case OPT_FORMAT: format = optarg; break;
        case 'h': usage(stdout); return CLI_EXIT_OK;
        case 'V': printf("ftsearch %s\n", FT_VERSION_STRING); return CLI_EXIT_OK;
        default:
            fprintf(stderr, "Try 'ftsearch --help' for more information.\n");
            return CLI_EXIT_USAGE;
        }
    }
    if (queries) {
        if (optind < argc)
            return cli_usage_error(NULL, "give either QUERY words or --queries FILE, not both");
        if (json)
            return cli_usage_error(NULL, "--json applies to a single query; --queries prints "
                                         "a TREC run");
        if (format && strcmp(format, "trec"))
            return cli_usage_error(NULL, "unknown --format '%s' (the only format is trec)",
                                   format);
    } else {
        if (format) return cli_usage_error(NULL, "--format applies only with --queries FILE");
        if (optind >= argc) return cli_usage_error(NULL, "no query given");
    }

    /* The query: argument words joined with single spaces. */
    char *query = NULL;
    if (!queries) {
        size_t n = 0;
        for (int i = optind; i < argc; i++) n += strlen(argv[i]) + 1;
        if (!(query = malloc(n))) {
            cli_msg("out of memory");
            return CLI_EXIT_OTHER;
        }
        char *p = query;
        for (int i = optind; i < argc; i++) {
            size_t m = strlen(argv[i]);
            if (i > optind) *p++ = ' ';
            memcpy(p, argv[i], m);
            p += m;
        }
        *p = '\0';
    }

    char *dir = NULL;
    ft_error err = {0};
    ft_query *q = NULL;
    ft_results res = {0};
    int status = cli_index_for_read(opt_i, &dir);
    if (status != CLI_EXIT_OK) goto out;
    c.dir = dir;
    int rc = ft_index_open(dir, &c.ix, &err);
    if (rc != FT_OK) {
        cli_msg("cannot open index %s: %s", dir, err.msg[0] ? err.msg : ft_strerror(rc));
        status = cli_exit_for(rc);
        goto out;
    }
    rc = ft_analyzer_new(ft_index_analyzer_opts(c.ix), &c.an, &err);
    if (rc != FT_OK) {
        cli_msg("%s: cannot set up the analyzer: %s", dir, err.msg[0] ? err.msg : ft_strerror(rc));
        status = cli_exit_for(rc);
        goto out;
    }
    if (!(c.docbuf = ft_docbuf_new())) {
        cli_msg("out of memory");
        status = CLI_EXIT_OTHER;
        goto out;
    }

    c.so.snippets = snippets && !queries;
    if (queries) {
        status = run_batch(&c, queries);
    } else {
        status = run_query(&c, query, strlen(query), &q, &res);
        if (status == CLI_EXIT_OK && snippets) {
            ft_error serr = {0};
            int src = ft_snipper_new(c.ix, c.an, q, &res, &c.snipper, &serr);
            if (src != FT_OK) status = lib_error(c.dir, src, &serr);
        }
        if (status == CLI_EXIT_OK)
            status = json ? print_json(&c, query, q, &res, snippets)
                          : print_text(&c, q, &res, cli_use_color(color_mode), snippets);
        ft_snipper_free(c.snipper);
        c.snipper = NULL;
        if (status == CLI_EXIT_OK && res.n == 0) status = CLI_EXIT_NONE; /* like grep */
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        cli_msg("error writing output: %s", strerror(errno));
        status = CLI_EXIT_IO;
    }

out:
    ft_results_free(&res);
    if (q) ft_query_free(q);
    if (c.docbuf) ft_docbuf_free(c.docbuf);
    ft_analyzer_free(c.an);
    ft_index_close(c.ix);
    free(dir);
    free(query);
    return status;
}
