/* test_complete.c: pgq_complete, pgq_retry, pgq_heartbeat and pgq_release
 * against a real database: rows, log rows, error records, notifications,
 * and completions that must change nothing. */
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <time.h>

#include "harness.h"

#define QM1 "11111111-1111-4111-8111-111111111111"
#define QM2 "22222222-2222-4222-8222-222222222222"

/* The exact key set of an error record (docs/design.md §3.3), and of its context. */
#define RECORD_KEYS                                                                      \
    "'{additional_context,exception_message,exception_type,job_id,timestamp,traceback}'"
#define CONTEXT_KEYS "'{entrypoint,queue_manager_id}'"
#define RETRY_CONTEXT_KEYS "'{attempt,entrypoint,queue_manager_id,reason,retry_delay}'"

/* Enqueues n jobs of entrypoint ep and claims them all for qm; ids sorted. */
static void picked_jobs(pgq_client *c, const char *ep, int n, const char *qm,
                        int64_t *ids)
{
    for (int i = 0; i < n; i++) {
        pgq_new_job j = {.entrypoint = ep,
                         .payload = "data",
                         .payload_len = 4,
                         .headers = "{\"h\": \"1\"}"};
        char key[32];
        snprintf(key, sizeof key, "%s-%d", ep, i);
        j.dedupe_key = key;
        CHECK_OK(c, pgq_enqueue(c, &j, 1, PGQ_CONFLICT_RAISE, NULL));
    }
    pgq_claim_entrypoint e = {.entrypoint = ep};
    pgq_claim_opts o = {.queue_manager_id = qm, .batch_size = n};
    pgq_job_set set;
    CHECK_OK(c, pgq_claim(c, &e, 1, &o, &set));
    CHECK_INT(set.count, n);
    for (int i = 0; i < n; i++)
        ids[i] = set.jobs[i].id;
    pgq_job_set_free(&set);
}

/* The log statuses of a job, oldest first, joined by commas. */
static char *history(int64_t id)
{
    return tdb_str("SELECT string_agg(status::text, ',' ORDER BY id) FROM pgqueuer_log "
                   "WHERE job_id = %lld",
                   (long long)id);
}

static void check_history(int64_t id, const char *want)
{
    char *h = history(id);
    CHECK_STR(h, want);
    free(h);
}

/* Checks the error record of job id's latest log row of the given status. */
static void check_record(int64_t id, const char *status, const char *context_keys)
{
    char row[256];
    snprintf(row, sizeof row,
             "(SELECT traceback FROM pgqueuer_log WHERE job_id = %lld "
             "AND status = '%s' ORDER BY id DESC LIMIT 1)",
             (long long)id, status);
    char *ok = tdb_str(
        "SELECT (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(t) k) "
        "= " RECORD_KEYS " AND (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys("
        "t->'additional_context') k) = %s AND (t->>'job_id')::bigint = %lld AND "
        "jsonb_typeof(t->'job_id') = 'number' AND t->>'timestamp' ~ "
        "'^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(\\.\\d+)?Z$' AND "
        "abs(extract(epoch FROM (t->>'timestamp')::timestamptz - now())) < 60 AND "
        "jsonb_typeof(t->'exception_type') = 'string' AND "
        "jsonb_typeof(t->'exception_message') = 'string' AND "
        "jsonb_typeof(t->'traceback') = 'string' FROM %s AS s(t)",
        context_keys, (long long)id, row);
    CHECKF(ok && strcmp(ok, "t") == 0, "record of job %lld (%s) has the wrong shape: %s",
           (long long)id, status, ok ? ok : "no record");
    free(ok);
}

