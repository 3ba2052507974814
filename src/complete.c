/*
 * complete.c: what a worker does with jobs it holds (docs/design.md §4): resolve a
 * batch of outcomes, retry one job, heartbeat, and hand jobs back.
 *
 * Every statement acts only on rows still `picked` by the caller's
 * queue_manager_id, so a job cancelled, marked failed or taken over in the
 * meantime is left alone and not logged twice. A batch of successes, the
 * common case, goes through complete_ok.sql, which does the same for them
 * with a fraction of complete.sql's work per job.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Length of the valid UTF-8 sequence at s, or 0 if it is not one. */
static size_t utf8_len(const unsigned char *s)
{
    size_t n = s[0] < 0x80         ? 1
               : (s[0] >> 5) == 6  ? 2
               : (s[0] >> 4) == 14 ? 3
               : (s[0] >> 3) == 30 ? 4
                                   : 0;
    for (size_t i = 1; i < n; i++)
        if ((s[i] >> 6) != 2)
            return 0;
    if ((n == 2 && s[0] < 0xc2) || (n == 3 && s[0] == 0xe0 && s[1] < 0xa0) ||
        (n == 3 && s[0] == 0xed && s[1] >= 0xa0) ||
        (n == 4 && ((s[0] == 0xf0 && s[1] < 0x90) || s[0] > 0xf4 ||
                    (s[0] == 0xf4 && s[1] >= 0x90))))
        return 0; /* overlong, surrogate or beyond U+10FFFF */
    return n;
}

/* Appends s to b, replacing bytes that are not UTF-8 with U+FFFD: error
 * text often comes from a program's stderr, and one bad byte must not make
 * the server refuse the whole completion. */
static void append_utf8(pgq__buf *b, const char *s)
{
    for (const unsigned char *u = (const unsigned char *)s; *u;) {
        size_t n = utf8_len(u);
        if (n)
            pgq__buf_append(b, (const char *)u, n);
        else
            pgq__buf_puts(b, "\xef\xbf\xbd");
        u += n ? n : 1;
    }
}

/* Appends s, made valid UTF-8, as an array element (NULL stays NULL). */
static void append_text(pgq__buf *b, const char *s)
{
    pgq__buf clean = {0};
    if (s)
        append_utf8(&clean, s);
    pgq__buf_array_elem(b, s ? pgq__buf_cstr(&clean) : NULL);
    b->oom |= clean.oom;
    pgq__buf_free(&clean);
}

/* The array parameters of complete.sql, $2..$7. */
typedef struct outcome_arrays {
    pgq__buf ids, statuses, delays, types, messages, details;
} outcome_arrays;

static pgq__buf *array_at(outcome_arrays *a, int i)
{
    pgq__buf *all[] = {&a->ids,   &a->statuses, &a->delays,
                       &a->types, &a->messages, &a->details};
    return all[i];
}

static int check_outcome(pgq_client *c, const pgq_outcome *o, size_t i)
{
    switch (o->status) {
    case PGQ_SUCCESSFUL:
    case PGQ_EXCEPTION:
    case PGQ_CANCELED:
    case PGQ_FAILED:
        return PGQ_OK;
    case PGQ_QUEUED:
        if (isfinite(o->retry_delay) && o->retry_delay >= 0)
            return PGQ_OK;
        return pgq__fail(c, PGQ_EINVAL, "outcome %zu: bad retry delay", i);
    default:
        return pgq__fail(c, PGQ_EINVAL, "outcome %zu: %s is not an outcome", i,
                         pgq_job_status_name(o->status) ? pgq_job_status_name(o->status)
                                                        : "an unknown status");
    }
}

static void add_outcome(outcome_arrays *a, const pgq_outcome *o, const char *sep)
{
    pgq__buf_printf(&a->ids, "%s%lld", sep, (long long)o->job_id);
    pgq__buf_printf(&a->statuses, "%s%s", sep, pgq_job_status_name(o->status));
    pgq__buf_printf(&a->delays, "%s%.17g", sep,
                    o->status == PGQ_QUEUED ? o->retry_delay : 0.0);
    pgq__buf_puts(&a->types, sep);
    append_text(&a->types, o->error_type);
    pgq__buf_puts(&a->messages, sep);
    append_text(&a->messages, o->error_message);
    pgq__buf_puts(&a->details, sep);
    append_text(&a->details, o->error_detail);
}

