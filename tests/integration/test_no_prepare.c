/* test_no_prepare.c: prepared statements off (pgq_config.no_prepare, for a
 * pooler in transaction mode). Every operation then works without leaving a
 * prepared statement on its connection; with them on, a statement that
 * vanished from the connection (or one of another session there under the
 * same name), which is what a pooler in transaction mode does to a
 * session, gives a message naming the setting. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define QM "11111111-1111-4111-8111-111111111111"

static pgq_client *client(bool no_prepare)
{
    pgq_config cfg = {.no_prepare = no_prepare};
    pgq_client *c = NULL;
    int rc = pgq_client_open(&c, &cfg);
    CHECKF(rc == PGQ_OK, "pgq_client_open: %s", c ? pgq_client_errmsg(c) : "");
    return c;
}

/* Prepared statements on the client's own connection. */
static long long prepared_count(pgq_client *c)
{
    PGresult *r =
        PQexec(pgq_client_conn(c), "SELECT count(*) FROM pg_prepared_statements");
    CHECK(PQresultStatus(r) == PGRES_TUPLES_OK);
    long long n = atoll(PQgetvalue(r, 0, 0));
    PQclear(r);
    return n;
}

/* Claims up to n jobs of ep (a concurrency limit takes the pipelined,
 * locked claim); returns how many. */
static size_t claim(pgq_client *c, const char *ep, int limit, int n, int64_t *ids)
{
    pgq_claim_entrypoint e = {
        .entrypoint = ep, .retry_timer = 30, .concurrency_limit = limit};
    pgq_claim_opts o = {.queue_manager_id = QM, .batch_size = n};
    pgq_job_set set;
    CHECK_OK(c, pgq_claim(c, &e, 1, &o, &set));
    for (size_t i = 0; i < set.count; i++)
        ids[i] = set.jobs[i].id;
    size_t got = set.count;
    pgq_job_set_free(&set);
    return got;
}

/* A producer's and a worker's operations, with prepared statements on or
 * off; returns the prepared statements left on the connection. */
static long long every_operation(bool no_prepare)
{
    tdb_reset_schema();
    pgq_client *c = client(no_prepare);
    pgq_new_job jobs[3] = {{.entrypoint = "a", .payload = "x", .payload_len = 1},
                           {.entrypoint = "a", .dedupe_key = "k"},
                           {.entrypoint = "b", .headers = "{\"h\": 1}"}};
    int64_t ids[8];
    CHECK_OK(c, pgq_enqueue(c, jobs, 3, PGQ_CONFLICT_RAISE, ids));
    CHECK_OK(c, pgq_enqueue(c, &jobs[1], 1, PGQ_CONFLICT_SKIP, ids));
    CHECK_INT(ids[0], 0);
    pgq_bulk *b;
    CHECK_OK(c, pgq_bulk_begin(c, &b));
    for (int i = 0; i < 4; i++)
        CHECK_OK(c, pgq_bulk_add(b, &jobs[0]));
    uint64_t count = 0;
    CHECK_OK(c, pgq_bulk_finish(b, &count));
    CHECK_INT(count, 4);

    CHECK_INT(claim(c, "a", 0, 2, ids), 2);
    CHECK_OK(c, pgq_heartbeat(c, QM, ids, 2));
    pgq_outcome out[2] = {
        {.job_id = ids[0], .status = PGQ_SUCCESSFUL},
        {.job_id = ids[1], .status = PGQ_EXCEPTION, .error_message = "e"}};
    size_t resolved = 0;
    CHECK_OK(c, pgq_complete(c, QM, out, 1, &resolved));
    CHECK_OK(c, pgq_complete(c, QM, out + 1, 1, &resolved));
    CHECK_INT(claim(c, "a", 2, 1, ids), 1);
    CHECK_OK(c, pgq_retry(c, QM, ids[0], 0, "again"));
    CHECK_INT(claim(c, "b", 1, 1, ids), 1);
    CHECK_OK(c, pgq_release(c, QM, ids, 1));

    pgq_count_row *rows;
    size_t n;
    CHECK_OK(c, pgq_queue_size(c, &rows, &n));
    pgq_count_rows_free(rows, n);
    pgq_job_set set;
    CHECK_OK(c, pgq_job_get(c, ids[0], &set));
    CHECK_INT(set.count, 1);
    pgq_job_set_free(&set);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer"), 5);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer_log WHERE status IN "
                      "('successful', 'exception')"),
              2);
    long long left = prepared_count(c);
    pgq_client_free(c);
    return left;
}

TEST(off_leaves_no_prepared_statement)
{
    CHECK_INT(every_operation(true), 0);
}

TEST(on_prepares_them)
{
    CHECK(every_operation(false) >= 8);
}

/* As after a pooler gave the session another server connection: the
 * statement prepared earlier is not there. */
TEST(missing_statement_names_the_setting)
{
    tdb_reset_schema();
    pgq_client *c = client(false);
    pgq_new_job j = {.entrypoint = "a"};
    CHECK_OK(c, pgq_enqueue(c, &j, 1, PGQ_CONFLICT_RAISE, NULL));
    PQclear(PQexec(pgq_client_conn(c), "DEALLOCATE ALL"));
    CHECK_INT(pgq_enqueue(c, &j, 1, PGQ_CONFLICT_RAISE, NULL), PGQ_ESQL);
    CHECK_STR(pgq_client_sqlstate(c), "26000");
    CHECKF(strstr(pgq_client_errmsg(c), "PGQ_PREPARE=off") &&
               strstr(pgq_client_errmsg(c), "--no-prepare"),
           "message: %s", pgq_client_errmsg(c));
    pgq_client_free(c);
}

/* As when the server connection a pooler hands out carries another
 * session's statement under the same name. */
TEST(foreign_statement_names_the_setting)
{
    tdb_reset_schema();
    pgq_client *c = client(false);
    PQclear(PQprepare(pgq_client_conn(c), "pgq_0", "SELECT 1", 0, NULL));
    pgq_new_job j = {.entrypoint = "a"};
    CHECK_INT(pgq_enqueue(c, &j, 1, PGQ_CONFLICT_RAISE, NULL), PGQ_ESQL);
    CHECK_STR(pgq_client_sqlstate(c), "42P05");
    CHECKF(strstr(pgq_client_errmsg(c), "PGQ_PREPARE=off"), "message: %s",
           pgq_client_errmsg(c));
    pgq_client_free(c);
}

TEST(env_turns_them_off)
{
    pgq_config cfg = {0};
    setenv("PGQ_PREPARE", "off", 1);
    pgq_config_from_env(&cfg);
    CHECK(cfg.no_prepare);
    pgq_config on = {0};
    setenv("PGQ_PREPARE", "on", 1);
    pgq_config_from_env(&on);
    CHECK(!on.no_prepare);
    unsetenv("PGQ_PREPARE");
}

int main(int argc, char **argv)
{
    static const th_case cases[] = {
        CASE(off_leaves_no_prepared_statement),
        CASE(on_prepares_them),
        CASE(missing_statement_names_the_setting),
        CASE(foreign_statement_names_the_setting),
        CASE(env_turns_them_off),
    };
    return th_main(cases, sizeof cases / sizeof cases[0], argc, argv);
}
