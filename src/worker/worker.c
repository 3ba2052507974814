/* worker.c: the public worker API (docs/design.md §5): creating a worker, registering
 * entrypoints, running it and stopping it. The loop is in loop.c,
 * the handler threads in pool.c. */
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "../scheduler/scheduler.h"
#include "worker.h"

static int make_id(char *out, size_t n)
{
    unsigned char b[16];
    if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b)
        return PGQ_EIO;
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    snprintf(out, n,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
             b[13], b[14], b[15]);
    return PGQ_OK;
}

static bool bad_seconds(double s)
{
    return !(s >= 0 && s < PGQ_SECONDS_MAX);
}

/* 0 (the default) or a timer the heartbeat can honour. */
static bool bad_timer(double s)
{
    return s != 0 && !(s >= PGQ_HEARTBEAT_MIN && s < PGQ_SECONDS_MAX);
}

#define MAX_THREADS 4096
#define MAX_HELD 10000000

/* Fills the documented defaults; PGQ_EINVAL for values out of range
 * (include/pgq.h). */
static int normalize(pgq_worker_opts *o)
{
    if (o->batch_size < 0 || o->batch_size > 10000 || o->threads < 0 ||
        o->threads > MAX_THREADS || o->max_takeovers < 0 ||
        (o->max_concurrent_tasks < 0 && o->max_concurrent_tasks != PGQ_UNLIMITED) ||
        o->max_concurrent_tasks > MAX_HELD || bad_seconds(o->dequeue_timeout) ||
        bad_timer(o->heartbeat_timeout) || bad_seconds(o->shutdown_grace) ||
        !(o->log_aggregation_interval < PGQ_SECONDS_MAX) ||
        (o->mode != PGQ_MODE_CONTINUOUS && o->mode != PGQ_MODE_DRAIN))
        return PGQ_EINVAL;
    if (o->batch_size == 0)
        o->batch_size = 10;
    /* As PgQueuer (2.1): a cap below two batches would leave no room to
     * prefetch the next batch while one runs. */
    if (o->max_concurrent_tasks == 0)
        o->max_concurrent_tasks = 2 * o->batch_size > 100 ? 2 * o->batch_size : 100;
    else if (o->max_concurrent_tasks != PGQ_UNLIMITED &&
             o->max_concurrent_tasks < 2 * o->batch_size)
        return PGQ_EINVAL;
    if (o->threads == 0)
        o->threads = 4 * o->batch_size < 32 ? 4 * o->batch_size : 32;
    if (o->max_concurrent_tasks != PGQ_UNLIMITED && o->threads > o->max_concurrent_tasks)
        o->threads = o->max_concurrent_tasks; /* more could never run */
    if (o->dequeue_timeout == 0)
        o->dequeue_timeout = 30;
    if (o->heartbeat_timeout == 0)
        o->heartbeat_timeout = 30;
    if (o->shutdown_grace == 0)
        o->shutdown_grace = 30;
    if (o->log_aggregation_interval == 0)
        o->log_aggregation_interval = 30;
    if (o->max_takeovers == 0)
        o->max_takeovers = 3;
    return PGQ_OK;
}

static char *dup_or_null(const char *s, bool *oom)
{
    char *d = s ? strdup(s) : NULL;
    if (s && !d)
        *oom = true;
    return d;
}

static int copy_config(pgq_worker *w, const pgq_config *cfg)
{
    bool oom = false;
    pgq_config c = {0};
    if (cfg)
        c = *cfg;
    w->dsn = dup_or_null(c.dsn, &oom);
    w->prefix = dup_or_null(c.prefix, &oom);
    w->schema = dup_or_null(c.schema, &oom);
    w->appname =
        dup_or_null(c.application_name ? c.application_name : "pgq worker", &oom);
    w->cfg = c;
    w->cfg.dsn = w->dsn;
    w->cfg.prefix = w->prefix;
    w->cfg.schema = w->schema;
    w->cfg.application_name = w->appname;
    return oom ? PGQ_ENOMEM : PGQ_OK;
}

