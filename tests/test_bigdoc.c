/*
 * test_bigdoc.c — one document much larger than the writer's chunk
 * (65,536 tokens inverted at a time) and than its memory budget.
 *
 * The body is built token by token, so what sits at each chunk seam is
 * known: at every seam a two-token item straddles it (the apostrophe word
 * "don't" then "stop", or the CJK run 日本語, whose bigrams 日本 and 本語
 * fall on either side), and a four-word phrase starts one token earlier.
 * The index must be the same bytes whether a document is inverted whole or
 * in chunks of any size, through ft_writer_add or ft_writer_add_tokens;
 * with a tiny budget (other segments) the same hits, scores and positions;
 * and everything must match the naive inversion (tu_check_index).
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zstd.h>

#include "ft_index_int.h"
#include "ft_test_util.h"

#define CHUNK 65536u
#define SEAMS 5 /* chunks the big document spans: SEAMS + 1 */

/* Append one token's text (and a space) to b. */
static void put(ft_buf *b, const char *s)
{
    ft_buf_append(b, s, strlen(s));
    ft_buf_append(b, " ", 1);
}

/* The big body: filler words of one token each (letters, never a stopword
 * nor changed by the stemmer into another filler), with the seam items.
 * The title is one token at position 0 and is the writer's token 0, so body
 * token j is the writer's token j + 1: the seams fall between body tokens
 * k * CHUNK - 2 and k * CHUNK - 1.  A few invalid UTF-8 bytes (stored as
 * U+FFFD, a separator to the analyzer) sit between words. */
static char *big_body(size_t *len)
{
    ft_buf b;
    ft_buf_init(&b);
    tu_rng r = {2024};
    size_t total = (size_t)(SEAMS + 1) * CHUNK - CHUNK / 3;
    for (size_t j = 0; j < total;) {
        size_t k = (j + 3) / CHUNK; /* the next seam, if it is near */
        if (k % 3 == 0 && j + 3 == k * CHUNK && k) {
            put(&b, "alpha"); /* alpha beta | gamma delta */
            put(&b, "beta");
            put(&b, "gamma");
            put(&b, "delta");
            j += 4;
            continue;
        }
        k = (j + 2) / CHUNK;
        if (k % 3 && j + 2 == k * CHUNK) {
            if (k % 3 == 2) {
                put(&b, "日本語"); /* 日本 | 本語 */
            } else {
                put(&b, "don't"); /* don't | stop */
                put(&b, "stop");
            }
            j += 2;
            continue;
        }
        char w[16];
        uint32_t v = tu_randn(&r, 4000);
        snprintf(w, sizeof w, "zq%c%c%c", 'a' + v % 20, 'a' + v / 20 % 20, 'a' + v / 400);
        put(&b, w);
        if (tu_randn(&r, 20000) == 0) ft_buf_append(&b, "\xff ", 2);
        j++;
    }
    cr_assert(!b.failed);
    *len = b.len;
    return (char *)b.p;
}

static void corpus(tu_corpus *c)
{
    memset(c, 0, sizeof *c);
    tu_corpus_add(c, "a", "before", "stop the alpha beta gamma delta don't stop");
    tu_corpus_add(c, "b", "also small", "日本語 text zqaaa zqbbb");
    size_t n;
    char *body = big_body(&n);
    ft_buf t;
    ft_buf_init(&t);
    ft_buf_append(&t, body, n);
    ft_buf_append(&t, "", 1);
    tu_corpus_add(c, "big", "huge", (const char *)t.p);
    free(body);
    ft_buf_free(&t);
    tu_corpus_add(c, "c", "after", "gamma delta stop don't 日本 zqaaa");
}

enum { VIA_ADD, VIA_TOKENS, VIA_PIECES };

/* Build c into dir with the given chunk (SIZE_MAX: whole), budget and
 * spilling threshold (SIZE_MAX: never spill); returns the runs spilled. */
static int store_raw; /* tests: large records stored raw */