static int build_outcomes(pgq_client *c, outcome_arrays *a, const pgq_outcome *o,
                          size_t n)
{
    for (int k = 0; k < 6; k++)
        pgq__buf_putc(array_at(a, k), '{');
    for (size_t i = 0; i < n; i++) {
        int rc = check_outcome(c, &o[i], i);
        if (rc != PGQ_OK)
            return rc;
        add_outcome(a, &o[i], i ? "," : "");
    }
    for (int k = 0; k < 6; k++) {
        pgq__buf_putc(array_at(a, k), '}');
        if (array_at(a, k)->oom)
            return pgq__fail(c, PGQ_ENOMEM, "out of memory");
    }
    return PGQ_OK;
}

/* The first column of the first row as a count. */
static size_t first_count(const PGresult *r)
{
    return PQntuples(r) > 0 ? (size_t)strtoull(PQgetvalue(r, 0, 0), NULL, 10) : 0;
}

static bool all_successful(const pgq_outcome *o, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (o[i].status != PGQ_SUCCESSFUL)
            return false;
    return true;
}

/* complete_ok.sql: a batch of successes needs only the job ids. */
static PGresult *complete_ok(pgq_client *c, const char *queue_manager_id,
                             const pgq_outcome *o, size_t n, int *rc)
{
    pgq__buf ids = {0};
    PGresult *r = NULL;
    pgq__buf_putc(&ids, '{');
    for (size_t i = 0; i < n; i++)
        pgq__buf_printf(&ids, "%s%lld", i ? "," : "", (long long)o[i].job_id);
    pgq__buf_putc(&ids, '}');
    if (ids.oom) {
        *rc = pgq__fail(c, PGQ_ENOMEM, "out of memory");
    } else {
        const char *values[2] = {queue_manager_id, ids.data};
        r = pgq__exec(c, PGQ__COMPLETE_OK, 2, values, NULL, NULL, rc);
    }
    pgq__buf_free(&ids);
    return r;
}

/* complete.sql: any mix of outcomes, each with its error record. */
static PGresult *complete_any(pgq_client *c, const char *queue_manager_id,
                              const pgq_outcome *o, size_t n, int *rc)
{
    outcome_arrays a = {0};
    PGresult *r = NULL;
    if ((*rc = build_outcomes(c, &a, o, n)) == PGQ_OK) {
        const char *values[7] = {queue_manager_id};
        for (int k = 0; k < 6; k++)
            values[k + 1] = array_at(&a, k)->data;
        r = pgq__exec(c, PGQ__COMPLETE, 7, values, NULL, NULL, rc);
    }
    for (int k = 0; k < 6; k++)
        pgq__buf_free(array_at(&a, k));
    return r;
}

int pgq_complete(pgq_client *c, const char *queue_manager_id, const pgq_outcome *outcomes,
                 size_t n, size_t *resolved)
{
    int rc = PGQ_OK;
    if (resolved)
        *resolved = 0;
    pgq__clear_error(c);
    if (!queue_manager_id || (n && !outcomes))
        return pgq__fail(c, PGQ_EINVAL, "pgq_complete: a queue_manager_id is required");
    if (n == 0)
        return PGQ_OK;
    PGresult *r = all_successful(outcomes, n)
                      ? complete_ok(c, queue_manager_id, outcomes, n, &rc)
                      : complete_any(c, queue_manager_id, outcomes, n, &rc);
    if (r && resolved)
        *resolved = first_count(r);
    PQclear(r);
    return rc;
}

