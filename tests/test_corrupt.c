/*
 * test_corrupt.c — damaged indexes: hundreds of trials, every file.
 *
 * A 60-document index (generated corpus, no stemming, 8-posting blocks so
 * lists span several blocks and frames) is built once per test and kept in
 * memory.  Each trial writes its files to a scratch directory with one file
 * damaged — a byte flipped, a run of 8 bytes zeroed, or the file truncated —
 * at one of many offsets (the header, the first and last bytes, the footer,
 * and offsets spread evenly and at random over the whole file), for MANIFEST
 * and every segment file.  Then:
 *
 *   ft_index_open    succeeds, or fails with FT_ECORRUPT / FT_EVERSION and a
 *                    message naming a file of the index;
 *   reading          every term, posting, position and stored document, and
 *                    a few searches: each call either succeeds or fails with
 *                    FT_ECORRUPT naming a file of the index.  The open path
 *                    verifies headers and footers, not checksums, so a read
 *                    may return damaged data; what must never happen is a
 *                    crash, a hang or a read out of bounds (the suite runs
 *                    under ASan+UBSan in check-asan);
 *   ft_index_check   fails with FT_ECORRUPT naming exactly the damaged file
 *                    whenever the bytes changed, and passes when they did not
 *                    (zeroing bytes that were already zero);
 *
 * and once per file type `ftindex check` exits 4 naming the file, and
 * `ftsearch` exits 4 on an index with that file truncated.  A final
 * test restores every file and reads the index back equal to the naive
 * inversion, so the trials really started from a correct index.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ft_test_util.h"

#define MAXFILES 16

typedef struct pristine {
    char *src;             /* the built index */
    int n;                 /* its files: MANIFEST first, then the segment's */
    char *name[MAXFILES];
    char *data[MAXFILES];
    size_t len[MAXFILES];
    tu_corpus c;
    tu_inv inv;
} pristine;

enum { FLIP, ZERO, TRUNC };
static const char *const MODE[] = {"flip", "zero", "truncate"};

static void pristine_build(pristine *p)
{
    memset(p, 0, sizeof *p);
    tu_corpus_gen(&p->c, 60, 300, 0xc0443ULL);
    ft_writer_opts wo;
    ft_writer_opts_default(&wo);
    ft_analyzer_opts_default(&wo.analyzer);
    strcpy(wo.analyzer.lang, "none");
    wo.block_postings = 8;
    wo.frame_blocks = 2;
    tu_inv_build(&p->inv, &p->c, &wo.analyzer);
    p->src = tu_mkdtemp();
    tu_build_index(p->src, &p->c, &wo);
    size_t n;
    char **names = tu_list_dir(p->src, &n);
    cr_assert(n >= 2 && n <= MAXFILES, "a one-segment index of %zu files", n);
    p->n = (int)n;
    int next = 1;
    for (size_t i = 0; i < n; i++) {
        int k = strcmp(names[i], "MANIFEST") ? next++ : 0;
        cr_assert_lt(next, (int)n + 1, "no MANIFEST among the files");
        p->name[k] = strdup(names[i]);
        char *path = tu_join(p->src, names[i]);
        p->data[k] = tu_read_file(path, &p->len[k]);
        cr_assert_not_null(p->data[k]);
        free(path);
    }
    tu_free_list(names, n);
}

static void pristine_free(pristine *p)
{
    for (int i = 0; i < p->n; i++) {
        free(p->name[i]);
        free(p->data[i]);
    }
    tu_inv_free(&p->inv);
    tu_corpus_free(&p->c);
    tu_rmrf(p->src);
    free(p->src);
}