static uint64_t build_spill(const char *dir, const tu_corpus *c, size_t chunk, uint64_t memory, int via,
                            size_t spill)
{
    ft_writer_opts wo;
    ft_writer_opts_default(&wo);
    wo.memory = memory;
    ft_writer *w;
    ft_error err = {0};
    cr_assert_eq(ft_writer_open(dir, &wo, &w, &err), FT_OK, "%s", err.msg);
    ft_writer_set_chunk_(w, chunk);
    ft_writer_set_spill_(w, spill);
    ft_writer_set_store_raw_(w, store_raw);
    ft_analyzer *an = NULL;
    ft_tokens *t = ft_tokens_new();
    cr_assert_not_null(t);
    cr_assert_eq(ft_analyzer_new(ft_writer_analyzer_opts(w), &an, &err), FT_OK);
    for (size_t i = 0; i < c->n; i++) {
        const tu_doc *d = &c->docs[i];
        int rc;
        if (via == VIA_PIECES && d->id_len + d->title_len + d->body_len >= (1u << 20)) {
            /* pieces of random sizes, from 1 byte to 300 KB, so they end
             * inside words, CJK runs and UTF-8 sequences */
            rc = ft_writer_begin(w, d->id, d->id_len, d->title, d->title_len, d->body_len,
                                 ft_utf8_sanitized_len(d->body, d->body_len), &err);
            cr_assert_eq(rc, FT_OK, "%s", err.msg);
            tu_rng r = {(uint64_t)chunk * 31 + memory};
            for (size_t at = 0; at < d->body_len && !rc;) {
                size_t n = tu_randn(&r, 4) == 0 ? 1 + tu_randn(&r, 3) : 1 + tu_randn(&r, 300000);
                if (n > d->body_len - at) n = d->body_len - at;
                rc = ft_writer_text(w, d->body + at, n, &err);
                at += n;
            }
            if (!rc) rc = ft_writer_end(w, &err);
        } else if (via == VIA_TOKENS) {
            if (ft_tokens_count(t) == 4) ft_tokens_clear(t); /* batches of four, the memory reused */
            rc = ft_tokens_analyze(t, an, d->title, d->title_len, d->body, d->body_len, &err);
            cr_assert_eq(rc, FT_OK, "%s", err.msg);
            rc = ft_writer_add_tokens(w, t, ft_tokens_count(t) - 1, d->id, d->id_len, d->title, d->title_len,
                                      d->body, d->body_len, &err);
        } else {
            rc = ft_writer_add(w, d->id, d->id_len, d->title, d->title_len, d->body, d->body_len, &err);
        }
        cr_assert_eq(rc, FT_OK, "add %s: %s", d->id, err.msg);
    }
    cr_assert_eq(ft_writer_commit(w, &err), FT_OK, "%s", err.msg);
    uint64_t spills = ft_writer_spills_(w);
    ft_writer_close(w);
    ft_tokens_free(t);
    ft_analyzer_free(an);
    return spills;
}

static void build(const char *dir, const tu_corpus *c, size_t chunk, uint64_t memory, int via)
{
    build_spill(dir, c, chunk, memory, via, 0);
}

static ft_index *open_ok(const char *dir)
{
    ft_index *ix = NULL;
    ft_error err = {0};
    cr_assert_eq(ft_index_open(dir, &ix, &err), FT_OK, "%s", err.msg);
    return ix;
}

/* Positions of term in the document with id "big". */
static uint32_t big_positions(const ft_index *ix, const char *term, uint32_t *out, uint32_t max)
{
    ft_postings *p = NULL;
    ft_error err = {0};
    cr_assert_eq(ft_postings_open(ix, term, strlen(term), &p, &err), FT_OK, "%s", err.msg);
    uint32_t d, n = 0;
    while ((d = ft_postings_next(p)) != FT_DOC_END) {
        if (d != 2) continue; /* the third document is "big" */
        const uint32_t *pos;
        cr_assert_eq(ft_postings_positions(p, &pos, &n), FT_OK);
        cr_assert_leq(n, max);
        memcpy(out, pos, n * sizeof *pos);
    }
    ft_postings_close(p);
    return n;
}

static const struct {
    const char *q;
    int in_big; /* the big document must be among the hits */
} queries[] = {
    {"\"don't stop\"", 1}, {"\"alpha beta gamma delta\"", 1}, {"日本語", 1}, {"\"beta gamma\"", 1},
    {"stop", 1}, {"zqaaa", 1}, {"\"日本語\" stop", 1}, {"don't", 1}, {"\"gamma delta stop\"", 0},
    {"zqbbb OR gamma", 0},
};

/* Same hits (ids), scores and positions in both indexes. */
static void assert_same_results(const char *da, const char *db)
{
    ft_index *a = open_ok(da), *b = open_ok(db);
    ft_analyzer *an = NULL;
    ft_error err = {0};
    cr_assert_eq(ft_analyzer_new(ft_index_analyzer_opts(a), &an, &err), FT_OK);
    ft_docbuf *ba = ft_docbuf_new(), *bb = ft_docbuf_new();
    for (size_t q = 0; q < sizeof queries / sizeof *queries; q++) {
        ft_query *pq = NULL;
        cr_assert_eq(ft_query_parse(an, queries[q].q, strlen(queries[q].q), &pq, &err), FT_OK, "%s", err.msg);
        ft_search_opts so;
        ft_search_opts_default(&so);
        so.exhaustive = 1;
        ft_results ra = {0}, rb = {0};
        cr_assert_eq(ft_search(a, pq, &so, &ra, &err), FT_OK, "%s", err.msg);
        cr_assert_eq(ft_search(b, pq, &so, &rb, &err), FT_OK, "%s", err.msg);
        cr_assert_eq(ra.n, rb.n, "query %s: %zu hits, want %zu", queries[q].q, rb.n, ra.n);
        cr_assert_gt(ra.n, 0, "query %s finds nothing", queries[q].q);
        int big_found = 0;
        for (size_t i = 0; i < ra.n; i++) {
            ft_doc x, y;
            cr_assert_eq(ft_index_doc(a, ra.hits[i].doc, ba, &x, &err), FT_OK);
            cr_assert_eq(ft_index_doc(b, rb.hits[i].doc, bb, &y, &err), FT_OK);
            cr_assert(x.id_len == y.id_len && !memcmp(x.id, y.id, x.id_len), "query %s hit %zu", queries[q].q, i);
            cr_assert(fabs(ra.hits[i].score - rb.hits[i].score) < 1e-9, "query %s: score %.12f, want %.12f",
                      queries[q].q, rb.hits[i].score, ra.hits[i].score);
            if (x.id_len == 3 && !memcmp(x.id, "big", 3)) big_found = 1;
        }
        cr_assert(big_found || !queries[q].in_big, "query %s misses the big document", queries[q].q);
        ft_results_free(&ra);
        ft_results_free(&rb);
        ft_query_free(pq);
    }
    static uint32_t pa[400000], pb[400000];
    const char *terms[] = {"don't", "stop", "日本", "本語", "alpha", "delta", "zqaaa"};
    for (size_t t = 0; t < sizeof terms / sizeof *terms; t++) {
        uint32_t na = big_positions(a, terms[t], pa, 400000), nb = big_positions(b, terms[t], pb, 400000);
        cr_assert_eq(na, nb, "term %s", terms[t]);
        cr_assert_gt(na, 0, "term %s", terms[t]);
        cr_assert(!memcmp(pa, pb, na * sizeof *pa), "positions of %s differ", terms[t]);
    }
    /* the seam items where they were put: body token j is at position j + 2 */
    uint32_t n = big_positions(a, "本語", pa, 400000);
    int straddles = 0;
    for (uint32_t i = 0; i < n; i++) straddles += (pa[i] - 2 + 1) % CHUNK == 0;
    cr_assert_geq(straddles, SEAMS / 2, "本語 on the far side of a seam %d times", straddles);
    ft_docbuf_free(ba);
    ft_docbuf_free(bb);
    ft_analyzer_free(an);
    ft_index_close(a);
    ft_index_close(b);
}

