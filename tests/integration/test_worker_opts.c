/* test_worker_opts.c: the worker's option ranges as the library checks
 * them (pgq_worker_new, pgq_worker_register, pgq_worker_run after options
 * changed through pgq_worker_entrypoint_opts, pgq_claim), the cap on held
 * jobs and its defaults, and the bound on handler-requested retries. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "worker/worker.h"

static int noop(const pgq_job *job, pgq_job_ctx *ctx)
{
    (void)job;
    (void)ctx;
    return 0;
}

static int new_rc(pgq_worker_opts o)
{
    pgq_worker *w = NULL;
    int rc = pgq_worker_new(&w, NULL, &o);
    pgq_worker_free(w);
    return rc;
}

TEST(heartbeats_the_worker_cannot_honour_are_refused)
{
    CHECK_INT(new_rc((pgq_worker_opts){.heartbeat_timeout = 0.02}), PGQ_EINVAL);
    CHECK_INT(new_rc((pgq_worker_opts){.heartbeat_timeout = 0.001}), PGQ_EINVAL);
    CHECK_INT(new_rc((pgq_worker_opts){.heartbeat_timeout = PGQ_HEARTBEAT_MIN}), PGQ_OK);
    CHECK_INT(new_rc((pgq_worker_opts){.heartbeat_timeout = 2e9}), PGQ_EINVAL);
    CHECK_INT(new_rc((pgq_worker_opts){.dequeue_timeout = 2e9}), PGQ_EINVAL);
}

TEST(the_cap_is_at_least_two_batches)
{
    CHECK_INT(new_rc((pgq_worker_opts){.batch_size = 5, .max_concurrent_tasks = 2}),
              PGQ_EINVAL);
    CHECK_INT(new_rc((pgq_worker_opts){.batch_size = 5, .max_concurrent_tasks = 9}),
              PGQ_EINVAL);
    CHECK_INT(new_rc((pgq_worker_opts){.batch_size = 5, .max_concurrent_tasks = 10}),
              PGQ_OK);
    CHECK_INT(
        new_rc((pgq_worker_opts){.batch_size = 5, .max_concurrent_tasks = PGQ_UNLIMITED}),
        PGQ_OK);
    CHECK_INT(new_rc((pgq_worker_opts){.max_concurrent_tasks = -2}), PGQ_EINVAL);
    CHECK_INT(new_rc((pgq_worker_opts){.threads = 4097}), PGQ_EINVAL);
}

TEST(defaults_of_the_cap_and_the_threads)
{
    pgq_worker *w = NULL;
    CHECK_INT(pgq_worker_new(&w, NULL, &(pgq_worker_opts){0}), PGQ_OK);
    CHECK_INT(w->opts.max_concurrent_tasks, 100); /* max(100, 2 x 10) */
    CHECK_INT(w->opts.threads, 32);
    pgq_worker_free(w);
    CHECK_INT(pgq_worker_new(&w, NULL, &(pgq_worker_opts){.batch_size = 500}), PGQ_OK);
    CHECK_INT(w->opts.max_concurrent_tasks, 1000);
    pgq_worker_free(w);
    CHECK_INT(pgq_worker_new(&w, NULL, &(pgq_worker_opts){.batch_size = 2}), PGQ_OK);
    CHECK_INT(w->opts.threads, 8);
    pgq_worker_free(w);
    /* More threads than the cap could never run: cut to it. */
    CHECK_INT(pgq_worker_new(&w, NULL,
                             &(pgq_worker_opts){.batch_size = 5,
                                                .max_concurrent_tasks = 10,
                                                .threads = 64}),
              PGQ_OK);
    CHECK_INT(w->opts.threads, 10);
    pgq_worker_free(w);
}

