/*
 * fuzz_http.c: the web console's request parsers (web/http_parse.c):
 * request paths, url-decoding, form and query fields, job-id lists and
 * Basic credentials. The first input byte picks the parser (and, for the
 * field parsers, a small output buffer to exercise truncation); the rest is
 * the request text.
 *
 * Invariants: nothing reads or writes out of bounds (ASan); a /job route
 * carries a positive id parsed from the path; decoding never grows the
 * text and plain text decodes to itself; a field found fits its buffer and
 * is NUL-terminated there; id lists hold at most `max` distinct positive
 * ids; credentials decoded hold no ':' in the user name.
 */
#include <stdbool.h>

#include "../../web/http_parse.h"
#include "fuzz.h"

static void route(const char *s)
{
    int64_t id = 0;
    web_route r = web_route_parse(s, &id);
    if (r == WEB_R_JOB || r == WEB_R_JOB_PAYLOAD || r == WEB_R_JOB_REQUEUE) {
        FUZZ_CHECK(id > 0);
        FUZZ_CHECK(strncmp(s, "/job/", 5) == 0);
    }
}

static void decode(const char *s, size_t n)
{
    char *out = malloc(n + 1);
    FUZZ_CHECK(out);
    long len = web_url_decode(s, n, out, n + 1);
    bool plain = !memchr(s, '%', n) && !memchr(s, '+', n);
    FUZZ_CHECK(len <= (long)n);
    if (plain)
        FUZZ_CHECK(len == (long)n && memcmp(out, s, n) == 0);
    if (len >= 0)
        FUZZ_CHECK(out[len] == '\0');
    free(out);
}

static void field(const char *s, size_t n, size_t cap)
{
    char out[64]; /* cap is at most 63 */
    static const char *const keys[] = {"csrf", "id", "action", "payload", "a"};
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
        memset(out, 'Z', sizeof out);
        long len = web_form_get(s, n, keys[k], out, cap);
        FUZZ_CHECK(len >= -2 && len < (long)cap);
        if (len >= 0)
            FUZZ_CHECK(out[len] == '\0');
    }
}

static void ids(const char *s, size_t n, size_t max)
{
    int64_t v[16];
    size_t count = 99;
    char err[128] = "";
    int rc = web_form_ids(s, n, "id", v, max, &count, err, sizeof err);
    FUZZ_CHECK(count <= max);
    if (rc == 0) {
        for (size_t i = 0; i < count; i++) {
            FUZZ_CHECK(v[i] > 0);
            for (size_t j = 0; j < i; j++)
                FUZZ_CHECK(v[i] != v[j]);
        }
    } else {
        FUZZ_CHECK(err[0] != '\0');
    }
}

static void basic(const char *s)
{
    char user[32], pass[32];
    if (web_basic_auth(s, user, sizeof user, pass, sizeof pass) == 0) {
        FUZZ_CHECK(strchr(user, ':') == NULL);
        FUZZ_CHECK(strlen(user) < sizeof user && strlen(pass) < sizeof pass);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    uint8_t sel = data[0];
    const char *raw = (const char *)data + 1;
    size_t n = size - 1;
    char *s = fuzz_cstr(data + 1, n);
    switch (sel % 5) {
    case 0:
        route(s);
        break;
    case 1:
        decode(raw, n);
        break;
    case 2:
        field(raw, n, 1 + (size_t)(sel / 5) % 63);
        break;
    case 3:
        ids(raw, n, 1 + (size_t)(sel / 5) % 16);
        break;
    default:
        basic(s);
        break;
    }
    free(s);
    return 0;
}
