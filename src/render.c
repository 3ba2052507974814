/* render.c: expands object-name placeholders in SQL templates, and splits
 * scripts into statements. Names were validated by pgq__names_init, so the
 * quoting below cannot be escaped; it still doubles quotes defensively. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static void quoted_ident(pgq__buf *b, const char *a, const char *z)
{
    pgq__buf_putc(b, '"');
    for (const char *s = a; *s; s++) {
        if (*s == '"')
            pgq__buf_putc(b, '"');
        pgq__buf_putc(b, *s);
    }
    for (const char *s = z; s && *s; s++) {
        if (*s == '"')
            pgq__buf_putc(b, '"');
        pgq__buf_putc(b, *s);
    }
    pgq__buf_putc(b, '"');
}

static void literal(pgq__buf *b, const char *s)
{
    pgq__buf_putc(b, '\'');
    for (; *s; s++) {
        if (*s == '\'')
            pgq__buf_putc(b, '\'');
        pgq__buf_putc(b, *s);
    }
    pgq__buf_putc(b, '\'');
}

static void qualified(pgq__buf *b, const pgq__names *n, const char *name)
{
    if (n->schema[0]) {
        quoted_ident(b, n->schema, NULL);
        pgq__buf_putc(b, '.');
    }
    quoted_ident(b, n->prefix, name);
}

/* Expands one placeholder body (between the braces); false if unknown. */
static bool expand(pgq__buf *b, const pgq__names *n, const char *key)
{
    const char *arg = strchr(key, ':');
    size_t klen = arg ? (size_t)(arg - key) : strlen(key);
    if (arg)
        arg++;
    if (klen == 1 && key[0] == 'Q' && arg) {
        qualified(b, n, arg);
    } else if (klen == 1 && key[0] == 'N' && arg) {
        quoted_ident(b, n->prefix, arg);
    } else if (klen == 1 && key[0] == 'L' && arg) {
        pgq__buf q = {0};
        pgq__buf_puts(&q, n->prefix);
        pgq__buf_puts(&q, arg);
        literal(b, pgq__buf_cstr(&q) ? q.data : "");
        pgq__buf_free(&q);
    } else if (klen == 2 && strncmp(key, "LQ", 2) == 0 && arg) {
        pgq__buf q = {0};
        qualified(&q, n, arg);
        literal(b, pgq__buf_cstr(&q) ? q.data : "");
        pgq__buf_free(&q);
    } else if (klen == 2 && strncmp(key, "UQ", 2) == 0 && arg) {
        /* The qualified name as PgQueuer writes it (unquoted), e.g. for its
         * advisory lock keys; names are validated lower-case identifiers. */
        pgq__buf q = {0};
        pgq__buf_printf(&q, "%s%s%s%s", n->schema, n->schema[0] ? "." : "", n->prefix,
                        arg);
        literal(b, pgq__buf_cstr(&q) ? q.data : "");
        pgq__buf_free(&q);
    } else if (strcmp(key, "CHANNEL") == 0) {
        literal(b, n->channel);
    } else if (strcmp(key, "SCHEMA") == 0) {
        quoted_ident(b, n->schema, NULL);
    } else if (strcmp(key, "SCHEMA_L") == 0) {
        if (n->schema[0])
            literal(b, n->schema);
        else
            pgq__buf_puts(b, "current_schema()");
    } else {
        return false;
    }
    return true;
}

char *pgq__render(const pgq__names *n, const char *tmpl)
{
    pgq__buf b = {0};
    const char *p = tmpl;
    while (*p) {
        const char *open = strchr(p, '{');
        const char *close = open ? strchr(open, '}') : NULL;
        char key[96];
        size_t klen = close ? (size_t)(close - open - 1) : 0;
        if (!open || !close || klen == 0 || klen >= sizeof key ||
            memchr(open + 1, '\n', klen) || memchr(open + 1, ' ', klen)) {
            /* Not a placeholder (e.g. an array literal '{}'): copy through. */
            size_t upto = open ? (size_t)(open - p) + 1 : strlen(p);
            pgq__buf_append(&b, p, upto);
            p += upto;
            continue;
        }
        memcpy(key, open + 1, klen);
        key[klen] = '\0';
        pgq__buf_append(&b, p, (size_t)(open - p));
        if (!expand(&b, n, key))
            pgq__buf_append(&b, open, klen + 2);
        p = close + 1;
    }
    if (b.oom || !b.data) {
        pgq__buf_free(&b);
        return b.oom ? NULL : strdup("");
    }
    return b.data;
}

char *pgq__next_statement(const char **pos)
{
    const char *p = *pos;
    for (;;) {
        while (*p == '\n' || *p == ' ' || *p == '\t')
            p++;
        if (!*p) {
            *pos = p;
            return NULL;
        }
        /* Skip comment-only paragraphs (file headers). */
        const char *end = strstr(p, "\n\n");
        if (!end)
            end = p + strlen(p);
        bool only_comments = true;
        for (const char *l = p; l < end;) {
            const char *nl = memchr(l, '\n', (size_t)(end - l));
            const char *le = nl ? nl : end;
            while (l < le && (*l == ' ' || *l == '\t'))
                l++;
            if (le - l >= 1 && !(le - l >= 2 && l[0] == '-' && l[1] == '-'))
                only_comments = false;
            l = le + 1;
        }
        if (only_comments) {
            p = end;
            continue;
        }
        size_t len = (size_t)(end - p);
        while (len && (p[len - 1] == '\n' || p[len - 1] == ' '))
            len--;
        char *s = malloc(len + 1);
        if (s) {
            memcpy(s, p, len);
            s[len] = '\0';
        }
        *pos = end;
        return s;
    }
}
