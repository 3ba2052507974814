/* cron_parse.c: parsing cron expressions the way croniter does (see
 * cron.c for why pgq follows croniter, quirks included): which tokens it
 * accepts, how `*`, `/`, `-`, names, L and # expand, how 0 and 7 map by
 * field count, and croniter's normalised text, which PgQueuer stores. Every
 * refusal names its field. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scheduler.h"

static const char *const field_names[6] = {"minute", "hour",        "day-of-month",
                                           "month",  "day-of-week", "second"};
static const int lo_of[6] = {0, 0, 1, 1, 0, 0};
static const int hi_of[6] = {59, 23, 31, 12, 7, 59};
static const int all_of[6] = {60, 24, 31, 12, 7, 60}; /* this many values mean '*' */

static const char *const months[12] = {"jan", "feb", "mar", "apr", "may", "jun",
                                       "jul", "aug", "sep", "oct", "nov", "dec"};
static const char *const days[7] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

static const struct {
    const char *alias, *expr;
} aliases[] = {
    {"@midnight", "0 0 * * *"}, {"@hourly", "0 * * * *"},  {"@daily", "0 0 * * *"},
    {"@weekly", "0 0 * * 0"},   {"@monthly", "0 0 1 * *"}, {"@yearly", "0 0 1 1 *"},
    {"@annually", "0 0 1 1 *"},
};

/* ---- Parsing ------------------------------------------------------------------ */

typedef struct parse_ctx {
    pgq__cron *c;
    int field;
    const char *token; /* the whole field, for messages */
    bool star_given;   /* an element was '*' */
    char *err;
    size_t errlen;
} parse_ctx;

