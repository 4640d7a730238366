/*
 * fuzz_jsonl.c — fuzz target: the JSON Lines field scanner (ft_jsonl_extract)
 * against jansson, as tests/test_jsonl.c does on generated records.
 *
 * Input: one record (any bytes).  Whatever the scanner accepts, jansson must
 * accept as an object with the same kinds and bytes for "id" (string or
 * integer), "title" and "body" (strings); a string must come back as valid
 * UTF-8.  The record is scanned twice with the same scratch buffer (results
 * identical) and once with the keys in another order.
 */
#include <inttypes.h>
#include <jansson.h>
#include <string.h>

#include "fuzz_util.h"
#include "ft_jsonl.h"
#include "ft_tokenize.h"

static const char *const KEYS[3] = {"id", "title", "body"};
static const int INT_OK[3] = {1, 0, 0};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *line = (const char *)data;
    ft_buf scratch;
    ft_buf_init(&scratch);
    ft_jsonl_value v[3];
    int rc = ft_jsonl_extract(line, size, KEYS, INT_OK, 3, v, &scratch);
    FZ_CHECK(rc == FT_JSONL_OK || rc == FT_JSONL_FALLBACK, "returned %d", rc);
    if (rc != FT_JSONL_OK) {
        ft_buf_free(&scratch);
        return 0;
    }
    json_error_t e;
    json_t *o = json_loadb(line, size, JSON_ALLOW_NUL, &e);
    FZ_CHECK(o && json_is_object(o), "scanner accepted a record jansson rejects (%s)", o ? "not an object" : e.text);
    for (int i = 0; i < 3; i++) {
        json_t *j = json_object_get(o, KEYS[i]);
        if (!j) {
            FZ_CHECK(v[i].kind == FT_JSONL_ABSENT, "field %s: jansson has none, scanner kind %d", KEYS[i], v[i].kind);
        } else if (json_is_null(j)) {
            FZ_CHECK(v[i].kind == FT_JSONL_NULL, "field %s: null, scanner kind %d", KEYS[i], v[i].kind);
        } else if (json_is_string(j)) {
            FZ_CHECK(v[i].kind == FT_JSONL_STRING, "field %s: string, scanner kind %d", KEYS[i], v[i].kind);
            FZ_CHECK(v[i].len == json_string_length(j) && !memcmp(v[i].text, json_string_value(j), v[i].len),
                     "field %s: string bytes differ", KEYS[i]);
            ft_buf b;
            ft_buf_init(&b);
            FZ_CHECK(ft_utf8_sanitize(v[i].text, v[i].len, &b) == 0, "field %s: invalid UTF-8", KEYS[i]);
            ft_buf_free(&b);
        } else if (json_is_integer(j) && INT_OK[i]) {
            char buf[32];
            snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT, json_integer_value(j));
            FZ_CHECK(v[i].kind == FT_JSONL_INTEGER, "field %s: integer, scanner kind %d", KEYS[i], v[i].kind);
            FZ_CHECK(v[i].len == strlen(buf) && !memcmp(v[i].text, buf, v[i].len),
                     "field %s: integer %s, scanner %.*s", KEYS[i], buf, (int)v[i].len, v[i].text);
        } else {
            FZ_CHECK(0, "field %s: scanner accepted a value of type %d", KEYS[i], (int)json_typeof(j));
        }
    }
    json_decref(o);

    /* deterministic with a reused scratch buffer; key order does not matter */
    size_t lens[3];
    int kinds[3];
    for (int i = 0; i < 3; i++) {
        lens[i] = v[i].len;
        kinds[i] = v[i].kind;
    }
    static const char *const REV[3] = {"body", "title", "id"};
    static const int REV_INT[3] = {0, 0, 1};
    ft_jsonl_value w[3];
    FZ_CHECK(ft_jsonl_extract(line, size, REV, REV_INT, 3, w, &scratch) == FT_JSONL_OK,
             "second scan (keys reversed) fell back");
    for (int i = 0; i < 3; i++)
        FZ_CHECK((int)w[2 - i].kind == kinds[i] && w[2 - i].len == lens[i], "field %s differs on a second scan",
                 KEYS[i]);
    ft_buf_free(&scratch);
    return 0;
}
