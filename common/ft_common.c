/*
 * ft_common.c — error reporting and the growable byte buffer.
 *
 * Errors are values: a status code plus a message composed where the problem
 * is best understood (the reader that found a bad offset knows the file and
 * the offset).  The buffer grows by doubling and remembers an allocation
 * failure, so long encoding sequences check for failure once.
 */
#include "ft_common.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *ft_strerror(int code)
{
    switch (code) {
    case FT_OK: return "ok";
    case FT_ENOMEM: return "out of memory";
    case FT_EIO: return "I/O error";
    case FT_ECORRUPT: return "index is corrupt";
    case FT_EINVAL: return "invalid argument or input";
    case FT_ENOTFOUND: return "not found";
    case FT_EVERSION: return "unsupported index format version";
    case FT_ENOSPC: return "no space left on device";
    case FT_EBUSY: return "index is locked by another writer";
    default: return "unknown error";
    }
}

int ft_error_set(ft_error *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->code = code;
    }
    return code;
}

int ft_error_errno(ft_error *err, int errnum, const char *fmt, ...)
{
    int code = (errnum == ENOSPC || errnum == EFBIG || errnum == EDQUOT) ? FT_ENOSPC
               : (errnum == ENOENT) ? FT_ENOTFOUND
               : (errnum == ENOMEM) ? FT_ENOMEM
                                    : FT_EIO;
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        if (n >= 0 && (size_t)n < sizeof err->msg)
            snprintf(err->msg + n, sizeof err->msg - (size_t)n, ": %s", strerror(errnum));
        err->code = code;
    }
    return code;
}

int ft_corrupt(ft_error *err, const char *file, uint64_t offset, const char *what)
{
    return ft_error_set(err, FT_ECORRUPT, "%s: corrupt at offset %llu: %s", file ? file : "?",
                        (unsigned long long)offset, what);
}

void ft_buf_init(ft_buf *b) { memset(b, 0, sizeof *b); }

void ft_buf_free(ft_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

int ft_buf_grow_(ft_buf *b, size_t extra)
{
    if (b->failed) return FT_ENOMEM;
    if (b->len + extra <= b->cap) return FT_OK;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + extra) {
        if (cap > SIZE_MAX / 2) { b->failed = 1; return FT_ENOMEM; }
        cap *= 2;
    }
    uint8_t *p = realloc(b->p, cap);
    if (!p) { b->failed = 1; return FT_ENOMEM; }
    b->p = p;
    b->cap = cap;
    return FT_OK;
}

void ft_buf_append(ft_buf *b, const void *data, size_t n)
{
    if (n == 0 || ft_buf_reserve(b, n)) return;
    memcpy(b->p + b->len, data, n);
    b->len += n;
}

void ft_buf_put_u8(ft_buf *b, uint8_t v)
{
    if (ft_buf_reserve(b, 1)) return;
    b->p[b->len++] = v;
}

void ft_buf_put_u32le(ft_buf *b, uint32_t v)
{
    uint8_t t[4];
    ft_set_u32le(t, v);
    ft_buf_append(b, t, 4);
}

void ft_buf_put_u64le(ft_buf *b, uint64_t v)
{
    ft_buf_put_u32le(b, (uint32_t)v);
    ft_buf_put_u32le(b, (uint32_t)(v >> 32));
}

void ft_buf_put_varint(ft_buf *b, uint64_t v)
{
    if (ft_buf_reserve(b, 10)) return;
    b->len += ft_varint_put(b->p + b->len, v);
}
