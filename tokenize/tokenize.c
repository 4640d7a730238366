/*
 * tokenize.c — the analyzer: splitting, folding, CJK bigrams, stopwords,
 * Snowball stemming with a cache.
 *
 * Shape: one pass over the bytes with a small state machine.  ASCII bytes are
 * classified by a 128-entry table and lowercased on the fly, so English text
 * never reaches utf8proc.  Other code points are decoded here (invalid bytes
 * become separators and are counted) and classified with utf8proc's general
 * category; a word holding any non-ASCII code point is normalised at its end
 * with one utf8proc_decompose + utf8proc_reencode (NFKC + case fold) into a
 * reusable buffer: no allocation per token.
 *
 * Scripts written without spaces (Han, Hiragana, Katakana, Hangul) are indexed
 * as overlapping character bigrams, the treatment of Lucene's CJKAnalyzer:
 * it needs no dictionary, finds every two-character word, and a phrase of
 * bigrams matches a longer word exactly.
 *
 * Stemming goes through a direct-mapped cache of 65,536 one-cache-line slots
 * keyed by an XXH3 hash of the folded word: Zipf's law makes the hit rate high,
 * and a hit costs a hash, one memory access and two compares instead of a
 * Snowball run (~150 ns for English).
 */
#include "ft_tokenize.h"

#include <libstemmer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>
#define XXH_INLINE_ALL
#include <xxhash.h>

/* ------------------------------------------------------------------ options */

void ft_analyzer_opts_default(ft_analyzer_opts *o)
{
    memset(o, 0, sizeof *o);
    strcpy(o->lang, "english");
    o->stopwords = 0;
    o->max_token_bytes = FT_MAX_TOKEN_BYTES;
}

int ft_analyzer_opts_format(const ft_analyzer_opts *o, char *out, size_t cap)
{
    int n = snprintf(out, cap, "lang=%s stopwords=%d maxlen=%u cjk=bigram", o->lang,
                     o->stopwords ? 1 : 0,
                     o->max_token_bytes ? o->max_token_bytes : FT_MAX_TOKEN_BYTES);
    return (n < 0 || (size_t)n >= cap) ? FT_EINVAL : FT_OK;
}

int ft_analyzer_opts_parse(const char *s, ft_analyzer_opts *o, ft_error *err)
{
    ft_analyzer_opts r;
    ft_analyzer_opts_default(&r);
    const char *p = s;
    while (*p) {
        while (*p == ' ') p++;
        if (!*p) break;
        const char *eq = p;
        while (*eq && *eq != '=' && *eq != ' ') eq++;
        if (*eq != '=')
            return ft_error_set(err, FT_EINVAL, "analyzer settings: expected key=value at '%s'", p);
        const char *v = eq + 1, *ve = v;
        while (*ve && *ve != ' ') ve++;
        size_t kl = (size_t)(eq - p), vl = (size_t)(ve - v);
        char val[64];
        if (vl >= sizeof val) return ft_error_set(err, FT_EINVAL, "analyzer settings: value too long");
        memcpy(val, v, vl);
        val[vl] = 0;
        if (kl == 4 && !memcmp(p, "lang", 4)) {
            if (vl == 0 || vl >= FT_LANG_MAX)
                return ft_error_set(err, FT_EINVAL, "analyzer settings: bad language '%s'", val);
            strcpy(r.lang, val);
        } else if (kl == 9 && !memcmp(p, "stopwords", 9)) {
            if (strcmp(val, "0") && strcmp(val, "1"))
                return ft_error_set(err, FT_EINVAL, "analyzer settings: stopwords must be 0 or 1");
            r.stopwords = val[0] == '1';
        } else if (kl == 6 && !memcmp(p, "maxlen", 6)) {
            char *end;
            unsigned long m = strtoul(val, &end, 10);
            if (*end || m < 1 || m > 255)
                return ft_error_set(err, FT_EINVAL, "analyzer settings: maxlen must be 1..255");
            r.max_token_bytes = (unsigned)m;
        } else if (kl == 3 && !memcmp(p, "cjk", 3)) {
            if (strcmp(val, "bigram"))
                return ft_error_set(err, FT_EINVAL, "analyzer settings: unknown cjk mode '%s'", val);
        } else {
            return ft_error_set(err, FT_EINVAL, "analyzer settings: unknown key '%.*s'", (int)kl, p);
        }
        p = ve;
    }
    *o = r;
    return FT_OK;
}

const char **ft_stem_languages(void) { return sb_stemmer_list(); }

/* English stopwords: the classic 33-word list used by Lucene's English
 * analyzer.  Sorted for bsearch. */
static const char *const english_stop[] = {
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if",
    "in", "into", "is", "it", "no", "not", "of", "on", "or", "such", "that",
    "the", "their", "then", "there", "these", "they", "this", "to", "was",
    "will", "with"};

/* ------------------------------------------------------------------ analyzer */

#define CACHE_BITS 16
#define CACHE_KEY 24

typedef struct cache_slot {
    uint64_t hash;
    uint8_t klen, slen; /* klen 0: empty */
    char key[CACHE_KEY];
    char stem[CACHE_KEY];
} cache_slot;

