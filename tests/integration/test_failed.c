/* test_failed.c: held jobs (docs/design.md §6, the seed): the worker's `failed`
 * outcome, pgq_list_failed_jobs, pgq_requeue_failed_jobs and
 * pgq_mark_jobs_as_failed against a real PostgreSQL. */
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"

static const char *const QM = "11111111-1111-4111-8111-111111111111";
static const char *const QM2 = "22222222-2222-4222-8222-222222222222";

/* ---- Helpers ----------------------------------------------------------------- */

static pgq_client *fresh(void)
{
    tdb_reset_schema();
    return tdb_client(NULL);
}

static int64_t enqueue(pgq_client *c, const char *ep, const void *p, size_t len,
                       const char *key)
{
    pgq_new_job j = {
        .entrypoint = ep, .payload = p, .payload_len = len, .dedupe_key = key};
    int64_t id = 0;
    CHECK_OK(c, pgq_enqueue(c, &j, 1, PGQ_CONFLICT_RAISE, &id));
    CHECK(id > 0);
    return id;
}

/* Claims the due jobs of ep as worker qm; the caller frees *set. */
static size_t claim(pgq_client *c, const char *ep, const char *qm, pgq_job_set *set)
{
    pgq_claim_entrypoint e = {.entrypoint = ep};
    pgq_claim_opts o = {.queue_manager_id = qm, .batch_size = 100};
    CHECK_OK(c, pgq_claim(c, &e, 1, &o, set));
    return set->count;
}

/* The worker's final failure on a held entrypoint: job id, picked by qm,
 * becomes `failed`. */
static void fail_job(pgq_client *c, const char *qm, int64_t id, const char *type,
                     const char *msg)
{
    pgq_outcome o = {.job_id = id,
                     .status = PGQ_FAILED,
                     .error_type = type,
                     .error_message = msg,
                     .error_detail = "Traceback: line 1"};
    size_t resolved = 0;
    CHECK_OK(c, pgq_complete(c, qm, &o, 1, &resolved));
    CHECK_INT(resolved, 1);
}

/* Enqueues a job of ep and holds it the way a worker does: claim it, then
 * report a final failure. ep must have no other due job. */
static int64_t held(pgq_client *c, const char *ep, const void *p, size_t len,
                    const char *key, const char *msg)
{
    int64_t id = enqueue(c, ep, p, len, key);
    pgq_job_set set = {0};
    CHECK_INT(claim(c, ep, QM, &set), 1);
    CHECK_INT(set.jobs[0].id, id);
    pgq_job_set_free(&set);
    fail_job(c, QM, id, "ValueError", msg);
    return id;
}

static char *status_of(int64_t id)
{
    return tdb_str("SELECT coalesce((SELECT status::text FROM pgqueuer WHERE id = %lld), "
                   "'gone')",
                   (long long)id);
}

#define CHECK_STATUS(id, want)                                                           \
    do {                                                                                 \
        char *s_ = status_of(id);                                                        \
        CHECK_STR(s_, want);                                                             \
        free(s_);                                                                        \
    } while (0)

static long long log_count(int64_t id, const char *status)
{
    return tdb_int(
        "SELECT count(*) FROM pgqueuer_log WHERE job_id = %lld AND status = '%s'",
        (long long)id, status);
}

/* Looks up one id in outcomes (which must be in ascending id order). */
static const pgq_id_outcome *find(const pgq_id_outcome *o, size_t n, int64_t id)
{
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            CHECK(o[i - 1].id < o[i].id);
        if (o[i].id == id)
            return &o[i];
    }
    th_fail(__FILE__, __LINE__, "id %lld missing from the outcomes", (long long)id);
}

static void requeue_ids(pgq_client *c, const int64_t *ids, size_t n, pgq_id_outcome **out,
                        size_t *n_out)
{
    CHECK_OK(c, pgq_requeue_failed_jobs(c, ids, n, NULL, out, n_out));
}

/* A held job's row and payload, compared in SQL so that NUL bytes count. */
static void check_payload_hex(int64_t id, const char *hex)
{
    char *got = tdb_str("SELECT encode(payload, 'hex') FROM pgqueuer WHERE id = %lld",
                        (long long)id);
    CHECK_STR(got, hex);
    free(got);
}

/* ---- The seed's workflow ------------------------------------------------------ */

/* "Job fails and is marked as failed" -> list -> fix -> requeue -> the job
 * is reprocessed; with the C spelling of queries.* */
