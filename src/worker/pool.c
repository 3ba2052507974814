/* pool.c: the handler threads, the job context API handlers see,
 * and the outcome policy (success, retry with backoff, exception or hold)
 * decided when a handler returns. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "worker.h"

/* ---- Core ----------------------------------------------------------------- */

pgq__wcore *pgq__core_new(void)
{
    pgq__wcore *core = calloc(1, sizeof *core);
    if (!core)
        return NULL;
    pthread_mutex_init(&core->mu, NULL);
    pthread_cond_init(&core->cv, NULL);
    pthread_mutex_init(&core->log_mu, NULL);
    core->refs = 1;
    core->wake_fd = -1;
    core->log_on = true;
    atomic_init(&core->immediate, false);
    return core;
}

static void free_list(pgq_job_ctx *ctx)
{
    while (ctx) {
        pgq_job_ctx *next = ctx->next;
        pgq__ctx_free(ctx);
        ctx = next;
    }
}

static void core_free(pgq__wcore *core)
{
    free_list(core->ready_head);
    free_list(core->done_head);
    free_list(core->orphans);
    for (size_t i = 0; i < core->n_eps; i++)
        free(core->eps[i].name);
    free(core->eps);
    free(core->threads);
    if (core->wake_fd >= 0)
        close(core->wake_fd);
    pthread_mutex_destroy(&core->mu);
    pthread_cond_destroy(&core->cv);
    pthread_mutex_destroy(&core->log_mu);
    free(core);
}

void pgq__core_unref(pgq__wcore *core)
{
    if (!core)
        return;
    pthread_mutex_lock(&core->mu);
    bool last = --core->refs == 0;
    pthread_mutex_unlock(&core->mu);
    if (last)
        core_free(core);
}

/* ---- Job contexts ----------------------------------------------------------- */

pgq_job_ctx *pgq__ctx_new(pgq__wcore *core, const pgq__wep *ep, pgq_job *job)
{
    pgq_job_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx)
        return NULL;
    ctx->job = *job;
    memset(job, 0, sizeof *job);
    ctx->ep = ep;
    ctx->core = core;
    atomic_init(&ctx->cancelled, false);
    return ctx;
}

void pgq__ctx_free(pgq_job_ctx *ctx)
{
    if (!ctx)
        return;
    free((char *)ctx->job.entrypoint);
    free((unsigned char *)ctx->job.payload);
    free((char *)ctx->job.headers);
    free((char *)ctx->job.dedupe_key);
    free((char *)ctx->job.queue_manager_id);
    free(ctx->err_type);
    free(ctx->err_message);
    free(ctx->err_detail);
    free(ctx);
}

static void replace(char **slot, const char *s)
{
    free(*slot);
    *slot = s ? strdup(s) : NULL;
}

void pgq_job_ctx_error(pgq_job_ctx *ctx, const char *type, const char *message,
                       const char *detail)
{
    replace(&ctx->err_type, type);
    replace(&ctx->err_message, message);
    replace(&ctx->err_detail, detail);
}

void pgq_job_ctx_retry(pgq_job_ctx *ctx, double delay)
{
    ctx->retry_asked = true;
    /* Beyond PGQ_SECONDS_MAX the retry's timestamp would leave
     * PostgreSQL's range and its recording would fail. */
    ctx->retry_delay =
        delay > 0 && isfinite(delay) ? fmin(delay, PGQ_SECONDS_MAX / 2) : 0;
}

bool pgq_job_ctx_cancelled(const pgq_job_ctx *ctx)
{
    return atomic_load(&ctx->cancelled) || atomic_load(&ctx->core->immediate);
}

void *pgq_job_ctx_userdata(const pgq_job_ctx *ctx)
{
    return ctx->ep->opts.userdata;
}

/* ---- Outcome policy ----------------------------------------------------------- */

static double now_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Delay before database retry number attempts + 1: initial * multiplier ^
 * attempts, capped. */
static double backoff(const pgq_entrypoint_opts *o, int attempts)
{
    double initial = o->backoff_initial > 0 ? o->backoff_initial : 1;
    double cap = o->backoff_max > 0 ? o->backoff_max : 300;
    double mult = o->backoff_multiplier > 0 ? o->backoff_multiplier : 2;
    double d = initial * pow(mult, attempts < 0 ? 0 : attempts);
    return isfinite(d) && d < cap ? d : cap;
}

static void ensure_error(pgq_job_ctx *ctx, int rc)
{
    char msg[64];
    if (!ctx->err_type)
        ctx->err_type = strdup("HandlerError");
    if (!ctx->err_message) {
        snprintf(msg, sizeof msg, "handler returned %d", rc);
        ctx->err_message = strdup(msg);
    }
}

