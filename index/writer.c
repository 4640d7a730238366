/*
 * writer.c — in-memory inversion and segment writing (format: docs/FORMAT.md).
 *
 *   ft_writer_add ──analyze──> per-document occurrence lists
 *                 ──append───> per-term in-memory posting stream
 *                              [varint doc+1-prev][varint tf][varint pos gaps...]
 *                 ──append───> document store block (zstd at 64 KiB)
 *   ft_writer_commit ──sort terms──> for each term: 128-posting blocks,
 *                    zstd-compressed when that pays, skip table first
 *                ──> .tid .pst .pos .len .sto under *.tmp names, fsync, rename
 *                ──> MANIFEST.tmp, fsync, rename over MANIFEST, fsync dir.
 *
 * Why so: appending varints per term keeps inversion linear in the input with
 * no sort per document (a per-document slot table finds the term's entry); the
 * final sort is over distinct terms only.  Nothing is visible until MANIFEST is
 * renamed, so a crash at any point leaves the previous commit, and files of a
 * dead writer are unreferenced *.tmp/seg-* files the next writer deletes.
 * Every write goes through one wfile with a sticky error and a running XXH64,
 * so the checksums in MANIFEST cost no second pass.
 */
#include "ft_index_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>
#include <zstd.h>

/* ------------------------------------------------------------------ output files */

typedef struct wfile {
    int fd;
    char *path;       /* temporary name */
    char *final;      /* published name */
    uint64_t off;
    XXH64_state_t *h;
    ft_buf buf;       /* write buffer */
    int rc;           /* sticky status */
} wfile;

static int wfile_open(wfile *f, const char *dir, const char *name, ft_error *err)
{
    memset(f, 0, sizeof *f);
    f->fd = -1;
    if (asprintf(&f->final, "%s/%s", dir, name) < 0) { f->final = NULL; goto nomem; }
    if (asprintf(&f->path, "%s/%s.tmp", dir, name) < 0) { f->path = NULL; goto nomem; }
    f->h = XXH64_createState();
    if (!f->h) goto nomem;
    XXH64_reset(f->h, 0);
    ft_buf_init(&f->buf);
    f->fd = open(f->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (f->fd < 0) return f->rc = ft_error_errno(err, errno, "cannot create %s", f->path);
    return FT_OK;
nomem:
    return f->rc = ft_error_set(err, FT_ENOMEM, "out of memory");
}

static void wfile_flush(wfile *f, ft_error *err)
{
    if (f->rc || f->buf.len == 0) return;
    f->rc = ft_write_all(f->fd, f->buf.p, f->buf.len, f->path, err);
    f->buf.len = 0;
}

static void wfile_write(wfile *f, const void *p, size_t n, ft_error *err)
{
    if (f->rc) return;
    XXH64_update(f->h, p, n);
    f->off += n;
    if (n >= (1u << 20)) {
        wfile_flush(f, err);
        if (!f->rc) f->rc = ft_write_all(f->fd, p, n, f->path, err);
        return;
    }
    if (f->buf.len + n > (1u << 20)) wfile_flush(f, err);
    ft_buf_append(&f->buf, p, n);
    if (f->buf.failed) f->rc = ft_error_set(err, FT_ENOMEM, "out of memory writing %s", f->path);
}

static void wfile_u32(wfile *f, uint32_t v, ft_error *err)
{
    uint8_t t[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    wfile_write(f, t, 4, err);
}

static void wfile_u64(wfile *f, uint64_t v, ft_error *err)
{
    wfile_u32(f, (uint32_t)v, err);
    wfile_u32(f, (uint32_t)(v >> 32), err);
}

static void wfile_header(wfile *f, const char *magic, ft_error *err)
{
    wfile_write(f, magic, 4, err);
    wfile_u32(f, FT_FORMAT_VERSION, err);
}

/* Flush, fsync and close; the file stays under its temporary name. */
static int wfile_finish(wfile *f, ft_error *err)
{
    wfile_flush(f, err);
    if (!f->rc && fsync(f->fd) < 0) f->rc = ft_error_errno(err, errno, "cannot fsync %s", f->path);
    if (f->fd >= 0 && close(f->fd) < 0 && !f->rc)
        f->rc = ft_error_errno(err, errno, "cannot close %s", f->path);
    f->fd = -1;
    return f->rc;
}

static void wfile_discard(wfile *f)
{
    if (f->fd >= 0) close(f->fd);
    if (f->path) unlink(f->path);
    free(f->path);
    free(f->final);
    if (f->h) XXH64_freeState(f->h);
    ft_buf_free(&f->buf);
    memset(f, 0, sizeof *f);
    f->fd = -1;
}

/* ------------------------------------------------------------------ writer state */

typedef struct term_ent {
    uint64_t hash;
    uint32_t off, len;      /* bytes in the term arena */
    uint32_t df;
    uint32_t last_plus1;    /* last document + 1 that holds the term (0: none) */
    uint32_t slot;          /* its slot in the open document */
    uint64_t cf;
    ft_buf post;            /* in-memory posting stream */
} term_ent;

typedef struct doc_slot {
    uint32_t term;
    uint32_t prev_plus1;    /* the term's previous document + 1 */
    uint32_t head, tail, tf;
} doc_slot;

/* Word cache: folded surface word -> term number, direct-mapped.  A hit skips
 * both the stemmer (and its cache) and the term hash table. */
#define WC_BITS 18
#define WC_KEY 19
typedef struct wc_slot {
    uint64_t hash;
    uint32_t term;
    uint8_t len; /* 0: empty */
    char key[WC_KEY];
} wc_slot;

typedef struct ptok {
    uint64_t h;        /* XXH3 of the word */
    uint32_t off;      /* word bytes in tokbytes */
    uint32_t pos;
    uint32_t term;     /* resolved term number */
    uint16_t len;
    uint8_t stem;
} ptok;

typedef struct occ {
    uint32_t pos, next;
} occ;

struct ft_writer {
    char *dir;
    ft_writer_opts opts;
    ft_analyzer *an;
    unsigned block, frame;
    char segname[32];
    uint32_t seg_no;

    /* dictionary */
    term_ent *terms;
    size_t nterms, terms_cap;
    uint32_t *table;        /* open addressing: term index + 1 */
    size_t table_mask;
    ft_buf arena;
    wc_slot *wcache;

    /* current document */
    ptok *ptoks;
    size_t nptok, ptok_cap;
    ft_buf tokbytes;
    doc_slot *slots;
    size_t nslots, slots_cap;
    occ *occs;
    size_t nocc, occ_cap;
    uint32_t cur_doc;
    uint32_t cur_len;

    /* documents */
    uint32_t *lens;
    size_t ndocs, lens_cap;

    /* store */
    wfile sto;
    ft_buf sto_block, sto_index, scratch;
    uint32_t sto_first_doc, sto_nblocks;
    ZSTD_CCtx *cctx, *cctx_store;

    ft_writer_stats st;
    int committed;
    int rc;                 /* sticky failure */
    ft_error err;           /* first failure */
};

void ft_writer_opts_default(ft_writer_opts *o)
{
    memset(o, 0, sizeof *o);
    ft_analyzer_opts_default(&o->analyzer);
    o->zstd_level = 1;
    o->store_level = 1;
    o->block_postings = FT_DEFAULT_BLOCK;
    o->frame_blocks = FT_DEFAULT_FRAME;
}

/* Highest segment number in use in dir (from file names), so a new segment
 * never overwrites a file of the live index. */
static uint32_t scan_max_segment(const char *dir)
{
    uint32_t mx = 0;
    DIR *d = opendir(dir);
    if (!d) return 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        unsigned v;
        if (sscanf(e->d_name, "seg-%u.", &v) == 1 && v > mx) mx = v;
    }
    closedir(d);
    return mx;
}

/* Delete leftovers of writers that died: *.tmp files. */
static void remove_temporaries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (n > 4 && !strcmp(e->d_name + n - 4, ".tmp") &&
            (!strncmp(e->d_name, "seg-", 4) || !strncmp(e->d_name, FT_MANIFEST, 8))) {
            char *p;
            if (asprintf(&p, "%s/%s", dir, e->d_name) >= 0) {
                unlink(p);
                free(p);
            }
        }
    }
    closedir(d);
}