Test(bigdoc, chunked_index_is_the_same_bytes, .timeout = 300)
{
    tu_corpus c;
    corpus(&c);
    char *root = tu_mkdtemp();
    char *whole = tu_join(root, "whole"), *chunked = tu_join(root, "chunked"), *small = tu_join(root, "small"),
         *tok = tu_join(root, "tokens");
    build(whole, &c, SIZE_MAX, 0, VIA_ADD);
    build(chunked, &c, CHUNK, 0, VIA_ADD);
    build(small, &c, 997, 0, VIA_ADD);
    build(tok, &c, 1000, 0, VIA_TOKENS);
    tu_assert_same_files(whole, chunked, "index files");
    tu_assert_same_files(whole, small, "index files");
    tu_assert_same_files(whole, tok, "index files");
    tu_rmrf(root);
    free(whole);
    free(chunked);
    free(small);
    free(tok);
    free(root);
    tu_corpus_free(&c);
}

Test(bigdoc, tiny_budget_same_results_and_positions, .timeout = 300)
{
    tu_corpus c;
    corpus(&c);
    char *root = tu_mkdtemp();
    char *whole = tu_join(root, "whole"), *tiny = tu_join(root, "tiny"), *tiny_tok = tu_join(root, "tiny_tok");
    build(whole, &c, SIZE_MAX, 0, VIA_ADD);
    build(tiny, &c, CHUNK, 64 << 10, VIA_ADD);
    build(tiny_tok, &c, CHUNK, 1, VIA_TOKENS);
    ft_index *ix = open_ok(tiny);
    cr_assert_geq(ft_index_segment_count(ix), 2, "the budget made no segments");
    tu_inv inv;
    tu_inv_build(&inv, &c, ft_index_analyzer_opts(ix));
    tu_check_index(ix, &c, &inv); /* every posting and position, stored text */
    tu_inv_free(&inv);
    ft_index_close(ix);
    assert_same_results(whole, tiny);
    assert_same_results(whole, tiny_tok);
    tu_assert_same_files(tiny, tiny_tok, "index files");
    tu_rmrf(root);
    free(whole);
    free(tiny);
    free(tiny_tok);
    free(root);
    tu_corpus_free(&c);
}

/* The command line: a big JSON Lines body without escapes (handed over with
 * the line's buffer) and one with escapes (with the decoding scratch), with
 * -j 1 and -j 2 (where the writer analyzes the big bodies itself): the same
 * index, and the bodies stored exactly. */
