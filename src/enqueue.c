/*
 * enqueue.c: inserting jobs (docs/design.md §4), and the job batch both pgq_enqueue
 * and the bulk path send as parameters.
 *
 * A batch keeps one buffer per column holding a one-dimensional array in
 * PostgreSQL's binary send format, so payload bytes travel as they are (no
 * hex doubling, NULs and non-UTF-8 welcome) and the server parses no text.
 * Each buffer starts with room for the 20-byte array header, which is
 * filled in just before sending, when the element count is known.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Element type OIDs of the batch columns (pg_type.dat). */
static const uint32_t col_oid[PGQ__BATCH_COLS] = {25, 17, 23, 701, 25, 3802};
enum { COL_EP, COL_PAYLOAD, COL_PRIO, COL_DELAY, COL_DEDUPE, COL_HEADERS };
enum { ARRAY_HEADER = 20 };

static void put_u32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static void append_u32(pgq__buf *b, uint32_t v)
{
    unsigned char p[4];
    put_u32(p, v);
    pgq__buf_append(b, (const char *)p, 4);
}

/* The first element of a column reserves room for the array header. */
static void start_elem(pgq__buf *b, uint32_t len)
{
    if (b->len == 0)
        pgq__buf_append(b, (const char[ARRAY_HEADER]){0}, ARRAY_HEADER);
    append_u32(b, len);
}

/* Appends one element: its length, then its bytes. */
static void append_elem(pgq__buf *b, const void *p, size_t len)
{
    start_elem(b, (uint32_t)len);
    pgq__buf_append(b, p, len);
}

/* A NULL element is a length of -1 and no bytes. */
static void append_null(pgq__batch *b, int col)
{
    start_elem(&b->cols[col], UINT32_MAX);
    b->has_null[col] = true;
}

static void append_float8(pgq__buf *b, double d)
{
    uint64_t u;
    unsigned char p[8];
    memcpy(&u, &d, sizeof u);
    put_u32(p, (uint32_t)(u >> 32));
    put_u32(p + 4, (uint32_t)u);
    append_elem(b, p, 8);
}

/* jsonb's binary form is a version byte (1) followed by the JSON text. */
static void append_jsonb(pgq__buf *b, const char *json)
{
    size_t n = strlen(json);
    start_elem(b, (uint32_t)(n + 1));
    pgq__buf_putc(b, 1);
    pgq__buf_append(b, json, n);
}

/* Fills the array header: one dimension of n elements from index 1. */
static void finish_header(pgq__buf *b, uint32_t oid, int32_t n, bool has_null)
{
    unsigned char *p = (unsigned char *)b->data;
    put_u32(p, 1);
    put_u32(p + 4, has_null ? 1 : 0);
    put_u32(p + 8, oid);
    put_u32(p + 12, (uint32_t)n);
    put_u32(p + 16, 1);
}

static int validate(pgq_client *c, const pgq_new_job *job, size_t index)
{
    if (!job->entrypoint || !job->entrypoint[0])
        return pgq__fail(c, PGQ_EINVAL, "job %zu: the entrypoint is empty", index);
    if (!isfinite(job->delay) || job->delay < 0)
        return pgq__fail(c, PGQ_EINVAL,
                         "job %zu: the delay must be a finite number of seconds >= 0",
                         index);
    if (job->payload_len > INT32_MAX || (!job->payload && job->payload_len))
        return pgq__fail(c, PGQ_EINVAL, "job %zu: bad payload length %zu", index,
                         job->payload_len);
    if (job->headers && !pgq__headers_ok(job->headers))
        return pgq__fail(c, PGQ_EINVAL, "job %zu: headers are not a JSON object", index);
    return PGQ_OK;
}

int pgq__batch_add(pgq_client *c, pgq__batch *b, const pgq_new_job *job, size_t index)
{
    int rc = validate(c, job, index);
    if (rc != PGQ_OK)
        return rc;
    unsigned char prio[4];
    put_u32(prio, (uint32_t)job->priority);
    append_elem(&b->cols[COL_EP], job->entrypoint, strlen(job->entrypoint));
    /* A NULL payload is SQL NULL; a zero-length one is an empty bytea. */
    if (job->payload)
        append_elem(&b->cols[COL_PAYLOAD], job->payload, job->payload_len);
    else
        append_null(b, COL_PAYLOAD);
    append_elem(&b->cols[COL_PRIO], prio, 4);
    append_float8(&b->cols[COL_DELAY], job->delay);
    if (job->dedupe_key)
        append_elem(&b->cols[COL_DEDUPE], job->dedupe_key, strlen(job->dedupe_key));
    else
        append_null(b, COL_DEDUPE);
    if (job->headers)
        append_jsonb(&b->cols[COL_HEADERS], job->headers);
    else
        append_null(b, COL_HEADERS);
    b->n++;
    for (int i = 0; i < PGQ__BATCH_COLS; i++)
        if (b->cols[i].oom)
            return pgq__fail(c, PGQ_ENOMEM, "out of memory");
    return PGQ_OK;
}