int ft_writer_open(const char *dir, const ft_writer_opts *opts, ft_writer **out, ft_error *err)
{
    *out = NULL;
    ft_writer *w = calloc(1, sizeof *w);
    if (!w) return ft_error_set(err, FT_ENOMEM, "out of memory");
    int rc;
    if (opts) w->opts = *opts;
    else ft_writer_opts_default(&w->opts);
    if (w->opts.zstd_level == 0) w->opts.zstd_level = 1;
    if (w->opts.store_level == 0) w->opts.store_level = 1;
    w->block = w->opts.block_postings ? w->opts.block_postings : FT_DEFAULT_BLOCK;
    w->frame = w->opts.frame_blocks ? w->opts.frame_blocks : FT_DEFAULT_FRAME;
    if (w->frame > FT_MAX_FRAME) {
        unsigned fb = w->frame;
        free(w);
        return ft_error_set(err, FT_EINVAL, "frame size %u out of range 1..%u", fb, FT_MAX_FRAME);
    }
    if (w->block < 4 || w->block > FT_MAX_BLOCK) {
        unsigned bs = w->block;
        free(w);
        return ft_error_set(err, FT_EINVAL, "block size %u out of range 4..%u", bs, FT_MAX_BLOCK);
    }
    w->sto.fd = -1;
    w->dir = strdup(dir);
    if (!w->dir) { rc = ft_error_set(err, FT_ENOMEM, "out of memory"); goto fail; }
    rc = ft_analyzer_new(&w->opts.analyzer, &w->an, err);
    if (rc) goto fail;
    w->opts.analyzer = *ft_analyzer_options(w->an);

    struct stat st;
    if (stat(dir, &st) < 0) {
        if (errno != ENOENT || mkdir(dir, 0755) < 0) {
            rc = ft_error_errno(err, errno, "cannot create index directory %s", dir);
            goto fail;
        }
    } else if (!S_ISDIR(st.st_mode)) {
        rc = ft_error_set(err, FT_EINVAL, "%s exists and is not a directory", dir);
        goto fail;
    }
    remove_temporaries(dir);

    /* segment number: past every segment named in the directory */
    w->seg_no = scan_max_segment(dir) + 1;
    snprintf(w->segname, sizeof w->segname, "seg-%06u", w->seg_no);

    w->table_mask = 4096 - 1;
    w->table = calloc(w->table_mask + 1, sizeof *w->table);
    w->cctx = ZSTD_createCCtx();
    w->cctx_store = ZSTD_createCCtx();
    w->wcache = calloc((size_t)1 << WC_BITS, sizeof *w->wcache);
    if (!w->table || !w->cctx || !w->cctx_store || !w->wcache) { rc = ft_error_set(err, FT_ENOMEM, "out of memory"); goto fail; }
    ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_compressionLevel, w->opts.zstd_level);
    ZSTD_CCtx_setParameter(w->cctx_store, ZSTD_c_compressionLevel, w->opts.store_level);
    ft_buf_init(&w->arena);
    ft_buf_init(&w->tokbytes);
    ft_buf_init(&w->sto_block);
    ft_buf_init(&w->sto_index);
    ft_buf_init(&w->scratch);

    char name[48];
    snprintf(name, sizeof name, "%s.sto", w->segname);
    rc = wfile_open(&w->sto, dir, name, err);
    if (rc) goto fail;
    wfile_header(&w->sto, MAGIC_STO, err);
    *out = w;
    return FT_OK;