TEST(seed_workflow)
{
    pgq_client *c = fresh();
    int64_t a = held(c, "payment_processing", "{\"card\":1}", 10, NULL, "card declined");
    int64_t b = held(c, "payment_processing", "{\"card\":2}", 10, NULL, "gateway down");
    int64_t other = enqueue(c, "emails", "x", 1, NULL);

    pgq_failed_set set = {0};
    CHECK_OK(c, pgq_list_failed_jobs(c, NULL, &set));
    CHECK_INT(set.count, 2);
    CHECK_INT(set.jobs[0].job.id, a);
    CHECK_STR(set.jobs[0].job.entrypoint, "payment_processing");
    CHECK_INT(set.jobs[0].job.status, PGQ_FAILED);
    CHECK_STR(set.jobs[0].error_type, "ValueError");
    CHECK_STR(set.jobs[0].error_message, "card declined");
    CHECK_STR(set.jobs[1].error_message, "gateway down");
    CHECK(set.jobs[0].failed_at > 0 && set.jobs[0].failed_at <= set.jobs[1].failed_at);
    CHECK(set.jobs[0].job.queue_manager_id == NULL);
    pgq_failed_set_free(&set);

    int64_t ids[] = {a, b};
    pgq_id_outcome *out = NULL;
    size_t n = 0;
    requeue_ids(c, ids, 2, &out, &n);
    CHECK_INT(n, 2);
    CHECK_INT(find(out, n, a)->result, PGQ_ID_DONE);
    CHECK_INT(find(out, n, b)->result, PGQ_ID_DONE);
    pgq_id_outcomes_free(out);

    CHECK_OK(c, pgq_list_failed_jobs(c, NULL, &set));
    CHECK_INT(set.count, 0);
    pgq_failed_set_free(&set);
    /* "The job returns to queued status and will be picked up by workers." */
    pgq_job_set again = {0};
    CHECK_INT(claim(c, "payment_processing", QM2, &again), 2);
    pgq_job_set_free(&again);
    CHECK_STATUS(other, "queued");
    pgq_client_free(c);
}

/* ---- Bytes, attempts and errors survive a hold -------------------------------- */

TEST(payload_bytes_survive_hold_and_requeue)
{
    pgq_client *c = fresh();
    const unsigned char p[] = {0x00, 0xff, 'a', 0x00, 0x00, 0x80, '\n', 0xfe, 0x00};
    int64_t id = enqueue(c, "held", p, sizeof p, "k1");
    tdb_exec("UPDATE pgqueuer SET attempts = 3 WHERE id = %lld", (long long)id);
    pgq_job_set set = {0};
    CHECK_INT(claim(c, "held", QM, &set), 1);
    pgq_job_set_free(&set);
    fail_job(c, QM, id, "IOError", "disk \"full\"\nsecond line");

    check_payload_hex(id, "00ff610000800afe00");
    CHECK_INT(tdb_int("SELECT attempts FROM pgqueuer WHERE id = %lld", (long long)id), 3);
    char *key = tdb_str("SELECT dedupe_key FROM pgqueuer WHERE id = %lld", (long long)id);
    CHECK_STR(key, "k1");
    free(key);

    pgq_failed_set fs = {0};
    CHECK_OK(c, pgq_list_failed_jobs(c, NULL, &fs));
    CHECK_INT(fs.count, 1);
    CHECK_INT(fs.jobs[0].job.payload_len, sizeof p);
    CHECK(memcmp(fs.jobs[0].job.payload, p, sizeof p) == 0);
    CHECK_INT(fs.jobs[0].job.attempts, 3);
    CHECK_STR(fs.jobs[0].error_message, "disk \"full\"\nsecond line");
    pgq_failed_set_free(&fs);

    pgq_id_outcome *out = NULL;
    size_t n = 0;
    requeue_ids(c, &id, 1, &out, &n);
    CHECK_INT(out[0].result, PGQ_ID_DONE);
    pgq_id_outcomes_free(out);
    check_payload_hex(id, "00ff610000800afe00");
    CHECK_INT(tdb_int("SELECT attempts FROM pgqueuer WHERE id = %lld", (long long)id), 0);
    CHECK_INT(claim(c, "held", QM2, &set), 1);
    CHECK_INT(set.jobs[0].payload_len, sizeof p);
    CHECK(memcmp(set.jobs[0].payload, p, sizeof p) == 0);
    pgq_job_set_free(&set);
    pgq_client_free(c);
}

/* An expression over the job's `failed` log row, as text. */
static char *failed_row(int64_t id, const char *expr)
{
    return tdb_str("SELECT (%s)::text FROM pgqueuer_log WHERE job_id = %lld AND "
                   "status = 'failed'",
                   expr, (long long)id);
}

#define CHECK_FAILED_ROW(id, expr, want)                                                 \
    do {                                                                                 \
        char *v_ = failed_row(id, expr);                                                 \
        CHECK_STR(v_, want);                                                             \
        free(v_);                                                                        \
    } while (0)

/* The worker's `failed` log row carries the docs/design.md §3.3 record. */
TEST(failed_log_row_has_traceback_record)
{
    pgq_client *c = fresh();
    int64_t id = held(c, "held", "p", 1, NULL, "boom");
    char idtext[24];
    snprintf(idtext, sizeof idtext, "%lld", (long long)id);
    CHECK_INT(log_count(id, "failed"), 1);
    CHECK_FAILED_ROW(id,
                     "jsonb_typeof(traceback->'job_id') || ':' || (traceback->>'job_id')",
                     strcat((char[40]){"number:"}, idtext));
    CHECK_FAILED_ROW(id, "traceback->>'exception_type'", "ValueError");
    CHECK_FAILED_ROW(id, "traceback->>'exception_message'", "boom");
    CHECK_FAILED_ROW(id,
                     "(traceback->>'timestamp') ~ "
                     "'^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(\\.\\d+)?Z$'",
                     "true");
    CHECK_FAILED_ROW(id, "jsonb_typeof(traceback->'traceback')", "string");
    CHECK_FAILED_ROW(id, "traceback->'additional_context'->>'entrypoint'", "held");
    CHECK_FAILED_ROW(id, "traceback->'additional_context'->>'queue_manager_id'", QM);
    pgq_client_free(c);
}

