/* test_null_handles.c: what include/pgq.h promises for a NULL handle. Every
 * operation on a pgq_client (and on a pgq_bulk, pgq_worker, pgq_report or
 * pgq_cron) given NULL returns PGQ_EINVAL without touching anything; the
 * accessors answer "" (or NULL / 0); every *_free, pgq_bulk_abort and
 * pgq_worker_stop do nothing. Each case runs in its own process, so a
 * dereference fails that case alone. The other arguments are valid, so the
 * NULL handle is the only thing to refuse. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"

/* An operation returning a status: PGQ_EINVAL for the NULL handle. */
#define EINVAL_CASE(name, call)                                                          \
    TEST(name)                                                                           \
    {                                                                                    \
        CHECK_INT(call, PGQ_EINVAL);                                                     \
    }

static const int64_t ids[] = {1, 2};
static const char *const eps[] = {"ep"};
static const pgq_new_job job = {.entrypoint = "ep"};
static const pgq_claim_entrypoint claim_ep = {.entrypoint = "ep"};
static const pgq_claim_opts claim_opts = {
    .queue_manager_id = "00000000-0000-0000-0000-000000000001", .batch_size = 1};
static const pgq_outcome outcome = {.job_id = 1, .status = PGQ_SUCCESSFUL};
static const pgq_sql_opts sql_opts = {0};
static const pgq_requeue_opts requeue_opts = {.all = true};
static const pgq_list_failed_opts failed_opts = {0};
static const pgq_wait_opts wait_opts = {.timeout = 1};
static const pgq_schedule_opts schedule_opts = {.mode = PGQ_SCHEDULE_ENQUEUE};
static const char *const qm = "00000000-0000-0000-0000-000000000001";

static void ignore_problem(void *ud, const char *problem)
{
    (void)ud;
    (void)problem;
}

static void ignore_statement(void *ud, const char *statement)
{
    (void)ud;
    (void)statement;
}

static int handler(const pgq_job *j, pgq_job_ctx *ctx)
{
    (void)j;
    (void)ctx;
    return 0;
}

/* Out-parameters every case may write to. */
static pgq_bulk *bulk_out;
static pgq_job_set job_set;
static pgq_failed_set failed_set;
static pgq_overview overview;
static pgq_id_outcome *outcomes;
static pgq_count_row *count_rows;
static pgq_stat_row *stat_rows;
static pgq_log_entry *log_rows;
static pgq_schedule_row *schedule_rows;
static pgq_report *report;
static size_t n_out, resolved;
static uint64_t count64, count64b;
static int problems, applied;
static int64_t next;
static pgq_schema_shape shape;
static char *json, err[128];

/* ---- pgq_client --------------------------------------------------------- */

EINVAL_CASE(install, pgq_install(NULL, &sql_opts))
EINVAL_CASE(uninstall, pgq_uninstall(NULL))
EINVAL_CASE(upgrade, pgq_upgrade(NULL))
EINVAL_CASE(upgrade_run,
            pgq_upgrade_run(NULL, &sql_opts, true, ignore_statement, NULL, &applied))
EINVAL_CASE(set_durability, pgq_set_durability(NULL, PGQ_DURABLE))
EINVAL_CASE(autovac, pgq_autovac(NULL, false))
EINVAL_CASE(verify, pgq_verify(NULL, true, ignore_problem, NULL, &problems))
EINVAL_CASE(verify_shape,
            pgq_verify_shape(NULL, true, ignore_problem, NULL, &problems, &shape))
EINVAL_CASE(enqueue, pgq_enqueue(NULL, &job, 1, PGQ_CONFLICT_RAISE, NULL))
EINVAL_CASE(bulk_begin, pgq_bulk_begin(NULL, &bulk_out))
EINVAL_CASE(claim, pgq_claim(NULL, &claim_ep, 1, &claim_opts, &job_set))
EINVAL_CASE(complete, pgq_complete(NULL, qm, &outcome, 1, &resolved))
EINVAL_CASE(retry, pgq_retry(NULL, qm, 1, 1.0, "why"))
EINVAL_CASE(heartbeat, pgq_heartbeat(NULL, qm, ids, 2))
EINVAL_CASE(release, pgq_release(NULL, qm, ids, 2))
EINVAL_CASE(cancel, pgq_cancel(NULL, ids, 2, &outcomes, &n_out))
EINVAL_CASE(clear, pgq_clear(NULL, eps, 1, &count64))
EINVAL_CASE(queue_size, pgq_queue_size(NULL, &count_rows, &n_out))
EINVAL_CASE(log_statistics, pgq_log_statistics(NULL, 0, &stat_rows, &n_out))
EINVAL_CASE(job_statuses, pgq_job_statuses(NULL, ids, 2, &outcomes, &n_out))
EINVAL_CASE(prune, pgq_prune(NULL, 60, &count64, &count64b))
EINVAL_CASE(job_get, pgq_job_get(NULL, 1, &job_set))
EINVAL_CASE(job_log, pgq_job_log(NULL, 1, &log_rows, &n_out))
EINVAL_CASE(mark_jobs_as_failed,
            pgq_mark_jobs_as_failed(NULL, ids, 2, "why", &outcomes, &n_out))
