/*
 * fcache.c — a shared cache of decompressed posting frames.
 *
 * Query time is dominated by zstd decompression of posting and position
 * frames (half of an all-words or phrase query, by callgrind), and real query
 * streams reuse the frames of frequent terms again and again.  This cache
 * keeps decompressed frames, keyed by the frame's address in the mapped file
 * (unique for the life of an open index), so a frame already seen costs
 * nothing to a posting cursor and a copy to anyone else, instead of a
 * decompression (~0.5 GB/s for these small frames).
 *
 * Shape: two-way set-associative slots under one mutex, a byte budget; a new
 * frame replaces the less recently used entry of its set, and is not cached
 * when it would push the total over the budget.  (Direct-mapped slots lost
 * about one frame in ten to collisions on a query stream whose frames all
 * fitted in the budget.  2^15 sets still collided: the English AOL stream
 * decompressed 24 store blocks a pass again, 36 with snippets' positions
 * frames in the cache too; 2^17 sets, 8 MiB of slots touched as used, cut a
 * top-10 fetch from 16.2M to 11.8M instructions a pass.)  Posting cursors
 * pin the frame they read
 * (ft_fcache_pin) rather than copy it: a pinned entry is never replaced
 * until it is unpinned, so its bytes stay put while the cursor reads them
 * (copying was 11% of a phrase query's cycles, by perf).  Other readers run
 * a callback on the entry under the lock (ft_fcache_with: a document fetch
 * copies out one record of a store block).  The budget comes from FT_CACHE_MB (default 64; 0
 * disables).
 */
#include "ft_index_int.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define FC_SET_BITS 17
#define FC_SLOTS (2u << FC_SET_BITS) /* 2^17 sets of two */

typedef struct fc_slot {
    uintptr_t key;
    uint32_t len;
    uint32_t used; /* clock of the last hit or insertion */
    uint32_t pins; /* readers using data in place */
    uint8_t *data;
} fc_slot;

struct ft_fcache {
    pthread_mutex_t lock;
    fc_slot *slots;
    size_t bytes, budget;
    uint64_t hits, misses;
    uint32_t clock;
};

ft_fcache *ft_fcache_new(size_t budget)
{
    if (budget == 0) return NULL;
    ft_fcache *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    /* 8 MiB of slots, read at random (calloc maps so large a block apart,
     * zero-filled as touched): its whole 2 MiB pages are offered as huge
     * pages, so that a lookup misses no TLB entry */
    c->slots = calloc(FC_SLOTS, sizeof *c->slots);
    if (!c->slots) {
        free(c);
        return NULL;
    }
#ifdef MADV_HUGEPAGE
    uintptr_t huge = (uintptr_t)1 << 21, from = ((uintptr_t)c->slots + huge - 1) & ~(huge - 1),
              to = ((uintptr_t)c->slots + FC_SLOTS * sizeof *c->slots) & ~(huge - 1);
    if (to > from) madvise((void *)from, to - from, MADV_HUGEPAGE); /* advice only */
#endif
    pthread_mutex_init(&c->lock, NULL);
    c->budget = budget;
    return c;
}

void ft_fcache_free(ft_fcache *c)
{
    if (!c) return;
    for (size_t i = 0; i < FC_SLOTS; i++) free(c->slots[i].data);
    free(c->slots);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

/* The first slot of key's set (the set is it and the next). */
static inline size_t set_of(uintptr_t key)
{
    uint64_t h = (uint64_t)key * 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> (64 - FC_SET_BITS)) << 1;
}

/* Under the lock: the slot holding key's frame of len bytes (touched), or
 * NULL; counts the hit or miss. */
static fc_slot *lookup(ft_fcache *c, uintptr_t key, uint32_t len)
{
    fc_slot *set = &c->slots[set_of(key)];
    for (int w = 0; w < 2; w++)
        if (set[w].key == key && set[w].data && set[w].len == len) {
            set[w].used = ++c->clock;
            c->hits++;
            return &set[w];
        }
    c->misses++;
    return NULL;
}

int ft_fcache_with(ft_fcache *c, uintptr_t key, uint32_t len, int (*fn)(void *ctx, const uint8_t *data, uint32_t len),
                   void *ctx, int *rc)
{
    if (!c) return 0;
    pthread_mutex_lock(&c->lock);
    fc_slot *s = lookup(c, key, len);
    if (s) *rc = fn(ctx, s->data, len);
    pthread_mutex_unlock(&c->lock);
    return s != NULL;
}

void ft_fcache_put(ft_fcache *c, uintptr_t key, const uint8_t *data, uint32_t len)
{
    if (!c || len > c->budget / 8) return;
    uint8_t *copy = malloc(len);
    if (!copy) return; /* a cache may always decline */
    memcpy(copy, data, len);
    fc_slot *set = &c->slots[set_of(key)];
    uint8_t *old = NULL;
    pthread_mutex_lock(&c->lock);
    /* the key's own slot (another thread put it first), else an empty one,
     * else the less recently used */
    fc_slot *s = set[0].key == key ? &set[0] : set[1].key == key ? &set[1] : !set[0].data ? &set[0]
               : !set[1].data ? &set[1] : (int32_t)(set[0].used - set[1].used) < 0 ? &set[0] : &set[1];
    int have = (set[0].key == key && set[0].data) || (set[1].key == key && set[1].data);
    if (s->pins) s = s == &set[0] ? &set[1] : &set[0]; /* never replace a pinned entry */
    size_t after = c->bytes - (s->data ? s->len : 0) + len;
    if (!have && !s->pins && after <= c->budget) {
        old = s->data;
        c->bytes = after;
        s->key = key;
        s->len = len;
        s->used = ++c->clock;
        s->data = copy;
        copy = NULL;
    }
    pthread_mutex_unlock(&c->lock);
    free(old);
    free(copy);
}

const uint8_t *ft_fcache_pin(ft_fcache *c, uintptr_t key, uint32_t len, void **pin)
{
    *pin = NULL;
    return ft_fcache_repin(c, NULL, key, len, pin);
}

const uint8_t *ft_fcache_repin(ft_fcache *c, void *old, uintptr_t key, uint32_t len, void **pin)
{
    *pin = NULL;
    if (!c) return NULL;
    pthread_mutex_lock(&c->lock); /* one lock for the frame left and the frame taken */
    if (old) ((fc_slot *)old)->pins--;
    fc_slot *s = lookup(c, key, len);
    if (s) {
        s->pins++;
        *pin = s;
    }
    pthread_mutex_unlock(&c->lock);
    return s ? s->data : NULL;
}

void ft_fcache_unpin(ft_fcache *c, void *pin)
{
    if (!c || !pin) return;
    pthread_mutex_lock(&c->lock);
    ((fc_slot *)pin)->pins--;
    pthread_mutex_unlock(&c->lock);
}

void ft_fcache_stats(const ft_fcache *c, uint64_t *hits, uint64_t *misses, size_t *bytes)
{
    *hits = c ? c->hits : 0;
    *misses = c ? c->misses : 0;
    *bytes = c ? c->bytes : 0;
}
