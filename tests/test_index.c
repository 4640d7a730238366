/*
 * test_index.c — the on-disk index (ft_writer_*, ft_index_*, ft_postings_*).
 *
 * The main tests build a deterministic 300-document corpus (own PRNG, fixed
 * seed, Zipf-like vocabulary of 2000 words including accented, Cyrillic,
 * Greek and Han words, document lengths 0..400, some documents repeating one
 * word up to 300 times, one word in every document, one in exactly one) and
 * compare everything the reader returns against a naive inversion computed in
 * the test from ft_analyze output: dictionary order and df, postings, tf,
 * positions, cf, advance() to random targets, document lengths, counts, avgdl
 * and stored fields (invalid UTF-8 stored as U+FFFD per maximal subpart) —
 * once with the default block size and once with tiny blocks.  Further tests: 5,000 tiny documents (advance across many block
 * boundaries), empty titles/bodies and the title/body position gap, error
 * handling for missing or garbage indexes, truncated and bit-flipped segment
 * files (ft_index_check must name the damaged file; readers must not crash),
 * atomicity of uncommitted builds, and rebuilds leaving no stale files.
 * When the shared corpora are present, the same naive comparison runs on the
 * Cranfield collection (English stemming) and on the first Chinese and Korean
 * Wikipedia articles (CJK bigrams).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ft_test_util.h"

#define SEED 0x5eed0f1dULL

static void writer_opts_none(ft_writer_opts *wo)
{
    ft_writer_opts_default(wo);
    ft_analyzer_opts_default(&wo->analyzer);
    strcpy(wo->analyzer.lang, "none");
}

static ft_index *open_ok(const char *dir)
{
    ft_index *ix = NULL;
    ft_error err = {0};
    int rc = ft_index_open(dir, &ix, &err);
    cr_assert_eq(rc, FT_OK, "ft_index_open(%s): %d %s", dir, rc, err.msg);
    cr_assert_not_null(ix);
    return ix;
}

/* Index c in a new directory (returned) with analysis off, and its naive
 * inversion in *inv; *wo gets the options used. */
static char *build_plain(const tu_corpus *c, ft_writer_opts *wo, tu_inv *inv)
{
    writer_opts_none(wo);
    tu_inv_build(inv, c, &wo->analyzer);
    char *dir = tu_mkdtemp();
    tu_build_index(dir, c, wo);
    return dir;
}

/* df of a term by the naive inversion (0: absent). */
static uint32_t naive_df(const tu_inv *inv, const char *t, size_t len)
{
    const tu_term *x = tu_inv_find(inv, t, len);
    return x ? x->df : 0;
}

/* Every term, and the strings next to it (one byte more or less, its last
 * byte moved up or down), looked up twice over: the first lookups of a
 * segment search the dictionary's blocks in the file, later ones through
 * the keys built after them (reader.c, tid_keys), so both ways must agree
 * with the naive inversion. */
static void lookups_agree(const ft_index *ix, const tu_inv *inv)
{
    cr_assert_gt(inv->nterms, 64 * 32, "the dictionary has too few blocks to build keys");
    for (int round = 0; round < 2; round++)
        for (size_t i = 0; i < inv->nterms; i += 1 + round) {
            const tu_term *t = &inv->terms[i];
            char buf[300];
            cr_assert_lt(t->len + 1, sizeof buf);
            memcpy(buf, t->term, t->len);
            size_t lens[5] = {t->len, t->len + 1, t->len - 1, t->len, t->len};
            for (int v = 0; v < 5; v++) {
                memcpy(buf, t->term, t->len);
                buf[t->len] = 'a';
                if (v == 3) buf[t->len - 1]++;
                if (v == 4) buf[t->len - 1]--;
                if (lens[v] == 0) continue;
                ft_postings *p = NULL;
                ft_error err = {0};
                cr_assert_eq(ft_postings_open(ix, buf, lens[v], &p, &err), FT_OK, "%s", err.msg);
                cr_assert_eq(ft_postings_df(p), naive_df(inv, buf, lens[v]), "term %.*s (variant %d)",
                             (int)lens[v], buf, v);
                ft_postings_close(p);
            }
        }
}

