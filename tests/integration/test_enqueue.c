/* test_enqueue.c: pgq_enqueue and the bulk path against a real database. */
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "harness.h"

TEST(ids_in_input_order_with_log_rows)
{
    pgq_client *c = tdb_fresh();
    pgq_new_job jobs[5] = {
        {.entrypoint = "e0", .priority = 3}, {.entrypoint = "e1", .priority = -2},
        {.entrypoint = "e2", .priority = 7}, {.entrypoint = "e3"},
        {.entrypoint = "e4", .priority = 3},
    };
    int64_t ids[5] = {0};
    CHECK_OK(c, pgq_enqueue(c, jobs, 5, PGQ_CONFLICT_RAISE, ids));
    for (int i = 0; i < 5; i++) {
        CHECKF(ids[i] > 0 && (i == 0 || ids[i] > ids[i - 1]), "ids[%d] = %lld", i,
               (long long)ids[i]);
        char *ep =
            tdb_str("SELECT entrypoint FROM pgqueuer WHERE id = %lld", (long long)ids[i]);
        CHECK_STR(ep, jobs[i].entrypoint);
        free(ep);
        CHECK_INT(
            tdb_int("SELECT priority FROM pgqueuer WHERE id = %lld", (long long)ids[i]),
            jobs[i].priority);
        CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer_log WHERE job_id = %lld AND "
                          "status = 'queued' AND priority = %d AND entrypoint = 'e%d' "
                          "AND traceback IS NULL",
                          (long long)ids[i], jobs[i].priority, i),
                  1);
    }
    CHECK_INT(
        tdb_int("SELECT count(*) FROM pgqueuer WHERE status = 'queued' AND attempts = 0 "
                "AND queue_manager_id IS NULL AND dedupe_key IS NULL"),
        5);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer_log"), 5);
    /* ids may be NULL, and an empty batch changes nothing. */
    CHECK_OK(c, pgq_enqueue(c, jobs, 1, PGQ_CONFLICT_RAISE, NULL));
    CHECK_OK(c, pgq_enqueue(c, jobs, 0, PGQ_CONFLICT_RAISE, NULL));
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer"), 6);
    pgq_client_free(c);
}

TEST(execute_after_is_now_plus_delay)
{
    pgq_client *c = tdb_fresh();
    pgq_new_job jobs[3] = {{.entrypoint = "a"},
                           {.entrypoint = "a", .delay = 3600},
                           {.entrypoint = "a", .delay = 0.25}};
    int64_t ids[3];
    CHECK_OK(c, pgq_enqueue(c, jobs, 3, PGQ_CONFLICT_RAISE, ids));
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer WHERE id = %lld AND "
                      "execute_after = created",
                      (long long)ids[0]),
              1);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer WHERE id = %lld AND "
                      "execute_after = created + interval '1 hour'",
                      (long long)ids[1]),
              1);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer WHERE id = %lld AND "
                      "execute_after = created + interval '250 ms'",
                      (long long)ids[2]),
              1);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer WHERE abs(extract(epoch FROM "
                      "created - now())) < 60"),
              3);
    pgq_client_free(c);
}

TEST(dedupe_raise_inserts_nothing)
{
    pgq_client *c = tdb_fresh();
    pgq_new_job first = {.entrypoint = "mail", .dedupe_key = "user-42"};
    CHECK_OK(c, pgq_enqueue(c, &first, 1, PGQ_CONFLICT_RAISE, NULL));
    pgq_new_job batch[3] = {{.entrypoint = "mail", .dedupe_key = "user-1"},
                            {.entrypoint = "mail", .dedupe_key = "user-42"},
                            {.entrypoint = "mail"}};
    int64_t ids[3] = {-1, -1, -1};
    int rc = pgq_enqueue(c, batch, 3, PGQ_CONFLICT_RAISE, ids);
    CHECKF(rc == PGQ_EDEDUPE, "rc %s: %s", pgq_err_name(rc), pgq_client_errmsg(c));
    CHECKF(strstr(pgq_client_errmsg(c), "user-42") != NULL, "message: %s",
           pgq_client_errmsg(c));
    CHECK_STR(pgq_client_sqlstate(c), "23505");
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer"), 1);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer_log"), 1);
    /* The same key twice inside one batch conflicts too. */
    pgq_new_job twice[2] = {{.entrypoint = "m", .dedupe_key = "k"},
                            {.entrypoint = "m", .dedupe_key = "k"}};
    CHECK_INT(pgq_enqueue(c, twice, 2, PGQ_CONFLICT_RAISE, NULL), PGQ_EDEDUPE);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer"), 1);
    /* A held (failed) job does not hold its key: only queued/picked do. */
    tdb_exec("UPDATE pgqueuer SET status = 'failed'");
    CHECK_OK(c, pgq_enqueue(c, &first, 1, PGQ_CONFLICT_RAISE, NULL));
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer WHERE dedupe_key = 'user-42'"), 2);
    pgq_client_free(c);
}

