/*
 * loop.c: the worker's loop. Each turn (tick) does whatever is due,
 * in this order, then sleeps in poll() on the wake pipe and the LISTEN
 * socket until the earliest deadline:
 *
 *   collect finished jobs and recorded outcomes -> stop phases
 *   -> hand outcomes to the recorder (record.c: one statement on
 *      its own connection, in parallel; a batch's worth, or after a short
 *      delay, or at once when nothing else runs) -> reconnect (when down)
 *   -> claim a batch (one statement; when it came back empty, ask how
 *      long to sleep) -> hand back (one statement) -> heartbeat (one
 *      statement)
 *
 * Deadlines: a notification (insert/update, or a delete while limits or
 * drain mode make freed slots interesting), the earliest deferred job,
 * another worker's job turning stale, the idle re-poll (dequeue_timeout),
 * the heartbeat (half the shortest retry_timer), a reconnect attempt, the
 * end of a stop phase, pending outcomes coming due. A finished job wakes
 * the loop through the pipe.
 *
 * Stopping (pgq_worker_stop): the first call stops claiming, hands the
 * claimed-but-unstarted jobs back at once, and lets running handlers
 * finish within shutdown_grace; the second call (or the grace running
 * out) cancels the handlers, waits at most a second for them, records the
 * successes among them and hands every other job back.
 *
 * Connection loss: the loop drops both connections, logs once, and
 * reconnects with back-off (0.1 s doubling to 5 s) while the handlers keep
 * running; the recorder retries its batch with the same back-off. Recording
 * only touches rows still picked by this worker, so an outcome sent twice
 * (its first commit unacknowledged) is not logged twice.
 */
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "worker.h"

#define MAX_SLEEP 3600.0
#define RECONNECT_MIN 0.1
#define RECONNECT_MAX 5.0
#define LIMITED_MIN 0.01
#define LIMITED_MAX 0.5
#define RECHECK_DELAY 0.02
#define OUTCOMES_PER_STATEMENT 1000
#define OUTCOMES_DELAY 0.0015 /* longest wait for more outcomes to record */
/* A claimed job may start without another look at the database until
 * this fraction of its retry_timer has passed since its claim or last
 * heartbeat: the heartbeat comes every half of the shortest one, so only
 * a loop held up for a quarter of it (a paused process, a hung statement)
 * makes the threads wait for the check. */
#define FRESH_FRACTION 0.75

double pgq__mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- Bookkeeping of held jobs ------------------------------------------------ */

int pgq__wids_add(pgq__ids *ids, int64_t id)
{
    if (ids->n == ids->cap) {
        size_t cap = ids->cap ? ids->cap * 2 : 64;
        int64_t *v = realloc(ids->v, cap * sizeof *v);
        if (!v)
            return PGQ_ENOMEM;
        ids->v = v;
        ids->cap = cap;
    }
    ids->v[ids->n++] = id;
    return PGQ_OK;
}

static int held_add(pgq_worker *w, pgq_job_ctx *ctx)
{
    if (w->n_held == w->cap_held) {
        size_t cap = w->cap_held ? w->cap_held * 2 : 64;
        pgq_job_ctx **v = realloc(w->held, cap * sizeof *v);
        if (!v)
            return PGQ_ENOMEM;
        w->held = v;
        w->cap_held = cap;
    }
    ctx->held_index = w->n_held;
    w->held[w->n_held++] = ctx;
    return PGQ_OK;
}

void pgq__wheld_remove(pgq_worker *w, pgq_job_ctx *ctx)
{
    size_t i = ctx->held_index;
    w->held[i] = w->held[--w->n_held];
    w->held[i]->held_index = i;
}

/* The job is resolved (or handed back, or gone): forget and free it. */
static void finalize(pgq_worker *w, pgq_job_ctx *ctx)
{
    pgq__wheld_remove(w, ctx);
    pgq__ctx_free(ctx);
}

/* Hands a job back at the next opportunity; if even that memory is
 * missing, the job is taken over after its retry_timer. */
void pgq__wgive_back(pgq_worker *w, pgq_job_ctx *ctx)
{
    (void)pgq__wids_add(&w->release, ctx->job.id);
    finalize(w, ctx);
}

/* ---- Errors and reconnecting -------------------------------------------------- */

