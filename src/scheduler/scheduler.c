/* scheduler.c: a worker's scheduler thread (docs/scheduler.md).
 *
 * pgq_worker_schedule() adds schedules to a worker; pgq_worker_run starts
 * this thread beside the claim loop. The thread has its own connection and
 * keeps PgQueuer's row protocol (schedule.c): it registers the schedules
 * once, then at each wake-up claims the due and stale ones in one
 * statement, runs each claimed fire (the handler on a thread of its own,
 * or a job enqueued in the claim's transaction), heartbeats running ones
 * every second and releases them when they end. Between fires it sleeps
 * in poll() until the earliest next fire of its schedules, the moment a
 * schedule another runner holds would go stale, its next heartbeat, or a
 * byte on its pipe (a run ended, the worker stops). */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../worker/worker.h"
#include "scheduler.h"

#define HEARTBEAT_EVERY 1.0 /* seconds, as PgQueuer */
#define RETRY_FIRST 0.5     /* back-off after a database error, doubling */
#define RETRY_MAX 10.0
#define NEVER 253402300799LL /* 9999-12-31T23:59:59Z: no fire found */

typedef struct sentry {
    pgq__cron cron;
    char *entrypoint;
    pgq_schedule_opts opts;
    const pgq__wep *ep; /* resolved when the worker starts */
    int64_t next;       /* first fire after the last wake-up */
} sentry;

typedef struct srun {
    struct pgq__sched *s;
    pgq_job_ctx *ctx;
    int64_t id;
    pthread_t tid;
    atomic_bool finished;
    struct srun *next;
} srun;

struct pgq__sched {
    pgq_worker *w;
    sentry *v;
    size_t n;
    pgq__skey *keys;
    int64_t *upcoming;
    int pipe_r, pipe_w;
    pthread_t tid;
    bool started, has_enqueue;
    atomic_bool stopping;
    /* The thread's own state. */
    pgq_client *db;
    bool registered;
    double offset; /* server clock minus ours, seconds */
    srun *runs;
    size_t n_runs;
    int64_t *done;
    size_t n_done, cap_done;
    double hb_at, retry_at, retry_delay;
    double stale_at; /* our clock: a schedule another runner holds may go stale */
};

static double real_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- Registration (before the worker runs) --------------------------------------- */

static int sched_new(pgq_worker *w)
{
    pgq__sched *s = calloc(1, sizeof *s);
    if (!s)
        return PGQ_ENOMEM;
    int fds[2];
    if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) {
        free(s);
        return PGQ_EIO;
    }
    s->pipe_r = fds[0];
    s->pipe_w = fds[1];
    s->w = w;
    atomic_init(&s->stopping, false);
    w->sched = s;
    return PGQ_OK;
}

static const pgq__wep *find_ep(pgq_worker *w, const char *name)
{
    for (size_t i = 0; i < w->core->n_eps; i++)
        if (strcmp(w->core->eps[i].name, name) == 0)
            return &w->core->eps[i];
    return NULL;
}

static int sched_err(char *err, size_t errlen, int rc, const char *fmt, ...)
    PGQ_PRINTF(4, 5);
static int sched_err(char *err, size_t errlen, int rc, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return rc;
}

int pgq_worker_schedule(pgq_worker *w, const char *entrypoint, const char *expression,
                        const pgq_schedule_opts *opts, char *err, size_t errlen)
{
    if (!w)
        return PGQ_EINVAL;
    pgq_schedule_opts o = {0};
    if (opts)
        o = *opts;
    if (!w || !entrypoint || !*entrypoint || !expression ||
        (o.mode != PGQ_SCHEDULE_RUN && o.mode != PGQ_SCHEDULE_ENQUEUE))
        return sched_err(err, errlen, PGQ_EINVAL,
                         "an entrypoint and an expression are needed");
    if (w->ran)
        return sched_err(err, errlen, PGQ_ESTATE, "the worker already ran");
    sentry e = {.opts = o};
    char why[512];
    if (pgq__cron_parse(&e.cron, expression, why, sizeof why) != PGQ_OK)
        return sched_err(err, errlen, PGQ_EINVAL, "%s", why);
    int64_t next;
    if (pgq__cron_next(&e.cron, (int64_t)real_now(), &next) != PGQ_OK)
        return sched_err(err, errlen, PGQ_EINVAL,
                         "expression '%s' never fires: no date matches its day-of-month, "
                         "month and day-of-week fields",
                         e.cron.text);
    if (o.mode == PGQ_SCHEDULE_RUN && !find_ep(w, entrypoint))
        return sched_err(err, errlen, PGQ_ENOTFOUND,
                         "no handler is registered for entrypoint '%s'", entrypoint);
    if (!w->sched && sched_new(w) != PGQ_OK)
        return sched_err(err, errlen, PGQ_ENOMEM, "out of memory");
    pgq__sched *s = w->sched;
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->v[i].entrypoint, entrypoint) == 0 &&
            strcmp(s->v[i].cron.text, e.cron.text) == 0)
            return sched_err(err, errlen, PGQ_EEXISTS,
                             "entrypoint '%s' is already scheduled at '%s'", entrypoint,
                             e.cron.text);
    sentry *v = realloc(s->v, (s->n + 1) * sizeof *v);
    if (!v)
        return sched_err(err, errlen, PGQ_ENOMEM, "out of memory");
    s->v = v;
    e.entrypoint = strdup(entrypoint);
    if (!e.entrypoint)
        return sched_err(err, errlen, PGQ_ENOMEM, "out of memory");
    v[s->n++] = e;
    return PGQ_OK;
}