TEST(dedupe_skip_reports_positions)
{
    pgq_client *c = tdb_fresh();
    pgq_new_job first = {.entrypoint = "mail", .dedupe_key = "a"};
    CHECK_OK(c, pgq_enqueue(c, &first, 1, PGQ_CONFLICT_SKIP, NULL));
    pgq_new_job batch[4] = {{.entrypoint = "mail", .dedupe_key = "a"},
                            {.entrypoint = "mail", .dedupe_key = "b"},
                            {.entrypoint = "mail", .dedupe_key = "b"},
                            {.entrypoint = "mail"}};
    int64_t ids[4] = {-1, -1, -1, -1};
    CHECK_OK(c, pgq_enqueue(c, batch, 4, PGQ_CONFLICT_SKIP, ids));
    CHECK_INT(ids[0], 0);
    CHECK(ids[1] > 0);
    CHECK_INT(ids[2], 0);
    CHECK(ids[3] > ids[1]);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer"), 3);
    CHECK_INT(
        tdb_int("SELECT count(*) FROM pgqueuer WHERE id = %lld AND dedupe_key = 'b'",
                (long long)ids[1]),
        1);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer_log"), 3);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer_log WHERE job_id IN (%lld, %lld)",
                      (long long)ids[1], (long long)ids[3]),
              2);
    /* A picked job still holds its key. */
    tdb_exec("UPDATE pgqueuer SET status = 'picked' WHERE dedupe_key = 'a'");
    CHECK_OK(c, pgq_enqueue(c, &first, 1, PGQ_CONFLICT_SKIP, ids));
    CHECK_INT(ids[0], 0);
    pgq_client_free(c);
}

TEST(headers_are_json)
{
    pgq_client *c = tdb_fresh();
    pgq_new_job jobs[3] = {
        {.entrypoint = "h", .headers = "{\"trace\": \"abc\", \"n\": \"1\"}"},
        {.entrypoint = "h"},
        {.entrypoint = "h", .headers = "null"},
    };
    int64_t ids[3];
    CHECK_OK(c, pgq_enqueue(c, jobs, 3, PGQ_CONFLICT_RAISE, ids));
    char *v = tdb_str("SELECT headers->>'trace' FROM pgqueuer WHERE id = %lld",
                      (long long)ids[0]);
    CHECK_STR(v, "abc");
    free(v);
    v = tdb_str("SELECT jsonb_typeof(headers) FROM pgqueuer WHERE id = %lld",
                (long long)ids[0]);
    CHECK_STR(v, "object");
    free(v);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer WHERE id = %lld AND headers IS NULL",
                      (long long)ids[1]),
              1);
    v = tdb_str("SELECT jsonb_typeof(headers) FROM pgqueuer WHERE id = %lld",
                (long long)ids[2]);
    CHECK_STR(v, "null");
    free(v);
    /* Not an object, or not JSON: refused before anything is sent. */
    const char *bad[] = {"[1,2]", "\"x\"", "{\"a\":", "not json"};
    for (size_t i = 0; i < 4; i++) {
        pgq_new_job j[2] = {{.entrypoint = "h"}, {.entrypoint = "h", .headers = bad[i]}};
        int rc = pgq_enqueue(c, j, 2, PGQ_CONFLICT_RAISE, NULL);
        CHECKF(rc == PGQ_EINVAL, "headers %s: %s", bad[i], pgq_err_name(rc));
        CHECKF(strstr(pgq_client_errmsg(c), "job 1") != NULL, "%s", pgq_client_errmsg(c));
    }
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer"), 3);
    pgq_client_free(c);
}

/* JSON numbers beyond int64 are valid headers, as jsonb stores them: both
 * enqueue paths take them (they were refused as "not a JSON object" until
 * tests/fuzz/fuzz_headers compared the check with the JSON grammar). */
