/*
 * fuzz_util.c — temporary directories, the small fixed index and the
 * read-everything walk shared by the fuzz targets (see fuzz_util.h).
 */
#include "fuzz_util.h"

#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ft_index.h"

static char *dirs[8];
static int ndirs;

static void cleanup(void)
{
    for (int i = 0; i < ndirs; i++) {
        fz_rmdir(dirs[i]);
        free(dirs[i]);
    }
    ndirs = 0;
}

char *fz_tempdir(void)
{
    const char *base = "/dev/shm";
    struct stat st;
    if (stat(base, &st) || !S_ISDIR(st.st_mode) || access(base, W_OK)) {
        base = getenv("TMPDIR");
        if (!base || !*base) base = "/tmp";
    }
    char tmpl[512];
    snprintf(tmpl, sizeof tmpl, "%s/ft-fuzz-XXXXXX", base);
    FZ_CHECK(mkdtemp(tmpl), "mkdtemp %s: %s", tmpl, strerror(errno));
    char *p = strdup(tmpl);
    FZ_CHECK(p, "out of memory");
    if (ndirs < 8) {
        if (!ndirs) atexit(cleanup);
        dirs[ndirs++] = strdup(p);
    }
    return p;
}

void fz_rmdir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    char path[1024];
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

uint8_t *fz_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    FZ_CHECK(f, "open %s: %s", path, strerror(errno));
    FZ_CHECK(!fseek(f, 0, SEEK_END), "seek %s", path);
    long n = ftell(f);
    FZ_CHECK(n >= 0, "tell %s", path);
    rewind(f);
    uint8_t *p = malloc((size_t)n + 1);
    FZ_CHECK(p, "out of memory");
    FZ_CHECK(fread(p, 1, (size_t)n, f) == (size_t)n, "read %s", path);
    fclose(f);
    *len = (size_t)n;
    return p;
}

void fz_write_file(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    FZ_CHECK(f, "create %s: %s", path, strerror(errno));
    FZ_CHECK(fwrite(p, 1, n, f) == n, "write %s", path);
    FZ_CHECK(!fclose(f), "close %s", path);
}

static const char *const VOCAB[] = {
    "the", "of", "soybean", "soybeans", "russia", "china", "trade", "boundary", "layer", "flow",
    "running", "runs", "ran", "echo", "alpha", "beta", "gamma", "delta", "quick", "brown",
    "fox", "jumps", "over", "lazy", "dog", "Straße", "naïve", "café", "中国", "北京大学",
    "한국어", "Москва", "ελληνικά", "don't", "x", "it's", "42", "3.14", "e-mail", "über",
};
#define NVOCAB (sizeof VOCAB / sizeof VOCAB[0])

void fz_build_small_index(const char *dir)
{
    ft_writer_opts wo;
    ft_writer_opts_default(&wo);
    wo.block_postings = 4;
    wo.frame_blocks = 2;
    ft_writer *w = NULL;
    ft_error err = {0};
    FZ_CHECK(ft_writer_open(dir, &wo, &w, &err) == FT_OK, "writer open: %s", err.msg);
    uint64_t s = 0x5eedULL;
    char body[4096], title[256], id[32];
    for (int d = 0; d < 40; d++) {
        size_t bl = 0, tl = 0;
        unsigned nw = (unsigned)(d * 7 % 60) + (d % 5 == 0 ? 0 : 3);
        for (unsigned i = 0; i < nw; i++) {
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            /* skewed: low words far more often */
            unsigned r = (unsigned)(s >> 33) % (NVOCAB * NVOCAB);
            unsigned k = 0;
            while ((k + 1) * (k + 1) <= r) k++;
            const char *wd = VOCAB[NVOCAB - 1 - k];
            size_t l = strlen(wd);
            if (bl + l + 2 < sizeof body) {
                memcpy(body + bl, wd, l);
                bl += l;
                body[bl++] = (i % 9 == 8) ? '\n' : ' ';
            }
        }
        if (d == 7) { /* a repeated word: tf larger than a block of positions */
            for (int i = 0; i < 50 && bl + 6 < sizeof body; i++) {
                memcpy(body + bl, "echo ", 5);
                bl += 5;
            }
        }
        tl = (size_t)snprintf(title, sizeof title, "Doc %d %s %s", d, VOCAB[d % NVOCAB],
                              VOCAB[(d * 3) % NVOCAB]);
        snprintf(id, sizeof id, "doc-%02d", d);
        FZ_CHECK(ft_writer_add(w, id, strlen(id), title, tl, body, bl, &err) == FT_OK, "add: %s",
                 err.msg);
    }
    FZ_CHECK(ft_writer_commit(w, &err) == FT_OK, "commit: %s", err.msg);
    ft_writer_close(w);
}