/* Build the generated corpus and compare against the naive inversion. */
static void naive_roundtrip(unsigned block_postings)
{
    tu_corpus c;
    tu_corpus_gen(&c, 300, 2000, SEED);
    ft_writer_opts wo;
    writer_opts_none(&wo);
    wo.block_postings = block_postings;
    tu_inv inv;
    tu_inv_build(&inv, &c, &wo.analyzer);

    /* the generator's guarantees, so the test exercises what it claims to */
    const tu_term *all = tu_inv_find(&inv, TU_ALL_WORD, strlen(TU_ALL_WORD));
    cr_assert(all && all->df == c.n);
    const tu_term *once = tu_inv_find(&inv, TU_ONCE_WORD, strlen(TU_ONCE_WORD));
    cr_assert(once && once->df == 1);
    const tu_term *rep = tu_inv_find(&inv, TU_REPEAT_WORD, strlen(TU_REPEAT_WORD));
    uint32_t maxtf = 0;
    for (uint32_t i = 0; i < rep->df; i++)
        if (rep->p[i].tf > maxtf) maxtf = rep->p[i].tf;
    cr_assert_geq(maxtf, 300);
    cr_assert_gt(inv.invalid_bytes, 0);

    char *dir = tu_mkdtemp();
    ft_writer *w = NULL;
    ft_error err = {0};
    cr_assert_eq(ft_writer_open(dir, &wo, &w, &err), FT_OK, "%s", err.msg);
    uint64_t input = 0;
    for (size_t i = 0; i < c.n; i++) {
        const tu_doc *d = &c.docs[i];
        int rc = ft_writer_add(w, d->id, d->id_len, d->title, d->title_len, d->body, d->body_len,
                               &err);
        cr_assert_eq(rc, FT_OK, "add %s: %s", d->id, err.msg);
        input += d->id_len + d->title_len + d->body_len;
    }
    ft_writer_stats st;
    memset(&st, 0, sizeof st);
    ft_writer_get_stats(w, &st);
    cr_assert_eq(st.docs, c.n);
    cr_assert_eq(st.tokens, inv.tokens, "writer tokens %llu want %llu",
                 (unsigned long long)st.tokens, (unsigned long long)inv.tokens);
    cr_assert_eq(st.input_bytes, input);
    cr_assert_eq(st.invalid_bytes, inv.invalid_bytes, "invalid bytes %llu want %llu",
                 (unsigned long long)st.invalid_bytes, (unsigned long long)inv.invalid_bytes);
    cr_assert_eq(ft_writer_commit(w, &err), FT_OK, "%s", err.msg);
    memset(&st, 0, sizeof st);
    ft_writer_get_stats(w, &st);
    cr_assert_eq(st.docs, c.n);
    cr_assert_eq(st.terms, inv.nterms, "writer terms %llu want %zu", (unsigned long long)st.terms,
                 inv.nterms);
    cr_assert_eq(st.postings, inv.postings, "writer postings %llu want %llu",
                 (unsigned long long)st.postings, (unsigned long long)inv.postings);
    ft_writer_close(w);

    ft_index *ix = open_ok(dir);
    cr_assert_str_eq(ft_index_analyzer_opts(ix)->lang, "none");
    tu_check_index(ix, &c, &inv);
    ft_index_close(ix);
    cr_assert_eq(ft_index_check(dir, &err), FT_OK, "check of a fresh index: %s", err.msg);

    tu_inv_free(&inv);
    tu_corpus_free(&c);
    tu_rmrf(dir);
    free(dir);
}

Test(index, naive_inversion_default_blocks, .timeout = 120)
{
    naive_roundtrip(0);
}

Test(index, naive_inversion_small_blocks, .timeout = 120)
{
    naive_roundtrip(5);
}

/* ------------------------------------------------------------ small cases */

Test(index, dictionary_lookups_by_keys_agree, .timeout = 120)
{
    tu_corpus c;
    tu_corpus_gen(&c, 400, 12000, SEED);
    /* thousands of terms sharing their first 8 bytes and more: blocks whose
     * keys are equal, decided by the whole terms */
    for (int d = 0; d < 40; d++) {
        char id[16], body[100 * 24];
        size_t at = 0;
        for (int k = 0; k < 100; k++)
            at += (size_t)snprintf(body + at, sizeof body - at, "commonprefix%05d ", (d * 100 + k) * 7 % 4001);
        snprintf(id, sizeof id, "p%d", d);
        tu_corpus_add(&c, id, "", body);
    }
    ft_writer_opts wo;
    tu_inv inv;
    char *dir = build_plain(&c, &wo, &inv);
    ft_index *ix = open_ok(dir);
    lookups_agree(ix, &inv);
    ft_index_close(ix);
    tu_inv_free(&inv);
    tu_corpus_free(&c);
    tu_rmrf(dir);
    free(dir);
}

