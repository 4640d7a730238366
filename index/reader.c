/*
 * reader.c — opening an index snapshot and reading it: the dictionary,
 * posting cursors, document lengths and the document store.
 *
 * Every segment file is mmap'd read-only; nothing is loaded whole except the
 * document lengths (4 bytes a document, decompressed once at open, the one
 * array BM25 touches for every candidate).  A dictionary lookup binary-searches
 * the fixed-size block index at the end of the .tid file, then scans one
 * front-coded block of at most 32 terms.
 *
 * All decoding is bounds-checked against the mapped size: a damaged file gives
 * FT_ECORRUPT with the file and offset, raised through ft_corrupt(), never a
 * read outside the mapping.  Posting cursors decode one block (128 postings by
 * default) at a time, eight one-byte varints per 64-bit load, and skip whole
 * blocks using the skip table (last document and impacts of each block)
 * without decompressing them; ft_postings_shallow answers "which block would
 * hold this document, and what can it score" from the skip table alone;
 * positions are decompressed only when asked for.
 *
 * Two caches are shared by all queries of an open index (the only mutable
 * state, each under its own lock): decompressed frames (fcache.c; cursors
 * read a cached frame in place, pinned, instead of copying it) and parsed
 * skip tables of multi-block lists (reference-counted; parsing the table of
 * a frequent word cost more than many queries spend on it otherwise).  Both
 * are sized from FT_CACHE_MB (frames: all of it; skip tables: a quarter).
 *
 * Deletions: a segment's deletion file (bitmap and per-term counts of deleted
 * documents holding the term) is read whole at open.  Cursors step over
 * deleted documents, and N, avgdl and df are computed from live documents,
 * so scores equal those of an index holding only the live documents.
 */
#include "ft_index_int.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>
#include <zstd.h>

typedef struct mfile {
    char *path;
    const uint8_t *p;
    size_t size;
    uint64_t xxh;  /* from the manifest */
} mfile;

typedef struct segment {
    char name[32];
    uint32_t ndocs, base, block, frame;
    uint64_t tokens;
    mfile f[FT_SEG_NFILES];  /* tid pst pos len sto */
    uint64_t nterms, nblocks;
    const uint8_t *tid_index;   /* nblocks entries of TID_INDEX_ENTRY */
    uint64_t tid_data_end;
    const uint8_t *sto_index;
    uint32_t sto_nblocks;
    uint64_t sto_data_end;
    const uint8_t *ids_table;   /* ndocs u64 offsets of the sorted id records */
    uint64_t ids_data_end;
    /* deletions (docs/FORMAT.md, .dNNNNNN): none when del.path is NULL */
    mfile del;
    const uint8_t *del_bits;
    uint32_t ndeleted;
    uint64_t del_tokens;        /* lengths of the deleted documents */
    uint32_t *corr_off;         /* offsets of the correction entries in del */
    uint64_t ncorr;
    /* The first 8 bytes of every dictionary block's first term, big-endian
     * (zero-padded): the lookups' binary search reads this array (8 bytes a
     * block) instead of two places of the mapped file a step.  Built by the
     * lookup that finds lookups reaching TID_KEYS_AFTER (one thread: the
     * count passes that value once), in dictionaries of more than
     * TID_KEYS_MIN blocks; NULL until then. */
    _Atomic(uint64_t *) tid_keys;
    atomic_uint lookups;
} segment;

#define TID_KEYS_AFTER 64
#define TID_KEYS_MIN 64

struct ft_index {
    char *dir;
    ft_analyzer_opts an;
    uint32_t ndocs;             /* document numbers, deleted ones included */
    uint64_t tokens;
    uint32_t nlive;             /* live documents */
    uint64_t live_tokens;
    double avgdl;
    segment *segs;
    unsigned nsegs;
    uint32_t *lens;
    /* decompression contexts are costly to create (a large memset): cursors
     * borrow them from this pool and give them back on close */
    pthread_mutex_t pool_lock;
    ZSTD_DCtx *pool[16];
    unsigned npool;
    ft_fcache *fcache;          /* decompressed frames shared by queries (fcache.c) */
    struct skip_cache *scache;  /* parsed skip and frame tables shared by queries */
};

enum { F_TID, F_PST, F_POS, F_LEN, F_STO, F_IDS };

struct skip_cache;
static struct skip_cache *skip_cache_new(size_t budget);
static void skip_cache_free(struct skip_cache *c);

/* ------------------------------------------------------------------ open */

static void unmap_segment(segment *s)
{
    for (int i = 0; i < FT_SEG_NFILES; i++) {
        if (s->f[i].p) munmap((void *)s->f[i].p, s->f[i].size);
        free(s->f[i].path);
    }
    if (s->del.p) munmap((void *)s->del.p, s->del.size);
    free(s->del.path);
    free(s->corr_off);
    free(atomic_load(&s->tid_keys));
}

void ft_index_close(ft_index *ix)
{
    if (!ix) return;
    for (unsigned i = 0; i < ix->nsegs; i++) unmap_segment(&ix->segs[i]);
    for (unsigned i = 0; i < ix->npool; i++) ZSTD_freeDCtx(ix->pool[i]);
    ft_fcache_free(ix->fcache);
    skip_cache_free(ix->scache);
    pthread_mutex_destroy(&ix->pool_lock);
    free(ix->segs);
    free(ix->lens);
    free(ix->dir);
    free(ix);
}

static int map_file(mfile *m, ft_error *err)
{
    int fd = open(m->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ft_error_errno(err, errno, "cannot open %s", m->path);
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int e = errno;
        close(fd);
        return ft_error_errno(err, e, "cannot stat %s", m->path);
    }
    if ((uint64_t)st.st_size != m->size) {
        close(fd);
        return ft_error_set(err, FT_ECORRUPT, "%s: size is %lld bytes, the manifest says %zu",
                            m->path, (long long)st.st_size, m->size);
    }
    void *p = mmap(NULL, m->size, PROT_READ, MAP_PRIVATE, fd, 0);
    int e = errno;
    close(fd);
    if (p == MAP_FAILED) return ft_error_errno(err, e, "cannot map %s", m->path);
    m->p = p;
    return FT_OK;
}

/* What a user can do about an index of another format version. */
static const char *version_hint(long v)
{
    return v < FT_FORMAT_VERSION ? " (an older index: rebuild it from its documents with ftindex build)"
                                 : " (a newer index: use the ft that wrote it)";
}

static int check_header(const mfile *m, const char *magic, ft_error *err)
{
    if (m->size < FT_HDR_SIZE || memcmp(m->p, magic, 4))
        return ft_corrupt(err, m->path, 0, "bad magic number (not an ft index file)");
    uint32_t v = ft_get_u32le(m->p + 4);
    if (v != FT_FORMAT_VERSION)
        return ft_error_set(err, FT_EVERSION, "%s: format version %u, this ft reads version %d%s", m->path, v,
                            FT_FORMAT_VERSION, version_hint((long)v));
    return FT_OK;
}

/* Map and verify a deletion file (docs/FORMAT.md, .dNNNNNN): it is small
 * and read whole, so its checksum is verified here. */
static int open_deletions(segment *s, const uint32_t *lens, ft_error *err)
{
    mfile *m = &s->del;
    int rc = map_file(m, err);
    if (rc) return rc;
    if ((rc = check_header(m, MAGIC_DEL, err))) return rc;
    if (XXH64(m->p, m->size, 0) != m->xxh)
        return ft_error_set(err, FT_ECORRUPT, "%s: checksum mismatch (file damaged)", m->path);
    size_t nbytes = ((size_t)s->ndocs + 7) / 8;
    if (m->size < FT_HDR_SIZE + 8 + nbytes + 8 + 4) return ft_corrupt(err, m->path, 0, "file too short");
    if (ft_get_u32le(m->p + FT_HDR_SIZE) != s->ndocs)
        return ft_corrupt(err, m->path, FT_HDR_SIZE, "document count disagrees with the manifest");
    s->ndeleted = ft_get_u32le(m->p + FT_HDR_SIZE + 4);
    s->del_bits = m->p + FT_HDR_SIZE + 8;
    uint32_t cnt = 0;
    s->del_tokens = 0;
    for (uint32_t d = 0; d < s->ndocs; d++)
        if (s->del_bits[d >> 3] >> (d & 7) & 1) {
            cnt++;
            s->del_tokens += lens[d];
        }
    if (cnt != s->ndeleted || (s->ndocs & 7 && s->del_bits[nbytes - 1] >> (s->ndocs & 7)))
        return ft_corrupt(err, m->path, FT_HDR_SIZE + 4, "deleted count disagrees with the bitmap");
    const uint8_t *q = s->del_bits + nbytes, *end = m->p + m->size - 4;
    if (memcmp(end, MAGIC_DEL_END, 4)) return ft_corrupt(err, m->path, m->size - 4, "bad footer magic");
    s->ncorr = ft_get_u64le(q);
    q += 8;
    if (s->ncorr > (uint64_t)(end - q) / 2) return ft_corrupt(err, m->path, (uint64_t)(q - m->p) - 8, "bad correction count");
    s->corr_off = malloc((s->ncorr ? s->ncorr : 1) * sizeof *s->corr_off);
    if (!s->corr_off) return ft_error_set(err, FT_ENOMEM, "out of memory");
    const uint8_t *prev = NULL;
    uint64_t prev_len = 0;
    for (uint64_t i = 0; i < s->ncorr; i++) {
        uint64_t len, c;
        const uint8_t *start = q;
        if (ft_varint_get(&q, end, &len) || len == 0 || len > (uint64_t)(end - q)) goto bad;
        const uint8_t *t = q;
        q += len;
        if (ft_varint_get(&q, end, &c) || c == 0 || c > s->ndeleted) goto bad;
        if (prev) {
            size_t n = prev_len < len ? prev_len : len;
            int cmp = memcmp(prev, t, n);
            if (cmp > 0 || (cmp == 0 && prev_len >= len)) goto bad;
        }
        prev = t;
        prev_len = len;
        s->corr_off[i] = (uint32_t)(start - m->p);
        continue;
    bad:
        return ft_corrupt(err, m->path, (uint64_t)(start - m->p), "bad df correction entry");
    }
    if (q != end) return ft_corrupt(err, m->path, (uint64_t)(q - m->p), "trailing bytes after the corrections");
    return FT_OK;
}

static int open_segment(ft_index *ix, segment *s, ft_error *err)
{
    static const char *const magic[] = {MAGIC_TID, MAGIC_PST, MAGIC_POS, MAGIC_LEN, MAGIC_STO, MAGIC_IDS};
    int rc;
    for (int i = 0; i < FT_SEG_NFILES; i++) {
        if (!s->f[i].path) return ft_error_set(err, FT_ECORRUPT, "%s/MANIFEST: segment %s lacks its .%s file",
                                               ix->dir, s->name, ft_seg_exts[i]);
        if ((rc = map_file(&s->f[i], err))) return rc;
        if ((rc = check_header(&s->f[i], magic[i], err))) return rc;
    }
    /* dictionary footer */
    const mfile *t = &s->f[F_TID];
    if (t->size < FT_HDR_SIZE + TID_FOOTER) return ft_corrupt(err, t->path, 0, "file too short for its footer");
    const uint8_t *ft = t->p + t->size - TID_FOOTER;
    if (memcmp(ft + 28, MAGIC_TID_END, 4)) return ft_corrupt(err, t->path, t->size - 4, "bad footer magic");
    s->nterms = ft_get_u64le(ft);
    s->nblocks = ft_get_u64le(ft + 8);
    uint64_t idx = ft_get_u64le(ft + 16);
    uint32_t per = ft_get_u32le(ft + 24);
    if (per != FT_TERMS_PER_BLOCK || idx < FT_HDR_SIZE || idx > t->size - TID_FOOTER ||
        s->nblocks != (s->nterms + per - 1) / per ||
        (t->size - TID_FOOTER - idx) / TID_INDEX_ENTRY != s->nblocks ||
        (t->size - TID_FOOTER - idx) % TID_INDEX_ENTRY)
        return ft_corrupt(err, t->path, t->size - TID_FOOTER, "inconsistent dictionary footer");
    s->tid_index = t->p + idx;
    s->tid_data_end = idx;
    /* store footer */
    const mfile *so = &s->f[F_STO];
    if (so->size < FT_HDR_SIZE + STO_FOOTER) return ft_corrupt(err, so->path, 0, "file too short for its footer");
    const uint8_t *sf = so->p + so->size - STO_FOOTER;
    if (memcmp(sf + 16, MAGIC_STO_END, 4)) return ft_corrupt(err, so->path, so->size - 4, "bad footer magic");
    uint64_t sidx = ft_get_u64le(sf);
    s->sto_nblocks = ft_get_u32le(sf + 8);
    if (ft_get_u32le(sf + 12) != s->ndocs)
        return ft_corrupt(err, so->path, so->size - 8, "document count disagrees with the manifest");
    if (sidx < FT_HDR_SIZE || sidx > so->size - STO_FOOTER ||
        (so->size - STO_FOOTER - sidx) != (uint64_t)s->sto_nblocks * STO_INDEX_ENTRY)
        return ft_corrupt(err, so->path, so->size - STO_FOOTER, "inconsistent store footer");
    s->sto_index = so->p + sidx;
    s->sto_data_end = sidx;
    /* lengths */
    const mfile *l = &s->f[F_LEN];
    if (l->size < FT_HDR_SIZE + 8) return ft_corrupt(err, l->path, FT_HDR_SIZE, "file too short");
    if (ft_get_u64le(l->p + FT_HDR_SIZE) != s->ndocs)
        return ft_corrupt(err, l->path, FT_HDR_SIZE, "document count disagrees with the manifest");
    size_t want = (size_t)s->ndocs * 4;
    size_t got = ZSTD_decompress(ix->lens + s->base, want, l->p + FT_HDR_SIZE + 8,
                                 l->size - FT_HDR_SIZE - 8);
    if (ZSTD_isError(got) || got != want)
        return ft_corrupt(err, l->path, FT_HDR_SIZE + 8, "document lengths do not decompress");
    /* the array was filled little-endian; convert in place on big-endian hosts */
    for (uint32_t i = 0; i < s->ndocs; i++)
        ix->lens[s->base + i] = ft_get_u32le((const uint8_t *)&ix->lens[s->base + i]);
    /* ids */
    const mfile *di = &s->f[F_IDS];
    if (di->size < FT_HDR_SIZE + IDS_FOOTER) return ft_corrupt(err, di->path, 0, "file too short for its footer");
    const uint8_t *idf = di->p + di->size - IDS_FOOTER;
    if (memcmp(idf + 16, MAGIC_IDS_END, 4)) return ft_corrupt(err, di->path, di->size - 4, "bad footer magic");
    uint64_t icount = ft_get_u64le(idf), itab = ft_get_u64le(idf + 8);
    if (icount != s->ndocs || itab < FT_HDR_SIZE || itab > di->size - IDS_FOOTER ||
        di->size - IDS_FOOTER - itab != icount * 8)
        return ft_corrupt(err, di->path, di->size - IDS_FOOTER, "inconsistent id table footer");
    s->ids_table = di->p + itab;
    s->ids_data_end = itab;
    if (s->del.path) return open_deletions(s, ix->lens + s->base, err);
    return FT_OK;
}