/* Write the index into dir with file f damaged; returns 1 if its bytes changed. */
static int write_damaged(const pristine *p, const char *dir, int f, int mode, size_t off)
{
    int changed = 0;
    for (int i = 0; i < p->n; i++) {
        char *path = tu_join(dir, p->name[i]);
        if (i != f) {
            tu_write_file(path, p->data[i], p->len[i]);
        } else {
            char *b = malloc(p->len[i] + 1);
            memcpy(b, p->data[i], p->len[i]);
            size_t len = p->len[i];
            if (mode == FLIP) {
                b[off] ^= (char)(1u << (off % 8));
            } else if (mode == ZERO) {
                for (size_t k = off; k < off + 8 && k < len; k++) b[k] = 0;
            } else {
                len = off;
            }
            changed = len != p->len[i] || memcmp(b, p->data[i], len) != 0;
            tu_write_file(path, b, len);
            free(b);
        }
        free(path);
    }
    return changed;
}

static int names_index_file(const pristine *p, const char *msg)
{
    for (int i = 0; i < p->n; i++)
        if (strstr(msg, p->name[i])) return 1;
    return 0;
}

typedef struct tally {
    unsigned trials, open_failed, read_errors, silent_wrong, check_failed;
} tally;

static const char *const QUERIES[] = {TU_ALL_WORD, TU_REPEAT_WORD " " TU_ONCE_WORD, "a b c d e f"};

/* Read everything; count errors and results that differ from the inversion. */
static void read_all(const pristine *p, const ft_index *ix, const char *what, tally *t)
{
    int wrong = 0, errors = 0;
    ft_error err = {0};
#define READ_ERR(rc, op)                                                                     \
    do {                                                                                     \
        cr_assert_eq((rc), FT_ECORRUPT, "%s: %s failed with %d (%s): %s", what, op, (rc),    \
                     ft_strerror(rc), err.msg);                                              \
        cr_assert(names_index_file(p, err.msg), "%s: %s error names no file: \"%s\"", what, op, \
                  err.msg);                                                                  \
        errors++;                                                                            \
    } while (0)

    tu_term_list l = {0};
    l.limit = 10000;
    int rc = ft_index_terms(ix, tu_collect_term, &l, &err);
    if (rc) READ_ERR(rc, "ft_index_terms");
    else if (l.n != p->inv.nterms) wrong = 1;
    tu_term_list_free(&l);

    uint32_t ndocs = ft_index_doc_count(ix);
    for (size_t i = 0; i < p->inv.nterms; i++) {
        const tu_term *tm = &p->inv.terms[i];
        ft_postings *pc = NULL;
        rc = ft_postings_open(ix, tm->term, tm->len, &pc, &err);
        if (rc) {
            READ_ERR(rc, "ft_postings_open");
            continue;
        }
        if (ft_postings_df(pc) != tm->df) wrong = 1;
        uint32_t k = 0, d;
        while ((d = ft_postings_next(pc)) != FT_DOC_END && k <= ndocs) {
            if (k >= tm->df || d != tm->p[k].doc || ft_postings_tf(pc) != tm->p[k].tf) wrong = 1;
            const uint32_t *pos;
            uint32_t n;
            rc = ft_postings_positions(pc, &pos, &n);
            if (rc) {
                /* positions have no ft_error: the cursor's status holds it */
                cr_assert_eq(ft_postings_status(pc, &err), rc, "%s: positions error %d not in the status",
                             what, rc);
                READ_ERR(rc, "ft_postings_positions");
                break;
            }
            if (k < tm->df && (n != tm->p[k].tf || memcmp(pos, tm->p[k].pos, n * sizeof *pos)))
                wrong = 1;
            k++;
        }
        cr_assert_leq(k, ndocs, "%s: a posting list longer than the index", what);
        rc = ft_postings_status(pc, &err);
        if (rc) READ_ERR(rc, "ft_postings_next");
        else if (k != tm->df) wrong = 1;
        ft_postings_close(pc);
    }
    ft_docbuf *b = ft_docbuf_new();
    for (uint32_t d = 0; d < ndocs; d++) {
        ft_doc doc;
        rc = ft_index_doc(ix, d, b, &doc, &err);
        if (rc) READ_ERR(rc, "ft_index_doc");
        else if (d >= p->c.n || doc.id_len != p->c.docs[d].id_len ||
                 memcmp(doc.id, p->c.docs[d].id, doc.id_len))
            wrong = 1;
    }
    ft_docbuf_free(b);

    ft_analyzer *an = NULL;
    cr_assert_eq(ft_analyzer_new(ft_index_analyzer_opts(ix), &an, &err), FT_OK, "%s: %s", what, err.msg);
    /* every query any-word and all-words, the snippets' positions where the
     * search noted them and looked up */
    for (size_t i = 0; i < 4 * sizeof QUERIES / sizeof QUERIES[0]; i++) {
        ft_query *q = NULL;
        cr_assert_eq(ft_query_parse(an, QUERIES[i / 4], strlen(QUERIES[i / 4]), &q, &err), FT_OK);
        ft_search_opts o;
        ft_search_opts_default(&o);
        o.all = (int)(i & 1);
        o.snippets = (int)(i >> 1 & 1);
        ft_results r;
        memset(&r, 0, sizeof r);
        rc = ft_search(ix, q, &o, &r, &err);
        if (rc) READ_ERR(rc, "ft_search");
        for (size_t h = 0; h < r.n; h++) cr_assert_lt(r.hits[h].doc, ndocs, "%s: hit out of range", what);
        /* snippets from the index: positions and stored marks read back */
        ft_snipper *sn = NULL;
        if (!rc && (rc = ft_snipper_new(ix, an, q, &r, &sn, &err))) READ_ERR(rc, "ft_snipper_new");
        ft_docbuf *sb = ft_docbuf_new();
        for (size_t h = 0; sn && h < r.n; h++) {
            ft_doc d;
            if (ft_index_doc(ix, r.hits[h].doc, sb, &d, &err)) continue; /* counted above */
            char *snip = NULL;
            if ((rc = ft_snipper_get(sn, h, &d, NULL, &snip, &err))) READ_ERR(rc, "ft_snipper_get");
            free(snip);
        }
        ft_docbuf_free(sb);
        ft_snipper_free(sn);
        ft_results_free(&r);
        ft_query_free(q);
    }
    ft_analyzer_free(an);
#undef READ_ERR
    if (errors) t->read_errors++;
    else if (wrong) t->silent_wrong++;
}