Test(index, stored_fields_exact_bytes)
{
    /* the stored id, title and body come back byte for byte, except that
     * invalid UTF-8 is stored replaced by U+FFFD (one per maximal invalid
     * subsequence, as Unicode recommends), so stored text is always valid
     * UTF-8 (docs/FORMAT.md, .sto) */
    tu_corpus c = {0}, want = {0};
    tu_corpus_add(&c, "plain", "A title", "Body text\nwith lines\tand tabs \xe4\xb8\xad");
    tu_corpus_add(&c, "bad-body", "Title", "before \xff after \xc0\xaf end \xed\xa0\x80 x \xe4\xb8");
    tu_corpus_add(&c, "bad-title", "T\xfe\xfftle", "body");
    tu_corpus_add(&c, "id-\xff", "", "id with a bad byte");
#define R "\xef\xbf\xbd"
    tu_corpus_add(&want, "plain", "A title", "Body text\nwith lines\tand tabs \xe4\xb8\xad");
    tu_corpus_add(&want, "bad-body", "Title", "before " R " after " R R " end " R R R " x " R);
    tu_corpus_add(&want, "bad-title", "T" R R "tle", "body");
    tu_corpus_add(&want, "id-" R, "", "id with a bad byte");
#undef R
    char *dir = tu_mkdtemp();
    ft_writer_opts wo;
    writer_opts_none(&wo);
    tu_build_index(dir, &c, &wo);
    ft_index *ix = open_ok(dir);
    tu_check_stored(ix, &want, 0);
    tu_check_stored(ix, &c, 1); /* the same through the test's reference replacement */
    ft_index_close(ix);
    tu_corpus_free(&c);
    tu_corpus_free(&want);
    tu_rmrf(dir);
    free(dir);
}

Test(index, empty_fields_and_title_body_gap)
{
    tu_corpus c = {0};
    tu_corpus_add(&c, "a", "", "");
    tu_corpus_add(&c, "b", "Title only", "");
    tu_corpus_add(&c, "c", "", "body only");
    tu_corpus_add(&c, "d", "one two", "two three");
    char *dir = tu_mkdtemp();
    ft_writer_opts wo;
    writer_opts_none(&wo);
    tu_build_index(dir, &c, &wo);
    ft_index *ix = open_ok(dir);
    cr_assert_eq(ft_index_doc_count(ix), 4);
    cr_assert_eq(ft_index_doc_length(ix, 0), 0);
    cr_assert_eq(ft_index_doc_length(ix, 1), 2);
    cr_assert_eq(ft_index_doc_length(ix, 2), 2);
    cr_assert_eq(ft_index_doc_length(ix, 3), 4);
    cr_assert_eq(ft_index_token_count(ix), 8);
    cr_assert(fabs(ft_index_avgdl(ix) - 2.0) < 1e-12);

    /* expected postings written out by hand: body positions start at the
     * title's next position + 1 */
    struct {
        const char *term;
        uint32_t n;
        uint32_t doc[2], pos[2][2], tf[2];
    } want[] = {
        {"title", 1, {1}, {{0}}, {1}},
        {"only", 2, {1, 2}, {{1}, {2}}, {1, 1}},
        {"body", 1, {2}, {{1}}, {1}},
        {"one", 1, {3}, {{0}}, {1}},
        {"two", 1, {3}, {{1, 3}}, {2}},
        {"three", 1, {3}, {{4}}, {1}},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        ft_postings *p = NULL;
        ft_error err = {0};
        cr_assert_eq(ft_postings_open(ix, want[i].term, strlen(want[i].term), &p, &err), FT_OK);
        cr_assert_eq(ft_postings_df(p), want[i].n, "term %s df", want[i].term);
        for (uint32_t k = 0; k < want[i].n; k++) {
            cr_assert_eq(ft_postings_next(p), want[i].doc[k], "term %s", want[i].term);
            const uint32_t *pos;
            uint32_t n;
            cr_assert_eq(ft_postings_positions(p, &pos, &n), FT_OK);
            cr_assert_eq(n, want[i].tf[k]);
            for (uint32_t j = 0; j < n; j++)
                cr_assert_eq(pos[j], want[i].pos[k][j], "term %s doc %u pos #%u = %u", want[i].term,
                             want[i].doc[k], j, pos[j]);
        }
        cr_assert_eq(ft_postings_next(p), FT_DOC_END);
        ft_postings_close(p);
    }
    /* stored fields of the empty document */
    ft_docbuf *b = ft_docbuf_new();
    ft_doc d;
    ft_error err = {0};
    cr_assert_eq(ft_index_doc(ix, 0, b, &d, &err), FT_OK, "%s", err.msg);
    cr_assert_eq(d.id_len, 1);
    cr_assert_eq(d.id[0], 'a');
    cr_assert_eq(d.title_len, 0);
    cr_assert_eq(d.body_len, 0);
    ft_docbuf_free(b);
    ft_index_close(ix);
    tu_corpus_free(&c);
    tu_rmrf(dir);
    free(dir);
}

Test(index, add_rejects_empty_id)
{
    char *dir = tu_mkdtemp();
    ft_writer_opts wo;
    writer_opts_none(&wo);
    ft_writer *w = NULL;
    ft_error err = {0};
    cr_assert_eq(ft_writer_open(dir, &wo, &w, &err), FT_OK, "%s", err.msg);
    cr_assert_eq(ft_writer_add(w, "", 0, "t", 1, "b", 1, &err), FT_EINVAL);
    ft_writer_close(w);
    tu_rmrf(dir);
    free(dir);
}