struct ft_analyzer {
    ft_analyzer_opts opts;
    struct sb_stemmer *stemmer; /* NULL for "none" */
    cache_slot *cache;
    uint64_t hits, misses;
    unsigned maxlen;
    /* work buffers */
    char *word;      /* raw (ASCII-lowered or original) bytes of the current word */
    size_t word_cap;
    int32_t *u32;    /* code points for normalisation */
    size_t u32_cap;
    char stem_out[256];
};

int ft_analyzer_new(const ft_analyzer_opts *opts, ft_analyzer **out, ft_error *err)
{
    *out = NULL;
    ft_analyzer *a = calloc(1, sizeof *a);
    if (!a) return ft_error_set(err, FT_ENOMEM, "out of memory creating analyzer");
    if (opts) a->opts = *opts;
    else ft_analyzer_opts_default(&a->opts);
    a->maxlen = a->opts.max_token_bytes ? a->opts.max_token_bytes : FT_MAX_TOKEN_BYTES;
    if (a->maxlen > 255) a->maxlen = 255;
    a->opts.max_token_bytes = a->maxlen;
    if (strcmp(a->opts.lang, "none") != 0) {
        a->stemmer = sb_stemmer_new(a->opts.lang, "UTF_8");
        if (!a->stemmer) {
            /* NULL for a language it ships means it ran out of memory */
            for (const char **l = sb_stemmer_list(); *l; l++)
                if (!strcmp(*l, a->opts.lang)) goto nomem;
            char list[1024] = "";
            size_t n = 0;
            for (const char **l = sb_stemmer_list(); *l && n + 32 < sizeof list; l++)
                n += (size_t)snprintf(list + n, sizeof list - n, "%s%s", n ? ", " : "", *l);
            ft_error_set(err, FT_EINVAL, "unknown stemming language '%s' (known: none, %s)",
                         a->opts.lang, list);
            ft_analyzer_free(a);
            return FT_EINVAL;
        }
        a->cache = calloc((size_t)1 << CACHE_BITS, sizeof(cache_slot));
        if (!a->cache) goto nomem;
    }
    if (a->opts.stopwords && strcmp(a->opts.lang, "english") != 0) {
        ft_error_set(err, FT_EINVAL, "no built-in stopword list for language '%s' (only english)",
                     a->opts.lang);
        ft_analyzer_free(a);
        return FT_EINVAL;
    }
    a->word_cap = 1024;
    a->word = malloc(a->word_cap);
    a->u32_cap = 1024;
    a->u32 = malloc(a->u32_cap * sizeof(int32_t));
    if (!a->word || !a->u32) goto nomem;
    *out = a;
    return FT_OK;
nomem:
    ft_analyzer_free(a);
    return ft_error_set(err, FT_ENOMEM, "out of memory creating analyzer");
}

void ft_analyzer_free(ft_analyzer *a)
{
    if (!a) return;
    if (a->stemmer) sb_stemmer_delete(a->stemmer);
    free(a->cache);
    free(a->word);
    free(a->u32);
    free(a);
}

const ft_analyzer_opts *ft_analyzer_options(const ft_analyzer *a) { return &a->opts; }

void ft_analyzer_cache_stats(const ft_analyzer *a, uint64_t *hits, uint64_t *misses)
{
    if (hits) *hits = a->hits;
    if (misses) *misses = a->misses;
}

/* ------------------------------------------------------------------ classes */

enum { C_SEP = 0, C_LETTER = 1, C_DIGIT = 2, C_MARK = 3, C_APOS = 4, C_MIDNUM = 5, C_CJK = 6 };

static const uint8_t ascii_class[128] = {
    ['0'] = C_DIGIT, ['1'] = C_DIGIT, ['2'] = C_DIGIT, ['3'] = C_DIGIT, ['4'] = C_DIGIT,
    ['5'] = C_DIGIT, ['6'] = C_DIGIT, ['7'] = C_DIGIT, ['8'] = C_DIGIT, ['9'] = C_DIGIT,
    ['A'] = C_LETTER, ['B'] = C_LETTER, ['C'] = C_LETTER, ['D'] = C_LETTER, ['E'] = C_LETTER,
    ['F'] = C_LETTER, ['G'] = C_LETTER, ['H'] = C_LETTER, ['I'] = C_LETTER, ['J'] = C_LETTER,
    ['K'] = C_LETTER, ['L'] = C_LETTER, ['M'] = C_LETTER, ['N'] = C_LETTER, ['O'] = C_LETTER,
    ['P'] = C_LETTER, ['Q'] = C_LETTER, ['R'] = C_LETTER, ['S'] = C_LETTER, ['T'] = C_LETTER,
    ['U'] = C_LETTER, ['V'] = C_LETTER, ['W'] = C_LETTER, ['X'] = C_LETTER, ['Y'] = C_LETTER,
    ['Z'] = C_LETTER,
    ['a'] = C_LETTER, ['b'] = C_LETTER, ['c'] = C_LETTER, ['d'] = C_LETTER, ['e'] = C_LETTER,
    ['f'] = C_LETTER, ['g'] = C_LETTER, ['h'] = C_LETTER, ['i'] = C_LETTER, ['j'] = C_LETTER,
    ['k'] = C_LETTER, ['l'] = C_LETTER, ['m'] = C_LETTER, ['n'] = C_LETTER, ['o'] = C_LETTER,
    ['p'] = C_LETTER, ['q'] = C_LETTER, ['r'] = C_LETTER, ['s'] = C_LETTER, ['t'] = C_LETTER,
    ['u'] = C_LETTER, ['v'] = C_LETTER, ['w'] = C_LETTER, ['x'] = C_LETTER, ['y'] = C_LETTER,
    ['z'] = C_LETTER,
    ['\''] = C_APOS, ['.'] = C_MIDNUM, [','] = C_MIDNUM,
};

