/* run_schedule.h: `pgq run --schedule EP=CRON` and `--schedule-enqueue`. */
#ifndef PGQ_RUN_SCHEDULE_H
#define PGQ_RUN_SCHEDULE_H

#include <stdbool.h>
#include <stddef.h>

#include "pgq.h"

typedef struct run_schedule {
    char *entrypoint;
    const char *expression; /* points into argv */
    bool enqueue;
} run_schedule;

typedef struct run_schedules {
    run_schedule *v;
    size_t n;
} run_schedules;

/* Parses one option value; the expression is checked now (exit 2 before
 * anything connects). Returns 0, or -1 after printing a usage error. */
int run_schedule_add(run_schedules *rs, const char *opt, const char *value, bool enqueue);
/* Adds the schedules to w once its handlers are registered; returns an
 * exit code (EXIT_USAGE for an unknown entrypoint or a pair given twice). */
int run_schedule_apply(pgq_worker *w, const run_schedules *rs);
void run_schedule_free(run_schedules *rs);

#endif
