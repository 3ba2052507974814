/* http_parse.c: request paths, form fields, id lists and Basic credentials
 * for the web console. Every function is bounded by its length arguments
 * and never reads past them: request data is attacker-controlled. */
#include "http_parse.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *path;
    web_route route;
} fixed[] = {
    {"/", WEB_R_OVERVIEW},
    {"/api/overview", WEB_R_OVERVIEW_API},
    {"/failed", WEB_R_FAILED},
    {"/failed/action", WEB_R_FAILED_ACTION},
    {"/queue", WEB_R_QUEUE},
    {"/workers", WEB_R_WORKERS},
    {"/schedules", WEB_R_SCHEDULES},
    {"/system", WEB_R_SYSTEM},
    {"/metrics", WEB_R_METRICS},
    {"/healthz", WEB_R_HEALTHZ},
    {"/static/style.css", WEB_R_CSS},
    {"/static/app.js", WEB_R_JS},
};

int web_parse_id(const char *s, size_t n, int64_t *id)
{
    int64_t v = 0;
    if (n == 0 || n > 19)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        int d = s[i] - '0';
        if (v > (INT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    if (v <= 0)
        return -1;
    *id = v;
    return 0;
}

web_route web_route_parse(const char *path, int64_t *id)
{
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        if (strcmp(path, fixed[i].path) == 0)
            return fixed[i].route;
    if (strncmp(path, "/job/", 5) != 0)
        return WEB_R_NOT_FOUND;
    const char *s = path + 5;
    const char *slash = strchr(s, '/');
    size_t n = slash ? (size_t)(slash - s) : strlen(s);
    if (web_parse_id(s, n, id) != 0)
        return WEB_R_BAD_ID;
    if (!slash)
        return WEB_R_JOB;
    if (strcmp(slash, "/payload") == 0)
        return WEB_R_JOB_PAYLOAD;
    if (strcmp(slash, "/requeue") == 0)
        return WEB_R_JOB_REQUEUE;
    return WEB_R_NOT_FOUND;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

long web_url_decode(const char *in, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    if (cap == 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        char c = in[i];
        if (c == '%') {
            if (i + 2 >= n) /* both hex digits must be inside the input */
                return -1;
            int h = hexval(in[i + 1]), l = hexval(in[i + 2]);
            if (h < 0 || l < 0)
                return -1;
            c = (char)(h * 16 + l);
            i += 2;
        } else if (c == '+') {
            c = ' ';
        }
        if (o + 1 >= cap)
            return -1;
        out[o++] = c;
    }
    out[o] = '\0';
    return (long)o;
}

/* Calls fn for each "key=value" field of form; stops when fn returns
 * non-zero and returns that. */
typedef int (*field_fn)(void *ud, const char *k, size_t kn, const char *v, size_t vn);

static int each_field(const char *form, size_t n, field_fn fn, void *ud)
{
    size_t i = 0;
    while (i < n) {
        const char *amp = memchr(form + i, '&', n - i);
        size_t end = amp ? (size_t)(amp - form) : n;
        const char *f = form + i;
        size_t fn_len = end - i;
        const char *eq = memchr(f, '=', fn_len);
        size_t kn = eq ? (size_t)(eq - f) : fn_len;
        const char *v = eq ? eq + 1 : f + fn_len;
        size_t vn = eq ? fn_len - kn - 1 : 0;
        if (fn_len > 0) {
            int rc = fn(ud, f, kn, v, vn);
            if (rc)
                return rc;
        }
        i = end + 1;
    }
    return 0;
}

typedef struct get_ctx {
    const char *key;
    char *out;
    size_t cap;
    long len;
} get_ctx;

/* Keys are compared decoded, so "csrf" and "csr%66" are the same field. */
static bool key_is(const char *k, size_t kn, const char *want)
{
    char buf[64];
    long len = kn < sizeof buf ? web_url_decode(k, kn, buf, sizeof buf) : -1;
    return len >= 0 && (size_t)len == strlen(want) && memcmp(buf, want, (size_t)len) == 0;
}

static int get_one(void *ud, const char *k, size_t kn, const char *v, size_t vn)
{
    get_ctx *g = ud;
    if (!key_is(k, kn, g->key))
        return 0;
    g->len = web_url_decode(v, vn, g->out, g->cap);
    if (g->len < 0)
        g->len = -2;
    return 1;
}

long web_form_get(const char *form, size_t n, const char *key, char *out, size_t cap)
{
    get_ctx g = {key, out, cap, -1};
    if (cap)
        out[0] = '\0';
    each_field(form, n, get_one, &g);
    return g.len;
}

typedef struct ids_ctx {
    const char *key;
    int64_t *ids;
    size_t max, count;
    char *err;
    size_t errlen;
} ids_ctx;

static int add_id(ids_ctx *c, const char *s, size_t n)
{
    while (n && *s == ' ')
        s++, n--;
    while (n && s[n - 1] == ' ')
        n--;
    int64_t id;
    if (web_parse_id(s, n, &id) != 0) {
        snprintf(c->err, c->errlen, "'%.*s' is not a job id (a positive integer)",
                 (int)(n > 40 ? 40 : n), s);
        return -1;
    }
    for (size_t i = 0; i < c->count; i++)
        if (c->ids[i] == id)
            return 0;
    if (c->count == c->max) {
        snprintf(c->err, c->errlen, "more than %zu job ids", c->max);
        return -1;
    }
    c->ids[c->count++] = id;
    return 0;
}

static int ids_one(void *ud, const char *k, size_t kn, const char *v, size_t vn)
{
    ids_ctx *c = ud;
    char buf[4096];
    if (!key_is(k, kn, c->key))
        return 0;
    long len = web_url_decode(v, vn, buf, sizeof buf);
    if (len < 0) {
        snprintf(c->err, c->errlen, "a job id list is malformed or too long");
        return -1;
    }
    size_t start = 0;
    for (size_t i = 0; i <= (size_t)len; i++) {
        if (i == (size_t)len || buf[i] == ',') {
            if (add_id(c, buf + start, i - start) != 0)
                return -1;
            start = i + 1;
        }
    }
    return 0;
}

int web_form_ids(const char *form, size_t n, const char *key, int64_t *ids, size_t max,
                 size_t *count, char *err, size_t errlen)
{
    ids_ctx c = {key, ids, max, 0, err, errlen};
    int rc = each_field(form, n, ids_one, &c);
    *count = c.count;
    return rc ? -1 : 0;
}

static int b64val(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

int web_basic_auth(const char *header, char *user, size_t ucap, char *pass, size_t pcap)
{
    char dec[512];
    size_t o = 0;
    unsigned acc = 0;
    int bits = 0;
    if (!header || strncmp(header, "Basic ", 6) != 0)
        return -1;
    const char *s = header + 6;
    while (*s == ' ')
        s++;
    for (; *s && *s != '='; s++) {
        int v = b64val(*s);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o + 1 >= sizeof dec)
                return -1;
            dec[o++] = (char)((acc >> bits) & 0xff);
        }
    }
    while (*s == '=')
        s++;
    if (*s)
        return -1;
    dec[o] = '\0';
    char *colon = memchr(dec, ':', o);
    if (!colon || memchr(dec, '\0', o))
        return -1;
    size_t un = (size_t)(colon - dec), pn = o - un - 1;
    if (un + 1 > ucap || pn + 1 > pcap)
        return -1;
    memcpy(user, dec, un);
    user[un] = '\0';
    memcpy(pass, colon + 1, pn);
    pass[pn] = '\0';
    return 0;
}

int web_parse_listen(const char *s, char *addr, size_t n, int *port)
{
    const char *colon;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':' || (size_t)(close - s - 1) >= n)
            return -1;
        memcpy(addr, s + 1, (size_t)(close - s - 1));
        addr[close - s - 1] = '\0';
        colon = close + 1;
    } else {
        colon = strrchr(s, ':');
        size_t len = colon ? (size_t)(colon - s) : 0;
        if (len >= n)
            return -1;
        memcpy(addr, s, len);
        addr[len] = '\0';
        if (!colon)
            colon = s - 1;
        if (!addr[0])
            snprintf(addr, n, "127.0.0.1");
    }
    const char *p = colon + 1;
    if (!*p || strlen(p) > 5 || strspn(p, "0123456789") != strlen(p))
        return -1;
    long v = strtol(p, NULL, 10);
    if (v > 65535)
        return -1;
    *port = (int)v;
    unsigned char buf[16];
    if (inet_pton(AF_INET, addr, buf) != 1 && inet_pton(AF_INET6, addr, buf) != 1)
        return -1;
    return 0;
}

bool web_is_loopback(const char *addr)
{
    struct in_addr a4;
    if (inet_pton(AF_INET, addr, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    return strcmp(addr, "::1") == 0;
}