/* ASCII letters and digits folded (A-Z to a-z), 0 for every other byte
 * (separators, punctuation, and every byte >= 0x80): the word loop of the
 * ASCII fast path classifies and folds a byte with one lookup. */
static const uint8_t ascii_word[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 0, 0, 0, 0, 0, 0,
    0, 97, 98, 99, 100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111,
    112, 113, 114, 115, 116, 117, 118, 119, 120, 121, 122, 0, 0, 0, 0, 0,
    0, 97, 98, 99, 100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111,
    112, 113, 114, 115, 116, 117, 118, 119, 120, 121, 122, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

static int is_cjk(int32_t c)
{
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
           (c >= 0x20000 && c <= 0x2FA1F) || (c >= 0xF900 && c <= 0xFAFF) ||
           (c >= 0x3040 && c <= 0x30FF) || (c >= 0x31F0 && c <= 0x31FF) ||
           (c >= 0xFF66 && c <= 0xFF9F) || /* halfwidth katakana */
           (c >= 0xAC00 && c <= 0xD7AF) || (c >= 0x1100 && c <= 0x11FF) ||
           (c >= 0x3130 && c <= 0x318F) || (c >= 0xA960 && c <= 0xA97F) ||
           (c >= 0xD7B0 && c <= 0xD7FF);
}

static int unicode_class(int32_t c)
{
    if (c == 0x2019) return C_APOS;
    if (is_cjk(c)) return C_CJK;
    switch (utf8proc_category(c)) {
    case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL: case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM: case UTF8PROC_CATEGORY_LO:
        return C_LETTER;
    case UTF8PROC_CATEGORY_ND: case UTF8PROC_CATEGORY_NL: case UTF8PROC_CATEGORY_NO:
        return C_DIGIT;
    case UTF8PROC_CATEGORY_MN: case UTF8PROC_CATEGORY_MC: case UTF8PROC_CATEGORY_ME:
        return C_MARK;
    default:
        return C_SEP;
    }
}

/* Decode one code point at s[i] (i < n).  Returns its length; *cp is -1 for an
 * invalid sequence, whose length is that of the maximal bad prefix (>= 1). */
static size_t decode_utf8(const uint8_t *s, size_t n, size_t i, int32_t *cp)
{
    uint8_t c = s[i];
    if (c < 0x80) { *cp = c; return 1; }
    size_t need;
    int32_t v, min;
    if (c >= 0xC2 && c <= 0xDF) { need = 1; v = c & 0x1F; min = 0x80; }
    else if (c >= 0xE0 && c <= 0xEF) { need = 2; v = c & 0x0F; min = 0x800; }
    else if (c >= 0xF0 && c <= 0xF4) { need = 3; v = c & 0x07; min = 0x10000; }
    else { *cp = -1; return 1; }
    size_t k;
    for (k = 1; k <= need; k++) {
        if (i + k >= n || (s[i + k] & 0xC0) != 0x80) { *cp = -1; return k; }
        v = (v << 6) | (s[i + k] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) { *cp = -1; return 1; }
    *cp = v;
    return need + 1;
}

/* Class of the code point starting at s[i], or C_SEP past the end. */
static int class_at(const uint8_t *s, size_t n, size_t i)
{
    if (i >= n) return C_SEP;
    if (s[i] < 0x80) return ascii_class[s[i]];
    int32_t cp;
    decode_utf8(s, n, i, &cp);
    return cp < 0 ? C_SEP : unicode_class(cp);
}

size_t ft_analyze_cut(const char *text, size_t len, size_t from)
{
    const uint8_t *s = (const uint8_t *)text;
    size_t i = len;
    while (i > from) {
        size_t j = i - 1;
        while (j > 0 && j + 4 > i && (s[j] & 0xC0) == 0x80) j--; /* the character ending at i */
        int32_t cp;
        size_t n = decode_utf8(s, len, j, &cp);
        if (j + n == i && cp >= 0 && (cp < 0x80 ? ascii_class[cp] : unicode_class(cp)) == C_SEP) return i;
        i = j + n == i ? j : i - 1;
    }
    return 0;
}

/* ------------------------------------------------------------------ emit */

typedef struct emit_ctx {
    ft_analyzer *a;
    int raw; /* deliver words unstemmed */
    ft_token_fn fn;
    void *ctx;
    ft_analyze_stats st;
    uint32_t pos;
    uint32_t from; /* positions below are counted only */
    int spans;     /* ft_analyze_spans: ASCII words by their byte range only */
    const uint8_t *src;
    ft_span *sp;   /* ft_analyze_spans: where the words go, instead of fn */
    size_t sp_cap, sp_n;
    uint32_t to;   /* ft_analyze_spans: stop at the first word from here */
} emit_ctx;

static int stop_cmp(const void *k, const void *e)
{
    return strcmp((const char *)k, *(const char *const *)e);
}

static int is_stopword(const char *w, size_t len)
{
    if (len > 7) return 0;
    char t[8];
    memcpy(t, w, len);
    t[len] = 0;
    return bsearch(t, english_stop, sizeof english_stop / sizeof *english_stop,
                   sizeof *english_stop, stop_cmp) != NULL;
}

/* Stem w[0..len) (folded); returns a pointer to the stem (cache, stemmer
 * buffer or w itself) and its length. */
static const char *stem_word(ft_analyzer *a, const char *w, size_t len, size_t *out_len)
{
    if (!a->stemmer) { *out_len = len; return w; }
    cache_slot *slot = NULL;
    uint64_t h = 0;
    if (len <= CACHE_KEY) {
        h = XXH3_64bits(w, len);
        slot = &a->cache[h & (((size_t)1 << CACHE_BITS) - 1)];
        if (slot->klen == len && slot->hash == h && memcmp(slot->key, w, len) == 0) {
            a->hits++;
            *out_len = slot->slen;
            return slot->stem;
        }
    }
    a->misses++;
    const sb_symbol *s = sb_stemmer_stem(a->stemmer, (const sb_symbol *)w, (int)len);
    if (!s) { *out_len = len; return w; } /* out of memory inside Snowball: keep the word */
    size_t sl = (size_t)sb_stemmer_length(a->stemmer);
    /* A stemmer can strip a whole word (Nepali "दी" stems to nothing) or
     * lengthen one (Turkish "ereunnqng" -> "ereunnqngu"): an empty term, or
     * one longer than maxlen (so possibly past the format's 255 bytes), is
     * never indexed; the word itself is, as it fits. */
    if (sl == 0 || sl > a->maxlen) { *out_len = len; return w; }
    memcpy(a->stem_out, s, sl);
    if (slot && sl <= CACHE_KEY) {
        slot->hash = h;
        slot->klen = (uint8_t)len;
        slot->slen = (uint8_t)sl;
        memcpy(slot->key, w, len);
        memcpy(slot->stem, s, sl);
    }
    *out_len = sl;
    return a->stem_out;
}

/* Deliver a folded term.  stem: whether the term is a word (not a bigram). */
static int deliver(emit_ctx *e, const char *term, size_t len, size_t start, size_t end, int stem)
{
    ft_analyzer *a = e->a;
    uint32_t pos = e->pos++;
    if (len == 0 || pos < e->from) return 0;
    if (len > a->maxlen) { e->st.dropped++; return 0; }
    if (a->opts.stopwords && stem && is_stopword(term, len)) { e->st.stopped++; return 0; }
    if (e->sp) {
        if (pos >= e->to || e->sp_n == e->sp_cap) return 1;
        e->sp[e->sp_n++] = (ft_span){pos, start, end};
        e->st.tokens++;
        return 0;
    }
    size_t tl = len;
    const char *t = (stem && !e->raw) ? stem_word(a, term, len, &tl) : term;
    ft_token tok = {t, tl, pos, start, end, stem && e->raw && a->stemmer};
    e->st.tokens++;
    return e->fn(e->ctx, &tok);
}

/* Normalise (NFKC + case fold) the UTF-8 bytes src[0..len) into a->u32 as UTF-8;
 * returns the byte length or -1 (invalid input, cannot happen for decoded text). */
static long fold_unicode(ft_analyzer *a, const char *src, size_t len)
{
    const utf8proc_option_t opt = UTF8PROC_STABLE | UTF8PROC_COMPAT | UTF8PROC_CASEFOLD |
                                  UTF8PROC_COMPOSE;
    for (;;) {
        utf8proc_ssize_t n = utf8proc_decompose((const utf8proc_uint8_t *)src,
                                                (utf8proc_ssize_t)len, a->u32,
                                                (utf8proc_ssize_t)a->u32_cap, opt);
        if (n < 0) return -1;
        if ((size_t)n <= a->u32_cap) {
            utf8proc_ssize_t m = utf8proc_reencode(a->u32, n, opt);
            return m < 0 ? -1 : (long)m;
        }
        int32_t *p = realloc(a->u32, (size_t)n * sizeof(int32_t));
        if (!p) return -1;
        a->u32 = p;
        a->u32_cap = (size_t)n;
    }
}

/* Finish a word held in a->word[0..wlen). */
static int finish_word(emit_ctx *e, size_t wlen, int ascii, size_t start, size_t end)
{
    ft_analyzer *a = e->a;
    const char *w = a->word;
    size_t len = wlen;
    if (e->pos < e->from) { /* counted only */
        e->pos++;
        return 0;
    }
    if (e->spans && ascii) { /* spans: its bytes are its term's (ASCII folding keeps lengths) */
        const uint8_t *s = e->src;
        len = end - start; /* wlen may be a placeholder */
        if (len > 2 && ascii_class[s[end - 2]] == C_APOS && ascii_word[s[end - 1]] == 's') len -= 2;
        return deliver(e, NULL, len, start, end, 1);
    }
    if (!ascii) {
        long m = fold_unicode(a, a->word, wlen);
        if (m < 0) { e->pos++; return 0; }
        w = (const char *)a->u32;
        len = (size_t)m;
    }
    /* possessive: drop a final 's (the apostrophe was normalised to ') */
    if (len > 2 && w[len - 2] == '\'' && (w[len - 1] == 's')) len -= 2;
    return deliver(e, w, len, start, end, 1);
}

/* Double the word buffer. */
static int word_grow(ft_analyzer *a)
{
    char *p = realloc(a->word, a->word_cap * 2);
    if (!p) return -1;
    a->word = p;
    a->word_cap *= 2;
    return 0;
}

static int word_push(ft_analyzer *a, size_t wlen, const void *bytes, size_t n)
{
    if (wlen + n > a->word_cap) {
        size_t cap = a->word_cap * 2;
        while (cap < wlen + n) cap *= 2;
        char *p = realloc(a->word, cap);
        if (!p) return -1;
        a->word = p;
        a->word_cap = cap;
    }
    memcpy(a->word + wlen, bytes, n);
    return 0;
}

/* Fold one CJK code point into buf (only compatibility forms need it). */
static size_t cjk_fold(int32_t cp, const uint8_t *src, size_t n, char *buf)
{
    if ((cp >= 0xFF66 && cp <= 0xFF9F) || (cp >= 0xF900 && cp <= 0xFAFF) ||
        (cp >= 0x2F800 && cp <= 0x2FA1F) || (cp >= 0x3130 && cp <= 0x318F)) {
        utf8proc_int32_t out[8];
        utf8proc_ssize_t m = utf8proc_decompose_char(cp, out, 8, UTF8PROC_COMPAT, NULL);
        if (m >= 1 && m <= 2) {
            /* recompose (e.g. halfwidth ka + voiced mark) */
            m = utf8proc_normalize_utf32(out, m, UTF8PROC_COMPOSE | UTF8PROC_STABLE);
            size_t k = 0;
            for (utf8proc_ssize_t j = 0; j < m && k + 4 <= 8; j++)
                k += (size_t)utf8proc_encode_char(out[j], (utf8proc_uint8_t *)buf + k);
            if (k) return k;
        }
    }
    memcpy(buf, src, n);
    return n;
}

typedef struct span_out {
    ft_span *sp;
    size_t cap, n;
    uint32_t to;
} span_out;

static int analyze_(ft_analyzer *a, int raw, const char *text, size_t len, uint32_t first_pos,
                    uint32_t from, ft_token_fn fn, void *ctx, ft_analyze_stats *stats, span_out *so);

static int analyze(ft_analyzer *a, int raw, const char *text, size_t len, uint32_t first_pos,
                   uint32_t from, ft_token_fn fn, void *ctx, ft_analyze_stats *stats)
{
    return analyze_(a, raw, text, len, first_pos, from, fn, ctx, stats, NULL);
}

int ft_analyze(ft_analyzer *a, const char *text, size_t len, uint32_t first_pos, ft_token_fn fn,
               void *ctx, ft_analyze_stats *stats)
{
    return analyze(a, 0, text, len, first_pos, 0, fn, ctx, stats);
}

int ft_analyze_words(ft_analyzer *a, const char *text, size_t len, uint32_t first_pos,
                     ft_token_fn fn, void *ctx, ft_analyze_stats *stats)
{
    return analyze(a, 1, text, len, first_pos, 0, fn, ctx, stats);
}

int ft_analyze_words_from(ft_analyzer *a, const char *text, size_t len, uint32_t first_pos,
                          uint32_t from, ft_token_fn fn, void *ctx, ft_analyze_stats *stats)
{
    return analyze(a, 1, text, len, first_pos, from, fn, ctx, stats);
}

int ft_analyze_spans(ft_analyzer *a, const char *text, size_t len, uint32_t first_pos, uint32_t from,
                     uint32_t to, ft_span *out, size_t cap, size_t *n)
{
    span_out so = {out, cap, 0, to};
    /* a stopword is known by its folded bytes: then words are folded */
    int rc = analyze_(a, a->opts.stopwords ? 1 : 2, text, len, first_pos, from, NULL, NULL, NULL, &so);
    *n = so.n;
    return rc;
}

const char *ft_analyzer_stem(ft_analyzer *a, const char *word, size_t len, size_t *out_len)
{
    return stem_word(a, word, len, out_len);
}

/* Spans: an ASCII word was not copied; a non-ASCII character joins it, so
 * its bytes so far go to the word buffer as the copying path puts them. */
static int span_fixup(ft_analyzer *a, const uint8_t *s, size_t wstart, size_t i, size_t *wlen)
{
    size_t n = i - wstart;
    while (n > a->word_cap)
        if (word_grow(a)) return -1;
    for (size_t k = 0; k < n; k++) {
        uint8_t c = s[wstart + k], f = ascii_word[c];
        a->word[k] = (char)(f ? f : ascii_class[c] == C_APOS ? '\'' : c);
    }
    *wlen = n;
    return 0;
}

/* The end of the run of ASCII letters and digits from s[j]: sixteen bytes
 * at a time where SSE2 is (x86-64 always has it; a word's end is then one
 * mask instead of a loop exit that mispredicts on every word), else the
 * table loop.  Letters are the bytes that OR 0x20 puts in 'a'..'z' (only
 * 'A'..'Z' and 'a'..'z' do; bytes >= 0x80 compare negative). */
static inline size_t alnum_end(const uint8_t *s, size_t j, size_t len)
{
#if FT_SSE2
    const __m128i lo_a = _mm_set1_epi8('a' - 1), hi_z = _mm_set1_epi8('z' + 1);
    const __m128i lo_0 = _mm_set1_epi8('0' - 1), hi_9 = _mm_set1_epi8('9' + 1), bit5 = _mm_set1_epi8(0x20);
    while (len - j >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + j));
        __m128i l = _mm_or_si128(v, bit5);
        __m128i letter = _mm_and_si128(_mm_cmpgt_epi8(l, lo_a), _mm_cmplt_epi8(l, hi_z));
        __m128i digit = _mm_and_si128(_mm_cmpgt_epi8(v, lo_0), _mm_cmplt_epi8(v, hi_9));
        unsigned other = ~(unsigned)_mm_movemask_epi8(_mm_or_si128(letter, digit)) & 0xFFFFu;
        if (other) return j + (size_t)__builtin_ctz(other);
        j += 16;
    }
#endif
    while (j < len && ascii_word[s[j]]) j++;
    return j;
}

