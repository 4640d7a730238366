/*
 * test_segments.c — indexes of many segments, merges, incremental updates
 * and the writer lock.
 *
 * The reference for ranking is a BM25 computed here from what the reader
 * exposes (live N, avgdl, each term's live df, tf, document lengths), keyed by
 * the stored document id, so two indexes holding the same documents under
 * different document numbers can be compared: same ids, scores within 1e-9.
 * Layout tests compare against the naive inversion (tu_check_index), which
 * also checks document numbers, positions and stored fields.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ft_test_util.h"

#define SEED 0x5e65ULL

static void opts_none(ft_writer_opts *wo)
{
    ft_writer_opts_default(wo);
    strcpy(wo->analyzer.lang, "none");
}

static ft_index *open_ok(const char *dir)
{
    ft_index *ix = NULL;
    ft_error err = {0};
    int rc = ft_index_open(dir, &ix, &err);
    cr_assert_eq(rc, FT_OK, "ft_index_open(%s): %d %s", dir, rc, err.msg);
    return ix;
}

static void check_ok(const char *dir)
{
    ft_error err = {0};
    int rc = ft_index_check(dir, &err);
    cr_assert_eq(rc, FT_OK, "ft_index_check(%s): %d %s", dir, rc, err.msg);
}

/* ---------------------------------------------------------------- BM25 by id */

typedef struct hit {
    char *id;
    double score;
} hit;

typedef struct ranking {
    hit *h;
    size_t n;
} ranking;

static int cmp_hit_id(const void *a, const void *b) { return strcmp(((const hit *)a)->id, ((const hit *)b)->id); }

/* Every matching live document of an any-word query, with its BM25 score. */
static void rank(const ft_index *ix, char *const *terms, const size_t *lens, size_t nt, ranking *out)
{
    uint32_t lim = ft_index_doc_limit(ix);
    double *score = calloc(lim + 1, sizeof *score);
    char *hitp = calloc(lim + 1, 1);
    double N = ft_index_doc_count(ix), avgdl = ft_index_avgdl(ix);
    for (size_t t = 0; t < nt; t++) {
        ft_postings *p = NULL;
        ft_error err = {0};
        cr_assert_eq(ft_postings_open(ix, terms[t], lens[t], &p, &err), FT_OK, "%s", err.msg);
        double df = ft_postings_df(p);
        double idf = log(1.0 + (N - df + 0.5) / (df + 0.5));
        uint32_t d, count = 0;
        while ((d = ft_postings_next(p)) != FT_DOC_END) {
            cr_assert(!ft_index_doc_deleted(ix, d), "cursor returned deleted document %u", d);
            double tf = ft_postings_tf(p);
            double K = 1.2 * (1 - 0.75 + 0.75 * ft_index_doc_length(ix, d) / avgdl);
            score[d] += idf * tf * 2.2 / (tf + K);
            hitp[d] = 1;
            count++;
        }
        cr_assert_eq(count, (uint32_t)df, "term %.*s: df %u, cursor gave %u", (int)lens[t], terms[t], (uint32_t)df,
                     count);
        cr_assert_eq(ft_postings_status(p, &err), FT_OK, "%s", err.msg);
        ft_postings_close(p);
    }
    out->n = 0;
    out->h = malloc((lim + 1) * sizeof *out->h);
    ft_docbuf *db = ft_docbuf_new();
    for (uint32_t d = 0; d < lim; d++) {
        if (!hitp[d]) continue;
        ft_doc doc;
        ft_error err = {0};
        cr_assert_eq(ft_index_doc(ix, d, db, &doc, &err), FT_OK, "%s", err.msg);
        out->h[out->n].id = strndup(doc.id, doc.id_len);
        out->h[out->n].score = score[d];
        out->n++;
    }
    ft_docbuf_free(db);
    qsort(out->h, out->n, sizeof *out->h, cmp_hit_id);
    free(score);
    free(hitp);
}

static void ranking_free(ranking *r)
{
    for (size_t i = 0; i < r->n; i++) free(r->h[i].id);
    free(r->h);
}

/* Same documents and statistics, same scores (1e-9) for nq random queries of
 * terms drawn from want's dictionary (plus a term absent from it). */