fail:
    ft_writer_close(w);
    return rc;
}

static uint32_t intern_term(ft_writer *w, const char *t, size_t len, uint64_t h)
{
    size_t i = (size_t)h & w->table_mask;
    for (;;) {
        uint32_t id = w->table[i];
        if (!id) break;
        term_ent *e = &w->terms[id - 1];
        if (e->hash == h && e->len == len && !memcmp(w->arena.p + e->off, t, len)) return id - 1;
        i = (i + 1) & w->table_mask;
    }
    /* insert */
    if (w->nterms == w->terms_cap) {
        size_t cap = w->terms_cap ? w->terms_cap * 2 : 1024;
        term_ent *p = realloc(w->terms, cap * sizeof *p);
        if (!p) return UINT32_MAX;
        w->terms = p;
        w->terms_cap = cap;
    }
    if (w->arena.len + len > UINT32_MAX) return UINT32_MAX;
    term_ent *e = &w->terms[w->nterms];
    memset(e, 0, sizeof *e);
    e->hash = h;
    e->off = (uint32_t)w->arena.len;
    e->len = (uint32_t)len;
    ft_buf_init(&e->post);
    ft_buf_append(&w->arena, t, len);
    if (w->arena.failed) return UINT32_MAX;
    w->table[i] = (uint32_t)++w->nterms;
    if (w->nterms * 2 > w->table_mask) { /* grow to keep load <= 1/2 */
        size_t mask = w->table_mask * 2 + 1;
        uint32_t *nt = calloc(mask + 1, sizeof *nt);
        if (!nt) return UINT32_MAX;
        for (size_t k = 0; k < w->nterms; k++) {
            size_t j = (size_t)w->terms[k].hash & mask;
            while (nt[j]) j = (j + 1) & mask;
            nt[j] = (uint32_t)k + 1;
        }
        free(w->table);
        w->table = nt;
        w->table_mask = mask;
    }
    return (uint32_t)w->nterms - 1;
}

/* Tokens of the open document are first collected (with their hash), then
 * resolved to term numbers in a second pass that prefetches the word-cache
 * slot of a token PREFETCH places ahead, and counted in a third pass that
 * prefetches the term entries: the lookups are memory-latency bound, and this
 * overlaps the misses instead of taking them one after another. */
#define PREFETCH 12

static int collect_token(void *ctx, const ft_token *tok)
{
    ft_writer *w = ctx;
    if (w->nptok == w->ptok_cap) {
        size_t cap = w->ptok_cap ? w->ptok_cap * 2 : 1024;
        if (cap > UINT32_MAX) return FT_ENOMEM;
        ptok *p = realloc(w->ptoks, cap * sizeof *p);
        if (!p) return FT_ENOMEM;
        w->ptoks = p;
        w->ptok_cap = cap;
    }
    if (w->tokbytes.len + tok->len > UINT32_MAX) return FT_ENOMEM;
    ptok *t = &w->ptoks[w->nptok++];
    t->h = XXH3_64bits(tok->term, tok->len);
    t->off = (uint32_t)w->tokbytes.len;
    t->len = (uint16_t)tok->len;
    t->stem = (uint8_t)tok->stem;
    t->pos = tok->pos;
    ft_buf_append(&w->tokbytes, tok->term, tok->len);
    return w->tokbytes.failed ? FT_ENOMEM : 0;
}

static uint32_t resolve_token(ft_writer *w, const ptok *t)
{
    const char *word = (const char *)w->tokbytes.p + t->off;
    wc_slot *slot = NULL;
    if (t->len <= WC_KEY) {
        slot = &w->wcache[t->h & ((1u << WC_BITS) - 1)];
        if (slot->hash == t->h && slot->len == t->len && !memcmp(slot->key, word, t->len)) return slot->term;
    }
    uint32_t id;
    if (t->stem) {
        size_t sl;
        const char *st = ft_analyzer_stem(w->an, word, t->len, &sl);
        id = intern_term(w, st, sl, XXH3_64bits(st, sl));
    } else {
        id = intern_term(w, word, t->len, t->h);
    }
    if (slot && id != UINT32_MAX) {
        slot->hash = t->h;
        slot->term = id;
        slot->len = (uint8_t)t->len;
        memcpy(slot->key, word, t->len);
    }
    return id;
}

