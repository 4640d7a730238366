/*
 * ft_test_util.c — shared test helpers (see ft_test_util.h): temporary
 * directories, token collection, the deterministic corpus generator, the naive
 * inversion used as the reference for the index and BM25 tests, and a
 * posix_spawn wrapper capturing the output of the command-line tools.
 */
#include "ft_test_util.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <zstd.h>
#include <ftw.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* ------------------------------------------------------------ files */

/* Every directory made by tu_mkdtemp is also removed at exit, so a test that
 * stops at a failed assertion leaves nothing behind in /tmp. */
static char *made_dirs[64];
static size_t n_made_dirs;

static void remove_made_dirs(void)
{
    for (size_t i = 0; i < n_made_dirs; i++) {
        tu_rmrf(made_dirs[i]);
        free(made_dirs[i]);
    }
    n_made_dirs = 0;
}

char *tu_mkdtemp(void)
{
    char *p = strdup("/tmp/ft-test-XXXXXX");
    cr_assert_not_null(p);
    cr_assert_not_null(mkdtemp(p), "mkdtemp: %s", strerror(errno));
    if (n_made_dirs == 0) atexit(remove_made_dirs);
    if (n_made_dirs < sizeof made_dirs / sizeof made_dirs[0]) made_dirs[n_made_dirs++] = strdup(p);
    return p;
}

static int rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)ftw;
    if (flag == FTW_DP || flag == FTW_D)
        rmdir(path);
    else
        unlink(path);
    return 0;
}

void tu_rmrf(const char *path)
{
    if (!path) return;
    struct stat st;
    if (lstat(path, &st) != 0) return;
    if (S_ISDIR(st.st_mode)) {
        chmod(path, 0700);
        nftw(path, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    } else {
        unlink(path);
    }
}

char *tu_join(const char *a, const char *b)
{
    char *s = NULL;
    cr_assert(asprintf(&s, "%s/%s", a, b) >= 0);
    return s;
}

void tu_write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "cannot create %s: %s", path, strerror(errno));
    if (len) cr_assert_eq(fwrite(data, 1, len, f), len);
    cr_assert_eq(fclose(f), 0);
}

void tu_write_str(const char *path, const char *s) { tu_write_file(path, s, strlen(s)); }