static void drop_connections(pgq_worker *w)
{
    pgq_client_free(w->db);
    pgq_client_free(w->lsn);
    w->db = w->lsn = NULL;
    w->up = false;
}

static void go_down(pgq_worker *w, double now, const char *why)
{
    pgq__wlog(w->core, PGQ_LOG_WARN, 0, NULL,
              "%s; reconnecting, %zu job(s) still running", why, w->n_active);
    drop_connections(w);
    w->down_since = now;
    w->reconnects = 0;
    w->reconnect_delay = RECONNECT_MIN;
    w->reconnect_at = now + RECONNECT_MIN;
}

/* Deals with a failed statement: connection loss reconnects, a missing
 * schema ends the run, anything else is logged and retried with back-off. */
static void failed(pgq_worker *w, double now, int rc, pgq_client *c, const char *what)
{
    const char *msg = c ? pgq_client_errmsg(c) : pgq_strerror(rc);
    if (rc == PGQ_ECONNECT) {
        go_down(w, now, msg);
        return;
    }
    /* A read-only server (SQLSTATE 25006): a standby reached with
     * target_session_attrs=any, or a primary fenced off after a failover
     * (default_transaction_read_only). Retrying on this connection would
     * fail forever: reconnect, so libpq walks the host list again, with
     * the back-off of other errors since the same server may answer. */
    if (c && strcmp(pgq_client_sqlstate(c), "25006") == 0) {
        go_down(w, now, msg);
        w->error_delay = w->error_delay > 0 ? fmin(w->error_delay * 2, 10) : 0.5;
        w->reconnect_at = now + w->error_delay;
        return;
    }
    if (rc == PGQ_ENOSCHEMA && w->fatal == PGQ_OK) {
        snprintf(w->errmsg, sizeof w->errmsg, "%s: %s", what, msg);
        pgq__wlog(w->core, PGQ_LOG_ERROR, 0, NULL, "%s", w->errmsg);
        w->fatal = rc;
        return;
    }
    w->error_delay = w->error_delay > 0 ? fmin(w->error_delay * 2, 10) : 0.5;
    w->error_until = now + w->error_delay;
    pgq__wlog(w->core, PGQ_LOG_ERROR, 0, NULL, "%s: %s; trying again in %.1fs", what, msg,
              w->error_delay);
}

int pgq__wconnect(pgq_worker *w)
{
    pgq_client *db = NULL, *lsn = NULL;
    int rc = pgq_client_open(&db, &w->cfg);
    if (rc == PGQ_OK)
        rc = pgq__listen_open(&lsn, &w->cfg);
    if (rc != PGQ_OK) {
        pgq_client *bad = lsn ? lsn : db;
        snprintf(w->errmsg, sizeof w->errmsg, "%s",
                 bad ? pgq_client_errmsg(bad) : pgq_strerror(rc));
        pgq_client_free(db);
        pgq_client_free(lsn);
        return rc;
    }
    (void)pgq__wsession(db, true);
    w->db = db;
    w->lsn = lsn;
    w->up = true;
    return PGQ_OK;
}

static void reconnect(pgq_worker *w, double now)
{
    w->reconnects++;
    if (pgq__wconnect(w) != PGQ_OK) {
        pgq__wlog(w->core, PGQ_LOG_DEBUG, 0, NULL, "reconnect attempt %d: %s",
                  w->reconnects, w->errmsg);
        w->reconnect_delay = fmin(w->reconnect_delay * 2, RECONNECT_MAX);
        w->reconnect_at = now + w->reconnect_delay;
        return;
    }
    atomic_fetch_add(&w->core->stats.reconnects, 1);
    pgq__wlog(w->core, PGQ_LOG_INFO, 0, NULL,
              "reconnected to the database after %.1fs (%d attempt(s))",
              now - w->down_since, w->reconnects);
    /* Catch up: notifications sent while down are lost, so look now. */
    w->want_claim = true;
    w->claim_at = now;
    w->hb_at = now;
}

/* ---- Finished jobs ----------------------------------------------------------- */

static void count(pgq_worker *w, const pgq_outcome *o)
{
    if (o->status == PGQ_SUCCESSFUL)
        w->n_ok++;
    else if (o->status == PGQ_QUEUED)
        w->n_retried++;
    else
        w->n_failed++;
}