Test(index, add_after_commit_rejected)
{
    char *dir = tu_mkdtemp();
    ft_writer_opts wo;
    writer_opts_none(&wo);
    ft_writer *w = NULL;
    ft_error err = {0};
    cr_assert_eq(ft_writer_open(dir, &wo, &w, &err), FT_OK, "%s", err.msg);
    cr_assert_eq(ft_writer_add(w, "a", 1, "t", 1, "b", 1, &err), FT_OK, "%s", err.msg);
    cr_assert_eq(ft_writer_commit(w, &err), FT_OK, "%s", err.msg);
    cr_assert_neq(ft_writer_add(w, "b", 1, "t", 1, "b", 1, &err), FT_OK,
                  "ft_writer_add accepted a document after commit");
    ft_writer_close(w);
    ft_index *ix = open_ok(dir);
    cr_assert_eq(ft_index_doc_count(ix), 1);
    ft_index_close(ix);
    tu_rmrf(dir);
    free(dir);
}

Test(index, analyzer_options_persisted)
{
    /* the index records its analyzer settings; documents are analyzed with
     * them (french stemming, stopwords off, 12-byte limit) */
    tu_corpus c = {0};
    tu_corpus_add(&c, "f", "Les Continuellement", "anticonstitutionnellement mot court");
    ft_writer_opts wo;
    ft_writer_opts_default(&wo);
    ft_analyzer_opts_default(&wo.analyzer);
    strcpy(wo.analyzer.lang, "french");
    wo.analyzer.max_token_bytes = 12;
    tu_inv inv;
    tu_inv_build(&inv, &c, &wo.analyzer);
    cr_assert_eq(inv.doclen[0], 3); /* les, mot, court: the two long words dropped */
    char *dir = tu_mkdtemp();
    tu_build_index(dir, &c, &wo);
    ft_index *ix = open_ok(dir);
    const ft_analyzer_opts *o = ft_index_analyzer_opts(ix);
    cr_assert_str_eq(o->lang, "french");
    cr_assert_eq(o->stopwords, 0);
    cr_assert_eq(o->max_token_bytes, 12);
    tu_check_index(ix, &c, &inv);
    ft_index_close(ix);
    tu_inv_free(&inv);
    tu_corpus_free(&c);
    tu_rmrf(dir);
    free(dir);
}

Test(index, writer_creates_missing_directory)
{
    char *base = tu_mkdtemp();
    char *dir = tu_join(base, "new-index");
    tu_corpus c = {0};
    tu_corpus_add(&c, "x", "hello", "world");
    ft_writer_opts wo;
    writer_opts_none(&wo);
    tu_build_index(dir, &c, &wo);
    ft_index *ix = open_ok(dir);
    cr_assert_eq(ft_index_doc_count(ix), 1);
    ft_index_close(ix);
    tu_corpus_free(&c);
    tu_rmrf(base);
    free(dir);
    free(base);
}

