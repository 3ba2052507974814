/*
 * claim.c: claiming (dequeueing) jobs for a set of entrypoints (docs/design.md §4).
 *
 * The claim is one statement (claim.sql). When an entrypoint has a global
 * concurrency limit or a fleet-wide rate, one more statement runs first in
 * the same transaction: claim_lock.sql takes a transaction-scoped advisory
 * lock per such entrypoint. PostgreSQL gives every statement of a READ
 * COMMITTED transaction a fresh snapshot, so the claim that follows counts
 * the picks of every claimer that held the lock before us, and the limit
 * holds even between workers racing each other (PgQueuer's does not: its
 * issue #761). Both statements travel in one libpq pipeline, wrapped in a
 * READ COMMITTED transaction of their own: still one round trip.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

enum { CLAIM_PARAMS = 7 };

/* The text parameters of claim.sql, and the lock list of claim_lock.sql. */
typedef struct claim_params {
    pgq__buf eps, timers, limits, rates, locks;
    char batch[16], takeovers[16];
    bool any_locks;
} claim_params;

static void params_free(claim_params *p)
{
    pgq__buf_free(&p->eps);
    pgq__buf_free(&p->timers);
    pgq__buf_free(&p->limits);
    pgq__buf_free(&p->rates);
    pgq__buf_free(&p->locks);
}

