/* test_worker_schedule.c: pgq_worker_schedule's refusals, before anything
 * connects: a bad or never-firing expression (PGQ_EINVAL, the message
 * naming the field), no handler for a run-mode entrypoint (PGQ_ENOTFOUND;
 * enqueue mode needs none), the same pair twice in any spelling
 * (PGQ_EEXISTS). The runs themselves are tested in cli_schedule.sh. */
#include <string.h>

#include "harness.h"
#include "pgq.h"

static int handler(const pgq_job *job, pgq_job_ctx *ctx)
{
    (void)job;
    (void)ctx;
    return 0;
}

TEST(refusals_name_the_problem)
{
    pgq_worker *w;
    CHECK(pgq_worker_new(&w, NULL, NULL) == PGQ_OK);
    CHECK(pgq_worker_register(w, "tick", handler, NULL) == PGQ_OK);
    char err[256] = "";
    CHECK(pgq_worker_schedule(w, "tick", "61 * * * *", NULL, err, sizeof err) ==
          PGQ_EINVAL);
    CHECKF(strstr(err, "minute field '61'") != NULL, "message: %s", err);
    CHECK(pgq_worker_schedule(w, "tick", "0 0 30 2 *", NULL, err, sizeof err) ==
          PGQ_EINVAL);
    CHECKF(strstr(err, "never fires") != NULL, "message: %s", err);
    CHECK(pgq_worker_schedule(w, "nope", "@daily", NULL, err, sizeof err) ==
          PGQ_ENOTFOUND);
    CHECKF(strstr(err, "'nope'") != NULL, "message: %s", err);
    pgq_schedule_opts enq = {.mode = PGQ_SCHEDULE_ENQUEUE};
    CHECK(pgq_worker_schedule(w, "nope", "@daily", &enq, err, sizeof err) == PGQ_OK);
    CHECK(pgq_worker_schedule(w, "tick", "@HOURLY", NULL, err, sizeof err) == PGQ_OK);
    CHECK(pgq_worker_schedule(w, "tick", "0  *  * * *", NULL, err, sizeof err) ==
          PGQ_EEXISTS);
    CHECKF(strstr(err, "'0 * * * *'") != NULL, "message: %s", err);
    CHECK(pgq_worker_schedule(w, "", "@daily", NULL, err, sizeof err) == PGQ_EINVAL);
    CHECK(pgq_worker_schedule(w, "tick", NULL, NULL, err, sizeof err) == PGQ_EINVAL);
    pgq_worker_free(w);
}

int main(int argc, char **argv)
{
    static const th_case list[] = {CASE(refusals_name_the_problem)};
    return th_main(list, sizeof list / sizeof list[0], argc, argv);
}