static int count_occurrence(ft_writer *w, uint32_t id, uint32_t pos)
{
    term_ent *e = &w->terms[id];
    doc_slot *s;
    if (e->last_plus1 != w->cur_doc + 1) {
        if (w->nslots == w->slots_cap) {
            size_t cap = w->slots_cap ? w->slots_cap * 2 : 256;
            doc_slot *p = realloc(w->slots, cap * sizeof *p);
            if (!p) return FT_ENOMEM;
            w->slots = p;
            w->slots_cap = cap;
        }
        s = &w->slots[w->nslots++];
        s->term = id;
        s->prev_plus1 = e->last_plus1;
        s->head = s->tail = UINT32_MAX;
        s->tf = 0;
        e->last_plus1 = w->cur_doc + 1;
        e->slot = (uint32_t)(w->nslots - 1);
    } else {
        s = &w->slots[e->slot];
    }
    if (w->nocc == w->occ_cap) {
        size_t cap = w->occ_cap ? w->occ_cap * 2 : 1024;
        if (cap > UINT32_MAX) return FT_ENOMEM;
        occ *p = realloc(w->occs, cap * sizeof *p);
        if (!p) return FT_ENOMEM;
        w->occs = p;
        w->occ_cap = cap;
    }
    uint32_t k = (uint32_t)w->nocc++;
    w->occs[k].pos = pos;
    w->occs[k].next = UINT32_MAX;
    if (s->tail == UINT32_MAX) s->head = k;
    else w->occs[s->tail].next = k;
    s->tail = k;
    s->tf++;
    w->cur_len++;
    return 0;
}

static int invert_tokens(ft_writer *w)
{
    size_t n = w->nptok;
    ptok *t = w->ptoks;
    for (size_t i = 0; i < n; i++) {
        if (i + PREFETCH < n && t[i + PREFETCH].len <= WC_KEY)
            __builtin_prefetch(&w->wcache[t[i + PREFETCH].h & ((1u << WC_BITS) - 1)]);
        uint32_t id = resolve_token(w, &t[i]);
        if (id == UINT32_MAX) return FT_ENOMEM;
        t[i].term = id;
    }
    for (size_t i = 0; i < n; i++) {
        if (i + PREFETCH < n) __builtin_prefetch(&w->terms[t[i + PREFETCH].term]);
        if (count_occurrence(w, t[i].term, t[i].pos)) return FT_ENOMEM;
    }
    return 0;
}

static int flush_store(ft_writer *w, ft_error *err);

static int writer_fail(ft_writer *w, int rc, const ft_error *e)
{
    if (!w->rc) {
        w->rc = rc;
        if (e) w->err = *e;
    }
    return rc;
}

int ft_writer_add(ft_writer *w, const char *id, size_t id_len, const char *title,
                  size_t title_len, const char *body, size_t body_len, ft_error *err)
{
    if (w->rc) {
        if (err) *err = w->err;
        return w->rc;
    }
    if (w->committed) return ft_error_set(err, FT_EINVAL, "writer already committed");
    if (id_len == 0) return ft_error_set(err, FT_EINVAL, "document has an empty id");
    if (w->ndocs >= UINT32_MAX - 2) return ft_error_set(err, FT_EINVAL, "too many documents in one segment");
    w->cur_doc = (uint32_t)w->ndocs;
    w->cur_len = 0;
    w->nslots = 0;
    w->nocc = 0;
    w->nptok = 0;
    ft_buf_reset(&w->tokbytes);

    ft_analyze_stats s1, s2;
    int rc = ft_analyze_words(w->an, title, title_len, 0, collect_token, w, &s1);
    if (!rc) rc = ft_analyze_words(w->an, body, body_len, s1.next_pos + 1, collect_token, w, &s2);
    if (!rc) rc = invert_tokens(w);
    if (rc) {
        ft_error_set(err, FT_ENOMEM, "out of memory indexing document %.*s", (int)(id_len > 200 ? 200 : id_len), id);
        return writer_fail(w, FT_ENOMEM, err);
    }
    w->st.invalid_bytes += s1.invalid_bytes + s2.invalid_bytes;

    /* append this document to each term's posting stream */
    for (size_t i = 0; i < w->nslots; i++) {
        doc_slot *s = &w->slots[i];
        term_ent *e = &w->terms[s->term];
        ft_buf *b = &e->post;
        if (ft_buf_reserve(b, 20 + (size_t)s->tf * 5)) goto nomem;
        b->len += ft_varint_put(b->p + b->len, (uint64_t)w->cur_doc + 1 - s->prev_plus1);
        b->len += ft_varint_put(b->p + b->len, s->tf);
        uint32_t prev = 0;
        for (uint32_t k = s->head; k != UINT32_MAX; k = w->occs[k].next) {
            b->len += ft_varint_put(b->p + b->len, w->occs[k].pos - prev);
            prev = w->occs[k].pos;
        }
        e->cf += s->tf;
        e->df++;
        w->st.postings++;
    }

    /* lengths */
    if (w->ndocs == w->lens_cap) {
        size_t cap = w->lens_cap ? w->lens_cap * 2 : 1024;
        uint32_t *p = realloc(w->lens, cap * sizeof *p);
        if (!p) goto nomem;
        w->lens = p;
        w->lens_cap = cap;
    }
    w->lens[w->ndocs++] = w->cur_len;
    w->st.docs++;
    w->st.tokens += w->cur_len;
    w->st.input_bytes += id_len + title_len + body_len;

    /* store record (ids, titles and bodies stored as valid UTF-8) */
    const char *f[3] = {id, title, body};
    size_t fl[3] = {id_len, title_len, body_len};
    for (int k = 0; k < 3; k++) {
        ft_buf_reset(&w->scratch);
        if (ft_utf8_sanitize(f[k], fl[k], &w->scratch)) {
            f[k] = (const char *)w->scratch.p;
            fl[k] = w->scratch.len;
        }
        ft_buf_put_varint(&w->sto_block, fl[k]);
        ft_buf_append(&w->sto_block, f[k], fl[k]);
    }
    if (w->sto_block.failed || w->scratch.failed) goto nomem;
    if (w->sto_block.len >= FT_STORE_BLOCK) {
        rc = flush_store(w, err);
        if (rc) return writer_fail(w, rc, err);
    }
    return FT_OK;
nomem:
    ft_error_set(err, FT_ENOMEM, "out of memory indexing document %.*s", (int)(id_len > 200 ? 200 : id_len), id);
    return writer_fail(w, FT_ENOMEM, err);
}