/* The end of the ASCII word starting at s[i] (a letter or digit), as the
 * state machine of analyze_ would end it: runs of letters and digits, joined
 * by an apostrophe between letters or by '.' or ',' between digits.  0 when
 * the word may go on past an ASCII byte (so the generic machine must read
 * it). */
static size_t ascii_word_end(const uint8_t *s, size_t len, size_t i)
{
    for (;;) {
        i = alnum_end(s, i, len);
        if (i == len) return i;
        uint8_t c = s[i];
        if (c >= 0x80) return 0;
        int cl = ascii_class[c];
        if (cl != C_APOS && cl != C_MIDNUM) return i;
        if (i + 1 >= len) return i;
        uint8_t nx = s[i + 1];
        if (nx >= 0x80) return 0;
        int want = cl == C_APOS ? C_LETTER : C_DIGIT;
        if (ascii_class[s[i - 1]] != want || ascii_class[nx] != want) return i;
        i++;
    }
}

/* Bytes after a run of ASCII letters and digits that may continue the word:
 * an apostrophe, '.' or ',' (between letters or digits), any byte >= 0x80. */
static const uint8_t word_goes_on[256] = {
    ['\''] = 1, ['.'] = 1, [','] = 1,
    [0x80] = 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
};

/* analyze_ between words, while words are counted (below e->from) or
 * delivered as spans: each whole ASCII word is numbered, and put in the span
 * array as deliver() would (same order of checks: counted, too long, past
 * e->to or the array full).  Stops at a non-ASCII byte, at a word the
 * generic machine must read (at its first byte), or at the first word to be
 * delivered to a callback.  Returns deliver()'s nonzero to stop.
 *
 * With SSE2, sixteen bytes are classified at once into bit masks (letters,
 * digits, bytes >= 0x80, apostrophes, '.' and ','), and the words that end
 * inside them, not where they could go on, are read off the masks: a word
 * costs a few bit operations instead of a byte loop over the separators,
 * a scan for its end and a mispredicted test of the byte after it.  A word
 * that may go on (a joining apostrophe, '.' or ',', a byte >= 0x80 after
 * it, the chunk's end) is read by the byte loop, which is exact. */