/* Empties the batch, keeping its buffers for the next chunk. */
static void batch_clear(pgq__batch *b)
{
    for (int i = 0; i < PGQ__BATCH_COLS; i++) {
        pgq__buf_reset(&b->cols[i]);
        b->has_null[i] = false;
    }
    b->n = 0;
}

/* Completes each column's array header and points the parameters at it. */
static int finish_columns(pgq_client *c, pgq__batch *b, const char **values, int *lengths)
{
    for (int i = 0; i < PGQ__BATCH_COLS; i++) {
        pgq__buf *col = &b->cols[i];
        if (col->len < ARRAY_HEADER) /* an empty batch */
            pgq__buf_append(col, (const char[ARRAY_HEADER]){0}, ARRAY_HEADER);
        if (col->oom)
            return pgq__fail(c, PGQ_ENOMEM, "out of memory");
        if (col->len > (size_t)INT32_MAX)
            return pgq__fail(c, PGQ_EINVAL, "a batch of jobs must stay under 2 GB");
        finish_header(col, col_oid[i], b->n, b->has_null[i]);
        values[i] = col->data;
        lengths[i] = (int)col->len;
    }
    return PGQ_OK;
}

PGresult *pgq__batch_exec(pgq_client *c, pgq__batch *b, pgq__stmt s, int *rc)
{
    static const int formats[PGQ__BATCH_COLS] = {1, 1, 1, 1, 1, 1};
    const char *values[PGQ__BATCH_COLS];
    int lengths[PGQ__BATCH_COLS];
    PGresult *r = NULL;
    *rc = finish_columns(c, b, values, lengths);
    if (*rc == PGQ_OK)
        r = pgq__exec(c, s, PGQ__BATCH_COLS, values, lengths, formats, rc);
    batch_clear(b);
    return r;
}

size_t pgq__batch_bytes(const pgq__batch *b)
{
    size_t n = 0;
    for (int i = 0; i < PGQ__BATCH_COLS; i++)
        n += b->cols[i].len;
    return n;
}

void pgq__batch_free(pgq__batch *b)
{
    batch_clear(b);
    for (int i = 0; i < PGQ__BATCH_COLS; i++)
        pgq__buf_free(&b->cols[i]);
}

/* Copies the returned ids (one row per input position) into ids. */
static int collect_ids(pgq_client *c, const PGresult *r, size_t n, int64_t *ids)
{
    if ((size_t)PQntuples(r) != n)
        return pgq__fail(c, PGQ_ESQL, "enqueue returned %d ids for %zu jobs",
                         PQntuples(r), n);
    for (size_t i = 0; ids && i < n; i++)
        ids[i] = strtoll(PQgetvalue(r, (int)i, 0), NULL, 10);
    return PGQ_OK;
}

int pgq_enqueue(pgq_client *c, const pgq_new_job *jobs, size_t n,
                pgq_on_conflict on_conflict, int64_t *ids)
{
    if (!c)
        return PGQ_EINVAL;
    pgq__batch b = {0};
    PGresult *r = NULL;
    int rc = PGQ_OK;
    pgq__clear_error(c);
    if (n == 0)
        return PGQ_OK;
    if (!jobs || n > INT32_MAX ||
        (on_conflict != PGQ_CONFLICT_RAISE && on_conflict != PGQ_CONFLICT_SKIP &&
         on_conflict != PGQ_CONFLICT_UPDATE_PRIORITY))
        return pgq__fail(c, PGQ_EINVAL, "pgq_enqueue: bad arguments");
    for (size_t i = 0; i < n && rc == PGQ_OK; i++)
        rc = pgq__batch_add(c, &b, &jobs[i], i);
    if (rc != PGQ_OK)
        goto out;
    pgq__stmt s = on_conflict == PGQ_CONFLICT_SKIP ? PGQ__ENQUEUE_SKIP
                  : on_conflict == PGQ_CONFLICT_UPDATE_PRIORITY
                      ? PGQ__ENQUEUE_UPDATE_PRIORITY
                      : PGQ__ENQUEUE;
    r = pgq__batch_exec(c, &b, s, &rc);
    if (r)
        rc = collect_ids(c, r, n, ids);
out:
    PQclear(r);
    pgq__batch_free(&b);
    return rc;
}