/* Compress raw[0..n) when that pays.  Returns the bytes to write (raw or
 * w->cbuf) and sets *field = stored_len << 1 | compressed. */
static const uint8_t *pack_with(ZSTD_CCtx *cctx, ft_buf *cbuf, const uint8_t *raw, size_t n,
                                size_t *stored, uint64_t *field)
{
    if (n >= FT_RAW_MIN) {
        size_t bound = ZSTD_compressBound(n);
        ft_buf_reset(cbuf);
        if (!ft_buf_reserve(cbuf, bound)) {
            size_t c = ZSTD_compress2(cctx, cbuf->p, bound, raw, n);
            if (!ZSTD_isError(c) && c < n) {
                *stored = c;
                *field = (uint64_t)c << 1 | 1;
                return cbuf->p;
            }
        }
    }
    *stored = n;
    *field = (uint64_t)n << 1;
    return raw;
}

static const uint8_t *pack(ft_writer *w, ft_buf *cbuf, const uint8_t *raw, size_t n, size_t *stored,
                           uint64_t *field)
{
    return pack_with(w->cctx, cbuf, raw, n, stored, field);
}

static int flush_store(ft_writer *w, ft_error *err)
{
    if (w->sto_block.len == 0) return FT_OK;
    size_t stored;
    uint64_t field;
    const uint8_t *p = pack_with(w->cctx_store, &w->scratch, w->sto_block.p, w->sto_block.len, &stored, &field);
    if (w->sto_block.len > UINT32_MAX || stored > UINT32_MAX)
        return ft_error_set(err, FT_EINVAL, "a stored document block exceeds 4 GiB");
    ft_buf_put_u64le(&w->sto_index, w->sto.off);
    ft_buf_put_u32le(&w->sto_index, (uint32_t)stored);
    ft_buf_put_u32le(&w->sto_index, (field & 1) ? (uint32_t)w->sto_block.len : 0);
    ft_buf_put_u32le(&w->sto_index, w->sto_first_doc);
    wfile_write(&w->sto, p, stored, err);
    w->sto_nblocks++;
    w->sto_first_doc = (uint32_t)w->ndocs;
    ft_buf_reset(&w->sto_block);
    if (w->sto_index.failed) return ft_error_set(err, FT_ENOMEM, "out of memory");
    return w->sto.rc;
}

static int cmp_terms(const void *a, const void *b, void *ctx)
{
    const ft_writer *w = ctx;
    const term_ent *x = &w->terms[*(const uint32_t *)a], *y = &w->terms[*(const uint32_t *)b];
    uint32_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(w->arena.p + x->off, w->arena.p + y->off, n);
    if (c) return c;
    return x->len < y->len ? -1 : x->len > y->len;
}

typedef struct enc_state {
    ft_buf draw, praw;       /* raw bytes of the frame being filled */
    ft_buf cbuf, skip, frames, data;
    uint32_t *docs, *tfs;
    const uint8_t **pstart, **pend;
} enc_state;

/* Compress the filled frame and append its header and bytes. */
static void flush_frame(ft_writer *w, enc_state *es, wfile *pos, ft_error *err)
{
    size_t stored;
    uint64_t field;
    const uint8_t *dp = pack(w, &es->cbuf, es->draw.p, es->draw.len, &stored, &field);
    ft_buf_put_varint(&es->frames, field);
    if (field & 1) ft_buf_put_varint(&es->frames, es->draw.len);
    ft_buf_append(&es->data, dp, stored);
    const uint8_t *pp = pack(w, &es->cbuf, es->praw.p, es->praw.len, &stored, &field);
    ft_buf_put_varint(&es->frames, field);
    if (field & 1) ft_buf_put_varint(&es->frames, es->praw.len);
    wfile_write(pos, pp, stored, err);
    ft_buf_reset(&es->draw);
    ft_buf_reset(&es->praw);
}

/* Encode one term's postings (docs/FORMAT.md, "Posting lists"): blocks of
 * w->block postings, grouped w->frame blocks to a zstd frame; a skip table of
 * every block first, then the frame table, then the frames.  Returns the bytes
 * written to .pst and .pos. */