/* ---- Runs ------------------------------------------------------------------------ */

static void *run_main(void *arg)
{
    srun *r = arg;
    pgq_job_ctx *ctx = r->ctx;
    pgq__wcore *core = ctx->core;
    int rc = ctx->ep->handler(&ctx->job, ctx);
    if (rc != 0)
        pgq__wlog(core, PGQ_LOG_WARN, 0, ctx->job.entrypoint,
                  "scheduled run of schedule %lld failed: %s: %s", (long long)r->id,
                  ctx->err_type ? ctx->err_type : "Error",
                  ctx->err_message ? ctx->err_message : "the handler returned non-zero");
    else
        pgq__wlog(core, PGQ_LOG_DEBUG, 0, ctx->job.entrypoint,
                  "scheduled run of schedule %lld done", (long long)r->id);
    if (ctx->retry_asked)
        pgq__wlog(core, PGQ_LOG_WARN, 0, ctx->job.entrypoint,
                  "a scheduled run cannot be retried; it runs again at its next fire");
    atomic_store(&r->finished, true);
    char b = 'r';
    ssize_t n = write(r->s->pipe_w, &b, 1);
    (void)n;
    return NULL;
}

/* The payload of a fire: what the handler (or the enqueued job) gets. */
static char *fire_payload(const pgq__srow *row, size_t *len)
{
    char when[40];
    time_t t = (time_t)row->fire;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    pgq__buf b = {0};
    pgq__buf_printf(&b, "{\"schedule_id\": %lld, \"expression\": ", (long long)row->id);
    pgq__buf_json_str(&b, row->expression);
    pgq__buf_puts(&b, ", \"entrypoint\": ");
    pgq__buf_json_str(&b, row->entrypoint);
    pgq__buf_printf(&b, ", \"fire_time\": \"%s\", \"takeover\": %s}", when,
                    row->takeover ? "true" : "false");
    if (!pgq__buf_cstr(&b)) {
        pgq__buf_free(&b);
        return NULL;
    }
    *len = b.len;
    return b.data;
}

static void add_done(pgq__sched *s, int64_t id)
{
    if (s->n_done == s->cap_done) {
        size_t cap = s->cap_done ? 2 * s->cap_done : 16;
        int64_t *d = realloc(s->done, cap * sizeof *d);
        if (!d)
            return; /* the row goes stale and is taken over: a late run, not a lost one */
        s->done = d;
        s->cap_done = cap;
    }
    s->done[s->n_done++] = id;
}

