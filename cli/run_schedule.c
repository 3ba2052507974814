/* run_schedule.c: the schedules of `pgq run` (docs/scheduler.md).
 * --schedule EP=CRON runs EP's handler in the worker at each fire;
 * --schedule-enqueue EP=CRON enqueues a job for EP instead. A bad or
 * never-firing expression is refused while the options are read, an
 * entrypoint without a handler once the handlers are known; both before
 * the worker connects, so nothing reaches the table. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "run_schedule.h"

static int bad(const char *opt, const char *value, const char *why)
{
    cli_usage_error("run", "%s %s: %s", opt, value, why);
    return -1;
}

int run_schedule_add(run_schedules *rs, const char *opt, const char *value, bool enqueue)
{
    char ep[256];
    const char *expr;
    if (cli_split_assignment(value, ep, sizeof ep, &expr) != 0 || !*expr)
        return bad(opt, value, "expected ENTRYPOINT=CRON, e.g. cleanup='*/5 * * * *'");
    char err[512];
    pgq_cron *c;
    if (pgq_cron_parse(expr, &c, err, sizeof err) != PGQ_OK)
        return bad(opt, value, err);
    int64_t next;
    int rc = pgq_cron_next(c, (int64_t)time(NULL), &next);
    if (rc != PGQ_OK) {
        snprintf(err, sizeof err,
                 "expression '%s' never fires: no date matches its day-of-month, month "
                 "and day-of-week fields",
                 pgq_cron_text(c));
        pgq_cron_free(c);
        return bad(opt, value, err);
    }
    pgq_cron_free(c);
    run_schedule *v = realloc(rs->v, (rs->n + 1) * sizeof *v);
    char *name = v ? strdup(ep) : NULL;
    if (v)
        rs->v = v;
    if (!name) {
        cli_error("out of memory");
        return -1;
    }
    v[rs->n++] =
        (run_schedule){.entrypoint = name, .expression = expr, .enqueue = enqueue};
    return 0;
}

int run_schedule_apply(pgq_worker *w, const run_schedules *rs)
{
    for (size_t i = 0; i < rs->n; i++) {
        const run_schedule *s = &rs->v[i];
        pgq_schedule_opts o = {.mode =
                                   s->enqueue ? PGQ_SCHEDULE_ENQUEUE : PGQ_SCHEDULE_RUN};
        char err[600];
        int rc =
            pgq_worker_schedule(w, s->entrypoint, s->expression, &o, err, sizeof err);
        if (rc == PGQ_ENOTFOUND)
            snprintf(err + strlen(err), sizeof err - strlen(err),
                     " (give --exec %s=COMMAND or a plug-in that registers it)",
                     s->entrypoint);
        if (rc != PGQ_OK) {
            cli_usage_error("run", "%s %s=%s: %s",
                            s->enqueue ? "--schedule-enqueue" : "--schedule",
                            s->entrypoint, s->expression, err);
            return rc == PGQ_ENOMEM ? EXIT_FAILED : EXIT_USAGE;
        }
    }
    return EXIT_OK;
}

void run_schedule_free(run_schedules *rs)
{
    for (size_t i = 0; i < rs->n; i++)
        free(rs->v[i].entrypoint);
    free(rs->v);
    rs->v = NULL;
    rs->n = 0;
}
