/*
 * fuzz_tokenize.c — fuzz target: the analyzer, every Snowball language.
 *
 * Input: byte 0 picks the language (0: none, i: the i-th of
 * ft_stem_languages(), modulo their number), byte 1 the options (bit 0:
 * English stopwords, bits 1-7: max token bytes, 0 meaning the default), the
 * rest is the text (any bytes).  Checked for every token: a non-empty term of
 * at most max bytes, valid UTF-8, positions strictly increasing, byte ranges
 * inside the text and in order; the stats agree with the tokens; a second
 * run (stem cache warm) and ft_analyze_words + ft_analyzer_stem give exactly
 * the same tokens; ft_analyze_spans gives the positions and byte ranges of
 * ft_analyze_words_from's words in a range of positions the input picks;
 * ft_utf8_sanitize yields valid UTF-8 and reports an invalid byte exactly
 * when the text had one.
 */
#include <string.h>

#include "fuzz_util.h"
#include "ft_tokenize.h"

typedef struct run {
    ft_buf terms;   /* varint len, bytes, varint pos, varint start, varint end */
    uint64_t n;
    size_t textlen;
    unsigned maxlen;
    uint32_t lastpos;
    size_t laststart;
    ft_analyzer *an; /* for words mode */
    int words;
} run;

static int valid_utf8(const char *p, size_t n)
{
    ft_buf b;
    ft_buf_init(&b);
    size_t bad = ft_utf8_sanitize(p, n, &b);
    ft_buf_free(&b);
    return bad == 0;
}

static int on_tok(void *ctx, const ft_token *t)
{
    run *r = ctx;
    const char *term = t->term;
    size_t len = t->len;
    if (r->words && t->stem) term = ft_analyzer_stem(r->an, t->term, t->len, &len);
    FZ_CHECK(len >= 1 && len <= r->maxlen, "term of %zu bytes (max %u)", len, r->maxlen);
    FZ_CHECK(valid_utf8(term, len), "term is not valid UTF-8");
    FZ_CHECK(t->start < t->end && t->end <= r->textlen, "range [%zu,%zu) of %zu bytes", t->start,
             t->end, r->textlen);
    if (r->n) {
        FZ_CHECK(t->pos > r->lastpos, "position %u after %u", t->pos, r->lastpos);
        FZ_CHECK(t->start >= r->laststart, "start %zu after %zu", t->start, r->laststart);
    }
    r->lastpos = t->pos;
    r->laststart = t->start;
    r->n++;
    ft_buf_put_varint(&r->terms, len);
    ft_buf_append(&r->terms, term, len);
    ft_buf_put_varint(&r->terms, t->pos);
    ft_buf_put_varint(&r->terms, t->start);
    ft_buf_put_varint(&r->terms, t->end);
    return 0;
}

