/* test_claim.c: pgq_claim against a real database: order, eligibility,
 * take-overs, poison jobs, and the global concurrency and rate limits under
 * racing claimers. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "internal.h"

#define QM1 "11111111-1111-4111-8111-111111111111"
#define QM2 "22222222-2222-4222-8222-222222222222"
#define QM3 "33333333-3333-4333-8333-333333333333"

static void enqueue_n(pgq_client *c, const char *ep, int n, int priority)
{
    for (int i = 0; i < n; i++) {
        pgq_new_job j = {.entrypoint = ep, .priority = priority};
        CHECK_OK(c, pgq_enqueue(c, &j, 1, PGQ_CONFLICT_RAISE, NULL));
    }
}

static size_t claim(pgq_client *c, const pgq_claim_entrypoint *eps, size_t n,
                    const char *qm, int batch, pgq_job_set *set)
{
    pgq_claim_opts o = {.queue_manager_id = qm, .batch_size = batch};
    CHECK_OK(c, pgq_claim(c, eps, n, &o, set));
    return set->count;
}

TEST(priority_then_id_order)
{
    pgq_client *c = tdb_fresh();
    int prios[] = {0, 5, 5, -1, 9, 0};
    int64_t ids[6];
    pgq_new_job jobs[6];
    for (int i = 0; i < 6; i++)
        jobs[i] = (pgq_new_job){.entrypoint = "a", .priority = prios[i]};
    CHECK_OK(c, pgq_enqueue(c, jobs, 6, PGQ_CONFLICT_RAISE, ids));
    pgq_claim_entrypoint ep = {.entrypoint = "a"};
    pgq_job_set set;
    CHECK_INT(claim(c, &ep, 1, QM1, 4, &set), 4);
    int64_t want[] = {ids[4], ids[1], ids[2], ids[0]};
    for (int i = 0; i < 4; i++) {
        CHECK_INT(set.jobs[i].id, want[i]);
        CHECK_INT(set.jobs[i].status, PGQ_PICKED);
        CHECK_STR(set.jobs[i].queue_manager_id, QM1);
        CHECK_STR(set.jobs[i].entrypoint, "a");
        CHECK(set.jobs[i].heartbeat >= set.jobs[i].created);
        CHECK(set.jobs[i].updated >= set.jobs[i].created);
    }
    CHECK_INT(set.jobs[0].priority, 9);
    pgq_job_set_free(&set);
    /* The rows and their `picked` log rows, from the database. */
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer WHERE status = 'picked' AND "
                      "queue_manager_id = '" QM1 "' AND heartbeat = updated AND "
                      "updated >= created"),
              4);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer_log l JOIN pgqueuer q ON q.id = "
                      "l.job_id WHERE l.status = 'picked' AND q.status = 'picked' AND "
                      "l.priority = q.priority AND l.entrypoint = 'a'"),
              4);
    CHECK_INT(claim(c, &ep, 1, QM2, 10, &set), 2);
    CHECK_INT(set.jobs[0].id, ids[5]);
    CHECK_INT(set.jobs[1].id, ids[3]);
    pgq_job_set_free(&set);
    CHECK_INT(claim(c, &ep, 1, QM2, 10, &set), 0);
    CHECK(set.jobs != NULL);
    pgq_job_set_free(&set);
    pgq_client_free(c);
}

TEST(execute_after_and_entrypoints)
{
    pgq_client *c = tdb_fresh();
    pgq_new_job jobs[3] = {{.entrypoint = "a", .delay = 3600},
                           {.entrypoint = "b"},
                           {.entrypoint = "a", .priority = -5}};
    int64_t ids[3];
    CHECK_OK(c, pgq_enqueue(c, jobs, 3, PGQ_CONFLICT_RAISE, ids));
    pgq_claim_entrypoint a = {.entrypoint = "a"};
    pgq_job_set set;
    CHECK_INT(claim(c, &a, 1, QM1, 10, &set), 1); /* not b's, not the delayed one */
    CHECK_INT(set.jobs[0].id, ids[2]);
    pgq_job_set_free(&set);
    tdb_exec("UPDATE pgqueuer SET execute_after = now() - interval '1 s' WHERE id = %lld",
             (long long)ids[0]);
    pgq_claim_entrypoint ab[2] = {{.entrypoint = "b"}, {.entrypoint = "a"}};
    CHECK_INT(claim(c, ab, 2, QM1, 10, &set), 2);
    CHECK_INT(set.jobs[0].id, ids[0]);
    CHECK_INT(set.jobs[1].id, ids[1]);
    CHECK(set.jobs[0].execute_after < set.jobs[0].heartbeat);
    pgq_job_set_free(&set);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer WHERE status = 'picked'"), 3);
    pgq_client_free(c);
}

