/* test_inspect.c: the operator operations against a real PostgreSQL: cancel
 * (rows, log, cancellation_event received by a LISTEN connection, split
 * payloads), clear, queue size, the statistics roll-up (counts, upsert,
 * concurrent callers, the advisory lock), job status, prune, and the reads
 * behind `pgq show`. Jobs are inserted with plain SQL so that these tests
 * depend only on the schema. */
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"

/* Inserts one job with plain SQL and returns its id. */
static int64_t job(const char *entrypoint, int priority, const char *status)
{
    return tdb_int("INSERT INTO pgqueuer (priority, status, entrypoint, payload) "
                   "VALUES (%d, '%s', '%s', 'x') RETURNING id",
                   priority, status, entrypoint);
}

/* Waits up to `seconds` for the next notification on conn (which must be
 * listening); returns it (free with PQfreemem) or NULL on timeout. */
static PGnotify *next_notify(PGconn *conn, double seconds)
{
    double deadline = th_now() + seconds;
    for (;;) {
        PQconsumeInput(conn);
        PGnotify *n = PQnotifies(conn);
        if (n)
            return n;
        double left = deadline - th_now();
        if (left <= 0)
            return NULL;
        struct pollfd p = {.fd = PQsocket(conn), .events = POLLIN};
        poll(&p, 1, (int)(left * 1000) + 1);
    }
}

/* The next cancellation_event payload (other event types are skipped). */
static json_t *next_cancellation(PGconn *conn, double seconds)
{
    PGnotify *n;
    while ((n = next_notify(conn, seconds)) != NULL) {
        json_t *v = json_loads(n->extra, 0, NULL);
        CHECKF(v, "notification is not JSON: %s", n->extra);
        CHECKF(strlen(n->extra) < 8000, "payload of %zu bytes", strlen(n->extra));
        PQfreemem(n);
        const char *type = json_string_value(json_object_get(v, "type"));
        if (type && strcmp(type, "cancellation_event") == 0)
            return v;
        json_decref(v);
    }
    return NULL;
}

static bool iso_utc(json_t *v)
{
    const char *s = json_string_value(v);
    return s && strlen(s) >= 20 && s[10] == 'T' && s[strlen(s) - 1] == 'Z';
}

TEST(cancel_deletes_any_status_logs_and_notifies)
{
    tdb_reset_schema();
    int64_t a = job("mail", 3, "queued"), b = job("mail", 0, "picked"),
            f = job("sms", 7, "failed");
    tdb_exec("LISTEN ch_pgqueuer");
    pgq_client *c = tdb_client(NULL);
    int64_t ids[] = {f, a, 999999, b, a};
    pgq_id_outcome *o = NULL;
    size_t n = 0;
    CHECK_OK(c, pgq_cancel(c, ids, 5, &o, &n));
    CHECK_INT(n, 4);
    CHECK_INT(o[0].id, a);
    CHECK_INT(o[0].result, PGQ_ID_DONE);
    CHECK_INT(o[1].id, b);
    CHECK_INT(o[1].status, PGQ_PICKED);
    CHECK_INT(o[2].id, f);
    CHECK_INT(o[2].result, PGQ_ID_DONE);
    CHECK_INT(o[3].id, 999999);
    CHECK_INT(o[3].result, PGQ_ID_NOT_FOUND);
    /* PgQueuer 2.3's shape: the picked job stays, its cancel requested in
     * the row, until its worker records the outcome. */
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer"), 1);
    CHECK_INT(
        tdb_int("SELECT count(*) FROM pgqueuer WHERE id = %lld AND status = 'picked' "
                "AND cancel_requested",
                (long long)b),
        1);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer_log WHERE status = 'canceled'"), 2);
    CHECK_INT(tdb_int("SELECT priority FROM pgqueuer_log WHERE job_id = %lld "
                      "AND status = 'canceled' AND entrypoint = 'sms'",
                      (long long)f),
              7);

    json_t *ev = next_cancellation(tdb(), 5);
    CHECKF(ev, "no cancellation_event received");
    CHECK_STR(json_string_value(json_object_get(ev, "channel")), "ch_pgqueuer");
    CHECK(iso_utc(json_object_get(ev, "sent_at")));
    CHECK(iso_utc(json_object_get(ev, "received_at")));
    json_t *got = json_object_get(ev, "ids");
    CHECK_INT(json_array_size(got), 3);
    CHECK_INT(json_integer_value(json_array_get(got, 0)), a);
    CHECK_INT(json_integer_value(json_array_get(got, 1)), b);
    CHECK_INT(json_integer_value(json_array_get(got, 2)), f);
    json_decref(ev);
    pgq_id_outcomes_free(o);
    pgq_client_free(c);
}