static void assert_same_ranking(const char *got_dir, const char *want_dir, unsigned nq, uint64_t seed)
{
    ft_index *g = open_ok(got_dir), *w = open_ok(want_dir);
    cr_assert_eq(ft_index_doc_count(g), ft_index_doc_count(w), "live documents %u, want %u", ft_index_doc_count(g),
                 ft_index_doc_count(w));
    cr_assert_eq(ft_index_token_count(g), ft_index_token_count(w));
    cr_assert(fabs(ft_index_avgdl(g) - ft_index_avgdl(w)) < 1e-12);
    tu_term_list l = {0};
    ft_error err = {0};
    cr_assert_eq(ft_index_terms(w, tu_collect_term, &l, &err), FT_OK);
    cr_assert_gt(l.n, 10);
    tu_rng r = {seed};
    for (unsigned q = 0; q < nq; q++) {
        char *terms[5];
        size_t lens[5];
        size_t nt = 1 + tu_randn(&r, 4);
        for (size_t t = 0; t < nt; t++) {
            /* favour frequent terms now and then: long lists across segments */
            size_t k = tu_randn(&r, 3) == 0 ? tu_randn(&r, (uint32_t)(l.n < 50 ? l.n : 50)) : tu_randn(&r, (uint32_t)l.n);
            terms[t] = l.t[k];
            lens[t] = l.len[k];
        }
        ranking rg, rw;
        rank(g, terms, lens, nt, &rg);
        rank(w, terms, lens, nt, &rw);
        cr_assert_eq(rg.n, rw.n, "query %u (%.*s ...): %zu matches, want %zu", q, (int)lens[0], terms[0], rg.n,
                     rw.n);
        for (size_t i = 0; i < rg.n; i++) {
            cr_assert_str_eq(rg.h[i].id, rw.h[i].id, "query %u: match %zu", q, i);
            cr_assert(fabs(rg.h[i].score - rw.h[i].score) < 1e-9, "query %u, %s: score %.12f, want %.12f", q,
                      rg.h[i].id, rg.h[i].score, rw.h[i].score);
        }
        ranking_free(&rg);
        ranking_free(&rw);
    }
    tu_term_list_free(&l);
    ft_index_close(g);
    ft_index_close(w);
}

/* ---------------------------------------------------------------- building */

static void build(const char *dir, const tu_corpus *c, size_t from, size_t to, const ft_writer_opts *wo)
{
    ft_writer *w = NULL;
    ft_error err = {0};
    int rc = ft_writer_open(dir, wo, &w, &err);
    cr_assert_eq(rc, FT_OK, "ft_writer_open: %s", err.msg);
    for (size_t i = from; i < to; i++) {
        const tu_doc *d = &c->docs[i];
        rc = ft_writer_add(w, d->id, d->id_len, d->title, d->title_len, d->body, d->body_len, &err);
        cr_assert_eq(rc, FT_OK, "ft_writer_add: %s", err.msg);
    }
    rc = ft_writer_commit(w, &err);
    cr_assert_eq(rc, FT_OK, "ft_writer_commit: %s", err.msg);
    ft_writer_close(w);
}

static unsigned segments_of(const char *dir)
{
    ft_index *ix = open_ok(dir);
    unsigned n = ft_index_segment_count(ix);
    ft_index_close(ix);
    return n;
}

Test(segments, ten_segments_rank_like_one, .timeout = 120)
{
    tu_corpus c;
    tu_corpus_gen(&c, 2000, 1500, SEED);
    ft_writer_opts wo;
    opts_none(&wo);
    tu_inv inv;
    tu_inv_build(&inv, &c, &wo.analyzer);
    char *one = tu_mkdtemp(), *ten = tu_mkdtemp();
    wo.memory = 0;
    build(one, &c, 0, c.n, &wo);
    cr_assert_eq(segments_of(one), 1);
    wo.segment_docs = 200;
    build(ten, &c, 0, c.n, &wo);
    cr_assert_eq(segments_of(ten), 10);
    check_ok(ten);
    ft_index *ix = open_ok(ten);
    tu_check_index(ix, &c, &inv); /* document numbers, postings, positions, store */
    ft_index_close(ix);
    assert_same_ranking(ten, one, 200, 1);

    /* a full merge gives the same index again */
    ft_merge_opts mo;
    ft_merge_opts_default(&mo);
    mo.max_segments = 1;
    unsigned merges = 0;
    ft_error err = {0};
    cr_assert_eq(ft_index_merge(ten, &mo, &merges, &err), FT_OK, "%s", err.msg);
    cr_assert_eq(merges, 1);
    cr_assert_eq(segments_of(ten), 1);
    check_ok(ten);
    ix = open_ok(ten);
    tu_check_index(ix, &c, &inv);
    ft_index_close(ix);
    assert_same_ranking(ten, one, 50, 2);
    tu_inv_free(&inv);
    tu_corpus_free(&c);
    tu_rmrf(one);
    tu_rmrf(ten);
    free(one);
    free(ten);
}