static int open_pipe(pgq_worker *w)
{
    int fds[2];
    if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0)
        return PGQ_EIO;
    w->wake_r = fds[0];
    w->core->wake_fd = fds[1];
    return PGQ_OK;
}

int pgq_worker_new(pgq_worker **out, const pgq_config *cfg, const pgq_worker_opts *opts)
{
    char err[256];
    *out = NULL;
    if (cfg && pgq_config_validate(cfg, err, sizeof err) != PGQ_OK)
        return PGQ_EINVAL;
    pgq_worker_opts o = {0};
    if (opts)
        o = *opts;
    if (normalize(&o) != PGQ_OK)
        return PGQ_EINVAL;
    pgq_worker *w = calloc(1, sizeof *w);
    if (!w)
        return PGQ_ENOMEM;
    w->wake_r = -1;
    atomic_init(&w->stops, 0);
    w->opts = o;
    w->core = pgq__core_new();
    int rc = w->core ? copy_config(w, cfg) : PGQ_ENOMEM;
    if (rc == PGQ_OK)
        rc = make_id(w->core->id, sizeof w->core->id);
    if (rc == PGQ_OK)
        rc = open_pipe(w);
    if (rc != PGQ_OK) {
        pgq_worker_free(w);
        return rc;
    }
    w->core->log = o.log;
    w->core->log_ud = o.log_ud;
    w->core->log_level = o.log_level;
    *out = w;
    return PGQ_OK;
}

/* Why o is out of range (include/pgq.h), or NULL. */
static const char *ep_opts_problem(const pgq_entrypoint_opts *o, char *why, size_t n)
{
    double rps = o->requests_per_second, mult = o->backoff_multiplier;
    double bmax = o->backoff_max > 0 ? o->backoff_max : 300;
    if (bad_timer(o->retry_timer))
        snprintf(why, n, "retry_timer %g s is not 0 or from %g s to below %g s",
                 o->retry_timer, PGQ_HEARTBEAT_MIN, PGQ_SECONDS_MAX);
    else if (o->concurrency_limit < 0)
        snprintf(why, n, "concurrency_limit %d is negative", (int)o->concurrency_limit);
    else if (rps != 0 && !(rps >= PGQ_RATE_MIN && rps <= PGQ_RATE_MAX))
        snprintf(why, n, "requests_per_second %g is not 0 or from %g to %g", rps,
                 PGQ_RATE_MIN, PGQ_RATE_MAX);
    else if (o->max_attempts < 0)
        snprintf(why, n, "max_attempts %d is negative", o->max_attempts);
    else if (bad_seconds(o->backoff_initial) || bad_seconds(o->backoff_max))
        snprintf(why, n,
                 "backoff_initial %g s or backoff_max %g s is not from 0 to "
                 "below %g s",
                 o->backoff_initial, o->backoff_max, PGQ_SECONDS_MAX);
    else if (o->backoff_initial > bmax)
        snprintf(why, n, "backoff_initial %g s is above backoff_max (%g s)",
                 o->backoff_initial, bmax);
    else if (mult != 0 && !(mult >= 1 && mult < PGQ_SECONDS_MAX))
        snprintf(why, n, "backoff_multiplier %g is not 0 or at least 1", mult);
    else
        return NULL;
    return why;
}

static pgq__wep *lookup(pgq_worker *w, const char *name)
{
    for (size_t i = 0; i < w->core->n_eps; i++)
        if (strcmp(w->core->eps[i].name, name) == 0)
            return &w->core->eps[i];
    return NULL;
}

/* Keeps a registration error, naming the entrypoint, for pgq_worker_errmsg. */
static int reg_fail(pgq_worker *w, int rc, const char *fmt, ...) PGQ_PRINTF(3, 4);
static int reg_fail(pgq_worker *w, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->errmsg, sizeof w->errmsg, fmt, ap);
    va_end(ap);
    return rc;
}