TEST(headers_with_big_numbers)
{
    pgq_client *c = tdb_fresh();
    const char *h =
        "{\"trace\": 123456789012345678901234567890, \"neg\": -99999999999999999999}";
    pgq_new_job job = {.entrypoint = "big", .headers = h};
    int64_t id;
    CHECK_OK(c, pgq_enqueue(c, &job, 1, PGQ_CONFLICT_RAISE, &id));
    char *v =
        tdb_str("SELECT headers->>'trace' FROM pgqueuer WHERE id = %lld", (long long)id);
    CHECK_STR(v, "123456789012345678901234567890");
    free(v);
    pgq_bulk *b = NULL;
    uint64_t count = 0;
    CHECK_OK(c, pgq_bulk_begin(c, &b));
    CHECK_OK(c, pgq_bulk_add(b, &job));
    CHECK_OK(c, pgq_bulk_finish(b, &count));
    CHECK_INT(count, 1);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer WHERE headers->>'neg' = "
                      "'-99999999999999999999'"),
              2);
    pgq_client_free(c);
}

TEST(payload_bytes_round_trip)
{
    pgq_client *c = tdb_fresh();
    unsigned char bytes[256];
    for (int i = 0; i < 256; i++)
        bytes[i] = (unsigned char)(255 - i); /* 0xff first, NUL last */
    const unsigned char mixed[] = {'a', 0, 'b', 0xff, 0xfe, 0xc3, 0x28, 0};
    pgq_new_job jobs[4] = {
        {.entrypoint = "p", .payload = bytes, .payload_len = sizeof bytes},
        {.entrypoint = "p", .payload = mixed, .payload_len = sizeof mixed},
        {.entrypoint = "p"},
        {.entrypoint = "p", .payload = "", .payload_len = 0},
    };
    int64_t ids[4];
    CHECK_OK(c, pgq_enqueue(c, jobs, 4, PGQ_CONFLICT_RAISE, ids));
    CHECK_INT(tdb_int("SELECT length(payload) FROM pgqueuer WHERE id = %lld",
                      (long long)ids[0]),
              256);
    char *hex = tdb_str("SELECT encode(payload, 'hex') FROM pgqueuer WHERE id = %lld",
                        (long long)ids[1]);
    CHECK_STR(hex, "610062fffec32800");
    free(hex);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer WHERE id = %lld AND payload IS NULL",
                      (long long)ids[2]),
              1);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer WHERE id = %lld AND payload = ''",
                      (long long)ids[3]),
              1);
    /* Back through a claim, byte for byte. */
    pgq_claim_entrypoint ep = {.entrypoint = "p"};
    pgq_claim_opts o = {.queue_manager_id = "00000000-0000-4000-8000-000000000001",
                        .batch_size = 10};
    pgq_job_set set;
    CHECK_OK(c, pgq_claim(c, &ep, 1, &o, &set));
    CHECK_INT(set.count, 4);
    CHECK_INT(set.jobs[0].payload_len, 256);
    CHECK(memcmp(set.jobs[0].payload, bytes, 256) == 0);
    CHECK_INT(set.jobs[1].payload_len, sizeof mixed);
    CHECK(memcmp(set.jobs[1].payload, mixed, sizeof mixed) == 0);
    CHECK(set.jobs[2].payload == NULL);
    CHECK(set.jobs[3].payload != NULL && set.jobs[3].payload_len == 0);
    pgq_job_set_free(&set);
    pgq_client_free(c);
}

TEST(bad_jobs_refused_before_sending)
{
    pgq_client *c = tdb_fresh();
    pgq_new_job cases[][2] = {
        {{.entrypoint = "ok"}, {.entrypoint = ""}},
        {{.entrypoint = "ok"}, {.entrypoint = NULL}},
        {{.entrypoint = "ok"}, {.entrypoint = "x", .delay = -1}},
        {{.entrypoint = "ok"}, {.entrypoint = "x", .payload = NULL, .payload_len = 3}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = pgq_enqueue(c, cases[i], 2, PGQ_CONFLICT_RAISE, NULL);
        CHECKF(rc == PGQ_EINVAL, "case %zu: %s", i, pgq_err_name(rc));
    }
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer"), 0);
    /* A value the server refuses (not UTF-8 text) fails the whole batch. */
    pgq_new_job bad[2] = {{.entrypoint = "ok"}, {.entrypoint = "\xff\xfe"}};
    CHECK_INT(pgq_enqueue(c, bad, 2, PGQ_CONFLICT_RAISE, NULL), PGQ_ESQL);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer"), 0);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer_log"), 0);
    pgq_client_free(c);
}