TEST(cancel_splits_large_notifications)
{
    tdb_reset_schema();
    /* Large ids make each element long, so the split really matters. */
    tdb_exec("SELECT setval('pgqueuer_id_seq', 1000000000000000000)");
    tdb_exec("INSERT INTO pgqueuer (priority, status, entrypoint) "
             "SELECT 0, 'queued', 'bulk' FROM generate_series(1, 1000)");
    PGresult *r = PQexec(tdb(), "SELECT id FROM pgqueuer ORDER BY id");
    int64_t ids[1000];
    for (int i = 0; i < 1000; i++)
        ids[i] = strtoll(PQgetvalue(r, i, 0), NULL, 10);
    PQclear(r);
    tdb_exec("LISTEN ch_pgqueuer");
    pgq_client *c = tdb_client(NULL);
    pgq_id_outcome *o = NULL;
    size_t n = 0;
    CHECK_OK(c, pgq_cancel(c, ids, 1000, &o, &n));
    CHECK_INT(n, 1000);
    size_t seen = 0, events = 0;
    json_t *ev;
    while (seen < 1000 && (ev = next_cancellation(tdb(), 5)) != NULL) {
        json_t *got = json_object_get(ev, "ids");
        for (size_t i = 0; i < json_array_size(got); i++)
            CHECK_INT(json_integer_value(json_array_get(got, i)), ids[seen + i]);
        seen += json_array_size(got);
        events++;
        json_decref(ev);
    }
    CHECK_INT(seen, 1000);
    CHECKF(events >= 3, "only %zu events", events);
    pgq_id_outcomes_free(o);
    pgq_client_free(c);
}

TEST(cancel_refuses_bad_ids)
{
    tdb_reset_schema();
    int64_t a = job("mail", 0, "queued");
    pgq_client *c = tdb_client(NULL);
    int64_t ids[] = {a, -4};
    pgq_id_outcome *o = NULL;
    size_t n = 0;
    CHECK_INT(pgq_cancel(c, ids, 2, &o, &n), PGQ_EINVAL);
    CHECK_INT(pgq_cancel(c, ids, 0, &o, &n), PGQ_EINVAL);
    CHECK(o == NULL);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer"), 1);
    pgq_client_free(c);
}

TEST(clear_by_entrypoint_and_all)
{
    tdb_reset_schema();
    job("a", 0, "queued");
    job("a", 5, "failed");
    int64_t running = job("a", 0, "picked");
    job("b", 0, "queued");
    job("c", 0, "queued");
    pgq_client *c = tdb_client(NULL);
    uint64_t deleted = 99;
    const char *eps[] = {"a", "c"};
    CHECK_OK(c, pgq_clear(c, eps, 2, &deleted));
    CHECK_INT(deleted, 3);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer_log WHERE status = 'deleted'"), 3);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer_log WHERE status = 'deleted' "
                      "AND entrypoint = 'a' AND priority = 5"),
              1);
    CHECK_INT(
        tdb_int("SELECT count(*) FROM pgqueuer WHERE id = %lld", (long long)running), 1);
    const char *empty[] = {""};
    CHECK_INT(pgq_clear(c, empty, 1, &deleted), PGQ_EINVAL);
    CHECK_OK(c, pgq_clear(c, NULL, 0, &deleted));
    CHECK_INT(deleted, 1);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer"), 1);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer_log WHERE status = 'deleted'"), 4);
    pgq_client_free(c);
}