Test(bigdoc, cli_big_lines, .timeout = 300)
{
    const char *bin = tu_env_or_skip("FT_BIN");
    size_t n;
    char *body = big_body(&n);
    ft_buf in, esc;
    ft_buf_init(&in);
    ft_buf_init(&esc);
    for (size_t i = 0; i < n; i++) { /* valid UTF-8 only (JSON), escaped */
        if ((uint8_t)body[i] == 0xff) body[i] = 'x';
        if (body[i] == ' ' && i % 1000 == 0) ft_buf_append(&esc, "\\n", 2);
        else ft_buf_append(&esc, body + i, 1);
    }
    const char *l1 = "{\"id\":\"s1\",\"body\":\"small one stop\"}\n";
    ft_buf_append(&in, l1, strlen(l1));
    ft_buf_append(&in, "{\"id\":\"plain\",\"title\":\"t\",\"body\":\"", 34);
    ft_buf_append(&in, body, n);
    ft_buf_append(&in, "\"}\n{\"id\":\"esc\",\"body\":\"", 23);
    ft_buf_append(&in, esc.p, esc.len);
    ft_buf_append(&in, "\"}\n", 3);
    ft_buf_append(&in, l1, strlen(l1));
    cr_assert(!in.failed && !esc.failed);
    char *root = tu_mkdtemp();
    char *path = tu_join(root, "in.jsonl"), *o1 = tu_join(root, "j1"), *o2 = tu_join(root, "j2");
    tu_write_file(path, in.p, in.len);
    char *tool = tu_join(bin, "ftindex");
    char *a1[] = {tool, "build", "--quiet", "--memory", "1M", "-j", "1", "-o", o1, path, NULL};
    char *a2[] = {tool, "build", "--quiet", "--memory", "1M", "-j", "2", "-o", o2, path, NULL};
    tu_run r;
    tu_run_prog(&r, a1);
    cr_assert_eq(r.status, 0, "%s", r.err);
    tu_run_free(&r);
    tu_run_prog(&r, a2);
    cr_assert_eq(r.status, 0, "%s", r.err);
    tu_run_free(&r);
    tu_assert_same_files(o1, o2, "index files");
    ft_index *ix = open_ok(o2);
    cr_assert_eq(ft_index_doc_count(ix), 4);
    ft_docbuf *db = ft_docbuf_new();
    ft_doc d;
    ft_error err = {0};
    cr_assert_eq(ft_index_doc(ix, 1, db, &d, &err), FT_OK);
    cr_assert(d.body_len == n && !memcmp(d.body, body, n), "plain body stored differently");
    cr_assert_eq(ft_index_doc(ix, 2, db, &d, &err), FT_OK);
    cr_assert_eq(d.body_len, n);
    for (size_t i = 0, k = 0; i < n; i++, k++)
        cr_assert(d.body[k] == ((body[i] == ' ' && i % 1000 == 0) ? '\n' : body[i]), "escaped body at %zu", i);
    ft_docbuf_free(db);
    ft_index_close(ix);
    tu_rmrf(root);
    free(tool);
    free(path);
    free(o1);
    free(o2);
    free(root);
    free(body);
    ft_buf_free(&in);
    ft_buf_free(&esc);
}

/* Names in dir ending with suffix. */
static size_t count_suffix(const char *dir, const char *suffix)
{
    size_t n, hits = 0, sl = strlen(suffix);
    char **l = tu_list_dir(dir, &n);
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(l[i]);
        hits += len >= sl && !strcmp(l[i] + len - sl, suffix);
    }
    tu_free_list(l, n);
    return hits;
}

/* The big document's positions pass the budget: spilled to runs (a few, or
 * hundreds with small chunks), then merged back when its segment is written:
 * the same bytes as without spilling, whether the small documents before it
 * are in its segment (256 KiB) or each flushed alone (64 KiB). */
Test(bigdoc, spilled_positions_same_bytes, .timeout = 300)
{
    tu_corpus c;
    corpus(&c);
    char *root = tu_mkdtemp();
    static const struct {
        size_t chunk;
        uint64_t memory;
        int via;
        uint64_t min_runs;
    } cases[] = {
        {CHUNK, 256 << 10, VIA_ADD, 3},  {997, 256 << 10, VIA_ADD, 100}, {997, 64 << 10, VIA_TOKENS, 100},
        {CHUNK, 64 << 10, VIA_TOKENS, 3},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        char *plain = tu_join(root, "plain"), *spilled = tu_join(root, "spilled");
        uint64_t none = build_spill(plain, &c, cases[k].chunk, cases[k].memory, cases[k].via, SIZE_MAX);
        uint64_t runs = build_spill(spilled, &c, cases[k].chunk, cases[k].memory, cases[k].via, 1);
        cr_assert_eq(none, 0);
        cr_assert_geq(runs, cases[k].min_runs, "case %zu: %llu runs spilled", k, (unsigned long long)runs);
        tu_assert_same_files(plain, spilled, "index files");
        cr_assert_eq(count_suffix(spilled, ".tmp"), 0, "case %zu: a temporary file is left", k);
        if (k == 0) { /* the small documents share the big one's segment */
            ft_index *ix = open_ok(spilled);
            cr_assert_eq(ft_index_segment_count(ix), 2, "%u segments", ft_index_segment_count(ix));
            tu_inv inv;
            tu_inv_build(&inv, &c, ft_index_analyzer_opts(ix));
            tu_check_index(ix, &c, &inv);
            tu_inv_free(&inv);
            ft_index_close(ix);
        }
        tu_rmrf(plain);
        tu_rmrf(spilled);
        free(plain);
        free(spilled);
    }
    /* the default threshold (a quarter of the budget) spills too */
    char *plain = tu_join(root, "plain"), *spilled = tu_join(root, "spilled");
    build_spill(plain, &c, CHUNK, 256 << 10, VIA_ADD, SIZE_MAX);
    cr_assert_geq(build_spill(spilled, &c, CHUNK, 256 << 10, VIA_ADD, 0), 1);
    tu_assert_same_files(plain, spilled, "index files");
    tu_rmrf(root);
    free(plain);
    free(spilled);
    free(root);
    tu_corpus_free(&c);
}

static void die_reading_spill(const char *path, int flags)
{
    size_t n = strlen(path);
    if (n > 8 && !strcmp(path + n - 8, ".spl.tmp") && (flags & O_ACCMODE) == O_RDONLY) raise(SIGKILL);
}