int pgq_worker_register(pgq_worker *w, const char *entrypoint, pgq_handler handler,
                        const pgq_entrypoint_opts *opts)
{
    if (!w)
        return PGQ_EINVAL;
    pgq_entrypoint_opts o = {0};
    char why[200];
    if (opts)
        o = *opts;
    if (!w)
        return PGQ_EINVAL;
    if (!entrypoint || !*entrypoint || !handler)
        return reg_fail(w, PGQ_EINVAL,
                        "an entrypoint needs a non-empty name and a "
                        "handler");
    if (ep_opts_problem(&o, why, sizeof why))
        return reg_fail(w, PGQ_EINVAL, "entrypoint '%s': %s", entrypoint, why);
    if (w->ran)
        return reg_fail(w, PGQ_ESTATE, "entrypoint '%s': the worker already ran",
                        entrypoint);
    if (lookup(w, entrypoint))
        return reg_fail(w, PGQ_EEXISTS, "entrypoint '%s' is already registered",
                        entrypoint);
    pgq__wcore *core = w->core;
    pgq__wep *eps = realloc(core->eps, (core->n_eps + 1) * sizeof *eps);
    if (!eps)
        return PGQ_ENOMEM;
    core->eps = eps;
    char *name = strdup(entrypoint);
    if (!name)
        return PGQ_ENOMEM;
    eps[core->n_eps++] = (pgq__wep){.name = name, .handler = handler, .opts = o};
    return PGQ_OK;
}

pgq_entrypoint_opts *pgq_worker_entrypoint_opts(pgq_worker *w, const char *entrypoint)
{
    pgq__wep *ep = w && entrypoint && !w->ran ? lookup(w, entrypoint) : NULL;
    return ep ? &ep->opts : NULL;
}

/* The per-entrypoint claim parameters and the heartbeat interval: half the
 * shortest retry_timer. */
static int prepare_run(pgq_worker *w)
{
    pgq__wcore *core = w->core;
    char why[200];
    /* pgq_worker_entrypoint_opts lets options change after registration:
     * check them again, as registration did. */
    for (size_t i = 0; i < core->n_eps; i++)
        if (ep_opts_problem(&core->eps[i].opts, why, sizeof why)) {
            snprintf(w->errmsg, sizeof w->errmsg, "entrypoint '%s': %s",
                     core->eps[i].name, why);
            return PGQ_EINVAL;
        }
    w->ceps = calloc(core->n_eps, sizeof *w->ceps);
    if (!w->ceps)
        return PGQ_ENOMEM;
    double shortest = w->opts.heartbeat_timeout;
    for (size_t i = 0; i < core->n_eps; i++) {
        const pgq_entrypoint_opts *o = &core->eps[i].opts;
        double timer = o->retry_timer > 0 ? o->retry_timer : w->opts.heartbeat_timeout;
        w->ceps[i] = (pgq_claim_entrypoint){
            .entrypoint = core->eps[i].name,
            .retry_timer = timer,
            .concurrency_limit = o->concurrency_limit,
            .requests_per_second = o->requests_per_second,
        };
        shortest = fmin(shortest, timer);
        w->has_limits |= o->concurrency_limit > 0 || o->requests_per_second > 0;
    }
    w->hb_interval = fmax(shortest / 2, 0.05);
    return PGQ_OK;
}

static void log_start(pgq_worker *w)
{
    pgq__buf names = {0};
    char cap[24] = "unlimited";
    if (w->opts.max_concurrent_tasks != PGQ_UNLIMITED)
        snprintf(cap, sizeof cap, "%d", w->opts.max_concurrent_tasks);
    for (size_t i = 0; i < w->core->n_eps; i++)
        pgq__buf_printf(&names, "%s%s", i ? ", " : "", w->core->eps[i].name);
    pgq__wlog(w->core, PGQ_LOG_INFO, 0, NULL,
              "worker %s started: entrypoints %s; batch %d%s, %d thread(s), holding "
              "at most %s job(s), %s mode",
              w->core->id, names.oom ? "?" : pgq__buf_cstr(&names), w->opts.batch_size,
              w->opts.fixed_batch ? " (fixed)" : "", w->opts.threads, cap,
              w->opts.mode == PGQ_MODE_DRAIN ? "drain" : "continuous");
    pgq__buf_free(&names);
}