TEST(successful_exception_canceled_delete_and_log)
{
    pgq_client *c = tdb_fresh();
    int64_t ids[3];
    picked_jobs(c, "d", 3, QM1, ids);
    pgq_outcome out[3] = {
        {.job_id = ids[0], .status = PGQ_SUCCESSFUL},
        {.job_id = ids[1],
         .status = PGQ_EXCEPTION,
         .error_type = "ValueError",
         .error_message = "bad value",
         .error_detail = "at line 3\nat line 9"},
        {.job_id = ids[2], .status = PGQ_CANCELED},
    };
    size_t resolved = 0;
    CHECK_OK(c, pgq_complete(c, QM1, out, 3, &resolved));
    CHECK_INT(resolved, 3);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer"), 0);
    check_history(ids[0], "queued,picked,successful");
    check_history(ids[1], "queued,picked,exception");
    check_history(ids[2], "queued,picked,canceled");
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer_log WHERE status IN ('successful', "
                      "'canceled') AND traceback IS NULL"),
              2);
    check_record(ids[1], "exception", CONTEXT_KEYS);
    char *v =
        tdb_str("SELECT traceback->>'exception_type' || '|' || "
                "(traceback->>'exception_message') || '|' || (traceback->>'traceback') "
                "|| '|' || (traceback->'additional_context'->>'entrypoint') || '|' || "
                "(traceback->'additional_context'->>'queue_manager_id') "
                "FROM pgqueuer_log WHERE status = 'exception'");
    CHECK_STR(v, "ValueError|bad value|at line 3\nat line 9|d|" QM1);
    free(v);
    /* Log rows carry the job's priority and entrypoint. */
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer_log WHERE entrypoint = 'd' AND "
                      "priority = 0"),
              9);
    pgq_client_free(c);
}

TEST(failed_is_held_with_everything_intact)
{
    pgq_client *c = tdb_fresh();
    int64_t id;
    picked_jobs(c, "f", 1, QM1, &id);
    tdb_exec("UPDATE pgqueuer SET attempts = 2");
    pgq_outcome out = {.job_id = id, .status = PGQ_FAILED, .error_message = "boom"};
    size_t resolved = 0;
    CHECK_OK(c, pgq_complete(c, QM1, &out, 1, &resolved));
    CHECK_INT(resolved, 1);
    CHECK_INT(
        tdb_int("SELECT count(*) FROM pgqueuer WHERE id = %lld AND status = 'failed' "
                "AND queue_manager_id IS NULL AND payload = 'data' AND "
                "headers->>'h' = '1' AND dedupe_key = 'f-0' AND attempts = 2 AND "
                "updated >= heartbeat",
                (long long)id),
        1);
    check_history(id, "queued,picked,failed");
    check_record(id, "failed", CONTEXT_KEYS);
    char *t = tdb_str("SELECT traceback->>'exception_type' FROM pgqueuer_log WHERE "
                      "status = 'failed'");
    CHECK_STR(t, "Exception"); /* no type given */
    free(t);
    /* Held, it no longer holds its dedupe key. */
    pgq_new_job again = {.entrypoint = "f", .dedupe_key = "f-0"};
    CHECK_OK(c, pgq_enqueue(c, &again, 1, PGQ_CONFLICT_RAISE, NULL));
    pgq_client_free(c);
}

/* Waits up to 5 s for a notification on conn; its payload, malloc'd. */
static char *await_notify(PGconn *conn)
{
    double t0 = th_now();
    while (th_now() - t0 < 5) {
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
        struct timeval tv = {0, 100000};
        select(fd + 1, &fds, NULL, NULL, &tv);
    }
    return NULL;
}

/* Waits for the table_changed_event of an update (deletes in the same
 * batch announce themselves too) and checks its every field. */