/* The last space-separated field of line is exactly 16 lowercase hex digits
 * (as written), so that no other spelling of a checksum is accepted. */
static int hex_field_ok(const char *line)
{
    const char *sp = strrchr(line, ' ');
    if (!sp || strlen(sp + 1) != 16) return 0;
    for (const char *q = sp + 1; *q; q++)
        if (!((*q >= '0' && *q <= '9') || (*q >= 'a' && *q <= 'f'))) return 0;
    return 1;
}

/* Parse MANIFEST (docs/FORMAT.md §Manifest). */
static int parse_manifest(ft_index *ix, char *text, size_t len, const char *path, ft_error *err)
{
    /* checksum line: the last line, covering every byte before it */
    if (len == 0 || text[len - 1] != '\n') return ft_corrupt(err, path, len, "manifest does not end with a newline");
    text[len - 1] = 0;
    char *last = strrchr(text, '\n');
    size_t body_len = last ? (size_t)(last - text) + 1 : 0;
    char *ck = last ? last + 1 : text;
    unsigned long long want;
    /* exactly "checksum " and 16 lower-case hex digits: this line is not
     * covered by the checksum, so nothing else may pass */
    if (strncmp(ck, "checksum ", 9) || strlen(ck) != 25 || !hex_field_ok(ck) ||
        sscanf(ck + 9, "%16llx", &want) != 1)
        return ft_corrupt(err, path, body_len, "missing checksum line");
    if (XXH64(text, body_len, 0) != want) return ft_corrupt(err, path, body_len, "manifest checksum mismatch");
    if (last) *last = 0;

    unsigned lineno = 0;
    int version = -1, have_an = 0;
    segment *cur = NULL;
    unsigned cap = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        lineno++;
        char name[64];
        unsigned long long a, b, c, fr;
        if (lineno == 1) {
            if (sscanf(line, "ft-index %d", &version) != 1)
                return ft_error_set(err, FT_ECORRUPT, "%s: not an ft index manifest", path);
            if (version != FT_FORMAT_VERSION)
                return ft_error_set(err, FT_EVERSION, "%s: format version %d, this ft reads version %d%s", path,
                                    version, FT_FORMAT_VERSION, version_hint(version));
        } else if (!strncmp(line, "analyzer ", 9)) {
            int rc = ft_analyzer_opts_parse(line + 9, &ix->an, err);
            if (rc) return ft_error_set(err, FT_ECORRUPT, "%s:%u: %s", path, lineno, err ? err->msg : "bad analyzer");
            have_an = 1;
        } else if (sscanf(line, "docs %llu", &a) == 1) {
            if (a >= UINT32_MAX) return ft_corrupt(err, path, lineno, "document count out of range");
            ix->ndocs = (uint32_t)a;
        } else if (sscanf(line, "tokens %llu", &a) == 1) {
            ix->tokens = a;
        } else if (sscanf(line, "segment %31s docs %llu tokens %llu block %llu frame %llu", name, &a, &b, &c,
                          &fr) == 5) {
            if (ix->nsegs == cap) {
                cap = cap ? cap * 2 : 4;
                segment *p = realloc(ix->segs, cap * sizeof *p);
                if (!p) return ft_error_set(err, FT_ENOMEM, "out of memory");
                ix->segs = p;
            }
            cur = &ix->segs[ix->nsegs++];
            memset(cur, 0, sizeof *cur);
            if (strncmp(name, "seg-", 4) || a >= UINT32_MAX || c < 4 || c > FT_MAX_BLOCK || fr < 1 ||
                fr > FT_MAX_FRAME)
                return ft_error_set(err, FT_ECORRUPT, "%s:%u: bad segment line", path, lineno);
            strcpy(cur->name, name);
            cur->ndocs = (uint32_t)a;
            cur->tokens = b;
            cur->block = (uint32_t)c;
            cur->frame = (uint32_t)fr;
        } else if (sscanf(line, "file %63s %llu %llx", name, &a, &b) == 3 && hex_field_ok(line)) {
            if (!cur) return ft_error_set(err, FT_ECORRUPT, "%s:%u: file line before any segment", path, lineno);
            size_t nl = strlen(cur->name);
            int k = -1;
            if (!strncmp(name, cur->name, nl) && name[nl] == '.')
                for (int i = 0; i < FT_SEG_NFILES; i++)
                    if (!strcmp(name + nl + 1, ft_seg_exts[i])) k = i;
            if (k < 0 || cur->f[k].path || strchr(name, '/'))
                return ft_error_set(err, FT_ECORRUPT, "%s:%u: unexpected file '%s'", path, lineno, name);
            if (asprintf(&cur->f[k].path, "%s/%s", ix->dir, name) < 0) {
                cur->f[k].path = NULL;
                return ft_error_set(err, FT_ENOMEM, "out of memory");
            }
            cur->f[k].size = (size_t)a;
            cur->f[k].xxh = b;
        } else if (sscanf(line, "deletes %63s %llu %llx", name, &a, &b) == 3 && hex_field_ok(line)) {
            size_t nl = cur ? strlen(cur->name) : 0;
            if (!cur || cur->del.path || strncmp(name, cur->name, nl) || strncmp(name + nl, ".d", 2) ||
                strchr(name, '/'))
                return ft_error_set(err, FT_ECORRUPT, "%s:%u: unexpected deletion file '%s'", path, lineno, name);
            if (asprintf(&cur->del.path, "%s/%s", ix->dir, name) < 0) {
                cur->del.path = NULL;
                return ft_error_set(err, FT_ENOMEM, "out of memory");
            }
            cur->del.size = (size_t)a;
            cur->del.xxh = b;
        } else {
            return ft_error_set(err, FT_ECORRUPT, "%s:%u: unrecognised line", path, lineno);
        }
    }
    if (version < 0 || !have_an) return ft_error_set(err, FT_ECORRUPT, "%s: incomplete manifest", path);
    uint64_t nd = 0, nt = 0;
    for (unsigned i = 0; i < ix->nsegs; i++) {
        ix->segs[i].base = (uint32_t)nd;
        nd += ix->segs[i].ndocs;
        nt += ix->segs[i].tokens;
    }
    if (nd != ix->ndocs || nt != ix->tokens)
        return ft_error_set(err, FT_ECORRUPT, "%s: segment totals disagree with the header", path);
    return FT_OK;
}

/* Open the snapshot described by manifest text (a private copy is parsed). */
static int open_text(const char *dir, const char *mtext, size_t len, const char *path, ft_index **out,
                     ft_error *err)
{
    *out = NULL;
    ft_index *ix = calloc(1, sizeof *ix);
    if (!ix || !(ix->dir = strdup(dir))) {
        free(ix);
        return ft_error_set(err, FT_ENOMEM, "out of memory");
    }
    pthread_mutex_init(&ix->pool_lock, NULL);
    {
        const char *mb = getenv("FT_CACHE_MB");
        long v = mb && *mb ? strtol(mb, NULL, 10) : 64;
        if (v > 0 && v < (1L << 20)) {
            ix->fcache = ft_fcache_new((size_t)v << 20);
            ix->scache = skip_cache_new((size_t)v << 18); /* a quarter of it */
        }
    }
    int rc;
    char *text = malloc(len + 1);
    if (!text) { rc = ft_error_set(err, FT_ENOMEM, "out of memory"); goto fail; }
    memcpy(text, mtext, len);
    text[len] = 0;
    if ((rc = parse_manifest(ix, text, len, path, err))) goto fail;
    ix->lens = malloc(((size_t)ix->ndocs + 1) * sizeof *ix->lens);
    if (!ix->lens) { rc = ft_error_set(err, FT_ENOMEM, "out of memory"); goto fail; }
    ix->nlive = ix->ndocs;
    ix->live_tokens = ix->tokens;
    for (unsigned i = 0; i < ix->nsegs; i++) {
        if ((rc = open_segment(ix, &ix->segs[i], err))) goto fail;
        ix->nlive -= ix->segs[i].ndeleted;
        ix->live_tokens -= ix->segs[i].del_tokens;
    }
    ix->avgdl = ix->nlive ? (double)ix->live_tokens / ix->nlive : 0.0;
    free(text);
    *out = ix;
    return FT_OK;
fail:
    free(text);
    ft_index_close(ix);
    return rc;
}

int ft_index_open_text_(const char *dir, const char *text, size_t len, ft_index **out, ft_error *err)
{
    return open_text(dir, text, len, "MANIFEST (new)", out, err);
}

int ft_index_open(const char *dir, ft_index **out, ft_error *err)
{
    *out = NULL;
    char *path = NULL, *text = NULL;
    size_t len;
    int rc;
    if (asprintf(&path, "%s/%s", dir, FT_MANIFEST) < 0) return ft_error_set(err, FT_ENOMEM, "out of memory");
    struct stat st;
    if (stat(dir, &st) < 0) {
        rc = ft_error_errno(err, errno, "%s", dir);
        goto out;
    }
    /* A writer that commits between our reading MANIFEST and opening its files
     * may delete files of the previous commit: read the new MANIFEST and
     * try again (a few times; a commit takes much longer than an open). */
    for (int attempt = 0;; attempt++) {
        if ((rc = ft_read_file(path, FT_MANIFEST_MAX, &text, &len, err))) {
            if (rc == FT_ENOTFOUND)
                ft_error_set(err, FT_ENOTFOUND, "%s is not an ft index (no MANIFEST)", dir);
            goto out;
        }
        rc = open_text(dir, text, len, path, out, err);
        if (rc == FT_OK || attempt == 8) break;
        char *again = NULL;
        size_t alen;
        ft_error e2;
        int changed = ft_read_file(path, FT_MANIFEST_MAX, &again, &alen, &e2) == FT_OK &&
                      (alen != len || memcmp(again, text, len));
        free(again);
        free(text);
        text = NULL;
        if (!changed) break;
    }
out:
    free(path);
    free(text);
    return rc;
}

uint32_t ft_index_doc_count(const ft_index *ix) { return ix->nlive; }
uint32_t ft_index_doc_limit(const ft_index *ix) { return ix->ndocs; }
uint64_t ft_index_token_count(const ft_index *ix) { return ix->live_tokens; }
double ft_index_avgdl(const ft_index *ix) { return ix->avgdl; }
unsigned ft_index_segment_count(const ft_index *ix) { return ix->nsegs; }
const ft_analyzer_opts *ft_index_analyzer_opts(const ft_index *ix) { return &ix->an; }
uint32_t ft_index_doc_length(const ft_index *ix, uint32_t doc) { return doc < ix->ndocs ? ix->lens[doc] : 0; }
const uint32_t *ft_index_lengths(const ft_index *ix) { return ix->lens; }

/* ------------------------------------------------------------------ dictionary */

typedef struct term_info {
    uint32_t df;
    uint64_t cf;
    const uint8_t *pst; size_t pst_len; uint64_t pst_off;
    const uint8_t *pos; size_t pos_len; uint64_t pos_off;
} term_info;

/* A dictionary entry being scanned within one block. */
typedef struct tid_iter {
    const segment *s;
    const uint8_t *p, *end;
    uint8_t term[512];
    size_t len;
    uint64_t pst_off, pos_off;
    uint64_t block, in_block, ordinal;
    term_info ti;
} tid_iter;

/* Dictionary block b's bytes [*off, *end) in .tid, checked before any
 * pointer is formed from them. */
static int tid_block_range(const segment *s, uint64_t b, uint64_t *off, uint64_t *end, ft_error *err)
{
    const uint8_t *e = s->tid_index + b * TID_INDEX_ENTRY;
    *off = ft_get_u64le(e);
    *end = b + 1 < s->nblocks ? ft_get_u64le(e + TID_INDEX_ENTRY) : s->tid_data_end;
    if (*off < FT_HDR_SIZE || *off > *end || *end > s->tid_data_end)
        return ft_corrupt(err, s->f[F_TID].path, (uint64_t)(e - s->f[F_TID].p), "bad dictionary block offset");
    return FT_OK;
}

static int tid_seek_block(tid_iter *it, uint64_t b, ft_error *err)
{
    const segment *s = it->s;
    const uint8_t *e = s->tid_index + b * TID_INDEX_ENTRY;
    uint64_t off, end;
    int rc = tid_block_range(s, b, &off, &end, err);
    if (rc) return rc;
    it->pst_off = ft_get_u64le(e + 8);
    it->pos_off = ft_get_u64le(e + 16);
    it->p = s->f[F_TID].p + off;
    it->end = s->f[F_TID].p + end;
    it->block = b;
    it->in_block = 0;
    it->ordinal = b * FT_TERMS_PER_BLOCK;
    it->len = 0;
    return FT_OK;
}

/* ft_varint_get with the one-byte case inline: dictionary entries and skip
 * tables are mostly small numbers, and every query reads those of its
 * terms. */
static inline int vget(const uint8_t **q, const uint8_t *end, uint64_t *v)
{
    if (*q < end && **q < 0x80) {
        *v = *(*q)++;
        return 0;
    }
    return ft_varint_get(q, end, v);
}

/* The first term of dictionary block b, read in place (a lookup's binary
 * search needs only that).  0, or <0 on corruption. */