/* Starts the handler of a claimed fire on its own thread. */
static void start_run(pgq__sched *s, const sentry *e, const pgq__srow *row)
{
    size_t len = 0;
    pgq_job job = {.entrypoint = strdup(row->entrypoint), .status = PGQ_PICKED};
    char *payload = fire_payload(row, &len);
    job.payload = (const unsigned char *)payload;
    job.payload_len = len;
    job.created = job.updated = job.heartbeat = job.execute_after = row->fire;
    pgq_job_ctx *ctx =
        job.entrypoint && payload ? pgq__ctx_new(s->w->core, e->ep, &job) : NULL;
    srun *r = ctx ? calloc(1, sizeof *r) : NULL;
    if (!r) {
        free((char *)job.entrypoint);
        free(payload);
        pgq__ctx_free(ctx);
        add_done(s, row->id);
        pgq__wlog(s->w->core, PGQ_LOG_ERROR, 0, row->entrypoint,
                  "out of memory: schedule %lld skips this fire", (long long)row->id);
        return;
    }
    r->s = s;
    r->ctx = ctx;
    r->id = row->id;
    atomic_init(&r->finished, false);
    if (pthread_create(&r->tid, NULL, run_main, r) != 0) {
        pgq__ctx_free(ctx);
        free(r);
        add_done(s, row->id);
        pgq__wlog(s->w->core, PGQ_LOG_ERROR, 0, row->entrypoint,
                  "cannot start a thread: schedule %lld skips this fire",
                  (long long)row->id);
        return;
    }
    r->next = s->runs;
    s->runs = r;
    s->n_runs++;
    pgq__wlog(s->w->core, PGQ_LOG_DEBUG, 0, row->entrypoint, "schedule %lld (%s) fires%s",
              (long long)row->id, row->expression,
              row->takeover ? ", taken over from a runner that stopped" : "");
}

/* Joins the runs that ended; their ids become due for release. */
static void reap(pgq__sched *s, bool wait_all)
{
    srun **pp = &s->runs;
    while (*pp) {
        srun *r = *pp;
        if (!wait_all && !atomic_load(&r->finished)) {
            pp = &r->next;
            continue;
        }
        pthread_join(r->tid, NULL);
        add_done(s, r->id);
        *pp = r->next;
        pgq__ctx_free(r->ctx);
        free(r);
        s->n_runs--;
    }
}

static size_t running_ids(const pgq__sched *s, int64_t *out)
{
    size_t n = 0;
    for (const srun *r = s->runs; r; r = r->next)
        out[n++] = r->id;
    return n;
}

/* ---- Database steps ---------------------------------------------------------------- */

/* After a failed statement: drop a lost connection, back off. */
static void db_failed(pgq__sched *s, const char *what)
{
    pgq__wlog(s->w->core, PGQ_LOG_WARN, 0, NULL, "scheduler: %s: %s", what,
              s->db ? pgq_client_errmsg(s->db) : "no connection");
    if (s->db && PQstatus(s->db->conn) != CONNECTION_OK) {
        pgq_client_free(s->db);
        s->db = NULL;
    } else if (s->db) {
        PGresult *r = PQexec(s->db->conn, "ROLLBACK");
        PQclear(r);
    }
    s->retry_delay =
        s->retry_delay > 0 ? fmin(s->retry_delay * 2, RETRY_MAX) : RETRY_FIRST;
    s->retry_at = real_now() + s->retry_delay;
}

/* The server's clock minus ours, from one round trip. */
static void measure_offset(pgq__sched *s)
{
    double t0 = real_now();
    PGresult *r = PQexec(s->db->conn, "SELECT extract(epoch FROM clock_timestamp())");
    double t1 = real_now();
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
        s->offset = strtod(PQgetvalue(r, 0, 0), NULL) - (t0 + t1) / 2;
    PQclear(r);
}

static bool connect_db(pgq__sched *s)
{
    pgq_config cfg = s->w->cfg;
    cfg.application_name = "pgq scheduler";
    int rc = pgq_client_open(&s->db, &cfg);
    if (rc != PGQ_OK) {
        db_failed(s, "cannot connect");
        return false;
    }
    measure_offset(s);
    return true;
}

/* The first fire of each schedule after server time `at`. */
static void plan(pgq__sched *s, double at)
{
    int64_t base = (int64_t)floor(at);
    for (size_t i = 0; i < s->n; i++) {
        sentry *e = &s->v[i];
        if (e->next > base)
            continue;
        if (pgq__cron_next(&e->cron, base, &e->next) != PGQ_OK) {
            e->next = NEVER;
            pgq__wlog(s->w->core, PGQ_LOG_ERROR, 0, e->entrypoint,
                      "schedule '%s' has no fire within 50 years", e->cron.text);
        }
        s->upcoming[i] = e->next;
    }
}

static bool register_all(pgq__sched *s)
{
    plan(s, real_now() + s->offset);
    if (pgq__sched_register(s->db, s->keys, s->upcoming, s->n) != PGQ_OK) {
        db_failed(s, "cannot register the schedules");
        return false;
    }
    s->registered = true;
    pgq__wlog(s->w->core, PGQ_LOG_INFO, 0, NULL, "scheduler: %zu schedule(s) registered",
              s->n);
    return true;
}