TEST(prefix_and_schema_names)
{
    tdb_exec("DROP SCHEMA IF EXISTS jobs CASCADE");
    pgq_config cfg = {.prefix = "app_", .schema = "jobs"};
    pgq_client *c = NULL;
    CHECK_INT(pgq_client_open(&c, &cfg), PGQ_OK);
    pgq_sql_opts so = {0};
    CHECK_OK(c, pgq_install(c, &so));
    pgq_new_job j = {.entrypoint = "x", .dedupe_key = "d"};
    int64_t id = 0;
    CHECK_OK(c, pgq_enqueue(c, &j, 1, PGQ_CONFLICT_SKIP, &id));
    CHECK(id > 0);
    CHECK_OK(c, pgq_enqueue(c, &j, 1, PGQ_CONFLICT_SKIP, &id));
    CHECK_INT(id, 0);
    CHECK_INT(pgq_enqueue(c, &j, 1, PGQ_CONFLICT_RAISE, &id), PGQ_EDEDUPE);
    CHECK_INT(tdb_int("SELECT count(*) FROM jobs.app_pgqueuer"), 1);
    CHECK_INT(tdb_int("SELECT count(*) FROM jobs.app_pgqueuer_log"), 1);
    pgq_client_free(c);
}

TEST(bulk_streams_in_one_transaction)
{
    pgq_client *c = tdb_fresh();
    pgq_bulk *b = NULL;
    CHECK_OK(c, pgq_bulk_begin(c, &b));
    char payload[32];
    enum { N = 12345 };
    for (int i = 0; i < N; i++) {
        int len = snprintf(payload, sizeof payload, "%d", i);
        pgq_new_job j = {.entrypoint = i % 2 ? "odd" : "even",
                         .payload = payload,
                         .payload_len = (size_t)len,
                         .priority = i % 3,
                         .headers = i % 100 ? NULL : "{\"k\": \"v\"}"};
        CHECK_OK(c, pgq_bulk_add(b, &j));
        if (i == 6000) /* not visible to others before finish */
            CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer"), 0);
    }
    uint64_t count = 0;
    CHECK_OK(c, pgq_bulk_finish(b, &count));
    CHECK_INT(count, N);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer"), N);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer_log WHERE status = 'queued'"), N);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer WHERE headers->>'k' = 'v'"),
              N / 100 + 1);
    /* Input order is id order. */
    CHECK_INT(
        tdb_int("SELECT count(*) FROM (SELECT convert_from(payload, 'UTF8')::int AS n, "
                "row_number() OVER (ORDER BY id) - 1 AS r FROM pgqueuer) s "
                "WHERE n <> r"),
        0);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer WHERE entrypoint = 'odd' AND "
                      "convert_from(payload, 'UTF8')::int %% 2 = 0"),
              0);
    pgq_client_free(c);
}

TEST(bulk_abort_and_failure_leave_nothing)
{
    pgq_client *c = tdb_fresh();
    pgq_bulk *b = NULL;
    pgq_new_job j = {.entrypoint = "x", .payload = "p", .payload_len = 1};
    CHECK_OK(c, pgq_bulk_begin(c, &b));
    for (int i = 0; i < 7000; i++)
        CHECK_OK(c, pgq_bulk_add(b, &j));
    pgq_bulk_abort(b);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer"), 0);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer_log"), 0);

    /* Refused rows change nothing and the bulk goes on. */
    CHECK_OK(c, pgq_bulk_begin(c, &b));
    pgq_new_job dd = {.entrypoint = "x", .dedupe_key = "k"};
    CHECK_INT(pgq_bulk_add(b, &dd), PGQ_EINVAL);
    pgq_new_job empty = {.entrypoint = ""};
    CHECK_INT(pgq_bulk_add(b, &empty), PGQ_EINVAL);
    CHECK_OK(c, pgq_bulk_add(b, &j));
    uint64_t count = 99;
    CHECK_OK(c, pgq_bulk_finish(b, &count));
    CHECK_INT(count, 1);

    /* A chunk the server refuses poisons the bulk: finish rolls back. */
    CHECK_OK(c, pgq_bulk_begin(c, &b));
    for (int i = 0; i < 6000; i++)
        CHECK_OK(c, pgq_bulk_add(b, &j));
    pgq_new_job bad = {.entrypoint = "\xff"};
    int rc = PGQ_OK;
    for (int i = 0; i < 6000 && rc == PGQ_OK; i++)
        rc = pgq_bulk_add(b, i == 100 ? &bad : &j);
    CHECKF(rc == PGQ_ESQL, "%s", pgq_err_name(rc));
    CHECK_INT(pgq_bulk_add(b, &j), PGQ_ESTATE);
    CHECK_INT(pgq_bulk_finish(b, &count), PGQ_ESQL);
    CHECK_INT(count, 0);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer"), 1);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer_log"), 1);
    /* The connection is usable again. */
    CHECK_OK(c, pgq_enqueue(c, &j, 1, PGQ_CONFLICT_RAISE, NULL));
    pgq_client_free(c);
}

