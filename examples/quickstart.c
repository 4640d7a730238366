/*
 * quickstart.c — ft as a library, start to finish.
 *
 *     cc quickstart.c $(pkg-config --cflags --libs ft) -o quickstart
 *     ./quickstart /tmp/quick.ftindex ['QUERY']
 *
 * Indexes four short news items into the index directory given as the first
 * argument (replacing any index there), opens the index, parses a query in
 * ft's query language (docs/QUERY.md; default: soybeans OR "trade war"), ranks
 * the matching documents by BM25 and prints each hit's rank, score, id,
 * title and snippet, then releases everything.
 *
 * It follows the library's conventions (include/ft.h): every call returns
 * FT_OK or a negative ft_status and fills an ft_error with a message; each
 * handle has one release function, which accepts NULL, so the program has a
 * single cleanup path at the end.  The library itself prints nothing; the
 * messages below are this program's.
 */
#include <ft.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *id, *title, *body;
} docs[] = {
    {"news-1", "Soybean exports",
     "China bought more American soybeans this spring, a sign that the trade war "
     "between the two countries is easing."},
    {"news-2", "Tariffs and farmers",
     "Farmers in Iowa worry that new tariffs will hurt soybean prices again if the "
     "trade war drags on into the harvest."},
    {"news-3", "A trade fair",
     "The spring trade fair in Hanover showed machines, not wars: robots, tractors "
     "and wind turbines."},
    {"news-4", "Russia and China",
     "Russia and China signed agreements on energy and agriculture, including "
     "soybean imports from the Russian Far East."},
};

/* Build (or rebuild) the index in dir from docs[]. */
static int build(const char *dir, ft_error *err)
{
    ft_writer_opts wo;
    ft_writer_opts_default(&wo); /* English stemming, replace any index in dir */
    ft_writer *w = NULL;
    int rc = ft_writer_open(dir, &wo, &w, err);
    for (size_t i = 0; rc == FT_OK && i < sizeof docs / sizeof docs[0]; i++)
        rc = ft_writer_add(w, docs[i].id, strlen(docs[i].id), docs[i].title,
                           strlen(docs[i].title), docs[i].body, strlen(docs[i].body), err);
    if (rc == FT_OK) rc = ft_writer_commit(w, err); /* atomic: all or nothing */
    if (rc == FT_OK) {
        ft_writer_stats st;
        ft_writer_get_stats(w, &st);
        printf("indexed %llu documents\n", (unsigned long long)st.docs);
    }
    ft_writer_close(w); /* discards the build if it was not committed */
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: quickstart INDEX-DIR ['QUERY']\n");
        return 2;
    }
    const char *dir = argv[1];
    const char *text = argc > 2 ? argv[2] : "soybeans OR \"trade war\"";

    ft_error err = {0};
    ft_index *ix = NULL;
    ft_analyzer *an = NULL;
    ft_query *q = NULL;
    ft_results res = {0};
    ft_docbuf *db = NULL;
    char *snip = NULL;
    int rc;

    if ((rc = build(dir, &err)) != FT_OK) goto out;

    /* An open index is a snapshot of the last commit; it may be shared by
     * threads.  Queries are analyzed with the analyzer the index was built
     * with, so "Soybeans" finds "soybean". */
    if ((rc = ft_index_open(dir, &ix, &err)) != FT_OK) goto out;
    if ((rc = ft_analyzer_new(ft_index_analyzer_opts(ix), &an, &err)) != FT_OK) goto out;
    if ((rc = ft_query_parse(an, text, strlen(text), &q, &err)) != FT_OK) goto out;

    ft_search_opts so;
    ft_search_opts_default(&so); /* BM25 k1 = 1.2, b = 0.75; any word */
    so.k = 5;
    so.count = 1; /* count every match exactly (the ranking is the same) */
    if ((rc = ft_search(ix, q, &so, &res, &err)) != FT_OK) goto out;
    printf("query: %s\n", text);
    printf("%llu matching documents\n", (unsigned long long)res.matches);

    if (!(db = ft_docbuf_new())) {
        rc = FT_ENOMEM;
        goto out;
    }
    ft_snippet_opts sno = {12, "[", "]"}; /* about 12 words, matches in brackets */
    for (size_t i = 0; i < res.n; i++) {
        ft_doc d; /* borrowed from db until its next use */
        if ((rc = ft_index_doc(ix, res.hits[i].doc, db, &d, &err)) != FT_OK) goto out;
        if ((rc = ft_snippet_text(an, q, d.body, d.body_len, &sno, &snip, &err)) != FT_OK) goto out;
        printf("%zu. [%.4f] %.*s: %.*s\n   %s\n", i + 1, res.hits[i].score, (int)d.id_len, d.id,
               (int)d.title_len, d.title, snip);
        free(snip);
        snip = NULL;
    }

out:
    if (rc != FT_OK)
        fprintf(stderr, "quickstart: %s\n", err.msg[0] ? err.msg : ft_strerror(rc));
    free(snip);
    ft_docbuf_free(db);
    ft_results_free(&res);
    ft_query_free(q);
    ft_analyzer_free(an);
    ft_index_close(ix);
    return rc == FT_OK ? 0 : 1;
}
