/* adapt.c: how many jobs the worker's next claim asks for
 * (docs/worker.md, "Adaptive claims").
 *
 * A claim is one statement and its outcomes one commit, so on a deep queue
 * of short jobs the worker's rate is set by how many jobs each round trip
 * carries, not by the handlers. batch_size is the size for a shallow queue.
 * A claim that comes back full while a handler thread sits idle, for the
 * second time in a row, doubles the next one, up to half the cap on held
 * jobs (so one claim can be in flight while the previous one's outcomes
 * are being committed); a claim that comes back short goes back down, and
 * one that finds half a claim still waiting for a thread halves. At
 * low rates every claim comes back short, so claims stay at batch_size and
 * latency does not move. The claim statement orders the jobs it takes
 * exactly as before (priority, then age, per-entrypoint limits), so a
 * bigger claim takes the jobs a series of smaller ones would have. */
#include "worker.h"

/* Never more than one statement records (OUTCOMES_PER_STATEMENT in
 * loop.c), cap or none. */
#define CLAIM_CEILING 1000

/* The largest claim adaptation may reach. */
static size_t ceiling(const pgq_worker *w)
{
    size_t batch = (size_t)w->opts.batch_size;
    if (w->opts.fixed_batch)
        return batch;
    size_t top = CLAIM_CEILING;
    if (w->opts.max_concurrent_tasks != PGQ_UNLIMITED &&
        (size_t)w->opts.max_concurrent_tasks / 2 < top)
        top = (size_t)w->opts.max_concurrent_tasks / 2;
    return top > batch ? top : batch;
}

/* Prefetching: once handlers have been seen to finish, the worker claims
 * whenever it has (ready or running) fewer than threads + the claim size
 * jobs, so every claim is full and is in flight while the handlers run
 * the jobs already waiting in the ready queue. Sizing claims by idle
 * threads made claim, run and record alternate, with several partial
 * claims per batch. Until a handler has returned (long-running jobs, or
 * none yet), a claim takes only what idle threads can start: holding jobs
 * no thread will reach soon would only keep them from other workers.
 * Either way the pool's threads bound the running handlers, the claim
 * enforces the entrypoints' concurrency limits across all workers
 * (prefetched jobs are picked, so they count), the heartbeat covers every
 * held job, and a stop hands the unstarted ones back at once. */
static bool prefetching(const pgq_worker *w)
{
    return w->n_ok + w->n_failed + w->n_retried > 0;
}

size_t pgq__wclaim_size(const pgq_worker *w)
{
    size_t batch = (size_t)w->opts.batch_size;
    size_t threads = (size_t)w->opts.threads;
    size_t want;
    if (prefetching(w)) {
        want = w->n_active < threads + w->claim_n ? w->claim_n : 0;
    } else {
        /* Without prefetching a claim waits until a full batch fits, or
         * the worker is empty (small capacities): claiming one job per
         * finished job would cost a round trip each. */
        size_t slots = w->n_active >= threads ? 0 : threads - w->n_active;
        if (slots == 0 ||
            (slots < (batch < threads ? batch : threads) && w->n_active > 0))
            return 0;
        want = slots < batch ? slots : batch;
    }
    if (w->opts.max_concurrent_tasks == PGQ_UNLIMITED || want == 0)
        return want;
    /* max_concurrent_tasks caps every job held (picked by this worker,
     * whatever its state, outcomes being recorded included). What fits
     * is taken if it is at least a batch; less waits, which it can
     * afford, since the cap is at least two batches, so at least one
     * batch is still held and its end frees room. */
    size_t cap = (size_t)w->opts.max_concurrent_tasks;
    size_t room = w->n_held >= cap ? 0 : cap - w->n_held;
    if (want <= room)
        return want;
    return room >= batch ? room : 0;
}

void pgq__wclaim_adapt(pgq_worker *w, size_t asked, size_t got, size_t active_before)
{
    size_t batch = (size_t)w->opts.batch_size;
    if (got < asked) {
        w->claim_n = batch; /* the queue is shallow (or limited) */
        w->claim_streak = 0;
        return;
    }
    if (!prefetching(w) || asked < w->claim_n)
        return; /* sized by idle threads or by room: says nothing */
    size_t threads = (size_t)w->opts.threads;
    if (active_before >= threads) {
        /* Every thread had a job when the claim came back: handlers, not
         * round trips, set the pace, and a bigger claim would only hold
         * jobs back from other workers. With half a claim still waiting
         * for a thread, halve it (a loaded machine can leave a few no-op
         * jobs waiting a moment: that alone is no reason to). */
        if (active_before >= threads + w->claim_n / 2)
            w->claim_n = w->claim_n / 2 > batch ? w->claim_n / 2 : batch;
        w->claim_streak = 0;
        return;
    }
    /* Twice in a row: the first full claim after the start (claims sized
     * by idle threads) finds threads idle whatever the handlers' pace. */
    if (++w->claim_streak < 2)
        return;
    size_t top = ceiling(w);
    w->claim_n = w->claim_n * 2 < top ? w->claim_n * 2 : top;
}
