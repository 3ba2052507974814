/*
 * test_bulk.c: the COPY-based bulk enqueue (bulk.c) against a real database:
 * rows identical to pgq_enqueue's, log rows, chunk boundaries, wake-ups,
 * names, and the ways a bulk can end (abort with a COPY open, a refused
 * row, a caller's transaction). test_enqueue covers the basic contract.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <time.h>

#include "harness.h"

/* Bulk-enqueues n copies of job; the count must be n. */
static void bulk_n(pgq_client *c, const pgq_new_job *job, int n)
{
    pgq_bulk *b = NULL;
    CHECK_OK(c, pgq_bulk_begin(c, &b));
    for (int i = 0; i < n; i++)
        CHECK_OK(c, pgq_bulk_add(b, job));
    uint64_t count = 0;
    CHECK_OK(c, pgq_bulk_finish(b, &count));
    CHECK_INT(count, n);
}

/* Jobs of every shape: both paths must store them identically. */
static const unsigned char binary[] = {'a', 0, 0xff, 0xfe, '\n', 'z'};
static const pgq_new_job shapes[] = {
    {.entrypoint = "plain"},
    {.entrypoint = "empty payload", .payload = "", .payload_len = 0},
    {.entrypoint = "binary", .payload = binary, .payload_len = sizeof binary},
    {.entrypoint = "neg", .priority = -2147483647 - 1},
    {.entrypoint = "max", .priority = 2147483647},
    {.entrypoint = "delay", .delay = 1.5},
    {.entrypoint = "half us", .delay = 0.0000005},
    {.entrypoint = "odd us", .delay = 12345.6789015},
    {.entrypoint = "years", .delay = 86400.0 * 365 * 1000},
    {.entrypoint = "headers", .headers = "{\"a\": [1, 2], \"b\": {\"c\": null}}"},
    {.entrypoint = "null headers", .headers = "null"},
    {.entrypoint = "unicode ü \"q\"", .payload = "ü", .payload_len = 2},
};
enum { N_SHAPES = sizeof shapes / sizeof shapes[0] };

/* Everything but the id and timestamps, plus execute_after relative to
 * created (both the transaction's now()), for the n jobs from id `from`. */
static char *rows_from(long long from)
{
    return tdb_str("SELECT string_agg(concat_ws('|', priority, entrypoint, "
                   "encode(payload, 'hex'), payload IS NULL, headers, status, attempts, "
                   "dedupe_key IS NULL, queue_manager_id IS NULL, "
                   "extract(epoch FROM execute_after - created), created = updated AND "
                   "created = heartbeat), E'\\n' ORDER BY id) "
                   "FROM pgqueuer WHERE id >= %lld",
                   from);
}

TEST(rows_identical_to_pgq_enqueue)
{
    pgq_client *c = tdb_fresh();
    CHECK_OK(c, pgq_enqueue(c, shapes, N_SHAPES, PGQ_CONFLICT_RAISE, NULL));
    char *single = rows_from(0);
    long long next = tdb_int("SELECT max(id) + 1 FROM pgqueuer");
    pgq_bulk *b = NULL;
    CHECK_OK(c, pgq_bulk_begin(c, &b));
    for (int i = 0; i < N_SHAPES; i++)
        CHECK_OK(c, pgq_bulk_add(b, &shapes[i]));
    CHECK_OK(c, pgq_bulk_finish(b, NULL));
    char *bulk = rows_from(next);
    CHECK_STR(bulk, single);
    /* The half microsecond rounds to even (0), as make_interval rounds. */
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer WHERE entrypoint = 'half us' AND "
                      "execute_after = created"),
              2);
    free(single);
    free(bulk);
    pgq_client_free(c);
}

TEST(one_log_row_per_job_across_chunks)
{
    pgq_client *c = tdb_fresh();
    pgq_bulk *b = NULL;
    enum { N = 20000 }; /* several chunks, the last one partial */
    char payload[16];
    CHECK_OK(c, pgq_bulk_begin(c, &b));
    for (int i = 0; i < N; i++) {
        int len = snprintf(payload, sizeof payload, "%d", i);
        pgq_new_job j = {.entrypoint = i % 3 ? "a" : "bb",
                         .priority = i % 7 - 3,
                         .payload = payload,
                         .payload_len = (size_t)len};
        CHECK_OK(c, pgq_bulk_add(b, &j));
    }
    uint64_t count = 0;
    CHECK_OK(c, pgq_bulk_finish(b, &count));
    CHECK_INT(count, N);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer_log"), N);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer q JOIN pgqueuer_log l ON "
                      "l.job_id = q.id AND l.status = 'queued' AND l.priority = "
                      "q.priority AND l.entrypoint = q.entrypoint AND l.created = "
                      "q.created AND l.traceback IS NULL AND NOT l.aggregated"),
              N);
    /* Ids ascend in input order (the payload is the input position). */
    CHECK_INT(
        tdb_int("SELECT count(*) FROM (SELECT convert_from(payload, 'UTF8')::int "
                "AS n, row_number() OVER (ORDER BY id) - 1 AS r, priority, "
                "entrypoint FROM pgqueuer) s WHERE n <> r OR priority <> n %% 7 - 3 "
                "OR entrypoint <> CASE WHEN n %% 3 = 0 THEN 'bb' ELSE 'a' END"),
        0);
    pgq_client_free(c);
}