static int tid_block_first(const segment *s, uint64_t b, const uint8_t **term, size_t *len, ft_error *err)
{
    uint64_t off, end, shared, suffix;
    int rc = tid_block_range(s, b, &off, &end, err);
    if (rc) return rc;
    const uint8_t *q = s->f[F_TID].p + off, *qe = s->f[F_TID].p + end;
    if (vget(&q, qe, &shared) || shared || vget(&q, qe, &suffix) || suffix == 0 || suffix > (uint64_t)(qe - q) ||
        suffix > 512)
        return ft_corrupt(err, s->f[F_TID].path, off, "bad dictionary block");
    *term = q;
    *len = (size_t)suffix;
    return 0;
}

/* Decode the next entry of the current block.  Returns 1 when one was read,
 * 0 at the end of the block, <0 on corruption. */
static int tid_next(tid_iter *it, ft_error *err)
{
    const segment *s = it->s;
    if (it->in_block == FT_TERMS_PER_BLOCK || it->ordinal >= s->nterms) return 0;
    uint64_t shared, suffix, df, extra, pl, ql;
    const uint8_t *start = it->p;
    if (vget(&it->p, it->end, &shared) || vget(&it->p, it->end, &suffix) ||
        shared > it->len || (it->in_block == 0 && shared) || suffix > sizeof it->term - shared ||
        suffix > (size_t)(it->end - it->p))
        goto bad;
    memcpy(it->term + shared, it->p, suffix);
    it->p += suffix;
    it->len = shared + suffix;
    if (vget(&it->p, it->end, &df) || vget(&it->p, it->end, &extra) ||
        vget(&it->p, it->end, &pl) || vget(&it->p, it->end, &ql) || df == 0 ||
        df > s->ndocs || extra > UINT64_MAX - df)
        goto bad;
    if (it->pst_off > s->f[F_PST].size || pl > s->f[F_PST].size - it->pst_off ||
        it->pos_off > s->f[F_POS].size || ql > s->f[F_POS].size - it->pos_off)
        goto bad;
    it->ti.df = (uint32_t)df;
    it->ti.cf = df + extra;
    it->ti.pst = s->f[F_PST].p + it->pst_off;
    it->ti.pst_len = pl;
    it->ti.pst_off = it->pst_off;
    it->ti.pos = s->f[F_POS].p + it->pos_off;
    it->ti.pos_len = ql;
    it->ti.pos_off = it->pos_off;
    it->pst_off += pl;
    it->pos_off += ql;
    it->in_block++;
    it->ordinal++;
    return 1;
bad:
    return ft_corrupt(err, s->f[F_TID].path, (uint64_t)(start - s->f[F_TID].p), "bad dictionary entry");
}

static int cmp_bytes(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
    size_t n = al < bl ? al : bl;
    int c = memcmp(a, b, n);
    if (c) return c;
    return al < bl ? -1 : al > bl;
}

/* A term's first 8 bytes as a big-endian number, zero-padded: keys compare
 * as the terms do (cmp_bytes) unless they are equal. */
static uint64_t term_key(const uint8_t *t, size_t len)
{
    uint64_t k = 0;
    for (size_t i = 0; i < 8; i++) k = k << 8 | (i < len ? t[i] : 0);
    return k;
}

/* Build s->tid_keys (the others' lookups go on without them meanwhile).
 * Out of memory or a corrupt block leaves them unbuilt: the lookups report
 * the corruption. */
static void seg_build_keys(const segment *cs)
{
    segment *s = (segment *)cs; /* the keys are a cache: not a visible change */
    uint64_t *k = malloc(s->nblocks * sizeof *k);
    for (uint64_t b = 0; k && b < s->nblocks; b++) {
        const uint8_t *first;
        size_t flen;
        ft_error e;
        if (tid_block_first(s, b, &first, &flen, &e)) {
            free(k);
            k = NULL;
        } else {
            k[b] = term_key(first, flen);
        }
    }
    if (k) atomic_store(&s->tid_keys, k);
}

/* Look term up in one segment: 1 found (ti filled), 0 absent, <0 error. */
static int seg_lookup(const segment *s, const uint8_t *term, size_t len, term_info *ti, ft_error *err)
{
    if (s->nblocks == 0) return 0;
    tid_iter it;
    it.s = s;
    /* last block whose first term <= term */
    uint64_t lo = 0, hi = s->nblocks;
    const uint64_t *keys = atomic_load_explicit(&s->tid_keys, memory_order_acquire);
    if (!keys && s->nblocks > TID_KEYS_MIN &&
        atomic_fetch_add_explicit(&((segment *)s)->lookups, 1, memory_order_relaxed) == TID_KEYS_AFTER) {
        seg_build_keys(s);
        keys = atomic_load_explicit(&s->tid_keys, memory_order_acquire);
    }
    if (keys) { /* narrowed by the keys; equal keys are compared in full below */
        uint64_t kt = term_key(term, len);
        while (hi - lo > 1) {
            uint64_t mid = lo + (hi - lo) / 2;
            if (keys[mid] < kt) lo = mid;
            else if (keys[mid] > kt) hi = mid;
            else break;
        }
    }
    while (hi - lo > 1) {
        uint64_t mid = lo + (hi - lo) / 2;
        const uint8_t *first = NULL;
        size_t flen = 0;
        int rc = tid_block_first(s, mid, &first, &flen, err);
        if (rc) return rc;
        if (cmp_bytes(first, flen, term, len) <= 0) lo = mid;
        else hi = mid;
    }
    int rc = tid_seek_block(&it, lo, err);
    if (rc) return rc;
    while ((rc = tid_next(&it, err)) == 1) {
        int c = cmp_bytes(it.term, it.len, term, len);
        if (c == 0) {
            *ti = it.ti;
            return 1;
        }
        if (c > 0) return 0;
    }
    return rc;
}

/* ------------------------------------------------------------------ postings */

typedef struct block_meta {
    uint32_t last;     /* last local document of the block */
    uint32_t count;
    unsigned nimp;     /* impacts (ft_impact): their frontier */
    ft_impact imp[FT_IMPACTS];
    uint32_t frame;    /* frame holding the block */
    uint32_t doff, dlen, poff, plen; /* the block's bytes within the raw frames */
} block_meta;

typedef struct frame_meta {
    const uint8_t *d; uint32_t dlen, draw;  /* stored bytes; raw size (0: stored raw) */
    const uint8_t *p; uint32_t plen, praw;
} frame_meta;

typedef struct seg_term {
    const segment *s;
    term_info ti;
} seg_term;

/* Parsed skip and frame tables of multi-block posting lists, shared by the
 * cursors of every query: a frequent word's table (3,360 blocks for "the" in
 * the English scale corpus) costs more to parse than many queries spend on
 * it otherwise.  Keyed by the table's address in the mapped file; entries are
 * immutable, reference-counted while cursors use them, and when the budget
 * is passed every unused entry is dropped (a crude clock, but rare). */
typedef struct skip_ent {
    uintptr_t key;
    uint32_t refs, nb, nf;
    uint32_t max_tf, min_len; /* the list's bounds over its blocks' impacts */
    size_t bytes;
    block_meta *blocks;
    frame_meta *frames;
    struct skip_ent *next;
} skip_ent;

typedef struct skip_cache {
    pthread_mutex_t lock;
    skip_ent **tab;
    size_t mask, bytes, budget;
} skip_cache;

static skip_cache *skip_cache_new(size_t budget)
{
    skip_cache *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->mask = 4095;
    if (!(c->tab = calloc(c->mask + 1, sizeof *c->tab))) {
        free(c);
        return NULL;
    }
    c->budget = budget;
    pthread_mutex_init(&c->lock, NULL);
    return c;
}

static void skip_ent_free(skip_ent *e)
{
    free(e->blocks);
    free(e->frames);
    free(e);
}