typedef struct word_sink { /* scan_ascii_words' counters, copied out of the emit_ctx */
    ft_span *sp;
    size_t n, cap;
    uint32_t pos, from, to, maxlen;
    uint64_t tokens, dropped;
} word_sink;

/* The whole ASCII word [start, end) (wl bytes once a final 's is off) at
 * position w->pos: counted, dropped as too long or put in the span array,
 * as deliver() would.  1 when it is refused (past w->to or the array full:
 * numbered, then the scan stops), else 0. */
static inline int take_word(word_sink *w, size_t start, size_t end, size_t wl)
{
    if (w->pos >= w->from) {
        if (wl > w->maxlen) {
            w->dropped++;
        } else if (w->pos >= w->to || w->n == w->cap) {
            w->pos++;
            return 1;
        } else {
            w->sp[w->n++] = (ft_span){w->pos, start, end};
            w->tokens++;
        }
    }
    w->pos++;
    return 0;
}

static int scan_ascii_words(emit_ctx *e, const uint8_t *s, size_t len, size_t *at)
{
    /* a local sink, so that the span stores do not force reloads of the counters */
    word_sink w = {e->sp, e->sp_n, e->sp_cap, e->pos, e->from, e->to, e->a->maxlen, 0, 0};
    size_t i = *at;
    int spans = e->spans, rc = 0;
    while (i < len) {
#if FT_SSE2
        if (len - i >= 16) { /* s[i - 1] is not in a word: a word char at bit 0 starts one */
            const __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
            const __m128i l = _mm_or_si128(v, _mm_set1_epi8(0x20));
            unsigned L = (unsigned)_mm_movemask_epi8(
                _mm_and_si128(_mm_cmpgt_epi8(l, _mm_set1_epi8('a' - 1)), _mm_cmplt_epi8(l, _mm_set1_epi8('z' + 1))));
            unsigned D = (unsigned)_mm_movemask_epi8(
                _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8('0' - 1)), _mm_cmplt_epi8(v, _mm_set1_epi8('9' + 1))));
            unsigned H = (unsigned)_mm_movemask_epi8(v);
            unsigned A = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('\'')));
            unsigned M = (unsigned)_mm_movemask_epi8(
                _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('.')), _mm_cmpeq_epi8(v, _mm_set1_epi8(','))));
            unsigned W = L | D, J = A | M;
            /* where a word ending just before may go on: a byte >= 0x80, a
             * joiner followed by one, an apostrophe between letters, '.' or
             * ',' between digits, a joiner last (its next byte unseen) */
            unsigned on = H | (J & (H >> 1)) | (A & (L << 1) & (L >> 1)) | (M & (D << 1) & (D >> 1)) | (J & 0x8000u);
            unsigned starts = W & ~(W << 1) & 0xFFFFu, lasts = W & ~(W >> 1); /* runs' first and last bytes */
            unsigned stop = H ? (unsigned)__builtin_ctz(H) : 16; /* the generic machine reads from there */
            for (;;) {
                unsigned b = starts ? (unsigned)__builtin_ctz(starts) : 16;
                if (b > stop) { /* a byte >= 0x80 among the separators before it */
                    i += stop;
                    goto done;
                }
                if (b == 16) {
                    i += 16;
                    break;
                }
                unsigned end = (unsigned)__builtin_ctz(lasts >> b) + b + 1;
                if (end == 16 || (on >> end & 1)) { /* it may go on: the byte loop */
                    i += b;
                    goto one;
                }
                if (!spans && w.pos >= w.from) { /* the first word for the callback */
                    i += b;
                    goto done;
                }
                if ((rc = take_word(&w, i + b, i + end, end - b))) {
                    i += b;
                    goto done;
                }
                starts &= starts - 1;
            }
            continue;
        }
    one:
#endif
        {
            uint8_t c = s[i];
            if (!ascii_word[c]) {
                if (c >= 0x80) break;
                i++;
                continue;
            }
        }
        if (!spans && w.pos >= w.from) break;
        size_t j = alnum_end(s, i + 1, len);
        size_t end = j;
        if (j < len && word_goes_on[s[j]]) end = ascii_word_end(s, len, j); /* the word may go on */
        if (!end) break;
        size_t wl = end - i;
        if (wl > 2 && s[end - 2] == '\'' && ascii_word[s[end - 1]] == 's') wl -= 2;
        if ((rc = take_word(&w, i, end, wl))) break;
        i = end;
    }
#if FT_SSE2
done:
#endif
    *at = i;
    e->pos = w.pos;
    e->sp_n = w.n;
    e->st.tokens += w.tokens;
    e->st.dropped += w.dropped;
    return rc;
}

static int analyze_(ft_analyzer *a, int raw, const char *text, size_t len, uint32_t first_pos,
                    uint32_t from, ft_token_fn fn, void *ctx, ft_analyze_stats *stats, span_out *so)
{
    emit_ctx e = {a, raw != 0, fn, ctx, {0}, first_pos, from, raw == 2, (const uint8_t *)text,
                  so ? so->sp : NULL, so ? so->cap : 0, 0, so ? so->to : 0};
    const uint8_t *s = (const uint8_t *)text;
    size_t i = 0;
    size_t wlen = 0, wstart = 0;
    int in_word = 0, ascii = 1, last = C_SEP;
    /* CJK run state: previous character (folded bytes) and its offsets */
    char prev[8], cur[8];
    size_t prev_len = 0, prev_start = 0, run = 0;
    int rc = 0;

#define END_WORD(endpos)                                                   \
    do {                                                                   \
        if (in_word) {                                                     \
            rc = finish_word(&e, wlen, ascii, wstart, (endpos));           \
            in_word = 0; wlen = 0; ascii = 1;                              \
            if (rc) goto out;                                              \
        }                                                                  \
    } while (0)
#define END_RUN()                                                          \
    do {                                                                   \
        if (run == 1) {                                                    \
            rc = deliver(&e, prev, prev_len, prev_start, prev_start + prev_src_len, 0); \
            if (rc) goto out;                                              \
        }                                                                  \
        run = 0;                                                           \
    } while (0)

    size_t prev_src_len = 0;
    while (i < len) {
        if (!in_word && !run && (e.spans || e.pos < e.from)) {
            /* Between words, when words are only counted or only located:
             * whole ASCII words at a time, each counted or put in the span
             * array here.  A word the state machine below must see (one
             * that meets a non-ASCII byte, or whose bytes are needed) is
             * left at its first byte, and so is any non-ASCII byte. */
            rc = scan_ascii_words(&e, s, len, &i);
            if (rc) goto out;
            if (i >= len) break;
        }
        uint8_t c = s[i];
        int32_t cp;
        size_t n;
        int cls;
        if (c < 0x80) {
            cp = c;
            n = 1;
            cls = ascii_class[c];
        } else {
            n = decode_utf8(s, len, i, &cp);
            if (cp < 0) {
                e.st.invalid_bytes += n;
                cls = C_SEP;
            } else {
                cls = unicode_class(cp);
            }
        }
        if (cls == C_CJK) {
            END_WORD(i);
            size_t cl = cjk_fold(cp, s + i, n, cur);
            if (run >= 1) {
                char bi[16];
                memcpy(bi, prev, prev_len);
                memcpy(bi + prev_len, cur, cl);
                rc = deliver(&e, bi, prev_len + cl, prev_start, i + n, 0);
                if (rc) goto out;
            }
            memcpy(prev, cur, cl);
            prev_len = cl;
            prev_start = i;
            prev_src_len = n;
            run++;
            i += n;
            last = C_CJK;
            continue;
        }
        if (run) END_RUN();
        switch (cls) {
        case C_LETTER:
        case C_DIGIT:
        case C_MARK:
            if (!in_word) {
                in_word = 1;
                wstart = i;
                wlen = 0;
                ascii = 1;
            }
            if (c < 0x80) {
                /* ASCII fast path: take the whole run of ASCII letters and
                 * digits at once, lowercasing as it is copied */
                size_t j = i, room = a->word_cap - wlen;
                char *dst = a->word + wlen;
                uint8_t f;
                if (e.pos < e.from || (e.spans && ascii)) { /* counted, or a span: its bytes are not needed */
                    while (j < len && ascii_word[s[j]]) j++;
                    wlen = 1; /* not empty: finish_word counts it */
                    last = ascii_class[s[j - 1]];
                    i = j;
                    continue;
                }
                while (j < len && (f = ascii_word[s[j]]) != 0) { /* classify and fold at once */
                    if (j - i == room) {
                        if (word_grow(a)) goto oom;
                        room = a->word_cap - wlen;
                        dst = a->word + wlen;
                    }
                    dst[j - i] = (char)f;
                    j++;
                }
                wlen += j - i;
                last = ascii_class[s[j - 1]];
                i = j;
                continue;
            } else {
                if (e.spans && ascii && i > wstart && e.pos >= e.from && span_fixup(a, s, wstart, i, &wlen)) goto oom;
                if (word_push(a, wlen, s + i, n)) goto oom;
                wlen += n;
                ascii = 0;
            }
            last = cls == C_MARK ? last : cls;
            break;
        case C_APOS:
            if (in_word && last == C_LETTER && class_at(s, len, i + n) == C_LETTER) {
                if (c >= 0x80 && e.spans && ascii && e.pos >= e.from) { /* not a span any more */
                    if (span_fixup(a, s, wstart, i, &wlen)) goto oom;
                    ascii = 0;
                }
                if (word_push(a, wlen, "'", 1)) goto oom;
                wlen++;
                break;
            }
            END_WORD(i);
            last = C_SEP;
            break;
        case C_MIDNUM:
            if (in_word && last == C_DIGIT && class_at(s, len, i + n) == C_DIGIT) {
                if (c >= 0x80 && e.spans && ascii && e.pos >= e.from) { /* not a span any more */
                    if (span_fixup(a, s, wstart, i, &wlen)) goto oom;
                    ascii = 0;
                }
                if (word_push(a, wlen, s + i, 1)) goto oom;
                wlen++;
                break;
            }
            END_WORD(i);
            last = C_SEP;
            break;
        default:
            END_WORD(i);
            last = C_SEP;
            break;
        }
        i += n;
    }
    END_WORD(len);
    if (run) END_RUN();
out:
    if (stats) {
        *stats = e.st;
        stats->next_pos = e.pos;
    }
    if (so) so->n = e.sp_n;
    return rc;
oom:
    /* Out of memory growing the word buffer: drop the word, keep going is not
     * possible; report what was done. */
    rc = FT_ENOMEM;
    goto out;
#undef END_WORD
#undef END_RUN
}