/* ---- mark_jobs_as_failed --------------------------------------------------------- */

TEST(mark_failed_outcomes_and_record)
{
    pgq_client *c = fresh();
    int64_t q = enqueue(c, "a", "1", 1, NULL);
    int64_t p = enqueue(c, "b", "2", 1, NULL);
    pgq_job_set set = {0};
    CHECK_INT(claim(c, "b", QM, &set), 1);
    pgq_job_set_free(&set);
    int64_t f = held(c, "c", "3", 1, NULL, "earlier");
    int64_t ids[] = {f, 999999, q, p, q};
    pgq_id_outcome *out = NULL;
    size_t n = 0;
    CHECK_OK(c, pgq_mark_jobs_as_failed(c, ids, 5, NULL, &out, &n));
    CHECK_INT(n, 4); /* the duplicate counts once */
    CHECK_INT(find(out, n, q)->result, PGQ_ID_DONE);
    CHECK_INT(find(out, n, p)->result, PGQ_ID_DONE);
    CHECK_INT(find(out, n, f)->result, PGQ_ID_WRONG_STATUS);
    CHECK_INT(find(out, n, f)->status, PGQ_FAILED);
    CHECK_INT(find(out, n, 999999)->result, PGQ_ID_NOT_FOUND);
    pgq_id_outcomes_free(out);

    CHECK_STATUS(q, "failed");
    CHECK_STATUS(p, "failed");
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer WHERE queue_manager_id IS NOT NULL"),
              0);
    CHECK_INT(log_count(q, "failed"), 1);
    CHECK_INT(log_count(f, "failed"), 1); /* not logged again */
    char *rec = tdb_str("SELECT traceback->>'exception_type' || '|' || "
                        "(traceback->>'exception_message') || '|' || "
                        "(traceback->'additional_context'->>'queue_manager_id') "
                        "FROM pgqueuer_log WHERE job_id = %lld AND status = 'failed'",
                        (long long)p);
    char want[128];
    snprintf(want, sizeof want, "MarkedFailed|marked failed by hand|%s", QM);
    CHECK_STR(rec, want);
    free(rec);
    CHECK_INT(
        tdb_int(
            "SELECT ((traceback->>'timestamp') ~ 'Z$' AND (traceback->>'job_id')::bigint "
            "= job_id)::int FROM pgqueuer_log WHERE job_id = %lld AND status = "
            "'failed'",
            (long long)q),
        1);

    int64_t r = enqueue(c, "a", "4", 1, NULL);
    CHECK_OK(c, pgq_mark_jobs_as_failed(c, &r, 1, "needs review: bad address", &out, &n));
    CHECK_INT(out[0].result, PGQ_ID_DONE);
    pgq_id_outcomes_free(out);
    pgq_failed_set fs = {0};
    pgq_list_failed_opts lo = {.entrypoint = "a", .newest_first = true};
    CHECK_OK(c, pgq_list_failed_jobs(c, &lo, &fs));
    CHECK_INT(fs.count, 2);
    CHECK_INT(fs.jobs[0].job.id, r);
    CHECK_STR(fs.jobs[0].error_type, "MarkedFailed");
    CHECK_STR(fs.jobs[0].error_message, "needs review: bad address");
    pgq_failed_set_free(&fs);
    pgq_client_free(c);
}

/* A worker still running a job that was marked failed cannot delete it or
 * log it successful when its handler returns. */
TEST(mark_failed_while_running_then_completion_is_noop)
{
    pgq_client *c = fresh();
    int64_t a = enqueue(c, "long", "a", 1, NULL);
    int64_t b = enqueue(c, "long", "b", 1, NULL);
    pgq_job_set set = {0};
    CHECK_INT(claim(c, "long", QM, &set), 2);
    pgq_job_set_free(&set);
    int64_t ids[] = {a, b};
    pgq_id_outcome *out = NULL;
    size_t n = 0;
    CHECK_OK(c, pgq_mark_jobs_as_failed(c, ids, 2, NULL, &out, &n));
    CHECK_INT(out[0].result, PGQ_ID_DONE);
    CHECK_INT(out[1].result, PGQ_ID_DONE);
    pgq_id_outcomes_free(out);

    pgq_outcome done[] = {{.job_id = a, .status = PGQ_SUCCESSFUL},
                          {.job_id = b, .status = PGQ_EXCEPTION, .error_message = "x"}};
    size_t resolved = 99;
    CHECK_OK(c, pgq_complete(c, QM, done, 2, &resolved));
    CHECK_INT(resolved, 0);
    CHECK_STATUS(a, "failed");
    CHECK_STATUS(b, "failed");
    CHECK_INT(log_count(a, "successful"), 0);
    CHECK_INT(log_count(b, "exception"), 0);
    /* Neither can it retry, hand back or heartbeat them. */
    int rc = pgq_retry(c, QM, a, 0, "retry after the mark");
    CHECKF(rc == PGQ_OK || rc == PGQ_ENOTFOUND, "pgq_retry: %s", pgq_err_name(rc));
    CHECK_OK(c, pgq_release(c, QM, ids, 2));
    CHECK_OK(c, pgq_heartbeat(c, QM, ids, 2));
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer WHERE status = 'failed' AND "
                      "queue_manager_id IS NULL AND attempts = 0"),
              2);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer_log WHERE status = 'queued'"), 2);
    pgq_client_free(c);
}

