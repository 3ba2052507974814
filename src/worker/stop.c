/* stop.c: the worker's stop phases. A first stop hands back the
 * jobs no thread started and waits up to shutdown_grace for the running
 * ones; an immediate stop (or the grace running out) cancels them and,
 * after ABANDON_WAIT, abandons handlers that ignore it; the final phase
 * waits up to FINAL_WAIT to record their outcomes and hand jobs back. */
#include <stdio.h>

#include "worker.h"

/* ---- Stopping ------------------------------------------------------------------ */

/* Hands back every job no thread has started. */
static size_t give_back_unstarted(pgq_worker *w)
{
    pgq_job_ctx *ctx = pgq__pool_take_ready(w->core);
    size_t n = 0;
    while (ctx) {
        pgq_job_ctx *next = ctx->next;
        w->n_active--;
        pgq__wgive_back(w, ctx);
        ctx = next;
        n++;
    }
    return n;
}

static void enter_graceful(pgq_worker *w, double now)
{
    size_t n = give_back_unstarted(w);
    w->phase = PGQ__W_GRACEFUL;
    w->deadline = now + w->opts.shutdown_grace;
    pgq__wlog(w->core, PGQ_LOG_INFO, 0, NULL,
              "stopping: %zu unstarted job(s) handed back, waiting up to %.3gs "
              "for %zu running",
              n, w->opts.shutdown_grace, w->n_active);
}

static void enter_immediate(pgq_worker *w, double now)
{
    atomic_store(&w->core->immediate, true);
    size_t n = give_back_unstarted(w);
    w->phase = PGQ__W_IMMEDIATE;
    w->deadline = now + ABANDON_WAIT;
    pgq__wlog(w->core, PGQ_LOG_WARN, 0, NULL,
              "stopping now: cancelling %zu running job(s), %zu unstarted handed back",
              w->n_active, n);
}

/* Handlers that ignored the cancellation are left to their threads (the
 * core frees their contexts); their jobs go back to the queue. */
static void abandon_running(pgq_worker *w)
{
    pgq__pool_abandon(w->core, w->held, w->n_held);
    for (size_t i = 0; i < w->n_held;) {
        pgq_job_ctx *ctx = w->held[i];
        if (!ctx->abandoned) { /* only this thread sets it */
            i++;
            continue;
        }
        pgq__wlog(w->core, PGQ_LOG_WARN, ctx->job.id, ctx->job.entrypoint,
                  "abandoned its running handler; the job goes back to the queue");
        (void)pgq__wids_add(&w->release, ctx->job.id);
        pgq__wheld_remove(w, ctx);
        w->n_active--;
    }
}

void pgq__wadvance_stop(pgq_worker *w, double now)
{
    int stops = atomic_load(&w->stops);
    if (stops >= 1 && w->phase == PGQ__W_RUN)
        enter_graceful(w, now);
    if ((stops >= 2 || w->fatal != PGQ_OK) && w->phase < PGQ__W_IMMEDIATE)
        enter_immediate(w, now);
    if (w->phase == PGQ__W_GRACEFUL && w->n_active > 0 && now >= w->deadline) {
        pgq__wlog(w->core, PGQ_LOG_WARN, 0, NULL, "shutdown grace of %.3gs is over",
                  w->opts.shutdown_grace);
        enter_immediate(w, now);
    }
    if (w->phase == PGQ__W_IMMEDIATE && w->n_active > 0 && now >= w->deadline)
        abandon_running(w);
    if ((w->phase == PGQ__W_GRACEFUL || w->phase == PGQ__W_IMMEDIATE) &&
        w->n_active == 0) {
        w->phase = PGQ__W_FINAL;
        w->deadline = now + FINAL_WAIT;
    }
    if (w->phase != PGQ__W_FINAL || w->n_active)
        return;
    if (!w->n_pending && !w->n_recording && !w->release.n) {
        w->phase = PGQ__W_DONE;
    } else if (now >= w->deadline) {
        snprintf(w->errmsg, sizeof w->errmsg,
                 "stopped without recording %zu outcome(s) and handing back %zu "
                 "job(s): the database is unreachable; other workers take them "
                 "over after their retry_timer",
                 w->n_pending + w->n_recording, w->release.n);
        pgq__wlog(w->core, PGQ_LOG_ERROR, 0, NULL, "%s", w->errmsg);
        if (w->fatal == PGQ_OK)
            w->fatal = PGQ_ECONNECT;
        w->phase = PGQ__W_DONE;
    }
}
