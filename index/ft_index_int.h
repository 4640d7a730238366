/*
 * ft_index_int.h — internal to index/: on-disk constants shared by the writer,
 * the reader and the checker, and small file helpers.  docs/FORMAT.md is the
 * specification; this header must agree with it.
 */
#ifndef FT_INDEX_INT_H
#define FT_INDEX_INT_H

#include <stdio.h>
#include <string.h>
#include "ft_index.h"

/* Impact frontier of a block (see ft_impact): add (tf, len) to f[0..*n),
 * kept ordered by length with tf strictly increasing; f has room for every
 * distinct tf of the block.  O(frontier) per pair; most pairs are dominated
 * by the first entry and cost one comparison. */
static inline void ft_impact_add(ft_impact *f, unsigned *n, uint32_t tf, uint32_t len)
{
    unsigned j = 0, m = *n;
    while (j < m && f[j].tf < tf) j++;
    if (j < m && f[j].len <= len) return; /* a pair with tf' >= tf is as short */
    unsigned i = j;                       /* pairs before j with len >= len lose */
    while (i > 0 && f[i - 1].len >= len) i--;
    if (j < m && f[j].tf == tf) j++;      /* same tf, longer: replaced */
    /* f[i..j) is replaced by the new pair */
    if (j != i + 1) memmove(f + i + 1, f + j, (m - j) * sizeof *f);
    f[i].tf = tf;
    f[i].len = len;
    *n = m - (j - i) + 1;
}

/* Reduce a frontier to at most FT_IMPACTS pairs: contiguous groups become
 * (largest tf, smallest length) of the group, an upper bound of each. */
static inline void ft_impact_reduce(ft_impact *f, unsigned *n)
{
    unsigned m = *n;
    if (m <= FT_IMPACTS) return;
    for (unsigned g = 0; g < FT_IMPACTS; g++) {
        unsigned a = g * m / FT_IMPACTS, b = (g + 1) * m / FT_IMPACTS;
        f[g].len = f[a].len;
        f[g].tf = f[b - 1].tf;
    }
    *n = FT_IMPACTS;
}

#define FT_HDR_SIZE 8 /* magic[4] + u32 format version */

#define MAGIC_TID "FTTD"  /* term dictionary */
#define MAGIC_PST "FTPS"  /* postings: doc ids and tfs */
#define MAGIC_POS "FTPO"  /* positions */
#define MAGIC_LEN "FTLN"  /* document lengths */
#define MAGIC_STO "FTST"  /* document store */
#define MAGIC_IDS "FTID"  /* sorted document ids */
#define MAGIC_DEL "FTDL"  /* deletions of one segment, one generation */
#define MAGIC_IDS_END "FTIE"
#define MAGIC_DEL_END "FTDE"
#define MAGIC_TID_END "FTTE"
#define MAGIC_STO_END "FTSE"

#define TID_FOOTER 32       /* u64 nterms, u64 nblocks, u64 index_off, u32 per_block, magic */
#define TID_INDEX_ENTRY 24  /* u64 block_off, u64 pst_off, u64 pos_off */
#define STO_FOOTER 20       /* u64 index_off, u32 nblocks, u32 ndocs, magic */
#define IDS_FOOTER 20       /* u64 count, u64 table_off, magic */
#define STO_INDEX_ENTRY 20  /* u64 off, u32 stored_len, u32 raw_len (0: not compressed), u32 first_doc */

#define FT_TERMS_PER_BLOCK 32
#define FT_DEFAULT_BLOCK 128
#define FT_MAX_BLOCK 4096
#define FT_DEFAULT_FRAME 8
#define FT_MAX_FRAME 256
#define FT_STORE_BLOCK (16 * 1024)
#define FT_RAW_MIN 64 /* blocks whose raw size is below this are never compressed */
#define FT_MANIFEST "MANIFEST"
#define FT_MANIFEST_MAX (16 << 20)
#define FT_LOCK "LOCK"

static const char *const ft_seg_exts[] = {"tid", "pst", "pos", "len", "sto", "ids"};
#define FT_SEG_NFILES 6

/* The writer lock (lock.c): flock on the index directory itself, with the
 * holder's pid written to dir/LOCK for the message a second writer gets. */
int ft_lock_acquire(const char *dir, int *fd, ft_error *err);
void ft_lock_release(const char *dir, int fd);

/* Remove *.tmp files and seg-* files that the current MANIFEST does not name
 * (leftovers of a writer that died).  Call with the lock held. */
void ft_remove_unreferenced(const char *dir);

/* ---- reader internals used by the writer and the merger (reader.c) ---- */

/* Open a snapshot from manifest text instead of dir/MANIFEST. */
int ft_index_open_text_(const char *dir, const char *text, size_t len, ft_index **out, ft_error *err);
/* The segments of a snapshot. */
typedef struct ft_seg_desc {
    const char *name;
    uint32_t ndocs, base, ndeleted, block, frame;
    uint64_t tokens;
    const char *file[FT_SEG_NFILES]; /* base names */
    uint64_t size[FT_SEG_NFILES], xxh[FT_SEG_NFILES];
    const char *del_file;            /* NULL: no deletions */
    uint64_t del_size, del_xxh;
} ft_seg_desc;
void ft_index_segment_(const ft_index *ix, unsigned i, ft_seg_desc *d);
/* Deletion bitmap of segment i (bit d of byte d/8: local document d is
 * deleted), NULL when none. */