static void trial(const pristine *p, const char *dir, int f, int mode, size_t off, tally *t)
{
    char what[160];
    snprintf(what, sizeof what, "%s %s at offset %zu of %zu", p->name[f], MODE[mode], off, p->len[f]);
    int changed = write_damaged(p, dir, f, mode, off);
    t->trials++;

    ft_index *ix = NULL;
    ft_error err = {0};
    int rc = ft_index_open(dir, &ix, &err);
    if (rc == FT_OK) {
        cr_assert_not_null(ix);
        read_all(p, ix, what, t);
        ft_index_close(ix);
    } else {
        cr_assert_null(ix, "%s: failed open returned an index", what);
        cr_assert(rc == FT_ECORRUPT || rc == FT_EVERSION, "%s: open failed with %d (%s): %s", what, rc,
                  ft_strerror(rc), err.msg);
        cr_assert(names_index_file(p, err.msg), "%s: open error names no file: %s", what, err.msg);
        cr_assert(changed, "%s: undamaged index failed to open: %s", what, err.msg);
        t->open_failed++;
    }

    memset(&err, 0, sizeof err);
    rc = ft_index_check(dir, &err);
    if (!changed) {
        cr_assert_eq(rc, FT_OK, "%s (bytes unchanged): check failed: %s", what, err.msg);
        return;
    }
    cr_assert(rc == FT_ECORRUPT || rc == FT_EVERSION, "%s: ft_index_check returned %d (%s): %s", what, rc,
              ft_strerror(rc), err.msg);
    cr_assert(strstr(err.msg, p->name[f]), "%s: ft_index_check message does not name %s: %s", what,
              p->name[f], err.msg);
    t->check_failed++;
}