size_t ft_utf8_valid_prefix(const char *text, size_t len)
{
    const uint8_t *s = (const uint8_t *)text;
    size_t i = 0;
    while (i < len) {
        if (s[i] < 0x80) { i++; continue; }
        int32_t cp;
        size_t n = decode_utf8(s, len, i, &cp);
        if (cp < 0) break;
        i += n;
    }
    return i;
}

size_t ft_utf8_sanitize(const char *text, size_t len, ft_buf *out)
{
    const uint8_t *s = (const uint8_t *)text;
    size_t bad = 0;
    size_t i = ft_utf8_valid_prefix(text, len); /* most text is valid */
    if (i == len) return 0;
    ft_buf_append(out, text, i);
    while (i < len) {
        int32_t cp;
        size_t n = s[i] < 0x80 ? (cp = s[i], 1) : decode_utf8(s, len, i, &cp);
        if (cp < 0) {
            bad += n;
            ft_buf_append(out, "\xEF\xBF\xBD", 3);
        } else {
            ft_buf_append(out, s + i, n);
        }
        i += n;
    }
    return bad;
}

void ft_utf8_sanitize_part(const char *text, size_t len, size_t *pos, size_t max, ft_buf *out)
{
    const uint8_t *s = (const uint8_t *)text;
    size_t i = *pos, len0 = out->len;
    while (i < len && out->len - len0 < max) {
        int32_t cp;
        size_t n = s[i] < 0x80 ? (cp = s[i], 1) : decode_utf8(s, len, i, &cp);
        if (cp < 0) ft_buf_append(out, "\xEF\xBF\xBD", 3);
        else ft_buf_append(out, s + i, n);
        i += n;
    }
    *pos = i;
}

size_t ft_utf8_sanitized_len(const char *text, size_t len)
{
    const uint8_t *s = (const uint8_t *)text;
    size_t i = ft_utf8_valid_prefix(text, len), out = i;
    while (i < len) {
        int32_t cp;
        size_t n = s[i] < 0x80 ? (cp = s[i], 1) : decode_utf8(s, len, i, &cp);
        out += cp < 0 ? 3 : n;
        i += n;
    }
    return out;
}