/* Waits up to 5 s for a notification on conn; its payload, malloc'd. */
static char *await_notify(PGconn *conn, double timeout)
{
    double t0 = th_now();
    do {
        PQconsumeInput(conn);
        PGnotify *n = PQnotifies(conn);
        if (n) {
            char *p = strdup(n->extra);
            PQfreemem(n);
            return p;
        }
        int fd = PQsocket(conn);
        fd_set fds;
        FD_ZERO(&fds);
        FD_SET(fd, &fds);
        struct timeval tv = {0, 50000};
        select(fd + 1, &fds, NULL, NULL, &tv);
    } while (th_now() - t0 < timeout);
    return NULL;
}

/* With a prefix and a schema: the tables and the channel are the
 * configured ones, and a listener hears one insert event at commit. */
TEST(prefix_schema_and_wake_up)
{
    tdb_exec("DROP SCHEMA IF EXISTS jobs CASCADE");
    pgq_config cfg = {.prefix = "app_", .schema = "jobs"};
    pgq_client *c = NULL;
    CHECK_INT(pgq_client_open(&c, &cfg), PGQ_OK);
    pgq_sql_opts so = {0};
    CHECK_OK(c, pgq_install(c, &so));
    PGconn *l = PQconnectdb("");
    CHECK(PQstatus(l) == CONNECTION_OK);
    PQclear(PQexec(l, "LISTEN app_ch_pgqueuer"));

    pgq_bulk *b = NULL;
    pgq_new_job j = {.entrypoint = "x", .payload = "p", .payload_len = 1};
    CHECK_OK(c, pgq_bulk_begin(c, &b));
    for (int i = 0; i < 3000; i++)
        CHECK_OK(c, pgq_bulk_add(b, &j));
    char *early = await_notify(l, 0.3);
    CHECKF(early == NULL, "notified before commit: %s", early);
    uint64_t count = 0;
    CHECK_OK(c, pgq_bulk_finish(b, &count));
    CHECK_INT(count, 3000);
    char *p = await_notify(l, 5);
    CHECKF(p != NULL, "no notification after the bulk committed");
    char *ok = tdb_str("SELECT j->>'channel' = 'app_ch_pgqueuer' AND j->>'operation' = "
                       "'insert' AND j->>'table' = 'app_pgqueuer' FROM (SELECT "
                       "$$%s$$::jsonb j) s",
                       p);
    CHECKF(ok && strcmp(ok, "t") == 0, "payload %s", p);
    free(ok);
    free(p);
    CHECK_INT(tdb_int("SELECT count(*) FROM jobs.app_pgqueuer"), 3000);
    CHECK_INT(tdb_int("SELECT count(*) FROM jobs.app_pgqueuer_log"), 3000);
    PQfinish(l);
    pgq_client_free(c);
}

/* An abort while a chunk's COPY is open ends the COPY: the connection goes
 * on working and nothing of the bulk remains. */
TEST(abort_with_copy_open)
{
    pgq_client *c = tdb_fresh();
    pgq_bulk *b = NULL;
    pgq_new_job j = {.entrypoint = "x"};
    CHECK_OK(c, pgq_bulk_begin(c, &b));
    for (int i = 0; i < 100; i++)
        CHECK_OK(c, pgq_bulk_add(b, &j));
    pgq_bulk_abort(b);
    CHECK_INT(PQtransactionStatus(pgq_client_conn(c)), PQTRANS_IDLE);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer"), 0);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer_log"), 0);
    CHECK_OK(c, pgq_enqueue(c, &j, 1, PGQ_CONFLICT_RAISE, NULL));
    bulk_n(c, &j, 10);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer"), 11);
    pgq_bulk_abort(NULL);
    pgq_client_free(c);
}

/* A row the server refuses fails its chunk when the chunk closes; finish
 * reports the server's message, rolls back, and the connection recovers. */
TEST(server_refusal_reported_by_finish)
{
    pgq_client *c = tdb_fresh();
    pgq_bulk *b = NULL;
    pgq_new_job j = {.entrypoint = "x"}, bad = {.entrypoint = "\xff"};
    CHECK_OK(c, pgq_bulk_begin(c, &b));
    CHECK_OK(c, pgq_bulk_add(b, &j));
    CHECK_OK(c, pgq_bulk_add(b, &bad)); /* not yet seen by the server */
    uint64_t count = 7;
    CHECK_INT(pgq_bulk_finish(b, &count), PGQ_ESQL);
    CHECK_INT(count, 0);
    CHECKF(strstr(pgq_client_errmsg(c), "invalid byte sequence"), "message: %s",
           pgq_client_errmsg(c));
    CHECK_STR(pgq_client_sqlstate(c), "22021");
    CHECK_INT(PQtransactionStatus(pgq_client_conn(c)), PQTRANS_IDLE);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer"), 0);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer_log"), 0);
    bulk_n(c, &j, 5);
    pgq_client_free(c);
}