Test(index, many_tiny_docs_advance_across_blocks, .timeout = 120)
{
    const uint32_t N = 5000;
    tu_corpus c = {0};
    for (uint32_t i = 0; i < N; i++) {
        char id[32], body[96];
        snprintf(id, sizeof id, "t%u", i);
        snprintf(body, sizeof body, "all%s%s u%u", i % 3 == 0 ? " three" : "",
                 i % 500 == 499 ? " rare" : "", i);
        tu_corpus_add(&c, id, "", body);
    }
    char *dir = tu_mkdtemp();
    ft_writer_opts wo;
    writer_opts_none(&wo);
    tu_build_index(dir, &c, &wo);
    ft_index *ix = open_ok(dir);
    cr_assert_eq(ft_index_doc_count(ix), N);
    ft_error err = {0};

    /* "all": every document, position 1 (empty title, gap of one) */
    ft_postings *p = NULL;
    cr_assert_eq(ft_postings_open(ix, "all", 3, &p, &err), FT_OK);
    cr_assert_eq(ft_postings_df(p), N);
    cr_assert_eq(ft_postings_cf(p), N);
    for (uint32_t i = 0; i < N; i++) {
        cr_assert_eq(ft_postings_next(p), i);
        cr_assert_eq(ft_postings_tf(p), 1);
        if (i % 97 == 0) {
            const uint32_t *pos;
            uint32_t n;
            cr_assert_eq(ft_postings_positions(p, &pos, &n), FT_OK);
            cr_assert_eq(n, 1);
            cr_assert_eq(pos[0], 1);
        }
    }
    cr_assert_eq(ft_postings_next(p), FT_DOC_END);
    ft_postings_close(p);

    /* advance from a fresh cursor to every target */
    for (uint32_t t = 0; t <= N; t++) {
        cr_assert_eq(ft_postings_open(ix, "all", 3, &p, &err), FT_OK);
        uint32_t d = ft_postings_advance(p, t);
        cr_assert_eq(d, t < N ? t : FT_DOC_END, "advance(%u) from start gave %u", t, d);
        if (t < N) cr_assert_eq(ft_postings_tf(p), 1);
        ft_postings_close(p);
    }
    /* one cursor, advance across block edges, mixed with next() */
    const uint32_t targets[] = {0,   1,   126, 127,  128,  129,  255,  256,  257,  383, 384,
                                511, 512, 513, 1000, 1023, 1024, 1025, 2047, 2049, 4095, 4096,
                                4097, 4990, 4999};
    const size_t nt = sizeof targets / sizeof targets[0];
    cr_assert_eq(ft_postings_open(ix, "all", 3, &p, &err), FT_OK);
    for (size_t i = 0; i < nt; i++) {
        cr_assert_eq(ft_postings_advance(p, targets[i]), targets[i]);
        if (i + 1 < nt && targets[i + 1] > targets[i] + 1 && i % 2)
            cr_assert_eq(ft_postings_next(p), targets[i] + 1);
    }
    cr_assert_eq(ft_postings_advance(p, N + 5), FT_DOC_END);
    ft_postings_close(p);

    /* "three": multiples of 3; advance(x) lands on the next multiple */
    tu_rng r = {9};
    for (int rep = 0; rep < 20; rep++) {
        cr_assert_eq(ft_postings_open(ix, "three", 5, &p, &err), FT_OK);
        cr_assert_eq(ft_postings_df(p), (N + 2) / 3);
        uint32_t cur = 0;
        int started = 0;
        for (;;) {
            uint32_t target = (started ? cur + 1 : 0) + tu_randn(&r, rep < 10 ? 40 : 700);
            uint32_t want = (target + 2) / 3 * 3;
            if (want >= N) want = FT_DOC_END;
            uint32_t d = ft_postings_advance(p, target);
            cr_assert_eq(d, want, "three: advance(%u) gave %u want %u", target, d, want);
            if (d == FT_DOC_END) break;
            cur = d;
            started = 1;
        }
        ft_postings_close(p);
    }

    /* "rare": docs 499, 999, ... */
    cr_assert_eq(ft_postings_open(ix, "rare", 4, &p, &err), FT_OK);
    cr_assert_eq(ft_postings_df(p), N / 500);
    cr_assert_eq(ft_postings_advance(p, 500), 999);
    cr_assert_eq(ft_postings_advance(p, 1000), 1499);
    cr_assert_eq(ft_postings_next(p), 1999);
    cr_assert_eq(ft_postings_advance(p, 4500), 4999);
    cr_assert_eq(ft_postings_next(p), FT_DOC_END);
    ft_postings_close(p);

    /* unique terms */
    cr_assert_eq(ft_postings_open(ix, "u4321", 5, &p, &err), FT_OK);
    cr_assert_eq(ft_postings_df(p), 1);
    cr_assert_eq(ft_postings_next(p), 4321);
    const uint32_t *pos;
    uint32_t n;
    cr_assert_eq(ft_postings_positions(p, &pos, &n), FT_OK);
    cr_assert_eq(n, 1);
    cr_assert_eq(pos[0], 4321 % 3 == 0 ? 3 : 2);
    ft_postings_close(p);

    ft_index_close(ix);
    tu_corpus_free(&c);
    tu_rmrf(dir);
    free(dir);
}

/* ------------------------------------------------------------ errors */

Test(index, open_missing_directory)
{
    char *base = tu_mkdtemp();
    char *dir = tu_join(base, "does-not-exist");
    ft_index *ix = NULL;
    ft_error err = {0};
    int rc = ft_index_open(dir, &ix, &err);
    cr_assert_lt(rc, 0);
    cr_assert_null(ix);
    cr_assert(rc == FT_ENOTFOUND || strstr(err.msg, dir), "rc %d, message \"%s\"", rc, err.msg);
    cr_assert_eq(err.code, rc);

    /* an existing directory without a MANIFEST is no index either */
    rc = ft_index_open(base, &ix, &err);
    cr_assert_lt(rc, 0);
    cr_assert_null(ix);
    tu_rmrf(base);
    free(dir);
    free(base);
}

Test(index, garbage_manifest_is_corrupt)
{
    char *dir0 = tu_mkdtemp();
    char *man0 = tu_join(dir0, "MANIFEST");
    tu_write_str(man0, "this is not a manifest\n\x01\x02\x03");
    ft_index *ix = NULL;
    ft_error err = {0};
    int rc = ft_index_open(dir0, &ix, &err);
    cr_assert_eq(rc, FT_ECORRUPT, "rc %d (%s)", rc, err.msg);
    cr_assert_null(ix);
    tu_rmrf(dir0);
    free(dir0);
    free(man0);

    char *dir = tu_mkdtemp();
    char *man = tu_join(dir, "MANIFEST");

    /* a real index whose MANIFEST is then overwritten */
    tu_corpus c = {0};
    tu_corpus_add(&c, "x", "hello", "world");
    ft_writer_opts wo;
    writer_opts_none(&wo);
    tu_build_index(dir, &c, &wo);
    ft_index_close(open_ok(dir));
    tu_write_file(man, "\x00\xff garbage \x7f", 12);
    rc = ft_index_open(dir, &ix, &err);
    cr_assert_eq(rc, FT_ECORRUPT, "rc %d (%s)", rc, err.msg);
    cr_assert_null(ix);
    cr_assert_neq(ft_index_check(dir, &err), FT_OK);
    tu_corpus_free(&c);
    tu_rmrf(dir);
    free(dir);
    free(man);
}