TEST(bad_arguments_refused)
{
    pgq_client *c = tdb_fresh();
    enqueue_n(c, "a", 1, 0);
    pgq_job_set set;
    pgq_claim_entrypoint ok = {.entrypoint = "a"};
    pgq_claim_entrypoint twice[2] = {{.entrypoint = "a"}, {.entrypoint = "a"}};
    pgq_claim_entrypoint empty = {.entrypoint = ""};
    pgq_claim_entrypoint neg = {.entrypoint = "a", .concurrency_limit = -1};
    pgq_claim_opts o = {.queue_manager_id = QM1, .batch_size = 1};
    pgq_claim_opts zero = {.queue_manager_id = QM1, .batch_size = 0};
    pgq_claim_opts noqm = {.batch_size = 1};
    pgq_claim_opts badqm = {.queue_manager_id = "not-a-uuid", .batch_size = 1};
    CHECK_INT(pgq_claim(c, twice, 2, &o, &set), PGQ_EINVAL);
    CHECK_INT(pgq_claim(c, &empty, 1, &o, &set), PGQ_EINVAL);
    CHECK_INT(pgq_claim(c, &neg, 1, &o, &set), PGQ_EINVAL);
    CHECK_INT(pgq_claim(c, &ok, 0, &o, &set), PGQ_EINVAL);
    CHECK_INT(pgq_claim(c, &ok, 1, &zero, &set), PGQ_EINVAL);
    CHECK_INT(pgq_claim(c, &ok, 1, &noqm, &set), PGQ_EINVAL);
    CHECK_INT(pgq_claim(c, &ok, 1, &badqm, &set), PGQ_ESQL);
    CHECK_STR(pgq_client_sqlstate(c), "22P02");
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer WHERE status = 'queued'"), 1);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer_log WHERE status = 'picked'"), 0);
    pgq_client_free(c);
}

TEST(concurrency_limit_counts_every_worker)
{
    pgq_client *c = tdb_fresh();
    pgq_client *c2 = tdb_client(NULL);
    enqueue_n(c, "lim", 5, 0);
    pgq_claim_entrypoint ep = {.entrypoint = "lim", .concurrency_limit = 2};
    pgq_job_set set;
    CHECK_INT(claim(c, &ep, 1, QM1, 10, &set), 2);
    int64_t first = set.jobs[0].id;
    pgq_job_set_free(&set);
    CHECK_INT(claim(c2, &ep, 1, QM2, 10, &set), 0);
    pgq_job_set_free(&set);
    pgq_outcome done = {.job_id = first, .status = PGQ_SUCCESSFUL};
    CHECK_OK(c, pgq_complete(c, QM1, &done, 1, NULL));
    CHECK_INT(claim(c2, &ep, 1, QM2, 10, &set), 1);
    pgq_job_set_free(&set);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer WHERE status = 'picked'"), 2);
    /* A claimer without the limit is not bound by it (it is per claim). */
    pgq_claim_entrypoint free_ep = {.entrypoint = "lim"};
    CHECK_INT(claim(c2, &free_ep, 1, QM2, 10, &set), 2);
    pgq_job_set_free(&set);
    pgq_client_free(c);
    pgq_client_free(c2);
}