static void set_outcome(pgq_job_ctx *ctx, pgq_job_status st, double delay)
{
    atomic_fetch_add(&ctx->core->stats.outcomes[st], 1);
    ctx->outcome.job_id = ctx->job.id;
    ctx->outcome.status = st;
    ctx->outcome.retry_delay = delay;
    ctx->outcome.error_type = ctx->err_type;
    ctx->outcome.error_message = ctx->err_message;
    ctx->outcome.error_detail = ctx->err_detail;
}

/* A failed run (or a retry asked for): another database attempt while the
 * policy allows one, else the final failure (held when mark_as_failed). */
static void decide_failure(pgq_job_ctx *ctx, int rc, double ms)
{
    const pgq_entrypoint_opts *o = &ctx->ep->opts;
    int attempt = ctx->job.attempts + 1;
    bool left = o->max_attempts > 1 && attempt < o->max_attempts;
    /* Retries the handler asks for count against max_attempts too; without
     * it they are bounded all the same, or a handler that always asks
     * would run its job forever. */
    int asked_limit = o->max_attempts > 0 ? o->max_attempts : PGQ_DEFAULT_RETRY_RUNS;
    const char *ep = ctx->job.entrypoint;
    if (ctx->retry_asked && attempt < asked_limit) {
        if (!ctx->err_message)
            ctx->err_message = strdup("retry requested by the handler");
        set_outcome(ctx, PGQ_QUEUED, ctx->retry_delay);
        pgq__wlog(ctx->core, PGQ_LOG_INFO, ctx->job.id, ep,
                  "retry requested after %.1f ms (attempt %d): again in %.3gs", ms,
                  attempt, ctx->retry_delay);
        return;
    }
    if (ctx->retry_asked && !ctx->err_message) {
        char msg[160];
        snprintf(msg, sizeof msg,
                 "retry requested after run %d, but at most %d run(s) are allowed%s",
                 attempt, asked_limit,
                 o->max_attempts > 0 ? "" : " without max_attempts");
        ctx->err_message = strdup(msg);
        if (!ctx->err_type)
            ctx->err_type = strdup("RetryLimitReached");
    }
    ensure_error(ctx, rc);
    if (left) {
        double d = backoff(o, ctx->job.attempts);
        set_outcome(ctx, PGQ_QUEUED, d);
        pgq__wlog(ctx->core, PGQ_LOG_WARN, ctx->job.id, ep,
                  "failed after %.1f ms (attempt %d of %d): %s: %s; retrying in %.3gs",
                  ms, attempt, o->max_attempts, ctx->err_type, ctx->err_message, d);
        return;
    }
    set_outcome(ctx, o->mark_as_failed ? PGQ_FAILED : PGQ_EXCEPTION, 0);
    pgq__wlog(ctx->core, PGQ_LOG_ERROR, ctx->job.id, ep,
              "failed after %.1f ms (attempt %d): %s: %s; %s", ms, attempt, ctx->err_type,
              ctx->err_message,
              o->mark_as_failed ? "held as failed" : "logged as exception");
}

static void run_job(pgq_job_ctx *ctx)
{
    const char *ep = ctx->job.entrypoint;
    if (atomic_load(&ctx->cancelled)) {
        /* Where cancel_requested exists (PgQueuer 2.3) the row waits for
         * this outcome; elsewhere the cancel deleted it and the outcome
         * resolves nothing. */
        set_outcome(ctx, PGQ_CANCELED, 0);
        pgq__wlog(ctx->core, PGQ_LOG_INFO, ctx->job.id, ep,
                  "cancelled before it started");
        return;
    }
    if (atomic_load(&ctx->core->immediate)) {
        ctx->interrupted = true; /* handed back unstarted */
        return;
    }
    pgq__wlog(ctx->core, PGQ_LOG_DEBUG, ctx->job.id, ep, "started (attempt %d)",
              ctx->job.attempts + 1);
    double t0 = now_mono();
    int rc = ctx->ep->handler(&ctx->job, ctx);
    double ms = (now_mono() - t0) * 1000;
    pgq__whist_add(&ctx->core->stats.handler, ms / 1000);
    if (atomic_load(&ctx->cancelled)) {
        /* Recorded as canceled: on a PgQueuer 2.3 table this releases the
         * row, its slot and its dedupe key; on older ones the cancel has
         * deleted the row already and nothing is resolved. */
        set_outcome(ctx, PGQ_CANCELED, 0);
        pgq__wlog(ctx->core, PGQ_LOG_INFO, ctx->job.id, ep,
                  "cancelled while running (%.1f ms)", ms);
        return;
    }
    if ((rc != 0 || ctx->retry_asked) && atomic_load(&ctx->core->immediate)) {
        /* Most likely the stop's cancellation itself: run it again. */
        ctx->interrupted = true;
        pgq__wlog(ctx->core, PGQ_LOG_WARN, ctx->job.id, ep,
                  "interrupted by the immediate stop after %.1f ms; the job goes "
                  "back to the queue",
                  ms);
        return;
    }
    if (rc == 0 && !ctx->retry_asked) {
        set_outcome(ctx, PGQ_SUCCESSFUL, 0);
        pgq__wlog(ctx->core, PGQ_LOG_INFO, ctx->job.id, ep, "succeeded in %.1f ms", ms);
        return;
    }
    decide_failure(ctx, rc, ms);
}

