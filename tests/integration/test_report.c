/* test_report.c: the report API (pgq_report_*) against a real PostgreSQL:
 * the columns of every kind (also when empty), the rows each selects,
 * keyset paging of jobs and log, throughput buckets, parameter validation
 * before anything is sent, and the JSON rendering (parsed back with
 * jansson). Rows are written with plain SQL so the tests depend only on
 * the schema. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

/* Fetches a report that must succeed. */
static pgq_report *fetch(pgq_client *c, const char *kind, const pgq_report_params *p)
{
    pgq_report *r = NULL;
    CHECK_OK(c, pgq_report_fetch(c, kind, p, &r));
    CHECK(r != NULL);
    return r;
}

/* Column index by name, or fails the case. */
static size_t col(const pgq_report *r, const char *name)
{
    for (size_t j = 0; j < pgq_report_cols(r); j++)
        if (strcmp(pgq_report_colname(r, j), name) == 0)
            return j;
    th_fail(__FILE__, __LINE__, "no column %s", name);
}

static long long ival(const pgq_report *r, size_t row, const char *name)
{
    const char *v = pgq_report_value(r, row, col(r, name));
    CHECKF(v, "%s of row %zu is NULL", name, row);
    return strtoll(v, NULL, 10);
}

/* The column names joined with commas. */
static char *colnames(const pgq_report *r)
{
    static char buf[512];
    buf[0] = '\0';
    for (size_t j = 0; j < pgq_report_cols(r); j++) {
        strcat(buf, j ? "," : "");
        strcat(buf, pgq_report_colname(r, j));
    }
    return buf;
}

TEST(every_kind_has_its_columns_when_empty)
{
    static const char *const want[][2] = {
        {"stale", "id,priority,queue_manager_id,created,updated,heartbeat,execute_after,"
                  "status,entrypoint,seconds_since_heartbeat"},
        {"workers", "queue_manager_id,active_jobs,oldest_heartbeat,newest_heartbeat,"
                    "entrypoints"},
        {"backlog", "entrypoint,queued_count,oldest_created,oldest_age_seconds,"
                    "avg_age_seconds"},
        {"size", "count,entrypoint,priority,status"},
        {"throughput", "bucket_start,bucket_seconds,entrypoint,status,count,per_second"},
        {"log", "id,created,job_id,status,priority,entrypoint,traceback,aggregated"},
        {"jobs", "id,priority,queue_manager_id,created,updated,heartbeat,execute_after,"
                 "status,entrypoint,dedupe_key,attempts,payload_bytes,headers"},
        {"tables", "table_name,persistence,estimated_rows,total_bytes,table_bytes,"
                   "index_bytes,total_size"},
        {"schedules", "id,expression,entrypoint,heartbeat,created,updated,next_run,"
                      "last_run,status"},
    };
    tdb_reset_schema();
    pgq_client *c = tdb_client(NULL);
    size_t n = 0;
    while (pgq_report_kind(n))
        n++;
    CHECK_INT(n, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < n; i++) {
        CHECK_STR(pgq_report_kind(i), want[i][0]);
        pgq_report *r = fetch(c, want[i][0], NULL);
        CHECK_STR(colnames(r), want[i][1]);
        CHECK_INT(pgq_report_rows(r), strcmp(want[i][0], "tables") == 0 ? 4 : 0);
        if (strcmp(want[i][0], "tables") != 0) {
            char *json = NULL;
            CHECK_OK(c, pgq_report_json(r, &json));
            CHECK_STR(json, "[]");
            free(json);
        }
        pgq_report_free(r);
    }
    pgq_client_free(c);
}