static void skip_cache_free(skip_cache *c)
{
    if (!c) return;
    for (size_t i = 0; i <= c->mask; i++)
        for (skip_ent *e = c->tab[i], *n; e; e = n) {
            n = e->next;
            skip_ent_free(e);
        }
    free(c->tab);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

static size_t skip_slot(const skip_cache *c, uintptr_t key)
{
    return (size_t)(((uint64_t)key * 0x9E3779B97F4A7C15ull) >> 40) & c->mask;
}

/* Fold the largest tf and the shortest length of nb blocks' impacts into
 * *max_tf and *min_len. */
static void blocks_bounds(const block_meta *blocks, uint32_t nb, uint32_t *max_tf, uint32_t *min_len)
{
    for (uint32_t b = 0; b < nb; b++) {
        const block_meta *m = &blocks[b];
        if (m->imp[m->nimp - 1].tf > *max_tf) *max_tf = m->imp[m->nimp - 1].tf;
        if (m->imp[0].len < *min_len) *min_len = m->imp[0].len;
    }
}

/* A referenced entry for key, or NULL. */
static skip_ent *skip_cache_get(skip_cache *c, uintptr_t key)
{
    if (!c) return NULL;
    pthread_mutex_lock(&c->lock);
    skip_ent *e = c->tab[skip_slot(c, key)];
    while (e && e->key != key) e = e->next;
    if (e) e->refs++;
    pthread_mutex_unlock(&c->lock);
    return e;
}

/* Hand blocks/frames over to the cache as a referenced entry; NULL (the
 * arrays stay the caller's) when the cache declines. */
static skip_ent *skip_cache_put(skip_cache *c, uintptr_t key, block_meta *blocks, uint32_t nb, frame_meta *frames,
                                uint32_t nf)
{
    if (!c) return NULL;
    skip_ent *e = malloc(sizeof *e);
    if (!e) return NULL;
    *e = (skip_ent){key, 1, nb, nf, 0, UINT32_MAX, nb * sizeof *blocks + nf * sizeof *frames + sizeof *e, blocks,
                    frames, NULL};
    blocks_bounds(blocks, nb, &e->max_tf, &e->min_len);
    if (e->bytes > c->budget / 4) {
        free(e);
        return NULL;
    }
    pthread_mutex_lock(&c->lock);
    size_t h = skip_slot(c, key);
    skip_ent *x = c->tab[h];
    while (x && x->key != key) x = x->next;
    if (x) { /* another cursor parsed it first: use that one */
        x->refs++;
        pthread_mutex_unlock(&c->lock);
        free(e);
        free(blocks);
        free(frames);
        return x;
    }
    if (c->bytes + e->bytes > c->budget) /* drop every unused entry */
        for (size_t i = 0; i <= c->mask; i++)
            for (skip_ent **pp = &c->tab[i]; *pp;) {
                skip_ent *y = *pp;
                if (y->refs == 0) {
                    *pp = y->next;
                    c->bytes -= y->bytes;
                    skip_ent_free(y);
                } else {
                    pp = &y->next;
                }
            }
    e->next = c->tab[h];
    c->tab[h] = e;
    c->bytes += e->bytes;
    pthread_mutex_unlock(&c->lock);
    return e;
}

static void skip_cache_release(skip_cache *c, skip_ent *e)
{
    if (!e) return;
    pthread_mutex_lock(&c->lock);
    e->refs--;
    pthread_mutex_unlock(&c->lock);
}

struct ft_postings {
    const ft_index *ix;
    uint32_t df;
    uint64_t cf;
    seg_term *st;
    unsigned nst, cur;     /* segments holding the term; the current one */
    uint32_t list_max_tf, list_min_len;
    /* current segment: its tables, the cursor's own or a cache entry's */
    block_meta *blocks;
    uint32_t nblocks, blocks_cap;
    frame_meta *frames;
    uint32_t nframes, frames_cap;
    block_meta *own_blocks;
    frame_meta *own_frames;
    skip_ent *shared;
    int nocache;
    const uint8_t *dfr_src, *pfr_src; /* the stored frames unpacked (NULL: none) */
    const uint8_t *dfr_raw, *pfr_raw; /* their raw bytes */
    void *dpin, *ppin;               /* their frame-cache entries, when read in place */
    int seg_loaded;
    uint32_t blk;          /* current block */
    uint32_t blk_base, blk_last; /* its segment's first document and its own last (global) */
    const uint8_t *blk_del;       /* its segment's deletion bits, or NULL */
    uint32_t hint;         /* no block before it holds a document still wanted */
    int blk_decoded;
    uint32_t n, i;         /* postings in the decoded block, index of the current */
    uint32_t *docs, *tfs;  /* local doc numbers */
    const uint8_t *tf_q, *tf_end; /* the block's undecoded frequencies */
    int tfs_ready;
    uint32_t cap;
    uint32_t doc;          /* current global document or FT_DOC_END */
    int started;
    /* positions */
    int pos_blk_ready;
    uint32_t pos_have;     /* p->pos holds the positions of posting pos_have - 1 */
    const uint8_t *pos_base, *pp, *pend;
    uint32_t loc_k, loc_sum;  /* ft_postings_locate_: the occurrences before posting loc_k of the block */
    uint32_t pos_i;
    uint32_t *pos;
    uint32_t pos_cap;
    ft_buf dbuf, pbuf;
    ZSTD_DCtx *dctx;
    int rc;
    ft_error err;
};

static uint32_t fail_cursor(ft_postings *p, int rc)
{
    if (!p->rc) p->rc = rc ? rc : FT_ECORRUPT;
    p->doc = FT_DOC_END;
    return FT_DOC_END;
}

/* Decompression contexts are costly to create (a large memset): borrow one
 * from the index's pool (or create one; NULL when out of memory) and give it
 * back when done.  The pool is the one mutable part of an open index. */
static ZSTD_DCtx *dctx_borrow(const ft_index *cix)
{
    ft_index *ix = (ft_index *)cix;
    ZSTD_DCtx *d = NULL;
    pthread_mutex_lock(&ix->pool_lock);
    if (ix->npool) d = ix->pool[--ix->npool];
    pthread_mutex_unlock(&ix->pool_lock);
    return d ? d : ZSTD_createDCtx();
}

static void dctx_return(const ft_index *cix, ZSTD_DCtx *d)
{
    if (!d) return;
    ft_index *ix = (ft_index *)cix;
    pthread_mutex_lock(&ix->pool_lock);
    if (ix->npool < sizeof ix->pool / sizeof *ix->pool) {
        ix->pool[ix->npool++] = d;
        d = NULL;
    }
    pthread_mutex_unlock(&ix->pool_lock);
    ZSTD_freeDCtx(d);
}

/* Decompress the zstd frame src[0..slen) into dst (raw bytes) and offer it
 * to the index's frame cache; the callers have looked it up there already.
 * *dctx is borrowed from the pool when first needed.  Returns FT_OK,
 * FT_ENOMEM or FT_ECORRUPT. */
static int frame_decompress(const ft_index *ix, ZSTD_DCtx **dctx, uint8_t *dst, uint32_t raw, const uint8_t *src,
                            uint32_t slen)
{
    if (!*dctx && !(*dctx = dctx_borrow(ix))) return FT_ENOMEM;
    size_t got = ZSTD_decompressDCtx(*dctx, dst, raw, src, slen);
    if (ZSTD_isError(got) || got != raw) return FT_ECORRUPT;
    ft_fcache_put(ix->fcache, (uintptr_t)src, dst, raw);
    return FT_OK;
}

/* Get the raw bytes of a stored frame: in place when stored raw, the cache's
 * copy (pinned in *pin until the cursor moves on) when cached, else
 * decompressed into buf (and offered to the cache). */
static const uint8_t *unpack(ft_postings *p, ft_buf *buf, void **pin, const uint8_t *src, uint32_t slen,
                             uint32_t raw, const char *path, uint64_t off)
{
    if (raw == 0) {
        ft_fcache_unpin(p->ix->fcache, *pin);
        *pin = NULL;
        return src;
    }
    const uint8_t *hit = ft_fcache_repin(p->ix->fcache, *pin, (uintptr_t)src, raw, pin);
    if (hit) return hit;
    ft_buf_reset(buf);
    int rc = ft_buf_reserve(buf, raw) ? FT_ENOMEM : frame_decompress(p->ix, &p->dctx, buf->p, raw, src, slen);
    if (rc == FT_OK) return buf->p;
    if (rc == FT_ENOMEM) p->rc = ft_error_set(&p->err, FT_ENOMEM, "out of memory");
    else p->rc = ft_corrupt(&p->err, path, off, "compressed block does not decompress");
    return NULL;
}

static int decode_block(ft_postings *p, uint32_t b);
static int decode_tfs(ft_postings *p);

/* The raw bytes of segment s's documents frame fm, kept until another frame
 * is asked for; NULL on an error (p->rc). */
static const uint8_t *doc_frame(ft_postings *p, const segment *s, const frame_meta *fm)
{
    if (p->dfr_src != fm->d) {
        p->dfr_src = NULL;
        p->dfr_raw = unpack(p, &p->dbuf, &p->dpin, fm->d, fm->dlen, fm->draw, s->f[F_PST].path,
                            (uint64_t)(fm->d - s->f[F_PST].p));
        if (p->dfr_raw) p->dfr_src = fm->d;
    }
    return p->dfr_raw;
}

/* The same for a positions frame, stored at src (slen bytes; raw bytes
 * once unpacked, 0 when stored raw). */
static const uint8_t *pos_frame(ft_postings *p, const segment *s, const uint8_t *src, uint32_t slen, uint32_t raw)
{
    if (p->pfr_src != src) {
        p->pfr_src = NULL;
        p->pfr_raw = unpack(p, &p->pbuf, &p->ppin, src, slen, raw, s->f[F_POS].path, (uint64_t)(src - s->f[F_POS].p));
        if (p->pfr_raw) p->pfr_src = src;
    }
    return p->pfr_raw;
}

/* Room in p->pos for tf positions: FT_OK, or FT_ENOMEM (p->rc). */
static int pos_room(ft_postings *p, uint32_t tf)
{
    if (tf <= p->pos_cap) return FT_OK;
    uint32_t *v = realloc(p->pos, tf * sizeof *v);
    if (!v) return p->rc = ft_error_set(&p->err, FT_ENOMEM, "out of memory");
    p->pos = v;
    p->pos_cap = tf;
    return FT_OK;
}

static int grow_block_arrays(ft_postings *p, uint32_t n)
{
    uint32_t *d = realloc(p->docs, n * sizeof *d);
    if (d) p->docs = d;
    uint32_t *t = d ? realloc(p->tfs, n * sizeof *t) : NULL;
    if (!d || !t) return p->rc = ft_error_set(&p->err, FT_ENOMEM, "out of memory");
    p->tfs = t;
    p->cap = n;
    return FT_OK;
}

/* The cursor's state once a segment's tables are in place: before its first block. */
static void segment_loaded(ft_postings *p, uint32_t nb, uint32_t nf)
{
    p->nblocks = nb;
    p->nframes = nf;
    p->seg_loaded = 1;
    p->blk = 0;
    p->hint = 0;
    p->blk_decoded = 0;
}

/* Read a segment's skip table and frame table (or take them from the
 * index's skip cache). */
static int load_segment(ft_postings *p)
{
    const seg_term *st = &p->st[p->cur];
    const segment *s = st->s;
    const term_info *ti = &st->ti;
    const char *path = s->f[F_PST].path;
    uint32_t nb = (ti->df + s->block - 1) / s->block;
    uint32_t nf = (nb + s->frame - 1) / s->frame;
    skip_cache *sc = p->nocache ? NULL : p->ix->scache;
    skip_cache_release(sc, p->shared);
    p->shared = NULL;
    p->blocks = p->own_blocks;
    p->frames = p->own_frames;
    if (nb > 1 && sc && (p->shared = skip_cache_get(sc, (uintptr_t)ti->pst))) {
        p->blocks = p->shared->blocks;
        p->frames = p->shared->frames;
        if (s->block > p->cap && grow_block_arrays(p, s->block)) return p->rc;
        segment_loaded(p, nb, nf);
        return FT_OK;
    }
    int fresh = nb > 1 && sc; /* parse into new arrays the cache can take over */
    if (fresh) {
        p->blocks = malloc(nb * sizeof *p->blocks);
        p->frames = malloc(nf * sizeof *p->frames);
        if (!p->blocks || !p->frames) {
            free(p->blocks);
            free(p->frames);
            p->blocks = p->own_blocks;
            p->frames = p->own_frames;
            return p->rc = ft_error_set(&p->err, FT_ENOMEM, "out of memory");
        }
    } else {
        if (nb > p->blocks_cap) {
            block_meta *m = realloc(p->own_blocks, nb * sizeof *m);
            if (!m) return p->rc = ft_error_set(&p->err, FT_ENOMEM, "out of memory");
            p->blocks = p->own_blocks = m;
            p->blocks_cap = nb;
        }
        if (nf > p->frames_cap) {
            frame_meta *m = realloc(p->own_frames, nf * sizeof *m);
            if (!m) return p->rc = ft_error_set(&p->err, FT_ENOMEM, "out of memory");
            p->frames = p->own_frames = m;
            p->frames_cap = nf;
        }
    }
    if (s->block > p->cap && grow_block_arrays(p, s->block)) goto fail;
    const uint8_t *q = ti->pst, *end = ti->pst + ti->pst_len;
    int multi = nb > 1;
    uint64_t last = 0; /* last + 1 of the previous block */
    uint64_t doff = 0, poff = 0;
    uint32_t frame = 0, in_frame = 0; /* no divisions in this loop: it runs for every block of every term */
    for (uint32_t b = 0; b < nb; b++) {
        block_meta *m = &p->blocks[b];
        m->count = b + 1 < nb ? s->block : ti->df - b * s->block;
        if (in_frame == s->frame) {
            frame++;
            in_frame = 0;
        }
        m->frame = frame;
        if (in_frame++ == 0) doff = poff = 0;
        if (multi) {
            uint64_t a, ni, dl, pl, il = 0, it = 0;
            if (vget(&q, end, &a) || vget(&q, end, &ni) || ni == 0 || ni > FT_IMPACTS) goto bad;
            for (unsigned k = 0; k < ni; k++) { /* (len, tf), then increases of both */
                uint64_t x, y;
                if (vget(&q, end, &x) || vget(&q, end, &y) || (k > 0 && x == 0) || y == 0)
                    goto bad;
                il += x;
                it += y;
                if (il > UINT32_MAX || it > UINT32_MAX) goto bad;
                m->imp[k].len = (uint32_t)il;
                m->imp[k].tf = (uint32_t)it;
            }
            m->nimp = (unsigned)ni;
            if (vget(&q, end, &dl) || vget(&q, end, &pl)) goto bad;
            if (a == 0 || last + a > s->ndocs || dl > (uint64_t)s->block * 20 || pl > UINT32_MAX ||
                doff + dl > UINT32_MAX || poff + pl > UINT32_MAX)
                goto bad;
            last += a;
            m->last = (uint32_t)(last - 1);
            m->doff = (uint32_t)doff;
            m->dlen = (uint32_t)dl;
            m->poff = (uint32_t)poff;
            m->plen = (uint32_t)pl;
            doff += dl;
            poff += pl;
        }
    }
    for (uint32_t f = 0; f < nf; f++) {
        frame_meta *fm = &p->frames[f];
        uint64_t df, dr = 0, pf, pr = 0;
        if (vget(&q, end, &df) || ((df & 1) && vget(&q, end, &dr)) ||
            vget(&q, end, &pf) || ((pf & 1) && vget(&q, end, &pr)))
            goto bad;
        if ((df >> 1) > UINT32_MAX || (pf >> 1) > UINT32_MAX || dr > UINT32_MAX || pr > UINT32_MAX ||
            ((df & 1) && !dr) || ((pf & 1) && !pr))
            goto bad;
        fm->dlen = (uint32_t)(df >> 1);
        fm->draw = (uint32_t)dr;
        fm->plen = (uint32_t)(pf >> 1);
        fm->praw = (uint32_t)pr;
    }
    /* data pointers, and the blocks must tile their frames exactly */
    const uint8_t *pd = ti->pos, *pe = ti->pos + ti->pos_len;
    for (uint32_t f = 0; f < nf; f++) {
        frame_meta *fm = &p->frames[f];
        if (fm->dlen > (size_t)(end - q) || fm->plen > (size_t)(pe - pd)) goto bad;
        fm->d = q;
        q += fm->dlen;
        fm->p = pd;
        pd += fm->plen;
        uint32_t draw = fm->draw ? fm->draw : fm->dlen, praw = fm->praw ? fm->praw : fm->plen;
        if (!multi) {
            p->blocks[0].doff = p->blocks[0].poff = 0;
            p->blocks[0].dlen = draw;
            p->blocks[0].plen = praw;
        } else {
            uint32_t lb = (f + 1) * s->frame < nb ? (f + 1) * s->frame - 1 : nb - 1;
            const block_meta *m = &p->blocks[lb];
            if ((uint64_t)m->doff + m->dlen != draw || (uint64_t)m->poff + m->plen != praw) goto bad;
        }
    }
    if (q != end || pd != pe) goto bad;
    segment_loaded(p, nb, nf);
    if (fresh) {
        p->shared = skip_cache_put(sc, (uintptr_t)ti->pst, p->blocks, nb, p->frames, nf);
        if (p->shared) {
            p->blocks = p->shared->blocks;
            p->frames = p->shared->frames;
        } else { /* declined: the new arrays become the cursor's own */
            free(p->own_blocks);
            free(p->own_frames);
            p->own_blocks = p->blocks;
            p->own_frames = p->frames;
            p->blocks_cap = nb;
            p->frames_cap = nf;
        }
    }
    if (!multi) { /* a single block: decode it now to know its bounds */
        if (decode_block(p, 0) || decode_tfs(p)) return p->rc;
        block_meta *m = &p->blocks[0];
        m->last = p->docs[p->n - 1];
        p->blk_last = s->base + m->last; /* decode_block ran before it was known */
        ft_impact few[FT_IMPACTS * 4], *f = p->n <= FT_IMPACTS * 4 ? few : malloc(p->n * sizeof *f);
        if (!f) return p->rc = ft_error_set(&p->err, FT_ENOMEM, "out of memory");
        unsigned nfr = 0;
        for (uint32_t i = 0; i < p->n; i++) ft_impact_add(f, &nfr, p->tfs[i], p->ix->lens[s->base + p->docs[i]]);
        ft_impact_reduce(f, &nfr);
        memcpy(m->imp, f, nfr * sizeof *f);
        m->nimp = nfr;
        if (f != few) free(f);
    }
    return FT_OK;
bad:
    p->rc = ft_corrupt(&p->err, path, ti->pst_off + (uint64_t)(q - ti->pst), "bad posting list header");
fail:
    if (fresh) {
        free(p->blocks);
        free(p->frames);
        p->blocks = p->own_blocks;
        p->frames = p->own_frames;
    }
    return p->rc;
}

/* Decode the current block's frequencies (after its document gaps). */
static int decode_tfs(ft_postings *p)
{
    const uint8_t *q = p->tf_q, *end = p->tf_end;
    uint32_t n = p->n, *tfs = p->tfs;
    for (uint32_t i = 0; i < n;) {
        uint64_t w8;
        if (n - i >= 8 && end - q >= 8 && !((w8 = ft_get_u64le(q)) & 0x8080808080808080ull)) {
            /* eight one-byte frequencies; a zero byte is corrupt */
            if ((w8 - 0x0101010101010101ull) & ~w8 & 0x8080808080808080ull) goto bad;
#if FT_SSE2
            __m128i z = _mm_setzero_si128(), t = _mm_unpacklo_epi8(_mm_cvtsi64_si128((long long)w8), z);
            _mm_storeu_si128((__m128i *)(void *)(tfs + i), _mm_unpacklo_epi16(t, z));
            _mm_storeu_si128((__m128i *)(void *)(tfs + i + 4), _mm_unpackhi_epi16(t, z));
#else
#define FT_TF(k) (tfs[i + (k)] = (uint32_t)(w8 >> (8 * (k))) & 0xff)
            FT_TF(0), FT_TF(1), FT_TF(2), FT_TF(3), FT_TF(4), FT_TF(5), FT_TF(6), FT_TF(7);
#undef FT_TF
#endif
            q += 8;
            i += 8;
            continue;
        }
        uint32_t v;
        if (q < end && *q < 0x80) v = *q++;
        else if (ft_varint_get32(&q, end, &v)) goto bad;
        if (v == 0) goto bad;
        tfs[i++] = v;
    }
    if (q != end) goto bad;
    p->tfs_ready = 1;
    return FT_OK;
bad:
    {
        const segment *s = p->st[p->cur].s;
        return p->rc = ft_corrupt(&p->err, s->f[F_PST].path, 0, "bad frequencies in a posting block");
    }
}

static int decode_block(ft_postings *p, uint32_t b)
{
    const seg_term *st = &p->st[p->cur];
    const segment *s = st->s;
    block_meta *m = &p->blocks[b];
    const frame_meta *fm = &p->frames[m->frame];
    const char *path = s->f[F_PST].path;
    uint64_t off = (uint64_t)(fm->d - s->f[F_PST].p);
    const uint8_t *raw = doc_frame(p, s, fm);
    if (!raw) return p->rc;
    const uint8_t *q = raw + m->doff, *end = q + m->dlen;
    uint64_t base = 0;
    if (b > 0) base = (uint64_t)p->blocks[b - 1].last + 1;
    /* The hot loop of every query: locals so that the stores to docs[] do
     * not force reloads of the counts, and one range check at the end (the
     * gaps are non-negative, so the last document is the largest). */
    uint32_t n = m->count, *docs = p->docs;
    for (uint32_t i = 0; i < n;) {
        uint32_t g;
        if (n - i >= 8 && end - q >= 8) {
            uint64_t w8 = ft_get_u64le(q), longer = w8 & 0x8080808080808080ull;
            if (!longer) {
                /* eight one-byte gaps at once: document k is base + k plus
                 * the sum of gaps 0..k */
#if FT_SSE2
                /* the prefix sums in 16-bit lanes (at most 8 x 127), then
                 * widened; base fits 32 bits or the block is corrupt (the
                 * check below) */
                __m128i z = _mm_setzero_si128();
                __m128i v = _mm_unpacklo_epi8(_mm_cvtsi64_si128((long long)w8), z);
                v = _mm_add_epi16(v, _mm_slli_si128(v, 2));
                v = _mm_add_epi16(v, _mm_slli_si128(v, 4));
                v = _mm_add_epi16(v, _mm_slli_si128(v, 8));
                v = _mm_add_epi16(v, _mm_set_epi16(7, 6, 5, 4, 3, 2, 1, 0));
                __m128i b4 = _mm_set1_epi32((int)(uint32_t)base);
                _mm_storeu_si128((__m128i *)(void *)(docs + i), _mm_add_epi32(_mm_unpacklo_epi16(v, z), b4));
                _mm_storeu_si128((__m128i *)(void *)(docs + i + 4), _mm_add_epi32(_mm_unpackhi_epi16(v, z), b4));
                base += (uint64_t)_mm_extract_epi16(v, 7) + 1;
#else
#define FT_GAP(k) (base += (w8 >> (8 * (k))) & 0xff, docs[i + (k)] = (uint32_t)base++)
                FT_GAP(0), FT_GAP(1), FT_GAP(2), FT_GAP(3), FT_GAP(4), FT_GAP(5), FT_GAP(6), FT_GAP(7);
#undef FT_GAP
#endif
                q += 8;
                i += 8;
                continue;
            }
            /* the one-byte gaps before the first longer one (at most 7: the
             * longer one is still in the block), then that one */
            for (unsigned k = (unsigned)__builtin_ctzll(longer) >> 3; k > 0; k--) {
                base += *q++;
                docs[i++] = (uint32_t)base++;
            }
            if (ft_varint_get32(&q, end, &g)) goto bad;
            docs[i++] = (uint32_t)(base + g);
            base += (uint64_t)g + 1;
            continue;
        }
        if (q < end && *q < 0x80) g = *q++;
        else if (ft_varint_get32(&q, end, &g)) goto bad;
        docs[i++] = (uint32_t)(base + g);
        base += (uint64_t)g + 1;
    }
    if (base > s->ndocs) goto bad;
    /* frequencies are decoded on first use (decode_tfs): a conjunction
     * that skips through a block never needs them */
    p->tf_q = q;
    p->tf_end = end;
    p->tfs_ready = 0;
    p->loc_k = 0;
    p->loc_sum = 0;
    if (p->nblocks > 1 && p->docs[m->count - 1] != m->last) goto bad;
    p->n = m->count;
    p->blk = b;
    p->blk_base = s->base;
    p->blk_last = s->base + m->last;
    p->blk_del = s->del_bits;
    p->blk_decoded = 1;
    p->i = UINT32_MAX; /* before the block's first posting */
    p->pos_blk_ready = 0;
    p->pos_have = 0;
    return FT_OK;
bad:
    return p->rc = ft_corrupt(&p->err, path, off, "bad posting block");
}

static int seg_deleted(const segment *s, uint32_t local)
{
    return s->del_bits && (s->del_bits[local >> 3] >> (local & 7) & 1);
}

int ft_index_doc_deleted(const ft_index *ix, uint32_t doc)
{
    for (unsigned i = 0; i < ix->nsegs; i++)
        if (doc >= ix->segs[i].base && doc < ix->segs[i].base + ix->segs[i].ndocs)
            return seg_deleted(&ix->segs[i], doc - ix->segs[i].base);
    return 0;
}

/* Deleted documents of segment s holding term (its df correction). */
static uint32_t seg_correction(const segment *s, const uint8_t *term, size_t len)
{
    uint64_t lo = 0, hi = s->ncorr;
    const uint8_t *end = s->del.p + s->del.size - 4;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        const uint8_t *q = s->del.p + s->corr_off[mid];
        uint64_t tl = 0, c = 0;
        ft_varint_get(&q, end, &tl); /* validated at open */
        int cmp = cmp_bytes(q, tl, term, len);
        if (cmp == 0) {
            q += tl;
            ft_varint_get(&q, end, &c);
            return (uint32_t)c;
        }
        if (cmp < 0) lo = mid + 1;
        else hi = mid;
    }
    return 0;
}

