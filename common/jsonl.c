/*
 * jsonl.c — validating single-pass scanner for flat JSON Lines records
 * (see ft_jsonl.h for why).  Grammar: RFC 8259.  Anything not certainly
 * valid, or whose value could differ from jansson's reading, falls back.
 */
#include "ft_jsonl.h"

#include <string.h>

#define MAX_DEPTH 64
#define MAX_KEYS 8

typedef struct scan {
    const uint8_t *p, *end;
    ft_buf *scratch;
} scan;

static void skip_ws(scan *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r')) s->p++;
}

/* Strict UTF-8 check of one multi-byte sequence at p; returns its length or 0. */
static size_t utf8_seq(const uint8_t *p, const uint8_t *end)
{
    uint8_t c = p[0];
    size_t n;
    uint32_t v, min;
    if (c >= 0xC2 && c <= 0xDF) { n = 2; v = c & 0x1F; min = 0x80; }
    else if (c >= 0xE0 && c <= 0xEF) { n = 3; v = c & 0x0F; min = 0x800; }
    else if (c >= 0xF0 && c <= 0xF4) { n = 4; v = c & 0x07; min = 0x10000; }
    else return 0;
    if ((size_t)(end - p) < n) return 0;
    for (size_t k = 1; k < n; k++) {
        if ((p[k] & 0xC0) != 0x80) return 0;
        v = (v << 6) | (p[k] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
    return n;
}

static int hex4(const uint8_t *p, uint32_t *out)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        uint8_t c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (uint32_t)(c - 'A' + 10);
        else return -1;
    }
    *out = v;
    return 0;
}

