/*
 * bulk.c: streaming bulk enqueue (SPEC 4) for inputs of millions of jobs.
 *
 * Jobs are gathered into a binary job batch (enqueue.c) and sent as one
 * INSERT (jobs and their `queued` log rows together, bulk.sql) whenever
 * the chunk is full, so memory stays at one chunk whatever the input size.
 * Every chunk runs in one transaction that pgq_bulk_finish commits: a
 * failure anywhere leaves nothing behind. Inside the caller's own
 * transaction a savepoint plays that role instead.
 */
#include <stdlib.h>

#include "internal.h"

/* A chunk is sent when it holds this many jobs or bytes, whichever comes
 * first: large enough that per-statement costs vanish, small enough to
 * keep memory and the server's array parsing modest. */
enum { CHUNK_JOBS = 5000, CHUNK_BYTES = 8 << 20 };

struct pgq_bulk {
    pgq_client *c;
    pgq__batch batch;
    uint64_t count; /* jobs inserted by the chunks sent so far */
    bool savepoint; /* the caller had a transaction open */
    int failed;     /* status of the first failed chunk, PGQ_OK if none */
};

/* Runs a rollback without touching the handle's error: the message that
 * caused the rollback is the one the caller must see. */
static void quiet(pgq_client *c, const char *sql)
{
    PQclear(PQexec(c->conn, sql));
}

int pgq_bulk_begin(pgq_client *c, pgq_bulk **out)
{
    *out = NULL;
    pgq_bulk *b = calloc(1, sizeof *b);
    if (!b)
        return pgq__fail(c, PGQ_ENOMEM, "out of memory");
    b->c = c;
    b->savepoint = PQtransactionStatus(c->conn) == PQTRANS_INTRANS;
    int rc = pgq__exec_command(c, b->savepoint ? "SAVEPOINT pgq_bulk" : "BEGIN");
    if (rc != PGQ_OK) {
        free(b);
        return rc;
    }
    *out = b;
    return PGQ_OK;
}

static int flush(pgq_bulk *b)
{
    int rc;
    if (b->batch.n == 0)
        return PGQ_OK;
    PGresult *r = pgq__batch_exec(b->c, &b->batch, PGQ__BULK, &rc);
    if (r)
        b->count += strtoull(PQcmdTuples(r), NULL, 10);
    PQclear(r);
    return rc;
}

int pgq_bulk_add(pgq_bulk *b, const pgq_new_job *job)
{
    if (b->failed != PGQ_OK)
        return pgq__fail(b->c, PGQ_ESTATE,
                         "the bulk enqueue failed earlier; only abort remains");
    if (job->dedupe_key)
        return pgq__fail(b->c, PGQ_EINVAL,
                         "bulk enqueue takes no dedupe keys (use pgq_enqueue)");
    int rc = pgq__batch_add(b->c, &b->batch, job, b->count + (uint64_t)b->batch.n);
    if (rc != PGQ_OK)
        return rc;
    if (b->batch.n >= CHUNK_JOBS || pgq__batch_bytes(&b->batch) >= CHUNK_BYTES)
        b->failed = flush(b);
    return b->failed;
}

static void bulk_free(pgq_bulk *b)
{
    pgq__batch_free(&b->batch);
    free(b);
}

int pgq_bulk_finish(pgq_bulk *b, uint64_t *count)
{
    pgq_client *c = b->c;
    int rc = b->failed != PGQ_OK ? b->failed : flush(b);
    if (rc == PGQ_OK)
        rc = pgq__exec_command(c, b->savepoint ? "RELEASE SAVEPOINT pgq_bulk" : "COMMIT");
    if (rc != PGQ_OK && rc != PGQ_ECONNECT)
        quiet(c, b->savepoint
                     ? "ROLLBACK TO SAVEPOINT pgq_bulk; RELEASE SAVEPOINT pgq_bulk"
                     : "ROLLBACK");
    if (count)
        *count = rc == PGQ_OK ? b->count : 0;
    bulk_free(b);
    return rc;
}

void pgq_bulk_abort(pgq_bulk *b)
{
    if (!b)
        return;
    quiet(b->c, b->savepoint
                    ? "ROLLBACK TO SAVEPOINT pgq_bulk; RELEASE SAVEPOINT pgq_bulk"
                    : "ROLLBACK");
    bulk_free(b);
}