static int postings_open(const ft_index *ix, unsigned first, unsigned last, const char *term, size_t len,
                         ft_postings **out, ft_error *err);

int ft_postings_open(const ft_index *ix, const char *term, size_t len, ft_postings **out, ft_error *err)
{
    return postings_open(ix, 0, ix->nsegs, term, len, out, err);
}

int ft_postings_open_range_(const ft_index *ix, unsigned first, unsigned end, const char *term, size_t len,
                            ft_postings **out, ft_error *err)
{
    return postings_open(ix, first, end, term, len, out, err);
}

/* A cursor of ix holding no segment yet; NULL when out of memory. */
static ft_postings *postings_new(const ft_index *ix)
{
    ft_postings *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->ix = ix;
    p->doc = FT_DOC_END;
    p->list_min_len = UINT32_MAX;
    ft_buf_init(&p->dbuf);
    ft_buf_init(&p->pbuf);
    return p;
}

/* Loading segment p->cur failed: its error to err, the cursor closed. */
static int postings_fail_open(ft_postings *p, ft_error *err)
{
    int rc = p->rc;
    if (err) *err = p->err;
    ft_postings_close(p);
    return rc;
}

static int postings_open(const ft_index *ix, unsigned first, unsigned last, const char *term, size_t len,
                         ft_postings **out, ft_error *err)
{
    *out = NULL;
    ft_postings *p = postings_new(ix);
    if (!p) return ft_error_set(err, FT_ENOMEM, "out of memory");
    if (ix->nsegs) {
        p->st = calloc(ix->nsegs, sizeof *p->st);
        if (!p->st) { ft_postings_close(p); return ft_error_set(err, FT_ENOMEM, "out of memory"); }
    }
    for (unsigned i = first; i < last && i < ix->nsegs; i++) {
        term_info ti;
        int rc = seg_lookup(&ix->segs[i], (const uint8_t *)term, len, &ti, err);
        if (rc < 0) { ft_postings_close(p); return rc; }
        if (rc == 1) {
            uint32_t gone = ix->segs[i].ncorr ? seg_correction(&ix->segs[i], (const uint8_t *)term, len) : 0;
            if (gone >= ti.df) continue; /* every document holding it is deleted */
            p->st[p->nst].s = &ix->segs[i];
            p->st[p->nst].ti = ti;
            p->nst++;
            p->df += ti.df - gone;
            p->cf += ti.cf;
        }
    }
    /* list-wide bounds: from every segment's skip data */
    for (unsigned k = p->nst; k-- > 0;) {
        p->cur = k;
        if (load_segment(p)) return postings_fail_open(p, err);
        if (p->shared) { /* computed once, when the cache took the tables */
            if (p->shared->max_tf > p->list_max_tf) p->list_max_tf = p->shared->max_tf;
            if (p->shared->min_len < p->list_min_len) p->list_min_len = p->shared->min_len;
        } else {
            blocks_bounds(p->blocks, p->nblocks, &p->list_max_tf, &p->list_min_len);
        }
    }
    p->cur = 0; /* segment 0 is the one loaded last */
    *out = p;
    return FT_OK;
}

struct ft_term_ref {
    const ft_index *ix;
    uint32_t df, list_max_tf, list_min_len;
    uint64_t cf;
    unsigned nst;
    seg_term st[];
};

ft_term_ref *ft_postings_ref_(const ft_postings *p)
{
    ft_term_ref *r = malloc(sizeof *r + p->nst * sizeof *r->st);
    if (!r) return NULL;
    r->ix = p->ix;
    r->df = p->df;
    r->cf = p->cf;
    r->list_max_tf = p->list_max_tf;
    r->list_min_len = p->list_min_len;
    r->nst = p->nst;
    if (p->nst) memcpy(r->st, p->st, p->nst * sizeof *r->st);
    return r;
}

void ft_term_ref_free_(ft_term_ref *r) { free(r); }

/* The cursor postings_open makes, without its lookups: segment 0 loaded. */
int ft_postings_open_ref_(const ft_term_ref *r, ft_postings **out, ft_error *err)
{
    *out = NULL;
    ft_postings *p = postings_new(r->ix);
    if (!p) return ft_error_set(err, FT_ENOMEM, "out of memory");
    p->df = r->df;
    p->cf = r->cf;
    p->list_max_tf = r->list_max_tf;
    p->list_min_len = r->list_min_len;
    if (r->nst) {
        p->st = malloc(r->nst * sizeof *p->st);
        if (!p->st) {
            ft_postings_close(p);
            return ft_error_set(err, FT_ENOMEM, "out of memory");
        }
        memcpy(p->st, r->st, r->nst * sizeof *p->st);
        p->nst = r->nst;
        if (load_segment(p)) return postings_fail_open(p, err);
    }
    *out = p;
    return FT_OK;
}

/* Free what a cursor owns (not the cursor itself); the decompression context
 * goes back to the index's pool. */
static void postings_release(ft_postings *p)
{
    free(p->st);
    if (p->shared) skip_cache_release(p->ix->scache, p->shared);
    p->shared = NULL;
    free(p->own_blocks);
    free(p->own_frames);
    free(p->docs);
    free(p->tfs);
    free(p->pos);
    ft_buf_free(&p->dbuf);
    ft_buf_free(&p->pbuf);
    dctx_return(p->ix, p->dctx);
    p->dctx = NULL;
    ft_fcache_unpin(p->ix->fcache, p->dpin);
    ft_fcache_unpin(p->ix->fcache, p->ppin);
    p->dpin = p->ppin = NULL;
}

void ft_postings_close(ft_postings *p)
{
    if (!p) return;
    postings_release(p);
    free(p);
}

uint32_t ft_postings_df(const ft_postings *p) { return p->df; }
uint64_t ft_postings_cf(const ft_postings *p) { return p->cf; }
uint32_t ft_postings_doc(const ft_postings *p) { return p->started ? p->doc : FT_DOC_END; }
uint32_t ft_postings_tf(const ft_postings *cp)
{
    ft_postings *p = (ft_postings *)cp; /* decoding on first use is not a visible change */
    if (p->doc == FT_DOC_END || p->rc) return 0;
    if (!p->tfs_ready && decode_tfs(p)) return 0;
    return p->tfs[p->i];
}

int ft_postings_block_(ft_postings *p, const uint32_t **docs, const uint32_t **tfs, uint32_t *n, uint32_t *base,
                       const uint8_t **del)
{
    *n = 0;
    if (p->rc) return p->rc;
    if (!p->started || p->doc == FT_DOC_END) return FT_OK;
    if (!p->tfs_ready && decode_tfs(p)) return p->rc;
    *docs = p->docs + p->i;
    *tfs = p->tfs + p->i;
    *n = p->n - p->i;
    *base = p->blk_base;
    *del = p->blk_del;
    return FT_OK;
}

int ft_postings_status(const ft_postings *p, ft_error *err)
{
    if (p->rc && err) *err = p->err;
    return p->rc;
}

/* Make sure the current segment is loaded; move past exhausted segments. */
static int ensure_segment(ft_postings *p)
{
    if (p->cur >= p->nst) return 0;
    if (!p->seg_loaded && load_segment(p)) return -1;
    return 1;
}

static uint32_t postings_next_raw(ft_postings *p)
{
    if (p->rc) return FT_DOC_END;
    if (p->started && p->doc == FT_DOC_END) return FT_DOC_END;
    p->started = 1;
    for (;;) {
        int r = ensure_segment(p);
        if (r < 0) return fail_cursor(p, p->rc);
        if (r == 0) return p->doc = FT_DOC_END;
        if (!p->blk_decoded) {
            if (decode_block(p, p->blk)) return fail_cursor(p, p->rc);
            p->i = 0;
        } else if (p->i == UINT32_MAX) {
            p->i = 0;
        } else if (p->i + 1 < p->n) {
            p->i++;
        } else if (p->blk + 1 < p->nblocks) {
            if (decode_block(p, p->blk + 1)) return fail_cursor(p, p->rc);
            p->i = 0;
        } else {
            p->cur++;
            p->seg_loaded = 0;
            p->blk_decoded = 0;
            continue;
        }
        return p->doc = p->st[p->cur].s->base + p->docs[p->i];
    }
}

/* The cursor's current document is deleted. */
static int cur_deleted(const ft_postings *p)
{
    return p->doc != FT_DOC_END && p->st[p->cur].s->del_bits && seg_deleted(p->st[p->cur].s, p->docs[p->i]);
}

uint32_t ft_postings_next(ft_postings *p)
{
    uint32_t d;
    do d = postings_next_raw(p);
    while (d != FT_DOC_END && cur_deleted(p));
    return d;
}

static uint32_t postings_advance_raw(ft_postings *p, uint32_t target);