static void put_utf8(ft_buf *b, uint32_t cp)
{
    uint8_t t[4];
    size_t n;
    if (cp < 0x80) { t[0] = (uint8_t)cp; n = 1; }
    else if (cp < 0x800) { t[0] = (uint8_t)(0xC0 | cp >> 6); t[1] = (uint8_t)(0x80 | (cp & 0x3F)); n = 2; }
    else if (cp < 0x10000) {
        t[0] = (uint8_t)(0xE0 | cp >> 12); t[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        t[2] = (uint8_t)(0x80 | (cp & 0x3F)); n = 3;
    } else {
        t[0] = (uint8_t)(0xF0 | cp >> 18); t[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
        t[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F)); t[3] = (uint8_t)(0x80 | (cp & 0x3F)); n = 4;
    }
    ft_buf_append(b, t, n);
}

#define SS_DECODE 1 /* describe the decoded value */
#define SS_KEY 2    /* an object key: jansson rejects a key holding U+0000 */

/* Scan a string (s->p at the opening quote).  With SS_DECODE in flags, the
 * decoded value is described by *start and *len: a pointer into the line (no
 * escapes) or, with *in_scratch set, an offset into scratch.  Returns 0 or -1
 * (fallback). */
static int scan_string(scan *s, int flags, const uint8_t **start, size_t *len, int *in_scratch, size_t *off)
{
    const uint8_t *p = s->p + 1, *end = s->end, *run = p;
    int want = flags & SS_DECODE;
    int escaped = 0;
    size_t sofs = 0;
    for (;;) {
        /* fast run of plain ASCII */
        while (p < end && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\') p++;
        if (p >= end) return -1;
        uint8_t c = *p;
        if (c == '"') break;
        if (c < 0x20) return -1;
        if (c >= 0x80) {
            size_t n = utf8_seq(p, end);
            if (!n) return -1;
            p += n;
            continue;
        }
        /* backslash */
        if (want && !escaped) {
            escaped = 1;
            sofs = s->scratch->len;
        }
        if (want) ft_buf_append(s->scratch, run, (size_t)(p - run));
        if (end - p < 2) return -1;
        uint8_t e = p[1];
        uint32_t cp;
        switch (e) {
        case '"': cp = '"'; p += 2; break;
        case '\\': cp = '\\'; p += 2; break;
        case '/': cp = '/'; p += 2; break;
        case 'b': cp = '\b'; p += 2; break;
        case 'f': cp = '\f'; p += 2; break;
        case 'n': cp = '\n'; p += 2; break;
        case 'r': cp = '\r'; p += 2; break;
        case 't': cp = '\t'; p += 2; break;
        case 'u':
            if (end - p < 6 || hex4(p + 2, &cp)) return -1;
            p += 6;
            if (cp == 0 && (flags & SS_KEY)) return -1;
            if (cp >= 0xDC00 && cp <= 0xDFFF) return -1; /* lone low surrogate */
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                uint32_t lo;
                if (end - p < 6 || p[0] != '\\' || p[1] != 'u' || hex4(p + 2, &lo) || lo < 0xDC00 || lo > 0xDFFF)
                    return -1;
                p += 6;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            }
            break;
        default:
            return -1;
        }
        if (want) put_utf8(s->scratch, cp);
        run = p;
    }
    if (want) {
        if (escaped) {
            ft_buf_append(s->scratch, run, (size_t)(p - run));
            *in_scratch = 1;
            *off = sofs;
            *len = s->scratch->len - sofs;
        } else {
            *in_scratch = 0;
            *start = s->p + 1;
            *len = (size_t)(p - (s->p + 1));
        }
    }
    s->p = p + 1;
    return 0;
}

/* Scan a number; sets *is_int when it is an integer literal that prints back
 * identically as a 64-bit value.  Returns 0 or -1 (fallback). */
static int scan_number(scan *s, int *is_int)
{
    const uint8_t *p = s->p, *end = s->end, *b = p;
    if (p < end && *p == '-') p++;
    if (p >= end) return -1;
    if (*p == '0') p++;
    else if (*p >= '1' && *p <= '9') while (p < end && *p >= '0' && *p <= '9') p++;
    else return -1;
    int integer = 1;
    if (p < end && *p == '.') {
        integer = 0;
        p++;
        if (p >= end || *p < '0' || *p > '9') return -1;
        while (p < end && *p >= '0' && *p <= '9') p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) return -1; /* exponents: let jansson judge range */
    size_t n = (size_t)(p - b);
    if (n > 15) return -1;                      /* long numbers: range questions, fall back */
    if (integer && n == 2 && b[0] == '-' && b[1] == '0') return -1; /* "-0" prints as "0" */
    *is_int = integer;
    s->p = p;
    return 0;
}

static int scan_value(scan *s, int depth);

static int scan_literal(scan *s, const char *lit, size_t n)
{
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, lit, n)) return -1;
    s->p += n;
    return 0;
}

static int scan_container(scan *s, int depth)
{
    uint8_t close = *s->p == '{' ? '}' : ']';
    int object = close == '}';
    if (depth >= MAX_DEPTH) return -1;
    s->p++;
    skip_ws(s);
    if (s->p < s->end && *s->p == close) {
        s->p++;
        return 0;
    }
    for (;;) {
        skip_ws(s);
        if (object) {
            if (s->p >= s->end || *s->p != '"' || scan_string(s, SS_KEY, NULL, NULL, NULL, NULL)) return -1;
            skip_ws(s);
            if (s->p >= s->end || *s->p != ':') return -1;
            s->p++;
            skip_ws(s);
        }
        if (scan_value(s, depth + 1)) return -1;
        skip_ws(s);
        if (s->p >= s->end) return -1;
        if (*s->p == ',') { s->p++; continue; }
        if (*s->p == close) { s->p++; return 0; }
        return -1;
    }
}

static int scan_value(scan *s, int depth)
{
    if (s->p >= s->end) return -1;
    switch (*s->p) {
    case '"': return scan_string(s, 0, NULL, NULL, NULL, NULL);
    case '{': case '[': return scan_container(s, depth);
    case 't': return scan_literal(s, "true", 4);
    case 'f': return scan_literal(s, "false", 5);
    case 'n': return scan_literal(s, "null", 4);
    default: {
        int is_int;
        return scan_number(s, &is_int);
    }
    }
}

