/*
 * ft_index_int.h — internal to index/: on-disk constants shared by the writer,
 * the reader and the checker, and small file helpers.  docs/FORMAT.md is the
 * specification; this header must agree with it.
 */
#ifndef FT_INDEX_INT_H
#define FT_INDEX_INT_H

#include <stdio.h>
#include "ft_index.h"

#define FT_HDR_SIZE 8 /* magic[4] + u32 format version */

#define MAGIC_TID "FTTD"  /* term dictionary */
#define MAGIC_PST "FTPS"  /* postings: doc ids and tfs */
#define MAGIC_POS "FTPO"  /* positions */
#define MAGIC_LEN "FTLN"  /* document lengths */
#define MAGIC_STO "FTST"  /* document store */
#define MAGIC_TID_END "FTTE"
#define MAGIC_STO_END "FTSE"

#define TID_FOOTER 32       /* u64 nterms, u64 nblocks, u64 index_off, u32 per_block, magic */
#define TID_INDEX_ENTRY 24  /* u64 block_off, u64 pst_off, u64 pos_off */
#define STO_FOOTER 20       /* u64 index_off, u32 nblocks, u32 ndocs, magic */
#define STO_INDEX_ENTRY 20  /* u64 off, u32 stored_len, u32 raw_len (0: not compressed), u32 first_doc */

#define FT_TERMS_PER_BLOCK 32
#define FT_DEFAULT_BLOCK 128
#define FT_MAX_BLOCK 4096
#define FT_DEFAULT_FRAME 8
#define FT_MAX_FRAME 256
#define FT_STORE_BLOCK (16 * 1024)
#define FT_RAW_MIN 64 /* blocks whose raw size is below this are never compressed */
#define FT_MANIFEST "MANIFEST"
#define FT_MANIFEST_MAX (1 << 20)

static const char *const ft_seg_exts[] = {"tid", "pst", "pos", "len", "sto"};
#define FT_SEG_NFILES 5

/* decompressed-frame cache (fcache.c); every function accepts NULL */
typedef struct ft_fcache ft_fcache;
ft_fcache *ft_fcache_new(size_t budget_bytes); /* NULL when budget is 0 */
void ft_fcache_free(ft_fcache *c);
int ft_fcache_get(ft_fcache *c, uintptr_t key, uint8_t *dst, uint32_t len);
void ft_fcache_put(ft_fcache *c, uintptr_t key, const uint8_t *data, uint32_t len);
void ft_fcache_stats(const ft_fcache *c, uint64_t *hits, uint64_t *misses, size_t *bytes);

/* file helpers (fileio.c) */
int ft_write_all(int fd, const void *p, size_t n, const char *path, ft_error *err);
int ft_fsync_dir(const char *dir, ft_error *err);
int ft_read_file(const char *path, size_t max, char **out, size_t *len, ft_error *err);
uint64_t ft_xxh64_file_map(const void *p, size_t n);

#endif