TEST(stale_and_workers)
{
    tdb_reset_schema();
    const char *a = "00000000-0000-0000-0000-00000000000a";
    const char *b = "00000000-0000-0000-0000-00000000000b";
    tdb_exec("INSERT INTO pgqueuer (priority, status, entrypoint, queue_manager_id, "
             "heartbeat) VALUES (1, 'picked', 'mail', '%s', now() - interval '1 hour'), "
             "(2, 'picked', 'sms', '%s', now() - interval '10 minutes'), "
             "(3, 'picked', 'sms', '%s', now()), (0, 'queued', 'mail', NULL, now() - "
             "interval '2 hours')",
             a, a, b);
    pgq_client *c = tdb_client(NULL);
    pgq_report *r = fetch(c, "stale", NULL);
    CHECK_INT(pgq_report_rows(r), 2);
    CHECK_STR(pgq_report_value(r, 0, col(r, "entrypoint")), "mail");
    CHECK_STR(pgq_report_value(r, 0, col(r, "queue_manager_id")), a);
    CHECK(ival(r, 0, "seconds_since_heartbeat") >= 3599);
    CHECK(pgq_report_is_numeric(r, col(r, "seconds_since_heartbeat")));
    CHECK_INT(pgq_report_coltype(r, col(r, "heartbeat")), PGQ_REPORT_TIME);
    const char *hb = pgq_report_value(r, 0, col(r, "heartbeat"));
    CHECKF(strlen(hb) == 27 && hb[10] == 'T' && hb[26] == 'Z', "heartbeat %s", hb);
    pgq_report_free(r);

    pgq_report_params p;
    pgq_report_params_init(&p);
    p.threshold_s = 1200;
    r = fetch(c, "stale", &p);
    CHECK_INT(pgq_report_rows(r), 1);
    pgq_report_free(r);
    p.threshold_s = 0;
    p.entrypoint = "sms";
    r = fetch(c, "stale", &p);
    CHECK_INT(pgq_report_rows(r), 2);
    pgq_report_free(r);

    r = fetch(c, "workers", NULL);
    CHECK_INT(pgq_report_rows(r), 2);
    CHECK_STR(pgq_report_value(r, 0, col(r, "queue_manager_id")), a);
    CHECK_INT(ival(r, 0, "active_jobs"), 2);
    CHECK_STR(pgq_report_value(r, 0, col(r, "entrypoints")), "[\"mail\", \"sms\"]");
    CHECK_INT(ival(r, 1, "active_jobs"), 1);
    pgq_report_free(r);
    pgq_client_free(c);
}

TEST(backlog_size_and_tables)
{
    tdb_reset_schema();
    tdb_exec("INSERT INTO pgqueuer (priority, status, entrypoint, created) "
             "SELECT g %% 2, 'queued', 'mail', now() - g * interval '1 minute' "
             "FROM generate_series(1, 10) g");
    tdb_exec("INSERT INTO pgqueuer (priority, status, entrypoint) VALUES "
             "(0, 'queued', 'sms'), (0, 'failed', 'sms')");
    pgq_client *c = tdb_client(NULL);
    pgq_report *r = fetch(c, "backlog", NULL);
    CHECK_INT(pgq_report_rows(r), 2);
    CHECK_STR(pgq_report_value(r, 0, col(r, "entrypoint")), "mail");
    CHECK_INT(ival(r, 0, "queued_count"), 10);
    CHECK(ival(r, 0, "oldest_age_seconds") >= 600);
    CHECK(ival(r, 0, "avg_age_seconds") >= 330);
    CHECK_INT(ival(r, 1, "queued_count"), 1);
    pgq_report_free(r);

    pgq_report_params p;
    pgq_report_params_init(&p);
    p.status = "failed";
    r = fetch(c, "size", &p);
    CHECK_INT(pgq_report_rows(r), 1);
    CHECK_STR(pgq_report_value(r, 0, col(r, "entrypoint")), "sms");
    CHECK_INT(ival(r, 0, "count"), 1);
    pgq_report_free(r);
    r = fetch(c, "size", NULL);
    CHECK_INT(pgq_report_rows(r), 4); /* mail 1, mail 0, sms queued, sms failed */
    pgq_report_free(r);

    tdb_exec("ALTER TABLE pgqueuer_log SET UNLOGGED");
    tdb_exec("ANALYZE pgqueuer");
    r = fetch(c, "tables", NULL);
    CHECK_INT(pgq_report_rows(r), 4);
    CHECK_STR(pgq_report_value(r, 0, col(r, "table_name")), "pgqueuer");
    CHECK_STR(pgq_report_value(r, 0, col(r, "persistence")), "logged");
    CHECK_INT(ival(r, 0, "estimated_rows"), 12);
    CHECK(ival(r, 0, "total_bytes") > 0);
    CHECK_STR(pgq_report_value(r, 1, col(r, "persistence")), "unlogged");
    pgq_report_free(r);
    pgq_client_free(c);
}

/* Ids of a report's rows, joined with commas. */
static char *ids_of(const pgq_report *r)
{
    static char buf[2048];
    buf[0] = '\0';
    for (size_t i = 0; i < pgq_report_rows(r); i++) {
        strcat(buf, i ? "," : "");
        strcat(buf, pgq_report_value(r, i, col(r, "id")));
    }
    return buf;
}