/* Offsets to try in a file of n bytes: the edges, every header/footer byte,
 * `spread` evenly spaced and `random` random ones. */
static size_t offsets(size_t n, size_t *out, size_t max, unsigned spread, unsigned random, tu_rng *r)
{
    size_t k = 0;
#define ADD(x)                                         \
    do {                                               \
        size_t v_ = (x);                               \
        if (v_ < n && k < max) out[k++] = v_;          \
    } while (0)
    for (size_t i = 0; i < 8; i++) ADD(i);              /* magic and version */
    for (size_t i = 1; i <= 32 && i <= n; i++) ADD(n - i); /* footers, checksum line */
    for (unsigned i = 1; i < spread; i++) ADD(n * i / spread);
    for (unsigned i = 0; i < random && n; i++) ADD(tu_randn(r, (uint32_t)n));
#undef ADD
    return k;
}

/* Trials on the file whose name ends in suffix ("MANIFEST", ".tid", ...). */
static void run_trials(const char *suffix, unsigned spread, unsigned random)
{
    pristine p;
    pristine_build(&p);
    int f = -1;
    for (int i = 0; i < p.n; i++) {
        size_t nl = strlen(p.name[i]), sl = strlen(suffix);
        if (nl >= sl && !strcmp(p.name[i] + nl - sl, suffix)) f = i;
    }
    if (f < 0) {
        pristine_free(&p);
        cr_skip_test("this index format has no %s file", suffix);
    }
    char *dir = tu_mkdtemp();
    tu_rng r = {0xbadf11e5ULL + (uint64_t)f};
    size_t offs[128];
    size_t n = offsets(p.len[f], offs, 128, spread, random, &r);
    tally t = {0};
    for (int mode = FLIP; mode <= TRUNC; mode++)
        for (size_t i = 0; i < n; i++) {
            if (mode == TRUNC && i % 2) continue; /* truncation is less varied */
            trial(&p, dir, f, mode, offs[i], &t);
        }
    cr_assert_geq(t.trials, 50, "%s: only %u trials", p.name[f], t.trials);
    cr_assert_gt(t.check_failed, 0);
    if (getenv("FT_CORRUPT_STATS"))
        fprintf(stderr, "corrupt %s (%zu bytes): %u trials, open refused %u, read error %u, "
                "read back damaged data silently %u, check failed %u\n",
                p.name[f], p.len[f], t.trials, t.open_failed, t.read_errors, t.silent_wrong,
                t.check_failed);
    tu_rmrf(dir);
    free(dir);
    pristine_free(&p);
}

Test(corrupt, manifest, .timeout = 300) { run_trials("MANIFEST", 24, 16); }
Test(corrupt, term_dictionary, .timeout = 300) { run_trials(".tid", 24, 24); }
Test(corrupt, postings, .timeout = 300) { run_trials(".pst", 24, 24); }
Test(corrupt, positions, .timeout = 300) { run_trials(".pos", 24, 24); }
Test(corrupt, lengths, .timeout = 300) { run_trials(".len", 16, 8); }
Test(corrupt, store, .timeout = 300) { run_trials(".sto", 24, 24); }
Test(corrupt, ids, .timeout = 300) { run_trials(".ids", 24, 24); }

/* Every file of the index has a test above. */
Test(corrupt, every_file_covered)
{
    static const char *const covered[] = {"MANIFEST", ".tid", ".pst", ".pos", ".len", ".sto", ".ids"};
    pristine p;
    pristine_build(&p);
    for (int i = 0; i < p.n; i++) {
        int ok = 0;
        for (size_t k = 0; k < sizeof covered / sizeof covered[0]; k++) {
            size_t nl = strlen(p.name[i]), sl = strlen(covered[k]);
            ok |= nl >= sl && !strcmp(p.name[i] + nl - sl, covered[k]);
        }
        cr_assert(ok, "no corruption test for %s", p.name[i]);
    }
    pristine_free(&p);
}

