/* cron.c: cron expressions with croniter's meaning (the Python library
 * PgQueuer's scheduler uses to compute next_run in the shared
 * pgqueuer_schedules table).
 *
 * Both schedulers write next_run for the same rows, so pgq must compute the
 * same fire times as croniter, quirks included, or a mixed fleet would skip
 * or repeat fires. The parser (cron_parse.c) therefore follows croniter's
 * expansion step by step, and pgq__cron_next here follows its search:
 * starting one second (six fields) or one minute (five) after the given
 * time, each field in turn (month, day of month, day of week, hour,
 * minute, second) moves the candidate to its nearest allowed value at or
 * after the current one, restarting from the month whenever one moved, for
 * at most 50 years. When both day fields are restricted, the result is the
 * earlier of the two searches with one day field relaxed each ("or").
 * Times are UTC. The reference is croniter 1.3.5 (Debian 12); its test is
 * tests/cli/cli_cron_oracle.sh. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scheduler.h"

#define MAX_YEARS 50 /* croniter's max_years_between_matches default */

/* ---- Fire times ------------------------------------------------------------ */

/* Days since 1970-01-01 of a civil date, and back (proleptic Gregorian). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

typedef struct civil {
    int64_t year;
    int month, day, hour, minute, second, wday; /* wday: 0 = Sunday */
} civil;

static civil to_civil(int64_t t)
{
    int64_t z = t >= 0 ? t / 86400 : (t - 86399) / 86400;
    int64_t secs = t - z * 86400;
    civil c;
    c.wday = (int)(((z % 7) + 11) % 7); /* 1970-01-01 was a Thursday */
    c.hour = (int)(secs / 3600);
    c.minute = (int)(secs / 60 % 60);
    c.second = (int)(secs % 60);
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    c.day = (int)(doy - (153 * mp + 2) / 5 + 1);
    c.month = (int)(mp < 10 ? mp + 3 : mp - 9);
    c.year = yoe + era * 400 + (c.month <= 2);
    return c;
}