/* A writer killed while its spill file exists (about to read it back): the
 * next writer removes the file, and the index is the one committed before. */
Test(bigdoc, spill_file_of_a_killed_writer_is_removed, .timeout = 300)
{
    tu_corpus c;
    corpus(&c);
    char *root = tu_mkdtemp();
    char *dir = tu_join(root, "ix");
    tu_corpus first = {0};
    tu_corpus_add(&first, "a", "before", "stop the alpha beta gamma delta don't stop");
    build(dir, &first, CHUNK, 0, VIA_ADD);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        tu_open_hook = die_reading_spill;
        build_spill(dir, &c, CHUNK, 256 << 10, VIA_ADD, 1);
        _exit(0);
    }
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "the writer was not killed: status %d", status);
    cr_assert_eq(count_suffix(dir, ".spl.tmp"), 1, "no spill file left by the killed writer");
    ft_writer *w;
    ft_error err = {0};
    cr_assert_eq(ft_writer_open(dir, NULL, &w, &err), FT_OK, "%s", err.msg);
    cr_assert_eq(count_suffix(dir, ".tmp"), 0, "the next writer left a temporary file");
    ft_writer_close(w);
    ft_index *ix = open_ok(dir);
    cr_assert_eq(ft_index_doc_count(ix), 1);
    ft_index_close(ix);
    tu_rmrf(root);
    free(dir);
    free(root);
    tu_corpus_free(&first);
    tu_corpus_free(&c);
}

/* The big body (with its invalid bytes, stored as U+FFFD), and one of valid
 * UTF-8 (。 in their place, with a few non-ASCII separators and accented
 * words), added in pieces of random sizes: the same index as ft_writer_add
 * of the whole, with any chunk size, budget and spilling, and with the
 * record stored raw (when compressing it does not pay, it is decompressed
 * back from the file). */
Test(bigdoc, pieces_same_bytes, .timeout = 300)
{
    tu_corpus c;
    memset(&c, 0, sizeof c);
    tu_corpus_add(&c, "a", "before", "stop the alpha beta gamma delta don't stop");
    size_t n;
    char *body = big_body(&n);
    ft_buf t;
    ft_buf_init(&t);
    for (size_t i = 0; i < n; i++) {
        if ((uint8_t)body[i] == 0xff) ft_buf_append(&t, "\xe3\x80\x82", 3); /* 。 */
        else if (body[i] == ' ' && i % 5000 == 0) {
            static const char sep[] = " \xc2\xa0" "caf\xc3\xa9 l'été ";
            ft_buf_append(&t, sep, strlen(sep));
        }
        else ft_buf_append(&t, body + i, 1);
    }
    ft_buf_append(&t, "", 1);
    tu_corpus_add(&c, "big", "huge \xe6\x97\xa5\xe6\x9c\xac title", (const char *)t.p);
    tu_corpus_add(&c, "c", "after", "gamma delta stop don't 日本 zqaaa");
    char *root = tu_mkdtemp();
    static const struct {
        size_t chunk;
        uint64_t memory;
        size_t spill;
        int raw;
    } cases[] = {
        {SIZE_MAX, 0, SIZE_MAX, 0}, {CHUNK, 0, SIZE_MAX, 0}, {997, 256 << 10, 1, 0}, {CHUNK, 0, SIZE_MAX, 1},
    };
    tu_corpus bad; /* the big body with its invalid bytes */
    corpus(&bad);
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        char *whole = tu_join(root, "whole"), *pieces = tu_join(root, "pieces");
        store_raw = cases[k].raw;
        build_spill(whole, &bad, cases[k].chunk, cases[k].memory, VIA_ADD, cases[k].spill);
        build_spill(pieces, &bad, cases[k].chunk, cases[k].memory, VIA_PIECES, cases[k].spill);
        tu_assert_same_files(whole, pieces, "index files");
        tu_rmrf(whole);
        tu_rmrf(pieces);
        build_spill(whole, &c, cases[k].chunk, cases[k].memory, VIA_ADD, cases[k].spill);
        build_spill(pieces, &c, cases[k].chunk, cases[k].memory, VIA_PIECES, cases[k].spill);
        store_raw = 0;
        tu_assert_same_files(whole, pieces, "index files");
        if (k == 0) {
            ft_index *ix = open_ok(pieces);
            tu_inv inv;
            tu_inv_build(&inv, &c, ft_index_analyzer_opts(ix));
            tu_check_index(ix, &c, &inv);
            tu_inv_free(&inv);
            ft_index_close(ix);
        }
        tu_rmrf(whole);
        tu_rmrf(pieces);
        free(whole);
        free(pieces);
    }
    tu_rmrf(root);
    free(root);
    free(body);
    ft_buf_free(&t);
    tu_corpus_free(&c);
    tu_corpus_free(&bad);
}

/* Misuse of the pieces: refused before the document begins (the writer stays
 * usable), fatal once it has begun. */