static void check_update_event(PGconn *listener)
{
    for (;;) {
        char *p = await_notify(listener);
        CHECKF(p != NULL, "no update notification");
        char *op = tdb_str("SELECT $$%s$$::jsonb->>'operation'", p);
        bool update = op && strcmp(op, "update") == 0;
        free(op);
        if (!update) {
            free(p);
            continue;
        }
        char *ok = tdb_str("SELECT j->>'channel' = 'ch_pgqueuer' AND j->>'table' = "
                           "'pgqueuer' AND j->>'type' = 'table_changed_event' AND "
                           "(j->>'sent_at')::timestamptz > now() - interval '1 min' AND "
                           "(SELECT count(*) FROM jsonb_object_keys(j)) = 5 "
                           "FROM (SELECT $$%s$$::jsonb j) s",
                           p);
        CHECKF(ok && strcmp(ok, "t") == 0, "payload %s", p);
        free(ok);
        free(p);
        return;
    }
}

static PGconn *listener(void)
{
    PGconn *l = PQconnectdb("");
    CHECK(PQstatus(l) == CONNECTION_OK);
    PQclear(PQexec(l, "LISTEN ch_pgqueuer"));
    return l;
}

TEST(retry_requeues_with_record_and_wakes_workers)
{
    pgq_client *c = tdb_fresh();
    int64_t ids[2];
    picked_jobs(c, "r", 2, QM1, ids);
    PGconn *l = listener();
    pgq_outcome out[2] = {
        {.job_id = ids[0],
         .status = PGQ_QUEUED,
         .retry_delay = 30,
         .error_type = "Timeout",
         .error_message = "upstream slow",
         .error_detail = "tb"},
        {.job_id = ids[1], .status = PGQ_SUCCESSFUL},
    };
    size_t resolved = 0;
    CHECK_OK(c, pgq_complete(c, QM1, out, 2, &resolved));
    CHECK_INT(resolved, 2);
    CHECK_INT(
        tdb_int("SELECT count(*) FROM pgqueuer WHERE id = %lld AND status = 'queued' "
                "AND attempts = 1 AND queue_manager_id IS NULL AND execute_after = "
                "updated + interval '30 s'",
                (long long)ids[0]),
        1);
    check_history(ids[0], "queued,picked,queued");
    check_record(ids[0], "queued", RETRY_CONTEXT_KEYS);
    char *v =
        tdb_str("SELECT concat_ws('|', t->>'exception_type', t->>'exception_message', "
                "t->'additional_context'->>'attempt', "
                "t->'additional_context'->>'retry_delay', "
                "t->'additional_context'->>'reason') FROM (SELECT traceback t FROM "
                "pgqueuer_log WHERE job_id = %lld AND status = 'queued' AND traceback "
                "IS NOT NULL) s",
                (long long)ids[0]);
    /* PgQueuer's shape: the attempt before the increment, a timedelta. */
    CHECK_STR(v, "Timeout|upstream slow|0|0:00:30|upstream slow");
    free(v);
    check_update_event(l);
    /* Not due yet; once due, claimed again and the attempt counts on. */
    pgq_claim_entrypoint e = {.entrypoint = "r"};
    pgq_claim_opts o = {.queue_manager_id = QM2, .batch_size = 5};
    pgq_job_set set;
    CHECK_OK(c, pgq_claim(c, &e, 1, &o, &set));
    CHECK_INT(set.count, 0);
    pgq_job_set_free(&set);
    tdb_exec("UPDATE pgqueuer SET execute_after = now() - interval '1 s'");
    CHECK_OK(c, pgq_claim(c, &e, 1, &o, &set));
    CHECK_INT(set.count, 1);
    CHECK_INT(set.jobs[0].attempts, 1);
    pgq_job_set_free(&set);
    /* pgq_retry: the same, for one job, with a reason. */
    CHECK_OK(c, pgq_retry(c, QM2, ids[0], 0, "rate limited"));
    CHECK_INT(
        tdb_int("SELECT count(*) FROM pgqueuer WHERE id = %lld AND status = 'queued' "
                "AND attempts = 2 AND queue_manager_id IS NULL AND execute_after = "
                "updated",
                (long long)ids[0]),
        1);
    check_record(ids[0], "queued", RETRY_CONTEXT_KEYS);
    v = tdb_str(
        "SELECT concat_ws('|', t->>'exception_message', "
        "t->'additional_context'->>'attempt', t->'additional_context'->>'reason', "
        "t->'additional_context'->>'queue_manager_id') FROM (SELECT traceback t "
        "FROM pgqueuer_log WHERE job_id = %lld ORDER BY id DESC LIMIT 1) s",
        (long long)ids[0]);
    CHECK_STR(v, "rate limited|1|rate limited|" QM2);
    free(v);
    check_update_event(l);
    /* Not picked any more: nothing to retry. */
    CHECK_INT(pgq_retry(c, QM2, ids[0], 0, NULL), PGQ_ENOTFOUND);
    check_history(ids[0], "queued,picked,queued,picked,queued");
    CHECK_INT(pgq_retry(c, QM2, ids[0], -1, NULL), PGQ_EINVAL);
    PQfinish(l);
    pgq_client_free(c);
}