static int collect_term(void *ctx, const char *term, size_t len, uint32_t df)
{
    (void)df;
    ft_buf *b = ctx;
    ft_buf_put_varint(b, len);
    ft_buf_append(b, term, len);
    return b->len > (1u << 20); /* enough */
}

uint64_t fz_walk_index(const ft_index *ix)
{
    ft_error err = {0};
    ft_buf terms;
    ft_buf_init(&terms);
    (void)ft_index_terms(ix, collect_term, &terms, &err);
    uint64_t seen = 0;
    uint32_t ndocs = ft_index_doc_count(ix);
    const uint8_t *p = terms.p, *end = terms.p ? terms.p + terms.len : NULL;
    unsigned nterm = 0;
    while (p && p < end) {
        uint64_t len;
        if (ft_varint_get(&p, end, &len) || len > (uint64_t)(end - p)) break;
        const char *t = (const char *)p;
        p += len;
        nterm++;
        ft_postings *pc = NULL;
        if (ft_postings_open(ix, t, (size_t)len, &pc, &err) != FT_OK) continue;
        (void)ft_postings_df(pc);
        (void)ft_postings_cf(pc);
        uint32_t mt, ml;
        ft_postings_list_info(pc, &mt, &ml);
        uint32_t prev = 0, k = 0;
        int first = 1;
        for (;;) {
            uint32_t d = ft_postings_next(pc);
            if (d == FT_DOC_END) break;
            FZ_CHECK(first || d > prev, "postings not increasing: %u after %u", d, prev);
            FZ_CHECK(d < ndocs, "document %u out of range (%u documents)", d, ndocs);
            first = 0;
            prev = d;
            seen++;
            (void)ft_postings_tf(pc);
            uint32_t bl, bt, bm;
            ft_postings_block_info(pc, &bl, &bt, &bm);
            const uint32_t *pos;
            uint32_t n;
            if (ft_postings_positions(pc, &pos, &n) == FT_OK)
                for (uint32_t i = 1; i < n; i++) FZ_CHECK(pos[i] > pos[i - 1], "positions not increasing");
            if (++k > ndocs) break;
        }
        (void)ft_postings_status(pc, &err);
        ft_postings_close(pc);
        /* and once with advance() */
        if (nterm % 3 == 0 && ft_postings_open(ix, t, (size_t)len, &pc, &err) == FT_OK) {
            uint32_t target = 0;
            for (int i = 0; i < 64; i++) {
                uint32_t d = ft_postings_advance(pc, target);
                if (d == FT_DOC_END) break;
                FZ_CHECK(d >= target, "advance(%u) went to %u", target, d);
                target = d + 1 + (uint32_t)(i % 4);
            }
            ft_postings_close(pc);
        }
    }
    ft_buf_free(&terms);
    ft_docbuf *b = ft_docbuf_new();
    if (b) {
        for (uint32_t d = 0; d < ndocs && d < 4096; d++) {
            ft_doc doc;
            (void)ft_index_doc(ix, d, b, &doc, &err);
            (void)ft_index_doc_length(ix, d);
        }
        ft_doc doc;
        (void)ft_index_doc(ix, ndocs, b, &doc, &err);
        ft_docbuf_free(b);
    }
    return seen;
}