TEST(queue_size_counts)
{
    tdb_reset_schema();
    job("a", 0, "queued");
    job("a", 0, "queued");
    job("a", 2, "queued");
    job("a", 0, "picked");
    job("b", 1, "failed");
    pgq_client *c = tdb_client(NULL);
    pgq_count_row *rows = NULL;
    size_t n = 0;
    CHECK_OK(c, pgq_queue_size(c, &rows, &n));
    CHECK_INT(n, 4);
    /* By entrypoint, priority descending, status in enum order. */
    CHECK_STR(rows[0].entrypoint, "a");
    CHECK_INT(rows[0].priority, 2);
    CHECK_INT(rows[1].status, PGQ_QUEUED);
    CHECK_INT(rows[1].count, 2);
    CHECK_INT(rows[2].status, PGQ_PICKED);
    CHECK_INT(rows[2].count, 1);
    CHECK_STR(rows[3].entrypoint, "b");
    CHECK_INT(rows[3].status, PGQ_FAILED);
    pgq_count_rows_free(rows, n);
    tdb_exec("DELETE FROM pgqueuer");
    CHECK_OK(c, pgq_queue_size(c, &rows, &n));
    CHECK_INT(n, 0);
    pgq_count_rows_free(rows, n);
    pgq_client_free(c);
}

/* The second the log rows of a case are placed relative to, read once per
 * case: later statements compare with it, not with their own now(), so a
 * case spanning a second boundary on a busy machine still finds its bucket. */
static long long base_s;

static void pin_base(void)
{
    base_s = tdb_int("SELECT extract(epoch FROM date_trunc('sec', now()))::bigint");
}

/* Adds k log rows for entrypoint/status at `ago` seconds before the pinned
 * second (plus a sub-second offset, same bucket). */
static void log_rows(int k, const char *ep, const char *status, int ago)
{
    tdb_exec("INSERT INTO pgqueuer_log (job_id, status, priority, entrypoint, created) "
             "SELECT g, '%s', 1, '%s', to_timestamp(%lld) - make_interval(secs => %d) "
             "+ g * interval '1 ms' FROM generate_series(1, %d) g",
             status, ep, base_s, ago, k);
}

static int64_t stat_count(const char *ep, const char *status, int ago)
{
    return tdb_int("SELECT coalesce(sum(count), 0) FROM pgqueuer_statistics WHERE "
                   "entrypoint = '%s' AND status = '%s' AND created = "
                   "to_timestamp(%lld) - make_interval(secs => %d)",
                   ep, status, base_s, ago);
}

