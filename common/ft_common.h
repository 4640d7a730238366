/*
 * ft_common.h — status codes, error reports, the growable byte buffer and
 * the varint codec shared by every ft module.
 *
 * Why it is shaped so: the library never prints and never exits.  Every
 * fallible function returns an ft_status (0 or a negative code) and, when the
 * caller passes an ft_error, fills it with a message a user can act on (which
 * file, which offset or line, what was expected).  The byte buffer has a
 * sticky failure flag so encoders can run straight through and check the
 * status once at the end, as SQLite's FTS5 writers do.
 */
#ifndef FT_COMMON_H
#define FT_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* SSE2 (every x86-64) for the few byte scans that gain from it: a word's
 * end, a snippet's white space, a sum of frequencies.  FT_NO_SIMD builds the
 * portable code instead (the ASan build does, so that make check runs
 * both). */
#if defined(__SSE2__) && !defined(FT_NO_SIMD)
#define FT_SSE2 1
#include <emmintrin.h>
#else
#define FT_SSE2 0
#endif

typedef enum ft_status {
    FT_OK = 0,
    FT_ENOMEM = -1,    /* out of memory */
    FT_EIO = -2,       /* a system call failed (errno in the message) */
    FT_ECORRUPT = -3,  /* an index file is damaged */
    FT_EINVAL = -4,    /* bad argument or bad input */
    FT_ENOTFOUND = -5, /* no such index, file or document */
    FT_EVERSION = -6,  /* index written by an incompatible format version */
    FT_ENOSPC = -7,    /* disk full or file size limit */
    FT_EBUSY = -8      /* another writer holds the index */
} ft_status;

#define FT_ERRMSG_MAX 512

typedef struct ft_error {
    int code;                 /* an ft_status */
    char msg[FT_ERRMSG_MAX];  /* human-readable, no trailing newline */
} ft_error;

/* Short description of a status code; never NULL. */
const char *ft_strerror(int code);

/* Fill err (may be NULL) with code and a printf-style message; returns code. */
int ft_error_set(ft_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Same, appending ": strerror(errnum)" and mapping ENOSPC/EFBIG to FT_ENOSPC. */
int ft_error_errno(ft_error *err, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Single place where corruption is detected: set a breakpoint here. */
int ft_corrupt(ft_error *err, const char *file, uint64_t offset, const char *what);

/* ---- growable byte buffer (sticky failure) ---- */
typedef struct ft_buf {
    uint8_t *p;
    size_t len;
    size_t cap;
    int failed; /* set once an allocation failed; all later appends are no-ops */
} ft_buf;

void ft_buf_init(ft_buf *b);
void ft_buf_free(ft_buf *b);
int ft_buf_grow_(ft_buf *b, size_t extra);    /* slow path of ft_buf_reserve */
/* Make room for extra more bytes: 0 or FT_ENOMEM (and the buffer fails). */
static inline int ft_buf_reserve(ft_buf *b, size_t extra)
{
    if (!b->failed && b->cap - b->len >= extra) return 0;
    return ft_buf_grow_(b, extra);
}
void ft_buf_append(ft_buf *b, const void *data, size_t n);
void ft_buf_put_u8(ft_buf *b, uint8_t v);
void ft_buf_put_u32le(ft_buf *b, uint32_t v);
void ft_buf_put_u64le(ft_buf *b, uint64_t v);
void ft_buf_put_varint(ft_buf *b, uint64_t v);

static inline void ft_buf_reset(ft_buf *b) { b->len = 0; }

/* ---- varints (LEB128, little-endian groups of 7 bits) ---- */

/* Write v at p (room for 10 bytes needed); returns bytes written. */
static inline size_t ft_varint_put(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

/* Bounds-checked decode from [*pp, end).  Returns 0 on success and advances
 * *pp; returns -1 when the input ends early or the value exceeds 64 bits. */
static inline int ft_varint_get(const uint8_t **pp, const uint8_t *end, uint64_t *out)
{
    const uint8_t *p = *pp;
    uint64_t v = 0;
    unsigned shift = 0;
    while (p < end) {
        uint8_t c = *p++;
        if (shift == 63 && c > 1) return -1;
        v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            *pp = p;
            *out = v;
            return 0;
        }
        shift += 7;
        if (shift > 63) return -1;
    }
    return -1;
}

/* 32-bit variant: rejects values that do not fit. */
static inline int ft_varint_get32(const uint8_t **pp, const uint8_t *end, uint32_t *out)
{
    const uint8_t *p = *pp;
    if (p < end && !(*p & 0x80)) { /* fast path: one byte */
        *out = *p;
        *pp = p + 1;
        return 0;
    }
    if (end - p >= 2 && !(p[1] & 0x80)) { /* two bytes (gaps of 128 to 16,383) */
        *out = (uint32_t)(p[0] & 0x7f) | (uint32_t)p[1] << 7;
        *pp = p + 2;
        return 0;
    }
    uint64_t v;
    if (ft_varint_get(pp, end, &v) || v > UINT32_MAX) return -1;
    *out = (uint32_t)v;
    return 0;
}

/* Past n varints from p (their ends counted, not their values decoded:
 * eight bytes at a time while fewer than n end among them), or NULL when
 * the bytes end first. */
static inline const uint8_t *ft_varints_skip(const uint8_t *p, const uint8_t *end, uint64_t n)
{
    if (n == 0) return p;
    while (end - p >= 8) {
        uint64_t x;
        memcpy(&x, p, 8);
        uint64_t m = ~x & 0x8080808080808080ull; /* the high bit of every last byte */
        uint64_t ends = (m >> 7) * 0x0101010101010101ull >> 56;
        if (ends >= n) { /* the n-th end is among these: clear the n - 1 before it */
            while (--n) m &= m - 1;
            return p + (__builtin_ctzll(m) >> 3) + 1;
        }
        n -= ends;
        p += 8;
    }
    for (; n; p++) {
        if (p == end) return NULL;
        if (!(*p & 0x80)) n--;
    }
    return p;
}

/* ASCII white space (space, tab, LF, VT, FF, CR): where a stored body's
 * position marks may stand (docs/FORMAT.md). */
static inline int ft_ascii_space(unsigned char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

static inline void ft_set_u32le(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}
static inline void ft_set_u64le(uint8_t *p, uint64_t v)
{
    ft_set_u32le(p, (uint32_t)v);
    ft_set_u32le(p + 4, (uint32_t)(v >> 32));
}

static inline uint32_t ft_get_u32le(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t ft_get_u64le(const uint8_t *p)
{
    return (uint64_t)ft_get_u32le(p) | (uint64_t)ft_get_u32le(p + 4) << 32;
}

#define FT_VERSION_STRING "0.1.0"

#endif