TEST(mark_failed_empty_and_bad_arguments)
{
    pgq_client *c = fresh();
    pgq_id_outcome *out = (pgq_id_outcome *)1;
    size_t n = 7;
    CHECK_OK(c, pgq_mark_jobs_as_failed(c, NULL, 0, NULL, &out, &n));
    CHECK(out == NULL && n == 0);
    CHECK_INT(pgq_mark_jobs_as_failed(c, NULL, 2, NULL, &out, &n), PGQ_EINVAL);
    pgq_client_free(c);
}

/* ---- requeue_failed_jobs ---------------------------------------------------------- */

TEST(requeue_resets_row_and_logs)
{
    pgq_client *c = fresh();
    int64_t id = held(c, "held", "p", 1, NULL, "boom");
    tdb_exec(
        "UPDATE pgqueuer SET attempts = 5, execute_after = now() + interval '1 day', "
        "updated = now() - interval '1 hour' WHERE id = %lld",
        (long long)id);
    pgq_id_outcome *out = NULL;
    size_t n = 0;
    requeue_ids(c, &id, 1, &out, &n);
    CHECK_INT(n, 1);
    CHECK_INT(out[0].result, PGQ_ID_DONE);
    CHECK_INT(out[0].status, PGQ_QUEUED);
    pgq_id_outcomes_free(out);
    CHECK_INT(
        tdb_int(
            "SELECT (status = 'queued' AND attempts = 0 AND queue_manager_id IS NULL "
            "AND execute_after <= now() AND updated > now() - interval '1 minute')::int "
            "FROM pgqueuer WHERE id = %lld",
            (long long)id),
        1);
    CHECK_INT(
        tdb_int("SELECT (status = 'queued')::int FROM pgqueuer_log WHERE job_id = %lld "
                "ORDER BY id DESC LIMIT 1",
                (long long)id),
        1);
    CHECK_INT(log_count(id, "queued"), 2); /* enqueue + requeue */
    pgq_client_free(c);
}

TEST(requeue_twice_and_not_failed)
{
    pgq_client *c = fresh();
    int64_t f = held(c, "held", "p", 1, NULL, "boom");
    int64_t q = enqueue(c, "q", "p", 1, NULL);
    int64_t p = enqueue(c, "p", "p", 1, NULL);
    pgq_job_set set = {0};
    CHECK_INT(claim(c, "p", QM, &set), 1);
    pgq_job_set_free(&set);
    int64_t ids[] = {p, 424242, f, q};
    pgq_id_outcome *out = NULL;
    size_t n = 0;
    requeue_ids(c, ids, 4, &out, &n);
    CHECK_INT(n, 4);
    CHECK_INT(find(out, n, f)->result, PGQ_ID_DONE);
    CHECK_INT(find(out, n, q)->result, PGQ_ID_WRONG_STATUS);
    CHECK_INT(find(out, n, q)->status, PGQ_QUEUED);
    CHECK_INT(find(out, n, p)->result, PGQ_ID_WRONG_STATUS);
    CHECK_INT(find(out, n, p)->status, PGQ_PICKED);
    CHECK_INT(find(out, n, 424242)->result, PGQ_ID_NOT_FOUND);
    pgq_id_outcomes_free(out);
    CHECK_STATUS(p, "picked");
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer WHERE queue_manager_id = '%s'", QM),
              1);

    requeue_ids(c, &f, 1, &out, &n);
    CHECK_INT(out[0].result, PGQ_ID_WRONG_STATUS);
    CHECK_INT(out[0].status, PGQ_QUEUED);
    pgq_id_outcomes_free(out);
    CHECK_INT(log_count(f, "queued"), 2);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer"), 3);
    pgq_client_free(c);
}

/* A dedupe key taken meanwhile by another active job is reported; the rest
 * are still re-queued, and of two held jobs sharing a key only one moves. */