Test(segments, memory_budget_flushes_segments, .timeout = 120)
{
    tu_corpus c;
    tu_corpus_gen(&c, 1500, 1500, SEED + 1);
    ft_writer_opts wo;
    opts_none(&wo);
    tu_inv inv;
    tu_inv_build(&inv, &c, &wo.analyzer);
    char *dir = tu_mkdtemp();
    wo.memory = 256 << 10; /* a tiny budget: many segments */
    ft_writer *w = NULL;
    ft_error err = {0};
    cr_assert_eq(ft_writer_open(dir, &wo, &w, &err), FT_OK, "%s", err.msg);
    for (size_t i = 0; i < c.n; i++) {
        const tu_doc *d = &c.docs[i];
        cr_assert_eq(ft_writer_add(w, d->id, d->id_len, d->title, d->title_len, d->body, d->body_len, &err), FT_OK);
    }
    cr_assert_eq(ft_writer_commit(w, &err), FT_OK, "%s", err.msg);
    unsigned flushed = ft_writer_segments(w);
    ft_writer_close(w);
    cr_assert_geq(flushed, 5, "a 256 KiB budget flushed only %u segments", flushed);
    cr_assert_eq(segments_of(dir), flushed);
    check_ok(dir);
    ft_index *ix = open_ok(dir);
    tu_check_index(ix, &c, &inv);
    ft_index_close(ix);

    /* the merge policy: similar segments merged in tens, fewer than 10 remain
     * per size class, and nothing changes in what the index holds */
    ft_merge_opts mo;
    ft_merge_opts_default(&mo);
    unsigned merges = 0;
    cr_assert_eq(ft_index_merge(dir, &mo, &merges, &err), FT_OK, "%s", err.msg);
    unsigned after = segments_of(dir);
    cr_assert_gt(merges, 0);
    cr_assert_eq(after, flushed - 9 * merges, "each merge replaces 10 segments by one");
    /* two size classes at most here (flushes, and merges of ten flushes) */
    cr_assert_leq(after, 18, "%u segments after the merge policy (%u flushed, %u merges)", after, flushed, merges);
    check_ok(dir);
    ix = open_ok(dir);
    tu_check_index(ix, &c, &inv);
    ft_index_close(ix);
    tu_inv_free(&inv);
    tu_corpus_free(&c);
    tu_rmrf(dir);
    free(dir);
}

/* ---------------------------------------------------------------- updates */

static void add_docs(const char *dir, const tu_doc *const *docs, size_t n, char *const *del, size_t ndel,
                     uint32_t segment_docs)
{
    ft_writer_opts wo;
    opts_none(&wo);
    wo.mode = FT_WRITE_APPEND;
    wo.segment_docs = segment_docs;
    ft_writer *w = NULL;
    ft_error err = {0};
    cr_assert_eq(ft_writer_open(dir, &wo, &w, &err), FT_OK, "%s", err.msg);
    for (size_t i = 0; i < ndel; i++) cr_assert_eq(ft_writer_delete(w, del[i], strlen(del[i]), &err), FT_OK);
    for (size_t i = 0; i < n; i++) {
        const tu_doc *d = docs[i];
        cr_assert_eq(ft_writer_add(w, d->id, d->id_len, d->title, d->title_len, d->body, d->body_len, &err), FT_OK,
                     "%s", err.msg);
    }
    cr_assert_eq(ft_writer_commit(w, &err), FT_OK, "%s", err.msg);
    ft_writer_close(w);
}

