/* db.c: the worker's database sessions: their settings, and the
 * worker's own statement (sql/worker_next.sql), which tells an idle worker
 * how long it may sleep. That one runs only after a claim came back empty,
 * so it is sent unprepared. */
#include <stdlib.h>
#include <string.h>

#include "worker.h"

int pgq__wsession(pgq_client *c, bool claims)
{
    /* The worker runs the same few prepared statements thousands of times;
     * re-planning the claim for its parameters costs more than running it
     * (measured: 1.4 ms of planning against 1 ms of execution). But a
     * generic plan is made once, often while the queue is empty, and a
     * plan made then scans the whole table: with 100,000 jobs queued a
     * claim took 397 ms instead of 4 ms. Every statement of the worker
     * reaches its rows through an index, so sequential scans are ruled out
     * for its sessions and the cached plan stays right as the table grows.
     *
     * The loop's session commits asynchronously: a claim (or heartbeat,
     * or hand-back) need not wait for its WAL flush. If the server crashes
     * before the flush, the claim is forgotten and the job is queued again,
     * to run again: the at-least-once the worker promises anyway. An
     * outcome is recorded by the recorder's session, which commits
     * synchronously, and that flush carries every earlier claim with it,
     * so no recorded outcome can outlive its claim.
     *
     * JIT is off: the estimates of a generic plan grow with the table, and
     * past jit_above_cost (the default 100,000, reached at about 400,000
     * queued jobs) every claim compiled itself again, 80 ms of a 90 ms
     * claim, so a backlog slowed the worker that should drain it (the
     * soak, docs/benchmarks.md: a drain at 700 jobs/s). */
#define PLANS                                                                            \
    "SET plan_cache_mode = force_generic_plan; SET enable_seqscan = off; SET jit = off"
    return pgq__exec_command(c, claims ? PLANS "; SET synchronous_commit = off" : PLANS);
#undef PLANS
}

void pgq__wside_cfg(pgq_config *out, char *name, size_t len, const pgq_config *cfg,
                    const char *role)
{
    *out = *cfg;
    snprintf(name, len, "%s %s",
             cfg->application_name ? cfg->application_name : "pgq worker", role);
    out->application_name = name;
}

int pgq__wside_connect(pgq_client **c, const pgq_config *cfg, const char *extra)
{
    if (*c && PQstatus(pgq_client_conn(*c)) == CONNECTION_OK)
        return PGQ_OK;
    pgq_client_free(*c);
    *c = NULL;
    int rc = pgq_client_open(c, cfg);
    if (rc == PGQ_OK) {
        (void)pgq__wsession(*c, false);
        if (extra)
            (void)pgq__exec_command(*c, extra);
    }
    return rc;
}

static void text_array(pgq__buf *b, const pgq__wep *eps, size_t n)
{
    pgq__buf_putc(b, '{');
    for (size_t i = 0; i < n; i++) {
        if (i)
            pgq__buf_putc(b, ',');
        pgq__buf_array_elem(b, eps[i].name);
    }
    pgq__buf_putc(b, '}');
}

static void timer_array(pgq__buf *b, const pgq__wep *eps, size_t n, double dflt)
{
    pgq__buf_putc(b, '{');
    for (size_t i = 0; i < n; i++) {
        double t = eps[i].opts.retry_timer > 0 ? eps[i].opts.retry_timer : dflt;
        pgq__buf_printf(b, "%s%.17g", i ? "," : "", t);
    }
    pgq__buf_putc(b, '}');
}

static double seconds(const PGresult *r, int col, bool *present)
{
    *present = !PQgetisnull(r, 0, col);
    return *present ? strtod(PQgetvalue(r, 0, col), NULL) : 0;
}

int pgq__wnext_query(pgq_client *c, const pgq__wep *eps, size_t n_eps,
                     double default_retry_timer, const int64_t *held, size_t n_held,
                     pgq__wnext *out)
{
    pgq__buf a = {0}, t = {0}, h = {0};
    PGresult *r = NULL;
    int rc = PGQ_ENOMEM;
    char *sql = pgq__render(&c->names, pgq__sql_worker_next);
    text_array(&a, eps, n_eps);
    timer_array(&t, eps, n_eps, default_retry_timer);
    pgq__buf_int8_array(&h, held, n_held);
    const char *values[3] = {pgq__buf_cstr(&a), pgq__buf_cstr(&t), pgq__buf_cstr(&h)};
    if (!sql || !values[0] || !values[1] || !values[2]) {
        rc = pgq__fail(c, PGQ_ENOMEM, "out of memory");
        goto out;
    }
    r = PQexecParams(c->conn, sql, 3, NULL, values, NULL, NULL, 0);
    rc = pgq__check(c, r);
    if (rc != PGQ_OK)
        goto out;
    memset(out, 0, sizeof *out);
    out->due_in = seconds(r, 0, &out->any_queued);
    out->stale_in = seconds(r, 1, &out->any_stale_pending);
    out->any_picked = strcmp(PQgetvalue(r, 0, 2), "t") == 0;
out:
    PQclear(r);
    free(sql);
    pgq__buf_free(&a);
    pgq__buf_free(&t);
    pgq__buf_free(&h);
    return rc;
}
