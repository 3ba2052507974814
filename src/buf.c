/* buf.c: a growable string buffer with the escapes SQL arrays and JSON need. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static bool grow(pgq__buf *b, size_t extra)
{
    if (b->oom)
        return false;
    if (b->len + extra + 1 <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *p = realloc(b->data, cap);
    if (!p) {
        b->oom = true;
        return false;
    }
    b->data = p;
    b->cap = cap;
    return true;
}

void pgq__buf_append(pgq__buf *b, const char *s, size_t n)
{
    if (!grow(b, n))
        return;
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void pgq__buf_puts(pgq__buf *b, const char *s)
{
    pgq__buf_append(b, s, strlen(s));
}

void pgq__buf_putc(pgq__buf *b, char ch)
{
    pgq__buf_append(b, &ch, 1);
}

void pgq__buf_printf(pgq__buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !grow(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void pgq__buf_array_elem(pgq__buf *b, const char *s)
{
    if (!s) {
        pgq__buf_puts(b, "NULL");
        return;
    }
    pgq__buf_putc(b, '"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            pgq__buf_putc(b, '\\');
        pgq__buf_putc(b, *s);
    }
    pgq__buf_putc(b, '"');
}

void pgq__buf_array_bytea(pgq__buf *b, const void *p, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *u = p;
    if (!p) {
        pgq__buf_puts(b, "NULL");
        return;
    }
    /* Inside an array element a backslash must itself be escaped. */
    pgq__buf_puts(b, "\"\\\\x");
    if (!grow(b, n * 2))
        return;
    for (size_t i = 0; i < n; i++) {
        b->data[b->len++] = hex[u[i] >> 4];
        b->data[b->len++] = hex[u[i] & 15];
    }
    b->data[b->len] = '\0';
    pgq__buf_putc(b, '"');
}

void pgq__buf_json_str(pgq__buf *b, const char *s)
{
    pgq__buf_putc(b, '"');
    for (const unsigned char *u = (const unsigned char *)s; u && *u; u++) {
        switch (*u) {
        case '"':
            pgq__buf_puts(b, "\\\"");
            break;
        case '\\':
            pgq__buf_puts(b, "\\\\");
            break;
        case '\n':
            pgq__buf_puts(b, "\\n");
            break;
        case '\r':
            pgq__buf_puts(b, "\\r");
            break;
        case '\t':
            pgq__buf_puts(b, "\\t");
            break;
        default:
            if (*u < 0x20)
                pgq__buf_printf(b, "\\u%04x", *u);
            else
                pgq__buf_putc(b, (char)*u);
        }
    }
    pgq__buf_putc(b, '"');
}

void pgq__buf_int8_array(pgq__buf *b, const int64_t *v, size_t n)
{
    pgq__buf_putc(b, '{');
    for (size_t i = 0; i < n; i++)
        pgq__buf_printf(b, i ? ",%lld" : "%lld", (long long)v[i]);
    pgq__buf_putc(b, '}');
}

void pgq__buf_reset(pgq__buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

void pgq__buf_free(pgq__buf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

const char *pgq__buf_cstr(pgq__buf *b)
{
    if (b->oom)
        return NULL;
    return b->data ? b->data : "";
}

char *pgq__strdup(const char *s)
{
    return s ? strdup(s) : NULL;
}
