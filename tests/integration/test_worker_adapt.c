/* test_worker_adapt.c: adaptive claims (docs/worker.md, "Prefetch, adaptive
 * claims, the cap and threads") against a real database: on a deep queue
 * of short jobs claims grow (fewer claim statements than batches), never
 * past the cap on held jobs; fixed_batch pins the old behaviour;
 * priorities still decide the order. The rule step by step (slow handlers,
 * halving, room) is in tests/unit/test_adapt.c.
 * The database (rows picked, log rows) and the worker's own counters are
 * the judges. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"

#define EP "adapt"

/* Enqueues n jobs of EP at priority prio in statements of up to 500. */
static void enqueue_many(pgq_client *c, int n, int32_t prio)
{
    pgq_new_job jobs[500];
    for (int done = 0; done < n;) {
        int k = n - done < 500 ? n - done : 500;
        for (int i = 0; i < k; i++)
            jobs[i] = (pgq_new_job){
                .entrypoint = EP, .payload = "x", .payload_len = 1, .priority = prio};
        CHECK_OK(c, pgq_enqueue(c, jobs, (size_t)k, PGQ_CONFLICT_RAISE, NULL));
        done += k;
    }
}

/* ---- A sampler of picked rows, on its own connection ------------------------- */

typedef struct sampler {
    pthread_t t;
    atomic_bool stop;
    long long max_picked;
} sampler;

static void *sampler_main(void *arg)
{
    sampler *s = arg;
    pgq_client *c = tdb_client(NULL);
    PGconn *conn = pgq_client_conn(c);
    while (!atomic_load(&s->stop)) {
        PGresult *r =
            PQexec(conn, "SELECT count(*) FROM pgqueuer WHERE status = 'picked'");
        if (PQresultStatus(r) == PGRES_TUPLES_OK) {
            long long n = atoll(PQgetvalue(r, 0, 0));
            if (n > s->max_picked)
                s->max_picked = n;
        }
        PQclear(r);
    }
    pgq_client_free(c);
    return NULL;
}

static void sampler_start(sampler *s)
{
    s->max_picked = 0;
    atomic_store(&s->stop, false);
    CHECK(pthread_create(&s->t, NULL, sampler_main, s) == 0);
}

static long long sampler_stop(sampler *s)
{
    atomic_store(&s->stop, true);
    pthread_join(s->t, NULL);
    return s->max_picked;
}

/* ---- Handlers ----------------------------------------------------------------- */

static int noop(const pgq_job *job, pgq_job_ctx *ctx)
{
    (void)job;
    (void)ctx;
    return PGQ_OK;
}

#define MAX_ORDER 2000
static atomic_int n_started;
static int32_t started_prio[MAX_ORDER];

static int note_priority(const pgq_job *job, pgq_job_ctx *ctx)
{
    (void)ctx;
    int k = atomic_fetch_add(&n_started, 1);
    if (k < MAX_ORDER)
        started_prio[k] = job->priority;
    return PGQ_OK;
}

/* Drains the queue with one worker; returns its counters. */
static pgq_worker_stats drain(pgq_worker_opts o, pgq_handler h)
{
    o.mode = PGQ_MODE_DRAIN;
    pgq_worker *w = NULL;
    CHECK_INT(pgq_worker_new(&w, NULL, &o), PGQ_OK);
    CHECK_INT(pgq_worker_register(w, EP, h, NULL), PGQ_OK);
    CHECK_INT(pgq_worker_run(w), PGQ_OK);
    pgq_worker_stats st;
    pgq_worker_stats_get(w, &st);
    pgq_worker_free(w);
    return st;
}

static void check_all_done(long long n)
{
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer"), 0);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer_log WHERE status = 'successful'"),
              n);
    CHECK_INT(tdb_int("SELECT count(DISTINCT job_id) FROM pgqueuer_log WHERE status = "
                      "'successful'"),
              n);
}

/* ---- Cases ---------------------------------------------------------------------- */