static int encode_term(ft_writer *w, enc_state *es, const term_ent *e, wfile *pst, wfile *pos,
                       uint64_t *pst_len, uint64_t *pos_len, ft_error *err)
{
    const uint8_t *p = e->post.p, *end = p + e->post.len;
    uint64_t pst0 = pst->off, pos0 = pos->off;
    uint32_t nblocks = (e->df + w->block - 1) / w->block;
    int multi = nblocks > 1;
    uint32_t prev_plus1 = 0;   /* decoding state of the in-memory stream */
    uint32_t last_of_prev = 0; /* last doc of the previous block + 1 (0 at start) */
    ft_buf_reset(&es->skip);
    ft_buf_reset(&es->frames);
    ft_buf_reset(&es->data);
    ft_buf_reset(&es->draw);
    ft_buf_reset(&es->praw);
    for (uint32_t b = 0; b < nblocks; b++) {
        uint32_t cnt = (b + 1 < nblocks) ? w->block : e->df - b * w->block;
        uint32_t max_tf = 0, min_len = UINT32_MAX;
        for (uint32_t i = 0; i < cnt; i++) {
            uint64_t gap, tf;
            if (ft_varint_get(&p, end, &gap) || ft_varint_get(&p, end, &tf))
                return ft_error_set(err, FT_EINVAL, "internal error: posting stream");
            uint32_t d = prev_plus1 + (uint32_t)gap - 1;
            prev_plus1 = d + 1;
            es->docs[i] = d;
            es->tfs[i] = (uint32_t)tf;
            es->pstart[i] = p;
            for (uint64_t k = 0; k < tf; k++) {
                uint64_t g;
                if (ft_varint_get(&p, end, &g)) return ft_error_set(err, FT_EINVAL, "internal error: positions");
            }
            es->pend[i] = p;
            if (tf > max_tf) max_tf = (uint32_t)tf;
            if (w->lens[d] < min_len) min_len = w->lens[d];
        }
        size_t d0 = es->draw.len, p0 = es->praw.len;
        uint32_t base = last_of_prev;
        for (uint32_t i = 0; i < cnt; i++) {
            ft_buf_put_varint(&es->draw, es->docs[i] - base);
            base = es->docs[i] + 1;
        }
        for (uint32_t i = 0; i < cnt; i++) ft_buf_put_varint(&es->draw, es->tfs[i]);
        for (uint32_t i = 0; i < cnt; i++)
            ft_buf_append(&es->praw, es->pstart[i], (size_t)(es->pend[i] - es->pstart[i]));
        if (multi) {
            ft_buf_put_varint(&es->skip, es->docs[cnt - 1] + 1 - last_of_prev);
            ft_buf_put_varint(&es->skip, max_tf);
            ft_buf_put_varint(&es->skip, min_len);
            ft_buf_put_varint(&es->skip, es->draw.len - d0);
            ft_buf_put_varint(&es->skip, es->praw.len - p0);
        }
        last_of_prev = es->docs[cnt - 1] + 1;
        if ((b + 1) % w->frame == 0 || b + 1 == nblocks) flush_frame(w, es, pos, err);
    }
    wfile_write(pst, es->skip.p, es->skip.len, err);
    wfile_write(pst, es->frames.p, es->frames.len, err);
    wfile_write(pst, es->data.p, es->data.len, err);
    if (es->skip.failed || es->frames.failed || es->data.failed || es->draw.failed || es->praw.failed)
        return ft_error_set(err, FT_ENOMEM, "out of memory");
    *pst_len = pst->off - pst0;
    *pos_len = pos->off - pos0;
    return pst->rc ? pst->rc : pos->rc;
}

static void put_varint_file(wfile *f, uint64_t v, ft_error *err)
{
    uint8_t t[10];
    wfile_write(f, t, ft_varint_put(t, v), err);
}

