/* failed.c: held jobs, the seed's feature (docs/design.md §6). Jobs of an entrypoint
 * registered with mark_as_failed stay in the queue table as `failed` when
 * their handler fails for good; an operator lists them with their last
 * error, fixes the cause (or the payload) and re-queues them, or holds
 * queued and running jobs by hand. Each operation is one statement from
 * src/sql/{mark_failed,requeue_failed,list_failed}.sql. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* The `result` column of mark_failed.sql and requeue_failed.sql. */
static pgq_id_result result_parse(const char *s)
{
    if (strcmp(s, "done") == 0)
        return PGQ_ID_DONE;
    if (strcmp(s, "wrong_status") == 0)
        return PGQ_ID_WRONG_STATUS;
    if (strcmp(s, "dedupe_taken") == 0)
        return PGQ_ID_DEDUPE_TAKEN;
    return PGQ_ID_NOT_FOUND;
}

/* Turns (id, result, status) rows into the caller's outcome array. out may
 * be NULL when the caller only wants the count. */
static int outcomes_from_result(const PGresult *r, pgq_id_outcome **out, size_t *n_out)
{
    size_t rows = (size_t)PQntuples(r);
    if (n_out)
        *n_out = rows;
    if (!out)
        return PGQ_OK;
    *out = calloc(rows ? rows : 1, sizeof **out);
    if (!*out)
        return PGQ_ENOMEM;
    for (size_t i = 0; i < rows; i++) {
        pgq_id_outcome *o = &(*out)[i];
        o->id = strtoll(PQgetvalue(r, (int)i, 0), NULL, 10);
        o->result = result_parse(PQgetvalue(r, (int)i, 1));
        if (PQgetisnull(r, (int)i, 2) ||
            pgq_job_status_parse(PQgetvalue(r, (int)i, 2), &o->status) != PGQ_OK)
            o->status = PGQ_QUEUED;
    }
    return PGQ_OK;
}

static void outcomes_reset(pgq_id_outcome **out, size_t *n_out)
{
    if (out)
        *out = NULL;
    if (n_out)
        *n_out = 0;
}

/* Runs statement s (first parameter: the ids as an int8[] literal, or SQL
 * NULL when n == 0) and collects its per-id outcomes. */
static int run_id_statement(pgq_client *c, pgq__stmt s, const int64_t *ids, size_t n,
                            const char **values, const int *lengths, const int *formats,
                            int nparams, pgq_id_outcome **out, size_t *n_out)
{
    pgq__buf arr = {0};
    if (n > 0) {
        pgq__buf_int8_array(&arr, ids, n);
        if (!pgq__buf_cstr(&arr)) {
            pgq__buf_free(&arr);
            return pgq__fail(c, PGQ_ENOMEM, "out of memory");
        }
    }
    values[0] = n > 0 ? arr.data : NULL;
    int rc;
    PGresult *r = pgq__exec(c, s, nparams, values, lengths, formats, &rc);
    if (r) {
        rc = outcomes_from_result(r, out, n_out);
        if (rc != PGQ_OK)
            rc = pgq__fail(c, rc, "out of memory");
    }
    PQclear(r);
    pgq__buf_free(&arr);
    return rc;
}

int pgq_mark_jobs_as_failed(pgq_client *c, const int64_t *ids, size_t n,
                            const char *reason, pgq_id_outcome **out, size_t *n_out)
{
    outcomes_reset(out, n_out);
    if (!c)
        return PGQ_EINVAL;
    if (n > 0 && !ids)
        return pgq__fail(c, PGQ_EINVAL, "mark failed: ids is NULL but n is %zu", n);
    if (n == 0)
        return PGQ_OK;
    const char *values[2] = {NULL, reason && *reason ? reason : NULL};
    return run_id_statement(c, PGQ__MARK_FAILED, ids, n, values, NULL, NULL, 2, out,
                            n_out);
}

/* Checks the combination of ids and selection options; nothing is sent to
 * the server when it does not validate. */
static int requeue_validate(pgq_client *c, const int64_t *ids, size_t n,
                            const pgq_requeue_opts *o)
{
    bool by_ep = o->entrypoint != NULL;
    if (n > 0 && !ids)
        return pgq__fail(c, PGQ_EINVAL, "requeue: ids is NULL but n is %zu", n);
    if (by_ep && !*o->entrypoint)
        return pgq__fail(c, PGQ_EINVAL, "requeue: the entrypoint is empty");
    if (n > 0 && (by_ep || o->all))
        return pgq__fail(c, PGQ_EINVAL,
                         "requeue: give job ids, or an entrypoint or all, not both");
    if (n == 0 && !by_ep && !o->all)
        return pgq__fail(c, PGQ_EINVAL,
                         "requeue: no job ids given (select every failed job with all)");
    if (o->payload && n != 1)
        return pgq__fail(c, PGQ_EINVAL,
                         "requeue: a replacement payload needs exactly one job id");
    return PGQ_OK;
}