Test(update, five_adds_with_deletes_and_replacements_rank_like_one_build, .timeout = 180)
{
    /* versions: A (1200 documents, ids doc-0000..), B (a second corpus whose
     * documents reuse some of those ids with other text) */
    tu_corpus a, b;
    tu_corpus_gen(&a, 1200, 1500, SEED + 2);
    tu_corpus_gen(&b, 1200, 1500, SEED + 3);
    char *dir = tu_mkdtemp(), *ref = tu_mkdtemp();
    tu_rng r = {77};
    /* final[i]: which version of document i is live: 0 none, 1 a, 2 b */
    int final[1200] = {0};
    const tu_doc **batch = malloc(1200 * sizeof *batch);
    char **del = malloc(1200 * sizeof *del);
    for (int step = 0; step < 5; step++) {
        size_t n = 0, ndel = 0;
        /* new documents: ids step*240 .. step*240+239 from a */
        for (size_t i = (size_t)step * 240; i < (size_t)step * 240 + 240; i++) {
            batch[n++] = &a.docs[i];
            final[i] = 1;
        }
        if (step > 0) {
            /* replacements of earlier documents by b's text under the same id */
            for (int k = 0; k < 40; k++) {
                size_t i = tu_randn(&r, (uint32_t)step * 240);
                if (final[i] == 0) continue;
                tu_doc *d = &b.docs[i];
                free(d->id);
                d->id = strdup(a.docs[i].id);
                d->id_len = a.docs[i].id_len;
                int dup = 0;
                for (size_t j = 0; j < n; j++) dup |= batch[j] == d;
                if (!dup) batch[n++] = d;
                final[i] = 2;
            }
            /* deletions of earlier documents */
            for (int k = 0; k < 30; k++) {
                size_t i = tu_randn(&r, (uint32_t)step * 240);
                if (final[i] != 1) continue;
                int dup = 0;
                for (size_t j = 0; j < ndel; j++) dup |= !strcmp(del[j], a.docs[i].id);
                if (!dup) del[ndel++] = a.docs[i].id;
                final[i] = 0;
            }
        }
        /* the same id twice within one step: the later one wins */
        if (step == 2) {
            batch[n++] = &b.docs[step * 240 + 5];
            free(b.docs[step * 240 + 5].id);
            b.docs[step * 240 + 5].id = strdup(a.docs[step * 240 + 5].id);
            b.docs[step * 240 + 5].id_len = a.docs[step * 240 + 5].id_len;
            final[step * 240 + 5] = 2;
        }
        add_docs(dir, batch, n, del, ndel, step == 3 ? 50 : 0);
        check_ok(dir);
    }
    /* a delete-only commit, and deleting an id that is not there */
    char *gone[] = {a.docs[7].id, (char *)"no-such-id"};
    add_docs(dir, NULL, 0, gone, 2, 0);
    final[7] = 0;
    check_ok(dir);

    /* the reference: one build of the final documents */
    tu_corpus fin = {0};
    for (size_t i = 0; i < 1200; i++) {
        const tu_doc *d = final[i] == 1 ? &a.docs[i] : final[i] == 2 ? &b.docs[i] : NULL;
        if (d) tu_corpus_add(&fin, d->id, d->title, d->body);
    }
    ft_writer_opts wo;
    opts_none(&wo);
    tu_build_index(ref, &fin, &wo);
    assert_same_ranking(dir, ref, 150, 3);

    /* merging drops the deleted documents and changes no score */
    ft_merge_opts mo;
    ft_merge_opts_default(&mo);
    mo.max_segments = 1;
    ft_error err = {0};
    cr_assert_eq(ft_index_merge(dir, &mo, NULL, &err), FT_OK, "%s", err.msg);
    check_ok(dir);
    ft_index *ix = open_ok(dir);
    cr_assert_eq(ft_index_segment_count(ix), 1);
    cr_assert_eq(ft_index_doc_limit(ix), fin.n, "merged index keeps %u document numbers, want %zu",
                 ft_index_doc_limit(ix), fin.n);
    ft_index_close(ix);
    assert_same_ranking(dir, ref, 50, 4);

    free(batch);
    free(del);
    tu_corpus_free(&fin);
    tu_corpus_free(&a);
    tu_corpus_free(&b);
    tu_rmrf(dir);
    tu_rmrf(ref);
    free(dir);
    free(ref);
}