TEST(stale_job_taken_over_even_when_limit_full)
{
    pgq_client *c = tdb_fresh();
    pgq_client *c2 = tdb_client(NULL);
    enqueue_n(c, "s", 4, 0);
    pgq_claim_entrypoint ep = {
        .entrypoint = "s", .concurrency_limit = 2, .retry_timer = 5};
    pgq_job_set set;
    CHECK_INT(claim(c, &ep, 1, QM1, 10, &set), 2);
    int64_t dead = set.jobs[1].id;
    pgq_job_set_free(&set);
    /* Nothing stale yet, and the limit is full. */
    CHECK_INT(claim(c2, &ep, 1, QM2, 10, &set), 0);
    pgq_job_set_free(&set);
    tdb_exec("UPDATE pgqueuer SET heartbeat = now() - interval '6 s', updated = now() - "
             "interval '6 s' WHERE id = %lld",
             (long long)dead);
    CHECK_INT(claim(c2, &ep, 1, QM2, 10, &set), 1);
    CHECK_INT(set.jobs[0].id, dead);
    CHECK_STR(set.jobs[0].queue_manager_id, QM2);
    pgq_job_set_free(&set);
    CHECK_INT(
        tdb_int("SELECT count(*) FROM pgqueuer WHERE id = %lld AND status = 'picked' "
                "AND queue_manager_id = '" QM2 "' AND heartbeat > now() - "
                "interval '5 s'",
                (long long)dead),
        1);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer WHERE status = 'picked'"), 2);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer_log WHERE job_id = %lld AND "
                      "status = 'picked'",
                      (long long)dead),
              2);
    /* The old holder's late completion resolves nothing. */
    pgq_outcome late = {.job_id = dead, .status = PGQ_SUCCESSFUL};
    size_t resolved = 9;
    CHECK_OK(c, pgq_complete(c, QM1, &late, 1, &resolved));
    CHECK_INT(resolved, 0);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer WHERE id = %lld", (long long)dead),
              1);
    /* The default retry timer (30 s) applies when the entrypoint has none. */
    pgq_claim_entrypoint dflt = {.entrypoint = "s"};
    tdb_exec("UPDATE pgqueuer SET heartbeat = now() - interval '20 s', updated = now() - "
             "interval '20 s' WHERE status = 'picked'");
    pgq_claim_opts o = {.queue_manager_id = QM3, .batch_size = 1};
    CHECK_OK(c, pgq_claim(c, &dflt, 1, &o, &set));
    CHECK_INT(set.count, 1); /* a queued one, no take-over */
    CHECK(set.jobs[0].id != dead);
    pgq_job_set_free(&set);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer WHERE queue_manager_id = '" QM2 "'"),
              1);
    tdb_exec("UPDATE pgqueuer SET heartbeat = now() - interval '31 s', updated = now() - "
             "interval '31 s' WHERE id = %lld",
             (long long)dead);
    CHECK_OK(c, pgq_claim(c, &dflt, 1, &o, &set));
    CHECK_INT(set.count, 1);
    CHECK_INT(set.jobs[0].id, dead);
    pgq_job_set_free(&set);
    pgq_client_free(c);
    pgq_client_free(c2);
}

TEST(poison_job_held_after_max_takeovers)
{
    pgq_client *c = tdb_fresh();
    enqueue_n(c, "p", 1, 0);
    long long id = tdb_int("SELECT id FROM pgqueuer");
    pgq_claim_entrypoint ep = {.entrypoint = "p", .retry_timer = 1};
    pgq_claim_opts o = {.queue_manager_id = QM1, .batch_size = 5, .max_takeovers = 3};
    pgq_job_set set;
    const char *qms[] = {QM1, QM2, QM3};
    for (int i = 0; i < 3; i++) {
        o.queue_manager_id = qms[i];
        CHECK_OK(c, pgq_claim(c, &ep, 1, &o, &set));
        CHECKF(set.count == 1, "claim %d got %zu", i, set.count);
        pgq_job_set_free(&set);
        tdb_exec("UPDATE pgqueuer SET heartbeat = now() - interval '2 s', updated = "
                 "now() - interval '2 s'"); /* it died */
    }
    o.queue_manager_id = QM1;
    CHECK_OK(c, pgq_claim(c, &ep, 1, &o, &set));
    CHECK_INT(set.count, 0);
    pgq_job_set_free(&set);
    CHECK_INT(
        tdb_int("SELECT count(*) FROM pgqueuer WHERE id = %lld AND status = 'failed' "
                "AND queue_manager_id IS NULL",
                id),
        1);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer_log WHERE job_id = %lld AND "
                      "status = 'picked'",
                      id),
              3);
    char *msg = tdb_str("SELECT traceback->>'exception_message' FROM pgqueuer_log WHERE "
                        "job_id = %lld AND status = 'failed'",
                        id);
    CHECKF(msg && strstr(msg, "died 3 times"), "message: %s", msg ? msg : "(null)");
    free(msg);
    char *qm = tdb_str("SELECT traceback->'additional_context'->>'queue_manager_id' FROM "
                       "pgqueuer_log WHERE job_id = %lld AND status = 'failed'",
                       id);
    CHECK_STR(qm, QM3); /* the holder that died last */
    free(qm);
    CHECK_INT(
        tdb_int("SELECT count(*) FROM pgqueuer_log WHERE job_id = %lld AND status = "
                "'failed' AND traceback ?& array['job_id','timestamp','exception_type',"
                "'exception_message','traceback','additional_context']",
                id),
        1);
    /* Re-queued (a `queued` log row), its count starts again. */
    tdb_exec("UPDATE pgqueuer SET status = 'queued' WHERE id = %lld", id);
    tdb_exec("INSERT INTO pgqueuer_log (job_id, status, priority, entrypoint) "
             "VALUES (%lld, 'queued', 0, 'p')",
             id);
    CHECK_OK(c, pgq_claim(c, &ep, 1, &o, &set));
    CHECK_INT(set.count, 1);
    pgq_job_set_free(&set);
    tdb_exec("UPDATE pgqueuer SET heartbeat = now() - interval '2 s', updated = now() - "
             "interval '2 s'");
    CHECK_OK(c, pgq_claim(c, &ep, 1, &o, &set));
    CHECK_INT(set.count, 1);
    pgq_job_set_free(&set);
    pgq_client_free(c);
}

