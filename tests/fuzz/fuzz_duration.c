/*
 * fuzz_duration.c: durations (cli_parse_duration, cli/parse.c), as taken by
 * --dequeue-timeout, --heartbeat-timeout, --retry-timer, --backoff, ...
 *
 * Invariants: the parser agrees with a reference written from the
 * documented grammar, in acceptance and in value: a bare decimal number of
 * seconds ("45", "1.5"), or one or more NUMBER UNIT pairs ("1h30m",
 * "250ms") with units ms, s, m, h, d, where NUMBER is decimal digits with
 * an optional fraction of at least one digit (no sign, exponent, hex, inf
 * or nan) and under 64 characters; every number and the total below 1e12
 * seconds. An accepted value is finite and >= 0.
 */
#include <math.h>
#include <stdbool.h>

#include "cli.h"
#include "fuzz.h"

static bool digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Length of a NUMBER at p (0: none). */
static size_t number_len(const char *p)
{
    size_t n = 0;
    while (digit(p[n]))
        n++;
    if (n && p[n] == '.') {
        size_t f = ++n;
        while (digit(p[n]))
            n++;
        if (n == f)
            return 0;
    }
    return n < 64 ? n : 0;
}

static bool ref_duration(const char *s, double *out)
{
    static const struct {
        const char *unit;
        double factor;
    } units[] = {{"ms", 0.001}, {"s", 1}, {"m", 60}, {"h", 3600}, {"d", 86400}};
    size_t n = number_len(s);
    if (n == 0)
        return false;
    if (s[n] == '\0') {
        double v = strtod(s, NULL);
        if (!(v < 1e12))
            return false;
        *out = v;
        return true;
    }
    double total = 0;
    const char *p = s;
    while (*p) {
        n = number_len(p);
        if (n == 0)
            return false;
        double v = strtod(p, NULL);
        if (!(v < 1e12))
            return false;
        p += n;
        size_t best = 0;
        double factor = 0;
        for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
            size_t ul = strlen(units[i].unit);
            if (strncmp(p, units[i].unit, ul) == 0 && ul > best)
                best = ul, factor = units[i].factor;
        }
        if (!best)
            return false;
        p += best;
        total += v * factor;
    }
    if (!(total < 1e12))
        return false;
    *out = total;
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_cstr(data, size);
    double want = -1, got = -1;
    bool ref_ok = ref_duration(s, &want);
    int rc = cli_parse_duration(s, &got);
    FUZZ_CHECK((rc == 0) == ref_ok);
    if (rc == 0) {
        FUZZ_CHECK(isfinite(got) && got >= 0 && got < 1e12);
        FUZZ_CHECK(got == want);
    } else {
        FUZZ_CHECK(got == -1); /* a refused input leaves the output alone */
    }
    free(s);
    return 0;
}