static const sentry *entry_of(const pgq__sched *s, const pgq__srow *row)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->v[i].entrypoint, row->entrypoint) == 0 &&
            strcmp(s->v[i].cron.text, row->expression) == 0)
            return &s->v[i];
    return NULL;
}

/* Enqueues one job per enqueue-mode fire of cl (inside the claim's
 * transaction) and marks those schedules released. */
static int enqueue_fires(pgq__sched *s, const pgq__sclaim *cl)
{
    int rc = PGQ_OK;
    for (size_t i = 0; i < cl->n && rc == PGQ_OK; i++) {
        const sentry *e = entry_of(s, &cl->rows[i]);
        if (!e || e->opts.mode != PGQ_SCHEDULE_ENQUEUE)
            continue;
        size_t len = 0;
        char *payload = fire_payload(&cl->rows[i], &len);
        if (!payload)
            return PGQ_ENOMEM;
        pgq_new_job job = {.entrypoint = e->entrypoint,
                           .payload = payload,
                           .payload_len = len,
                           .priority = e->opts.priority};
        rc = pgq_enqueue(s->db, &job, 1, PGQ_CONFLICT_RAISE, NULL);
        free(payload);
        if (rc == PGQ_OK)
            rc = pgq__sched_touch(s->db, &cl->rows[i].id, 1, false);
    }
    return rc;
}

/* One claim: due and stale schedules, in one statement (plus the enqueue
 * transaction when some schedule enqueues). */
static void claim(pgq__sched *s)
{
    double t0 = real_now();
    double at = t0 + s->offset;
    plan(s, at);
    int64_t *running = calloc(s->n_runs + 1, sizeof *running);
    if (!running)
        return;
    size_t n_running = running_ids(s, running);
    pgq__sclaim cl;
    int rc = s->has_enqueue ? pgq__exec_command(s->db, "BEGIN") : PGQ_OK;
    if (rc == PGQ_OK)
        rc = pgq__sched_claim(s->db, s->keys, s->upcoming, s->n, at,
                              s->w->opts.heartbeat_timeout, running, n_running, &cl);
    free(running);
    if (rc == PGQ_OK && s->has_enqueue) {
        rc = enqueue_fires(s, &cl);
        if (rc == PGQ_OK)
            rc = pgq__exec_command(s->db, "COMMIT");
        if (rc != PGQ_OK)
            pgq__sclaim_free(&cl);
    }
    if (rc != PGQ_OK) {
        db_failed(s, "cannot claim due schedules");
        return;
    }
    double t1 = real_now();
    s->offset = cl.server_now - (t0 + t1) / 2;
    s->retry_delay = 0;
    for (size_t i = 0; i < cl.n; i++) {
        const sentry *e = entry_of(s, &cl.rows[i]);
        if (e && e->opts.mode == PGQ_SCHEDULE_RUN)
            start_run(s, e, &cl.rows[i]);
        else if (!e)
            add_done(s, cl.rows[i].id);
        else
            pgq__wlog(s->w->core, PGQ_LOG_DEBUG, 0, e->entrypoint,
                      "schedule %lld (%s) fired: job enqueued", (long long)cl.rows[i].id,
                      e->cron.text);
    }
    s->stale_at =
        cl.oldest_heartbeat > 0
            ? cl.oldest_heartbeat + s->w->opts.heartbeat_timeout + 0.01 - s->offset
            : 0;
    pgq__sclaim_free(&cl);
}

/* Heartbeats the running schedules and releases the ended ones. */
static bool touch(pgq__sched *s, double now)
{
    if (s->n_done) {
        if (pgq__sched_touch(s->db, s->done, s->n_done, false) != PGQ_OK) {
            db_failed(s, "cannot release schedules after their run");
            return false;
        }
        s->n_done = 0;
    }
    if (s->n_runs && now >= s->hb_at) {
        int64_t *ids = calloc(s->n_runs, sizeof *ids);
        size_t n = ids ? running_ids(s, ids) : 0;
        int rc = pgq__sched_touch(s->db, ids, n, true);
        free(ids);
        if (rc != PGQ_OK) {
            db_failed(s, "cannot heartbeat running schedules");
            return false;
        }
        s->hb_at = now + HEARTBEAT_EVERY;
    }
    return true;
}

/* ---- The thread ---------------------------------------------------------------------
 */

