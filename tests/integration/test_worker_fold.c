/* test_worker_fold.c: a running worker folds the log into the statistics
 * table (PgQueuer's log_aggregation_interval; src/worker/fold.c) on its
 * own connection, in chunks, counting every log row exactly once, while
 * the loop goes on claiming; a negative interval turns it off. The
 * database is the judge: statistics counts against log rows. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "harness.h"

#define EP "fold"

static void enqueue_many(pgq_client *c, int n)
{
    pgq_new_job jobs[500];
    for (int done = 0; done < n;) {
        int k = n - done < 500 ? n - done : 500;
        for (int i = 0; i < k; i++)
            jobs[i] = (pgq_new_job){.entrypoint = EP, .payload = "x", .payload_len = 1};
        CHECK_OK(c, pgq_enqueue(c, jobs, (size_t)k, PGQ_CONFLICT_RAISE, NULL));
        done += k;
    }
}

static int noop(const pgq_job *job, pgq_job_ctx *ctx)
{
    (void)job;
    (void)ctx;
    return PGQ_OK;
}

typedef struct bg {
    pgq_worker *w;
    pthread_t t;
    int rc;
} bg;

static void *bg_main(void *arg)
{
    bg *b = arg;
    b->rc = pgq_worker_run(b->w);
    return NULL;
}

static void start(bg *b, double interval)
{
    pgq_worker_opts o = {.log_aggregation_interval = interval};
    CHECK_INT(pgq_worker_new(&b->w, NULL, &o), PGQ_OK);
    CHECK_INT(pgq_worker_register(b->w, EP, noop, NULL), PGQ_OK);
    CHECK(pthread_create(&b->t, NULL, bg_main, b) == 0);
}

static void stop(bg *b)
{
    pgq_worker_stop(b->w, false);
    pthread_join(b->t, NULL);
    CHECK_INT(b->rc, PGQ_OK);
    pgq_worker_free(b->w);
}

/* Waits (polling the database, up to 60 s) until no log row is left
 * unfolded and every job is done; false on timeout. */
static bool wait_folded(long long jobs)
{
    double until = th_now() + 60;
    while (th_now() < until) {
        if (tdb_int("SELECT count(*) FROM pgqueuer_log WHERE status = 'successful'") ==
                jobs &&
            tdb_int("SELECT count(*) FROM pgqueuer_log WHERE NOT aggregated") == 0)
            return true;
        nanosleep(&(struct timespec){.tv_nsec = 50 * 1000 * 1000}, NULL);
    }
    return false;
}

/* 9,000 jobs make 27,000 log rows (queued, picked, successful): three
 * chunks of at most 10,000. Every row is counted once in the statistics. */
TEST(a_running_worker_folds_every_row_once)
{
    pgq_client *c = tdb_fresh();
    enqueue_many(c, 9000);
    bg b;
    start(&b, 0.3);
    bool folded = wait_folded(9000);
    stop(&b);
    CHECKF(folded, "after 60 s: %lld successful, %lld log rows not folded",
           tdb_int("SELECT count(*) FROM pgqueuer_log WHERE status = 'successful'"),
           tdb_int("SELECT count(*) FROM pgqueuer_log WHERE NOT aggregated"));
    long long logged = tdb_int("SELECT count(*) FROM pgqueuer_log");
    CHECK_INT(logged, 27000);
    CHECK_INT(tdb_int("SELECT coalesce(sum(count), 0) FROM pgqueuer_statistics"), logged);
    CHECK_INT(tdb_int("SELECT coalesce(sum(count), 0) FROM pgqueuer_statistics WHERE "
                      "status = 'successful'"),
              9000);
    /* The folder's connection closes with the worker (its backend exits
     * a moment after the client goes). */
    double until = th_now() + 10;
    long long left = 1;
    while (left > 0 && th_now() < until) {
        left =
            tdb_int("SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE "
                    "'%% statistics'");
        if (left > 0)
            nanosleep(&(struct timespec){.tv_nsec = 20 * 1000 * 1000}, NULL);
    }
    CHECK_INT(left, 0);
    pgq_client_free(c);
}

/* A negative interval: no fold at all (PgQueuer's timedelta(0)). */
TEST(a_negative_interval_never_folds)
{
    pgq_client *c = tdb_fresh();
    enqueue_many(c, 50);
    pgq_worker *w = NULL;
    pgq_worker_opts o = {.mode = PGQ_MODE_DRAIN, .log_aggregation_interval = -1};
    CHECK_INT(pgq_worker_new(&w, NULL, &o), PGQ_OK);
    CHECK_INT(pgq_worker_register(w, EP, noop, NULL), PGQ_OK);
    CHECK_INT(pgq_worker_run(w), PGQ_OK);
    pgq_worker_free(w);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer_log WHERE NOT aggregated"), 150);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer_statistics"), 0);
    pgq_client_free(c);
}

/* Out of range: refused before anything runs. */
TEST(the_interval_is_checked)
{
    pgq_worker *w = NULL;
    CHECK_INT(
        pgq_worker_new(&w, NULL, &(pgq_worker_opts){.log_aggregation_interval = 1e300}),
        PGQ_EINVAL);
    CHECK_INT(
        pgq_worker_new(&w, NULL, &(pgq_worker_opts){.log_aggregation_interval = NAN}),
        PGQ_EINVAL);
}

int main(int argc, char **argv)
{
    static const th_case cases[] = {
        CASE(a_running_worker_folds_every_row_once),
        CASE(a_negative_interval_never_folds),
        CASE(the_interval_is_checked),
    };
    return th_main(cases, sizeof cases / sizeof cases[0], argc, argv);
}