TEST(log_statistics_rolls_up_and_upserts)
{
    tdb_reset_schema();
    pin_base();
    log_rows(3, "mail", "successful", 10);
    log_rows(2, "mail", "exception", 10);
    log_rows(4, "sms", "successful", 20);
    log_rows(6, "old", "successful", 3600);
    pgq_client *c = tdb_client(NULL);
    pgq_stat_row *rows = NULL;
    size_t n = 0;
    CHECK_OK(c, pgq_log_statistics(c, 600, &rows, &n));
    /* Newest first; the hour-old bucket is rolled up but not returned. */
    CHECK_INT(n, 3);
    CHECK_STR(rows[0].entrypoint, "mail");
    CHECK_INT(rows[0].status, PGQ_SUCCESSFUL);
    CHECK_INT(rows[0].count, 3);
    CHECK_INT(rows[0].priority, 1);
    CHECK_INT(rows[1].status, PGQ_EXCEPTION);
    CHECK_INT(rows[1].count, 2);
    CHECK_STR(rows[2].entrypoint, "sms");
    CHECK_INT(rows[2].count, 4);
    CHECKF(rows[0].created - rows[2].created == 10, "bucket gap %f",
           rows[0].created - rows[2].created);
    CHECKF((double)time(NULL) - rows[0].created >= 9 &&
               (double)time(NULL) - rows[0].created <= 13,
           "bucket at %f", rows[0].created);
    pgq_stat_rows_free(rows, n);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer_log WHERE NOT aggregated"), 0);
    CHECK_INT(stat_count("mail", "successful", 10), 3);
    CHECK_INT(stat_count("old", "successful", 3600), 6);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer_statistics"), 4);

    /* More rows for an existing bucket add to its count. */
    log_rows(5, "mail", "successful", 10);
    CHECK_OK(c, pgq_log_statistics(c, 0, &rows, &n));
    CHECK_INT(n, 4);
    CHECK_INT(rows[0].count, 8);
    CHECK_INT(rows[3].count, 6);
    pgq_stat_rows_free(rows, n);
    CHECK_INT(stat_count("mail", "successful", 10), 8);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer_statistics"), 4);
    CHECK_INT(pgq_log_statistics(c, -1, &rows, &n), PGQ_EINVAL);
    pgq_client_free(c);
}

TEST(log_statistics_skips_rollup_while_locked)
{
    tdb_reset_schema();
    pin_base();
    log_rows(3, "mail", "successful", 5);
    /* Another session holds the roll-up lock (PgQueuer's key: the table's
     * name as PgQueuer spells it): no waiting, no roll-up, but the counts
     * still include the pending log rows. */
    tdb_exec("BEGIN");
    tdb_exec("SELECT pg_advisory_xact_lock(hashtext('pgqueuer_statistics'))");
    pgq_client *c = tdb_client(NULL);
    pgq_stat_row *rows = NULL;
    size_t n = 0;
    CHECK_OK(c, pgq_log_statistics(c, 0, &rows, &n));
    CHECK_INT(n, 1);
    CHECK_INT(rows[0].count, 3);
    pgq_stat_rows_free(rows, n);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer_log WHERE NOT aggregated"), 3);
    tdb_exec("COMMIT");
    CHECK_OK(c, pgq_log_statistics(c, 0, &rows, &n));
    CHECK_INT(rows[0].count, 3);
    pgq_stat_rows_free(rows, n);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer_log WHERE NOT aggregated"), 0);
    CHECK_INT(stat_count("mail", "successful", 5), 3);
    pgq_client_free(c);
}

static void *rollup_repeatedly(void *arg)
{
    (void)arg;
    pgq_client *c = tdb_client(NULL);
    for (int i = 0; i < 20; i++) {
        pgq_stat_row *rows = NULL;
        size_t n = 0;
        if (pgq_log_statistics(c, 0, &rows, &n) != PGQ_OK)
            return (void *)1;
        pgq_stat_rows_free(rows, n);
    }
    pgq_client_free(c);
    return NULL;
}

TEST(log_statistics_concurrent_callers_count_once)
{
    tdb_reset_schema();
    pin_base();
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        CHECK(pthread_create(&t[i], NULL, rollup_repeatedly, NULL) == 0);
    /* Log rows keep arriving while four sessions roll up. */
    for (int k = 0; k < 20; k++)
        log_rows(500, "mail", "successful", k % 3);
    int failed = 0;
    for (int i = 0; i < 4; i++) {
        void *ret;
        pthread_join(t[i], &ret);
        failed += ret != NULL;
    }
    CHECK_INT(failed, 0);
    pgq_client *c = tdb_client(NULL);
    pgq_stat_row *rows = NULL;
    size_t n = 0;
    CHECK_OK(c, pgq_log_statistics(c, 0, &rows, &n));
    pgq_stat_rows_free(rows, n);
    CHECK_INT(tdb_int("SELECT sum(count) FROM pgqueuer_statistics"), 10000);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer_log WHERE NOT aggregated"), 0);
    pgq_client_free(c);
}