int pgq_retry(pgq_client *c, const char *queue_manager_id, int64_t job_id, double delay,
              const char *reason)
{
    char id[24], secs[32];
    pgq__buf why = {0};
    int rc;
    if (!queue_manager_id || !isfinite(delay) || delay < 0)
        return pgq__fail(c, PGQ_EINVAL,
                         "pgq_retry: a queue_manager_id and a delay >= 0 are required");
    snprintf(id, sizeof id, "%lld", (long long)job_id);
    snprintf(secs, sizeof secs, "%.17g", delay);
    if (reason)
        append_utf8(&why, reason);
    if (why.oom)
        return pgq__fail(c, PGQ_ENOMEM, "out of memory");
    const char *values[4] = {queue_manager_id, id, secs,
                             reason ? pgq__buf_cstr(&why) : NULL};
    PGresult *r = pgq__exec(c, PGQ__RETRY, 4, values, NULL, NULL, &rc);
    if (r && first_count(r) == 0)
        rc = pgq__fail(c, PGQ_ENOTFOUND,
                       "job %lld is not picked by queue manager %s; nothing changed",
                       (long long)job_id, queue_manager_id);
    PQclear(r);
    pgq__buf_free(&why);
    return rc;
}

/* Runs heartbeat.sql or release.sql over ids picked by queue_manager_id. */
/* Runs s for ids; *res (when not NULL) gets the result on success. */
static int for_picked_res(pgq_client *c, pgq__stmt s, const char *queue_manager_id,
                          const int64_t *ids, size_t n, PGresult **res)
{
    pgq__buf arr = {0};
    int rc;
    pgq__clear_error(c);
    if (!queue_manager_id || (n && !ids))
        return pgq__fail(c, PGQ_EINVAL, "a queue_manager_id and ids are required");
    if (n == 0)
        return PGQ_OK;
    pgq__buf_int8_array(&arr, ids, n);
    if (arr.oom) {
        pgq__buf_free(&arr);
        return pgq__fail(c, PGQ_ENOMEM, "out of memory");
    }
    const char *values[2] = {queue_manager_id, arr.data};
    PGresult *r = pgq__exec(c, s, 2, values, NULL, NULL, &rc);
    if (res && rc == PGQ_OK)
        *res = r;
    else
        PQclear(r);
    pgq__buf_free(&arr);
    return rc;
}

static int for_picked(pgq_client *c, pgq__stmt s, const char *queue_manager_id,
                      const int64_t *ids, size_t n)
{
    return for_picked_res(c, s, queue_manager_id, ids, n, NULL);
}

/* Column col of the heartbeat's one row as a malloc'd id array; NULL for
 * SQL NULL. */
static int beat_ids(pgq_client *c, PGresult *r, int col, int64_t **out, size_t *n)
{
    if (PQgetisnull(r, 0, col))
        return PGQ_OK;
    int rc = pgq__parse_int8_array(PQgetvalue(r, 0, col), out, n);
    return rc == PGQ_OK ? PGQ_OK : pgq__fail(c, rc, "out of memory");
}

int pgq__heartbeat_ex(pgq_client *c, const char *queue_manager_id, const int64_t *ids,
                      size_t n, pgq__beat *beat)
{
    PGresult *r = NULL;
    if (beat)
        *beat = (pgq__beat){0};
    int rc = for_picked_res(c, PGQ__HEARTBEAT, queue_manager_id, ids, n, &r);
    if (rc != PGQ_OK || !r || !beat) {
        PQclear(r);
        return rc;
    }
    if (PQntuples(r) == 1 && PQnfields(r) == 3) {
        rc = beat_ids(c, r, 1, &beat->owned, &beat->n_owned);
        /* Not one touched: array_agg over no rows is NULL too. */
        if (rc == PGQ_OK && !beat->owned && strtoll(PQgetvalue(r, 0, 0), NULL, 10) == 0) {
            beat->owned = malloc(sizeof *beat->owned);
            rc = beat->owned ? PGQ_OK : pgq__fail(c, PGQ_ENOMEM, "out of memory");
        }
        if (rc == PGQ_OK)
            rc = beat_ids(c, r, 2, &beat->cancel, &beat->n_cancel);
    }
    PQclear(r);
    if (rc != PGQ_OK) {
        free(beat->owned);
        free(beat->cancel);
        *beat = (pgq__beat){0};
    }
    return rc;
}

int pgq_heartbeat(pgq_client *c, const char *queue_manager_id, const int64_t *ids,
                  size_t n)
{
    return pgq__heartbeat_ex(c, queue_manager_id, ids, n, NULL);
}

int pgq_release(pgq_client *c, const char *queue_manager_id, const int64_t *ids, size_t n)
{
    return for_picked(c, PGQ__RELEASE, queue_manager_id, ids, n);
}