/* Refused jobs (checked on the client) leave the open chunk intact. */
TEST(refused_jobs_leave_the_chunk_intact)
{
    pgq_client *c = tdb_fresh();
    pgq_bulk *b = NULL;
    pgq_new_job j = {.entrypoint = "x", .headers = "{\"k\": 1}"};
    pgq_new_job far = {.entrypoint = "x", .delay = 1e16};
    pgq_new_job array = {.entrypoint = "x", .headers = "[1]"};
    pgq_new_job broken = {.entrypoint = "x", .headers = "{\"k\": 1"};
    pgq_new_job other = {.entrypoint = "y", .headers = "{\"k\": 2}"};
    CHECK_OK(c, pgq_bulk_begin(c, &b));
    CHECK_INT(pgq_bulk_add(b, &far), PGQ_EINVAL); /* before any chunk */
    CHECK_OK(c, pgq_bulk_add(b, &j));
    CHECK_INT(pgq_bulk_add(b, &far), PGQ_EINVAL); /* inside a chunk */
    CHECK_INT(pgq_bulk_add(b, &array), PGQ_EINVAL);
    CHECK_OK(c, pgq_bulk_add(b, &j));
    CHECK_INT(pgq_bulk_add(b, &broken), PGQ_EINVAL);
    CHECK_OK(c, pgq_bulk_add(b, &other));
    CHECK_OK(c, pgq_bulk_add(b, &j));
    uint64_t count = 0;
    CHECK_OK(c, pgq_bulk_finish(b, &count));
    CHECK_INT(count, 4);
    char *h = tdb_str("SELECT string_agg(entrypoint || headers::text, ',' ORDER BY id) "
                      "FROM pgqueuer");
    CHECK_STR(h, "x{\"k\": 1},x{\"k\": 1},y{\"k\": 2},x{\"k\": 1}");
    free(h);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer_log"), 4);
    pgq_client_free(c);
}

/* Inside the caller's transaction: several chunks, then the caller rolls
 * back, and a failed bulk leaves the caller's own work in place. */
TEST(callers_transaction_decides)
{
    pgq_client *c = tdb_fresh();
    PGconn *conn = pgq_client_conn(c);
    pgq_new_job j = {.entrypoint = "x"}, bad = {.entrypoint = "\xff"};
    PQclear(PQexec(conn, "BEGIN"));
    bulk_n(c, &j, 10000);
    CHECK_INT(PQtransactionStatus(conn), PQTRANS_INTRANS);
    PQclear(PQexec(conn, "ROLLBACK"));
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer"), 0);

    PQclear(PQexec(conn, "BEGIN"));
    CHECK_OK(c, pgq_enqueue(c, &j, 1, PGQ_CONFLICT_RAISE, NULL));
    pgq_bulk *b = NULL;
    CHECK_OK(c, pgq_bulk_begin(c, &b));
    CHECK_OK(c, pgq_bulk_add(b, &j));
    CHECK_OK(c, pgq_bulk_add(b, &bad));
    CHECK_INT(pgq_bulk_finish(b, NULL), PGQ_ESQL);
    CHECK_INT(PQtransactionStatus(conn), PQTRANS_INTRANS);
    PQclear(PQexec(conn, "COMMIT"));
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer"), 1);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer_log"), 1);
    pgq_client_free(c);
}

/* An empty bulk sends nothing: no ids are reserved. */
TEST(empty_bulk_reserves_nothing)
{
    pgq_client *c = tdb_fresh();
    pgq_new_job j = {.entrypoint = "x"};
    int64_t before = 0, after = 0;
    CHECK_OK(c, pgq_enqueue(c, &j, 1, PGQ_CONFLICT_RAISE, &before));
    bulk_n(c, &j, 0);
    CHECK_OK(c, pgq_enqueue(c, &j, 1, PGQ_CONFLICT_RAISE, &after));
    CHECK_INT(after, before + 1);
    pgq_client_free(c);
}

int main(int argc, char **argv)
{
    static const th_case cases[] = {
        CASE(rows_identical_to_pgq_enqueue),
        CASE(one_log_row_per_job_across_chunks),
        CASE(prefix_schema_and_wake_up),
        CASE(abort_with_copy_open),
        CASE(server_refusal_reported_by_finish),
        CASE(refused_jobs_leave_the_chunk_intact),
        CASE(callers_transaction_decides),
        CASE(empty_bulk_reserves_nothing),
    };
    return th_main(cases, sizeof cases / sizeof cases[0], argc, argv);
}