static int write_postings(ft_writer *w, wfile *tid, wfile *pst, wfile *pos, ft_error *err)
{
    int rc = FT_OK;
    uint32_t *order = malloc((w->nterms ? w->nterms : 1) * sizeof *order);
    enc_state es;
    memset(&es, 0, sizeof es);
    es.docs = malloc(w->block * sizeof *es.docs);
    es.tfs = malloc(w->block * sizeof *es.tfs);
    es.pstart = malloc(w->block * sizeof *es.pstart);
    es.pend = malloc(w->block * sizeof *es.pend);
    ft_buf index;
    ft_buf_init(&index);
    if (!order || !es.docs || !es.tfs || !es.pstart || !es.pend) {
        rc = ft_error_set(err, FT_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < w->nterms; i++) order[i] = (uint32_t)i;
    qsort_r(order, w->nterms, sizeof *order, cmp_terms, w);

    const uint8_t *prev = NULL;
    uint32_t prev_len = 0;
    uint64_t nblocks = 0;
    for (size_t i = 0; i < w->nterms; i++) {
        const term_ent *e = &w->terms[order[i]];
        const uint8_t *t = w->arena.p + e->off;
        uint64_t pst_off = pst->off, pos_off = pos->off, pl = 0, ql = 0;
        if (i % FT_TERMS_PER_BLOCK == 0) {
            ft_buf_put_u64le(&index, tid->off);
            ft_buf_put_u64le(&index, pst_off);
            ft_buf_put_u64le(&index, pos_off);
            nblocks++;
            prev = NULL;
            prev_len = 0;
        }
        rc = encode_term(w, &es, e, pst, pos, &pl, &ql, err);
        if (rc) goto out;
        uint32_t shared = 0;
        if (prev)
            while (shared < prev_len && shared < e->len && prev[shared] == t[shared]) shared++;
        put_varint_file(tid, shared, err);
        put_varint_file(tid, e->len - shared, err);
        wfile_write(tid, t + shared, e->len - shared, err);
        put_varint_file(tid, e->df, err);
        put_varint_file(tid, e->cf - e->df, err);
        put_varint_file(tid, pl, err);
        put_varint_file(tid, ql, err);
        prev = t;
        prev_len = e->len;
        if (tid->rc) { rc = tid->rc; goto out; }
    }
    if (index.failed) { rc = ft_error_set(err, FT_ENOMEM, "out of memory"); goto out; }
    uint64_t index_off = tid->off;
    wfile_write(tid, index.p, index.len, err);
    wfile_u64(tid, w->nterms, err);
    wfile_u64(tid, nblocks, err);
    wfile_u64(tid, index_off, err);
    wfile_u32(tid, FT_TERMS_PER_BLOCK, err);
    wfile_write(tid, MAGIC_TID_END, 4, err);
    rc = tid->rc ? tid->rc : pst->rc ? pst->rc : pos->rc;
out:
    free(order);
    free(es.docs);
    free(es.tfs);
    free(es.pstart);
    free(es.pend);
    ft_buf_free(&es.draw);
    ft_buf_free(&es.praw);
    ft_buf_free(&es.cbuf);
    ft_buf_free(&es.skip);
    ft_buf_free(&es.frames);
    ft_buf_free(&es.data);
    ft_buf_free(&index);
    return rc;
}

static int write_lengths(ft_writer *w, wfile *len, ft_error *err)
{
    ft_buf raw, c;
    ft_buf_init(&raw);
    ft_buf_init(&c);
    for (size_t i = 0; i < w->ndocs; i++) ft_buf_put_u32le(&raw, w->lens[i]);
    size_t bound = ZSTD_compressBound(raw.len);
    if (raw.failed || ft_buf_reserve(&c, bound)) {
        ft_buf_free(&raw);
        ft_buf_free(&c);
        return ft_error_set(err, FT_ENOMEM, "out of memory");
    }
    size_t n = ZSTD_compress2(w->cctx, c.p, bound, raw.p, raw.len);
    int rc = FT_OK;
    if (ZSTD_isError(n)) {
        rc = ft_error_set(err, FT_EIO, "zstd: %s", ZSTD_getErrorName(n));
    } else {
        wfile_u64(len, w->ndocs, err);
        wfile_write(len, c.p, n, err);
        rc = len->rc;
    }
    ft_buf_free(&raw);
    ft_buf_free(&c);
    return rc;
}

static void hex64(char out[17], uint64_t v) { snprintf(out, 17, "%016llx", (unsigned long long)v); }

/* *published is set once MANIFEST has been renamed into place (the commit
 * point); an error after that leaves the new index live. */
static int publish(ft_writer *w, wfile *files, int *published, ft_error *err)
{
    int rc;
    *published = 0;
    /* rename segment files into place, then make the renames durable */
    for (int i = 0; i < FT_SEG_NFILES; i++)
        if (rename(files[i].path, files[i].final) < 0)
            return ft_error_errno(err, errno, "cannot rename %s", files[i].path);
    if ((rc = ft_fsync_dir(w->dir, err))) return rc;

    ft_buf m;
    ft_buf_init(&m);
    char line[512], an[256], hx[17];
    ft_analyzer_opts_format(&w->opts.analyzer, an, sizeof an);
    snprintf(line, sizeof line, "ft-index %d\nanalyzer %s\ndocs %zu\ntokens %llu\n", FT_FORMAT_VERSION,
             an, w->ndocs, (unsigned long long)w->st.tokens);
    ft_buf_append(&m, line, strlen(line));
    snprintf(line, sizeof line, "segment %s docs %zu tokens %llu block %u frame %u\n", w->segname,
             w->ndocs, (unsigned long long)w->st.tokens, w->block, w->frame);
    ft_buf_append(&m, line, strlen(line));
    for (int i = 0; i < FT_SEG_NFILES; i++) {
        hex64(hx, XXH64_digest(files[i].h));
        snprintf(line, sizeof line, "file %s.%s %llu %s\n", w->segname, ft_seg_exts[i],
                 (unsigned long long)files[i].off, hx);
        ft_buf_append(&m, line, strlen(line));
    }
    if (m.failed) { ft_buf_free(&m); return ft_error_set(err, FT_ENOMEM, "out of memory"); }
    hex64(hx, XXH64(m.p, m.len, 0));
    snprintf(line, sizeof line, "checksum %s\n", hx);
    ft_buf_append(&m, line, strlen(line));

    char *tmp = NULL, *final = NULL;
    if (asprintf(&tmp, "%s/%s.tmp", w->dir, FT_MANIFEST) < 0) tmp = NULL;
    if (asprintf(&final, "%s/%s", w->dir, FT_MANIFEST) < 0) final = NULL;
    if (!tmp || !final || m.failed) {
        rc = ft_error_set(err, FT_ENOMEM, "out of memory");
        goto out;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) { rc = ft_error_errno(err, errno, "cannot create %s", tmp); goto out; }
    rc = ft_write_all(fd, m.p, m.len, tmp, err);
    if (!rc && fsync(fd) < 0) rc = ft_error_errno(err, errno, "cannot fsync %s", tmp);
    if (close(fd) < 0 && !rc) rc = ft_error_errno(err, errno, "cannot close %s", tmp);
    if (!rc && rename(tmp, final) < 0) rc = ft_error_errno(err, errno, "cannot rename %s", tmp);
    if (rc) { unlink(tmp); goto out; }
    *published = 1;
    rc = ft_fsync_dir(w->dir, err);
out:
    free(tmp);
    free(final);
    ft_buf_free(&m);
    return rc;
}

/* After a build is published, segments of the replaced index are garbage. */
static void remove_old_segments(ft_writer *w)
{
    DIR *d = opendir(w->dir);
    if (!d) return;
    struct dirent *e;
    size_t sl = strlen(w->segname);
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, "seg-", 4) || !strncmp(e->d_name, w->segname, sl)) continue;
        char *p;
        if (asprintf(&p, "%s/%s", w->dir, e->d_name) >= 0) {
            unlink(p);
            free(p);
        }
    }
    closedir(d);
}