TEST(requeue_dedupe_conflicts)
{
    pgq_client *c = fresh();
    int64_t a = held(c, "held", "a", 1, "k1", "x");
    int64_t b = held(c, "held", "b", 1, "k2", "x");
    int64_t d1 = held(c, "held", "d1", 2, "k3", "x");
    int64_t d2 = held(c, "held", "d2", 2, "k3", "x");
    int64_t plain = held(c, "held", "p", 1, NULL, "x");
    int64_t active = enqueue(c, "other", "n", 1, "k1");
    int64_t ids[] = {a, b, d1, d2, plain};
    pgq_id_outcome *out = NULL;
    size_t n = 0;
    requeue_ids(c, ids, 5, &out, &n);
    CHECK_INT(n, 5);
    CHECK_INT(find(out, n, a)->result, PGQ_ID_DEDUPE_TAKEN);
    CHECK_INT(find(out, n, a)->status, PGQ_FAILED);
    CHECK_INT(find(out, n, b)->result, PGQ_ID_DONE);
    CHECK_INT(find(out, n, d1)->result, PGQ_ID_DONE);
    CHECK_INT(find(out, n, d2)->result, PGQ_ID_DEDUPE_TAKEN);
    CHECK_INT(find(out, n, plain)->result, PGQ_ID_DONE);
    pgq_id_outcomes_free(out);
    CHECK_STATUS(a, "failed");
    CHECK_STATUS(d2, "failed");
    CHECK_STATUS(active, "queued");

    /* Once the other job is done the key is free again. */
    pgq_job_set set = {0};
    CHECK_INT(claim(c, "other", QM, &set), 1);
    pgq_job_set_free(&set);
    pgq_outcome ok = {.job_id = active, .status = PGQ_SUCCESSFUL};
    CHECK_OK(c, pgq_complete(c, QM, &ok, 1, NULL));
    pgq_requeue_opts all = {.all = true};
    CHECK_OK(c, pgq_requeue_failed_jobs(c, NULL, 0, &all, &out, &n));
    CHECK_INT(n, 2);
    CHECK_INT(find(out, n, a)->result, PGQ_ID_DONE);
    CHECK_INT(find(out, n, d2)->result, PGQ_ID_DEDUPE_TAKEN);
    pgq_id_outcomes_free(out);
    pgq_client_free(c);
}

TEST(requeue_with_new_payload)
{
    pgq_client *c = fresh();
    int64_t a = held(c, "held", "bad", 3, NULL, "x");
    int64_t b = held(c, "held", "bad", 3, NULL, "x");
    const unsigned char fix[] = {'o', 0x00, 'k', 0xff};
    pgq_requeue_opts o = {.payload = fix, .payload_len = sizeof fix};
    int64_t both[] = {a, b};
    pgq_id_outcome *out = NULL;
    size_t n = 0;
    CHECK_INT(pgq_requeue_failed_jobs(c, both, 2, &o, &out, &n), PGQ_EINVAL);
    CHECK(out == NULL && n == 0);
    CHECK_STATUS(a, "failed");
    CHECK_STATUS(b, "failed");
    CHECK_OK(c, pgq_requeue_failed_jobs(c, &a, 1, &o, &out, &n));
    CHECK_INT(out[0].result, PGQ_ID_DONE);
    pgq_id_outcomes_free(out);
    check_payload_hex(a, "6f006bff");
    check_payload_hex(b, "626164");
    /* An empty replacement is an empty payload, not SQL NULL. */
    pgq_requeue_opts empty = {.payload = "", .payload_len = 0};
    CHECK_OK(c, pgq_requeue_failed_jobs(c, &b, 1, &empty, &out, &n));
    pgq_id_outcomes_free(out);
    CHECK_INT(tdb_int("SELECT (payload = ''::bytea)::int FROM pgqueuer WHERE id = %lld",
                      (long long)b),
              1);
    /* A job that is not held keeps its payload. */
    CHECK_OK(c, pgq_requeue_failed_jobs(c, &a, 1, &empty, &out, &n));
    CHECK_INT(out[0].result, PGQ_ID_WRONG_STATUS);
    pgq_id_outcomes_free(out);
    check_payload_hex(a, "6f006bff");
    pgq_client_free(c);
}

TEST(requeue_by_entrypoint_or_all)
{
    pgq_client *c = fresh();
    int64_t a1 = held(c, "a", "1", 1, NULL, "x");
    int64_t a2 = held(c, "a", "2", 1, NULL, "x");
    int64_t b1 = held(c, "b", "3", 1, NULL, "x");
    int64_t q = enqueue(c, "a", "q", 1, NULL);
    pgq_id_outcome *out = NULL;
    size_t n = 0;
    pgq_requeue_opts bad[] = {{0}, {.entrypoint = ""}};
    for (size_t i = 0; i < 2; i++)
        CHECK_INT(pgq_requeue_failed_jobs(c, NULL, 0, &bad[i], &out, &n), PGQ_EINVAL);
    CHECK_INT(pgq_requeue_failed_jobs(c, NULL, 0, NULL, &out, &n), PGQ_EINVAL);
    pgq_requeue_opts ep_and_ids = {.entrypoint = "a"};
    CHECK_INT(pgq_requeue_failed_jobs(c, &b1, 1, &ep_and_ids, &out, &n), PGQ_EINVAL);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer WHERE status = 'failed'"), 3);

    pgq_requeue_opts by_ep = {.entrypoint = "a"};
    CHECK_OK(c, pgq_requeue_failed_jobs(c, NULL, 0, &by_ep, &out, &n));
    CHECK_INT(n, 2);
    CHECK_INT(find(out, n, a1)->result, PGQ_ID_DONE);
    CHECK_INT(find(out, n, a2)->result, PGQ_ID_DONE);
    pgq_id_outcomes_free(out);
    CHECK_STATUS(b1, "failed");
    CHECK_STATUS(q, "queued");
    CHECK_OK(c, pgq_requeue_failed_jobs(c, NULL, 0, &by_ep, &out, &n));
    CHECK_INT(n, 0);
    pgq_id_outcomes_free(out);
    pgq_requeue_opts all = {.all = true};
    CHECK_OK(c, pgq_requeue_failed_jobs(c, NULL, 0, &all, &out, &n));
    CHECK_INT(n, 1);
    CHECK_INT(out[0].id, b1);
    CHECK_INT(out[0].result, PGQ_ID_DONE);
    pgq_id_outcomes_free(out);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer WHERE status = 'failed'"), 0);
    pgq_client_free(c);
}