TEST(entrypoint_ranges_at_registration)
{
    pgq_worker *w = NULL;
    CHECK_INT(pgq_worker_new(&w, NULL, NULL), PGQ_OK);
    const pgq_entrypoint_opts bad[] = {
        {.retry_timer = 0.02},
        {.retry_timer = 3000000.0 * 86400},
        {.requests_per_second = 1e-13},
        {.requests_per_second = 2e9},
        {.backoff_initial = 600}, /* above the default max (300) */
        {.backoff_initial = 10, .backoff_max = 5},
        {.backoff_multiplier = 0.5},
        {.max_attempts = -1},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECKF(pgq_worker_register(w, "x", noop, &bad[i]) == PGQ_EINVAL, "case %zu", i);
    CHECK_INT(pgq_worker_register(w, "x", noop,
                                  &(pgq_entrypoint_opts){.retry_timer = 1,
                                                         .requests_per_second = 1e-9,
                                                         .backoff_initial = 600,
                                                         .backoff_max = 900}),
              PGQ_OK);
    pgq_worker_free(w);
}

/* Options changed after registration are checked by pgq_worker_run, before
 * it connects: a worker with an unreachable database still says EINVAL. */
TEST(entrypoint_ranges_after_registration)
{
    pgq_config cfg = {.dsn = "host=/nonexistent-pgq-socket-dir"};
    pgq_worker *w = NULL;
    CHECK_INT(pgq_worker_new(&w, &cfg, NULL), PGQ_OK);
    CHECK_INT(pgq_worker_register(w, "fine", noop, NULL), PGQ_OK);
    CHECK_INT(pgq_worker_register(w, "later", noop, NULL), PGQ_OK);
    pgq_worker_entrypoint_opts(w, "later")->retry_timer = 3000000.0 * 86400;
    CHECK_INT(pgq_worker_run(w), PGQ_EINVAL);
    CHECKF(strstr(pgq_worker_errmsg(w), "'later'") &&
               strstr(pgq_worker_errmsg(w), "retry_timer"),
           "errmsg: %s", pgq_worker_errmsg(w));
    pgq_worker_free(w);

    CHECK_INT(pgq_worker_new(&w, &cfg, NULL), PGQ_OK);
    CHECK_INT(pgq_worker_register(w, "later", noop, NULL), PGQ_OK);
    pgq_worker_entrypoint_opts(w, "later")->requests_per_second = 1e-13;
    CHECK_INT(pgq_worker_run(w), PGQ_EINVAL);
    CHECKF(strstr(pgq_worker_errmsg(w), "requests_per_second"), "errmsg: %s",
           pgq_worker_errmsg(w));
    pgq_worker_free(w);
}

TEST(the_claim_refuses_what_postgresql_cannot_represent)
{
    tdb_reset_schema();
    pgq_client *c = tdb_client(NULL);
    pgq_claim_opts co = {.queue_manager_id = "99999999-9999-4999-8999-999999999999",
                         .batch_size = 1};
    pgq_job_set set = {0};
    pgq_claim_entrypoint slow = {.entrypoint = "x", .requests_per_second = 1e-13};
    CHECK_INT(pgq_claim(c, &slow, 1, &co, &set), PGQ_EINVAL);
    pgq_job_set_free(&set);
    pgq_claim_entrypoint old = {.entrypoint = "x", .retry_timer = 3e11};
    CHECK_INT(pgq_claim(c, &old, 1, &co, &set), PGQ_EINVAL);
    pgq_job_set_free(&set);
    pgq_claim_entrypoint ok = {
        .entrypoint = "x", .retry_timer = 1e8, .requests_per_second = 1e-9};
    CHECK_OK(c, pgq_claim(c, &ok, 1, &co, &set));
    pgq_job_set_free(&set);
    pgq_client_free(c);
}

/* ---- Handler-requested retries ------------------------------------------------- */

static atomic_int asked_runs;

static int always_retry(const pgq_job *job, pgq_job_ctx *ctx)
{
    (void)job;
    atomic_fetch_add(&asked_runs, 1);
    pgq_job_ctx_retry(ctx, 0);
    return 0;
}

/* Runs one always-retrying job to the end; returns its runs and sets *last
 * to its final log status. */
static int retried_runs(int max_attempts, char **last)
{
    tdb_reset_schema();
    pgq_client *c = tdb_client(NULL);
    int64_t id;
    pgq_new_job nj = {.entrypoint = "again"};
    CHECK_OK(c, pgq_enqueue(c, &nj, 1, PGQ_CONFLICT_RAISE, &id));
    pgq_worker *w = NULL;
    CHECK_INT(pgq_worker_new(&w, NULL, &(pgq_worker_opts){.mode = PGQ_MODE_DRAIN}),
              PGQ_OK);
    CHECK_INT(pgq_worker_register(w, "again", always_retry,
                                  &(pgq_entrypoint_opts){.max_attempts = max_attempts}),
              PGQ_OK);
    atomic_store(&asked_runs, 0);
    CHECK_OK(c, pgq_worker_run(w));
    *last = tdb_str("SELECT status::text FROM pgqueuer_log WHERE job_id = %lld "
                    "ORDER BY id DESC LIMIT 1",
                    (long long)id);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer_log WHERE job_id = %lld AND "
                      "status = 'picked'",
                      (long long)id),
              atomic_load(&asked_runs));
    pgq_worker_free(w);
    pgq_client_free(c);
    return atomic_load(&asked_runs);
}

TEST(handler_requested_retries_are_bounded)
{
    char *last = NULL;
    CHECK_INT(retried_runs(0, &last), PGQ_DEFAULT_RETRY_RUNS);
    CHECK_STR(last, "exception");
    free(last);
    CHECK_INT(retried_runs(1, &last), 1);
    CHECK_STR(last, "exception");
    free(last);
    CHECK_INT(retried_runs(3, &last), 3);
    CHECK_STR(last, "exception");
    free(last);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer_log WHERE status = 'exception' AND "
                      "traceback->>'exception_type' = 'RetryLimitReached'"),
              1);
}

int main(int argc, char **argv)
{
    static const th_case cases[] = {
        CASE(heartbeats_the_worker_cannot_honour_are_refused),
        CASE(the_cap_is_at_least_two_batches),
        CASE(defaults_of_the_cap_and_the_threads),
        CASE(entrypoint_ranges_at_registration),
        CASE(entrypoint_ranges_after_registration),
        CASE(the_claim_refuses_what_postgresql_cannot_represent),
        CASE(handler_requested_retries_are_bounded),
    };
    return th_main(cases, sizeof cases / sizeof cases[0], argc, argv);
}