TEST(log_statistics_with_prefix)
{
    pgq_client *c = tdb_client("app_");
    CHECK_OK(c, pgq_uninstall(c));
    pgq_sql_opts so = {0};
    CHECK_OK(c, pgq_install(c, &so));
    tdb_exec("INSERT INTO app_pgqueuer_log (job_id, status, priority, entrypoint) "
             "VALUES (1, 'queued', 0, 'x'), (1, 'picked', 0, 'x')");
    pgq_stat_row *rows = NULL;
    size_t n = 0;
    CHECK_OK(c, pgq_log_statistics(c, 60, &rows, &n));
    CHECK_INT(n, 2);
    pgq_stat_rows_free(rows, n);
    CHECK_INT(tdb_int("SELECT sum(count) FROM app_pgqueuer_statistics"), 2);
    CHECK_OK(c, pgq_uninstall(c));
    pgq_client_free(c);
}

TEST(job_statuses_latest_log_row)
{
    tdb_reset_schema();
    tdb_exec("INSERT INTO pgqueuer_log (job_id, status, priority, entrypoint, created) "
             "VALUES (7, 'queued', 0, 'x', now() - interval '3 s'), "
             "(7, 'picked', 0, 'x', now() - interval '2 s'), "
             "(7, 'successful', 0, 'x', now() - interval '1 s'), "
             "(8, 'queued', 0, 'x', now())");
    pgq_client *c = tdb_client(NULL);
    int64_t ids[] = {9, 8, 7};
    pgq_id_outcome *o = NULL;
    size_t n = 0;
    CHECK_OK(c, pgq_job_statuses(c, ids, 3, &o, &n));
    CHECK_INT(n, 3);
    CHECK_INT(o[0].id, 7);
    CHECK_INT(o[0].result, PGQ_ID_DONE);
    CHECK_INT(o[0].status, PGQ_SUCCESSFUL);
    CHECK_INT(o[1].status, PGQ_QUEUED);
    CHECK_INT(o[2].id, 9);
    CHECK_INT(o[2].result, PGQ_ID_NOT_FOUND);
    pgq_id_outcomes_free(o);
    pgq_client_free(c);
}

TEST(prune_old_log_and_statistics)
{
    tdb_reset_schema();
    int64_t held = job("mail", 0, "failed");
    tdb_exec("INSERT INTO pgqueuer_log (job_id, status, priority, entrypoint, created) "
             "VALUES (100, 'successful', 0, 'x', now() - interval '3 days'), "
             "(101, 'exception', 0, 'x', now() - interval '2 days'), "
             "(102, 'successful', 0, 'x', now() - interval '1 hour'), "
             "(%lld, 'failed', 0, 'mail', now() - interval '5 days')",
             (long long)held);
    tdb_exec(
        "INSERT INTO pgqueuer_statistics (created, count, priority, status, entrypoint) "
        "VALUES (now() - interval '3 days', 5, 0, 'successful', 'x'), "
        "(now() - interval '1 hour', 5, 0, 'successful', 'x')");
    pgq_client *c = tdb_client(NULL);
    uint64_t logs = 0, stats = 0;
    CHECK_INT(pgq_prune(c, -1, &logs, &stats), PGQ_EINVAL);
    CHECK_OK(c, pgq_prune(c, 86400, &logs, &stats));
    CHECK_INT(logs, 2);
    CHECK_INT(stats, 1);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer_log WHERE job_id = 102"), 1);
    /* The held job keeps its history (its error). */
    CHECK_INT(
        tdb_int("SELECT count(*) FROM pgqueuer_log WHERE job_id = %lld", (long long)held),
        1);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer_statistics"), 1);
    CHECK_OK(c, pgq_prune(c, 86400, &logs, &stats));
    CHECK_INT(logs, 0);
    pgq_client_free(c);
}