static bool is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_days(int64_t y, int m)
{
    static const int d[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return d[m - 1] + (m == 2 && is_leap(y));
}

static int64_t midnight(int64_t t)
{
    civil c = to_civil(t);
    return t - c.hour * 3600 - c.minute * 60 - c.second;
}

/* croniter's _get_next_nearest_diff: from x to the first allowed value at
 * or after it (L being `range`), else around to the first value plus
 * range. The values can exceed range (day 31 in April): then the result
 * lands in the next month, as croniter's does. */
static int nearest_diff(int x, uint64_t bits, bool last, int range)
{
    for (int v = x; v < 64; v++)
        if (bits >> v & 1)
            return v - x;
    if (last)
        return range - x;
    int first = bits ? __builtin_ctzll(bits) : range;
    return first - x + range;
}

/* The days of a month falling on weekday wd (croniter's
 * _get_nth_weekday_of_month); returns how many. */
static int weekday_days(int64_t y, int m, int wd, int out[6])
{
    int first_wd = (int)(((days_from_civil(y, m, 1) % 7) + 11) % 7);
    int d = 1 + ((wd % 7) - first_wd + 7) % 7;
    int n = 0;
    for (; d <= month_days(y, m); d += 7)
        out[n++] = d;
    return n;
}

typedef struct calc {
    const pgq__cron *c;
    bool dom_star, dow_star;
} calc;

/* Each step returns true when it moved *t (the search then restarts). */
static bool step_month(const calc *k, int64_t *t)
{
    if (k->c->star[3])
        return false;
    civil c = to_civil(*t);
    int diff = nearest_diff(c.month, k->c->bits[3], false, 12);
    if (diff == 0)
        return false;
    int64_t m = c.month - 1 + diff;
    *t = days_from_civil(c.year + m / 12, (int)(m % 12) + 1, 1) * 86400;
    return true;
}

static bool step_dom(const calc *k, int64_t *t)
{
    if (k->dom_star)
        return false;
    civil c = to_civil(*t);
    int n = month_days(c.year, c.month);
    if (k->c->dom_last && c.day == n)
        return false;
    int diff = nearest_diff(c.day, k->c->bits[2], k->c->dom_last, n);
    if (diff == 0)
        return false;
    *t = midnight(*t) + (int64_t)diff * 86400;
    return true;
}

static bool step_dow(const calc *k, int64_t *t)
{
    if (k->dow_star)
        return false;
    civil c = to_civil(*t);
    int diff = nearest_diff(c.wday, k->c->bits[4], false, 7);
    if (diff == 0)
        return false;
    *t = midnight(*t) + (int64_t)diff * 86400;
    return true;
}

static bool step_dow_nth(const calc *k, int64_t *t)
{
    civil c = to_civil(*t);
    int best = 0;
    for (int wd = 0; wd <= 7; wd++) {
        uint8_t want = k->c->nth[wd];
        if (!want)
            continue;
        int list[6];
        int n = weekday_days(c.year, c.month, wd, list);
        for (int i = 1; i <= 5; i++) {
            if (!(want >> i & 1) || n < i)
                continue;
            if (c.day <= list[i - 1] && (!best || list[i - 1] < best))
                best = list[i - 1];
        }
        if ((want & PGQ__CRON_NTH_LAST) && c.day <= list[n - 1] &&
            (!best || list[n - 1] < best))
            best = list[n - 1];
    }
    if (!best) {
        int n = month_days(c.year, c.month);
        *t = midnight(*t) + (int64_t)(n - c.day + 1) * 86400;
        return true;
    }
    if (best == c.day)
        return false;
    *t = midnight(*t) + (int64_t)(best - c.day) * 86400;
    return true;
}

static bool step_hour(const calc *k, int64_t *t)
{
    if (k->c->star[1])
        return false;
    civil c = to_civil(*t);
    int diff = nearest_diff(c.hour, k->c->bits[1], false, 24);
    if (diff == 0)
        return false;
    *t = *t - c.minute * 60 - c.second + (int64_t)diff * 3600;
    return true;
}

static bool step_minute(const calc *k, int64_t *t)
{
    if (k->c->star[0])
        return false;
    civil c = to_civil(*t);
    int diff = nearest_diff(c.minute, k->c->bits[0], false, 60);
    if (diff == 0)
        return false;
    *t = *t - c.second + (int64_t)diff * 60;
    return true;
}

static bool step_second(const calc *k, int64_t *t)
{
    civil c = to_civil(*t);
    if (k->c->nfields == 5) {
        *t -= c.second; /* five fields fire on the minute */
        return false;
    }
    if (k->c->star[5])
        return false;
    int diff = nearest_diff(c.second, k->c->bits[5], false, 60);
    if (diff == 0)
        return false;
    *t += diff;
    return true;
}

/* One search (croniter's _calc); PGQ_ENOTFOUND after 50 years. */
static int search(const calc *k, int64_t after, int64_t *out)
{
    int64_t t = after + (k->c->nfields == 6 ? 1 : 60);
    int64_t start_year = to_civil(t).year, year = start_year;
    bool (*day_step)(const calc *, int64_t *) = k->c->has_nth ? step_dow_nth : step_dow;
    bool (*const steps[])(const calc *, int64_t *) = {
        step_month, step_dom, day_step, step_hour, step_minute, step_second};
    while (year - start_year <= MAX_YEARS && start_year - year <= MAX_YEARS) {
        bool moved = false;
        for (size_t i = 0; i < sizeof steps / sizeof steps[0] && !moved; i++)
            moved = steps[i](k, &t);
        if (!moved) {
            *out = t;
            return PGQ_OK;
        }
        year = to_civil(t).year;
    }
    return PGQ_ENOTFOUND;
}

int pgq__cron_next(const pgq__cron *c, int64_t after, int64_t *next)
{
    calc k = {.c = c, .dom_star = c->star[2], .dow_star = c->star[4]};
    if (c->star[2] || c->star[4])
        return search(&k, after, next);
    /* Both day fields restricted: either may match (croniter's "or"). */
    int64_t t1, t2;
    k.dow_star = true;
    int rc = search(&k, after, &t1);
    if (rc != PGQ_OK)
        return rc;
    k.dow_star = false;
    k.dom_star = true;
    rc = search(&k, after, &t2);
    if (rc != PGQ_OK)
        return rc;
    *next = t1 < t2 ? t1 : t2;
    return PGQ_OK;
}

/* ---- Public wrappers ----------------------------------------------------------- */

struct pgq_cron {
    pgq__cron c;
};

int pgq_cron_parse(const char *expression, pgq_cron **out, char *err, size_t errlen)
{
    char dummy[8];
    if (!err || errlen == 0) {
        err = dummy;
        errlen = sizeof dummy;
    }
    *out = NULL;
    pgq_cron *c = malloc(sizeof *c);
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return PGQ_ENOMEM;
    }
    int rc = pgq__cron_parse(&c->c, expression, err, errlen);
    if (rc != PGQ_OK) {
        free(c);
        return rc;
    }
    *out = c;
    return PGQ_OK;
}

const char *pgq_cron_text(const pgq_cron *c)
{
    return c ? c->c.text : "";
}

int pgq_cron_next(const pgq_cron *c, int64_t after, int64_t *next)
{
    if (!c || !next)
        return PGQ_EINVAL;
    return pgq__cron_next(&c->c, after, next);
}

void pgq_cron_free(pgq_cron *c)
{
    free(c);
}