/* ---- Threads ------------------------------------------------------------------ */

static void push(pgq_job_ctx **head, pgq_job_ctx **tail, pgq_job_ctx *ctx)
{
    ctx->next = NULL;
    if (*tail)
        (*tail)->next = ctx;
    else
        *head = ctx;
    *tail = ctx;
}

/* Hands a finished job back to the loop, waking it when the done list was
 * empty (it drains the whole list each time it wakes). */
static void finish(pgq__wcore *core, pgq__wthread *self, pgq_job_ctx *ctx)
{
    bool wake = false;
    pthread_mutex_lock(&core->mu);
    self->busy = false;
    if (ctx->abandoned) {
        ctx->next = core->orphans;
        core->orphans = ctx;
    } else {
        wake = core->done_head == NULL;
        ctx->state = PGQ__J_DONE;
        push(&core->done_head, &core->done_tail, ctx);
    }
    pthread_mutex_unlock(&core->mu);
    if (wake) {
        char b = 'd';
        ssize_t w = write(core->wake_fd, &b, 1);
        (void)w; /* a full pipe already wakes the loop */
    }
}

double pgq__boottime(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_BOOTTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Under core->mu: the first ready job, if it may start now. A job whose
 * claim is too old to be sure it is still ours waits (and the ones behind
 * it: they were claimed no earlier) for the loop's heartbeat, which wakes
 * the threads again. After a pause of the process (SIGSTOP, a VM frozen)
 * longer than its retry_timer, another worker may have taken it over. */
static pgq_job_ctx *startable(pgq__wcore *core)
{
    pgq_job_ctx *ctx = core->ready_head;
    if (!ctx || pgq__boottime() < ctx->fresh_until)
        return ctx;
    if (!core->verify_wanted) {
        core->verify_wanted = true;
        char b = 'v';
        ssize_t w = write(core->wake_fd, &b, 1);
        (void)w; /* a full pipe already wakes the loop */
    }
    return NULL;
}

static void *thread_main(void *arg)
{
    pgq__wthread *self = arg;
    pgq__wcore *core = self->core;
    pthread_mutex_lock(&core->mu);
    for (;;) {
        pgq_job_ctx *ctx;
        while (!(ctx = startable(core)) && !core->shutdown)
            pthread_cond_wait(&core->cv, &core->mu);
        if (!ctx)
            break;
        core->ready_head = ctx->next;
        if (!core->ready_head)
            core->ready_tail = NULL;
        ctx->state = PGQ__J_RUNNING;
        self->busy = true;
        pthread_mutex_unlock(&core->mu);
        run_job(ctx);
        finish(core, self, ctx);
        pthread_mutex_lock(&core->mu);
    }
    pthread_mutex_unlock(&core->mu);
    pgq__core_unref(core);
    return NULL;
}

int pgq__wthread_start(pthread_t *tid, void *(*fn)(void *), void *arg)
{
    /* The worker's threads take no process signals: those belong to the
     * application, and the worker hears of them through pgq_worker_stop. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int err = pthread_create(tid, NULL, fn, arg);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return err == 0 ? PGQ_OK : PGQ_EIO;
}

int pgq__pool_start(pgq__wcore *core, int n)
{
    core->threads = calloc((size_t)n, sizeof *core->threads);
    if (!core->threads)
        return PGQ_ENOMEM;
    core->n_threads = n;
    int rc = PGQ_OK;
    for (int i = 0; i < n && rc == PGQ_OK; i++) {
        pgq__wthread *t = &core->threads[i];
        t->core = core;
        pthread_mutex_lock(&core->mu);
        core->refs++;
        pthread_mutex_unlock(&core->mu);
        rc = pgq__wthread_start(&t->tid, thread_main, t);
        if (rc != PGQ_OK)
            pgq__core_unref(core);
        else
            t->started = true;
    }
    return rc;
}

void pgq__pool_stop(pgq__wcore *core)
{
    bool *busy = calloc((size_t)core->n_threads + 1, sizeof *busy);
    pthread_mutex_lock(&core->mu);
    core->shutdown = true;
    pthread_cond_broadcast(&core->cv);
    for (int i = 0; i < core->n_threads; i++)
        if (busy)
            busy[i] = core->threads[i].busy;
    pthread_mutex_unlock(&core->mu);
    for (int i = 0; i < core->n_threads; i++) {
        pgq__wthread *t = &core->threads[i];
        if (!t->started)
            continue;
        /* A busy thread here runs an abandoned handler; it exits (and drops
         * its reference to the core) whenever that handler returns. Without
         * memory to know, detaching is the safe choice. */
        if (busy && !busy[i])
            pthread_join(t->tid, NULL);
        else
            pthread_detach(t->tid);
        t->started = false;
    }
    free(busy);
}

