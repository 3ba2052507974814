/* test_fastpath.c: the cheap statements against the general ones. A batch of
 * successes goes through complete_ok.sql, any other batch through
 * complete.sql; the claim returns constants and date_part epochs. These
 * cases check that what a caller and the database see is the same either
 * way. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define QM1 "11111111-1111-4111-8111-111111111111"
#define QM2 "22222222-2222-4222-8222-222222222222"
#define QMA "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"
#define QMA_UPPER "AAAAAAAA-BBBB-4CCC-8DDD-EEEEEEEEEEEE"

/* Enqueues n jobs of entrypoint ep with the given priority. */
static void enqueue_n(pgq_client *c, const char *ep, int n, int priority)
{
    for (int i = 0; i < n; i++) {
        pgq_new_job j = {.entrypoint = ep,
                         .priority = priority,
                         .payload = "p",
                         .payload_len = 1,
                         .headers = "{\"k\": 1}"};
        CHECK_OK(c, pgq_enqueue(c, &j, 1, PGQ_CONFLICT_RAISE, NULL));
    }
}

/* Claims up to n jobs of ep for qm; their ids, in the order returned. */
static size_t claim_ids(pgq_client *c, const char *ep, const char *qm, int n,
                        int64_t *ids)
{
    pgq_claim_entrypoint e = {.entrypoint = ep, .retry_timer = 1};
    pgq_claim_opts o = {.queue_manager_id = qm, .batch_size = n, .max_takeovers = 2};
    pgq_job_set set;
    CHECK_OK(c, pgq_claim(c, &e, 1, &o, &set));
    for (size_t i = 0; i < set.count; i++)
        ids[i] = set.jobs[i].id;
    size_t got = set.count;
    pgq_job_set_free(&set);
    return got;
}

/* The log rows of one job, oldest first, as status/priority/entrypoint/
 * traceback-is-null, joined by ';'. */
static char *log_of(int64_t id)
{
    return tdb_str("SELECT string_agg(concat_ws('/', status, priority, entrypoint, "
                   "traceback IS NULL), ';' ORDER BY id) FROM pgqueuer_log WHERE "
                   "job_id = %lld",
                   (long long)id);
}

TEST(successes_alone_log_what_a_mixed_batch_logs)
{
    pgq_client *c = tdb_fresh();
    enqueue_n(c, "ok", 3, 7);
    enqueue_n(c, "mix", 3, 7);
    int64_t ok[3], mix[3];
    CHECK_INT(claim_ids(c, "ok", QM1, 3, ok), 3);
    CHECK_INT(claim_ids(c, "mix", QM1, 3, mix), 3);
    pgq_outcome all_ok[3], mixed[3];
    for (int i = 0; i < 3; i++) {
        all_ok[i] = (pgq_outcome){.job_id = ok[i], .status = PGQ_SUCCESSFUL};
        mixed[i] = (pgq_outcome){.job_id = mix[i], .status = PGQ_SUCCESSFUL};
    }
    mixed[2].status = PGQ_CANCELED; /* sends the batch through complete.sql */
    size_t resolved = 0;
    CHECK_OK(c, pgq_complete(c, QM1, all_ok, 3, &resolved));
    CHECK_INT(resolved, 3);
    CHECK_OK(c, pgq_complete(c, QM1, mixed, 3, &resolved));
    CHECK_INT(resolved, 3);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer"), 0);
    for (int i = 0; i < 2; i++) {
        char *a = log_of(ok[i]), *b = log_of(mix[i]);
        CHECK_STR(a, "queued/7/ok/t;picked/7/ok/t;successful/7/ok/t");
        CHECK_STR(b, "queued/7/mix/t;picked/7/mix/t;successful/7/mix/t");
        free(a);
        free(b);
    }
    pgq_client_free(c);
}

TEST(successes_resolve_only_own_picked_rows_once)
{
    pgq_client *c = tdb_fresh();
    enqueue_n(c, "o", 4, 0);
    int64_t ids[4];
    CHECK_INT(claim_ids(c, "o", QM1, 4, ids), 4);
    long long missing_id = tdb_int("SELECT nextval('pgqueuer_id_seq')");
    /* ids[1] is held as failed meanwhile, ids[2] was cancelled. */
    tdb_exec("UPDATE pgqueuer SET status = 'failed', queue_manager_id = NULL "
             "WHERE id = %lld",
             (long long)ids[1]);
    tdb_exec("DELETE FROM pgqueuer WHERE id = %lld", (long long)ids[2]);
    long long logs = tdb_int("SELECT count(*) FROM pgqueuer_log");
    pgq_outcome out[6] = {
        {.job_id = ids[0], .status = PGQ_SUCCESSFUL},
        {.job_id = ids[1], .status = PGQ_SUCCESSFUL},
        {.job_id = ids[2], .status = PGQ_SUCCESSFUL},
        {.job_id = missing_id, .status = PGQ_SUCCESSFUL}, /* no such job */
        {.job_id = ids[0], .status = PGQ_SUCCESSFUL},     /* given twice */
        {.job_id = ids[3], .status = PGQ_SUCCESSFUL},
    };
    size_t resolved = 9;
    CHECK_OK(c, pgq_complete(c, QM2, out, 6, &resolved)); /* not QM2's */
    CHECK_INT(resolved, 0);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer_log"), logs);
    CHECK_OK(c, pgq_complete(c, QM1, out, 6, &resolved));
    CHECK_INT(resolved, 2);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer_log"), logs + 2);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer_log WHERE status = 'successful' "
                      "AND job_id IN (%lld, %lld)",
                      (long long)ids[0], (long long)ids[3]),
              2);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer WHERE id = %lld AND status = "
                      "'failed'",
                      (long long)ids[1]),
              1);
    pgq_client_free(c);
}