uint32_t ft_postings_advance(ft_postings *p, uint32_t target)
{
    uint32_t d;
    if (p->blk_decoded && p->i != UINT32_MAX && p->started && p->doc != FT_DOC_END) {
        /* the common case of a conjunction: the target is in the decoded block */
        if (p->doc >= target) return p->doc;
        if (target <= p->blk_last) { /* fields of the decoded block: no chain of loads */
            uint32_t local = target - p->blk_base, i = p->i;
            const uint32_t *docs = p->docs;
            while (docs[i] < local) i++;
            p->i = i;
            d = p->doc = p->blk_base + docs[i];
            if (!p->blk_del || !(p->blk_del[docs[i] >> 3] >> (docs[i] & 7) & 1)) return d;
        } else {
            d = postings_advance_raw(p, target);
        }
    } else {
        d = postings_advance_raw(p, target);
    }
    while (d != FT_DOC_END && cur_deleted(p)) d = postings_next_raw(p);
    return d;
}

/* The first block of the current segment whose last document is >= local
 * (the caller knows one is): gallop from the decoded block or the hint, then
 * binary search over the skip table. */
static uint32_t find_block(ft_postings *p, uint32_t local)
{
    uint32_t b = p->blk_decoded && p->blk > p->hint ? p->blk : p->hint;
    if (p->blocks[b].last < local) {
        uint32_t lo = b, step = 1, hi = b + 1;
        while (hi < p->nblocks && p->blocks[hi].last < local) {
            lo = hi;
            step *= 2;
            hi = hi + step < p->nblocks ? hi + step : p->nblocks - 1;
            if (hi == lo) break;
        }
        while (lo + 1 < hi) {
            uint32_t mid = lo + (hi - lo) / 2;
            if (p->blocks[mid].last < local) lo = mid;
            else hi = mid;
        }
        b = hi;
    }
    p->hint = b;
    return b;
}

/* Move to the segment holding the first document >= target, loading its
 * tables (segments passed over leave the cursor's current document behind:
 * it must be moved before it is read again); *local is target within that
 * segment.  1 when there, 0 when no segment is left, -1 on an error. */
static int seek_segment(ft_postings *p, uint32_t target, uint32_t *local)
{
    for (;;) {
        int r = ensure_segment(p);
        if (r <= 0) return r;
        const segment *s = p->st[p->cur].s;
        *local = target > s->base ? target - s->base : 0;
        if (target < s->base + s->ndocs && p->blocks[p->nblocks - 1].last >= *local) return 1;
        p->cur++;
        p->seg_loaded = 0;
        p->blk_decoded = 0;
    }
}

static uint32_t postings_advance_raw(ft_postings *p, uint32_t target)
{
    if (p->rc) return FT_DOC_END;
    if (p->started && (p->doc == FT_DOC_END || p->doc >= target)) return p->doc;
    p->started = 1;
    uint32_t local;
    int r = seek_segment(p, target, &local);
    if (r < 0) return fail_cursor(p, p->rc);
    if (r == 0) return p->doc = FT_DOC_END;
    uint32_t b = find_block(p, local);
    if ((!p->blk_decoded || p->blk != b) && decode_block(p, b)) return fail_cursor(p, p->rc);
    uint32_t i = p->i == UINT32_MAX ? 0 : p->i;
    while (p->docs[i] < local) i++; /* the block's last doc is >= local */
    p->i = i;
    return p->doc = p->st[p->cur].s->base + p->docs[i];
}

/* Decode tf positions (gaps: increasing) from q into p->pos (room for tf
 * made by the caller); nonzero when the bytes are not tf of them. */
static int read_positions(ft_postings *p, const uint8_t *q, const uint8_t *end, uint32_t tf)
{
    uint64_t v = 0;
    for (uint32_t k = 0; k < tf; k++) {
        uint32_t g;
        if (ft_varint_get32(&q, end, &g) || (k > 0 && g == 0) || v + g > UINT32_MAX) return -1;
        v += g;
        p->pos[k] = (uint32_t)v;
    }
    return 0;
}

int ft_postings_positions(ft_postings *p, const uint32_t **pos, uint32_t *n)
{
    *pos = NULL;
    *n = 0;
    if (p->rc) return p->rc;
    if (!p->started || p->doc == FT_DOC_END) return FT_EINVAL;
    const segment *s = p->st[p->cur].s;
    const block_meta *m = &p->blocks[p->blk];
    const frame_meta *fm = &p->frames[m->frame];
    const char *path = s->f[F_POS].path;
    uint64_t off = (uint64_t)(fm->p - s->f[F_POS].p);
    if (!p->pos_blk_ready) {
        const uint8_t *raw = pos_frame(p, s, fm->p, fm->plen, fm->praw);
        if (!raw) return p->rc;
        p->pos_base = raw + m->poff;
        p->pend = p->pos_base + m->plen;
        p->pos_blk_ready = 1;
        p->pp = p->pos_base;
        p->pos_i = 0;
    }
    if (p->pos_i > p->i) { /* rewind to the start of the block */
        p->pp = p->pos_base;
        p->pos_i = 0;
    }
    if (!p->tfs_ready && decode_tfs(p)) return p->rc;
    /* skip the positions of earlier documents: count varint ends rather
     * than decoding values */
    uint64_t skip = 0;
    { /* locals: the loop would otherwise store pos_i on every step */
        uint32_t pi = p->pos_i, to = p->i;
        const uint32_t *tfs = p->tfs;
        while (pi < to) skip += tfs[pi++];
        p->pos_i = pi;
    }
    if (skip) {
        const uint8_t *q = ft_varints_skip(p->pp, p->pend, skip);
        if (!q) goto bad;
        p->pp = q;
    }
    uint32_t tf = p->tfs[p->i];
    if (p->pos_have == p->i + 1) { /* asked again (a phrase's pre-check, then the phrase) */
        *pos = p->pos;
        *n = tf;
        return FT_OK;
    }
    if (pos_room(p, tf)) return p->rc;
    if (read_positions(p, p->pp, p->pend, tf)) goto bad;
    p->pos_have = p->i + 1;
    *pos = p->pos;
    *n = tf;
    return FT_OK;
bad:
    return p->rc = ft_corrupt(&p->err, path, off, "bad positions block");
}

/* The sum of the eight bytes of w (each below 0x80). */
static inline uint64_t bytes_sum(uint64_t w)
{
    const uint64_t lanes = 0x00ff00ff00ff00ffull;
    uint64_t t = (w & lanes) + (w >> 8 & lanes); /* four 16-bit sums */
    return t * 0x0001000100010001ull >> 48;
}

/* The sum of the n frequencies (varints, none zero) at *pq, eight at a time
 * while they are one byte each; *pq moves past them.  Nonzero when the
 * bytes are not n frequencies. */
static int tfs_sum(const uint8_t **pq, const uint8_t *end, uint32_t n, uint64_t *sum)
{
    const uint8_t *q = *pq;
    uint64_t s = 0, w8;
    for (uint32_t k = 0; k < n;) {
        if (n - k >= 8 && end - q >= 8 && !((w8 = ft_get_u64le(q)) & 0x8080808080808080ull)) {
            if ((w8 - 0x0101010101010101ull) & ~w8 & 0x8080808080808080ull) return -1; /* a zero */
            s += bytes_sum(w8);
            q += 8;
            k += 8;
            continue;
        }
        uint32_t v;
        if (ft_varint_get32(&q, end, &v) || v == 0) return -1;
        s += v;
        k++;
    }
    *pq = q;
    *sum = s;
    return 0;
}

int ft_postings_locate_(ft_postings *p, ft_posting_loc *l)
{
    memset(l, 0, sizeof *l); /* no segment: no positions */
    if (p->rc || !p->started || p->doc == FT_DOC_END) return -1;
    if (!p->tfs_ready && decode_tfs(p)) return -1;
    /* the frequencies before the posting: four running sums, from the
     * block's last locator (hits come in document order) */
    uint32_t i = p->i, k = 0, a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    if (p->loc_k <= i) {
        k = p->loc_k;
        a0 = p->loc_sum;
    }
    const uint32_t *tfs = p->tfs;
#if FT_SSE2
    __m128i acc = _mm_setzero_si128();
    for (; k + 4 <= i; k += 4) acc = _mm_add_epi32(acc, _mm_loadu_si128((const __m128i *)(const void *)(tfs + k)));
    uint32_t lane[4];
    _mm_storeu_si128((__m128i *)(void *)lane, acc);
    a1 = lane[0] + lane[1];
    a2 = lane[2];
    a3 = lane[3];
#else
    for (; k + 4 <= i; k += 4) {
        a0 += tfs[k];
        a1 += tfs[k + 1];
        a2 += tfs[k + 2];
        a3 += tfs[k + 3];
    }
#endif
    for (; k < i; k++) a0 += tfs[k];
    uint32_t before = a0 + a1 + a2 + a3;
    p->loc_k = i;
    p->loc_sum = before;
    const block_meta *m = &p->blocks[p->blk];
    const frame_meta *fm = &p->frames[m->frame];
    *l = (ft_posting_loc){p->st[p->cur].s, fm->p, fm->plen, fm->praw, m->poff, m->plen, before, tfs[i]};
    return 0;
}

int ft_positions_reader_(const ft_index *ix, ft_postings **out, ft_error *err)
{
    *out = postings_new(ix);
    return *out ? FT_OK : ft_error_set(err, FT_ENOMEM, "out of memory");
}

/* The frame of l unpacked in p (kept for the next locator of the same
 * frame), and its block checked to lie within. */
static int frame_at(ft_postings *p, const ft_posting_loc *l)
{
    const segment *s = l->seg_;
    if (!pos_frame(p, s, l->frame_, l->flen_, l->fraw_)) return p->rc;
    if ((uint64_t)l->off_ + l->len_ > (l->fraw_ ? l->fraw_ : l->flen_))
        return p->rc = ft_corrupt(&p->err, s->f[F_POS].path, (uint64_t)(l->frame_ - s->f[F_POS].p),
                                  "positions block out of its frame");
    return FT_OK;
}

int ft_postings_prefetch_at_(ft_postings *p, const ft_posting_loc *l)
{
    if (p->rc || !l->seg_) return p->rc;
    if (frame_at(p, l)) return p->rc;
    __builtin_prefetch(p->pfr_raw + l->off_);
    return FT_OK;
}

int ft_postings_positions_at_(ft_postings *p, const ft_posting_loc *l, const uint32_t **pos, uint32_t *n)
{
    *pos = NULL;
    *n = 0;
    if (p->rc) return p->rc;
    const segment *s = l->seg_;
    if (!s) return FT_OK; /* the search could not note it (its error is the search's) */
    const char *path = s->f[F_POS].path;
    uint64_t off = (uint64_t)(l->frame_ - s->f[F_POS].p);
    if (frame_at(p, l) || pos_room(p, l->tf)) return p->rc;
    const uint8_t *pb = p->pfr_raw + l->off_, *pe = pb + l->len_;
    if (!(pb = ft_varints_skip(pb, pe, l->before)) || read_positions(p, pb, pe, l->tf))
        return p->rc = ft_corrupt(&p->err, path, off, "bad positions block");
    *pos = p->pos;
    *n = l->tf;
    return FT_OK;
}

int ft_postings_positions_of(ft_postings *p, uint32_t doc, const uint32_t **pos, uint32_t *n)
{
    *pos = NULL;
    *n = 0;
    if (p->rc) return p->rc;
    uint32_t local;
    int r = seek_segment(p, doc, &local);
    if (r < 0) return p->rc;
    if (r == 0 || doc < p->st[p->cur].s->base) return 0;
    const segment *s = p->st[p->cur].s;
    uint32_t b = find_block(p, local);
    if (p->blk_decoded && p->blk == b) { /* a list of one block, decoded at load */
        uint32_t i = 0;
        while (p->docs[i] < local) i++;
        if (p->docs[i] != local || seg_deleted(s, local)) return 0;
        p->i = i;
        p->started = 1;
        p->doc = doc;
        int rc = ft_postings_positions(p, pos, n);
        p->doc = FT_DOC_END; /* the cursor serves only further lookups */
        return rc ? rc : 1;
    }
    if (seg_deleted(s, local)) return 0;
    const block_meta *m = &p->blocks[b];
    const frame_meta *fm = &p->frames[m->frame];
    const char *path = s->f[F_PST].path;
    uint64_t off = (uint64_t)(fm->d - s->f[F_PST].p);
    p->blk_decoded = 0; /* p->docs and p->tfs are not this block's */
    p->pos_blk_ready = 0;
    p->pos_have = 0;
    const uint8_t *raw = doc_frame(p, s, fm);
    if (!raw) return p->rc;
    /* the gaps up to doc, the rest skipped, then the frequencies up to its
     * own; eight one-byte values at a time while doc is not among them */
    const uint8_t *q = raw + m->doff, *end = q + m->dlen;
    uint64_t d = b > 0 ? (uint64_t)p->blocks[b - 1].last + 1 : 0; /* next possible document */
    uint32_t i = 0, g;
    for (;; i++) {
        uint64_t w8;
        while (m->count - i >= 8 && end - q >= 8 && !((w8 = ft_get_u64le(q)) & 0x8080808080808080ull)) {
            uint64_t last = d + bytes_sum(w8) + 7; /* the eighth document */
            if (last >= local) break;
            d = last + 1;
            q += 8;
            i += 8;
        }
        if (i == m->count || ft_varint_get32(&q, end, &g)) goto bad;
        d += g;
        if (d >= local) break;
        d++;
    }
    if (d != local) return 0;
    if (!(q = ft_varints_skip(q, end, m->count - 1 - i))) goto bad;
    uint64_t before;
    uint32_t tf;
    if (tfs_sum(&q, end, i, &before) || ft_varint_get32(&q, end, &tf) || tf == 0) goto bad;
    if (pos_room(p, tf) || !(raw = pos_frame(p, s, fm->p, fm->plen, fm->praw))) return p->rc;
    path = s->f[F_POS].path;
    off = (uint64_t)(fm->p - s->f[F_POS].p);
    const uint8_t *pb = raw + m->poff, *pe = pb + m->plen;
    if (!(pb = ft_varints_skip(pb, pe, before)) || read_positions(p, pb, pe, tf))
        return p->rc = ft_corrupt(&p->err, path, off, "bad positions block");
    *pos = p->pos;
    *n = tf;
    return 1;
bad:
    return p->rc = ft_corrupt(&p->err, path, off, "bad posting block");
}

