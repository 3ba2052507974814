/* inspect.c: the operator's operations (docs/design.md §4): cancel, clear, queue size,
 * log statistics with their roll-up, job status, prune, and the reads behind
 * `pgq show`. Each is one prepared statement; the SQL is in src/sql. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static int64_t col_int(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? 0 : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

static double col_double(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? 0 : strtod(PQgetvalue(r, row, col), NULL);
}

/* A status column; rows with a value this build does not know read as
 * queued rather than failing the whole call. */
static pgq_job_status col_status(const PGresult *r, int row, int col)
{
    pgq_job_status s = PGQ_QUEUED;
    if (!PQgetisnull(r, row, col) &&
        pgq_job_status_parse(PQgetvalue(r, row, col), &s) != PGQ_OK)
        s = PGQ_QUEUED;
    return s;
}

/* Validates an id list and renders it as an int8[] parameter. */
static int id_array(pgq_client *c, const int64_t *ids, size_t n, pgq__buf *b)
{
    if (n == 0 || !ids)
        return pgq__fail(c, PGQ_EINVAL, "no job ids given");
    for (size_t i = 0; i < n; i++)
        if (ids[i] <= 0)
            return pgq__fail(c, PGQ_EINVAL, "job id %lld is not positive",
                             (long long)ids[i]);
    pgq__buf_int8_array(b, ids, n);
    return pgq__buf_cstr(b) ? PGQ_OK : pgq__fail(c, PGQ_ENOMEM, "out of memory");
}

/* Converts rows (id, done, status) into per-id outcomes; a row that is not
 * done is NOT_FOUND (these operations accept any status). */
static int outcomes_from_result(const PGresult *r, pgq_id_outcome **out, size_t *n_out)
{
    int rows = PQntuples(r);
    pgq_id_outcome *o = calloc(rows ? (size_t)rows : 1, sizeof *o);
    if (!o)
        return PGQ_ENOMEM;
    for (int i = 0; i < rows; i++) {
        o[i].id = col_int(r, i, 0);
        o[i].result = PQgetvalue(r, i, 1)[0] == 't' ? PGQ_ID_DONE : PGQ_ID_NOT_FOUND;
        o[i].status = col_status(r, i, 2);
    }
    *out = o;
    *n_out = (size_t)rows;
    return PGQ_OK;
}

void pgq_id_outcomes_free(pgq_id_outcome *o)
{
    free(o);
}

int pgq_cancel(pgq_client *c, const int64_t *ids, size_t n, pgq_id_outcome **out,
               size_t *n_out)
{
    if (!c)
        return PGQ_EINVAL;
    pgq__buf b = {0};
    PGresult *r = NULL;
    *out = NULL;
    *n_out = 0;
    int rc = id_array(c, ids, n, &b);
    if (rc != PGQ_OK)
        goto done;
    const char *params[1] = {b.data};
    r = pgq__exec(c, PGQ__CANCEL, 1, params, NULL, NULL, &rc);
    if (rc != PGQ_OK)
        goto done;
    /* The done column is 't' or 'f'; reuse the generic converter. */
    rc = outcomes_from_result(r, out, n_out);
    if (rc != PGQ_OK)
        rc = pgq__fail(c, rc, "out of memory");
done:
    PQclear(r);
    pgq__buf_free(&b);
    return rc;
}

/* Builds a text[] parameter from entrypoint names (each non-empty). */
static int text_array(pgq_client *c, const char *const *v, size_t n, pgq__buf *b)
{
    pgq__buf_putc(b, '{');
    for (size_t i = 0; i < n; i++) {
        if (!v[i] || !v[i][0])
            return pgq__fail(c, PGQ_EINVAL, "an entrypoint name is empty");
        if (i)
            pgq__buf_putc(b, ',');
        pgq__buf_array_elem(b, v[i]);
    }
    pgq__buf_putc(b, '}');
    return pgq__buf_cstr(b) ? PGQ_OK : pgq__fail(c, PGQ_ENOMEM, "out of memory");
}

int pgq_clear(pgq_client *c, const char *const *entrypoints, size_t n, uint64_t *deleted)
{
    if (!c)
        return PGQ_EINVAL;
    pgq__buf b = {0};
    PGresult *r = NULL;
    int rc = PGQ_OK;
    if (deleted)
        *deleted = 0;
    if (n == 0) {
        r = pgq__exec(c, PGQ__CLEAR_ALL, 0, NULL, NULL, NULL, &rc);
    } else if ((rc = text_array(c, entrypoints, n, &b)) == PGQ_OK) {
        const char *params[1] = {b.data};
        r = pgq__exec(c, PGQ__CLEAR, 1, params, NULL, NULL, &rc);
    }
    if (rc == PGQ_OK && deleted)
        *deleted = (uint64_t)col_int(r, 0, 0);
    PQclear(r);
    pgq__buf_free(&b);
    return rc;
}