/* ---- Eight racing claimers against one limit ----------------------------- */

enum { RACERS = 8, LIMIT = 2 };

static atomic_int claims_made, jobs_done, race_over;
static atomic_int racer_errors;
static const char *racer_isolation; /* session default of the racers */

/* Claims with the limit, holds each job a moment, completes it. */
static void *racer(void *arg)
{
    const char *qm = arg;
    pgq_client *c = tdb_client(NULL);
    if (racer_isolation) {
        char sql[96];
        snprintf(sql, sizeof sql, "SET default_transaction_isolation = '%s'",
                 racer_isolation);
        PQclear(PQexec(pgq_client_conn(c), sql));
    }
    pgq_claim_entrypoint ep = {.entrypoint = "race", .concurrency_limit = LIMIT};
    pgq_claim_opts o = {.queue_manager_id = qm, .batch_size = 3};
    unsigned seed = (unsigned)qm[35];
    while (!atomic_load(&race_over)) {
        pgq_job_set set;
        if (pgq_claim(c, &ep, 1, &o, &set) != PGQ_OK) {
            atomic_fetch_add(&racer_errors, 1);
            break;
        }
        atomic_fetch_add(&claims_made, 1);
        for (size_t i = 0; i < set.count; i++) {
            usleep(rand_r(&seed) % 1000);
            pgq_outcome out = {.job_id = set.jobs[i].id, .status = PGQ_SUCCESSFUL};
            size_t resolved = 0;
            if (pgq_complete(c, qm, &out, 1, &resolved) != PGQ_OK || resolved != 1)
                atomic_fetch_add(&racer_errors, 1);
            atomic_fetch_add(&jobs_done, 1);
        }
        pgq_job_set_free(&set);
    }
    pgq_client_free(c);
    return NULL;
}

/* A second witness inside the database: after every statement that picks,
 * count the picked rows as the claiming transaction sees them (its own
 * picks plus everything committed), and keep any count over the limit. */
static void install_witness(void)
{
    tdb_exec("DROP TABLE IF EXISTS over_limit");
    tdb_exec(
        "CREATE TABLE over_limit (n bigint, at timestamptz DEFAULT clock_timestamp())");
    tdb_exec(
        "CREATE OR REPLACE FUNCTION check_limit() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "DECLARE n bigint; BEGIN SELECT count(*) INTO n FROM pgqueuer "
        "WHERE status = 'picked' AND entrypoint = 'race'; "
        "IF n > %d THEN INSERT INTO over_limit (n) VALUES (n); END IF; "
        "RETURN NULL; END $$",
        LIMIT);
    tdb_exec("CREATE TRIGGER check_limit AFTER UPDATE ON pgqueuer "
             "FOR EACH STATEMENT EXECUTE FUNCTION check_limit()");
}

/* Eight claimers, each its own client, race for `jobs` jobs under a limit
 * of 2 while the monitor samples the picked rows from its own connection. */