const uint8_t *ft_index_del_bits_(const ft_index *ix, unsigned i);
/* Correction list of segment i: calls fn for each (term, deleted documents
 * holding it) in term order. */
typedef int (*ft_corr_fn)(void *ctx, const uint8_t *term, size_t len, uint32_t count);
int ft_index_corrections_(const ft_index *ix, unsigned i, ft_corr_fn fn, void *ctx);
/* Local documents of segment i with this id (increasing), up to max; returns
 * the number found. */
uint32_t ft_index_find_id_(const ft_index *ix, unsigned i, const char *id, size_t len, uint32_t *docs,
                           uint32_t max);
/* Iterate the ids file of segment i in sorted order. */
typedef int (*ft_id_fn)(void *ctx, const char *id, size_t len, uint32_t doc);
int ft_index_ids_(const ft_index *ix, unsigned i, ft_id_fn fn, void *ctx, ft_error *err);
/* ft_index_terms restricted to segments [first, end). */
int ft_index_terms_range_(const ft_index *ix, unsigned first, unsigned end, ft_term_fn fn, void *ctx,
                          ft_error *err);
/* Merging: drop the frame cache (a merge reads everything once); release
 * the mapped pages of segments [first, end) read so far (they count in the
 * process's resident memory); walk the terms of segments [first, end) in
 * order with a cursor over them (built from the walk, no lookups; deleted
 * documents skipped).  fn returns non-zero to stop. */
void ft_index_for_merge_(ft_index *ix);
void ft_index_drop_pages_(const ft_index *ix, unsigned first, unsigned end);
/* Tests: invert documents in chunks of this many tokens (SIZE_MAX: each
 * document whole), instead of the default 65,536. */
void ft_writer_set_chunk_(ft_writer *w, size_t tokens);
/* Tests: spill the open document's positions once at least this many bytes
 * of them are held and the budget is passed (SIZE_MAX: never; 0: the
 * default, a quarter of the budget up to 4 MiB). */
void ft_writer_set_spill_(ft_writer *w, size_t min_bytes);
/* Tests: runs of positions the writer has spilled. */
uint64_t ft_writer_spills_(const ft_writer *w);
/* Tests: store every large record (1 MiB or more) raw, as when compressing
 * it does not pay. */
void ft_writer_set_store_raw_(ft_writer *w, int raw);
typedef int (*ft_term_postings_fn)(void *ctx, const char *term, size_t len, ft_postings *p);
int ft_index_terms_postings_(const ft_index *ix, unsigned first, unsigned end, ft_term_postings_fn fn, void *ctx,
                             ft_error *err);
/* ft_postings_open restricted to segments [first, end). */
int ft_postings_open_range_(const ft_index *ix, unsigned first, unsigned end, const char *term, size_t len,
                            ft_postings **out, ft_error *err);

/* decompressed-frame cache (fcache.c); every function accepts NULL */
typedef struct ft_fcache ft_fcache;
ft_fcache *ft_fcache_new(size_t budget_bytes); /* NULL when budget is 0 */
void ft_fcache_free(ft_fcache *c);
void ft_fcache_put(ft_fcache *c, uintptr_t key, const uint8_t *data, uint32_t len);
/* On a hit, the cached frame itself, pinned (never replaced) until
 * ft_fcache_unpin(c, *pin); NULL on a miss. */
const uint8_t *ft_fcache_pin(ft_fcache *c, uintptr_t key, uint32_t len, void **pin);
void ft_fcache_unpin(ft_fcache *c, void *pin);
/* ft_fcache_unpin(c, old) and ft_fcache_pin(...) under one lock. */
const uint8_t *ft_fcache_repin(ft_fcache *c, void *old, uintptr_t key, uint32_t len, void **pin);
/* On a hit, run fn on the cached frame in place (under the cache's lock: fn
 * must be short and must not call the cache) and return 1 with fn's result
 * in *rc; 0 on a miss.  For readers that need a small part of a large frame
 * (one stored document of a 16 KiB store block). */
int ft_fcache_with(ft_fcache *c, uintptr_t key, uint32_t len, int (*fn)(void *ctx, const uint8_t *data, uint32_t len),
                   void *ctx, int *rc);
void ft_fcache_stats(const ft_fcache *c, uint64_t *hits, uint64_t *misses, size_t *bytes);

/* file helpers (fileio.c) */
int ft_write_all(int fd, const void *p, size_t n, const char *path, ft_error *err);
int ft_fsync_dir(const char *dir, ft_error *err);
int ft_read_file(const char *path, size_t max, char **out, size_t *len, ft_error *err);
uint64_t ft_xxh64_file_map(const void *p, size_t n);

#endif