Test(bigdoc, pieces_misuse)
{
    char *root = tu_mkdtemp();
    char *dir = tu_join(root, "ix");
    ft_writer *w;
    ft_error err = {0};
    cr_assert_eq(ft_writer_open(dir, NULL, &w, &err), FT_OK, "%s", err.msg);
    cr_assert_eq(ft_writer_begin(w, "x", 1, "", 0, 100, 100, &err), FT_EINVAL); /* too small */
    cr_assert_eq(ft_writer_begin(w, "", 0, "", 0, 2u << 20, 2u << 20, &err), FT_EINVAL);
    cr_assert_eq(ft_writer_text(w, "a", 1, &err), FT_EINVAL);
    cr_assert_eq(ft_writer_end(w, &err), FT_EINVAL);
    cr_assert_eq(ft_writer_add(w, "s", 1, "", 0, "small", 5, &err), FT_OK);
    cr_assert_eq(ft_writer_begin(w, "x", 1, "", 0, 2u << 20, 2u << 20, &err), FT_OK);
    cr_assert_eq(ft_writer_add(w, "s", 1, "", 0, "small", 5, &err), FT_EINVAL);
    cr_assert(strstr(err.msg, "not ended"), "%s", err.msg);
    cr_assert_eq(ft_writer_commit(w, &err), FT_EINVAL);
    cr_assert(strstr(err.msg, "not ended"), "%s", err.msg);
    cr_assert_eq(ft_writer_text(w, "ab \xff cd ", 9, &err), FT_OK);
    cr_assert_eq(ft_writer_end(w, &err), FT_EINVAL);
    cr_assert(strstr(err.msg, "less body than announced"), "%s", err.msg);
    memset(&err, 0, sizeof err);
    cr_assert_eq(ft_writer_commit(w, &err), FT_EINVAL); /* failed for good */
    cr_assert(strstr(err.msg, "less body than announced"), "%s", err.msg);
    ft_writer_close(w);
    /* the body longer as stored than announced (an invalid byte becomes 3) */
    cr_assert_eq(ft_writer_open(dir, NULL, &w, &err), FT_OK, "%s", err.msg);
    ft_buf big;
    ft_buf_init(&big);
    for (int i = 0; i < 300000; i++) ft_buf_append(&big, "word \xff ", 7);
    cr_assert_eq(ft_writer_begin(w, "x", 1, "", 0, big.len, big.len, &err), FT_OK);
    int rc = ft_writer_text(w, (const char *)big.p, big.len, &err);
    if (!rc) rc = ft_writer_end(w, &err);
    cr_assert_eq(rc, FT_EINVAL, "%d %s", rc, err.msg);
    cr_assert(strstr(err.msg, "longer as stored"), "%s", err.msg);
    ft_buf_free(&big);
    ft_writer_close(w);
    cr_assert_eq(count_suffix(dir, ".tmp"), 0);
    tu_rmrf(root);
    free(dir);
    free(root);
}

/* JSON string content for a body of about n bytes: words, with escapes of
 * every kind (\n, \", \\, \/, \t, \u00e9, a surrogate pair \ud83d\ude00, a
 * \u escape of a CJK character), raw 日本語 and don't; around each multiple
 * of 1 MiB (where the consumer's reads and the writer's pieces end) a dense
 * zone of them, so some straddle a seam. */
static void json_body(ft_buf *b, size_t n, uint64_t seed)
{
    static const char *items[] = {"don't", "日本語", "\\ud83d\\ude00", "\\u00e9t\\u00e9", "l\\u2019homme",
                                  "\\n", "\\\"q\\\"", "a\\\\b", "x\\/y", "\\t", "\\u65e5\\u672c\\u8a9e",
                                  "caf\\u00e9", "日本", "it's"};
    const size_t nitems = sizeof items / sizeof *items;
    tu_rng r = {seed};
    size_t start = b->len;
    while (b->len - start < n) {
        size_t off = b->len - start, mod = off % (1u << 20);
        int dense = mod > (1u << 20) - 300 || mod < 300;
        if (dense || tu_randn(&r, 8) == 0) {
            const char *it = items[tu_randn(&r, (uint32_t)nitems)];
            ft_buf_append(b, it, strlen(it));
            if (tu_randn(&r, 2)) ft_buf_append(b, " ", 1);
        } else {
            char w[16];
            uint32_t v = tu_randn(&r, 4000);
            snprintf(w, sizeof w, "zq%c%c%c ", 'a' + v % 20, 'a' + v / 20 % 20, 'a' + v / 400);
            ft_buf_append(b, w, strlen(w));
        }
    }
}

static void put_str(ft_buf *b, const char *s) { ft_buf_append(b, s, strlen(s)); }

/* The same documents in a plain JSON Lines file, where lines of
 * FTINDEX_LONG_LINE_ bytes or more are read in two passes and their bodies
 * given to the writer in pieces, and in its zstd form, where every line is
 * read whole: the same index, byte for byte, and the same warnings, with
 * -j 1 and -j 2.  Long lines: fields in any order, an integer id, a nested
 * field, a long string that is not the body, a long title (read whole), a
 * repeated body key, \u0000, invalid ones (a control character, a lone
 * surrogate, text after the object), and the last line without '\n'. */
