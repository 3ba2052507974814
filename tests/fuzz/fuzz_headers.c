/*
 * fuzz_headers.c: job headers as pgq_enqueue validates them
 * (pgq__batch_add, src/enqueue.c), without a database: the batch is only
 * encoded, not sent.
 *
 * Headers must be a JSON object or JSON null (the jsonb column's rule).
 * Invariants: the validation agrees with a reference JSON checker written
 * here from RFC 8259 plus the limits pgq documents (no \u0000, which jsonb
 * refuses; numbers within a double's range; nesting at most 2048 deep);
 * an accepted job's headers are encoded as jsonb's binary form (version
 * byte 1, then the text, unchanged); a refused one adds nothing to the
 * batch and the message names the job and its headers.
 */
#include <math.h>
#include <stdbool.h>

#include "fuzz.h"
#include "internal.h"

enum { MAX_DEPTH = 2048, COL_HEADERS = 5, ARRAY_HEADER = 20 };

typedef struct ref {
    const unsigned char *p;
    int depth;
} ref;

static bool value(ref *r);

static void ws(ref *r)
{
    while (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r')
        r->p++;
}

static bool lit(ref *r, const char *word)
{
    size_t n = strlen(word);
    if (strncmp((const char *)r->p, word, n) != 0)
        return false;
    r->p += n;
    return true;
}

static int hex4(const unsigned char *p)
{
    int v = 0;
    for (int i = 0; i < 4; i++) {
        int c = p[i], d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return -1;
        v = v * 16 + d;
    }
    return v;
}

/* One UTF-8 sequence of a multi-byte character (strict: no overlong
 * forms, no surrogates, nothing past U+10FFFF). */
static bool utf8(ref *r)
{
    const unsigned char *p = r->p;
    unsigned c = p[0], n, min, v;
    if (c >= 0xc2 && c <= 0xdf)
        n = 1, min = 0x80, v = c & 0x1f;
    else if (c >= 0xe0 && c <= 0xef)
        n = 2, min = 0x800, v = c & 0x0f;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 3, min = 0x10000, v = c & 0x07;
    else
        return false;
    for (unsigned i = 1; i <= n; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return false;
        v = v << 6 | (p[i] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return false;
    r->p += n + 1;
    return true;
}

static bool string(ref *r)
{
    r->p++; /* the opening quote */
    for (;;) {
        unsigned c = *r->p;
        if (c == '"') {
            r->p++;
            return true;
        }
        if (c < 0x20)
            return false; /* includes the end of the text */
        if (c >= 0x80) {
            if (!utf8(r))
                return false;
            continue;
        }
        r->p++;
        if (c != '\\')
            continue;
        c = *r->p++;
        if (strchr("\"\\/bfnrt", (int)c) && c)
            continue;
        if (c != 'u')
            return false;
        int u = hex4(r->p);
        if (u <= 0) /* not hex, or \u0000 */
            return false;
        r->p += 4;
        if (u >= 0xdc00 && u <= 0xdfff)
            return false; /* a low surrogate first */
        if (u >= 0xd800 && u <= 0xdbff) {
            if (r->p[0] != '\\' || r->p[1] != 'u')
                return false;
            int lo = hex4(r->p + 2);
            if (lo < 0xdc00 || lo > 0xdfff)
                return false;
            r->p += 6;
        }
    }
}

static bool digits(ref *r)
{
    if (!(*r->p >= '0' && *r->p <= '9'))
        return false;
    while (*r->p >= '0' && *r->p <= '9')
        r->p++;
    return true;
}

static bool number(ref *r)
{
    const unsigned char *start = r->p;
    if (*r->p == '-')
        r->p++;
    if (*r->p == '0')
        r->p++;
    else if (!digits(r))
        return false;
    if (*r->p == '.') {
        r->p++;
        if (!digits(r))
            return false;
    }
    if (*r->p == 'e' || *r->p == 'E') {
        r->p++;
        if (*r->p == '+' || *r->p == '-')
            r->p++;
        if (!digits(r))
            return false;
    }
    return isfinite(strtod((const char *)start, NULL));
}

static bool container(ref *r, char close)
{
    if (++r->depth > MAX_DEPTH)
        return false;
    r->p++;
    ws(r);
    if (*r->p == (unsigned char)close) {
        r->p++;
        r->depth--;
        return true;
    }
    for (;;) {
        if (close == '}') {
            if (*r->p != '"' || !string(r))
                return false;
            ws(r);
            if (*r->p++ != ':')
                return false;
            ws(r);
        }
        if (!value(r))
            return false;
        ws(r);
        if (*r->p == (unsigned char)close) {
            r->p++;
            r->depth--;
            return true;
        }
        if (*r->p++ != ',')
            return false;
        ws(r);
    }
}

static bool value(ref *r)
{
    switch (*r->p) {
    case '{':
        return container(r, '}');
    case '[':
        return container(r, ']');
    case '"':
        return string(r);
    case 't':
        return lit(r, "true");
    case 'f':
        return lit(r, "false");
    case 'n':
        return lit(r, "null");
    default:
        return number(r);
    }
}

/* True if s is one JSON object or null, with only whitespace around it. */
static bool ref_headers_ok(const char *s)
{
    ref r = {(const unsigned char *)s, 0};
    ws(&r);
    if (*r.p != '{' && *r.p != 'n')
        return false;
    if (!value(&r))
        return false;
    ws(&r);
    return *r.p == '\0';
}

static uint32_t get_u32(const char *p)
{
    const unsigned char *u = (const unsigned char *)p;
    return (uint32_t)u[0] << 24 | (uint32_t)u[1] << 16 | (uint32_t)u[2] << 8 | u[3];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_cstr(data, size);
    pgq_client c = {0}; /* no connection: errors are only recorded */
    pgq__batch b = {0};
    pgq_new_job job = {
        .entrypoint = "ep", .payload = "x", .payload_len = 1, .headers = s};

    int rc = pgq__batch_add(&c, &b, &job, 7);
    bool want = ref_headers_ok(s);
    FUZZ_CHECK((rc == PGQ_OK) == want);
    if (rc == PGQ_OK) {
        const pgq__buf *h = &b.cols[COL_HEADERS];
        size_t n = strlen(s);
        FUZZ_CHECK(b.n == 1 && h->len == ARRAY_HEADER + 4 + 1 + n);
        FUZZ_CHECK(get_u32(h->data + ARRAY_HEADER) == n + 1);
        FUZZ_CHECK(h->data[ARRAY_HEADER + 4] == 1);
        FUZZ_CHECK(memcmp(h->data + ARRAY_HEADER + 5, s, n) == 0);
    } else {
        FUZZ_CHECK(rc == PGQ_EINVAL && b.n == 0 && pgq__batch_bytes(&b) == 0);
        FUZZ_CHECK(c.errmsg && strstr(c.errmsg, "job 7") && strstr(c.errmsg, "headers"));
    }
    pgq__batch_free(&b);
    free(c.errmsg);
    free(s);
    return 0;
}