/* (position, start, end) of every token */
static int on_tuple(void *ctx, const ft_token *t)
{
    ft_buf *b = ctx;
    ft_buf_put_varint(b, t->pos);
    ft_buf_put_varint(b, t->start);
    ft_buf_put_varint(b, t->end);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) return 0;
    const char **langs = ft_stem_languages();
    unsigned nl = 0;
    while (langs[nl]) nl++;
    ft_analyzer_opts o;
    ft_analyzer_opts_default(&o);
    unsigned li = data[0] % (nl + 1);
    snprintf(o.lang, sizeof o.lang, "%s", li ? langs[li - 1] : "none");
    o.stopwords = (data[1] & 1) && !strcmp(o.lang, "english");
    o.max_token_bytes = data[1] >> 1;
    const char *text = (const char *)data + 2;
    size_t len = size - 2;

    ft_analyzer *an = NULL;
    ft_error err = {0};
    FZ_CHECK(ft_analyzer_new(&o, &an, &err) == FT_OK, "analyzer %s: %s", o.lang, err.msg);
    unsigned maxlen = ft_analyzer_options(an)->max_token_bytes;

    run r[3];
    uint64_t invalid = 0;
    for (int k = 0; k < 3; k++) {
        memset(&r[k], 0, sizeof r[k]);
        ft_buf_init(&r[k].terms);
        r[k].textlen = len;
        r[k].maxlen = maxlen;
        r[k].an = an;
        r[k].words = k == 2;
        ft_analyze_stats st;
        memset(&st, 0, sizeof st);
        int rc = k == 2 ? ft_analyze_words(an, text, len, 0, on_tok, &r[k], &st)
                        : ft_analyze(an, text, len, 0, on_tok, &r[k], &st);
        FZ_CHECK(rc == 0, "analyze returned %d", rc);
        FZ_CHECK(!r[k].terms.failed, "out of memory");
        FZ_CHECK(st.tokens == r[k].n, "stats say %llu tokens, %llu delivered",
                 (unsigned long long)st.tokens, (unsigned long long)r[k].n);
        FZ_CHECK(!r[k].n || st.next_pos > r[k].lastpos, "next_pos %u, last position %u", st.next_pos,
                 r[k].lastpos);
        FZ_CHECK(st.invalid_bytes <= len, "invalid bytes %llu", (unsigned long long)st.invalid_bytes);
        invalid = st.invalid_bytes;
        if (k)
            FZ_CHECK(r[k].terms.len == r[0].terms.len &&
                         (!r[0].terms.len || !memcmp(r[k].terms.p, r[0].terms.p, r[0].terms.len)),
                     "run %d (%s) gives different tokens from the first", k,
                     k == 1 ? "stem cache warm" : "ft_analyze_words + ft_analyzer_stem");
    }
    uint32_t from = (uint32_t)(r[2].n ? len % (r[2].n + 1) : 0);
    for (int k = 0; k < 3; k++) ft_buf_free(&r[k].terms);

    /* spans: the words of ft_analyze_words_from in [from, to) */
    uint32_t to = from + 1 + (uint32_t)(size % 64);
    ft_buf tw, ts;
    ft_buf_init(&tw);
    ft_buf_init(&ts);
    FZ_CHECK(ft_analyze_words_from(an, text, len, 0, from, on_tuple, &tw, NULL) == 0, "words_from failed");
    ft_span sp[64];
    size_t ns = 0;
    int more = ft_analyze_spans(an, text, len, 0, from, to, sp, to - from, &ns);
    FZ_CHECK(more == 0 || more == 1, "ft_analyze_spans returned %d", more);
    for (size_t i = 0; i < ns; i++) on_tuple(&ts, &(ft_token){NULL, 0, sp[i].pos, sp[i].start, sp[i].end, 0});
    FZ_CHECK(!tw.failed && !ts.failed, "out of memory");
    FZ_CHECK(ts.len <= tw.len && (!ts.len || !memcmp(tw.p, ts.p, ts.len)),
             "ft_analyze_spans [%u, %u) gives other words than ft_analyze_words_from", from, to);
    { /* the rest of the words_from list starts at to or later, and exists iff more */
        const uint8_t *q = tw.p ? tw.p + ts.len : NULL, *end = tw.p ? tw.p + tw.len : NULL;
        uint64_t pos;
        if (q != end) {
            FZ_CHECK(!ft_varint_get(&q, end, &pos) && pos >= to, "a word in [from, to) left out");
            FZ_CHECK(more == 1, "more words, but ft_analyze_spans says the text ended");
        } else {
            FZ_CHECK(more == 0, "ft_analyze_spans says more words follow, none do");
        }
    }
    ft_buf_free(&tw);
    ft_buf_free(&ts);

    ft_buf clean;
    ft_buf_init(&clean);
    size_t bad = ft_utf8_sanitize(text, len, &clean);
    FZ_CHECK(!clean.failed, "out of memory");
    FZ_CHECK(bad == invalid, "ft_utf8_sanitize counts %zu invalid bytes, the analyzer %llu", bad,
             (unsigned long long)invalid);
    if (bad) FZ_CHECK(valid_utf8((const char *)clean.p, clean.len), "sanitized text is not valid UTF-8");
    else FZ_CHECK(clean.len == 0, "valid text was copied");
    ft_buf_free(&clean);
    ft_analyzer_free(an);
    return 0;
}