char *tu_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap + 1);
    cr_assert_not_null(buf);
    for (;;) {
        if (n == cap) {
            cap *= 2;
            buf = realloc(buf, cap + 1);
            cr_assert_not_null(buf);
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
    }
    fclose(f);
    buf[n] = 0;
    if (len) *len = n;
    return buf;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

char **tu_list_dir(const char *dir, size_t *n)
{
    DIR *d = opendir(dir);
    cr_assert_not_null(d, "opendir %s: %s", dir, strerror(errno));
    size_t cap = 16;
    char **v = malloc(cap * sizeof *v);
    *n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        if (*n == cap) {
            cap *= 2;
            v = realloc(v, cap * sizeof *v);
        }
        v[(*n)++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(v, *n, sizeof *v, cmp_str);
    return v;
}

void tu_free_list(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
}

void tu_assert_same_files(const char *a, const char *b, const char *what)
{
    size_t na, nb;
    char **la = tu_list_dir(a, &na), **lb = tu_list_dir(b, &nb);
    cr_assert_eq(na, nb, "%s: %zu files against %zu", what, na, nb);
    for (size_t i = 0; i < na; i++) {
        cr_assert_str_eq(la[i], lb[i], "%s", what);
        char *pa = tu_join(a, la[i]), *pb = tu_join(b, lb[i]);
        size_t sa, sb;
        char *da = tu_read_file(pa, &sa), *db = tu_read_file(pb, &sb);
        cr_assert(da && db, "%s: %s cannot be read", what, la[i]);
        cr_assert(sa == sb && !memcmp(da, db, sa), "%s: %s differs", what, la[i]);
        free(da);
        free(db);
        free(pa);
        free(pb);
    }
    tu_free_list(la, na);
    tu_free_list(lb, nb);
}

void tu_copy_dir(const char *from, const char *to)
{
    mkdir(to, 0700);
    size_t n;
    char **names = tu_list_dir(from, &n);
    for (size_t i = 0; i < n; i++) {
        char *src = tu_join(from, names[i]);
        char *dst = tu_join(to, names[i]);
        size_t len;
        char *data = tu_read_file(src, &len);
        cr_assert_not_null(data, "cannot read %s", src);
        tu_write_file(dst, data, len);
        free(data);
        free(src);
        free(dst);
    }
    tu_free_list(names, n);
}

const char *tu_env_or_skip(const char *name)
{
    const char *v = getenv(name);
    if (!v || !*v) cr_skip_test("%s is not set", name);
    return v;
}

/* ------------------------------------------------------------ analyzer */

void tu_toks_free(tu_toks *t)
{
    for (size_t i = 0; i < t->n; i++) free(t->v[i].term);
    free(t->v);
    memset(t, 0, sizeof *t);
}

static int collect_cb(void *ctx, const ft_token *tok)
{
    tu_toks *t = ctx;
    if (t->n == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 16;
        t->v = realloc(t->v, t->cap * sizeof *t->v);
        if (!t->v) abort();
    }
    tu_tok *o = &t->v[t->n++];
    o->term = malloc(tok->len + 1);
    if (!o->term) abort();
    memcpy(o->term, tok->term, tok->len);
    o->term[tok->len] = 0;
    o->len = tok->len;
    o->pos = tok->pos;
    o->start = tok->start;
    o->end = tok->end;
    return 0;
}

int tu_analyze(ft_analyzer *a, const char *text, size_t len, uint32_t first_pos, tu_toks *out,
               ft_analyze_stats *st)
{
    return ft_analyze(a, text, len, first_pos, collect_cb, out, st);
}

ft_analyzer *tu_analyzer(const char *lang)
{
    ft_analyzer_opts o;
    ft_analyzer_opts_default(&o);
    snprintf(o.lang, sizeof o.lang, "%s", lang);
    ft_analyzer *a = NULL;
    ft_error err = {0};
    int rc = ft_analyzer_new(&o, &a, &err);
    cr_assert_eq(rc, FT_OK, "ft_analyzer_new(%s): %d %s", lang, rc, err.msg);
    cr_assert_not_null(a);
    return a;
}

/* ------------------------------------------------------------ PRNG */

uint64_t tu_rand(tu_rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

uint32_t tu_randn(tu_rng *r, uint32_t n) { return n ? (uint32_t)(tu_rand(r) % n) : 0; }

double tu_rand01(tu_rng *r) { return (double)(tu_rand(r) >> 11) / 9007199254740992.0; }

/* ------------------------------------------------------------ corpus */

typedef struct sbuf {
    char *p;
    size_t n, cap;
} sbuf;

static void sb_add(sbuf *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        while (b->n + n + 1 > b->cap) b->cap = b->cap ? 2 * b->cap : 256;
        b->p = realloc(b->p, b->cap);
        if (!b->p) abort();
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

static void sb_adds(sbuf *b, const char *s) { sb_add(b, s, strlen(s)); }

static char *xmemdup(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (!p) abort();
    if (n) memcpy(p, s, n);
    p[n] = 0;
    return p;
}

void tu_corpus_add(tu_corpus *c, const char *id, const char *title, const char *body)
{
    c->docs = realloc(c->docs, (c->n + 1) * sizeof *c->docs);
    if (!c->docs) abort();
    tu_doc *d = &c->docs[c->n++];
    d->id_len = strlen(id);
    d->title_len = strlen(title);
    d->body_len = strlen(body);
    d->id = xmemdup(id, d->id_len);
    d->title = xmemdup(title, d->title_len);
    d->body = xmemdup(body, d->body_len);
}

static void corpus_add_n(tu_corpus *c, const char *id, const sbuf *title, const sbuf *body)
{
    c->docs = realloc(c->docs, (c->n + 1) * sizeof *c->docs);
    if (!c->docs) abort();
    tu_doc *d = &c->docs[c->n++];
    d->id_len = strlen(id);
    d->id = xmemdup(id, d->id_len);
    d->title_len = title->n;
    d->title = xmemdup(title->p ? title->p : "", title->n);
    d->body_len = body->n;
    d->body = xmemdup(body->p ? body->p : "", body->n);
}

void tu_corpus_free(tu_corpus *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free(c->docs[i].id);
        free(c->docs[i].title);
        free(c->docs[i].body);
    }
    free(c->docs);
    for (size_t i = 0; i < c->nvocab; i++) free(c->vocab[i]);
    free(c->vocab);
    memset(c, 0, sizeof *c);
}

/* Non-ASCII fragments mixed into some vocabulary words. */
static const char *const exotic[] = {
    "\xc3\xa9",         /* é */
    "\xc3\x9f",         /* ß */
    "\xc3\xb1",         /* ñ */
    "\xd0\xb4\xd0\xb0", /* да */
    "\xce\xbb",         /* λ */
};
static const char *const han[] = {
    "\xe4\xb8\xad", /* 中 */ "\xe5\x9b\xbd", /* 国 */ "\xe4\xba\xba", /* 人 */
    "\xe5\xa4\xa7", /* 大 */ "\xe5\xad\xa6", /* 学 */ "\xe6\x96\x87", /* 文 */
};

static int is_reserved(const char *w)
{
    return !strcmp(w, TU_ALL_WORD) || !strcmp(w, TU_ONCE_WORD) || !strcmp(w, TU_REPEAT_WORD);
}

static void gen_vocab(tu_corpus *c, size_t nvocab, tu_rng *r)
{
    c->vocab = calloc(nvocab, sizeof *c->vocab);
    c->nvocab = 0;
    while (c->nvocab < nvocab) {
        char w[64];
        size_t n = 0;
        uint32_t kind = tu_randn(r, 100);
        if (kind < 2) { /* Han word: 2 or 3 characters (bigrams when indexed) */
            uint32_t k = 2 + tu_randn(r, 2);
            for (uint32_t i = 0; i < k; i++) {
                const char *h = han[tu_randn(r, 6)];
                memcpy(w + n, h, strlen(h));
                n += strlen(h);
            }
        } else {
            uint32_t len = 2 + tu_randn(r, 8);
            for (uint32_t i = 0; i < len; i++) w[n++] = (char)('a' + tu_randn(r, 26));
            if (kind < 6) { /* some accented / non-Latin letters */
                const char *x = exotic[tu_randn(r, 5)];
                memcpy(w + n, x, strlen(x));
                n += strlen(x);
            } else if (kind < 8) { /* digits */
                w[n++] = (char)('0' + tu_randn(r, 10));
            }
        }
        w[n] = 0;
        if (is_reserved(w)) continue;
        int dup = 0;
        for (size_t i = 0; i < c->nvocab && !dup; i++) dup = !strcmp(c->vocab[i], w);
        if (dup) continue;
        c->vocab[c->nvocab++] = strdup(w);
    }
}

static size_t zipf_pick(const double *cum, size_t n, tu_rng *r)
{
    double x = tu_rand01(r) * cum[n - 1];
    size_t lo = 0, hi = n - 1;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (cum[mid] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static void add_word(sbuf *b, const char *w, tu_rng *r)
{
    if (b->n) {
        uint32_t s = tu_randn(r, 20);
        sb_adds(b, s == 0 ? ", " : s == 1 ? ". " : s == 2 ? "\n" : s == 3 ? " - " : " ");
    }
    /* Some words capitalised or upper-cased: the analyzer folds them. */
    uint32_t c = tu_randn(r, 10);
    if (c == 0 && w[0] >= 'a' && w[0] <= 'z') {
        char first = (char)(w[0] - 'a' + 'A');
        sb_add(b, &first, 1);
        sb_adds(b, w + 1);
    } else {
        sb_adds(b, w);
    }
}

void tu_corpus_gen(tu_corpus *c, size_t ndocs, size_t nvocab, uint64_t seed)
{
    memset(c, 0, sizeof *c);
    tu_rng r = {seed};
    gen_vocab(c, nvocab, &r);
    double *cum = malloc(nvocab * sizeof *cum);
    double acc = 0;
    for (size_t i = 0; i < nvocab; i++) {
        acc += 1.0 / (double)(i + 1);
        cum[i] = acc;
    }
    size_t once_doc = ndocs > 137 ? 137 : ndocs / 2;
    for (size_t d = 0; d < ndocs; d++) {
        sbuf title = {0}, body = {0};
        char id[32];
        snprintf(id, sizeof id, "doc-%04zu", d);
        add_word(&title, TU_ALL_WORD, &r);
        uint32_t nt = tu_randn(&r, 5);
        for (uint32_t i = 0; i < nt; i++) add_word(&title, c->vocab[zipf_pick(cum, nvocab, &r)], &r);

        uint32_t len = (d % 37 == 5) ? 0 : tu_randn(&r, 401);
        uint32_t repeat = 0;
        if (d % 23 == 3) { /* a frequent word repeated many times: long position lists */
            repeat = 100 + tu_randn(&r, 201);
            if (d == 3) repeat = 300;
            len = tu_randn(&r, 100);
        }
        uint32_t total = len + repeat, left_rep = repeat;
        for (uint32_t i = 0; i < total; i++) {
            uint32_t remaining = total - i;
            if (left_rep && tu_randn(&r, remaining) < left_rep) {
                add_word(&body, TU_REPEAT_WORD, &r);
                left_rep--;
            } else {
                add_word(&body, c->vocab[zipf_pick(cum, nvocab, &r)], &r);
            }
            if (d % 41 == 9 && i == total / 2) { /* invalid UTF-8 of several kinds */
                static const char *const bad[] = {" \xff", " \xc0\xaf", "\xed\xa0\x80",
                                                  " \xe4\xb8", "\xf4\x90\x80\x80 \x80"};
                sb_adds(&body, bad[(d / 41) % 5]);
            }
        }
        if (d == once_doc) {
            if (body.n) sb_adds(&body, " ");
            sb_adds(&body, TU_ONCE_WORD);
        }
        corpus_add_n(c, id, &title, &body);
        free(title.p);
        free(body.p);
    }
    free(cum);
}

/* ------------------------------------------------------------ JSON Lines corpora */

typedef struct line_reader {
    FILE *f;
    ZSTD_DStream *z;
    uint8_t in[1 << 16];
    ZSTD_inBuffer zin;
    char *buf; /* decompressed bytes not yet returned */
    size_t len, cap;
    int eof;
} line_reader;

/* Fill more bytes; returns 0 at end of input. */
static int lr_fill(line_reader *lr)
{
    if (lr->eof) return 0;
    if (lr->len + (1 << 16) > lr->cap) {
        lr->cap = (lr->len + (1 << 16)) * 2;
        lr->buf = realloc(lr->buf, lr->cap);
        if (!lr->buf) abort();
    }
    if (!lr->z) {
        size_t got = fread(lr->buf + lr->len, 1, 1 << 16, lr->f);
        if (got == 0) lr->eof = 1;
        lr->len += got;
        return got > 0;
    }
    for (;;) {
        if (lr->zin.pos == lr->zin.size) {
            size_t got = fread(lr->in, 1, sizeof lr->in, lr->f);
            if (got == 0) {
                lr->eof = 1;
                return 0;
            }
            lr->zin.src = lr->in;
            lr->zin.size = got;
            lr->zin.pos = 0;
        }
        ZSTD_outBuffer out = {lr->buf + lr->len, 1 << 16, 0};
        size_t rc = ZSTD_decompressStream(lr->z, &out, &lr->zin);
        cr_assert(!ZSTD_isError(rc), "zstd: %s", ZSTD_getErrorName(rc));
        lr->len += out.pos;
        if (out.pos) return 1;
    }
}

/* Next line (without the newline) into *line (malloc'd); 0 at the end. */
static int lr_line(line_reader *lr, char **line, size_t *n)
{
    size_t scanned = 0;
    for (;;) {
        char *nl = lr->len > scanned ? memchr(lr->buf + scanned, '\n', lr->len - scanned) : NULL;
        if (nl || (lr->eof && lr->len)) {
            size_t l = nl ? (size_t)(nl - lr->buf) : lr->len;
            *line = xmemdup(lr->buf, l);
            *n = l;
            size_t drop = nl ? l + 1 : l;
            memmove(lr->buf, lr->buf + drop, lr->len - drop);
            lr->len -= drop;
            return 1;
        }
        scanned = lr->len;
        if (!lr_fill(lr) && !lr->len) return 0;
    }
}

size_t tu_corpus_load_jsonl(tu_corpus *c, const char *path, size_t max_docs)
{
    line_reader lr;
    memset(&lr, 0, sizeof lr);
    lr.f = fopen(path, "rb");
    cr_assert_not_null(lr.f, "cannot open %s: %s", path, strerror(errno));
    size_t pl = strlen(path);
    if (pl > 4 && !strcmp(path + pl - 4, ".zst")) {
        lr.z = ZSTD_createDStream();
        cr_assert_not_null(lr.z);
        ZSTD_initDStream(lr.z);
    }
    size_t added = 0;
    char *line;
    size_t n;
    while (added < max_docs && lr_line(&lr, &line, &n)) {
        if (n == 0) {
            free(line);
            continue;
        }
        json_error_t je;
        json_t *j = json_loadb(line, n, 0, &je);
        cr_assert_not_null(j, "%s: bad JSON line: %s", path, je.text);
        json_t *id = json_object_get(j, "id"), *ti = json_object_get(j, "title"),
               *bo = json_object_get(j, "body");
        cr_assert(json_is_string(id) && json_is_string(bo), "%s: line without id/body", path);
        sbuf t = {0}, b = {0};
        if (json_is_string(ti)) sb_add(&t, json_string_value(ti), json_string_length(ti));
        sb_add(&b, json_string_value(bo), json_string_length(bo));
        corpus_add_n(c, json_string_value(id), &t, &b);
        free(t.p);
        free(b.p);
        json_decref(j);
        free(line);
        added++;
    }
    if (lr.z) ZSTD_freeDStream(lr.z);
    fclose(lr.f);
    free(lr.buf);
    return added;
}

char *tu_shared_corpus_or_skip(const char *rel)
{
    const char *src = getenv("FT_SRC");
    if (!src || !*src) cr_skip_test("FT_SRC is not set");
    char *p = NULL;
    cr_assert(asprintf(&p, "%s/../shared/corpora/%s", src, rel) > 0);
    if (access(p, R_OK) != 0) {
        free(p);
        cr_skip_test("shared corpus %s is not present", rel);
    }
    return p;
}

/* ------------------------------------------------------------ naive inversion */

int tu_term_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    size_t m = alen < blen ? alen : blen;
    int c = m ? memcmp(a, b, m) : 0;
    if (c) return c;
    return alen < blen ? -1 : alen > blen ? 1 : 0;
}

typedef struct triple {
    char *term;
    size_t len;
    uint32_t doc;
    uint32_t pos;
} triple;

static int cmp_triple(const void *pa, const void *pb)
{
    const triple *a = pa, *b = pb;
    int c = tu_term_cmp(a->term, a->len, b->term, b->len);
    if (c) return c;
    if (a->doc != b->doc) return a->doc < b->doc ? -1 : 1;
    if (a->pos != b->pos) return a->pos < b->pos ? -1 : 1;
    return 0;
}

void tu_inv_build(tu_inv *inv, const tu_corpus *c, const ft_analyzer_opts *ao)
{
    memset(inv, 0, sizeof *inv);
    ft_analyzer *an = NULL;
    ft_error err = {0};
    cr_assert_eq(ft_analyzer_new(ao, &an, &err), FT_OK, "%s", err.msg);
    inv->ndocs = (uint32_t)c->n;
    inv->doclen = calloc(c->n ? c->n : 1, sizeof *inv->doclen);
    size_t nt = 0, capt = 1024;
    triple *t = malloc(capt * sizeof *t);
    for (size_t d = 0; d < c->n; d++) {
        tu_toks toks = {0};
        ft_analyze_stats st;
        memset(&st, 0, sizeof st);
        cr_assert_eq(tu_analyze(an, c->docs[d].title, c->docs[d].title_len, 0, &toks, &st), 0);
        uint32_t body_first = st.next_pos + 1;
        inv->invalid_bytes += st.invalid_bytes;
        cr_assert_eq(tu_analyze(an, c->docs[d].body, c->docs[d].body_len, body_first, &toks, &st),
                     0);
        inv->invalid_bytes += st.invalid_bytes;
        inv->doclen[d] = (uint32_t)toks.n;
        inv->tokens += toks.n;
        for (size_t i = 0; i < toks.n; i++) {
            if (nt == capt) {
                capt *= 2;
                t = realloc(t, capt * sizeof *t);
            }
            t[nt].term = toks.v[i].term; /* ownership moves */
            t[nt].len = toks.v[i].len;
            t[nt].doc = (uint32_t)d;
            t[nt].pos = toks.v[i].pos;
            toks.v[i].term = NULL;
            nt++;
        }
        tu_toks_free(&toks);
    }
    ft_analyzer_free(an);
    qsort(t, nt, sizeof *t, cmp_triple);

    /* group by term, then by document */
    size_t capterms = 64;
    inv->terms = malloc(capterms * sizeof *inv->terms);
    size_t i = 0;
    while (i < nt) {
        size_t j = i;
        while (j < nt && tu_term_cmp(t[i].term, t[i].len, t[j].term, t[j].len) == 0) j++;
        if (inv->nterms == capterms) {
            capterms *= 2;
            inv->terms = realloc(inv->terms, capterms * sizeof *inv->terms);
        }
        tu_term *tm = &inv->terms[inv->nterms++];
        tm->term = xmemdup(t[i].term, t[i].len);
        tm->len = t[i].len;
        tm->cf = j - i;
        tm->df = 0;
        for (size_t k = i; k < j; k++)
            if (k == i || t[k].doc != t[k - 1].doc) tm->df++;
        tm->p = calloc(tm->df, sizeof *tm->p);
        size_t pi = 0;
        for (size_t k = i; k < j;) {
            size_t e = k;
            while (e < j && t[e].doc == t[k].doc) e++;
            tu_posting *p = &tm->p[pi++];
            p->doc = t[k].doc;
            p->tf = (uint32_t)(e - k);
            p->pos = malloc(p->tf * sizeof *p->pos);
            for (size_t q = k; q < e; q++) p->pos[q - k] = t[q].pos;
            k = e;
        }
        inv->postings += tm->df;
        i = j;
    }
    for (size_t k = 0; k < nt; k++) free(t[k].term);
    free(t);
}

void tu_inv_free(tu_inv *inv)
{
    for (size_t i = 0; i < inv->nterms; i++) {
        for (uint32_t k = 0; k < inv->terms[i].df; k++) free(inv->terms[i].p[k].pos);
        free(inv->terms[i].p);
        free(inv->terms[i].term);
    }
    free(inv->terms);
    free(inv->doclen);
    memset(inv, 0, sizeof *inv);
}

const tu_term *tu_inv_find(const tu_inv *inv, const char *term, size_t len)
{
    size_t lo = 0, hi = inv->nterms;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = tu_term_cmp(inv->terms[mid].term, inv->terms[mid].len, term, len);
        if (c == 0) return &inv->terms[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

void tu_build_index(const char *dir, const tu_corpus *c, const ft_writer_opts *wo)
{
    ft_writer *w = NULL;
    ft_error err = {0};
    int rc = ft_writer_open(dir, wo, &w, &err);
    cr_assert_eq(rc, FT_OK, "ft_writer_open: %d %s", rc, err.msg);
    for (size_t i = 0; i < c->n; i++) {
        const tu_doc *d = &c->docs[i];
        rc = ft_writer_add(w, d->id, d->id_len, d->title, d->title_len, d->body, d->body_len, &err);
        cr_assert_eq(rc, FT_OK, "ft_writer_add(%s): %d %s", d->id, rc, err.msg);
    }
    rc = ft_writer_commit(w, &err);
    cr_assert_eq(rc, FT_OK, "ft_writer_commit: %d %s", rc, err.msg);
    ft_writer_close(w);
}

/* ------------------------------------------------------------ programs */

void tu_run_prog(tu_run *r, char *const argv[])
{
    memset(r, 0, sizeof *r);
    char outp[] = "/tmp/ft-test-out-XXXXXX";
    char errp[] = "/tmp/ft-test-err-XXXXXX";
    int ofd = mkstemp(outp);
    int efd = mkstemp(errp);
    cr_assert(ofd >= 0 && efd >= 0, "mkstemp: %s", strerror(errno));

    size_t ne = 0;
    while (environ[ne]) ne++;
    char **envp = calloc(ne + 2, sizeof *envp);
    size_t k = 0;
    for (size_t i = 0; i < ne; i++) {
        if (!strncmp(environ[i], "FT_INDEX=", 9) || !strncmp(environ[i], "NO_COLOR=", 9)) continue;
        envp[k++] = environ[i];
    }
    envp[k++] = "NO_COLOR=1";
    envp[k] = NULL;

    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, ofd, 1);
    posix_spawn_file_actions_adddup2(&fa, efd, 2);
    pid_t pid;
    int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    free(envp);
    cr_assert_eq(rc, 0, "posix_spawn %s: %s", argv[0], strerror(rc));
    int st;
    while (waitpid(pid, &st, 0) < 0) cr_assert_eq(errno, EINTR);
    r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    close(ofd);
    close(efd);
    r->out = tu_read_file(outp, &r->out_len);
    r->err = tu_read_file(errp, &r->err_len);
    unlink(outp);
    unlink(errp);
    cr_assert(r->out && r->err);
}

void tu_run_free(tu_run *r)
{
    free(r->out);
    free(r->err);
    memset(r, 0, sizeof *r);
}

void tu_run_toolv(tu_run *r, const char *tool, va_list ap)
{
    const char *bin = tu_env_or_skip("FT_BIN");
    char *argv[64];
    size_t n = 0;
    argv[n++] = tu_join(bin, tool);
    const char *a;
    while ((a = va_arg(ap, const char *)) && n < 63) argv[n++] = (char *)a;
    argv[n] = NULL;
    tu_run_prog(r, argv);
    free(argv[0]);
}

void tu_run_tool(tu_run *r, const char *tool, ...)
{
    va_list ap;
    va_start(ap, tool);
    tu_run_toolv(r, tool, ap);
    va_end(ap);
}

void (*tu_open_hook)(const char *path, int flags);
