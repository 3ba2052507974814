/* parse.c: the CLI's pure parsers (durations, id lists, integers, --exec
 * specs). They never allocate on failure, and are fuzzed by
 * tests/fuzz/fuzz_duration.c, fuzz_idlist.c and fuzz_exec_spec.c. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char *skip_spaces(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/* A decimal number at *p: digits, optionally a point and more digits
 * (no sign, exponent, hex, "inf" or "nan": strtod alone takes "0x10" as
 * 16 and "1e3" as 1000). Advances *p past it; -1 when there is none. */
static int decimal(const char **p, double *out)
{
    const char *s = *p, *q = s;
    char buf[64];
    while (*q >= '0' && *q <= '9')
        q++;
    if (q == s)
        return -1;
    if (*q == '.') {
        const char *f = ++q;
        while (*q >= '0' && *q <= '9')
            q++;
        if (q == f)
            return -1;
    }
    if ((size_t)(q - s) >= sizeof buf)
        return -1;
    memcpy(buf, s, (size_t)(q - s));
    buf[q - s] = '\0';
    *out = strtod(buf, NULL);
    *p = q;
    return 0;
}

int cli_parse_number(const char *s, double *out)
{
    double v;
    const char *p = s;
    if (!s || decimal(&p, &v) != 0 || *p)
        return -1;
    *out = v;
    return 0;
}

int cli_parse_duration(const char *s, double *seconds)
{
    static const struct {
        const char *unit;
        double factor;
    } units[] = {{"ms", 0.001}, {"s", 1}, {"m", 60}, {"h", 3600}, {"d", 86400}};
    double total = 0, v;
    const char *p = s;
    if (!s || !*s)
        return -1;
    /* A bare number means seconds. */
    if (cli_parse_number(s, &v) == 0) {
        if (!(v < 1e12))
            return -1;
        *seconds = v;
        return 0;
    }
    while (*p) {
        if (decimal(&p, &v) != 0 || !(v < 1e12))
            return -1;
        size_t best = 0;
        double factor = 0;
        for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
            size_t n = strlen(units[i].unit);
            if (strncmp(p, units[i].unit, n) == 0 && n > best) {
                best = n;
                factor = units[i].factor;
            }
        }
        if (!best)
            return -1;
        p += best;
        total += v * factor;
    }
    if (!(total < 1e12))
        return -1;
    *seconds = total;
    return 0;
}

int cli_parse_id(const char *s, int64_t *id)
{
    long long v;
    if (cli_parse_int(s, 1, INT64_MAX, &v) != 0)
        return -1;
    *id = (int64_t)v;
    return 0;
}

int cli_parse_int(const char *s, long long min, long long max, long long *out)
{
    if (!s || !*s)
        return -1;
    const char *p = s;
    if (*p == '-' || *p == '+')
        p++;
    if (!*p)
        return -1;
    for (const char *q = p; *q; q++)
        if (*q < '0' || *q > '9')
            return -1;
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

int cli_parse_id_list(const char *s, int64_t **ids, size_t *n, char *err, size_t errlen)
{
    *ids = NULL;
    *n = 0;
    if (!s || !*skip_spaces(s)) {
        snprintf(err, errlen, "the job-id list is empty");
        return -1;
    }
    size_t cap = 1;
    for (const char *p = s; *p; p++)
        cap += *p == ',';
    int64_t *out = malloc(cap * sizeof *out);
    if (!out) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    size_t count = 0;
    const char *p = s;
    for (;;) {
        const char *item = skip_spaces(p);
        const char *comma = strchr(item, ',');
        size_t len = comma ? (size_t)(comma - item) : strlen(item);
        while (len && (item[len - 1] == ' ' || item[len - 1] == '\t'))
            len--;
        char tok[32];
        int64_t id;
        if (len == 0) {
            snprintf(err, errlen, "empty item in the job-id list '%s'", s);
            free(out);
            return -1;
        }
        if (len >= sizeof tok) {
            snprintf(err, errlen, "'%.24s...' is not a job id (too long)", item);
            free(out);
            return -1;
        }
        memcpy(tok, item, len);
        tok[len] = '\0';
        if (cli_parse_id(tok, &id) != 0) {
            snprintf(err, errlen,
                     "'%s' is not a job id (expected a positive integer up to "
                     "9223372036854775807)",
                     tok);
            free(out);
            return -1;
        }
        bool dup = false;
        for (size_t i = 0; i < count && !dup; i++)
            dup = out[i] == id;
        if (!dup)
            out[count++] = id;
        if (!comma)
            break;
        p = comma + 1;
    }
    *ids = out;
    *n = count;
    return 0;
}

int cli_split_assignment(const char *s, char *name, size_t namelen, const char **value)
{
    const char *eq = s ? strchr(s, '=') : NULL;
    if (!eq || eq == s || (size_t)(eq - s) >= namelen)
        return -1;
    memcpy(name, s, (size_t)(eq - s));
    name[eq - s] = '\0';
    *value = eq + 1;
    return 0;
}

int cli_parse_exec_spec(const char *s, char *name, size_t namelen, const char **command)
{
    if (cli_split_assignment(s, name, namelen, command) != 0 || !**command)
        return -1;
    return 0;
}