TEST(job_get_and_log_history)
{
    tdb_reset_schema();
    int64_t id = tdb_int("INSERT INTO pgqueuer (priority, status, entrypoint, payload, "
                         "headers, dedupe_key) VALUES (4, 'failed', 'mail', "
                         "'\\x00ff410a'::bytea, '{\"k\": \"v\"}', 'key-1') RETURNING id");
    tdb_exec("INSERT INTO pgqueuer_log (job_id, status, priority, entrypoint, traceback, "
             "created) "
             "VALUES (%lld, 'queued', 4, 'mail', NULL, now() - interval '2 s'), "
             "(%lld, 'failed', 4, 'mail', '{\"exception_type\": \"ValueError\", "
             "\"exception_message\": \"bad\"}', now())",
             (long long)id, (long long)id);
    pgq_client *c = tdb_client(NULL);
    pgq_job_set set = {0};
    CHECK_OK(c, pgq_job_get(c, id, &set));
    CHECK_INT(set.count, 1);
    CHECK_INT(set.jobs[0].payload_len, 4);
    CHECK(memcmp(set.jobs[0].payload, "\x00\xff\x41\x0a", 4) == 0);
    CHECK_INT(set.jobs[0].status, PGQ_FAILED);
    CHECK_STR(set.jobs[0].dedupe_key, "key-1");
    CHECK_STR(set.jobs[0].headers, "{\"k\": \"v\"}");
    pgq_job_set_free(&set);

    pgq_log_entry *log = NULL;
    size_t n = 0;
    CHECK_OK(c, pgq_job_log(c, id, &log, &n));
    CHECK_INT(n, 2);
    CHECK_INT(log[0].status, PGQ_QUEUED);
    CHECK(log[0].traceback == NULL);
    CHECK_INT(log[1].status, PGQ_FAILED);
    CHECK(strstr(log[1].traceback, "ValueError") != NULL);
    CHECK_STR(log[1].entrypoint, "mail");
    pgq_log_entries_free(log, n);

    CHECK_OK(c, pgq_job_get(c, 424242, &set));
    CHECK_INT(set.count, 0);
    pgq_job_set_free(&set);
    CHECK_OK(c, pgq_job_log(c, 424242, &log, &n));
    CHECK_INT(n, 0);
    pgq_log_entries_free(log, n);
    CHECK_INT(pgq_job_get(c, 0, &set), PGQ_EINVAL);
    pgq_client_free(c);
}

TEST(operations_without_schema)
{
    tdb_exec("DROP TABLE IF EXISTS pgqueuer, pgqueuer_log, pgqueuer_statistics CASCADE");
    pgq_client *c = tdb_client(NULL);
    pgq_count_row *rows = NULL;
    size_t n = 0;
    CHECK_INT(pgq_queue_size(c, &rows, &n), PGQ_ENOSCHEMA);
    CHECK(strstr(pgq_client_errmsg(c), "pgq install") != NULL);
    pgq_client_free(c);
}

int main(int argc, char **argv)
{
    static const th_case cases[] = {
        CASE(cancel_deletes_any_status_logs_and_notifies),
        CASE(cancel_splits_large_notifications),
        CASE(cancel_refuses_bad_ids),
        CASE(clear_by_entrypoint_and_all),
        CASE(queue_size_counts),
        CASE(log_statistics_rolls_up_and_upserts),
        CASE(log_statistics_skips_rollup_while_locked),
        CASE(log_statistics_concurrent_callers_count_once),
        CASE(log_statistics_with_prefix),
        CASE(job_statuses_latest_log_row),
        CASE(prune_old_log_and_statistics),
        CASE(job_get_and_log_history),
        CASE(operations_without_schema),
    };
    return th_main(cases, sizeof cases / sizeof cases[0], argc, argv);
}