void pgq__pool_submit(pgq__wcore *core, pgq_job_ctx **jobs, size_t n)
{
    pthread_mutex_lock(&core->mu);
    for (size_t i = 0; i < n; i++) {
        jobs[i]->state = PGQ__J_READY;
        push(&core->ready_head, &core->ready_tail, jobs[i]);
    }
    if (n == 1)
        pthread_cond_signal(&core->cv);
    else if (n > 1)
        pthread_cond_broadcast(&core->cv);
    pthread_mutex_unlock(&core->mu);
}

pgq_job_ctx *pgq__pool_take_ready(pgq__wcore *core)
{
    pthread_mutex_lock(&core->mu);
    pgq_job_ctx *list = core->ready_head;
    core->ready_head = core->ready_tail = NULL;
    pthread_mutex_unlock(&core->mu);
    return list;
}

pgq_job_ctx *pgq__pool_take_done(pgq__wcore *core)
{
    pthread_mutex_lock(&core->mu);
    pgq_job_ctx *list = core->done_head;
    core->done_head = core->done_tail = NULL;
    pthread_mutex_unlock(&core->mu);
    return list;
}

static bool owned_id(const int64_t *owned, size_t n, int64_t id)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (owned[mid] == id)
            return true;
        if (owned[mid] < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

pgq_job_ctx *pgq__pool_verified(pgq__wcore *core, pgq_job_ctx **held, size_t n,
                                const int64_t *owned, size_t n_owned, double at)
{
    pgq_job_ctx *lost = NULL;
    size_t n_lost = 0;
    pthread_mutex_lock(&core->mu);
    for (size_t i = 0; i < n; i++) {
        pgq_job_ctx *ctx = held[i];
        if (!owned || owned_id(owned, n_owned, ctx->job.id)) {
            ctx->fresh_until = at + ctx->fresh_for;
        } else if (ctx->state == PGQ__J_READY) {
            ctx->lost = true;
            n_lost++;
        }
    }
    if (n_lost) {
        pgq_job_ctx *keep_head = NULL, *keep_tail = NULL;
        for (pgq_job_ctx *ctx = core->ready_head, *next; ctx; ctx = next) {
            next = ctx->next;
            if (ctx->lost) {
                ctx->next = lost;
                lost = ctx;
            } else {
                push(&keep_head, &keep_tail, ctx);
            }
        }
        core->ready_head = keep_head;
        core->ready_tail = keep_tail;
    }
    /* Every thread held back by an old claim asked for this check. */
    if (core->verify_wanted)
        pthread_cond_broadcast(&core->cv);
    core->verify_wanted = false;
    pthread_mutex_unlock(&core->mu);
    return lost;
}

bool pgq__pool_verify_wanted(pgq__wcore *core)
{
    pthread_mutex_lock(&core->mu);
    bool v = core->verify_wanted;
    pthread_mutex_unlock(&core->mu);
    return v;
}

size_t pgq__pool_abandon(pgq__wcore *core, pgq_job_ctx **held, size_t n)
{
    size_t k = 0;
    pthread_mutex_lock(&core->mu);
    for (size_t i = 0; i < n; i++) {
        if (held[i]->state != PGQ__J_RUNNING)
            continue;
        held[i]->abandoned = true;
        k++;
    }
    pthread_mutex_unlock(&core->mu);
    return k;
}