void ft_postings_block_info(ft_postings *p, uint32_t *last_doc, uint32_t *max_tf, uint32_t *min_len)
{
    if (!p->started || p->doc == FT_DOC_END || !p->seg_loaded) {
        *last_doc = FT_DOC_END;
        *max_tf = 0;
        *min_len = UINT32_MAX;
        return;
    }
    const block_meta *m = &p->blocks[p->blk];
    *last_doc = p->st[p->cur].s->base + m->last;
    *max_tf = m->imp[m->nimp - 1].tf;
    *min_len = m->imp[0].len;
}

uint32_t ft_postings_shallow(ft_postings *p, uint32_t target, const ft_impact **imp, unsigned *n)
{
    *imp = NULL;
    *n = 0;
    if (p->rc || (p->started && p->doc == FT_DOC_END)) return FT_DOC_END;
    if (p->started && p->doc >= target) {
        const block_meta *m = &p->blocks[p->blk];
        *imp = m->imp;
        *n = m->nimp;
        return p->st[p->cur].s->base + m->last;
    }
    uint32_t local;
    int r = seek_segment(p, target, &local);
    if (r < 0) return fail_cursor(p, p->rc);
    if (r == 0) return FT_DOC_END;
    const block_meta *m = &p->blocks[find_block(p, local)];
    *imp = m->imp;
    *n = m->nimp;
    return p->st[p->cur].s->base + m->last;
}

void ft_postings_list_info(const ft_postings *p, uint32_t *max_tf, uint32_t *min_len)
{
    *max_tf = p->list_max_tf;
    *min_len = p->list_min_len;
}

/* ------------------------------------------------------------------ term iteration */

int ft_index_terms(const ft_index *ix, ft_term_fn fn, void *ctx, ft_error *err)
{
    return ft_index_terms_range_(ix, 0, ix->nsegs, fn, ctx, err);
}

/* Position each segment's dictionary at its first term >= prefix (the
 * first term when prefix is NULL); live[i] says whether it has one. */
static int terms_seek(const segment *s, tid_iter *it, const char *prefix, size_t plen, int *live, ft_error *err)
{
    int rc;
    it->s = s;
    *live = 0;
    if (s->nblocks == 0) return FT_OK;
    uint64_t lo = 0, hi = s->nblocks;
    while (prefix && hi - lo > 1) { /* last block whose first term < prefix */
        uint64_t mid = lo + (hi - lo) / 2;
        if ((rc = tid_seek_block(it, mid, err))) return rc;
        int r = tid_next(it, err);
        if (r < 0) return r;
        if (r == 1 && cmp_bytes(it->term, it->len, (const uint8_t *)prefix, plen) < 0) lo = mid;
        else hi = mid;
    }
    if ((rc = tid_seek_block(it, lo, err))) return rc;
    for (;;) {
        int r = tid_next(it, err);
        if (r == 0 && it->ordinal < s->nterms) {
            if ((rc = tid_seek_block(it, it->block + 1, err))) return rc;
            r = tid_next(it, err);
        }
        if (r <= 0) return r;
        if (!prefix || cmp_bytes(it->term, it->len, (const uint8_t *)prefix, plen) >= 0) {
            *live = 1;
            return FT_OK;
        }
    }
}

/* Merge the dictionaries of segments [first, end) in term order, summing
 * df; with a prefix, only the terms that start with it. */
static int terms_merge(const ft_index *ix, unsigned first, unsigned end, const char *prefix, size_t plen,
                       ft_term_fn fn, void *ctx, ft_error *err)
{
    if (end > ix->nsegs) end = ix->nsegs;
    if (first >= end) return FT_OK;
    unsigned n = end - first;
    tid_iter *its = calloc(n, sizeof *its);
    int *live = calloc(n, sizeof *live);
    int rc = FT_OK;
    if (!its || !live) { rc = ft_error_set(err, FT_ENOMEM, "out of memory"); goto out; }
    for (unsigned i = 0; i < n; i++)
        if ((rc = terms_seek(&ix->segs[first + i], &its[i], prefix, plen, &live[i], err))) goto out;
    for (;;) {
        int best = -1;
        for (unsigned i = 0; i < n; i++) {
            if (!live[i]) continue;
            if (prefix && (its[i].len < plen || memcmp(its[i].term, prefix, plen))) {
                live[i] = 0;
                continue;
            }
            if (best < 0 || cmp_bytes(its[i].term, its[i].len, its[best].term, its[best].len) < 0) best = (int)i;
        }
        if (best < 0) break;
        uint8_t term[512];
        size_t len = its[best].len;
        memcpy(term, its[best].term, len);
        uint32_t df = 0;
        for (unsigned i = 0; i < n; i++) {
            if (!live[i] || cmp_bytes(its[i].term, its[i].len, term, len)) continue;
            df += its[i].ti.df;
            int r = tid_next(&its[i], err);
            if (r == 0 && its[i].ordinal < its[i].s->nterms) {
                if ((rc = tid_seek_block(&its[i], its[i].block + 1, err))) goto out;
                r = tid_next(&its[i], err);
            }
            if (r < 0) { rc = r; goto out; }
            live[i] = r;
        }
        if (fn(ctx, (const char *)term, len, df)) break;
    }
out:
    free(its);
    free(live);
    return rc;
}

int ft_index_terms_range_(const ft_index *ix, unsigned first, unsigned end, ft_term_fn fn, void *ctx,
                          ft_error *err)
{
    return terms_merge(ix, first, end, NULL, 0, fn, ctx, err);
}

/* ------------------------------------------------------------------ document store */

struct ft_docbuf {
    ft_buf raw;
    const segment *seg;
    uint32_t block;
    int valid;
};

ft_docbuf *ft_docbuf_new(void)
{
    ft_docbuf *b = calloc(1, sizeof *b);
    if (b) ft_buf_init(&b->raw);
    return b;
}

void ft_docbuf_free(ft_docbuf *b)
{
    if (!b) return;
    ft_buf_free(&b->raw);
    free(b);
}

/* The fields of record local of a store block whose first record is
 * document first: -1 when the block is malformed. */
static int find_record(const uint8_t *data, size_t dlen, uint32_t first, uint32_t local, const uint8_t *field[4],
                       uint64_t fl[4])
{
    const uint8_t *q = data, *end = data + dlen;
    for (uint32_t d = first; d < local; d++) /* records before: lengths only */
        for (int k = 0; k < 4; k++) {
            uint64_t l;
            if (vget(&q, end, &l) || l > (size_t)(end - q)) return -1;
            q += l;
        }
    for (int k = 0; k < 4; k++) {
        if (vget(&q, end, &fl[k]) || fl[k] > (size_t)(end - q)) return -1;
        field[k] = q;
        q += fl[k];
    }
    return 0;
}

typedef struct rec_copy {
    uint32_t first, local;
    ft_buf *dst;
    uint64_t len[4];
} rec_copy;

/* ft_fcache_with callback: copy record local's four fields, back to back,
 * into dst.  0, or 1 when the block is malformed, 2 out of memory. */
static int copy_record(void *ctx, const uint8_t *data, uint32_t len)
{
    rec_copy *c = ctx;
    const uint8_t *field[4];
    if (find_record(data, len, c->first, c->local, field, c->len)) return 1;
    ft_buf_reset(c->dst);
    for (int k = 0; k < 4; k++) ft_buf_append(c->dst, field[k], c->len[k]);
    return c->dst->failed ? 2 : 0;
}

int ft_index_doc(const ft_index *ix, uint32_t doc, ft_docbuf *buf, ft_doc *out, ft_error *err)
{
    memset(out, 0, sizeof *out);
    if (doc >= ix->ndocs) return ft_error_set(err, FT_ENOTFOUND, "no document number %u", doc);
    const segment *s = NULL;
    for (unsigned i = 0; i < ix->nsegs; i++)
        if (doc >= ix->segs[i].base && doc < ix->segs[i].base + ix->segs[i].ndocs) s = &ix->segs[i];
    if (!s) return ft_error_set(err, FT_ENOTFOUND, "no document number %u", doc);
    uint32_t local = doc - s->base;
    const mfile *f = &s->f[F_STO];
    /* last block whose first document <= local */
    uint32_t lo = 0, hi = s->sto_nblocks;
    if (hi == 0) return ft_corrupt(err, f->path, s->sto_data_end, "store has no blocks");
    while (hi - lo > 1) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (ft_get_u32le(s->sto_index + (size_t)mid * STO_INDEX_ENTRY + 16) <= local) lo = mid;
        else hi = mid;
    }
    const uint8_t *e = s->sto_index + (size_t)lo * STO_INDEX_ENTRY;
    uint64_t off = ft_get_u64le(e);
    uint32_t slen = ft_get_u32le(e + 8), raw = ft_get_u32le(e + 12), first = ft_get_u32le(e + 16);
    if (off < FT_HDR_SIZE || off > s->sto_data_end || slen > s->sto_data_end - off || first > local)
        return ft_corrupt(err, f->path, (uint64_t)(e - f->p), "bad store index entry");
    const uint8_t *data;
    size_t dlen;
    if (raw == 0) {
        data = f->p + off;
        dlen = slen;
    } else {
        if (!(buf->valid && buf->seg == s && buf->block == lo)) {
            /* a cached block: copy out the one record, not the whole block */
            rec_copy rc_ = {first, local, &buf->raw, {0}};
            int crc = 0;
            if (ft_fcache_with(ix->fcache, (uintptr_t)(f->p + off), raw, copy_record, &rc_, &crc)) {
                buf->valid = 0; /* raw holds a record, not the block */
                if (crc == 2) return ft_error_set(err, FT_ENOMEM, "out of memory");
                if (crc) return ft_corrupt(err, f->path, off, "bad stored document record");
                const char *r = buf->raw.p ? (const char *)buf->raw.p : ""; /* all fields empty */
                out->id = r;
                out->id_len = rc_.len[0];
                out->title = r + rc_.len[0];
                out->title_len = rc_.len[1];
                out->body = r + rc_.len[0] + rc_.len[1];
                out->body_len = rc_.len[2];
                out->marks = (const uint8_t *)r + rc_.len[0] + rc_.len[1] + rc_.len[2];
                out->marks_len = rc_.len[3];
                return FT_OK;
            }
            buf->valid = 0;
            ft_buf_reset(&buf->raw);
            if (ft_buf_reserve(&buf->raw, raw)) return ft_error_set(err, FT_ENOMEM, "out of memory");
            ZSTD_DCtx *dctx = NULL;
            int rc = frame_decompress(ix, &dctx, buf->raw.p, raw, f->p + off, slen);
            dctx_return(ix, dctx);
            if (rc == FT_ENOMEM) return ft_error_set(err, FT_ENOMEM, "out of memory");
            if (rc) return ft_corrupt(err, f->path, off, "store block does not decompress");
            buf->raw.len = raw;
            buf->valid = 1;
            buf->seg = s;
            buf->block = lo;
        }
        data = buf->raw.p;
        dlen = buf->raw.len;
    }
    const uint8_t *field[4];
    uint64_t fl[4];
    if (find_record(data, dlen, first, local, field, fl)) return ft_corrupt(err, f->path, off, "bad stored document record");
    out->id = (const char *)field[0];
    out->id_len = fl[0];
    out->title = (const char *)field[1];
    out->title_len = fl[1];
    out->body = (const char *)field[2];
    out->body_len = fl[2];
    out->marks = field[3];
    out->marks_len = fl[3];
    return FT_OK;
}

/* Walk d's marks up to the last at or before position target whose offset
 * is below limit (*pos, *off; 0 and 0 when none): 1, or 0 when the record
 * has no marks, -1 when they are malformed (a gap of 0, an offset outside the
 * body or not after white space) before the walk ended, -2 when body0 is. */
static int marks_walk(const ft_doc *d, uint32_t target, size_t limit, uint32_t *body0, uint32_t *pos, size_t *off)
{
    *pos = 0;
    *off = 0;
    const uint8_t *q = d->marks, *end = d->marks + d->marks_len;
    uint32_t b0;
    if (!d->marks_len) return 0;
    if (ft_varint_get32(&q, end, &b0)) return -2;
    *body0 = b0;
    uint64_t p = 0, o = 0;
    while (q < end) {
        uint32_t dp, dof; /* marks exist only in records under 1 MiB */
        if (ft_varint_get32(&q, end, &dp) || ft_varint_get32(&q, end, &dof) || dp == 0 || dof == 0) return -1;
        p += dp;
        o += dof;
        if (o >= d->body_len || p > UINT32_MAX) return -1;
        if (!ft_ascii_space((unsigned char)d->body[o - 1])) return -1;
        if (p > target || o >= limit) return 1;
        *pos = (uint32_t)p;
        *off = (size_t)o;
    }
    return 1;
}

int ft_doc_mark(const ft_doc *d, uint32_t target, size_t limit, uint32_t *body0, uint32_t *pos, size_t *off)
{
    int r = marks_walk(d, target, limit, body0, pos, off);
    return r == 1 || r == -1; /* damaged: the marks before the damage */
}

/* A record's marks are well formed (ftindex check). */
static int marks_valid(const ft_doc *d)
{
    uint32_t b0, pos;
    size_t off;
    return marks_walk(d, UINT32_MAX, SIZE_MAX, &b0, &pos, &off) >= 0;
}

/* ------------------------------------------------------------------ integrity check */

/* Walk one term's postings in one segment, checking every invariant. */
static int check_term(const ft_index *ix, const segment *s, const tid_iter *it, ft_error *err)
{
    ft_postings p;
    memset(&p, 0, sizeof p);
    seg_term st = {s, it->ti};
    p.ix = ix;
    p.nocache = 1; /* a check reads every table from the file */
    p.st = &st;
    p.nst = 1;
    p.doc = FT_DOC_END;
    ft_buf_init(&p.dbuf);
    ft_buf_init(&p.pbuf);
    uint32_t count = 0, prev = 0, deleted = 0;
    uint64_t cf = 0;
    int rc = FT_OK;
    uint32_t d;
    while ((d = postings_next_raw(&p)) != FT_DOC_END) {
        deleted += seg_deleted(s, d - s->base);
        if (count && d <= prev) {
            rc = ft_corrupt(err, s->f[F_PST].path, it->ti.pst_off, "document numbers not increasing");
            break;
        }
        prev = d;
        count++;
        cf += ft_postings_tf(&p);
        const uint32_t *pos;
        uint32_t n;
        if (ft_postings_positions(&p, &pos, &n)) break;
        for (uint32_t k = 1; k < n; k++)
            if (pos[k] <= pos[k - 1]) {
                rc = ft_corrupt(err, s->f[F_POS].path, it->ti.pos_off, "positions not increasing");
                break;
            }
        if (rc) break;
    }
    if (!rc && p.rc) {
        rc = p.rc;
        if (err) *err = p.err;
    }
    if (!rc && (count != it->ti.df || cf != it->ti.cf))
        rc = ft_corrupt(err, s->f[F_TID].path, 0, "document or occurrence count disagrees with the postings");
    if (!rc && s->del_bits && deleted != seg_correction(s, it->term, it->len))
        rc = ft_corrupt(err, s->del.path, 0, "df correction disagrees with the deleted documents' postings");
    p.st = NULL; /* on the stack */
    postings_release(&p);
    return rc;
}