/* Takes the jobs whose handler returned. After an immediate stop only
 * successes are recorded: a failure may just be the cancellation, so
 * those jobs are handed back to run again. */
static void collect_done(pgq_worker *w, double now)
{
    pgq_job_ctx *ctx = pgq__pool_take_done(w->core);
    while (ctx) {
        pgq_job_ctx *next = ctx->next;
        w->n_active--;
        if (ctx->skipped) {
            finalize(w, ctx);
        } else if (ctx->interrupted) {
            pgq__wgive_back(w, ctx);
        } else {
            count(w, &ctx->outcome);
            if (!w->n_pending)
                w->pending_since = now;
            ctx->next = w->pending;
            w->pending = ctx;
            w->n_pending++;
        }
        ctx = next;
    }
}

/* ---- Recording outcomes (on the recorder's connection) ---------------------------- */

/* When the pending outcomes should go to the recorder. Recording whatever
 * had finished at every turn split one claimed batch into several
 * statements (each a commit); so outcomes wait for a batch's worth, or
 * for a short delay, but never when nothing else is running or ready (a
 * lone job, the end of a drain) or once the worker is stopping. */
static double outcomes_at(const pgq_worker *w)
{
    if (w->n_pending >= w->claim_n || w->n_active == 0 || w->phase != PGQ__W_RUN ||
        w->fatal != PGQ_OK)
        return w->rec_retry_at;
    return fmax(w->rec_retry_at, w->pending_since + OUTCOMES_DELAY);
}

/* Moves up to OUTCOMES_PER_STATEMENT pending outcomes to the recorder, if
 * it is free and they are due. */
static void submit_outcomes(pgq_worker *w, double now)
{
    if (w->n_recording || !w->n_pending || now < outcomes_at(w))
        return;
    size_t n =
        w->n_pending < OUTCOMES_PER_STATEMENT ? w->n_pending : OUTCOMES_PER_STATEMENT;
    pgq_outcome *outs = malloc(n * sizeof *outs);
    if (!outs)
        return; /* try again next turn */
    double soonest = INFINITY;
    for (size_t i = 0; i < n; i++) {
        pgq_job_ctx *ctx = w->pending;
        w->pending = ctx->next;
        ctx->next = w->recording;
        w->recording = ctx;
        outs[i] = ctx->outcome;
        if (ctx->outcome.status == PGQ_QUEUED)
            soonest = fmin(soonest, ctx->outcome.retry_delay);
    }
    w->n_pending -= n;
    w->n_recording = n;
    /* A retried job is due again after its delay: look for it then. */
    if (isfinite(soonest) && w->poll_at > now + soonest)
        w->poll_at = now + soonest + 0.002;
    pgq__rec_submit(w->rec, outs, n);
}

/* A batch failed: its jobs wait again, and the next try backs off. */
static void recording_failed(pgq_worker *w, double now, int rc, const char *err)
{
    while (w->recording) {
        pgq_job_ctx *ctx = w->recording;
        w->recording = ctx->next;
        ctx->next = w->pending;
        w->pending = ctx;
    }
    w->n_pending += w->n_recording;
    w->n_recording = 0;
    w->rec_delay =
        w->rec_delay > 0 ? fmin(w->rec_delay * 2, RECONNECT_MAX) : RECONNECT_MIN;
    w->rec_retry_at = now + w->rec_delay;
    if (rc == PGQ_ENOSCHEMA && w->fatal == PGQ_OK) {
        snprintf(w->errmsg, sizeof w->errmsg, "recording outcomes: %s", err);
        w->fatal = rc;
    }
    /* A lost connection is the loop's to report, once. */
    pgq__wlog(w->core, rc == PGQ_ECONNECT ? PGQ_LOG_DEBUG : PGQ_LOG_ERROR, 0, NULL,
              "recording %zu outcome(s): %s; trying again in %.1fs", w->n_pending, err,
              w->rec_delay);
}