static void race(int jobs, const char *isolation)
{
    pgq_client *c = tdb_fresh();
    install_witness();
    pgq_bulk *b = NULL;
    CHECK_OK(c, pgq_bulk_begin(c, &b));
    for (int i = 0; i < jobs; i++) {
        pgq_new_job j = {.entrypoint = "race", .priority = i % 4};
        CHECK_OK(c, pgq_bulk_add(b, &j));
    }
    CHECK_OK(c, pgq_bulk_finish(b, NULL));
    racer_isolation = isolation;
    static char qms[RACERS][40];
    pthread_t th[RACERS];
    double t0 = th_now();
    for (int i = 0; i < RACERS; i++) {
        snprintf(qms[i], sizeof qms[i], "00000000-0000-4000-8000-%012d", i + 1);
        pthread_create(&th[i], NULL, racer, qms[i]);
    }
    long long max_seen = 0, samples = 0;
    while (atomic_load(&jobs_done) < jobs && th_now() - t0 < 100 &&
           !atomic_load(&racer_errors)) {
        long long n = tdb_int("SELECT count(*) FROM pgqueuer WHERE status = 'picked'");
        max_seen = n > max_seen ? n : max_seen;
        samples++;
    }
    atomic_store(&race_over, 1);
    for (int i = 0; i < RACERS; i++)
        pthread_join(th[i], NULL);
    printf("# %d claims by %d racers, %d jobs in %.1f s; monitor: %lld samples, "
           "at most %lld picked\n",
           atomic_load(&claims_made), RACERS, atomic_load(&jobs_done), th_now() - t0,
           samples, max_seen);
    CHECK_INT(atomic_load(&racer_errors), 0);
    CHECK_INT(atomic_load(&jobs_done), jobs);
    CHECKF(max_seen <= LIMIT, "the monitor saw %lld picked rows", max_seen);
    CHECK_INT(max_seen, LIMIT); /* the limit was reached, so it was tested */
    CHECK_INT(tdb_int("SELECT count(*) FROM over_limit"), 0);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer_log WHERE status = 'successful'"),
              jobs);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer"), 0);
    CHECK(atomic_load(&claims_made) >= jobs / 3);
    pgq_client_free(c);
}

TEST(eight_racers_never_exceed_the_limit)
{
    race(3000, NULL);
}

/* The lock only works if the claim's snapshot follows it; a session that
 * defaults to REPEATABLE READ must not break the limit. */
TEST(racers_defaulting_to_repeatable_read)
{
    race(1000, "repeatable read");
}

TEST(claim_inside_callers_transaction)
{
    pgq_client *c = tdb_fresh();
    enqueue_n(c, "t", 3, 0);
    PGconn *conn = pgq_client_conn(c);
    PQclear(PQexec(conn, "BEGIN"));
    pgq_claim_entrypoint ep = {.entrypoint = "t", .concurrency_limit = 2};
    pgq_job_set set;
    CHECK_INT(claim(c, &ep, 1, QM1, 10, &set), 2);
    pgq_job_set_free(&set);
    CHECK_INT(PQtransactionStatus(conn), PQTRANS_INTRANS);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer WHERE status = 'picked'"), 0);
    PQclear(PQexec(conn, "ROLLBACK"));
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer WHERE status = 'queued'"), 3);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer_log WHERE status = 'picked'"), 0);
    /* After a failed claim the connection is usable (no transaction left). */
    pgq_claim_opts bad = {.queue_manager_id = "nope", .batch_size = 1};
    CHECK_INT(pgq_claim(c, &ep, 1, &bad, &set), PGQ_ESQL);
    CHECK_INT(PQtransactionStatus(conn), PQTRANS_IDLE);
    CHECK_INT(claim(c, &ep, 1, QM1, 10, &set), 2);
    pgq_job_set_free(&set);
    pgq_client_free(c);
}

/* The witnesses above can fail: run claim.sql alone, without the advisory
 * lock statement before it (which is what PgQueuer does), from several
 * connections at once, and they see the limit exceeded. */
static char *unlocked_sql;

static void *unlocked_racer(void *arg)
{
    const char *qm = arg;
    PGconn *conn = PQconnectdb("");
    const char *values[7] = {"3", "{race}", "{30}", "{2}", "{0}", qm, "3"};
    PQclear(PQprepare(conn, "claim", unlocked_sql, 0, NULL));
    while (!atomic_load(&race_over) && PQstatus(conn) == CONNECTION_OK) {
        PQclear(PQexecPrepared(conn, "claim", 7, values, NULL, NULL, 0));
        usleep(2000);
        const char *p[1] = {qm};
        PQclear(PQexecParams(conn,
                             "UPDATE pgqueuer SET status = 'queued', "
                             "queue_manager_id = NULL WHERE queue_manager_id = $1",
                             1, NULL, p, NULL, NULL, 0));
    }
    PQfinish(conn);
    return NULL;
}

