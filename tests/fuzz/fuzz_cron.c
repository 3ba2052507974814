/*
 * fuzz_cron.c: cron expressions (src/scheduler/cron_parse.c, cron.c), as taken by
 * pgq run --schedule, pgq schedules --next and pgq_worker_schedule.
 *
 * The input is an expression, then optionally a newline and a start time
 * (Unix seconds). Invariants: a refused expression gets a one-line message
 * naming what is wrong; an accepted one has 5 or 6 fields and normalises to
 * a text that parses again to the same text and the same fire times; fire
 * times are strictly increasing, whole minutes for five fields, and each
 * is found again when searching from just before it (the search stops at
 * the first matching time).
 */
#include <stdbool.h>

#include "fuzz.h"
#include "scheduler/scheduler.h"

static int64_t start_of(const char *s)
{
    long long t = strtoll(s, NULL, 10);
    if (t < 0)
        t = -t;
    return (int64_t)(t % 4102444800LL); /* 1970 to 2100 */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *input = fuzz_cstr(data, size);
    char *rest = input;
    char *expr = fuzz_line(&rest);
    int64_t t = *rest ? start_of(rest) : 1704067200; /* 2024-01-01 */
    static pgq__cron c, again;
    char err[512] = "";
    int rc = pgq__cron_parse(&c, expr, err, sizeof err);
    if (rc != PGQ_OK) {
        FUZZ_CHECK(rc == PGQ_EINVAL);
        FUZZ_CHECK(err[0] != '\0' && strchr(err, '\n') == NULL);
        free(input);
        return 0;
    }
    FUZZ_CHECK(c.nfields == 5 || c.nfields == 6);
    FUZZ_CHECK(pgq__cron_parse(&again, c.text, err, sizeof err) == PGQ_OK);
    FUZZ_CHECK(strcmp(again.text, c.text) == 0);
    int64_t step = c.nfields == 6 ? 1 : 60;
    for (int i = 0; i < 5; i++) {
        int64_t next, next2;
        rc = pgq__cron_next(&c, t, &next);
        FUZZ_CHECK(rc == PGQ_OK || rc == PGQ_ENOTFOUND);
        FUZZ_CHECK(pgq__cron_next(&again, t, &next2) == rc);
        if (rc != PGQ_OK)
            break;
        FUZZ_CHECK(next2 == next);
        FUZZ_CHECK(next > t);
        FUZZ_CHECK(c.nfields == 6 || next % 60 == 0);
        FUZZ_CHECK(pgq__cron_next(&c, next - step, &next2) == PGQ_OK && next2 == next);
        t = next;
    }
    free(input);
    return 0;
}