/* Waits up to 5 s for the next notification on a listening connection. */
static PGnotify *next_notify(PGconn *l)
{
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        PQconsumeInput(l);
        PGnotify *m = PQnotifies(l);
        if (m)
            return m;
        clock_gettime(CLOCK_MONOTONIC, &now);
        int left = 5000 - (int)((now.tv_sec - t0.tv_sec) * 1000 +
                                (now.tv_nsec - t0.tv_nsec) / 1000000);
        if (left <= 0)
            return NULL;
        struct pollfd pfd = {.fd = PQsocket(l), .events = POLLIN};
        poll(&pfd, 1, left);
    }
}

/* Re-queue is an UPDATE, which the trigger does not announce; the statement
 * wakes the workers itself, and only when it moved a job. */
TEST(requeue_sends_wakeup)
{
    pgq_client *c = fresh();
    int64_t id = held(c, "held", "p", 1, NULL, "x");
    int64_t q = enqueue(c, "q", "p", 1, NULL);
    PGconn *l = PQconnectdb("");
    CHECK(PQstatus(l) == CONNECTION_OK);
    PQclear(PQexec(l, "LISTEN ch_pgqueuer"));

    pgq_id_outcome *out = NULL;
    size_t n = 0;
    requeue_ids(c, &q, 1, &out, &n); /* nothing moves: no wake-up */
    pgq_id_outcomes_free(out);
    tdb_exec("NOTIFY ch_pgqueuer, 'sentinel'");
    PGnotify *m = next_notify(l);
    CHECK(m != NULL);
    CHECK_STR(m->extra, "sentinel");
    PQfreemem(m);

    requeue_ids(c, &id, 1, &out, &n);
    pgq_id_outcomes_free(out);
    m = next_notify(l);
    CHECK(m != NULL);
    CHECK_STR(m->relname, "ch_pgqueuer");
    char *ok =
        tdb_str("SELECT ((j->>'type') = 'table_changed_event' AND (j->>'operation') = "
                "'update' AND (j->>'table') = 'pgqueuer' AND (j->>'channel') = "
                "'ch_pgqueuer' AND (j->>'sent_at')::timestamptz <= now())::text "
                "FROM (SELECT '%s'::json AS j) s",
                m->extra);
    CHECK_STR(ok, "true");
    free(ok);
    PQfreemem(m);
    PQfinish(l);
    pgq_client_free(c);
}

/* ---- Races ------------------------------------------------------------------------- */

enum { RACE_JOBS = 300 };

typedef struct racer {
    const int64_t *ids;
    size_t n;
    pthread_barrier_t *start;
    pgq_id_outcome *out;
    size_t n_out;
    int rc;
} racer;

static void *race_requeue(void *arg)
{
    racer *r = arg;
    pgq_client *c = tdb_client(NULL);
    pthread_barrier_wait(r->start);
    r->rc = pgq_requeue_failed_jobs(c, r->ids, r->n, NULL, &r->out, &r->n_out);
    pgq_client_free(c);
    return NULL;
}

/* Marks RACE_JOBS fresh jobs failed by hand; returns their ids. */
static int64_t *many_held(pgq_client *c, const char *ep)
{
    int64_t *ids = calloc(RACE_JOBS, sizeof *ids);
    pgq_new_job jobs[RACE_JOBS];
    for (int i = 0; i < RACE_JOBS; i++)
        jobs[i] = (pgq_new_job){.entrypoint = ep, .payload = "p", .payload_len = 1};
    CHECK_OK(c, pgq_enqueue(c, jobs, RACE_JOBS, PGQ_CONFLICT_RAISE, ids));
    pgq_id_outcome *out = NULL;
    size_t n = 0;
    CHECK_OK(c, pgq_mark_jobs_as_failed(c, ids, RACE_JOBS, "race", &out, &n));
    CHECK_INT(n, RACE_JOBS);
    pgq_id_outcomes_free(out);
    return ids;
}

/* Two operators re-queue the same jobs at once (in opposite orders): each
 * job is re-queued exactly once, and each report says exactly which. */