int ft_jsonl_extract(const char *line, size_t len, const char *const *keys, const int *integer_ok,
                     int nkeys, ft_jsonl_value *out, ft_buf *scratch)
{
    if (nkeys > MAX_KEYS) return FT_JSONL_FALLBACK;
    size_t klen[MAX_KEYS];
    int in_scratch[MAX_KEYS];
    size_t soff[MAX_KEYS];
    for (int i = 0; i < nkeys; i++) {
        out[i].kind = FT_JSONL_ABSENT;
        out[i].text = NULL;
        out[i].len = 0;
        klen[i] = strlen(keys[i]);
        in_scratch[i] = 0;
        soff[i] = 0;
    }
    ft_buf_reset(scratch);
    scan s = {(const uint8_t *)line, (const uint8_t *)line + len, scratch};
    skip_ws(&s);
    if (s.p >= s.end || *s.p != '{') return FT_JSONL_FALLBACK;
    s.p++;
    skip_ws(&s);
    if (s.p < s.end && *s.p == '}') {
        s.p++;
        goto done;
    }
    for (;;) {
        skip_ws(&s);
        if (s.p >= s.end || *s.p != '"') return FT_JSONL_FALLBACK;
        /* the key, decoded into scratch only when it has escapes */
        const uint8_t *kstart = NULL;
        size_t kl = 0, koff = 0;
        int kscr = 0;
        size_t mark = scratch->len;
        if (scan_string(&s, SS_DECODE | SS_KEY, &kstart, &kl, &kscr, &koff)) return FT_JSONL_FALLBACK;
        const uint8_t *key = kscr ? scratch->p + koff : kstart;
        int which = -1;
        for (int i = 0; i < nkeys; i++)
            if (klen[i] == kl && !memcmp(keys[i], key, kl)) which = i;
        scratch->len = mark; /* the key's bytes are no longer needed */
        skip_ws(&s);
        if (s.p >= s.end || *s.p != ':') return FT_JSONL_FALLBACK;
        s.p++;
        skip_ws(&s);
        if (s.p >= s.end) return FT_JSONL_FALLBACK;
        if (which < 0) {
            if (scan_value(&s, 1)) return FT_JSONL_FALLBACK;
        } else {
            ft_jsonl_value *v = &out[which];
            const uint8_t *vs = s.p;
            if (*s.p == '"') {
                const uint8_t *st = NULL;
                size_t vl = 0;
                if (scan_string(&s, SS_DECODE, &st, &vl, &in_scratch[which], &soff[which])) return FT_JSONL_FALLBACK;
                v->kind = FT_JSONL_STRING;
                v->text = (const char *)st;
                v->len = vl;
            } else if (*s.p == 'n') {
                if (scan_literal(&s, "null", 4)) return FT_JSONL_FALLBACK;
                v->kind = FT_JSONL_NULL;
                in_scratch[which] = 0;
            } else if (*s.p == '-' || (*s.p >= '0' && *s.p <= '9')) {
                int is_int = 0;
                if (scan_number(&s, &is_int) || !is_int || !integer_ok[which]) return FT_JSONL_FALLBACK;
                v->kind = FT_JSONL_INTEGER;
                v->text = (const char *)vs;
                v->len = (size_t)(s.p - vs);
                in_scratch[which] = 0;
            } else {
                return FT_JSONL_FALLBACK; /* other types: the slow path reports them */
            }
        }
        skip_ws(&s);
        if (s.p >= s.end) return FT_JSONL_FALLBACK;
        if (*s.p == ',') { s.p++; continue; }
        if (*s.p == '}') { s.p++; break; }
        return FT_JSONL_FALLBACK;
    }
done:
    skip_ws(&s);
    if (s.p != s.end || scratch->failed) return FT_JSONL_FALLBACK;
    for (int i = 0; i < nkeys; i++)
        if (out[i].kind == FT_JSONL_STRING && in_scratch[i]) out[i].text = (const char *)scratch->p + soff[i];
    return FT_JSONL_OK;
}