TEST(only_own_picked_rows_are_resolved)
{
    pgq_client *c = tdb_fresh();
    int64_t ids[4];
    picked_jobs(c, "o", 4, QM1, ids);
    pgq_new_job q = {.entrypoint = "o"};
    int64_t queued_id;
    CHECK_OK(c, pgq_enqueue(c, &q, 1, PGQ_CONFLICT_RAISE, &queued_id));
    /* ids[1] was marked failed meanwhile, ids[2] was cancelled. */
    tdb_exec(
        "UPDATE pgqueuer SET status = 'failed', queue_manager_id = NULL WHERE id = %lld",
        (long long)ids[1]);
    tdb_exec("DELETE FROM pgqueuer WHERE id = %lld", (long long)ids[2]);
    long long logs = tdb_int("SELECT count(*) FROM pgqueuer_log");
    pgq_job_status st[] = {PGQ_SUCCESSFUL, PGQ_EXCEPTION, PGQ_FAILED, PGQ_QUEUED};
    for (int s = 0; s < 4; s++) {
        pgq_outcome out[4] = {
            {.job_id = ids[0], .status = st[s]},    /* picked, but by QM1 */
            {.job_id = ids[1], .status = st[s]},    /* failed meanwhile */
            {.job_id = ids[2], .status = st[s]},    /* gone */
            {.job_id = queued_id, .status = st[s]}, /* never picked */
        };
        size_t resolved = 9;
        CHECK_OK(c, pgq_complete(c, QM2, out, 4, &resolved));
        CHECK_INT(resolved, 0);
        CHECK_OK(c, pgq_complete(c, QM1, out + 1, 3, &resolved));
        CHECK_INT(resolved, 0);
    }
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer_log"), logs);
    CHECK_INT(
        tdb_int("SELECT count(*) FROM pgqueuer WHERE id = %lld AND status = 'picked' "
                "AND queue_manager_id = '" QM1 "'",
                (long long)ids[0]),
        1);
    CHECK_INT(
        tdb_int("SELECT count(*) FROM pgqueuer WHERE id = %lld AND status = 'failed'",
                (long long)ids[1]),
        1);
    CHECK_INT(
        tdb_int("SELECT count(*) FROM pgqueuer WHERE id = %lld AND status = 'queued'",
                (long long)queued_id),
        1);
    CHECK_OK(c, pgq_heartbeat(c, QM2, ids, 4));
    CHECK_OK(c, pgq_release(c, QM2, ids, 4));
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer_log"), logs);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer WHERE status = 'picked'"), 2);
    /* Two outcomes for one job: the first wins, one log row. */
    pgq_outcome dup[2] = {{.job_id = ids[0], .status = PGQ_SUCCESSFUL},
                          {.job_id = ids[0], .status = PGQ_EXCEPTION}};
    size_t resolved = 0;
    CHECK_OK(c, pgq_complete(c, QM1, dup, 2, &resolved));
    CHECK_INT(resolved, 1);
    check_history(ids[0], "queued,picked,successful");
    pgq_client_free(c);
}