TEST(racing_requeues_of_the_same_ids)
{
    pgq_client *c = fresh();
    int64_t *ids = many_held(c, "race");
    int64_t *rev = calloc(RACE_JOBS, sizeof *rev);
    for (int i = 0; i < RACE_JOBS; i++)
        rev[i] = ids[RACE_JOBS - 1 - i];
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, 2);
    racer r[2] = {{ids, RACE_JOBS, &start, NULL, 0, 0},
                  {rev, RACE_JOBS, &start, NULL, 0, 0}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, race_requeue, &r[i]);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    size_t done = 0;
    for (int i = 0; i < 2; i++) {
        CHECK_INT(r[i].rc, PGQ_OK);
        CHECK_INT(r[i].n_out, RACE_JOBS);
    }
    for (size_t k = 0; k < RACE_JOBS; k++) {
        bool d0 = r[0].out[k].result == PGQ_ID_DONE,
             d1 = r[1].out[k].result == PGQ_ID_DONE;
        CHECKF(d0 != d1, "job %lld re-queued %d times", (long long)r[0].out[k].id,
               d0 + d1);
        const pgq_id_outcome *loser = d0 ? &r[1].out[k] : &r[0].out[k];
        CHECK_INT(loser->result, PGQ_ID_WRONG_STATUS);
        CHECK_INT(loser->status, PGQ_QUEUED);
        done += d0 + d1;
    }
    CHECK_INT(done, RACE_JOBS);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer WHERE status = 'queued'"),
              RACE_JOBS);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer_log WHERE status = 'queued'"),
              2 * RACE_JOBS);
    for (int i = 0; i < 2; i++)
        pgq_id_outcomes_free(r[i].out);
    free(ids);
    free(rev);
    pgq_client_free(c);
}

typedef struct worker_loop {
    atomic_bool stop;
    size_t completed;
} worker_loop;

/* A worker that claims and completes `race` jobs until told to stop. */
static void *race_worker(void *arg)
{
    worker_loop *w = arg;
    pgq_client *c = tdb_client(NULL);
    while (!atomic_load(&w->stop)) {
        pgq_job_set set = {0};
        pgq_claim_entrypoint e = {.entrypoint = "race"};
        pgq_claim_opts o = {.queue_manager_id = QM2, .batch_size = 20};
        if (pgq_claim(c, &e, 1, &o, &set) != PGQ_OK)
            break;
        for (size_t i = 0; i < set.count; i++) {
            pgq_outcome oc = {.job_id = set.jobs[i].id, .status = PGQ_SUCCESSFUL};
            size_t resolved = 0;
            if (pgq_complete(c, QM2, &oc, 1, &resolved) == PGQ_OK)
                w->completed += resolved;
        }
        pgq_job_set_free(&set);
    }
    pgq_client_free(c);
    return NULL;
}

/* Requeues racing each other and a running worker: every job ends
 * successful exactly once; none is duplicated or lost. */
TEST(requeue_racing_a_running_worker)
{
    pgq_client *c = fresh();
    int64_t *ids = many_held(c, "race");
    worker_loop w = {.completed = 0};
    atomic_init(&w.stop, false);
    pthread_t wt;
    pthread_create(&wt, NULL, race_worker, &w);
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, 2);
    racer r[2] = {{ids, RACE_JOBS, &start, NULL, 0, 0},
                  {ids, RACE_JOBS / 2, &start, NULL, 0, 0}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, race_requeue, &r[i]);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    size_t done = 0;
    for (int i = 0; i < 2; i++) {
        CHECK_INT(r[i].rc, PGQ_OK);
        for (size_t k = 0; k < r[i].n_out; k++)
            done += r[i].out[k].result == PGQ_ID_DONE;
        pgq_id_outcomes_free(r[i].out);
    }
    CHECK_INT(done, RACE_JOBS);
    /* Wait (with a deadline) for the worker to finish every job. */
    for (int i = 0; i < 500 && tdb_int("SELECT count(*) FROM pgqueuer") > 0; i++)
        nanosleep(&(struct timespec){0, 20 * 1000 * 1000}, NULL);
    atomic_store(&w.stop, true);
    pthread_join(wt, NULL);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer"), 0);
    CHECK_INT(w.completed, RACE_JOBS);
    CHECK_INT(tdb_int("SELECT count(DISTINCT job_id) FROM pgqueuer_log WHERE status = "
                      "'successful'"),
              RACE_JOBS);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer_log WHERE status = 'successful'"),
              RACE_JOBS);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer_log WHERE status = 'queued'"),
              2 * RACE_JOBS);
    free(ids);
    pgq_client_free(c);
}

/* ---- list_failed_jobs ----------------------------------------------------------------
 */