static void collect_recorded(pgq_worker *w, double now)
{
    int rc;
    size_t resolved;
    char err[512];
    if (!w->n_recording || !pgq__rec_result(w->rec, &rc, &resolved, err, sizeof err))
        return;
    if (rc != PGQ_OK) {
        recording_failed(w, now, rc, err);
        return;
    }
    if (resolved < w->n_recording)
        pgq__wlog(w->core, PGQ_LOG_WARN, 0, NULL,
                  "%zu of %zu outcome(s) not recorded: those jobs were cancelled, "
                  "marked failed or taken over meanwhile",
                  w->n_recording - resolved, w->n_recording);
    while (w->recording) {
        pgq_job_ctx *ctx = w->recording;
        w->recording = ctx->next;
        finalize(w, ctx);
    }
    w->n_recording = 0;
    w->rec_delay = 0;
    w->rec_retry_at = 0;
    /* In drain mode an emptied worker looks again at once: it may be done. */
    if (w->opts.mode == PGQ_MODE_DRAIN && w->n_held == 0 && w->phase == PGQ__W_RUN)
        w->want_claim = true;
}

/* ---- Statements -------------------------------------------------------------- */

static int hand_back(pgq_worker *w, double now)
{
    /* While cancelled handlers wind down (at most ABANDON_WAIT), their jobs
     * are collected and handed back together. */
    if (!w->release.n || w->phase == PGQ__W_IMMEDIATE)
        return PGQ_OK;
    int rc = pgq_release(w->db, w->core->id, w->release.v, w->release.n);
    if (rc != PGQ_OK) {
        failed(w, now, rc, w->db, "handing jobs back");
        return rc;
    }
    pgq__wlog(w->core, PGQ_LOG_INFO, 0, NULL, "handed %zu job(s) back to the queue",
              w->release.n);
    w->release.n = 0;
    return PGQ_OK;
}