/* Open and read everything; errors are fine, crashes and hangs are not. */
static void walk_everything(const char *dir)
{
    ft_index *ix = NULL;
    ft_error err = {0};
    if (ft_index_open(dir, &ix, &err) != FT_OK) return;
    tu_term_list l = {0};
    l.limit = 100000;
    ft_index_terms(ix, tu_collect_term, &l, &err);
    for (size_t i = 0; i < l.n; i++) {
        ft_postings *p = NULL;
        if (ft_postings_open(ix, l.t[i], l.len[i], &p, &err) != FT_OK) continue;
        uint32_t limit = ft_index_doc_count(ix) + 2;
        for (uint32_t k = 0; k < limit; k++) {
            uint32_t d = ft_postings_next(p);
            if (d == FT_DOC_END) break;
            const uint32_t *pos;
            uint32_t n;
            (void)ft_postings_tf(p);
            (void)ft_postings_positions(p, &pos, &n);
        }
        (void)ft_postings_status(p, &err);
        ft_postings_close(p);
    }
    tu_term_list_free(&l);
    ft_docbuf *b = ft_docbuf_new();
    uint32_t n = ft_index_doc_count(ix);
    for (uint32_t d = 0; d < n && d < 1000; d++) {
        ft_doc doc;
        (void)ft_index_doc(ix, d, b, &doc, &err);
        (void)ft_index_doc_length(ix, d);
    }
    ft_docbuf_free(b);
    ft_index_close(ix);
}

static void build_small(const char *dir, size_t ndocs)
{
    tu_corpus c;
    tu_corpus_gen(&c, ndocs, 300, SEED + ndocs);
    ft_writer_opts wo;
    writer_opts_none(&wo);
    tu_build_index(dir, &c, &wo);
    tu_corpus_free(&c);
}

Test(index, check_clean_index_ok)
{
    char *dir = tu_mkdtemp();
    build_small(dir, 60);
    ft_error err = {0};
    int rc = ft_index_check(dir, &err);
    cr_assert_eq(rc, FT_OK, "ft_index_check on a fresh index: %d %s", rc, err.msg);
    tu_rmrf(dir);
    free(dir);
}

Test(index, truncated_segment_file_detected, .timeout = 60)
{
    char *dir = tu_mkdtemp();
    build_small(dir, 60);
    size_t n;
    char **names = tu_list_dir(dir, &n);
    size_t tested = 0;
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(names[i], "MANIFEST")) continue;
        char *copy = tu_mkdtemp();
        tu_copy_dir(dir, copy);
        char *f = tu_join(copy, names[i]);
        struct stat st;
        cr_assert_eq(stat(f, &st), 0);
        if (st.st_size == 0) { /* nothing to cut */
            free(f);
            tu_rmrf(copy);
            free(copy);
            continue;
        }
        cr_assert_eq(truncate(f, st.st_size - 1), 0);
        ft_index *ix = NULL;
        ft_error err = {0};
        int rc_open = ft_index_open(copy, &ix, &err);
        ft_index_close(ix);
        walk_everything(copy);
        memset(&err, 0, sizeof err);
        int rc_check = ft_index_check(copy, &err);
        cr_assert(rc_open != FT_OK || rc_check != FT_OK,
                  "file %s truncated by one byte: open and check both succeeded", names[i]);
        cr_assert_neq(rc_check, FT_OK, "ft_index_check missed file %s truncated by one byte",
                      names[i]);
        tested++;
        free(f);
        tu_rmrf(copy);
        free(copy);
    }
    cr_assert_gt(tested, 0, "the index has no segment files");
    tu_free_list(names, n);
    tu_rmrf(dir);
    free(dir);
}

static void flip_and_check(const char *dir, const char *name, long off, int walk)
{
    char *f = tu_join(dir, name);
    FILE *fp = fopen(f, "r+b");
    cr_assert_not_null(fp);
    cr_assert_eq(fseek(fp, off, SEEK_SET), 0);
    int orig = fgetc(fp);
    cr_assert_neq(orig, EOF);
    cr_assert_eq(fseek(fp, off, SEEK_SET), 0);
    fputc(orig ^ 0x20, fp);
    fclose(fp);

    ft_error err = {0};
    int rc = ft_index_check(dir, &err);
    cr_assert_neq(rc, FT_OK, "ft_index_check missed a flipped byte in %s at offset %ld", name, off);
    cr_assert(strstr(err.msg, name), "flipped byte in %s at %ld: message does not name the file: %s",
              name, off, err.msg);
    if (walk) walk_everything(dir);

    fp = fopen(f, "r+b");
    cr_assert_eq(fseek(fp, off, SEEK_SET), 0);
    fputc(orig, fp);
    fclose(fp);
    free(f);
}