Test(bigdoc, cli_streamed_lines_same_index, .timeout = 300)
{
    const char *bin = tu_env_or_skip("FT_BIN");
    ft_buf in;
    ft_buf_init(&in);
    size_t L = 2600000; /* bodies cross two 1 MiB seams */
    put_str(&in, "{\"id\":\"s1\",\"body\":\"small one stop\"}\n");
    put_str(&in, "{\"id\":\"p1\",\"title\":\"first \\u00e9\",\"body\":\"");
    json_body(&in, L, 1);
    put_str(&in, "\"}\n{\"body\":\"");
    json_body(&in, L, 2);
    put_str(&in, "\" , \"title\":\"body first\",\"id\":\"p2\"}\r\n");
    put_str(&in, "{\"title\":\"日本\",\"extra\":[1,2,{\"a\":\"b\",\"c\":null}],\"body\":\"");
    json_body(&in, L, 3);
    put_str(&in, "\",\"n\":-3.25,\"id\":17}\n");
    put_str(&in, "{\"id\":\"p4\",\"other\":\"");
    json_body(&in, 1200000, 4);
    put_str(&in, "\",\"body\":\"a short body with don't\",\"title\":\"other is long\"}\n");
    put_str(&in, "{\"id\":\"p5\",\"title\":\"");
    json_body(&in, 1100000, 5);
    put_str(&in, "\",\"body\":\"long title\"}\n");
    put_str(&in, "{\"id\":\"p6\",\"body\":\"");
    json_body(&in, 1100000, 6);
    put_str(&in, "\x01 control\"}\n");
    put_str(&in, "{\"id\":\"p7\",\"body\":\"");
    json_body(&in, 1100000, 7);
    put_str(&in, "\"} trailing\n");
    put_str(&in, "{\"id\":\"p8\",\"body\":\"");
    json_body(&in, 1100000, 8);
    put_str(&in, " nul\\u0000here\"}\n");
    put_str(&in, "{\"id\":\"p9\",\"body\":\"");
    json_body(&in, 1100000, 9);
    put_str(&in, "\\udc00 lone\"}\n");
    put_str(&in, "{\"id\":\"p10\",\"body\":\"");
    json_body(&in, 1100000, 10);
    put_str(&in, "\",\"body\":\"the later body wins\"}\n");
    put_str(&in, "{\"id\":\"s2\",\"body\":\"small two\"}\n");
    put_str(&in, "\xEF\xBB\xBF{\"id\":\"bom\",\"body\":\"not the first line\"}\n");
    put_str(&in, "{\"id\":\"p11\",\"title\":\"last\",\"body\":\"");
    json_body(&in, L, 11);
    put_str(&in, "\"}");
    cr_assert(!in.failed);

    char *root = tu_mkdtemp();
    char *plain = tu_join(root, "in.jsonl"), *zst = tu_join(root, "in.jsonl.zst");
    tu_write_file(plain, in.p, in.len);
    size_t bound = ZSTD_compressBound(in.len);
    void *z = malloc(bound);
    size_t zn = ZSTD_compress(z, bound, in.p, in.len, 1);
    cr_assert(!ZSTD_isError(zn));
    tu_write_file(zst, z, zn);
    free(z);
    char *tool = tu_join(bin, "ftindex");
    char *out[3] = {tu_join(root, "whole"), tu_join(root, "j1"), tu_join(root, "j2")};
    char *err[3];
    const char *src[3] = {zst, plain, plain}, *jobs[3] = {"1", "1", "2"};
    setenv("FTINDEX_LONG_LINE_", "1000000", 1);
    for (int k = 0; k < 3; k++) {
        char *argv[] = {tool, "build", "--quiet", "--memory", "1M", "-j", (char *)jobs[k], "-o", out[k],
                        (char *)src[k], NULL};
        tu_run r;
        tu_run_prog(&r, argv);
        cr_assert_eq(r.status, 0, "%s", r.err);
        err[k] = strdup(r.err);
        tu_run_free(&r);
    }
    unsetenv("FTINDEX_LONG_LINE_");
    tu_assert_same_files(out[0], out[1], "index files");
    tu_assert_same_files(out[0], out[2], "index files");
    /* the same warnings, but for the file's name */
    for (int k = 1; k < 3; k++) {
        ft_buf a;
        ft_buf_init(&a);
        for (const char *p = err[0]; *p;) {
            const char *m = strstr(p, "in.jsonl.zst");
            if (!m) {
                put_str(&a, p);
                break;
            }
            ft_buf_append(&a, p, (size_t)(m - p) + 8);
            p = m + 12;
        }
        ft_buf_append(&a, "", 1);
        cr_assert_str_eq((const char *)a.p, err[k], "warnings differ:\n%s\n---\n%s", (const char *)a.p, err[k]);
        ft_buf_free(&a);
    }
    for (int k = 6; k <= 9; k++) {
        char want[32];
        snprintf(want, sizeof want, "in.jsonl:%d: skipped", k + 1);
        cr_assert_eq(!!strstr(err[1], want), k != 8, "line %d: %s", k + 1, err[1]);
    }
    /* what was indexed and stored */
    ft_index *ix = open_ok(out[1]);
    cr_assert_eq(ft_index_doc_count(ix), 10);
    ft_docbuf *db = ft_docbuf_new();
    ft_doc d;
    ft_error e = {0};
    cr_assert_eq(ft_index_doc(ix, 1, db, &d, &e), FT_OK);
    cr_assert(d.id_len == 2 && !memcmp(d.id, "p1", 2));
    cr_assert(d.body_len > L / 2 && memmem(d.body, d.body_len, "\xf0\x9f\x98\x80", 4) && memmem(d.body, d.body_len, "\"q\"", 3));
    cr_assert_eq(ft_index_doc(ix, 3, db, &d, &e), FT_OK);
    cr_assert(d.id_len == 2 && !memcmp(d.id, "17", 2));
    ft_docbuf_free(db);
    ft_index_close(ix);
    tu_rmrf(root);
    for (int k = 0; k < 3; k++) {
        free(out[k]);
        free(err[k]);
    }
    free(tool);
    free(plain);
    free(zst);
    free(root);
    ft_buf_free(&in);
}