static int cmp_id(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Jobs the heartbeat found no longer ours: another worker took them over
 * while this one was not heard from (paused, or its connection stalled),
 * or an operator failed or cancelled them. The unstarted ones are dropped
 * unrun; a running one goes on, and its outcome will resolve nothing. */
static void drop_lost(pgq_worker *w, pgq_job_ctx *lost)
{
    size_t n = 0;
    while (lost) {
        pgq_job_ctx *next = lost->next;
        w->n_active--;
        finalize(w, lost);
        lost = next;
        n++;
    }
    if (n)
        pgq__wlog(w->core, PGQ_LOG_WARN, 0, NULL,
                  "%zu unstarted job(s) are no longer this worker's (taken over by "
                  "another worker after a pause longer than their retry_timer, or "
                  "failed or cancelled meanwhile): dropped without running them",
                  n);
}

/* Marks the held jobs among ids cancelled: their cancel was kept in the row
 * (cancel_requested) and its event may have been missed. */
static void cancel_requested(pgq_worker *w, const int64_t *ids, size_t n)
{
    for (size_t k = 0; k < n; k++)
        for (size_t i = 0; i < w->n_held; i++)
            if (w->held[i]->job.id == ids[k] && !atomic_load(&w->held[i]->cancelled)) {
                atomic_store(&w->held[i]->cancelled, true);
                pgq__wlog(w->core, PGQ_LOG_INFO, ids[k], w->held[i]->job.entrypoint,
                          "cancellation requested in its row");
            }
}

/* Touches every held job's heartbeat; the answer is also the ownership
 * check that lets the pool threads start jobs claimed long ago, and brings
 * the cancels requested in the rows. */
static int heartbeat(pgq_worker *w, double now)
{
    if (!w->n_held || (now < w->hb_at && !pgq__pool_verify_wanted(w->core)))
        return PGQ_OK;
    int64_t *ids = malloc(w->n_held * sizeof *ids);
    if (!ids)
        return PGQ_OK; /* try again next turn */
    for (size_t i = 0; i < w->n_held; i++)
        ids[i] = w->held[i]->job.id;
    double at = pgq__boottime();
    pgq__beat beat;
    int rc = pgq__heartbeat_ex(w->db, w->core->id, ids, w->n_held, &beat);
    free(ids);
    if (rc != PGQ_OK) {
        failed(w, now, rc, w->db, "sending heartbeats");
        return rc;
    }
    if (beat.owned)
        qsort(beat.owned, beat.n_owned, sizeof *beat.owned, cmp_id);
    pgq_job_ctx *lost =
        pgq__pool_verified(w->core, w->held, w->n_held, beat.owned, beat.n_owned, at);
    drop_lost(w, lost);
    cancel_requested(w, beat.cancel, beat.n_cancel);
    free(beat.owned);
    free(beat.cancel);
    w->hb_at = now + w->hb_interval;
    return PGQ_OK;
}

static const pgq__wep *find_ep(const pgq_worker *w, const char *name)
{
    for (size_t i = 0; i < w->core->n_eps; i++)
        if (strcmp(w->core->eps[i].name, name) == 0)
            return &w->core->eps[i];
    return NULL;
}

/* The claim came back empty: how long may the loop sleep? */
static int plan_idle(pgq_worker *w, double now)
{
    int64_t *ids = malloc((w->n_held + 1) * sizeof *ids);
    if (!ids)
        return PGQ_ENOMEM;
    for (size_t i = 0; i < w->n_held; i++)
        ids[i] = w->held[i]->job.id;
    pgq__wnext nx;
    int rc = pgq__wnext_query(w->db, w->core->eps, w->core->n_eps,
                              w->opts.heartbeat_timeout, ids, w->n_held, &nx);
    free(ids);
    if (rc != PGQ_OK) {
        failed(w, now, rc, w->db, "looking for deferred jobs");
        return rc;
    }
    w->poll_at = now + w->opts.dequeue_timeout;
    if (nx.any_queued && nx.due_in <= 0) {
        /* Due jobs we did not get: a concurrency limit, a rate, or another
         * worker's lock. Back off a little, more each time. */
        w->claim_at = now + w->limited_delay;
        w->poll_at = fmin(w->poll_at, w->claim_at);
        w->limited_delay = fmin(w->limited_delay * 2, LIMITED_MAX);
    } else if (nx.any_queued) {
        /* Eligible once execute_after < now(): a hair after the instant. */
        w->poll_at = fmin(w->poll_at, now + nx.due_in + 0.002);
    }
    if (nx.any_stale_pending)
        w->poll_at = fmin(w->poll_at, now + fmax(nx.stale_in + 0.01, w->limited_delay));
    if (w->opts.mode != PGQ_MODE_DRAIN)
        return PGQ_OK;
    if (!nx.any_queued && !nx.any_picked && w->n_held == 0) {
        pgq__wlog(w->core, PGQ_LOG_INFO, 0, NULL, "drained: nothing queued or running");
        w->phase = PGQ__W_FINAL;
        w->deadline = now + FINAL_WAIT;
    } else if (nx.any_picked) {
        /* Others' jobs may end as `failed` (an update, not announced). */
        w->poll_at = fmin(w->poll_at, now + 1.0);
    }
    return PGQ_OK;
}

/* Whether ctx is in the batch the recorder is recording (or has recorded,
 * the loop not having collected the result yet). */
static bool recording(const pgq_worker *w, const pgq_job_ctx *ctx)
{
    for (const pgq_job_ctx *r = w->recording; r; r = r->next)
        if (r == ctx)
            return true;
    return false;
}

/* Whether a claimed row is a job this worker already has in hand: one still
 * to run, running, or whose outcome waits to be recorded. The claim can
 * take such a row only from ourselves: a heartbeat lapsed during an outage
 * (a stale take-over), or the server crashed and forgot the asynchronous
 * claim (the row was queued again). Either way the row is now picked by
 * us, so the job keeps running where it is and its outcome resolves the
 * row. But once its outcome is with the recorder, the row may already
 * have been settled without it: a retry re-queues the row when it
 * commits, and the outcome of a forgotten claim resolves nothing. Then the
 * claim is the job's next run, and dropping it would leave the job picked
 * by us with nobody running it until a stale take-over. (If the recording
 * comes after the claim instead, the job runs once more and that second
 * outcome finds the row gone: at least once.) */
static bool in_hand(const pgq_worker *w, int64_t id)
{
    for (size_t i = 0; i < w->n_held; i++)
        if (w->held[i]->job.id == id && !recording(w, w->held[i]))
            return true;
    return false;
}

/* Turns claimed rows into jobs for the pool, but for those in hand. */
static void take_claimed(pgq_worker *w, pgq_job_set *set, double now, double sent)
{
    pgq_job_ctx **batch = malloc((set->count + 1) * sizeof *batch);
    size_t k = 0;
    if (w->n_held == 0)
        w->hb_at = now + w->hb_interval; /* the claim itself was a heartbeat */
    for (size_t i = 0; i < set->count; i++) {
        if (in_hand(w, set->jobs[i].id))
            continue;
        const pgq__wep *ep = find_ep(w, set->jobs[i].entrypoint);
        pgq_job_ctx *ctx = ep && batch ? pgq__ctx_new(w->core, ep, &set->jobs[i]) : NULL;
        if (!ctx || held_add(w, ctx) != PGQ_OK) {
            (void)pgq__wids_add(&w->release, set->jobs[i].id);
            pgq__ctx_free(ctx);
            continue;
        }
        double timer =
            ep->opts.retry_timer > 0 ? ep->opts.retry_timer : w->opts.heartbeat_timeout;
        ctx->fresh_for = FRESH_FRACTION * timer;
        ctx->fresh_until = sent + ctx->fresh_for;
        batch[k++] = ctx;
    }
    w->n_active += k;
    if (batch)
        pgq__pool_submit(w->core, batch, k);
    free(batch);
}

static bool can_claim(const pgq_worker *w)
{
    return pgq__wclaim_size(w) > 0;
}

static int claim(pgq_worker *w, double now)
{
    if (!w->want_claim && now >= w->poll_at)
        w->want_claim = true;
    if (!w->want_claim || now < w->claim_at || !can_claim(w))
        return PGQ_OK;
    pgq_claim_opts co = {
        .queue_manager_id = w->core->id,
        .batch_size = (int)pgq__wclaim_size(w),
        .default_retry_timer = w->opts.heartbeat_timeout,
        .max_takeovers = w->opts.max_takeovers,
    };
    pgq_job_set set = {0};
    double sent = pgq__boottime();
    double t0 = pgq__mono();
    int rc = pgq_claim(w->db, w->ceps, w->core->n_eps, &co, &set);
    if (rc == PGQ_OK)
        pgq__whist_add(&w->core->stats.claim, pgq__mono() - t0);
    if (rc != PGQ_OK) {
        pgq_job_set_free(&set);
        failed(w, now, rc, w->db, "claiming jobs");
        return rc;
    }
    w->error_delay = 0;
    size_t got = set.count, asked = (size_t)co.batch_size;
    pgq__wclaim_adapt(w, asked, got, w->n_active);
    take_claimed(w, &set, now, sent);
    pgq_job_set_free(&set);
    if (got == asked) {
        w->limited_delay = LIMITED_MIN;
        return PGQ_OK; /* likely more: claim again as capacity allows */
    }
    w->want_claim = false;
    if (got > 0) {
        /* Probably drained: look again shortly unless a notification comes
         * first. Two more round trips now (an empty claim, then the idle
         * query) would delay the next job's claim when jobs trickle in. */
        w->limited_delay = LIMITED_MIN;
        w->poll_at = now + RECHECK_DELAY;
        return PGQ_OK;
    }
    return plan_idle(w, now);
}

/* ---- Notifications ------------------------------------------------------------- */

static void cancel_held(pgq_worker *w, const pgq__wake *wake)
{
    for (size_t k = 0; k < wake->n_cancel; k++)
        for (size_t i = 0; i < w->n_held; i++)
            if (w->held[i]->job.id == wake->cancel_ids[k]) {
                atomic_store(&w->held[i]->cancelled, true);
                pgq__wlog(w->core, PGQ_LOG_INFO, wake->cancel_ids[k],
                          w->held[i]->job.entrypoint, "cancellation requested");
            }
}

static void on_listen(pgq_worker *w, double now)
{
    pgq__wake wake = {0};
    int rc = pgq__listen_drain(w->lsn, w->core, &wake);
    if (rc != PGQ_OK && w->opts.shutdown_on_listener_failure && w->stop_rc == PGQ_OK) {
        /* PgQueuer's --shutdown-on-listener-failure: a supervisor (or
         * --restart-on-failure) starts a fresh worker instead. */
        snprintf(w->errmsg, sizeof w->errmsg, "the listener failed (%s); stopping",
                 pgq_client_errmsg(w->lsn));
        pgq__wlog(w->core, PGQ_LOG_ERROR, 0, NULL, "%s", w->errmsg);
        w->stop_rc = PGQ_ECONNECT;
        pgq_worker_stop(w, false);
        failed(w, now, rc, w->lsn, "listening");
    } else if (rc != PGQ_OK) {
        failed(w, now, rc, w->lsn, "listening");
    } else {
        if (wake.table_changed ||
            (wake.rows_deleted && (w->has_limits || w->opts.mode == PGQ_MODE_DRAIN)))
            w->want_claim = true;
        cancel_held(w, &wake);
    }
    pgq__wake_clear(&wake);
}

/* ---- The loop ------------------------------------------------------------------- */

static void tick(pgq_worker *w)
{
    double now = pgq__mono();
    collect_done(w, now);
    collect_recorded(w, now);
    pgq__wadvance_stop(w, now);
    /* The recorder has its own connection: outcomes go on while the loop's
     * is down, and never wait for a claim. */
    submit_outcomes(w, now);
    if (!w->up && now >= w->reconnect_at)
        reconnect(w, now);
    if (!w->up || now < w->error_until || w->phase == PGQ__W_DONE)
        return;
    if (w->phase == PGQ__W_RUN && w->fatal == PGQ_OK && claim(w, now) != PGQ_OK && !w->up)
        return;
    if (hand_back(w, now) != PGQ_OK || heartbeat(w, now) != PGQ_OK)
        return;
    pgq__folder_note(w->folder, w->n_ok + w->n_failed + w->n_retried);
    pgq__wadvance_stop(w, pgq__mono());
}

/* Seconds until the next thing the loop must do by itself. Statements wait
 * for the connection and for the back-off after an error (error_until). */
static double sleep_for(const pgq_worker *w, double now)
{
    double t = MAX_SLEEP;
    if (w->phase == PGQ__W_DONE || (atomic_load(&w->stops) > 0 && w->phase == PGQ__W_RUN))
        return 0;
    if (w->phase != PGQ__W_RUN)
        t = fmin(t, w->deadline - now);
    /* The recorder wakes the loop when its batch is done. */
    if (w->n_pending && !w->n_recording)
        t = fmin(t, outcomes_at(w) - now);
    if (!w->up)
        return fmax(fmin(t, w->reconnect_at - now), 0);
    double ok_at = w->error_until;
    if (w->phase == PGQ__W_RUN && w->fatal == PGQ_OK) {
        if (w->want_claim && can_claim(w))
            t = fmin(t, fmax(w->claim_at, ok_at) - now);
        else if (!w->want_claim)
            t = fmin(t, fmax(w->poll_at, ok_at) - now);
    }
    if (w->n_held)
        t = fmin(t, fmax(w->hb_at, ok_at) - now);
    if (w->release.n && w->phase != PGQ__W_IMMEDIATE)
        t = fmin(t, ok_at - now);
    return t > 0 ? t : 0;
}

static void drain_pipe(int fd)
{
    char buf[64];
    while (read(fd, buf, sizeof buf) > 0)
        ;
}

static void wait_events(pgq_worker *w)
{
    double now = pgq__mono();
    double t = sleep_for(w, now);
    struct pollfd fds[2] = {{.fd = w->wake_r, .events = POLLIN}};
    nfds_t n = 1;
    if (w->up) {
        fds[1].fd = PQsocket(pgq_client_conn(w->lsn));
        fds[1].events = POLLIN;
        n = fds[1].fd >= 0 ? 2 : 1;
    }
    int ms = (int)ceil(t * 1000);
    if (poll(fds, n, ms) < 0 && errno != EINTR)
        return;
    if (fds[0].revents)
        drain_pipe(w->wake_r);
    if (n == 2 && fds[1].revents)
        on_listen(w, pgq__mono());
}

void pgq__wloop(pgq_worker *w)
{
    double now = pgq__mono();
    w->want_claim = true;
    w->claim_at = w->poll_at = now;
    w->limited_delay = LIMITED_MIN;
    w->claim_n = (size_t)w->opts.batch_size;
    w->claim_streak = 0;
    on_listen(w, now); /* anything buffered while LISTEN was set up */
    while (w->phase != PGQ__W_DONE) {
        tick(w);
        if (w->phase != PGQ__W_DONE)
            wait_events(w);
    }
}