int ft_writer_commit(ft_writer *w, ft_error *err)
{
    if (w->rc) {
        if (err) *err = w->err;
        return w->rc;
    }
    if (w->committed) return ft_error_set(err, FT_EINVAL, "writer already committed");
    wfile files[FT_SEG_NFILES];
    memset(files, 0, sizeof files);
    for (int i = 0; i < FT_SEG_NFILES; i++) files[i].fd = -1;
    int rc = flush_store(w, err);
    if (rc) goto fail;
    /* store index + footer */
    uint64_t idx_off = w->sto.off;
    wfile_write(&w->sto, w->sto_index.p, w->sto_index.len, err);
    wfile_u64(&w->sto, idx_off, err);
    wfile_u32(&w->sto, w->sto_nblocks, err);
    wfile_u32(&w->sto, (uint32_t)w->ndocs, err);
    wfile_write(&w->sto, MAGIC_STO_END, 4, err);
    if ((rc = wfile_finish(&w->sto, err))) goto fail;

    static const char *const magic[] = {MAGIC_TID, MAGIC_PST, MAGIC_POS, MAGIC_LEN};
    for (int i = 0; i < 4; i++) {
        char name[48];
        snprintf(name, sizeof name, "%s.%s", w->segname, ft_seg_exts[i]);
        if ((rc = wfile_open(&files[i], w->dir, name, err))) goto fail;
        wfile_header(&files[i], magic[i], err);
    }
    files[4] = w->sto; /* ownership moves to files[] */
    memset(&w->sto, 0, sizeof w->sto);
    w->sto.fd = -1;

    if ((rc = write_postings(w, &files[0], &files[1], &files[2], err))) goto fail;
    if ((rc = write_lengths(w, &files[3], err))) goto fail;
    for (int i = 0; i < 4; i++)
        if ((rc = wfile_finish(&files[i], err))) goto fail;
    w->st.terms = w->nterms;
    w->st.bytes_dict = files[0].off;
    w->st.bytes_postings = files[1].off;
    w->st.bytes_positions = files[2].off;
    w->st.bytes_lengths = files[3].off;
    w->st.bytes_store = files[4].off;
    int published;
    if ((rc = publish(w, files, &published, err))) {
        if (!published) {
            for (int i = 0; i < FT_SEG_NFILES; i++) unlink(files[i].final);
            goto fail;
        }
        /* MANIFEST is in place but the directory could not be synced: the
         * new index is live, yet the rename may not survive a crash, so keep
         * the new segment and the old ones (the old MANIFEST may come back)
         * and report the error.  The next writer removes what no manifest
         * names. */
        w->committed = 1;
        for (int i = 0; i < FT_SEG_NFILES; i++) {
            free(files[i].path);
            files[i].path = NULL;
            wfile_discard(&files[i]);
        }
        if (err) w->err = *err;
        w->rc = rc;
        return rc;
    }
    w->committed = 1;
    remove_old_segments(w);
    for (int i = 0; i < FT_SEG_NFILES; i++) {
        free(files[i].path);
        files[i].path = NULL; /* published: do not unlink */
        wfile_discard(&files[i]);
    }
    return FT_OK;
fail:
    for (int i = 0; i < FT_SEG_NFILES; i++) wfile_discard(&files[i]);
    if (err) w->err = *err;
    w->rc = rc;
    return rc;
}

void ft_writer_get_stats(const ft_writer *w, ft_writer_stats *st)
{
    *st = w->st;
    st->terms = w->nterms;
}

void ft_writer_close(ft_writer *w)
{
    if (!w) return;
    wfile_discard(&w->sto);
    for (size_t i = 0; i < w->nterms; i++) ft_buf_free(&w->terms[i].post);
    free(w->terms);
    free(w->table);
    free(w->wcache);
    free(w->ptoks);
    ft_buf_free(&w->tokbytes);
    ft_buf_free(&w->arena);
    free(w->slots);
    free(w->occs);
    free(w->lens);
    ft_buf_free(&w->sto_block);
    ft_buf_free(&w->sto_index);
    ft_buf_free(&w->scratch);
    ZSTD_freeCCtx(w->cctx);
    ZSTD_freeCCtx(w->cctx_store);
    ft_analyzer_free(w->an);
    free(w->dir);
    free(w);
}
