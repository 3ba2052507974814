/* schedule.c: the pgqueuer_schedules row protocol, shared with PgQueuer's
 * SchedulerManager (register, claim, heartbeat, release), and the
 * operator's list and remove. Each call is one statement. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scheduler.h"

/* Appends a text[] literal of n strings. */
static void text_array(pgq__buf *b, const char *const *v, size_t n)
{
    pgq__buf_putc(b, '{');
    for (size_t i = 0; i < n; i++) {
        if (i)
            pgq__buf_putc(b, ',');
        pgq__buf_array_elem(b, v[i]);
    }
    pgq__buf_putc(b, '}');
}

static void float_array(pgq__buf *b, const int64_t *v, size_t n)
{
    pgq__buf_putc(b, '{');
    for (size_t i = 0; i < n; i++)
        pgq__buf_printf(b, "%s%lld", i ? "," : "", (long long)v[i]);
    pgq__buf_putc(b, '}');
}

/* The (expression, entrypoint) arrays of a scheduler's schedules. */
static int key_arrays(pgq_client *c, const pgq__skey *keys, size_t n, pgq__buf *exprs,
                      pgq__buf *eps)
{
    const char **e = calloc(n ? n : 1, sizeof *e);
    const char **p = calloc(n ? n : 1, sizeof *p);
    if (!e || !p) {
        free(e);
        free(p);
        return pgq__fail(c, PGQ_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        e[i] = keys[i].expression;
        p[i] = keys[i].entrypoint;
    }
    text_array(exprs, e, n);
    text_array(eps, p, n);
    free(e);
    free(p);
    return pgq__buf_cstr(exprs) && pgq__buf_cstr(eps)
               ? PGQ_OK
               : pgq__fail(c, PGQ_ENOMEM, "out of memory");
}

int pgq__sched_register(pgq_client *c, const pgq__skey *keys, const int64_t *next,
                        size_t n)
{
    pgq__buf e = {0}, p = {0}, t = {0};
    int rc = key_arrays(c, keys, n, &e, &p);
    float_array(&t, next, n);
    if (rc == PGQ_OK && !pgq__buf_cstr(&t))
        rc = pgq__fail(c, PGQ_ENOMEM, "out of memory");
    if (rc == PGQ_OK) {
        const char *v[3] = {e.data, p.data, t.data};
        PGresult *r = pgq__exec(c, PGQ__SCHED_REGISTER, 3, v, NULL, NULL, &rc);
        PQclear(r);
    }
    pgq__buf_free(&e);
    pgq__buf_free(&p);
    pgq__buf_free(&t);
    return rc;
}

static void claimed_from(const PGresult *r, pgq__sclaim *out)
{
    int rows = PQntuples(r);
    out->server_now = strtod(PQgetvalue(r, 0, 5), NULL);
    out->oldest_heartbeat = PQgetisnull(r, 0, 6) ? 0 : strtod(PQgetvalue(r, 0, 6), NULL);
    for (int i = 0; i < rows; i++) {
        if (PQgetisnull(r, i, 0))
            continue;
        pgq__srow *row = &out->rows[out->n++];
        row->id = strtoll(PQgetvalue(r, i, 0), NULL, 10);
        row->expression = strdup(PQgetvalue(r, i, 1));
        row->entrypoint = strdup(PQgetvalue(r, i, 2));
        row->fire = strtod(PQgetvalue(r, i, 3), NULL);
        row->takeover = PQgetvalue(r, i, 4)[0] == 't';
    }
}

int pgq__sched_claim(pgq_client *c, const pgq__skey *keys, const int64_t *upcoming,
                     size_t n, double at, double stale, const int64_t *running,
                     size_t n_running, pgq__sclaim *out)
{
    memset(out, 0, sizeof *out);
    pgq__buf e = {0}, p = {0}, t = {0}, ids = {0};
    char at_s[40], stale_s[40];
    snprintf(at_s, sizeof at_s, "%.6f", at);
    snprintf(stale_s, sizeof stale_s, "%.3f", stale);
    int rc = key_arrays(c, keys, n, &e, &p);
    float_array(&t, upcoming, n);
    pgq__buf_int8_array(&ids, running, n_running);
    if (rc == PGQ_OK && (!pgq__buf_cstr(&t) || !pgq__buf_cstr(&ids)))
        rc = pgq__fail(c, PGQ_ENOMEM, "out of memory");
    PGresult *r = NULL;
    if (rc == PGQ_OK) {
        const char *v[6] = {e.data, p.data, t.data, at_s, stale_s, ids.data};
        r = pgq__exec(c, PGQ__SCHED_CLAIM, 6, v, NULL, NULL, &rc);
    }
    if (rc == PGQ_OK && PQntuples(r) > 0) {
        out->rows = calloc((size_t)PQntuples(r), sizeof *out->rows);
        if (!out->rows)
            rc = pgq__fail(c, PGQ_ENOMEM, "out of memory");
        else
            claimed_from(r, out);
    }
    PQclear(r);
    pgq__buf_free(&e);
    pgq__buf_free(&p);
    pgq__buf_free(&t);
    pgq__buf_free(&ids);
    return rc;
}

void pgq__sclaim_free(pgq__sclaim *cl)
{
    for (size_t i = 0; i < cl->n; i++) {
        free(cl->rows[i].expression);
        free(cl->rows[i].entrypoint);
    }
    free(cl->rows);
    memset(cl, 0, sizeof *cl);
}

/* Heartbeat (beat) or release (!beat) of the given schedule ids. */
int pgq__sched_touch(pgq_client *c, const int64_t *ids, size_t n, bool beat)
{
    if (n == 0)
        return PGQ_OK;
    pgq__buf b = {0};
    pgq__buf_int8_array(&b, ids, n);
    int rc = pgq__buf_cstr(&b) ? PGQ_OK : pgq__fail(c, PGQ_ENOMEM, "out of memory");
    if (rc == PGQ_OK) {
        const char *v[1] = {b.data};
        PGresult *r = pgq__exec(c, beat ? PGQ__SCHED_HEARTBEAT : PGQ__SCHED_DONE, 1, v,
                                NULL, NULL, &rc);
        PQclear(r);
    }
    pgq__buf_free(&b);
    return rc;
}

/* ---- Operator calls (public) ---------------------------------------------------- */

static double num(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? 0 : strtod(PQgetvalue(r, row, col), NULL);
}

void pgq_schedule_rows_free(pgq_schedule_row *rows, size_t n)
{
    for (size_t i = 0; rows && i < n; i++) {
        free(rows[i].expression);
        free(rows[i].entrypoint);
    }
    free(rows);
}

int pgq_schedule_list(pgq_client *c, pgq_schedule_row **rows, size_t *n)
{
    if (!c)
        return PGQ_EINVAL;
    *rows = NULL;
    *n = 0;
    int rc;
    PGresult *r = pgq__exec(c, PGQ__SCHED_LIST, 0, NULL, NULL, NULL, &rc);
    if (rc != PGQ_OK)
        return rc;
    size_t count = (size_t)PQntuples(r);
    pgq_schedule_row *out = calloc(count ? count : 1, sizeof *out);
    if (!out) {
        PQclear(r);
        return pgq__fail(c, PGQ_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < count; i++) {
        int k = (int)i;
        pgq_schedule_row *o = &out[i];
        o->id = strtoll(PQgetvalue(r, k, 0), NULL, 10);
        o->expression = strdup(PQgetvalue(r, k, 1));
        o->entrypoint = strdup(PQgetvalue(r, k, 2));
        if (!o->expression || !o->entrypoint ||
            pgq_job_status_parse(PQgetvalue(r, k, 3), &o->status) != PGQ_OK)
            rc = PGQ_ENOMEM;
        o->heartbeat = num(r, k, 4);
        o->created = num(r, k, 5);
        o->updated = num(r, k, 6);
        o->next_run = num(r, k, 7);
        o->last_run = num(r, k, 8);
    }
    PQclear(r);
    if (rc != PGQ_OK) {
        pgq_schedule_rows_free(out, count);
        return pgq__fail(c, rc, "out of memory");
    }
    *rows = out;
    *n = count;
    return PGQ_OK;
}

int pgq_schedule_remove(pgq_client *c, const int64_t *ids, size_t n_ids,
                        const char *const *entrypoints, size_t n_eps, uint64_t *removed)
{
    if (!c)
        return PGQ_EINVAL;
    if (removed)
        *removed = 0;
    pgq__buf a = {0}, b = {0};
    pgq__buf_int8_array(&a, ids, n_ids);
    text_array(&b, entrypoints, n_eps);
    int rc = pgq__buf_cstr(&a) && pgq__buf_cstr(&b)
                 ? PGQ_OK
                 : pgq__fail(c, PGQ_ENOMEM, "out of memory");
    if (rc == PGQ_OK) {
        const char *v[2] = {a.data, b.data};
        PGresult *r = pgq__exec(c, PGQ__SCHED_REMOVE, 2, v, NULL, NULL, &rc);
        if (rc == PGQ_OK && removed)
            *removed = (uint64_t)PQntuples(r);
        PQclear(r);
    }
    pgq__buf_free(&a);
    pgq__buf_free(&b);
    return rc;
}