static int validate(pgq_client *c, const pgq_claim_entrypoint *eps, size_t n,
                    const pgq_claim_opts *o)
{
    if (!eps || n == 0 || n > INT32_MAX || !o || !o->queue_manager_id)
        return pgq__fail(c, PGQ_EINVAL,
                         "pgq_claim: entrypoints and a queue_manager_id are required");
    if (o->batch_size <= 0 || o->max_takeovers < 0 || !isfinite(o->default_retry_timer) ||
        o->default_retry_timer < 0 || o->default_retry_timer >= PGQ_SECONDS_MAX)
        return pgq__fail(c, PGQ_EINVAL,
                         "pgq_claim: batch_size must be > 0, max_takeovers and "
                         "default_retry_timer >= 0");
    for (size_t i = 0; i < n; i++) {
        const pgq_claim_entrypoint *e = &eps[i];
        if (!e->entrypoint || !e->entrypoint[0])
            return pgq__fail(c, PGQ_EINVAL, "pgq_claim: entrypoint %zu is empty", i);
        /* Out of these ranges the timestamps the claim computes leave
         * PostgreSQL's and every claim would fail (include/pgq.h). */
        double rps = e->requests_per_second;
        if (e->concurrency_limit < 0 || isnan(rps) ||
            (rps != 0 && !(rps >= PGQ_RATE_MIN && rps <= PGQ_RATE_MAX)) ||
            isnan(e->retry_timer) || e->retry_timer >= PGQ_SECONDS_MAX)
            return pgq__fail(c, PGQ_EINVAL, "pgq_claim: bad limits for entrypoint %s",
                             e->entrypoint);
        for (size_t k = 0; k < i; k++)
            if (strcmp(eps[k].entrypoint, e->entrypoint) == 0)
                return pgq__fail(c, PGQ_EINVAL, "pgq_claim: entrypoint %s given twice",
                                 e->entrypoint);
    }
    return PGQ_OK;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Lists the limited entrypoints sorted by name, so that every claimer takes
 * the advisory locks in the same order and none waits for another in a
 * cycle. */
static int build_locks(claim_params *p, const pgq_claim_entrypoint *eps, size_t n)
{
    const char **names = malloc(n * sizeof *names);
    size_t k = 0;
    if (!names)
        return PGQ_ENOMEM;
    for (size_t i = 0; i < n; i++)
        if (eps[i].concurrency_limit > 0 || eps[i].requests_per_second > 0)
            names[k++] = eps[i].entrypoint;
    qsort(names, k, sizeof *names, by_name);
    pgq__buf_putc(&p->locks, '{');
    for (size_t i = 0; i < k; i++) {
        if (i)
            pgq__buf_putc(&p->locks, ',');
        pgq__buf_array_elem(&p->locks, names[i]);
    }
    pgq__buf_putc(&p->locks, '}');
    p->any_locks = k > 0;
    free(names);
    return p->locks.oom ? PGQ_ENOMEM : PGQ_OK;
}

static int build_params(claim_params *p, const pgq_claim_entrypoint *eps, size_t n,
                        const pgq_claim_opts *o)
{
    double dflt = o->default_retry_timer > 0 ? o->default_retry_timer : 30.0;
    pgq__buf *arrays[] = {&p->eps, &p->timers, &p->limits, &p->rates};
    for (size_t a = 0; a < 4; a++)
        pgq__buf_putc(arrays[a], '{');
    for (size_t i = 0; i < n; i++) {
        const char *sep = i ? "," : "";
        pgq__buf_puts(&p->eps, sep);
        pgq__buf_array_elem(&p->eps, eps[i].entrypoint);
        pgq__buf_printf(&p->timers, "%s%.17g", sep,
                        eps[i].retry_timer > 0 ? eps[i].retry_timer : dflt);
        pgq__buf_printf(&p->limits, "%s%d", sep, (int)eps[i].concurrency_limit);
        pgq__buf_printf(&p->rates, "%s%.17g", sep, eps[i].requests_per_second);
    }
    for (size_t a = 0; a < 4; a++) {
        pgq__buf_putc(arrays[a], '}');
        if (arrays[a]->oom)
            return PGQ_ENOMEM;
    }
    snprintf(p->batch, sizeof p->batch, "%d", o->batch_size);
    snprintf(p->takeovers, sizeof p->takeovers, "%d",
             o->max_takeovers > 0 ? o->max_takeovers : 3);
    return build_locks(p, eps, n);
}

/* Collects the results of a pipeline of nq queries up to its sync point:
 * res[i] is the first result of query i (NULL if none arrived). */
static void read_pipeline(PGconn *conn, PGresult **res, int nq)
{
    int q = 0;
    for (;;) {
        PGresult *r = PQgetResult(conn);
        if (!r) {
            /* NULL ends one query's results; on a dead connection it is all
             * that will ever come. */
            if (PQstatus(conn) == CONNECTION_BAD || q >= nq)
                break;
            q++;
            continue;
        }
        if (PQresultStatus(r) == PGRES_PIPELINE_SYNC) {
            PQclear(r);
            break;
        }
        if (q < nq && !res[q])
            res[q] = r;
        else
            PQclear(r);
    }
}

/* The status of a pipeline: the first result that is not a success, where
 * an aborted query only reports the error that aborted it. */
static int pipeline_status(pgq_client *c, PGresult **res, int nq)
{
    for (int i = 0; i < nq; i++)
        if (!res[i] || PQresultStatus(res[i]) == PGRES_FATAL_ERROR)
            return pgq__check(c, res[i]);
    for (int i = 0; i < nq; i++) {
        ExecStatusType st = PQresultStatus(res[i]);
        if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK)
            return pgq__fail(c, PGQ_ESQL, "claim: unexpected result %s", PQresStatus(st));
    }
    pgq__clear_error(c);
    return PGQ_OK;
}

/* Queues the statements of a locked claim; false if libpq refused one. */
static bool send_locked_claim(pgq_client *c, bool own_tx, const char *locks,
                              const char *const *values)
{
    PGconn *conn = c->conn;
    /* The lock only helps if the claim's snapshot is taken after it is
     * granted, which READ COMMITTED guarantees whatever the session's
     * default isolation. */
    if (own_tx && !PQsendQueryParams(conn, "BEGIN ISOLATION LEVEL READ COMMITTED", 0,
                                     NULL, NULL, NULL, NULL, 0))
        return false;
    if (!pgq__send(c, PGQ__CLAIM_LOCK, 1, &locks, NULL, NULL) ||
        !pgq__send(c, PGQ__CLAIM, CLAIM_PARAMS, values, NULL, NULL))
        return false;
    if (own_tx && !PQsendQueryParams(conn, "COMMIT", 0, NULL, NULL, NULL, NULL, 0))
        return false;
    return PQpipelineSync(conn) == 1;
}

/* Sends [BEGIN,] claim_lock, claim[, COMMIT] as one pipeline (one round
 * trip) and returns the claim's result. Inside the caller's transaction the
 * lock is held until the caller commits. */