Test(index, flipped_byte_detected_sampled, .timeout = 120)
{
    char *dir = tu_mkdtemp();
    build_small(dir, 60);
    size_t n;
    char **names = tu_list_dir(dir, &n);
    tu_rng r = {4242};
    size_t tested = 0;
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(names[i], "MANIFEST")) continue;
        char *f = tu_join(dir, names[i]);
        struct stat st;
        cr_assert_eq(stat(f, &st), 0);
        free(f);
        if (st.st_size == 0) continue;
        long offs[8] = {0, st.st_size / 2, st.st_size - 1, st.st_size / 3};
        for (int k = 4; k < 8; k++) offs[k] = (long)tu_randn(&r, (uint32_t)st.st_size);
        for (int k = 0; k < 8; k++) flip_and_check(dir, names[i], offs[k], 1);
        tested++;
    }
    cr_assert_gt(tested, 0);
    ft_error err = {0};
    cr_assert_eq(ft_index_check(dir, &err), FT_OK, "restored index fails check: %s", err.msg);
    tu_free_list(names, n);
    tu_rmrf(dir);
    free(dir);
}

Test(index, flipped_byte_detected_every_offset, .timeout = 180)
{
    /* a two-document index: flip every byte of every segment file */
    char *dir = tu_mkdtemp();
    tu_corpus c = {0};
    tu_corpus_add(&c, "first", "Alpha beta", "gamma delta alpha");
    tu_corpus_add(&c, "second", "", "beta epsilon \xe4\xb8\xad\xe5\x9b\xbd");
    ft_writer_opts wo;
    writer_opts_none(&wo);
    tu_build_index(dir, &c, &wo);
    tu_corpus_free(&c);
    size_t n;
    char **names = tu_list_dir(dir, &n);
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(names[i], "MANIFEST")) continue;
        char *f = tu_join(dir, names[i]);
        struct stat st;
        cr_assert_eq(stat(f, &st), 0);
        free(f);
        long step = st.st_size > 3000 ? st.st_size / 3000 + 1 : 1;
        for (long off = 0; off < st.st_size; off += step)
            flip_and_check(dir, names[i], off, off % 7 == 0);
    }
    tu_free_list(names, n);
    tu_rmrf(dir);
    free(dir);
}

/* ------------------------------------------------------------ atomicity */

static void postings_docs(const ft_index *ix, const char *term, uint32_t *out, uint32_t *n)
{
    ft_postings *p = NULL;
    ft_error err = {0};
    cr_assert_eq(ft_postings_open(ix, term, strlen(term), &p, &err), FT_OK);
    *n = 0;
    uint32_t d;
    while ((d = ft_postings_next(p)) != FT_DOC_END) out[(*n)++] = d;
    ft_postings_close(p);
}

static void assert_no_tmp(const char *dir)
{
    size_t n;
    char **names = tu_list_dir(dir, &n);
    for (size_t i = 0; i < n; i++)
        cr_assert_null(strstr(names[i], "tmp"), "leftover temporary file %s", names[i]);
    tu_free_list(names, n);
}

static void assert_same_as(const char *dir, const tu_corpus *c, const tu_inv *inv)
{
    ft_index *ix = open_ok(dir);
    cr_assert_eq(ft_index_doc_count(ix), c->n);
    cr_assert_eq(ft_index_token_count(ix), inv->tokens);
    static uint32_t docs[1000];
    uint32_t n;
    const char *terms[] = {TU_ALL_WORD, TU_REPEAT_WORD};
    for (int t = 0; t < 2; t++) {
        const tu_term *tm = tu_inv_find(inv, terms[t], strlen(terms[t]));
        cr_assert_not_null(tm);
        postings_docs(ix, terms[t], docs, &n);
        cr_assert_eq(n, tm->df, "term %s df %u want %u", terms[t], n, tm->df);
        for (uint32_t i = 0; i < n; i++) cr_assert_eq(docs[i], tm->p[i].doc);
    }
    postings_docs(ix, "uncommittedword", docs, &n);
    cr_assert_eq(n, 0, "documents of an uncommitted build are visible");
    ft_index_close(ix);
}