TEST(bad_outcomes_refused)
{
    pgq_client *c = tdb_fresh();
    int64_t id;
    picked_jobs(c, "b", 1, QM1, &id);
    pgq_outcome bad[] = {
        {.job_id = id, .status = PGQ_PICKED},
        {.job_id = id, .status = PGQ_DELETED},
        {.job_id = id, .status = (pgq_job_status)42},
        {.job_id = id, .status = PGQ_QUEUED, .retry_delay = -1},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        pgq_outcome two[2] = {{.job_id = id, .status = PGQ_SUCCESSFUL}, bad[i]};
        CHECK_INT(pgq_complete(c, QM1, two, 2, NULL), PGQ_EINVAL);
    }
    CHECK_INT(pgq_complete(c, NULL, bad, 1, NULL), PGQ_EINVAL);
    CHECK_INT(pgq_complete(c, "nope", bad, 0, NULL), PGQ_OK);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer WHERE status = 'picked'"), 1);
    check_history(id, "queued,picked");
    /* Error text that is not UTF-8 is stored, repaired, not refused. */
    pgq_outcome odd = {.job_id = id,
                       .status = PGQ_EXCEPTION,
                       .error_type = "E",
                       .error_message = "caf\xe9 \"q\" \\ {x}",
                       .error_detail = "\xff\xfe ok"};
    CHECK_OK(c, pgq_complete(c, QM1, &odd, 1, NULL));
    char *m = tdb_str("SELECT traceback->>'exception_message' FROM pgqueuer_log WHERE "
                      "status = 'exception'");
    CHECK_STR(m, "caf\xef\xbf\xbd \"q\" \\ {x}");
    free(m);
    m = tdb_str(
        "SELECT traceback->>'traceback' FROM pgqueuer_log WHERE status = 'exception'");
    CHECK_STR(m, "\xef\xbf\xbd\xef\xbf\xbd ok");
    free(m);
    pgq_client_free(c);
}

TEST(heartbeat_touches_own_picked_jobs)
{
    pgq_client *c = tdb_fresh();
    int64_t a[2], b[1];
    picked_jobs(c, "h1", 2, QM1, a);
    picked_jobs(c, "h2", 1, QM2, b);
    tdb_exec("UPDATE pgqueuer SET heartbeat = now() - interval '1 hour', updated = now() "
             "- interval '1 hour'");
    int64_t all[3] = {a[0], a[1], b[0]};
    CHECK_OK(c, pgq_heartbeat(c, QM1, all, 3));
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer WHERE heartbeat > now() - interval "
                      "'1 minute' AND queue_manager_id = '" QM1 "'"),
              2);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer WHERE heartbeat < now() - interval "
                      "'59 minutes' AND id = %lld",
                      (long long)b[0]),
              1);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer WHERE status = 'picked'"), 3);
    CHECK_OK(c, pgq_heartbeat(c, QM1, NULL, 0));
    CHECK_INT(pgq_heartbeat(c, NULL, all, 3), PGQ_EINVAL);
    /* A heartbeat keeps a job from being taken over. */
    pgq_claim_entrypoint e = {.entrypoint = "h1", .retry_timer = 10};
    pgq_claim_opts o = {.queue_manager_id = QM2, .batch_size = 5};
    pgq_job_set set;
    CHECK_OK(c, pgq_claim(c, &e, 1, &o, &set));
    CHECK_INT(set.count, 0);
    pgq_job_set_free(&set);
    pgq_client_free(c);
}