static PGresult *locked_claim(pgq_client *c, const claim_params *p,
                              const char *const *values, int *rc)
{
    PGresult *res[4] = {NULL, NULL, NULL, NULL};
    bool own_tx = PQtransactionStatus(c->conn) == PQTRANS_IDLE;
    int nq = own_tx ? 4 : 2, claim_at = own_tx ? 2 : 1;
    if ((*rc = pgq__prepare(c, PGQ__CLAIM_LOCK)) != PGQ_OK ||
        (*rc = pgq__prepare(c, PGQ__CLAIM)) != PGQ_OK)
        return NULL;
    if (!PQenterPipelineMode(c->conn)) {
        *rc = pgq__fail(c, PGQ_ESTATE, "claim: cannot enter pipeline mode: %s",
                        PQerrorMessage(c->conn));
        return NULL;
    }
    if (send_locked_claim(c, own_tx, p->locks.data, values))
        read_pipeline(c->conn, res, nq);
    PQexitPipelineMode(c->conn);
    *rc = pipeline_status(c, res, nq);
    /* A failure inside our BEGIN left the transaction aborted: end it. */
    if (own_tx && PQtransactionStatus(c->conn) == PQTRANS_INERROR)
        PQclear(PQexec(c->conn, "ROLLBACK"));
    if (*rc != PGQ_OK && PQstatus(c->conn) == CONNECTION_BAD)
        pgq__forget_session(c);
    PGresult *claim = *rc == PGQ_OK ? res[claim_at] : NULL;
    for (int i = 0; i < nq; i++)
        if (res[i] != claim)
            PQclear(res[i]);
    return claim;
}

/* True when the claim failed only because it lost a race it can retry: a
 * capacity slot another worker (PgQueuer's, which does not take
 * claim_lock) took since our snapshot, or a deadlock with one. */
static bool lost_race(pgq_client *c)
{
    return strcmp(c->sqlstate, "40P01") == 0 ||
           (strcmp(c->sqlstate, "23505") == 0 &&
            strstr(c->errmsg, "pgqueuer_picked_slot_idx"));
}

/* Attempts at a claim that keeps losing slot races before it is returned
 * empty (the caller's loop claims again promptly; the other entrypoints of
 * the claim are not held back longer than these few round trips). */
enum { RACE_ATTEMPTS = 3 };

int pgq_claim(pgq_client *c, const pgq_claim_entrypoint *eps, size_t n_eps,
              const pgq_claim_opts *opts, pgq_job_set *out)
{
    if (!c)
        return PGQ_EINVAL;
    claim_params p = {0};
    PGresult *r = NULL;
    out->count = 0;
    out->jobs = NULL;
    int rc = validate(c, eps, n_eps, opts);
    if (rc != PGQ_OK)
        return rc;
    if (build_params(&p, eps, n_eps, opts) != PGQ_OK) {
        rc = pgq__fail(c, PGQ_ENOMEM, "out of memory");
        goto out;
    }
    const char *values[CLAIM_PARAMS] = {p.batch,       p.eps.data,
                                        p.timers.data, p.limits.data,
                                        p.rates.data,  opts->queue_manager_id,
                                        p.takeovers};
    bool retryable = PQtransactionStatus(c->conn) == PQTRANS_IDLE;
    for (int attempt = 1;; attempt++) {
        r = p.any_locks ? locked_claim(c, &p, values, &rc)
                        : pgq__exec(c, PGQ__CLAIM, CLAIM_PARAMS, values, NULL, NULL, &rc);
        if (rc == PGQ_OK || !retryable || !lost_race(c))
            break;
        if (attempt == RACE_ATTEMPTS) {
            /* An empty claim, not an error: the race is someone's progress. */
            pgq__clear_error(c);
            rc = PGQ_OK;
            goto out;
        }
    }
    if (r && (rc = pgq__jobs_from_result(r, out)) != PGQ_OK)
        pgq__fail(c, rc, "claim: cannot read the claimed jobs: %s", pgq_strerror(rc));
out:
    PQclear(r);
    params_free(&p);
    return rc;
}