TEST(jobs_and_log_page_by_id)
{
    tdb_reset_schema();
    tdb_exec("INSERT INTO pgqueuer (id, priority, status, entrypoint, payload) "
             "SELECT g, 0, CASE WHEN g %% 10 = 0 THEN 'failed' ELSE 'queued' END::"
             "pgqueuer_status, CASE WHEN g %% 2 = 0 THEN 'even' ELSE 'odd' END, 'abc' "
             "FROM generate_series(1, 60) g");
    tdb_exec(
        "INSERT INTO pgqueuer_log (id, job_id, status, priority, entrypoint, "
        "traceback) SELECT g, g / 2, 'successful', 0, 'mail', CASE WHEN g = 40 "
        "THEN '{\"exception_type\": \"E\"}'::jsonb END FROM generate_series(1, 60) g");
    pgq_client *c = tdb_client(NULL);
    pgq_report_params p;
    pgq_report_params_init(&p);
    pgq_report *r = fetch(c, "jobs", &p);
    CHECK_INT(pgq_report_rows(r), 25);
    CHECK_INT(ival(r, 0, "id"), 60);
    CHECK_INT(ival(r, 24, "id"), 36);
    CHECK_INT(ival(r, 0, "payload_bytes"), 3);
    pgq_report_free(r);
    p.limit = 5;
    p.before_id = 36;
    r = fetch(c, "jobs", &p);
    CHECK_STR(ids_of(r), "35,34,33,32,31");
    pgq_report_free(r);
    p.before_id = 0;
    p.after_id = 31;
    r = fetch(c, "jobs", &p);
    CHECK_STR(ids_of(r), "36,35,34,33,32");
    pgq_report_free(r);
    p.after_id = 0;
    p.status = "failed";
    p.entrypoint = "even";
    r = fetch(c, "jobs", &p);
    CHECK_STR(ids_of(r), "60,50,40,30,20");
    pgq_report_free(r);

    pgq_report_params_init(&p);
    p.job_id = 20;
    r = fetch(c, "log", &p);
    CHECK_STR(ids_of(r), "41,40");
    CHECK_INT(pgq_report_coltype(r, col(r, "traceback")), PGQ_REPORT_JSON);
    CHECK_STR(pgq_report_value(r, 1, col(r, "traceback")), "{\"exception_type\": \"E\"}");
    CHECK(pgq_report_value(r, 0, col(r, "traceback")) == NULL);
    CHECK_STR(pgq_report_value(r, 0, col(r, "aggregated")), "false");
    pgq_report_free(r);
    pgq_report_params_init(&p);
    p.before_id = 3;
    r = fetch(c, "log", &p);
    CHECK_STR(ids_of(r), "2,1");
    pgq_report_free(r);
    p.before_id = 0;
    p.after_id = 58;
    r = fetch(c, "log", &p);
    CHECK_STR(ids_of(r), "60,59");
    pgq_report_free(r);
    pgq_client_free(c);
}

TEST(throughput_counts_buckets_in_the_window)
{
    tdb_reset_schema();
    /* 30 rows in the last minute or so, 5 two hours ago (outside). */
    tdb_exec("INSERT INTO pgqueuer_log (created, job_id, status, priority, entrypoint) "
             "SELECT now() - g * interval '1 second', g, 'successful', 0, 'mail' "
             "FROM generate_series(1, 30) g");
    tdb_exec("INSERT INTO pgqueuer_log (created, job_id, status, priority, entrypoint) "
             "SELECT now() - interval '2 hours', g, 'exception', 0, 'mail' "
             "FROM generate_series(1, 5) g");
    pgq_client *c = tdb_client(NULL);
    pgq_report_params p;
    pgq_report_params_init(&p);
    p.window_s = 600;
    p.bucket_s = 3600;
    pgq_report *r = fetch(c, "throughput", &p);
    long long total = 0;
    for (size_t i = 0; i < pgq_report_rows(r); i++) {
        CHECK_STR(pgq_report_value(r, i, col(r, "status")), "successful");
        total += ival(r, i, "count");
    }
    CHECK_INT(total, 30);
    CHECK_INT(ival(r, 0, "bucket_seconds"), 3600);
    pgq_report_free(r);
    p.window_s = 0; /* the last hour */
    p.bucket_s = 1;
    r = fetch(c, "throughput", &p);
    CHECKF(pgq_report_rows(r) >= 29, "%zu buckets", pgq_report_rows(r));
    CHECK_INT(ival(r, 0, "count"), 1);
    pgq_report_free(r);
    pgq_client_free(c);
}