void pgq_count_rows_free(pgq_count_row *rows, size_t n)
{
    for (size_t i = 0; rows && i < n; i++)
        free(rows[i].entrypoint);
    free(rows);
}

int pgq_queue_size(pgq_client *c, pgq_count_row **rows, size_t *n)
{
    if (!c)
        return PGQ_EINVAL;
    *rows = NULL;
    *n = 0;
    int rc;
    PGresult *r = pgq__exec(c, PGQ__QUEUE_SIZE, 0, NULL, NULL, NULL, &rc);
    if (rc != PGQ_OK)
        return rc;
    int count = PQntuples(r);
    pgq_count_row *v = calloc(count ? (size_t)count : 1, sizeof *v);
    for (int i = 0; v && i < count; i++) {
        v[i].entrypoint = strdup(PQgetvalue(r, i, 0));
        v[i].priority = (int32_t)col_int(r, i, 1);
        v[i].status = col_status(r, i, 2);
        v[i].count = col_int(r, i, 3);
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

void pgq_stat_rows_free(pgq_stat_row *rows, size_t n)
{
    for (size_t i = 0; rows && i < n; i++)
        free(rows[i].entrypoint);
    free(rows);
}

/* Rows (created, entrypoint, priority, status, count) into stat rows. */
static pgq_stat_row *stat_rows_from_result(const PGresult *r)
{
    int count = PQntuples(r);
    pgq_stat_row *v = calloc(count ? (size_t)count : 1, sizeof *v);
    for (int i = 0; v && i < count; i++) {
        v[i].created = col_double(r, i, 0);
        v[i].entrypoint = strdup(PQgetvalue(r, i, 1));
        v[i].priority = (int32_t)col_int(r, i, 2);
        v[i].status = col_status(r, i, 3);
        v[i].count = col_int(r, i, 4);
        if (!v[i].entrypoint) {
            pgq_stat_rows_free(v, (size_t)i);
            v = NULL;
        }
    }
    return v;
}

int pgq_log_statistics(pgq_client *c, double since, pgq_stat_row **rows, size_t *n)
{
    if (!c)
        return PGQ_EINVAL;
    *rows = NULL;
    *n = 0;
    if (!(since >= 0))
        return pgq__fail(c, PGQ_EINVAL, "the statistics window is negative");
    char window[64];
    snprintf(window, sizeof window, "%.17g", since);
    const char *params[1] = {window};
    int rc;
    PGresult *r = pgq__exec(c, PGQ__LOG_STATS, 1, params, NULL, NULL, &rc);
    if (rc != PGQ_OK)
        return rc;
    pgq_stat_row *v = stat_rows_from_result(r);
    int count = PQntuples(r);
    PQclear(r);
    if (!v)
        return pgq__fail(c, PGQ_ENOMEM, "out of memory");
    *rows = v;
    *n = (size_t)count;
    return PGQ_OK;
}

int pgq_job_statuses(pgq_client *c, const int64_t *ids, size_t n, pgq_id_outcome **out,
                     size_t *n_out)
{
    if (!c)
        return PGQ_EINVAL;
    pgq__buf b = {0};
    PGresult *r = NULL;
    *out = NULL;
    *n_out = 0;
    int rc = id_array(c, ids, n, &b);
    if (rc != PGQ_OK)
        goto done;
    const char *params[1] = {b.data};
    r = pgq__exec(c, PGQ__JOB_STATUS, 1, params, NULL, NULL, &rc);
    if (rc != PGQ_OK)
        goto done;
    int rows = PQntuples(r);
    pgq_id_outcome *o = calloc(rows ? (size_t)rows : 1, sizeof *o);
    if (!o) {
        rc = pgq__fail(c, PGQ_ENOMEM, "out of memory");
        goto done;
    }
    for (int i = 0; i < rows; i++) {
        o[i].id = col_int(r, i, 0);
        o[i].result = PQgetisnull(r, i, 1) ? PGQ_ID_NOT_FOUND : PGQ_ID_DONE;
        o[i].status = col_status(r, i, 1);
    }
    *out = o;
    *n_out = (size_t)rows;
done:
    PQclear(r);
    pgq__buf_free(&b);
    return rc;
}

int pgq_prune(pgq_client *c, double older_than, uint64_t *log_rows, uint64_t *stat_rows)
{
    if (!c)
        return PGQ_EINVAL;
    if (log_rows)
        *log_rows = 0;
    if (stat_rows)
        *stat_rows = 0;
    if (!(older_than >= 0 && older_than < 1e12))
        return pgq__fail(c, PGQ_EINVAL,
                         "the prune age must be a non-negative "
                         "number of seconds");
    char age[64];
    snprintf(age, sizeof age, "%.17g", older_than);
    const char *params[1] = {age};
    int rc;
    PGresult *r = pgq__exec(c, PGQ__PRUNE, 1, params, NULL, NULL, &rc);
    if (rc != PGQ_OK)
        return rc;
    if (log_rows)
        *log_rows = (uint64_t)col_int(r, 0, 0);
    if (stat_rows)
        *stat_rows = (uint64_t)col_int(r, 0, 1);
    PQclear(r);
    return PGQ_OK;
}

/* Formats an id as a text parameter. */
static const char *id_param(int64_t id, char *buf, size_t n)
{
    snprintf(buf, n, "%lld", (long long)id);
    return buf;
}

int pgq_job_get(pgq_client *c, int64_t id, pgq_job_set *out)
{
    if (!c)
        return PGQ_EINVAL;
    char idbuf[24];
    out->count = 0;
    out->jobs = NULL;
    if (id <= 0)
        return pgq__fail(c, PGQ_EINVAL, "job id %lld is not positive", (long long)id);
    const char *params[1] = {id_param(id, idbuf, sizeof idbuf)};
    int rc;
    PGresult *r = pgq__exec(c, PGQ__JOB_GET, 1, params, NULL, NULL, &rc);
    if (rc != PGQ_OK)
        return rc;
    rc = pgq__jobs_from_result(r, out);
    PQclear(r);
    return rc == PGQ_OK ? rc : pgq__fail(c, rc, "cannot decode the job row");
}

void pgq_log_entries_free(pgq_log_entry *rows, size_t n)
{
    for (size_t i = 0; rows && i < n; i++) {
        free(rows[i].entrypoint);
        free(rows[i].traceback);
    }
    free(rows);
}

/* Rows (id, created, status, priority, entrypoint, traceback) into log
 * entries; NULL on allocation failure. */
static pgq_log_entry *log_entries_from_result(const PGresult *r)
{
    int count = PQntuples(r);
    pgq_log_entry *v = calloc(count ? (size_t)count : 1, sizeof *v);
    for (int i = 0; v && i < count; i++) {
        v[i].id = col_int(r, i, 0);
        v[i].created = col_double(r, i, 1);
        v[i].status = col_status(r, i, 2);
        v[i].priority = (int32_t)col_int(r, i, 3);
        v[i].entrypoint = strdup(PQgetvalue(r, i, 4));
        v[i].traceback = PQgetisnull(r, i, 5) ? NULL : strdup(PQgetvalue(r, i, 5));
        if (!v[i].entrypoint || (!v[i].traceback && !PQgetisnull(r, i, 5))) {
            pgq_log_entries_free(v, (size_t)i + 1);
            v = NULL;
        }
    }
    return v;
}

int pgq_job_log(pgq_client *c, int64_t job_id, pgq_log_entry **rows, size_t *n)
{
    if (!c)
        return PGQ_EINVAL;
    char idbuf[24];
    *rows = NULL;
    *n = 0;
    if (job_id <= 0)
        return pgq__fail(c, PGQ_EINVAL, "job id %lld is not positive", (long long)job_id);
    const char *params[1] = {id_param(job_id, idbuf, sizeof idbuf)};
    int rc;
    PGresult *r = pgq__exec(c, PGQ__JOB_LOG, 1, params, NULL, NULL, &rc);
    if (rc != PGQ_OK)
        return rc;
    pgq_log_entry *v = log_entries_from_result(r);
    int count = PQntuples(r);
    PQclear(r);
    if (!v)
        return pgq__fail(c, PGQ_ENOMEM, "out of memory");
    *rows = v;
    *n = (size_t)count;
    return PGQ_OK;
}

int pgq__stats_fold(pgq_client *c, int limit, long long *folded)
{
    char n[16];
    snprintf(n, sizeof n, "%d", limit);
    const char *params[1] = {n};
    int rc;
    PGresult *r = pgq__exec(c, PGQ__STATS_FOLD, 1, params, NULL, NULL, &rc);
    if (rc == PGQ_OK && folded)
        *folded = PQntuples(r) == 1 ? atoll(PQgetvalue(r, 0, 0)) : 0;
    PQclear(r);
    return rc;
}