TEST(release_hands_back_without_an_attempt)
{
    pgq_client *c = tdb_fresh();
    int64_t ids[3];
    picked_jobs(c, "rel", 3, QM1, ids);
    PGconn *l = listener();
    CHECK_OK(c, pgq_release(c, QM1, ids, 2));
    CHECK_INT(
        tdb_int("SELECT count(*) FROM pgqueuer WHERE status = 'queued' AND "
                "attempts = 0 AND queue_manager_id IS NULL AND execute_after < now()"),
        2);
    CHECK_INT(
        tdb_int("SELECT count(*) FROM pgqueuer WHERE id = %lld AND status = 'picked'",
                (long long)ids[2]),
        1);
    check_history(ids[0], "queued,picked,queued");
    check_history(ids[2], "queued,picked");
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer_log WHERE status = 'queued' AND "
                      "traceback IS NOT NULL"),
              0);
    check_update_event(l);
    /* Released jobs are claimed again at once, and keep their keys. */
    pgq_claim_entrypoint e = {.entrypoint = "rel"};
    pgq_claim_opts o = {.queue_manager_id = QM2, .batch_size = 5};
    pgq_job_set set;
    CHECK_OK(c, pgq_claim(c, &e, 1, &o, &set));
    CHECK_INT(set.count, 2);
    CHECK_INT(set.jobs[0].attempts, 0);
    CHECK_STR(set.jobs[0].dedupe_key, "rel-0");
    pgq_job_set_free(&set);
    PQfinish(l);
    pgq_client_free(c);
}

/* Claim and complete throughput of one client, batches of 100. */
TEST(claim_complete_rate)
{
    pgq_client *c = tdb_fresh();
    enum { N = 20000, BATCH = 100 };
    pgq_bulk *b = NULL;
    CHECK_OK(c, pgq_bulk_begin(c, &b));
    for (int i = 0; i < N; i++) {
        pgq_new_job j = {.entrypoint = "rate", .payload = "x", .payload_len = 1};
        CHECK_OK(c, pgq_bulk_add(b, &j));
    }
    CHECK_OK(c, pgq_bulk_finish(b, NULL));
    pgq_claim_entrypoint e = {.entrypoint = "rate"};
    pgq_claim_opts o = {.queue_manager_id = QM1, .batch_size = BATCH};
    pgq_outcome out[BATCH];
    double t0 = th_now(), claim_s = 0;
    size_t done = 0;
    for (;;) {
        pgq_job_set set;
        double t1 = th_now();
        CHECK_OK(c, pgq_claim(c, &e, 1, &o, &set));
        claim_s += th_now() - t1;
        if (set.count == 0) {
            pgq_job_set_free(&set);
            break;
        }
        for (size_t i = 0; i < set.count; i++)
            out[i] = (pgq_outcome){.job_id = set.jobs[i].id, .status = PGQ_SUCCESSFUL};
        size_t resolved = 0;
        CHECK_OK(c, pgq_complete(c, QM1, out, set.count, &resolved));
        CHECK_INT(resolved, set.count);
        done += resolved;
        pgq_job_set_free(&set);
    }
    double secs = th_now() - t0;
    CHECK_INT(done, N);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer"), 0);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer_log WHERE status = 'successful'"),
              N);
    printf("# claim+complete: %d jobs in %.2f s = %.0f jobs/s (claims %.0f jobs/s, "
           "completions %.0f jobs/s), batches of %d\n",
           N, secs, N / secs, N / claim_s, N / (secs - claim_s), BATCH);
    pgq_client_free(c);
}

int main(int argc, char **argv)
{
    static const th_case cases[] = {
        CASE(successful_exception_canceled_delete_and_log),
        CASE(failed_is_held_with_everything_intact),
        CASE(retry_requeues_with_record_and_wakes_workers),
        CASE(only_own_picked_rows_are_resolved),
        CASE(bad_outcomes_refused),
        CASE(heartbeat_touches_own_picked_jobs),
        CASE(release_hands_back_without_an_attempt),
        CASE(claim_complete_rate),
    };
    return th_main(cases, sizeof cases / sizeof cases[0], argc, argv);
}