/* 3,000 no-op jobs at the defaults (batch 10, cap 100): a fixed batch takes
 * at least 300 claims; adaptive claims reach 50 a claim, so far fewer, and
 * the picked rows never exceed the cap. */
TEST(deep_queue_claims_grow_within_the_cap)
{
    pgq_client *c = tdb_fresh();
    enqueue_many(c, 3000, 0);
    sampler s;
    sampler_start(&s);
    pgq_worker_stats st = drain((pgq_worker_opts){0}, noop);
    long long max_picked = sampler_stop(&s);
    check_all_done(3000);
    printf("# adaptive: %llu claims for 3000 jobs, at most %lld picked at once\n",
           (unsigned long long)st.claim_count, max_picked);
    CHECKF(st.claim_count < 150, "%llu claims: claims did not grow",
           (unsigned long long)st.claim_count);
    CHECKF(max_picked <= 100, "%lld picked at once, above the cap of 100", max_picked);

    tdb_exec("TRUNCATE pgqueuer_log");
    enqueue_many(c, 3000, 0);
    st = drain((pgq_worker_opts){.fixed_batch = true}, noop);
    check_all_done(3000);
    printf("# fixed batch: %llu claims for 3000 jobs\n",
           (unsigned long long)st.claim_count);
    CHECKF(st.claim_count >= 300, "%llu claims of at most 10 for 3000 jobs",
           (unsigned long long)st.claim_count);
    pgq_client_free(c);
}

/* A smaller cap bounds the growth: cap 40 at batch 10 claims at most 20. */
TEST(the_cap_bounds_the_growth)
{
    pgq_client *c = tdb_fresh();
    enqueue_many(c, 2000, 0);
    sampler s;
    sampler_start(&s);
    pgq_worker_stats st =
        drain((pgq_worker_opts){.batch_size = 10, .max_concurrent_tasks = 40}, noop);
    long long max_picked = sampler_stop(&s);
    check_all_done(2000);
    printf("# cap 40: %llu claims, at most %lld picked at once\n",
           (unsigned long long)st.claim_count, max_picked);
    CHECKF(max_picked <= 40, "%lld picked at once, above the cap of 40", max_picked);
    CHECKF(st.claim_count >= 100, "%llu claims of at most 20 for 2000 jobs",
           (unsigned long long)st.claim_count);
    CHECKF(st.claim_count < 200, "%llu claims: claims did not grow past the batch",
           (unsigned long long)st.claim_count);
    pgq_client_free(c);
}

/* 1,500 jobs of priority 0 queued before 300 of priority 5: every
 * priority-5 job starts before the priority-0 ones (but for the few the
 * threads had already taken when the last priority-5 claim was made:
 * with 4 threads, at most 4 plus the claim in flight). */
TEST(priorities_still_decide_the_order)
{
    pgq_client *c = tdb_fresh();
    enqueue_many(c, 1500, 0);
    enqueue_many(c, 300, 5);
    atomic_store(&n_started, 0);
    (void)drain((pgq_worker_opts){.batch_size = 10, .threads = 4}, note_priority);
    check_all_done(1800);
    CHECK_INT(atomic_load(&n_started), 1800);
    int last_high = -1, lows_before = 0;
    for (int k = 0; k < 1800; k++)
        if (started_prio[k] == 5)
            last_high = k;
    for (int k = 0; k < last_high; k++)
        lows_before += started_prio[k] == 0;
    printf("# the last priority-5 job started %dth; %d priority-0 jobs before it\n",
           last_high + 1, lows_before);
    CHECKF(lows_before <= 4, "%d priority-0 jobs started before the last priority-5 one",
           lows_before);
    pgq_client_free(c);
}

int main(int argc, char **argv)
{
    static const th_case cases[] = {
        CASE(deep_queue_claims_grow_within_the_cap),
        CASE(the_cap_bounds_the_growth),
        CASE(priorities_still_decide_the_order),
    };
    return th_main(cases, sizeof cases / sizeof cases[0], argc, argv);
}