TEST(list_failed_limit_filter_order_and_last_error)
{
    pgq_client *c = fresh();
    int64_t a = held(c, "a", "1", 1, NULL, "first error");
    int64_t b = held(c, "b", "22", 2, NULL, "b error");
    int64_t a2 = held(c, "a", "333", 3, NULL, "a2 error");
    /* a fails a second time: the list shows its latest failure. */
    pgq_id_outcome *out = NULL;
    size_t n = 0;
    requeue_ids(c, &a, 1, &out, &n);
    pgq_id_outcomes_free(out);
    pgq_job_set set = {0};
    CHECK_INT(claim(c, "a", QM, &set), 1);
    pgq_job_set_free(&set);
    fail_job(c, QM, a, "KeyError", "second error");
    /* A job held without a log row (an older PgQueuer, or a pruned log). */
    tdb_exec("INSERT INTO pgqueuer (priority, status, entrypoint, payload) "
             "VALUES (7, 'failed', 'legacy', NULL)");
    int64_t legacy = tdb_int("SELECT max(id) FROM pgqueuer");

    pgq_failed_set fs = {0};
    CHECK_OK(c, pgq_list_failed_jobs(c, NULL, &fs));
    CHECK_INT(fs.count, 4);
    CHECK_INT(fs.jobs[0].job.id, b);
    CHECK_INT(fs.jobs[1].job.id, a2);
    CHECK_INT(fs.jobs[2].job.id, a);
    CHECK_INT(fs.jobs[3].job.id, legacy);
    CHECK_STR(fs.jobs[2].error_type, "KeyError");
    CHECK_STR(fs.jobs[2].error_message, "second error");
    CHECK(fs.jobs[3].error_message == NULL && fs.jobs[3].error_type == NULL);
    CHECK(fs.jobs[3].job.payload == NULL);
    CHECK_INT(fs.jobs[3].job.priority, 7);
    CHECK_INT(fs.jobs[1].job.payload_len, 3);
    for (size_t i = 1; i < fs.count; i++)
        CHECK(fs.jobs[i - 1].failed_at <= fs.jobs[i].failed_at);
    pgq_failed_set_free(&fs);

    pgq_list_failed_opts o = {.limit = 2, .newest_first = true};
    CHECK_OK(c, pgq_list_failed_jobs(c, &o, &fs));
    CHECK_INT(fs.count, 2);
    CHECK_INT(fs.jobs[0].job.id, legacy);
    CHECK_INT(fs.jobs[1].job.id, a);
    pgq_failed_set_free(&fs);
    pgq_list_failed_opts only_a = {.entrypoint = "a"};
    CHECK_OK(c, pgq_list_failed_jobs(c, &only_a, &fs));
    CHECK_INT(fs.count, 2);
    CHECK_STR(fs.jobs[0].job.entrypoint, "a");
    CHECK_STR(fs.jobs[1].job.entrypoint, "a");
    pgq_failed_set_free(&fs);
    /* Sizes only: the same rows and lengths, and no payload read. */
    pgq_list_failed_opts sizes = {.sizes_only = true};
    CHECK_OK(c, pgq_list_failed_jobs(c, &sizes, &fs));
    CHECK_INT(fs.count, 4);
    CHECK_INT(fs.jobs[1].job.id, a2);
    CHECK(fs.jobs[1].job.payload == NULL);
    CHECK_INT(fs.jobs[1].job.payload_len, 3);
    CHECK_INT(fs.jobs[0].job.payload_len, 2);
    CHECK_INT(fs.jobs[3].job.payload_len, 0);
    CHECK_STR(fs.jobs[2].error_message, "second error");
    pgq_failed_set_free(&fs);
    pgq_list_failed_opts neg = {.limit = -1};
    CHECK_INT(pgq_list_failed_jobs(c, &neg, &fs), PGQ_EINVAL);
    pgq_client_free(c);
}

/* Every object name comes from the configuration: a prefixed install works
 * the same, and wakes its own channel. */
TEST(prefixed_names)
{
    tdb_reset_schema();
    pgq_client *c = tdb_client("app_");
    pgq_sql_opts so = {0};
    CHECK_OK(c, pgq_install(c, &so));
    int64_t id = enqueue(c, "x", "p", 1, NULL);
    pgq_id_outcome *out = NULL;
    size_t n = 0;
    CHECK_OK(c, pgq_mark_jobs_as_failed(c, &id, 1, NULL, &out, &n));
    CHECK_INT(out[0].result, PGQ_ID_DONE);
    pgq_id_outcomes_free(out);
    pgq_failed_set fs = {0};
    CHECK_OK(c, pgq_list_failed_jobs(c, NULL, &fs));
    CHECK_INT(fs.count, 1);
    CHECK_STR(fs.jobs[0].error_type, "MarkedFailed");
    pgq_failed_set_free(&fs);
    PGconn *l = PQconnectdb("");
    PQclear(PQexec(l, "LISTEN app_ch_pgqueuer"));
    CHECK_OK(c, pgq_requeue_failed_jobs(c, &id, 1, NULL, &out, &n));
    CHECK_INT(out[0].result, PGQ_ID_DONE);
    pgq_id_outcomes_free(out);
    PGnotify *m = next_notify(l);
    CHECK(m != NULL && strstr(m->extra, "\"app_pgqueuer\"") != NULL);
    PQfreemem(m);
    PQfinish(l);
    CHECK_INT(tdb_int("SELECT count(*) FROM app_pgqueuer WHERE status = 'queued'"), 1);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer"), 0);
    pgq_client_free(c);
}

int main(int argc, char **argv)
{
    static const th_case cases[] = {
        CASE(seed_workflow),
        CASE(payload_bytes_survive_hold_and_requeue),
        CASE(failed_log_row_has_traceback_record),
        CASE(mark_failed_outcomes_and_record),
        CASE(mark_failed_while_running_then_completion_is_noop),
        CASE(mark_failed_empty_and_bad_arguments),
        CASE(requeue_resets_row_and_logs),
        CASE(requeue_twice_and_not_failed),
        CASE(requeue_dedupe_conflicts),
        CASE(requeue_with_new_payload),
        CASE(requeue_by_entrypoint_or_all),
        CASE(requeue_sends_wakeup),
        CASE(racing_requeues_of_the_same_ids),
        CASE(requeue_racing_a_running_worker),
        CASE(list_failed_limit_filter_order_and_last_error),
        CASE(prefixed_names),
    };
    return th_main(cases, sizeof cases / sizeof cases[0], argc, argv);
}