/* The same pristine bytes, restored, read back exactly. */
Test(corrupt, pristine_index_is_correct, .timeout = 120)
{
    pristine p;
    pristine_build(&p);
    char *dir = tu_mkdtemp();
    cr_assert_eq(write_damaged(&p, dir, 1, ZERO, p.len[1]), 0); /* zeroes nothing */
    ft_index *ix = NULL;
    ft_error err = {0};
    cr_assert_eq(ft_index_open(dir, &ix, &err), FT_OK, "%s", err.msg);
    tu_check_index(ix, &p.c, &p.inv);
    ft_index_close(ix);
    cr_assert_eq(ft_index_check(dir, &err), FT_OK, "%s", err.msg);
    tu_rmrf(dir);
    free(dir);
    pristine_free(&p);
}

/* `ftindex check` exits 4 (corrupt index) and names the damaged file, for
 * every file; on the undamaged files it exits 0. */
Test(corrupt, ftindex_check_names_file, .timeout = 120)
{
    pristine p;
    pristine_build(&p);
    char *dir = tu_mkdtemp();
    tu_run r;
    cr_assert_eq(write_damaged(&p, dir, 1, ZERO, p.len[1]), 0); /* zeroes nothing */
    tu_run_tool(&r, "ftindex", "check", "-i", dir, NULL);
    cr_assert_eq(r.status, 0, "ftindex check, nothing damaged: exit %d; stderr: %s", r.status, r.err);
    tu_run_free(&r);
    for (int f = 0; f < p.n; f++) {
        cr_assert(write_damaged(&p, dir, f, FLIP, p.len[f] / 2));
        tu_run_tool(&r, "ftindex", "check", "-i", dir, NULL);
        cr_assert_eq(r.status, 4, "ftindex check, %s damaged: exit %d; stderr: %s", p.name[f], r.status, r.err);
        cr_assert(strstr(r.err, p.name[f]), "ftindex check, %s damaged: stderr does not name it: %s",
                  p.name[f], r.err);
        tu_run_free(&r);
    }
    tu_rmrf(dir);
    free(dir);
    pristine_free(&p);
}

/* `ftsearch` exits 4 (corrupt index) and names the file when any file of
 * the index is cut in half, and 0 with hits on the whole index. */
Test(corrupt, ftsearch_exits_4_on_a_truncated_file, .timeout = 120)
{
    pristine p;
    pristine_build(&p);
    char *dir = tu_mkdtemp();
    tu_run r;
    cr_assert_eq(write_damaged(&p, dir, 1, ZERO, p.len[1]), 0);
    tu_run_tool(&r, "ftsearch", "-i", dir, TU_ALL_WORD, NULL);
    cr_assert_eq(r.status, 0, "ftsearch, nothing damaged: exit %d; stderr: %s", r.status, r.err);
    tu_run_free(&r);
    for (int f = 0; f < p.n; f++) {
        cr_assert(write_damaged(&p, dir, f, TRUNC, p.len[f] / 2));
        tu_run_tool(&r, "ftsearch", "-i", dir, TU_ALL_WORD, NULL);
        cr_assert_eq(r.status, 4, "ftsearch, %s truncated: exit %d; stderr: %s", p.name[f], r.status, r.err);
        cr_assert(strstr(r.err, p.name[f]), "ftsearch, %s truncated: stderr does not name it: %s", p.name[f],
                  r.err);
        cr_assert_eq(r.out_len, 0, "ftsearch, %s truncated: stdout: %s", p.name[f], r.out);
        tu_run_free(&r);
    }
    tu_rmrf(dir);
    free(dir);
    pristine_free(&p);
}
