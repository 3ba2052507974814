/* secret.c: keeping passwords out of messages and process listings. One
 * scanner finds the password values in a connection string
 * (`password=...`, `sslpassword=...`, quoted or not), in a URI's user
 * information (`postgresql://user:PASSWORD@host`) and its query
 * (`?password=...`); pgq_dsn_scrub overwrites them in place, pgq__mask
 * replaces them with "***" in a message. libpq echoes parts of a malformed
 * connection string in its errors (a bad percent-encoding echoes the raw
 * password), so a message is masked by pattern and, in addition, by the
 * literal password values of the DSN it was made from. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

enum { SCAN_DSN, SCAN_TEXT };

static bool is_uri(const char *s)
{
    return strncmp(s, "postgresql://", 13) == 0 || strncmp(s, "postgres://", 11) == 0;
}

/* The end of a password in a URI's user information: libpq reads it up to
 * '@' (or the '/' that starts the path); in a message the URI is quoted. */
static const char *userinfo_end(const char *p, int mode)
{
    while (*p && *p != '@' && *p != '/' &&
           !(mode == SCAN_TEXT && (*p == '"' || isspace((unsigned char)*p))))
        p++;
    return p;
}

/* The value after "password" at p (past the key), or NULL if p is not
 * followed by '='. *end is set past the value. */
static const char *kv_value(const char *p, int mode, bool uri, const char **end)
{
    while (!uri && *p == ' ')
        p++;
    if (*p != '=')
        return NULL;
    p++;
    while (!uri && *p == ' ')
        p++;
    const char *v = p;
    if (!uri && *p == '\'') {
        v = ++p;
        while (*p && *p != '\'')
            p += p[0] == '\\' && p[1] ? 2 : 1;
    } else {
        while (*p && !(uri ? *p == '&' : isspace((unsigned char)*p)) &&
               !(mode == SCAN_TEXT &&
                 (*p == '&' || *p == '"' || isspace((unsigned char)*p))))
            p++;
    }
    *end = p;
    return v;
}

/* Is the key at s..key (key points at "password") a whole key? */
static bool key_starts(const char *s, const char *key)
{
    if (key - s >= 3 && strncmp(key - 3, "ssl", 3) == 0)
        key -= 3;
    if (key == s)
        return true;
    char c = key[-1];
    return c == '?' || c == '&' || c == '\'' || c == '"' || isspace((unsigned char)c);
}

/* The next password value in s at or after *from: its start, *end past
 * it; NULL when there is none. */
static const char *next_secret(const char *s, const char *from, int mode,
                               const char **end)
{
    bool uri = mode == SCAN_DSN && is_uri(s);
    for (const char *p = from; *p; p++) {
        if (strncmp(p, "://", 3) == 0) {
            const char *ui = p + 3, *stop = userinfo_end(ui, mode);
            const char *colon = memchr(ui, ':', (size_t)(stop - ui));
            if (*stop == '@' && colon && colon + 1 < stop) {
                *end = stop;
                return colon + 1;
            }
        }
        if (strncmp(p, "password", 8) == 0 && key_starts(s, p)) {
            const char *v = kv_value(p + 8, mode, uri, end);
            if (v && *end > v)
                return v;
        }
    }
    return NULL;
}

/* Scrubbing can change what the scanner sees (a '/' or '@' inside a
 * quoted password shapes a URI's user information), so it repeats until
 * nothing changes: every pass only turns bytes into '*', so it ends. */
void pgq_dsn_scrub(char *dsn)
{
    bool changed = dsn != NULL;
    while (changed) {
        changed = false;
        const char *end, *v, *from = dsn;
        while ((v = next_secret(dsn, from, SCAN_DSN, &end)) != NULL) {
            for (char *p = dsn + (v - dsn); p < dsn + (end - dsn); p++) {
                changed |= *p != '*';
                *p = '*';
            }
            from = end;
        }
    }
}

/* s with [a, b) replaced by "***"; frees s. NULL when out of memory. */
static char *splice_mask(char *s, size_t a, size_t b)
{
    size_t n = strlen(s);
    char *out = malloc(n - (b - a) + 4);
    if (out) {
        memcpy(out, s, a);
        memcpy(out + a, "***", 3);
        memcpy(out + a + 3, s + b, n - b + 1);
    }
    free(s);
    return out;
}

static bool word_char(char c)
{
    return isalnum((unsigned char)c) || c == '_';
}

/* Replaces each occurrence of the literal value in s. A value shorter than
 * 4 characters is only replaced where it stands alone, so a one-letter
 * password does not garble the whole message. */
static char *mask_literal(char *s, const char *value, size_t len)
{
    size_t from = 0;
    while (s) {
        char *hit = strstr(s + from, value);
        if (!hit)
            break;
        size_t a = (size_t)(hit - s);
        bool alone = (a == 0 || !word_char(s[a - 1])) && !word_char(hit[len]);
        if (len < 4 && !alone) {
            from = a + 1;
            continue;
        }
        s = splice_mask(s, a, a + len);
        from = a + 3;
    }
    return s;
}

char *pgq__mask(const char *text, const char *dsn)
{
    char *s = strdup(text ? text : "");
    const char *v, *end;
    size_t from = 0;
    while (s && (v = next_secret(s, s + from, SCAN_TEXT, &end)) != NULL) {
        size_t a = (size_t)(v - s), b = (size_t)(end - s);
        s = splice_mask(s, a, b);
        from = a + 3;
    }
    for (const char *p = dsn; s && p && (v = next_secret(dsn, p, SCAN_DSN, &end));
         p = end) {
        size_t len = (size_t)(end - v);
        char *value = strndup(v, len);
        if (!value) {
            free(s);
            return NULL;
        }
        if (strcmp(value, "***") != 0)
            s = mask_literal(s, value, len);
        free(value);
    }
    return s;
}
