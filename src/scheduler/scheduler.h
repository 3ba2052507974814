/*
 * scheduler.h: private declarations of the scheduler (src/scheduler/):
 * cron expressions (cron.c), the pgqueuer_schedules row protocol
 * (schedule.c) and the runner thread a worker starts (scheduler.c).
 */
#ifndef PGQ_SCHEDULER_H
#define PGQ_SCHEDULER_H

#include <stdbool.h>
#include <stdint.h>

#include "../internal.h"

#define PGQ__CRON_MAX 1024      /* longest expression accepted, in bytes */
#define PGQ__CRON_NTH_LAST 0x40 /* nth[] bit for "the last such weekday" */

/* A parsed expression: per field (minute, hour, day of month, month, day
 * of week, second) the allowed values as bits, or star when any value is
 * allowed. */
typedef struct pgq__cron {
    int nfields; /* 5, or 6 with seconds last */
    uint64_t bits[6];
    bool star[6];
    bool dom_last;            /* L in the day of month */
    bool has_nth;             /* NAME#N or lN forms in the day of week */
    uint8_t nth[8];           /* per weekday: bit N for #N, PGQ__CRON_NTH_LAST */
    char text[PGQ__CRON_MAX]; /* normalised text, as PgQueuer stores it */
} pgq__cron;

/* Parses like croniter; on PGQ_EINVAL err names the bad field. */
int pgq__cron_parse(pgq__cron *c, const char *expr, char *err, size_t errlen);
/* The first fire time after `after` (Unix seconds, UTC); PGQ_ENOTFOUND
 * when there is none within 50 years (croniter's limit). */
int pgq__cron_next(const pgq__cron *c, int64_t after, int64_t *next);

/* ---- scheduler.c: the thread a worker runs ------------------------------------ */

struct pgq_worker;
typedef struct pgq__sched pgq__sched;

/* Starts w's scheduler thread when it has schedules. */
int pgq__sched_start(struct pgq_worker *w);
/* Async-signal-safe: makes the thread look at the worker's state. */
void pgq__sched_wake(pgq__sched *s);
/* Stops claiming, lets running handlers finish (the worker's shutdown
 * grace, then cancelled), releases them and joins the thread. */
void pgq__sched_stop(struct pgq_worker *w);
void pgq__sched_free(pgq__sched *s);

#endif

/* ---- schedule.c: the row protocol ------------------------------------------ */

/* A schedule's key in the table. */
typedef struct pgq__skey {
    const char *expression; /* normalised */
    const char *entrypoint;
} pgq__skey;

/* One schedule claimed by pgq__sched_claim. */
typedef struct pgq__srow {
    int64_t id;
    char *expression, *entrypoint;
    double fire;   /* its next_run before the claim: the fire being run */
    bool takeover; /* it was picked by a runner that stopped beating */
} pgq__srow;

typedef struct pgq__sclaim {
    pgq__srow *rows;
    size_t n;
    double server_now;       /* the server's clock at the claim */
    double oldest_heartbeat; /* of schedules others run; 0 if none */
} pgq__sclaim;

/* Inserts the schedules absent from the table, next_run at next[i]. */
int pgq__sched_register(pgq_client *c, const pgq__skey *keys, const int64_t *next,
                        size_t n);
/* One wake-up's claim (see sched_claim.sql). */
int pgq__sched_claim(pgq_client *c, const pgq__skey *keys, const int64_t *upcoming,
                     size_t n, double at, double stale, const int64_t *running,
                     size_t n_running, pgq__sclaim *out);
void pgq__sclaim_free(pgq__sclaim *cl);
/* Heartbeat (beat) or release after the run (!beat) of ids. */
int pgq__sched_touch(pgq_client *c, const int64_t *ids, size_t n, bool beat);
