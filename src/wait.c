/* wait.c: pgq_jobs_wait, the completion watcher. The caller's connection
 * LISTENs on the queue's channel for the time of the call; every
 * notification (a completion deletes the row, which the trigger announces)
 * and every poll interval leads to one look: the latest log status of the
 * ids still unsettled, through job_status.sql (one index probe per id on
 * pgqueuer_log_job_id_status), however many ids there are. Holding a job as
 * failed updates its row, which sends no notification, so that case is
 * seen by polling. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

static double now_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp_id(const void *a, const void *b)
{
    int64_t x = ((const pgq_id_outcome *)a)->id, y = ((const pgq_id_outcome *)b)->id;
    return x < y ? -1 : x > y;
}

/* Whether a latest log status ends the wait for its job. */
static bool settled(pgq_job_status s)
{
    return s != PGQ_QUEUED && s != PGQ_PICKED;
}

static int listen_cmd(pgq_client *c, const char *verb)
{
    const char *ch = c->names.channel;
    char *ident = PQescapeIdentifier(c->conn, ch, strlen(ch));
    if (!ident)
        return pgq__fail(c, PGQ_ENOMEM, "out of memory");
    char sql[256];
    snprintf(sql, sizeof sql, "%s %s", verb, ident);
    PQfreemem(ident);
    return pgq__exec_command(c, sql);
}

/* One look at the unsettled outcomes; settles those whose status is final
 * and reports them. *left is the number still unsettled. */
static int look(pgq_client *c, pgq_id_outcome *o, size_t n, const pgq_wait_opts *opts,
                size_t *left)
{
    int64_t *ids = malloc(n * sizeof *ids);
    size_t k = 0;
    if (!ids)
        return pgq__fail(c, PGQ_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        if (o[i].result == PGQ_ID_WRONG_STATUS)
            ids[k++] = o[i].id;
    pgq_id_outcome *st = NULL;
    size_t n_st = 0;
    int rc = pgq_job_statuses(c, ids, k, &st, &n_st);
    free(ids);
    if (rc != PGQ_OK)
        return rc;
    /* Both lists are in ascending id order. */
    size_t j = 0;
    for (size_t i = 0; i < n && j < n_st; i++) {
        if (o[i].result != PGQ_ID_WRONG_STATUS || o[i].id != st[j].id)
            continue;
        o[i].status = st[j].status;
        if (st[j].result == PGQ_ID_NOT_FOUND || settled(st[j].status)) {
            o[i].result =
                st[j].result == PGQ_ID_NOT_FOUND ? PGQ_ID_NOT_FOUND : PGQ_ID_DONE;
            if (opts->on_final)
                opts->on_final(opts->ud, &o[i]);
        }
        j++;
    }
    pgq_id_outcomes_free(st);
    *left = 0;
    for (size_t i = 0; i < n; i++)
        *left += o[i].result == PGQ_ID_WRONG_STATUS;
    return PGQ_OK;
}

/* Sleeps until a notification arrives, `seconds` pass, or the socket
 * fails; returns PGQ_ECONNECT for a lost connection. */
static int sleep_on(pgq_client *c, double seconds, bool listening)
{
    if (listening) {
        PGnotify *nt;
        bool any = false;
        while ((nt = PQnotifies(c->conn)) != NULL) {
            PQfreemem(nt);
            any = true;
        }
        if (any)
            return PGQ_OK;
    }
    struct pollfd p = {.fd = listening ? PQsocket(c->conn) : -1, .events = POLLIN};
    int ms = seconds > 0 ? (int)(seconds * 1000) + 1 : 0;
    int got = poll(&p, 1, ms);
    if (got < 0 && errno != EINTR)
        return pgq__fail(c, PGQ_EIO, "poll: %s", strerror(errno));
    if (got > 0 && (!PQconsumeInput(c->conn) || PQstatus(c->conn) != CONNECTION_OK))
        return pgq__check(c, NULL);
    return PGQ_OK;
}

static int wait_loop(pgq_client *c, pgq_id_outcome *o, size_t n,
                     const pgq_wait_opts *opts, bool listening)
{
    double poll_every = opts->poll_interval > 0 ? opts->poll_interval : 1.0;
    double deadline = opts->timeout > 0 ? now_mono() + opts->timeout : 0;
    size_t left = n;
    int rc;
    while ((rc = look(c, o, n, opts, &left)) == PGQ_OK && left > 0) {
        double wait = poll_every;
        if (opts->stop && *opts->stop)
            return pgq__fail(c, PGQ_ESTOPPED, "stopped while waiting");
        if (deadline) {
            double rest = deadline - now_mono();
            if (rest <= 0)
                return pgq__fail(c, PGQ_ETIMEDOUT, "%zu job(s) still unsettled", left);
            wait = rest < wait ? rest : wait;
        }
        if ((rc = sleep_on(c, wait, listening)) != PGQ_OK)
            return rc;
    }
    return rc;
}

int pgq_jobs_wait(pgq_client *c, const int64_t *ids, size_t n, const pgq_wait_opts *opts,
                  pgq_id_outcome **out, size_t *n_out)
{
    if (!c)
        return PGQ_EINVAL;
    static const pgq_wait_opts defaults = {0};
    *out = NULL;
    *n_out = 0;
    opts = opts ? opts : &defaults;
    if (n == 0 || !ids)
        return pgq__fail(c, PGQ_EINVAL, "no job ids given");
    if (!(opts->timeout >= 0) || !(opts->poll_interval >= 0))
        return pgq__fail(c, PGQ_EINVAL,
                         "the timeout and poll interval must not be negative");
    pgq_id_outcome *o = calloc(n, sizeof *o);
    if (!o)
        return pgq__fail(c, PGQ_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        if (ids[i] <= 0) {
            free(o);
            return pgq__fail(c, PGQ_EINVAL, "job id %lld is not positive",
                             (long long)ids[i]);
        }
        o[i] = (pgq_id_outcome){ids[i], PGQ_ID_WRONG_STATUS, PGQ_QUEUED};
    }
    qsort(o, n, sizeof *o, cmp_id);
    size_t k = 0; /* drop duplicates */
    for (size_t i = 0; i < n; i++)
        if (k == 0 || o[k - 1].id != o[i].id)
            o[k++] = o[i];
    /* LISTEN before the first look, so a completion between the look and
     * the sleep still wakes us. */
    bool listening = !opts->no_listen;
    int rc = listening ? listen_cmd(c, "LISTEN") : PGQ_OK;
    if (rc == PGQ_OK)
        rc = wait_loop(c, o, k, opts, listening);
    if (listening && PQstatus(c->conn) == CONNECTION_OK) {
        int saved = rc;
        char *msg = saved != PGQ_OK ? strdup(pgq_client_errmsg(c)) : NULL;
        (void)listen_cmd(c, "UNLISTEN");
        PGnotify *nt;
        while ((nt = PQnotifies(c->conn)) != NULL)
            PQfreemem(nt);
        if (msg)
            pgq__fail(c, saved, "%s", msg);
        free(msg);
    }
    if (rc != PGQ_OK && rc != PGQ_ETIMEDOUT && rc != PGQ_ESTOPPED) {
        free(o);
        return rc;
    }
    *out = o;
    *n_out = k;
    return rc;
}