static int fail(parse_ctx *p, const char *fmt, ...) PGQ_PRINTF(2, 3);
static int fail(parse_ctx *p, const char *fmt, ...)
{
    char why[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    snprintf(p->err, p->errlen, "%s field '%s': %s", field_names[p->field], p->token,
             why);
    return PGQ_EINVAL;
}

/* Python's str.isspace for ASCII: space, \t-\r and \x1c-\x1f. */
static bool py_space(unsigned char ch)
{
    return ch == ' ' || (ch >= '\t' && ch <= '\r') || (ch >= 0x1c && ch <= 0x1f);
}

static bool all_digits(const char *s, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return false;
    return true;
}

/* Value of a digit string, saturating well above every field's range. */
static long digits_value(const char *s, size_t n)
{
    long v = 0;
    for (size_t i = 0; i < n; i++) {
        v = v * 10 + (s[i] - '0');
        if (v > 1000000)
            v = 1000000;
    }
    return v;
}

/* croniter's _alphaconv: a month or weekday name, or 'l' in the day of
 * month (returned as -1). -2 when the token is not a name of this field. */
static long alpha(int field, const char *s, size_t n)
{
    if (field == 2 && n == 1 && s[0] == 'l')
        return -1;
    if (n != 3 || (field != 3 && field != 4))
        return -2;
    const char *const *names = field == 3 ? months : days;
    int count = field == 3 ? 12 : 7;
    for (int i = 0; i < count; i++)
        if (memcmp(s, names[i], 3) == 0)
            return field == 3 ? i + 1 : i;
    return -2;
}

/* A number or a name: its value, -1 for 'l', -2 when neither. */
static long int_or_alpha(int field, const char *s, size_t n)
{
    return all_digits(s, n) ? digits_value(s, n) : alpha(field, s, n);
}

/* Adds one value (croniter's single-item branch): 0/7 mapping by field and
 * field count, the range check, and the nth-weekday marker. */
static int add_value(parse_ctx *p, long v, int nth)
{
    pgq__cron *c = p->c;
    int f = p->field;
    bool five = c->nfields == 5;
    if (f == 2 && v == 0 && !five)
        v = 1; /* croniter maps day 0 to 1 only with six fields */
    if (f == 4 && v == 7 && five)
        v = 0;
    if (v < lo_of[f] || v > hi_of[f]) {
        char num[32];
        snprintf(num, sizeof num, "%ld", v);
        return fail(p, "%s is out of range", num);
    }
    c->bits[f] |= (uint64_t)1 << v;
    if (f == 4 && nth) {
        c->nth[v] |= (uint8_t)nth;
        c->has_nth = true;
    }
    return PGQ_OK;
}

/* step_search_re: LOW-HIGH[/STEP] with LOW free of '-', HIGH free of '-'
 * and '/', STEP digits. */
static bool match_range(const char *t, size_t n, size_t *low_n, const char **high,
                        size_t *high_n, const char **step, size_t *step_n)
{
    const char *dash = memchr(t, '-', n);
    if (!dash || dash == t)
        return false;
    const char *h = dash + 1, *end = t + n;
    const char *q = h;
    while (q < end && *q != '-' && *q != '/')
        q++;
    if (q == h)
        return false;
    *low_n = (size_t)(dash - t);
    *high = h;
    *high_n = (size_t)(q - h);
    *step = NULL;
    *step_n = 0;
    if (q == end)
        return true;
    if (*q != '/' || !all_digits(q + 1, (size_t)(end - q - 1)))
        return false;
    *step = q + 1;
    *step_n = (size_t)(end - q - 1);
    return true;
}

static int expand_range(parse_ctx *p, const char *t, size_t low_n, const char *high,
                        size_t high_n, const char *step, size_t step_n)
{
    int f = p->field;
    long low = int_or_alpha(f, t, low_n);
    long hi;
    if (f == 2 && high_n == 1 && high[0] == 'l')
        hi = 31;
    else
        hi = int_or_alpha(f, high, high_n);
    if (low == -2 || hi == -2)
        return fail(p, "%s is not a number or a name of this field", "a range end");
    if (low == -1)
        return fail(p, "%s cannot start a range", "L");
    long st = step ? digits_value(step, step_n) : 1;
    if (low > hi) {
        if (f == 4 && ((high_n == 1 && high[0] == '0') ||
                       (high_n == 3 && memcmp(high, "sun", 3) == 0)))
            hi = 7; /* croniter reads "-sun" and "-0" as 7 */
        else
            return fail(p, "%s: the start is above the end", "range");
    }
    if ((low > hi ? low : hi) > hi_of[f])
        return fail(p, "%s is above the field's maximum", "range");
    if (st == 0)
        return fail(p, "%s", "a step of 0");
    for (long v = low; v <= hi; v += st) {
        int rc = add_value(p, v, 0);
        if (rc != PGQ_OK)
            return rc;
    }
    return PGQ_OK;
}

/* The day-of-week forms NAME#N ("the Nth") and lN ("the last"): 1 when
 * e matched (value and nth set), 0 when not, <0 on error. Like croniter's
 * regular expression, anything after #N is ignored. */
static int match_nth(parse_ctx *p, const char *e, size_t n, long *value, int *nth)
{
    size_t w = 0;
    while (w < n && (isalnum((unsigned char)e[w]) || e[w] == '_'))
        w++;
    if (w > 0 && w < n && e[w] == '#') {
        size_t d = w + 1, dn = 0;
        while (d + dn < n && isdigit((unsigned char)e[d + dn]))
            dn++;
        if (dn > 0) {
            long k = digits_value(e + d, dn);
            if (k < 1 || k > 5)
                return fail(p, "%s: the N of #N must be 1 to 5", "day-of-week");
            long v = int_or_alpha(4, e, w);
            if (v < 0)
                return fail(p, "%s is not a weekday number or name", "the day before #");
            *value = v;
            *nth = 1 << k;
            return 1;
        }
    }
    if (n >= 2 && e[0] == 'l' && all_digits(e + 1, n - 1)) {
        *value = digits_value(e + 1, n - 1);
        *nth = PGQ__CRON_NTH_LAST;
        return 1;
    }
    return 0;
}

/* One comma-separated element of a field. */
static int parse_element(parse_ctx *p, const char *e, size_t n)
{
    int f = p->field;
    if (f == 4) {
        long v = 0;
        int nth = 0;
        int m = match_nth(p, e, n, &v, &nth);
        if (m < 0)
            return m;
        if (m > 0)
            return add_value(p, v, nth);
    }
    /* "*" followed by "/STEP": the field's whole range with that step. */
    char t[PGQ__CRON_MAX + 16];
    const char *s = e;
    size_t sn = n;
    if (n > 2 && e[0] == '*' && e[1] == '/') {
        sn = (size_t)snprintf(t, sizeof t, "%d-%d%.*s", lo_of[f], hi_of[f], (int)(n - 1),
                              e + 1);
        s = t;
    }
    size_t low_n, high_n, step_n;
    const char *high, *step;
    if (match_range(s, sn, &low_n, &high, &high_n, &step, &step_n))
        return expand_range(p, s, low_n, high, high_n, step, step_n);
    /* "START/STEP": START to the field's maximum (split at the last '/'
     * that has something after it). */
    for (size_t k = n >= 2 ? n - 2 : 0; k >= 1 && k < n; k--) {
        if (e[k] != '/')
            continue;
        char u[PGQ__CRON_MAX + 16];
        int un = snprintf(u, sizeof u, "%.*s-%d%.*s", (int)k, e, hi_of[f], (int)(n - k),
                          e + k);
        if (match_range(u, (size_t)un, &low_n, &high, &high_n, &step, &step_n))
            return expand_range(p, u, low_n, high, high_n, step, step_n);
        break;
    }
    if (n > 0 && e[0] == '-')
        return fail(p, "%s", "negative numbers are not allowed");
    if (n == 1 && e[0] == '*') {
        p->c->star[f] = p->star_given = true;
        return PGQ_OK;
    }
    long v = int_or_alpha(f, e, n);
    if (v == -1) {
        p->c->dom_last = true;
        return PGQ_OK;
    }
    if (v == -2) {
        char tok[48];
        snprintf(tok, sizeof tok, "'%.*s'", n > 40 ? 40 : (int)n, e);
        return fail(p, "%s is not a number, range, step or name of this field", tok);
    }
    return add_value(p, v, 0);
}

static int count_values(uint64_t bits)
{
    return __builtin_popcountll(bits);
}

static int parse_field(parse_ctx *p, const char *s, size_t n)
{
    /* croniter's hash expander: H needs a hash id, R is random. */
    if (n >= 1 && (s[0] == 'h' || s[0] == 'r')) {
        bool hashy = n == 1 || s[1] == '(' || s[1] == '/';
        if (hashy && s[0] == 'h')
            return fail(p, "%s", "H (hashed) needs a hash id, which schedules have not");
        if (hashy)
            return fail(p, "%s",
                        "R (random) is not supported: schedulers would disagree");
    }
    const char *end = s + n;
    const char *e = s;
    for (;;) {
        const char *comma = memchr(e, ',', (size_t)(end - e));
        const char *stop = comma ? comma : end;
        int rc = parse_element(p, e, (size_t)(stop - e));
        if (rc != PGQ_OK)
            return rc;
        if (!comma)
            break;
        e = comma + 1;
    }
    pgq__cron *c = p->c;
    int f = p->field;
    /* croniter replaces a list of as many distinct entries as the field
     * has values ('*' and L count as entries) by '*' alone. */
    int count = count_values(c->bits[f]) + (f == 2 && c->dom_last) + p->star_given;
    if (count == all_of[f]) {
        c->star[f] = true;
        c->bits[f] = 0;
        if (f == 2)
            c->dom_last = false;
    }
    return PGQ_OK;
}

/* Lower-cases, expands an alias and splits on white space into c->text
 * (fields joined by one space) and the field offsets. */
static int normalise(pgq__cron *c, const char *expr, size_t *starts, size_t *lens,
                     char *err, size_t errlen)
{
    size_t n = strlen(expr);
    if (n >= sizeof c->text) {
        snprintf(err, errlen, "expression longer than %zu characters",
                 sizeof c->text - 1);
        return PGQ_EINVAL;
    }
    char low[sizeof c->text];
    for (size_t i = 0; i <= n; i++) {
        unsigned char ch = (unsigned char)expr[i];
        if (ch >= 0x80) {
            snprintf(err, errlen, "expression '%s': only ASCII characters are allowed",
                     expr);
            return PGQ_EINVAL;
        }
        low[i] = (char)tolower(ch);
    }
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
        if (strcmp(low, aliases[i].alias) == 0)
            snprintf(low, sizeof low, "%s", aliases[i].expr);
    size_t k = 0, out = 0;
    int nf = 0;
    n = strlen(low);
    while (k < n) {
        while (k < n && py_space((unsigned char)low[k]))
            k++;
        if (k == n)
            break;
        size_t b = k;
        while (k < n && !py_space((unsigned char)low[k]))
            k++;
        if (nf < 7) {
            if (out)
                c->text[out++] = ' ';
            starts[nf] = out;
            lens[nf] = k - b;
        }
        if (nf < 7) {
            memcpy(c->text + out, low + b, k - b);
            out += k - b;
        }
        nf++;
    }
    c->text[out] = '\0';
    if (nf != 5 && nf != 6) {
        snprintf(err, errlen,
                 "expression '%s' has %d field%s: expected 5 (minute hour day-of-month "
                 "month day-of-week) or 6 (the same, then second)",
                 expr, nf, nf == 1 ? "" : "s");
        return PGQ_EINVAL;
    }
    c->nfields = nf;
    return PGQ_OK;
}

int pgq__cron_parse(pgq__cron *c, const char *expr, char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    if (!expr) {
        snprintf(err, errlen, "no expression");
        return PGQ_EINVAL;
    }
    size_t starts[7], lens[7];
    int rc = normalise(c, expr, starts, lens, err, errlen);
    if (rc != PGQ_OK)
        return rc;
    char token[sizeof c->text];
    for (int f = 0; f < c->nfields; f++) {
        memcpy(token, c->text + starts[f], lens[f]);
        token[lens[f]] = '\0';
        parse_ctx p = {.c = c, .field = f, .token = token, .err = err, .errlen = errlen};
        rc = parse_field(&p, token, lens[f]);
        if (rc != PGQ_OK)
            return rc;
    }
    if (c->has_nth) {
        /* croniter refuses plain weekdays beside NAME#N / lN ones. */
        for (int v = 0; v <= 7; v++)
            if ((c->bits[4] >> v & 1) && !c->nth[v]) {
                snprintf(err, errlen,
                         "day-of-week field '%s': plain weekdays cannot be mixed with "
                         "#N or L forms",
                         c->text + starts[4]);
                return PGQ_EINVAL;
            }
    }
    return PGQ_OK;
}