/* A text file of FTINDEX_LONG_LINE_ bytes or more is read by the consumer
 * in pieces (its invalid bytes, 日本語 and don't at the pieces' seams): the
 * same index as when it is read whole, with -j 1 and -j 2. */
Test(bigdoc, cli_streamed_text_file_same_index, .timeout = 300)
{
    const char *bin = tu_env_or_skip("FT_BIN");
    size_t n;
    char *body = big_body(&n);
    ft_buf t;
    ft_buf_init(&t);
    ft_buf_append(&t, body, n);
    ft_buf_append(&t, "\xe6\x97\xa5", 3); /* the file ends inside a CJK run, then inside a sequence */
    ft_buf_append(&t, "\xe6\x97", 2);
    char *root = tu_mkdtemp();
    char *docs = tu_join(root, "docs");
    mkdir(docs, 0755);
    char *big = tu_join(docs, "big.txt"), *small = tu_join(docs, "small.txt");
    tu_write_file(big, t.p, t.len);
    tu_write_str(small, "a small one, don't stop\n");
    char *tool = tu_join(bin, "ftindex");
    char *out[3] = {tu_join(root, "whole"), tu_join(root, "j1"), tu_join(root, "j2")};
    const char *jobs[3] = {"1", "1", "2"};
    for (int k = 0; k < 3; k++) {
        if (k) setenv("FTINDEX_LONG_LINE_", "1000000", 1);
        char *argv[] = {tool, "build", "--quiet", "--memory", "1M", "-j", (char *)jobs[k], "-o", out[k], docs, NULL};
        tu_run r;
        tu_run_prog(&r, argv);
        cr_assert_eq(r.status, 0, "%s", r.err);
        tu_run_free(&r);
    }
    unsetenv("FTINDEX_LONG_LINE_");
    tu_assert_same_files(out[0], out[1], "index files");
    tu_assert_same_files(out[0], out[2], "index files");
    ft_index *ix = open_ok(out[1]);
    cr_assert_eq(ft_index_doc_count(ix), 2);
    ft_docbuf *db = ft_docbuf_new();
    ft_doc d;
    ft_error e = {0};
    cr_assert_eq(ft_index_doc(ix, 0, db, &d, &e), FT_OK);
    ft_buf want;
    ft_buf_init(&want);
    cr_assert(ft_utf8_sanitize((const char *)t.p, t.len, &want) > 0);
    cr_assert(d.body_len == want.len && !memcmp(d.body, want.p, want.len), "the stored body differs");
    ft_docbuf_free(db);
    ft_index_close(ix);
    ft_buf_free(&want);
    tu_rmrf(root);
    for (int k = 0; k < 3; k++) free(out[k]);
    free(tool);
    free(big);
    free(small);
    free(docs);
    free(root);
    free(body);
    ft_buf_free(&t);
}

/* Spilled positions of terms with hundreds of postings before the big
 * document's (several blocks, impacts in the skip table): the same bytes. */
Test(bigdoc, spilled_positions_of_long_posting_lists, .timeout = 300)
{
    tu_corpus c;
    memset(&c, 0, sizeof c);
    for (int i = 0; i < 300; i++) {
        char id[16], body[160];
        snprintf(id, sizeof id, "s%d", i);
        snprintf(body, sizeof body, "zqaaa zqbab %s don't stop 日本語 zq%c%c%c", i % 3 ? "alpha" : "beta gamma",
                 'a' + i % 20, 'a' + i / 20 % 20, 'a' + i % 7);
        tu_corpus_add(&c, id, "small", body);
    }
    size_t n;
    char *body = big_body(&n);
    ft_buf t;
    ft_buf_init(&t);
    ft_buf_append(&t, body, n);
    ft_buf_append(&t, "", 1);
    tu_corpus_add(&c, "big", "huge", (const char *)t.p);
    char *root = tu_mkdtemp();
    char *plain = tu_join(root, "plain"), *spilled = tu_join(root, "spilled");
    build_spill(plain, &c, 5000, 1 << 20, VIA_ADD, SIZE_MAX);
    cr_assert_geq(build_spill(spilled, &c, 5000, 1 << 20, VIA_ADD, 1), 5);
    tu_assert_same_files(plain, spilled, "index files");
    ft_index *ix = open_ok(spilled);
    cr_assert_eq(ft_index_segment_count(ix), 1);
    tu_inv inv;
    tu_inv_build(&inv, &c, ft_index_analyzer_opts(ix));
    tu_check_index(ix, &c, &inv);
    tu_inv_free(&inv);
    ft_index_close(ix);
    tu_rmrf(root);
    free(plain);
    free(spilled);
    free(root);
    free(body);
    ft_buf_free(&t);
    tu_corpus_free(&c);
}