TEST(witnesses_catch_an_unlocked_race)
{
    pgq_client *c = tdb_fresh();
    enqueue_n(c, "race", 40, 0);
    pgq_config cfg = {0};
    pgq__names names;
    char err[128];
    CHECK(pgq__names_init(&names, &cfg, err, sizeof err) == PGQ_OK);
    /* The 1.3-shape claim: with slots, the unique index stops the race. */
    char *noslot = pgq__shape_filter(pgq__sql_claim, PGQ__SHAPE_KNOWN);
    unlocked_sql = pgq__render(&names, noslot);
    free(noslot);
    static char qms[RACERS][40];
    pthread_t th[RACERS];
    for (int i = 0; i < RACERS; i++) {
        snprintf(qms[i], sizeof qms[i], "00000000-0000-4000-8000-%012d", i + 1);
        pthread_create(&th[i], NULL, unlocked_racer, qms[i]);
    }
    long long max_seen = 0;
    double t0 = th_now();
    while (max_seen <= LIMIT && th_now() - t0 < 60) {
        long long n = tdb_int("SELECT count(*) FROM pgqueuer WHERE status = 'picked'");
        max_seen = n > max_seen ? n : max_seen;
    }
    atomic_store(&race_over, 1);
    for (int i = 0; i < RACERS; i++)
        pthread_join(th[i], NULL);
    printf("# without the lock the monitor saw %lld picked after %.2f s\n", max_seen,
           th_now() - t0);
    CHECKF(max_seen > LIMIT, "no race seen in 60 s (max %lld)", max_seen);
    free(unlocked_sql);
    pgq_client_free(c);
}

TEST(requests_per_second_across_two_clients)
{
    pgq_client *c = tdb_fresh();
    pgq_client *c2 = tdb_client(NULL);
    enqueue_n(c, "rate", 30, 0);
    pgq_claim_entrypoint ep = {.entrypoint = "rate", .requests_per_second = 5};
    pgq_job_set set;
    size_t got = claim(c, &ep, 1, QM1, 3, &set);
    pgq_job_set_free(&set);
    got += claim(c2, &ep, 1, QM2, 10, &set);
    pgq_job_set_free(&set);
    CHECK_INT(got, 5);
    CHECK_INT(claim(c, &ep, 1, QM1, 10, &set), 0);
    pgq_job_set_free(&set);
    /* Within the next second the budget refills; poll for it. */
    double t0 = th_now();
    size_t more = 0;
    while (more == 0 && th_now() - t0 < 5) {
        more = claim(c2, &ep, 1, QM2, 10, &set);
        pgq_job_set_free(&set);
        if (more == 0)
            usleep(20000);
    }
    CHECKF(more > 0 && more <= 5, "after %.2f s: %zu", th_now() - t0, more);
    /* Over a few seconds the fleet's rate stays at 5 per second. */
    t0 = th_now();
    size_t total = 5 + more;
    while (th_now() - t0 < 2.5) {
        total += claim(more % 2 ? c : c2, &ep, 1, more % 2 ? QM1 : QM2, 10, &set);
        more++;
        pgq_job_set_free(&set);
        usleep(20000);
    }
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer WHERE status = 'picked'"), total);
    CHECKF(total >= 15 && total <= 30, "%zu picks in about 3.5 s at 5/s", total);
    CHECK_INT(
        tdb_int("SELECT max(n) FROM (SELECT count(*) AS n FROM pgqueuer_log a "
                "JOIN pgqueuer_log b ON b.status = 'picked' AND b.created >= a.created "
                "AND b.created < a.created + interval '1 s' WHERE a.status = 'picked' "
                "GROUP BY a.id) s") <= 5,
        1);
    pgq_client_free(c);
    pgq_client_free(c2);
}

int main(int argc, char **argv)
{
    static const th_case cases[] = {
        CASE(priority_then_id_order),
        CASE(execute_after_and_entrypoints),
        CASE(bad_arguments_refused),
        CASE(concurrency_limit_counts_every_worker),
        CASE(stale_job_taken_over_even_when_limit_full),
        CASE(poison_job_held_after_max_takeovers),
        CASE(eight_racers_never_exceed_the_limit),
        CASE(racers_defaulting_to_repeatable_read),
        CASE(claim_inside_callers_transaction),
        CASE(witnesses_catch_an_unlocked_race),
        CASE(requests_per_second_across_two_clients),
    };
    return th_main(cases, sizeof cases / sizeof cases[0], argc, argv);
}
