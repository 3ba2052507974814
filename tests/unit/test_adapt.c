/* test_adapt.c: the rule of adaptive claims (src/worker/adapt.c,
 * docs/worker.md) step by step, without a database: a worker's counters are
 * set as the loop would have them and each claim's result is fed back. */
#include <string.h>

#include "harness.h"
#include "worker/worker.h"

/* A worker as the loop sees it once handlers have finished jobs
 * (prefetching), with the options normalised as pgq_worker_new does. */
static pgq_worker make(int batch, int threads, int cap, bool fixed)
{
    pgq_worker w;
    memset(&w, 0, sizeof w);
    w.opts.batch_size = batch;
    w.opts.threads = threads;
    w.opts.max_concurrent_tasks = cap;
    w.opts.fixed_batch = fixed;
    w.claim_n = (size_t)batch;
    w.n_ok = 1;
    return w;
}

/* One claim on a deep queue: asks what the rule says, gets it all, while
 * `active` jobs were ready or running; returns the size asked. */
static size_t deep_claim(pgq_worker *w, size_t active)
{
    w->n_active = active;
    w->n_held = active;
    size_t asked = pgq__wclaim_size(w);
    pgq__wclaim_adapt(w, asked, asked, active);
    return asked;
}

TEST(idle_threads_double_the_claim_up_to_half_the_cap)
{
    pgq_worker w = make(10, 32, 100, false);
    size_t seen[6];
    for (int i = 0; i < 6; i++)
        seen[i] = deep_claim(&w, 0);
    /* The second full claim in a row starts the doubling. */
    CHECK_INT(seen[0], 10);
    CHECK_INT(seen[1], 10);
    CHECK_INT(seen[2], 20);
    CHECK_INT(seen[3], 40);
    CHECK_INT(seen[4], 50);
    CHECK_INT(seen[5], 50);
}

TEST(without_a_cap_claims_grow_to_one_thousand)
{
    pgq_worker w = make(100, 32, PGQ_UNLIMITED, false);
    size_t last = 0;
    for (int i = 0; i < 12; i++)
        last = deep_claim(&w, 0);
    CHECK_INT(last, 1000);
}

TEST(a_short_claim_returns_to_the_batch)
{
    pgq_worker w = make(10, 32, 100, false);
    for (int i = 0; i < 5; i++)
        deep_claim(&w, 0);
    CHECK_INT(w.claim_n, 50);
    pgq__wclaim_adapt(&w, 50, 7, 0);
    CHECK_INT(w.claim_n, 10);
    /* And it takes two full claims again before it grows. */
    CHECK_INT(deep_claim(&w, 0), 10);
    CHECK_INT(deep_claim(&w, 0), 10);
    CHECK_INT(deep_claim(&w, 0), 20);
}

TEST(busy_threads_do_not_grow_it_and_a_waiting_half_claim_halves_it)
{
    pgq_worker w = make(10, 4, 100, false);
    for (int i = 0; i < 3; i++)
        deep_claim(&w, 0);
    CHECK_INT(w.claim_n, 40);
    /* Every thread busy, a few jobs waiting: no growth, no shrink. */
    pgq__wclaim_adapt(&w, 40, 40, 4 + 5);
    CHECK_INT(w.claim_n, 40);
    /* Half a claim (20) still waiting for a thread: halve. */
    pgq__wclaim_adapt(&w, 40, 40, 4 + 20);
    CHECK_INT(w.claim_n, 20);
    pgq__wclaim_adapt(&w, 20, 20, 4 + 10);
    CHECK_INT(w.claim_n, 10);
    pgq__wclaim_adapt(&w, 10, 10, 4 + 10);
    CHECK_INT(w.claim_n, 10); /* never below the batch */
}

TEST(fixed_batch_pins_the_claim)
{
    pgq_worker w = make(10, 32, 100, true);
    for (int i = 0; i < 8; i++)
        CHECK_INT(deep_claim(&w, 0), 10);
}

TEST(the_cap_limits_what_a_claim_asks)
{
    pgq_worker w = make(10, 32, 100, false);
    w.claim_n = 50;
    w.n_active = 0;
    w.n_held = 60;                       /* e.g. outcomes waiting for their commit */
    CHECK_INT(pgq__wclaim_size(&w), 40); /* what fits, at least a batch */
    w.n_held = 95;
    CHECK_INT(pgq__wclaim_size(&w), 0); /* less than a batch fits: wait */
    w.n_held = 100;
    CHECK_INT(pgq__wclaim_size(&w), 0);
    /* A claim cut by the cap says nothing about the queue. */
    w.n_held = 60;
    pgq__wclaim_adapt(&w, 40, 40, 0);
    CHECK_INT(w.claim_n, 50);
}

TEST(prefetch_waits_while_a_claim_is_still_waiting)
{
    pgq_worker w = make(10, 32, 100, false);
    w.claim_n = 50;
    w.n_active = w.n_held = 32 + 50; /* every thread busy, a claim ready */
    CHECK_INT(pgq__wclaim_size(&w), 0);
    w.n_active = w.n_held = 32 + 49;
    CHECK_INT(pgq__wclaim_size(&w), 19); /* room under the cap of 100 */
}

TEST(before_any_job_finished_claims_fit_idle_threads)
{
    pgq_worker w = make(10, 4, 100, false);
    w.n_ok = 0;
    w.claim_n = 50;
    CHECK_INT(pgq__wclaim_size(&w), 4);
    w.n_active = w.n_held = 4;
    CHECK_INT(pgq__wclaim_size(&w), 0);
}

int main(int argc, char **argv)
{
    static const th_case cases[] = {
        CASE(idle_threads_double_the_claim_up_to_half_the_cap),
        CASE(without_a_cap_claims_grow_to_one_thousand),
        CASE(a_short_claim_returns_to_the_batch),
        CASE(busy_threads_do_not_grow_it_and_a_waiting_half_claim_halves_it),
        CASE(fixed_batch_pins_the_claim),
        CASE(the_cap_limits_what_a_claim_asks),
        CASE(prefetch_waits_while_a_claim_is_still_waiting),
        CASE(before_any_job_finished_claims_fit_idle_threads),
    };
    return th_main(cases, sizeof cases / sizeof cases[0], argc, argv);
}