/* Every field of a claimed job against its row, as the table has it. */
static void check_job_matches_row(const pgq_job *j)
{
    char *row =
        tdb_str("SELECT concat_ws('|', priority, attempts, status, entrypoint, "
                "encode(payload, 'escape'), headers::text, queue_manager_id, "
                "extract(epoch FROM created), extract(epoch FROM updated), "
                "extract(epoch FROM heartbeat), extract(epoch FROM execute_after)) "
                "FROM pgqueuer WHERE id = %lld",
                (long long)j->id);
    char *parts[11] = {0};
    char *save = NULL, *p = row ? strtok_r(row, "|", &save) : NULL;
    for (int i = 0; i < 11 && p; i++, p = strtok_r(NULL, "|", &save))
        parts[i] = p;
    CHECKF(parts[10], "row of job %lld: %s", (long long)j->id, row ? row : "none");
    CHECK_INT(j->priority, atoi(parts[0]));
    CHECK_INT(j->attempts, atoi(parts[1]));
    CHECK_STR(pgq_job_status_name(j->status), parts[2]);
    CHECK_STR(j->entrypoint, parts[3]);
    CHECK(j->payload_len == strlen(parts[4]));
    CHECK(!memcmp(j->payload, parts[4], j->payload_len));
    CHECK_STR(j->headers, parts[5]);
    CHECK_STR(j->queue_manager_id, parts[6]);
    const double t[4] = {j->created, j->updated, j->heartbeat, j->execute_after};
    for (int i = 0; i < 4; i++)
        CHECKF(fabs(t[i] - strtod(parts[7 + i], NULL)) < 1e-6,
               "timestamp %d of job %lld: %.6f, row has %s", i, (long long)j->id, t[i],
               parts[7 + i]);
    free(row);
}

TEST(claimed_jobs_carry_their_rows)
{
    pgq_client *c = tdb_fresh();
    enqueue_n(c, "r", 3, 2);
    tdb_exec("UPDATE pgqueuer SET execute_after = now() - interval '1.234567 s', "
             "attempts = 4 WHERE id = (SELECT min(id) FROM pgqueuer)");
    pgq_claim_entrypoint e = {.entrypoint = "r"};
    /* Upper case in, the canonical uuid text out, as the column gives it. */
    pgq_claim_opts o = {.queue_manager_id = QMA_UPPER, .batch_size = 3};
    pgq_job_set set;
    CHECK_OK(c, pgq_claim(c, &e, 1, &o, &set));
    CHECK_INT(set.count, 3);
    for (size_t i = 0; i < set.count; i++) {
        CHECK_STR(set.jobs[i].queue_manager_id, QMA);
        check_job_matches_row(&set.jobs[i]);
    }
    pgq_job_set_free(&set);
    pgq_client_free(c);
}

TEST(poisoned_and_fresh_jobs_in_one_claim)
{
    pgq_client *c = tdb_fresh();
    enqueue_n(c, "p", 1, 0);
    long long poison = tdb_int("SELECT id FROM pgqueuer");
    int64_t ids[4];
    const char *qms[] = {QM1, QM2};
    for (int i = 0; i < 2; i++) {
        CHECK_INT(claim_ids(c, "p", qms[i], 4, ids), 1);
        tdb_exec("UPDATE pgqueuer SET heartbeat = now() - interval '2 s', updated = "
                 "now() - interval '2 s'"); /* its worker died */
    }
    enqueue_n(c, "p", 2, 9);
    /* Picked twice (max_takeovers 2): held; the two queued ones are claimed. */
    size_t got = claim_ids(c, "p", QM1, 4, ids);
    CHECK_INT(got, 2);
    CHECK(ids[0] != poison && ids[1] != poison);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer WHERE id = %lld AND status = "
                      "'failed' AND queue_manager_id IS NULL AND heartbeat < now() - "
                      "interval '1 s'",
                      poison),
              1);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer WHERE status = 'picked' AND "
                      "queue_manager_id = '" QM1 "'"),
              2);
    char *rec = tdb_str("SELECT concat_ws('|', traceback->>'exception_type', "
                        "traceback->'additional_context'->>'queue_manager_id', "
                        "traceback->>'exception_message') FROM pgqueuer_log WHERE "
                        "job_id = %lld AND status = 'failed'",
                        poison);
    CHECK_STR(rec, "WorkerDied|" QM2 "|the job's workers died 2 times");
    free(rec);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer_log WHERE status = 'picked' AND "
                      "traceback IS NULL AND job_id IN (%lld, %lld)",
                      (long long)ids[0], (long long)ids[1]),
              2);
    pgq_client_free(c);
}

int main(int argc, char **argv)
{
    static const th_case cases[] = {
        CASE(successes_alone_log_what_a_mixed_batch_logs),
        CASE(successes_resolve_only_own_picked_rows_once),
        CASE(claimed_jobs_carry_their_rows),
        CASE(poisoned_and_fresh_jobs_in_one_claim),
    };
    return th_main(cases, sizeof cases / sizeof cases[0], argc, argv);
}