TEST(schedules_are_listed)
{
    tdb_reset_schema();
    tdb_exec("INSERT INTO pgqueuer_schedules (expression, entrypoint) VALUES "
             "('* * * * *', 'tick'), ('0 * * * *', 'hourly')");
    pgq_client *c = tdb_client(NULL);
    pgq_report *r = fetch(c, "schedules", NULL);
    CHECK_INT(pgq_report_rows(r), 2);
    CHECK_STR(pgq_report_value(r, 0, col(r, "entrypoint")), "tick");
    CHECK(pgq_report_value(r, 0, col(r, "last_run")) == NULL);
    pgq_report_free(r);
    pgq_client_free(c);
}

TEST(bad_parameters_are_refused_before_sending)
{
    tdb_reset_schema();
    pgq_client *c = tdb_client(NULL);
    pgq_report *r = NULL;
    pgq_report_params p;
    CHECK_INT(pgq_report_fetch(c, "nope", NULL, &r), PGQ_EINVAL);
    CHECK(strstr(pgq_client_errmsg(c), "nope"));
    pgq_report_params_init(&p);
    p.status = "done";
    CHECK_INT(pgq_report_fetch(c, "jobs", &p, &r), PGQ_EINVAL);
    CHECK(strstr(pgq_client_errmsg(c), "status"));
    pgq_report_params_init(&p);
    p.limit = -1;
    CHECK_INT(pgq_report_fetch(c, "jobs", &p, &r), PGQ_EINVAL);
    CHECK(strstr(pgq_client_errmsg(c), "limit"));
    pgq_report_params_init(&p);
    p.bucket_s = 0.5;
    CHECK_INT(pgq_report_fetch(c, "throughput", &p, &r), PGQ_EINVAL);
    CHECK(strstr(pgq_client_errmsg(c), "bucket_s"));
    p.bucket_s = 1;
    p.window_s = 86400;
    CHECK_INT(pgq_report_fetch(c, "throughput", &p, &r), PGQ_EINVAL);
    CHECK(r == NULL);
    pgq_client_free(c);
    /* Without the schema: PGQ_ENOSCHEMA, not a crash. */
    c = tdb_client(NULL);
    CHECK_OK(c, pgq_uninstall(c));
    CHECK_INT(pgq_report_fetch(c, "jobs", NULL, &r), PGQ_ENOSCHEMA);
    pgq_client_free(c);
}

TEST(json_escapes_text_and_embeds_json)
{
    tdb_reset_schema();
    tdb_exec("INSERT INTO pgqueuer_log (job_id, status, priority, entrypoint, traceback) "
             "VALUES (7, 'exception', 3, E'a\"b\\\\c\\n\\x01d', "
             "'{\"exception_message\": \"x\\ny\"}')");
    pgq_client *c = tdb_client(NULL);
    pgq_report *r = fetch(c, "log", NULL);
    char *text = NULL;
    CHECK_OK(c, pgq_report_json(r, &text));
    json_error_t err;
    json_t *v = json_loads(text, 0, &err);
    CHECKF(v, "not JSON (%s): %s", err.text, text);
    CHECK_INT(json_array_size(v), 1);
    json_t *row = json_array_get(v, 0);
    CHECK_STR(json_string_value(json_object_get(row, "entrypoint")), "a\"b\\c\n\x01"
                                                                     "d");
    CHECK_INT(json_integer_value(json_object_get(row, "job_id")), 7);
    CHECK_INT(json_integer_value(json_object_get(row, "priority")), 3);
    CHECK(json_is_false(json_object_get(row, "aggregated")));
    CHECK_STR(json_string_value(json_object_get(json_object_get(row, "traceback"),
                                                "exception_message")),
              "x\ny");
    json_decref(v);
    free(text);
    pgq_report_free(r);
    pgq_client_free(c);
}

int main(int argc, char **argv)
{
    static const th_case cases[] = {
        CASE(every_kind_has_its_columns_when_empty),
        CASE(stale_and_workers),
        CASE(backlog_size_and_tables),
        CASE(jobs_and_log_page_by_id),
        CASE(throughput_counts_buckets_in_the_window),
        CASE(schedules_are_listed),
        CASE(bad_parameters_are_refused_before_sending),
        CASE(json_escapes_text_and_embeds_json),
    };
    return th_main(cases, sizeof cases / sizeof cases[0], argc, argv);
}