Test(update, deleted_documents_vanish_at_once)
{
    char *dir = tu_mkdtemp();
    tu_corpus c = {0};
    tu_corpus_add(&c, "x", "apple", "banana cherry");
    tu_corpus_add(&c, "y", "apple", "cherry");
    tu_corpus_add(&c, "z", "date", "apple");
    ft_writer_opts wo;
    opts_none(&wo);
    tu_build_index(dir, &c, &wo);
    ft_index *before = open_ok(dir); /* a reader's snapshot */
    char *del[] = {(char *)"y"};
    add_docs(dir, NULL, 0, del, 1, 0);
    ft_index *ix = open_ok(dir);
    cr_assert_eq(ft_index_doc_count(ix), 2);
    cr_assert_eq(ft_index_doc_limit(ix), 3);
    cr_assert(ft_index_doc_deleted(ix, 1));
    ft_postings *p = NULL;
    ft_error err = {0};
    cr_assert_eq(ft_postings_open(ix, "cherry", 6, &p, &err), FT_OK);
    cr_assert_eq(ft_postings_df(p), 1);
    cr_assert_eq(ft_postings_next(p), 0);
    cr_assert_eq(ft_postings_next(p), FT_DOC_END);
    ft_postings_close(p);
    cr_assert_eq(ft_postings_open(ix, "apple", 5, &p, &err), FT_OK);
    cr_assert_eq(ft_postings_df(p), 2);
    cr_assert_eq(ft_postings_advance(p, 1), 2);
    ft_postings_close(p);
    cr_assert_eq(ft_index_token_count(ix), 3 + 2);
    ft_index_close(ix);
    /* the old snapshot still answers as before */
    cr_assert_eq(ft_index_doc_count(before), 3);
    cr_assert_eq(ft_postings_open(before, "cherry", 6, &p, &err), FT_OK);
    cr_assert_eq(ft_postings_df(p), 2);
    ft_postings_close(p);
    ft_index_close(before);
    tu_corpus_free(&c);
    tu_rmrf(dir);
    free(dir);
}

/* ---------------------------------------------------------------- lock */

Test(lock, second_writer_is_refused_with_the_holders_pid)
{
    char *dir = tu_mkdtemp();
    ft_writer_opts wo;
    opts_none(&wo);
    ft_writer *w1 = NULL, *w2 = NULL;
    ft_error err = {0};
    cr_assert_eq(ft_writer_open(dir, &wo, &w1, &err), FT_OK, "%s", err.msg);
    int rc = ft_writer_open(dir, &wo, &w2, &err);
    cr_assert_eq(rc, FT_EBUSY, "second writer: %d %s", rc, err.msg);
    cr_assert_null(w2);
    char pid[32];
    snprintf(pid, sizeof pid, "process %ld", (long)getpid());
    cr_assert(strstr(err.msg, pid) && strstr(err.msg, dir), "message: %s", err.msg);
    ft_merge_opts mo;
    ft_merge_opts_default(&mo);
    cr_assert_eq(ft_index_merge(dir, &mo, NULL, &err), FT_EBUSY);
    ft_writer_close(w1);
    cr_assert_eq(ft_writer_open(dir, &wo, &w2, &err), FT_OK, "after release: %s", err.msg);
    ft_writer_close(w2);
    char *lock = tu_join(dir, "LOCK");
    cr_assert_neq(access(lock, F_OK), 0, "LOCK left behind by a clean close");

    /* a writer killed while holding the lock: the next one proceeds */
    pid_t child = fork();
    cr_assert_geq(child, 0);
    if (child == 0) {
        ft_writer *w = NULL;
        if (ft_writer_open(dir, &wo, &w, NULL) != FT_OK) _exit(1);
        raise(SIGKILL);
        _exit(2);
    }
    int st;
    cr_assert_eq(waitpid(child, &st, 0), child);
    cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    cr_assert_eq(access(lock, F_OK), 0, "the dead writer's LOCK file is there");
    cr_assert_eq(ft_writer_open(dir, &wo, &w2, &err), FT_OK, "after the holder died: %s", err.msg);
    ft_writer_close(w2);
    free(lock);
    tu_rmrf(dir);
    free(dir);
}

/* ---------------------------------------------------------------- ftindex */

/* A JSON Lines file of documents [from, to) of c (ids and words are plain). */
static void write_jsonl(const char *path, const tu_corpus *c, size_t from, size_t to)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    for (size_t i = from; i < to; i++) {
        fprintf(f, "{\"id\":\"%s\",\"title\":\"", c->docs[i].id);
        for (int k = 0; k < 2; k++) {
            const char *t = k ? c->docs[i].body : c->docs[i].title;
            for (; *t; t++)
                if (*t == '"' || *t == '\\') fprintf(f, "\\%c", *t);
                else if ((unsigned char)*t < 0x20) fputc(' ', f);
                else fputc(*t, f);
            fputs(k ? "\"}\n" : "\",\"body\":\"", f);
        }
    }
    fclose(f);
}

