/* overview.c: the reads behind the web console's overview and /metrics:
 * queue counts with the oldest row per group, and log totals. Each is one
 * prepared statement (src/sql/overview.sql, log_totals.sql). */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* A status column; an unknown value reads as queued (as in inspect.c). */
static pgq_job_status status_of(const PGresult *r, int row, int col)
{
    pgq_job_status s = PGQ_QUEUED;
    if (!PQgetisnull(r, row, col))
        (void)pgq_job_status_parse(PQgetvalue(r, row, col), &s);
    return s;
}

void pgq_overview_free(pgq_overview *o)
{
    if (!o)
        return;
    for (size_t i = 0; o->rows && i < o->count; i++)
        free(o->rows[i].entrypoint);
    free(o->rows);
    memset(o, 0, sizeof *o);
}

int pgq_queue_overview(pgq_client *c, pgq_overview *out)
{
    memset(out, 0, sizeof *out);
    int rc;
    PGresult *r = pgq__exec(c, PGQ__OVERVIEW, 0, NULL, NULL, NULL, &rc);
    if (rc != PGQ_OK)
        return rc;
    int rows = PQntuples(r);
    out->rows = calloc(rows ? (size_t)rows : 1, sizeof *out->rows);
    for (int i = 0; out->rows && i < rows; i++) {
        out->now = strtod(PQgetvalue(r, i, 5), NULL);
        if (PQgetisnull(r, i, 0)) { /* the grand-total row */
            out->workers = strtoll(PQgetvalue(r, i, 4), NULL, 10);
            continue;
        }
        pgq_overview_row *o = &out->rows[out->count];
        o->entrypoint = strdup(PQgetvalue(r, i, 0));
        o->status = status_of(r, i, 1);
        o->count = strtoll(PQgetvalue(r, i, 2), NULL, 10);
        o->oldest_created = strtod(PQgetvalue(r, i, 3), NULL);
        out->count++;
        if (!o->entrypoint) {
            out->count--;
            pgq_overview_free(out);
        }
    }
    PQclear(r);
    return out->rows ? PGQ_OK : pgq__fail(c, PGQ_ENOMEM, "out of memory");
}

int pgq_log_totals(pgq_client *c, pgq_count_row **rows, size_t *n)
{
    *rows = NULL;
    *n = 0;
    int rc;
    PGresult *r = pgq__exec(c, PGQ__LOG_TOTALS, 0, NULL, NULL, NULL, &rc);
    if (rc != PGQ_OK)
        return rc;
    int count = PQntuples(r);
    pgq_count_row *v = calloc(count ? (size_t)count : 1, sizeof *v);
    for (int i = 0; v && i < count; i++) {
        v[i].entrypoint = strdup(PQgetvalue(r, i, 0));
        v[i].status = status_of(r, i, 1);
        v[i].count = strtoll(PQgetvalue(r, i, 2), NULL, 10);
        if (!v[i].entrypoint) {
            pgq_count_rows_free(v, (size_t)i);
            v = NULL;
        }
    }
    PQclear(r);
    if (!v)
        return pgq__fail(c, PGQ_ENOMEM, "out of memory");
    *rows = v;
    *n = (size_t)count;
    return PGQ_OK;
}