EINVAL_CASE(requeue_failed_jobs,
            pgq_requeue_failed_jobs(NULL, NULL, 0, &requeue_opts, &outcomes, &n_out))
EINVAL_CASE(list_failed_jobs, pgq_list_failed_jobs(NULL, &failed_opts, &failed_set))
EINVAL_CASE(list_failed_page, pgq_list_failed_page(NULL, NULL, 0, 10, &failed_set))
EINVAL_CASE(queue_overview, pgq_queue_overview(NULL, &overview))
EINVAL_CASE(log_totals, pgq_log_totals(NULL, &count_rows, &n_out))
EINVAL_CASE(jobs_wait, pgq_jobs_wait(NULL, ids, 2, &wait_opts, &outcomes, &n_out))
EINVAL_CASE(report_fetch, pgq_report_fetch(NULL, "size", NULL, &report))
EINVAL_CASE(schedule_list, pgq_schedule_list(NULL, &schedule_rows, &n_out))
EINVAL_CASE(schedule_remove, pgq_schedule_remove(NULL, ids, 2, NULL, 0, &count64))

TEST(client_accessors)
{
    CHECK_STR(pgq_client_errmsg(NULL), "");
    CHECK_STR(pgq_client_sqlstate(NULL), "");
    CHECK_STR(pgq_client_channel(NULL), "");
    CHECK(pgq_client_conn(NULL) == NULL);
    pgq_client_free(NULL);
}

/* ---- The other handles -------------------------------------------------- */

EINVAL_CASE(bulk_add, pgq_bulk_add(NULL, &job))
EINVAL_CASE(bulk_finish, pgq_bulk_finish(NULL, &count64))
EINVAL_CASE(worker_register, pgq_worker_register(NULL, "ep", handler, NULL))
EINVAL_CASE(worker_run, pgq_worker_run(NULL))
EINVAL_CASE(worker_schedule,
            pgq_worker_schedule(NULL, "ep", "* * * * *", &schedule_opts, err, sizeof err))
EINVAL_CASE(report_json, pgq_report_json(NULL, &json))
EINVAL_CASE(cron_next, pgq_cron_next(NULL, 0, &next))

TEST(other_accessors)
{
    CHECK(pgq_worker_entrypoint_opts(NULL, "ep") == NULL);
    CHECK_STR(pgq_worker_id(NULL), "");
    CHECK_STR(pgq_worker_errmsg(NULL), "");
    pgq_worker_stats st = {0};
    pgq_worker_stats_get(NULL, &st);
    CHECK_INT(pgq_report_rows(NULL), 0);
    CHECK_INT(pgq_report_cols(NULL), 0);
    CHECK(pgq_report_colname(NULL, 0) == NULL);
    CHECK(pgq_report_value(NULL, 0, 0) == NULL);
    CHECK_INT(pgq_report_is_numeric(NULL, 0), 0);
    CHECK_STR(pgq_cron_text(NULL), "");
}

/* Every *_free (and pgq_bulk_abort, pgq_worker_stop) accepts NULL. */
TEST(frees_accept_null)
{
    pgq_client_free(NULL);
    pgq_job_set_free(NULL);
    pgq_id_outcomes_free(NULL);
    pgq_count_rows_free(NULL, 3);
    pgq_stat_rows_free(NULL, 3);
    pgq_log_entries_free(NULL, 3);
    pgq_failed_set_free(NULL);
    pgq_overview_free(NULL);
    pgq_report_free(NULL);
    pgq_worker_free(NULL);
    pgq_cron_free(NULL);
    pgq_schedule_rows_free(NULL, 3);
    pgq_bulk_abort(NULL);
    pgq_worker_stop(NULL, true);
    CHECK(1);
}

int main(int argc, char **argv)
{
    static const th_case cases[] = {
        CASE(install),
        CASE(uninstall),
        CASE(upgrade),
        CASE(upgrade_run),
        CASE(set_durability),
        CASE(autovac),
        CASE(verify),
        CASE(verify_shape),
        CASE(enqueue),
        CASE(bulk_begin),
        CASE(claim),
        CASE(complete),
        CASE(retry),
        CASE(heartbeat),
        CASE(release),
        CASE(cancel),
        CASE(clear),
        CASE(queue_size),
        CASE(log_statistics),
        CASE(job_statuses),
        CASE(prune),
        CASE(job_get),
        CASE(job_log),
        CASE(mark_jobs_as_failed),
        CASE(requeue_failed_jobs),
        CASE(list_failed_jobs),
        CASE(list_failed_page),
        CASE(queue_overview),
        CASE(log_totals),
        CASE(jobs_wait),
        CASE(report_fetch),
        CASE(schedule_list),
        CASE(schedule_remove),
        CASE(client_accessors),
        CASE(bulk_add),
        CASE(bulk_finish),
        CASE(worker_register),
        CASE(worker_run),
        CASE(worker_schedule),
        CASE(report_json),
        CASE(cron_next),
        CASE(other_accessors),
        CASE(frees_accept_null),
    };
    return th_main(cases, sizeof cases / sizeof cases[0], argc, argv);
}