Test(ftindex, jobs_build_the_same_index_byte_for_byte, .timeout = 120)
{
    tu_corpus c;
    tu_corpus_gen(&c, 3000, 2000, SEED + 9);
    char *tmp = tu_mkdtemp();
    char *in = tu_join(tmp, "docs.jsonl"), *a = tu_join(tmp, "j1"), *b = tu_join(tmp, "j3");
    write_jsonl(in, &c, 0, c.n);
    tu_run r;
    tu_run_tool(&r, "ftindex", "build", "-q", "-j", "1", "--memory", "2M", "-o", a, in, NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    tu_run_free(&r);
    tu_run_tool(&r, "ftindex", "build", "-q", "-j", "3", "--memory", "2M", "-o", b, in, NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    tu_run_free(&r);
    size_t na;
    char **la = tu_list_dir(a, &na);
    tu_free_list(la, na);
    cr_assert_gt(na, 7, "expected several segments");
    tu_assert_same_files(a, b, "-j 1 against -j 3");
    tu_corpus_free(&c);
    tu_rmrf(tmp);
    free(in);
    free(a);
    free(b);
    free(tmp);
}

Test(ftindex, add_delete_merge_stats_dump, .timeout = 120)
{
    tu_corpus c = {0};
    tu_corpus_add(&c, "a", "alpha", "one two three");
    tu_corpus_add(&c, "b", "beta", "two three four");
    tu_corpus_add(&c, "a", "alpha again", "five six");
    tu_corpus_add(&c, "c", "gamma", "three");
    char *tmp = tu_mkdtemp();
    char *in1 = tu_join(tmp, "1.jsonl"), *in2 = tu_join(tmp, "2.jsonl"), *ix = tu_join(tmp, "ix");
    write_jsonl(in1, &c, 0, 2);
    write_jsonl(in2, &c, 2, 4);
    tu_run r;
    tu_run_tool(&r, "ftindex", "build", "-q", "--lang", "none", "-o", ix, in1, NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    tu_run_free(&r);
    tu_run_tool(&r, "ftindex", "add", "-i", ix, in2, NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert(strstr(r.err, "1 document replaced"), "%s", r.err);
    tu_run_free(&r);
    tu_run_tool(&r, "ftindex", "dump", "-i", ix, "three", NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert_str_eq(r.out, "term three: df 2, cf 3\ndoc\tid\ttf\tpositions\n1\tb\t1\t3\n3\tc\t1\t2\n");
    tu_run_free(&r);
    tu_run_tool(&r, "ftindex", "delete", "-i", ix, "c", "nope", NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert_str_eq(r.err, "deleted 1 document\n");
    tu_run_free(&r);
    tu_run_tool(&r, "ftindex", "stats", "-i", ix, "--json", NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert(strstr(r.out, "\"documents\":2,\"deleted\":2,\"segments\":2,"), "%s", r.out);
    tu_run_free(&r);
    tu_run_tool(&r, "ftindex", "merge", "-i", ix, NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    tu_run_free(&r);
    tu_run_tool(&r, "ftindex", "stats", "-i", ix, "--json", NULL);
    cr_assert(strstr(r.out, "\"documents\":2,\"deleted\":0,\"segments\":1,\"terms\":8,\"postings\":8,"), "%s", r.out);
    tu_run_free(&r);
    tu_run_tool(&r, "ftindex", "dump", "-i", ix, NULL);
    cr_assert_str_eq(r.out, "again\t1\nalpha\t1\nbeta\t1\nfive\t1\nfour\t1\nsix\t1\nthree\t1\ntwo\t1\n");
    tu_run_free(&r);
    tu_run_tool(&r, "ftindex", "check", "-i", ix, NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert_str_eq(r.out, "ok: 2 documents, 1 segment\n");
    tu_run_free(&r);

    /* a second writer is refused with the holder's pid */
    ft_writer_opts wo;
    opts_none(&wo);
    wo.mode = FT_WRITE_APPEND;
    ft_writer *w = NULL;
    ft_error err = {0};
    cr_assert_eq(ft_writer_open(ix, &wo, &w, &err), FT_OK, "%s", err.msg);
    tu_run_tool(&r, "ftindex", "delete", "-i", ix, "a", NULL);
    cr_assert_eq(r.status, 6, "delete while another writer holds the lock: exit %d", r.status);
    char pid[64];
    snprintf(pid, sizeof pid, "locked by another writer (process %ld)", (long)getpid());
    cr_assert(strstr(r.err, pid), "%s", r.err);
    tu_run_free(&r);
    ft_writer_close(w);
    tu_corpus_free(&c);
    tu_rmrf(tmp);
    free(in1);
    free(in2);
    free(ix);
    free(tmp);
}