Test(index, uncommitted_build_is_discarded)
{
    tu_corpus c;
    tu_corpus_gen(&c, 50, 300, SEED + 1);
    ft_writer_opts wo;
    tu_inv inv;
    char *dir = build_plain(&c, &wo, &inv);
    assert_same_as(dir, &c, &inv);
    assert_no_tmp(dir);

    ft_writer *w = NULL;
    ft_error err = {0};
    cr_assert_eq(ft_writer_open(dir, &wo, &w, &err), FT_OK, "%s", err.msg);
    for (int i = 0; i < 20; i++) {
        char id[16];
        snprintf(id, sizeof id, "new%d", i);
        const char *body = TU_ALL_WORD " " TU_REPEAT_WORD " more text";
        cr_assert_eq(ft_writer_add(w, id, strlen(id), "uncommittedword", 15, body, strlen(body),
                                   &err),
                     FT_OK, "%s", err.msg);
    }
    /* the old commit stays visible while the build is in progress */
    assert_same_as(dir, &c, &inv);
    ft_writer_close(w);
    assert_same_as(dir, &c, &inv);
    assert_no_tmp(dir);
    cr_assert_eq(ft_index_check(dir, &err), FT_OK, "%s", err.msg);

    tu_inv_free(&inv);
    tu_corpus_free(&c);
    tu_rmrf(dir);
    free(dir);
}

Test(index, rebuild_replaces_and_leaves_no_stale_files)
{
    tu_corpus a, b;
    tu_corpus_gen(&a, 80, 300, SEED + 2);
    tu_corpus_gen(&b, 7, 50, SEED + 3);
    ft_writer_opts wo;
    writer_opts_none(&wo);
    char *dir = tu_mkdtemp();
    char *fresh = tu_mkdtemp();
    tu_build_index(dir, &a, &wo);
    tu_build_index(dir, &b, &wo);
    tu_build_index(fresh, &b, &wo);

    tu_inv inv;
    tu_inv_build(&inv, &b, &wo.analyzer);
    ft_index *ix = open_ok(dir);
    tu_check_index(ix, &b, &inv);
    ft_index_close(ix);

    /* a word only in the first build is gone */
    tu_inv inva;
    tu_inv_build(&inva, &a, &wo.analyzer);
    ix = open_ok(dir);
    size_t gone = 0;
    for (size_t i = 0; i < inva.nterms && gone < 20; i++) {
        const tu_term *t = &inva.terms[i];
        if (tu_inv_find(&inv, t->term, t->len)) continue;
        ft_postings *p = NULL;
        ft_error err = {0};
        cr_assert_eq(ft_postings_open(ix, t->term, t->len, &p, &err), FT_OK);
        cr_assert_eq(ft_postings_df(p), 0, "term %s of the replaced build still present", t->term);
        ft_postings_close(p);
        gone++;
    }
    ft_index_close(ix);
    tu_inv_free(&inva);
    tu_inv_free(&inv);

    size_t n1, n2;
    char **l1 = tu_list_dir(dir, &n1);
    char **l2 = tu_list_dir(fresh, &n2);
    char all1[2048] = "";
    for (size_t i = 0; i < n1; i++) {
        strncat(all1, " ", sizeof all1 - strlen(all1) - 1);
        strncat(all1, l1[i], sizeof all1 - strlen(all1) - 1);
    }
    cr_assert_eq(n1, n2, "rebuilt index directory has %zu entries (%s), a fresh build has %zu", n1,
                 all1, n2);
    tu_free_list(l1, n1);
    tu_free_list(l2, n2);
    assert_no_tmp(dir);

    tu_corpus_free(&a);
    tu_corpus_free(&b);
    tu_rmrf(dir);
    tu_rmrf(fresh);
    free(dir);
    free(fresh);
}

/* ------------------------------------------------------------ real corpora */

/* Index the first max_docs documents of a shared corpus with the default
 * (english) analyzer and compare with the naive inversion. */
static void shared_corpus_roundtrip(const char *rel, size_t max_docs, size_t min_docs)
{
    char *path = tu_shared_corpus_or_skip(rel);
    tu_corpus c = {0};
    size_t n = tu_corpus_load_jsonl(&c, path, max_docs);
    cr_assert_geq(n, min_docs, "%s: only %zu documents", rel, n);
    ft_writer_opts wo;
    ft_writer_opts_default(&wo);
    ft_analyzer_opts_default(&wo.analyzer);
    tu_inv inv;
    tu_inv_build(&inv, &c, &wo.analyzer);
    char *dir = tu_mkdtemp();
    tu_build_index(dir, &c, &wo);
    ft_index *ix = open_ok(dir);
    cr_assert_str_eq(ft_index_analyzer_opts(ix)->lang, "english");
    tu_check_index(ix, &c, &inv);
    ft_index_close(ix);
    ft_error err = {0};
    cr_assert_eq(ft_index_check(dir, &err), FT_OK, "%s", err.msg);
    tu_inv_free(&inv);
    tu_corpus_free(&c);
    tu_rmrf(dir);
    free(dir);
    free(path);
}

Test(index, cranfield_matches_naive, .timeout = 180)
{
    shared_corpus_roundtrip("judged/cranfield/docs.jsonl", 100000, 1400);
}

Test(index, zhwiki_cjk_matches_naive, .timeout = 180)
{
    shared_corpus_roundtrip("large/zhwiki.jsonl.zst", 150, 150);
}

Test(index, kowiki_hangul_matches_naive, .timeout = 180)
{
    shared_corpus_roundtrip("large/kowiki_part.jsonl.zst", 40, 40);
}