static bool stop_asked(const pgq__sched *s)
{
    return atomic_load(&s->stopping) || atomic_load(&s->w->stops) > 0;
}

/* Sleeps until `until` (our clock) or a byte on the pipe. */
static void sleep_until(pgq__sched *s, double until)
{
    double left = until - real_now();
    int ms = left <= 0 ? 0 : left > 86400 ? 86400000 : (int)ceil(left * 1000) + 1;
    struct pollfd p = {.fd = s->pipe_r, .events = POLLIN};
    if (poll(&p, 1, ms) > 0) {
        char buf[64];
        while (read(s->pipe_r, buf, sizeof buf) > 0) {
        }
    }
}

static double next_wake(const pgq__sched *s)
{
    double wake = HUGE_VAL;
    for (size_t i = 0; i < s->n; i++)
        wake = fmin(wake, (double)s->upcoming[i] - s->offset);
    if (s->stale_at > 0)
        wake = fmin(wake, s->stale_at);
    if (s->n_runs)
        wake = fmin(wake, s->hb_at);
    return wake;
}

/* One turn of the loop: connect, register, release, heartbeat, claim. */
static void turn(pgq__sched *s)
{
    double now = real_now();
    if (now < s->retry_at) { /* backing off after an error */
        sleep_until(s, s->retry_at);
        return;
    }
    if (!s->db && !connect_db(s))
        return;
    if (!s->registered && !register_all(s))
        return;
    reap(s, false);
    if (!touch(s, now))
        return;
    claim(s);
    if (s->db)
        sleep_until(s, next_wake(s));
}

/* After a stop: the running handlers get the grace period (heartbeats go
 * on), then are cancelled; every ended run is released. */
static void finish(pgq__sched *s)
{
    double deadline = real_now() + s->w->opts.shutdown_grace;
    bool cancelled = false;
    while (s->n_runs) {
        double now = real_now();
        if (!cancelled && (now >= deadline || atomic_load(&s->w->stops) >= 2)) {
            for (srun *r = s->runs; r; r = r->next)
                atomic_store(&r->ctx->cancelled, true);
            cancelled = true;
        }
        reap(s, false);
        if (s->db)
            touch(s, now);
        else if (now >= s->retry_at)
            connect_db(s);
        if (s->n_runs)
            sleep_until(s,
                        fmin(cancelled ? now + 0.05 : deadline, now + HEARTBEAT_EVERY));
    }
    if (!s->db && s->n_done)
        connect_db(s);
    if (s->db)
        touch(s, real_now());
}

static void *sched_main(void *arg)
{
    pgq__sched *s = arg;
    while (!stop_asked(s))
        turn(s);
    finish(s);
    pgq_client_free(s->db);
    s->db = NULL;
    return NULL;
}

int pgq__sched_start(pgq_worker *w)
{
    pgq__sched *s = w->sched;
    if (!s)
        return PGQ_OK;
    s->keys = calloc(s->n, sizeof *s->keys);
    s->upcoming = calloc(s->n, sizeof *s->upcoming);
    if (!s->keys || !s->upcoming)
        return PGQ_ENOMEM;
    for (size_t i = 0; i < s->n; i++) {
        sentry *e = &s->v[i];
        e->ep = find_ep(w, e->entrypoint);
        s->keys[i] = (pgq__skey){.expression = e->cron.text, .entrypoint = e->entrypoint};
        s->has_enqueue |= e->opts.mode == PGQ_SCHEDULE_ENQUEUE;
    }
    /* The thread and its run threads take no signals (its run threads
     * start with its mask). */
    if (pgq__wthread_start(&s->tid, sched_main, s) != PGQ_OK)
        return PGQ_EIO;
    s->started = true;
    return PGQ_OK;
}

void pgq__sched_wake(pgq__sched *s)
{
    if (!s)
        return;
    char b = 'w';
    ssize_t n = write(s->pipe_w, &b, 1);
    (void)n;
}

void pgq__sched_stop(pgq_worker *w)
{
    pgq__sched *s = w->sched;
    if (!s || !s->started)
        return;
    atomic_store(&s->stopping, true);
    pgq__sched_wake(s);
    pthread_join(s->tid, NULL);
    s->started = false;
}

void pgq__sched_free(pgq__sched *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i].entrypoint);
    free(s->v);
    free(s->keys);
    free(s->upcoming);
    free(s->done);
    close(s->pipe_r);
    close(s->pipe_w);
    free(s);
}