int ft_index_check(const char *dir, ft_error *err)
{
    ft_index *ix;
    int rc = ft_index_open(dir, &ix, err);
    if (rc) return rc;
    for (unsigned i = 0; i < ix->nsegs && !rc; i++) {
        const segment *s = &ix->segs[i];
        for (int k = 0; k < FT_SEG_NFILES && !rc; k++)
            if (XXH64(s->f[k].p, s->f[k].size, 0) != s->f[k].xxh)
                rc = ft_error_set(err, FT_ECORRUPT, "%s: checksum mismatch (file damaged)", s->f[k].path);
        if (rc) break;
        /* ids: sorted, every document exactly once */
        const mfile *di = &s->f[F_IDS];
        uint8_t *seen_doc = calloc((size_t)s->ndocs / 8 + 1, 1);
        if (!seen_doc) rc = ft_error_set(err, FT_ENOMEM, "out of memory");
        const uint8_t *pid = NULL;
        uint64_t pid_len = 0;
        for (uint32_t k = 0; k < s->ndocs && !rc; k++) {
            uint64_t off = ft_get_u64le(s->ids_table + (size_t)k * 8), len, doc;
            const uint8_t *q = di->p + (off < s->ids_data_end ? off : 0), *end = di->p + s->ids_data_end;
            if (off < FT_HDR_SIZE || off >= s->ids_data_end || ft_varint_get(&q, end, &len) || len == 0 ||
                len > (uint64_t)(end - q)) {
                rc = ft_corrupt(err, di->path, off, "bad id record");
                break;
            }
            const uint8_t *id = q;
            q += len;
            if (ft_varint_get(&q, end, &doc) || doc >= s->ndocs || (seen_doc[doc >> 3] >> (doc & 7) & 1) ||
                (pid && cmp_bytes(pid, pid_len, id, len) > 0)) {
                rc = ft_corrupt(err, di->path, off, "id records not sorted or a document listed twice");
                break;
            }
            seen_doc[doc >> 3] |= (uint8_t)(1u << (doc & 7));
            pid = id;
            pid_len = len;
        }
        free(seen_doc);
        if (!rc && s->del.path && XXH64(s->del.p, s->del.size, 0) != s->del.xxh)
            rc = ft_error_set(err, FT_ECORRUPT, "%s: checksum mismatch (file damaged)", s->del.path);
        if (rc) break;
        /* dictionary order and postings */
        tid_iter it;
        memset(&it, 0, sizeof it);
        it.s = s;
        uint8_t prev[512];
        size_t prev_len = 0;
        uint64_t seen = 0, tokens = 0;
        for (uint64_t b = 0; b < s->nblocks && !rc; b++) {
            if ((rc = tid_seek_block(&it, b, err))) break;
            int r;
            while ((r = tid_next(&it, err)) == 1) {
                if (seen && cmp_bytes(prev, prev_len, it.term, it.len) >= 0) {
                    rc = ft_corrupt(err, s->f[F_TID].path, (uint64_t)(it.p - s->f[F_TID].p), "terms not in order");
                    break;
                }
                memcpy(prev, it.term, it.len);
                prev_len = it.len;
                seen++;
                tokens += it.ti.cf;
                if ((rc = check_term(ix, s, &it, err))) break;
            }
            if (r < 0 && !rc) rc = r;
        }
        if (!rc && seen != s->nterms)
            rc = ft_corrupt(err, s->f[F_TID].path, s->f[F_TID].size - TID_FOOTER, "term count disagrees with the footer");
        uint64_t lsum = 0;
        for (uint32_t d = 0; d < s->ndocs; d++) lsum += ix->lens[s->base + d];
        if (!rc && (lsum != s->tokens || tokens != s->tokens))
            rc = ft_corrupt(err, s->f[F_LEN].path, FT_HDR_SIZE, "document lengths disagree with the postings");
        /* every stored document is readable */
        ft_docbuf *db = ft_docbuf_new();
        if (!db && !rc) rc = ft_error_set(err, FT_ENOMEM, "out of memory");
        for (uint32_t d = 0; d < s->ndocs && !rc; d++) {
            ft_doc doc;
            rc = ft_index_doc(ix, s->base + d, db, &doc, err);
            if (!rc && !marks_valid(&doc))
                rc = ft_error_set(err, FT_ECORRUPT, "%s: document %u: bad position marks in its record",
                                  s->f[F_STO].path, d);
        }
        ft_docbuf_free(db);
    }
    ft_index_close(ix);
    return rc;
}

/* ------------------------------------------------------------------ prefix scan (query side) */

int ft_index_terms_prefix(const ft_index *ix, const char *prefix, size_t plen, ft_term_fn fn, void *ctx,
                          ft_error *err)
{
    return terms_merge(ix, 0, ix->nsegs, prefix, plen, fn, ctx, err);
}

/* ------------------------------------------------------------------ internals for the writer */

void ft_index_segment_(const ft_index *ix, unsigned i, ft_seg_desc *d)
{
    const segment *s = &ix->segs[i];
    memset(d, 0, sizeof *d);
    d->name = s->name;
    d->ndocs = s->ndocs;
    d->base = s->base;
    d->ndeleted = s->ndeleted;
    d->block = s->block;
    d->frame = s->frame;
    d->tokens = s->tokens;
    for (int k = 0; k < FT_SEG_NFILES; k++) {
        const char *slash = strrchr(s->f[k].path, '/');
        d->file[k] = slash ? slash + 1 : s->f[k].path;
        d->size[k] = s->f[k].size;
        d->xxh[k] = s->f[k].xxh;
    }
    if (s->del.path) {
        const char *slash = strrchr(s->del.path, '/');
        d->del_file = slash ? slash + 1 : s->del.path;
        d->del_size = s->del.size;
        d->del_xxh = s->del.xxh;
    }
}

const uint8_t *ft_index_del_bits_(const ft_index *ix, unsigned i) { return ix->segs[i].del_bits; }

int ft_index_corrections_(const ft_index *ix, unsigned i, ft_corr_fn fn, void *ctx)
{
    const segment *s = &ix->segs[i];
    const uint8_t *end = s->del.p ? s->del.p + s->del.size - 4 : NULL;
    for (uint64_t k = 0; k < s->ncorr; k++) {
        const uint8_t *q = s->del.p + s->corr_off[k];
        uint64_t tl = 0, c = 0;
        ft_varint_get(&q, end, &tl); /* validated at open */
        const uint8_t *t = q;
        q += tl;
        ft_varint_get(&q, end, &c);
        int r = fn(ctx, t, tl, (uint32_t)c);
        if (r) return r;
    }
    return 0;
}

/* Decode id record k of segment s; 0 or -1 when damaged. */
static int id_record(const segment *s, uint64_t k, const uint8_t **id, uint64_t *len, uint64_t *doc)
{
    uint64_t off = ft_get_u64le(s->ids_table + k * 8);
    if (off < FT_HDR_SIZE || off >= s->ids_data_end) return -1;
    const uint8_t *q = s->f[F_IDS].p + off, *end = s->f[F_IDS].p + s->ids_data_end;
    if (ft_varint_get(&q, end, len) || *len > (uint64_t)(end - q)) return -1;
    *id = q;
    q += *len;
    if (ft_varint_get(&q, end, doc) || *doc >= s->ndocs) return -1;
    return 0;
}

uint32_t ft_index_find_id_(const ft_index *ix, unsigned i, const char *id, size_t len, uint32_t *docs, uint32_t max)
{
    const segment *s = &ix->segs[i];
    uint64_t lo = 0, hi = s->ndocs;
    while (lo < hi) { /* first record >= id */
        uint64_t mid = lo + (hi - lo) / 2, l, d;
        const uint8_t *t;
        if (id_record(s, mid, &t, &l, &d)) return 0;
        if (cmp_bytes(t, l, (const uint8_t *)id, len) < 0) lo = mid + 1;
        else hi = mid;
    }
    uint32_t n = 0;
    for (uint64_t k = lo; k < s->ndocs && n < max; k++) {
        uint64_t l, d;
        const uint8_t *t;
        if (id_record(s, k, &t, &l, &d) || cmp_bytes(t, l, (const uint8_t *)id, len)) break;
        docs[n++] = (uint32_t)d;
    }
    return n;
}

int ft_index_ids_(const ft_index *ix, unsigned i, ft_id_fn fn, void *ctx, ft_error *err)
{
    const segment *s = &ix->segs[i];
    for (uint64_t k = 0; k < s->ndocs; k++) {
        uint64_t l, d;
        const uint8_t *t;
        if (id_record(s, k, &t, &l, &d))
            return ft_corrupt(err, s->f[F_IDS].path, ft_get_u64le(s->ids_table + k * 8), "bad id record");
        int r = fn(ctx, (const char *)t, l, (uint32_t)d);
        if (r) return r;
    }
    return FT_OK;
}

int ft_index_get_stats(const ft_index *ix, ft_index_stats *st, ft_error *err)
{
    memset(st, 0, sizeof *st);
    st->segments = ix->nsegs;
    st->docs = ix->nlive;
    for (unsigned i = 0; i < ix->nsegs; i++) {
        const segment *s = &ix->segs[i];
        st->deleted += s->ndeleted;
        st->terms += s->nterms;
        st->bytes_dict += s->f[F_TID].size;
        st->bytes_postings += s->f[F_PST].size;
        st->bytes_positions += s->f[F_POS].size;
        st->bytes_lengths += s->f[F_LEN].size;
        st->bytes_store += s->f[F_STO].size;
        st->bytes_ids += s->f[F_IDS].size;
        st->bytes_deletes += s->del.size;
        /* postings and positions: df and cf of every dictionary entry */
        tid_iter it;
        memset(&it, 0, sizeof it);
        it.s = s;
        for (uint64_t b = 0; b < s->nblocks; b++) {
            int rc = tid_seek_block(&it, b, err), r;
            if (rc) return rc;
            while ((r = tid_next(&it, err)) == 1) {
                st->postings += it.ti.df;
                st->positions += it.ti.cf;
            }
            if (r < 0) return r;
        }
    }
    return FT_OK;
}

/* ------------------------------------------------------------------ merging support */

void ft_index_for_merge_(ft_index *ix)
{
    /* a merge reads every frame once: a cache would only hold memory */
    ft_fcache_free(ix->fcache);
    ix->fcache = NULL;
}

void ft_index_drop_pages_(const ft_index *ix, unsigned first, unsigned end)
{
    for (unsigned i = first; i < end && i < ix->nsegs; i++)
        for (int k = 0; k < FT_SEG_NFILES; k++)
            if (ix->segs[i].f[k].p && ix->segs[i].f[k].size)
                madvise((void *)ix->segs[i].f[k].p, ix->segs[i].f[k].size, MADV_DONTNEED);
}

int ft_index_terms_postings_(const ft_index *ix, unsigned first, unsigned end, ft_term_postings_fn fn, void *ctx,
                             ft_error *err)
{
    if (end > ix->nsegs) end = ix->nsegs;
    if (first >= end) return FT_OK;
    unsigned n = end - first;
    tid_iter *its = calloc(n, sizeof *its);
    int *live = calloc(n, sizeof *live);
    int rc = FT_OK;
    if (!its || !live) { rc = ft_error_set(err, FT_ENOMEM, "out of memory"); goto out; }
    for (unsigned i = 0; i < n; i++) {
        its[i].s = &ix->segs[first + i];
        if (ix->segs[first + i].nblocks == 0) continue;
        if ((rc = tid_seek_block(&its[i], 0, err))) goto out;
        int r = tid_next(&its[i], err);
        if (r < 0) { rc = r; goto out; }
        live[i] = r;
    }
    for (;;) {
        int best = -1;
        for (unsigned i = 0; i < n; i++)
            if (live[i] && (best < 0 || cmp_bytes(its[i].term, its[i].len, its[best].term, its[best].len) < 0))
                best = (int)i;
        if (best < 0) break;
        uint8_t term[512];
        size_t len = its[best].len;
        memcpy(term, its[best].term, len);
        /* a cursor over the segments holding the term, from the entries the
         * walk has just read: no dictionary lookups */
        ft_postings *p = calloc(1, sizeof *p);
        if (p) p->st = calloc(n, sizeof *p->st);
        if (!p || !p->st) {
            free(p);
            rc = ft_error_set(err, FT_ENOMEM, "out of memory");
            goto out;
        }
        p->ix = ix;
        p->doc = FT_DOC_END;
        p->list_min_len = UINT32_MAX;
        ft_buf_init(&p->dbuf);
        ft_buf_init(&p->pbuf);
        for (unsigned i = 0; i < n; i++) {
            if (!live[i] || cmp_bytes(its[i].term, its[i].len, term, len)) continue;
            const segment *s = its[i].s;
            uint32_t gone = s->ncorr ? seg_correction(s, term, len) : 0;
            if (gone < its[i].ti.df) {
                p->st[p->nst].s = s;
                p->st[p->nst].ti = its[i].ti;
                p->nst++;
                p->df += its[i].ti.df - gone;
                p->cf += its[i].ti.cf;
            }
            int r = tid_next(&its[i], err);
            if (r == 0 && its[i].ordinal < its[i].s->nterms) {
                if ((rc = tid_seek_block(&its[i], its[i].block + 1, err))) break;
                r = tid_next(&its[i], err);
            }
            if (r < 0) { rc = r; break; }
            live[i] = r;
        }
        int stop = rc ? 0 : fn(ctx, (const char *)term, len, p);
        ft_postings_close(p);
        if (rc || stop) break;
    }
out:
    free(its);
    free(live);
    return rc;
}