TEST(bulk_inside_callers_transaction)
{
    pgq_client *c = tdb_fresh();
    PGconn *conn = pgq_client_conn(c);
    PQclear(PQexec(conn, "BEGIN"));
    pgq_bulk *b = NULL;
    pgq_new_job j = {.entrypoint = "x"};
    CHECK_OK(c, pgq_bulk_begin(c, &b));
    CHECK_OK(c, pgq_bulk_add(b, &j));
    CHECK_OK(c, pgq_bulk_finish(b, NULL));
    CHECK_OK(c, pgq_bulk_begin(c, &b));
    CHECK_OK(c, pgq_bulk_add(b, &j));
    pgq_bulk_abort(b);
    CHECK_INT(PQtransactionStatus(conn), PQTRANS_INTRANS);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer"), 0); /* not committed yet */
    PQclear(PQexec(conn, "COMMIT"));
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer"), 1);
    pgq_client_free(c);
}

/* The acceptance size: a million jobs through the bulk path, with the rate
 * reported and the memory growth bounded (nothing held but one chunk). */
TEST(bulk_million_rate)
{
    pgq_client *c = tdb_fresh();
    struct rusage before, after;
    getrusage(RUSAGE_SELF, &before);
    pgq_bulk *b = NULL;
    char payload[64];
    double t0 = th_now();
    CHECK_OK(c, pgq_bulk_begin(c, &b));
    enum { N = 1000000 };
    for (int i = 0; i < N; i++) {
        int len =
            snprintf(payload, sizeof payload, "{\"n\": %d, \"pad\": \"xxxxxxxx\"}", i);
        pgq_new_job j = {
            .entrypoint = "bulk", .payload = payload, .payload_len = (size_t)len};
        CHECK_OK(c, pgq_bulk_add(b, &j));
    }
    uint64_t count = 0;
    CHECK_OK(c, pgq_bulk_finish(b, &count));
    double secs = th_now() - t0;
    getrusage(RUSAGE_SELF, &after);
    CHECK_INT(count, N);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer"), N);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer_log"), N);
    long grown_kb = after.ru_maxrss - before.ru_maxrss;
    double cpu = (double)(after.ru_utime.tv_sec - before.ru_utime.tv_sec) +
                 (double)(after.ru_stime.tv_sec - before.ru_stime.tv_sec) +
                 (after.ru_utime.tv_usec - before.ru_utime.tv_usec) / 1e6 +
                 (after.ru_stime.tv_usec - before.ru_stime.tv_usec) / 1e6;
    printf("# bulk enqueue: %d jobs in %.2f s = %.0f jobs/s (client CPU %.2f s, max RSS "
           "grew %ld KiB)\n",
           N, secs, N / secs, cpu, grown_kb);
    CHECKF(grown_kb < 64 * 1024, "memory grew by %ld KiB", grown_kb);
    pgq_client_free(c);
}

int main(int argc, char **argv)
{
    static const th_case cases[] = {
        CASE(ids_in_input_order_with_log_rows),
        CASE(execute_after_is_now_plus_delay),
        CASE(dedupe_raise_inserts_nothing),
        CASE(dedupe_skip_reports_positions),
        CASE(headers_are_json),
        CASE(headers_with_big_numbers),
        CASE(payload_bytes_round_trip),
        CASE(bad_jobs_refused_before_sending),
        CASE(prefix_and_schema_names),
        CASE(bulk_streams_in_one_transaction),
        CASE(bulk_abort_and_failure_leave_nothing),
        CASE(bulk_inside_callers_transaction),
        CASE(bulk_million_rate),
    };
    return th_main(cases, sizeof cases / sizeof cases[0], argc, argv);
}