static int run_fail(pgq_worker *w, int rc, const char *msg)
{
    if (msg)
        snprintf(w->errmsg, sizeof w->errmsg, "%s", msg);
    return rc;
}

int pgq_worker_run(pgq_worker *w)
{
    if (!w)
        return PGQ_EINVAL;
    if (w->ran)
        return run_fail(w, PGQ_ESTATE, "a worker runs only once");
    w->ran = true;
    if (w->core->n_eps == 0)
        return run_fail(w, PGQ_EINVAL, "no entrypoints registered");
    int rc = prepare_run(w);
    if (rc != PGQ_OK)
        return run_fail(w, rc, rc == PGQ_ENOMEM ? "out of memory" : NULL);
    rc = pgq__wconnect(w);
    if (rc != PGQ_OK)
        return rc;
    rc = pgq__rec_start(&w->rec, &w->cfg, w->core);
    if (rc == PGQ_OK)
        rc = pgq__folder_start(&w->folder, &w->cfg, w->core,
                               w->opts.log_aggregation_interval);
    if (rc == PGQ_OK)
        rc = pgq__pool_start(w->core, w->opts.threads);
    if (rc == PGQ_OK)
        rc = pgq__sched_start(w);
    if (rc == PGQ_OK) {
        log_start(w);
        pgq__wloop(w);
        rc = w->fatal != PGQ_OK ? w->fatal : w->stop_rc;
        pgq__sched_stop(w);
    } else {
        run_fail(w, rc, "cannot start the handler threads");
    }
    pgq__pool_stop(w->core);
    pgq__rec_stop(w->rec); /* after the batch in flight, if any */
    w->rec = NULL;
    pgq__folder_stop(w->folder); /* after the chunk in flight, if any */
    w->folder = NULL;
    pgq_client_free(w->db);
    pgq_client_free(w->lsn);
    w->db = w->lsn = NULL;
    pgq__wlog(w->core, rc == PGQ_OK ? PGQ_LOG_INFO : PGQ_LOG_ERROR, 0, NULL,
              "worker %s stopped: %llu succeeded, %llu failed, %llu retried%s",
              w->core->id, (unsigned long long)w->n_ok, (unsigned long long)w->n_failed,
              (unsigned long long)w->n_retried, rc == PGQ_OK ? "" : " (with errors)");
    return rc;
}

void pgq_worker_stop(pgq_worker *w, bool immediate)
{
    /* Async-signal-safe: a lock-free atomic and write(2) on the pipe. */
    if (!w)
        return;
    int prev = atomic_fetch_add(&w->stops, immediate ? 2 : 1);
    (void)prev;
    char b = 's';
    ssize_t n = write(w->core->wake_fd, &b, 1);
    (void)n;
    pgq__sched_wake(w->sched);
}

const char *pgq_worker_id(const pgq_worker *w)
{
    return w ? w->core->id : "";
}

const char *pgq_worker_errmsg(const pgq_worker *w)
{
    return w ? w->errmsg : "";
}

void pgq_worker_free(pgq_worker *w)
{
    if (!w)
        return;
    if (w->core) {
        /* Abandoned handlers may still run: they must not log any more. */
        pthread_mutex_lock(&w->core->log_mu);
        w->core->log_on = false;
        pthread_mutex_unlock(&w->core->log_mu);
        pgq__pool_stop(w->core);
    }
    for (size_t i = 0; i < w->n_held; i++)
        pgq__ctx_free(w->held[i]);
    free(w->held);
    free(w->release.v);
    free(w->ceps);
    pgq__sched_free(w->sched);
    pgq_client_free(w->db);
    pgq_client_free(w->lsn);
    if (w->wake_r >= 0)
        close(w->wake_r);
    free(w->dsn);
    free(w->prefix);
    free(w->schema);
    free(w->appname);
    pgq__core_unref(w->core);
    free(w);
}