int pgq_requeue_failed_jobs(pgq_client *c, const int64_t *ids, size_t n,
                            const pgq_requeue_opts *opts, pgq_id_outcome **out,
                            size_t *n_out)
{
    static const pgq_requeue_opts none = {0};
    const pgq_requeue_opts *o = opts ? opts : &none;
    outcomes_reset(out, n_out);
    if (!c)
        return PGQ_EINVAL;
    int rc = requeue_validate(c, ids, n, o);
    if (rc != PGQ_OK)
        return rc;
    /* An empty replacement payload still needs a non-NULL value pointer:
     * NULL would be sent as SQL NULL. */
    const char *values[4] = {NULL, o->entrypoint, o->payload ? "t" : "f",
                             o->payload ? (o->payload_len ? o->payload : "") : NULL};
    const int lengths[4] = {0, 0, 0, (int)o->payload_len};
    const int formats[4] = {0, 0, 0, 1};
    if (o->payload && o->payload_len > (size_t)0x7fffffff)
        return pgq__fail(c, PGQ_EINVAL, "requeue: the payload is too large");
    return run_id_statement(c, PGQ__REQUEUE_FAILED, ids, n, values, lengths, formats, 4,
                            out, n_out);
}

/* ---- Listing ---------------------------------------------------------------- */

static void failed_job_free(pgq_failed_job *f)
{
    free((char *)f->job.entrypoint);
    free((unsigned char *)f->job.payload);
    free((char *)f->job.headers);
    free((char *)f->job.dedupe_key);
    free((char *)f->job.queue_manager_id);
    free((char *)f->error_type);
    free((char *)f->error_message);
}

void pgq_failed_set_free(pgq_failed_set *set)
{
    if (!set)
        return;
    for (size_t i = 0; i < set->count; i++)
        failed_job_free(&set->jobs[i]);
    free(set->jobs);
    set->jobs = NULL;
    set->count = 0;
}

/* Copies a text column into *dst (NULL for SQL NULL). */
static int col_dup(const PGresult *r, int row, const char *name, const char **dst)
{
    int col = PQfnumber(r, name);
    *dst = NULL;
    if (col < 0 || PQgetisnull(r, row, col))
        return PGQ_OK;
    *dst = strdup(PQgetvalue(r, row, col));
    return *dst ? PGQ_OK : PGQ_ENOMEM;
}

/* The job columns are converted by the shared job-set code; the failure
 * columns are added here. The job structs move into the failed set. */
int pgq__failed_from_result(const PGresult *r, bool sizes_only, pgq_failed_set *out)
{
    pgq_job_set jobs;
    int rc = pgq__jobs_from_result(r, &jobs);
    if (rc != PGQ_OK)
        return rc;
    out->jobs = calloc(jobs.count ? jobs.count : 1, sizeof *out->jobs);
    if (!out->jobs) {
        pgq_job_set_free(&jobs);
        return PGQ_ENOMEM;
    }
    int at = PQfnumber(r, "failed_at"), bytes = PQfnumber(r, "payload_bytes");
    for (size_t i = 0; i < jobs.count; i++) {
        pgq_failed_job *f = &out->jobs[i];
        f->job = jobs.jobs[i];
        out->count++;
        if (sizes_only)
            f->job.payload_len = (size_t)strtoull(PQgetvalue(r, (int)i, bytes), NULL, 10);
        f->failed_at = strtod(PQgetvalue(r, (int)i, at), NULL);
        if (col_dup(r, (int)i, "error_type", &f->error_type) != PGQ_OK ||
            col_dup(r, (int)i, "error_message", &f->error_message) != PGQ_OK)
            rc = PGQ_ENOMEM;
    }
    free(jobs.jobs);
    if (rc != PGQ_OK)
        pgq_failed_set_free(out);
    return rc;
}

int pgq_list_failed_jobs(pgq_client *c, const pgq_list_failed_opts *opts,
                         pgq_failed_set *out)
{
    static const pgq_list_failed_opts defaults = {0};
    const pgq_list_failed_opts *o = opts ? opts : &defaults;
    char limit[24];
    if (!out)
        return c ? pgq__fail(c, PGQ_EINVAL, "list failed: out is NULL") : PGQ_EINVAL;
    out->count = 0;
    out->jobs = NULL;
    if (!c)
        return PGQ_EINVAL;
    if (o->limit < 0)
        return pgq__fail(c, PGQ_EINVAL, "list failed: the limit %d is negative",
                         o->limit);
    snprintf(limit, sizeof limit, "%d", o->limit);
    const char *values[4] = {o->limit > 0 ? limit : NULL, o->entrypoint,
                             o->newest_first ? "t" : "f", o->sizes_only ? "t" : "f"};
    int rc;
    PGresult *r = pgq__exec(c, PGQ__LIST_FAILED, 4, values, NULL, NULL, &rc);
    if (r && (rc = pgq__failed_from_result(r, o->sizes_only, out)) != PGQ_OK)
        rc = pgq__fail(c, rc, "list failed: cannot decode the result");
    PQclear(r);
    return rc;
}
