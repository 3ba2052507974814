/* record.c: the recorder, a thread with its own connection that
 * records batches of outcomes (pgq_complete) while the loop goes on
 * claiming on the other connection. Claims and completions touch different
 * rows, so the server runs them side by side; on one connection each
 * would wait for the other.
 *
 * Hand-off: the loop submits one batch at a time and polls for its result
 * when the recorder wakes it through the wake pipe. The recorder opens its
 * connection when it first has work, and again after losing it; the loop
 * never touches that connection. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "worker.h"

struct pgq__recorder {
    pthread_t tid;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pgq_config cfg; /* the worker's, with its own application_name */
    char appname[128];
    pgq__wcore *core;
    pgq_client *c; /* recorder thread only */
    /* Under mu: */
    pgq_outcome *outs; /* the batch; owned by the recorder while set */
    size_t n;
    bool work, done, shutdown;
    int rc;
    size_t resolved;
    char errmsg[512];
};

/* Runs one batch; the connection is dropped when it failed, to be opened
 * again for the next. */
static void record(pgq__recorder *r, const pgq_outcome *outs, size_t n, int *rc,
                   size_t *resolved, char *err, size_t errlen)
{
    *resolved = 0;
    *rc = pgq__wside_connect(&r->c, &r->cfg, NULL);
    if (*rc == PGQ_OK)
        *rc = pgq_complete(r->c, r->core->id, outs, n, resolved);
    if (*rc != PGQ_OK) {
        snprintf(err, errlen, "%s", r->c ? pgq_client_errmsg(r->c) : pgq_strerror(*rc));
        /* A read-only server (25006: a standby, a fenced old primary) will
         * not take the outcomes on this connection: open a new one, which
         * libpq gives a writable host when there is one. */
        if (*rc == PGQ_ECONNECT || !r->c ||
            strcmp(pgq_client_sqlstate(r->c), "25006") == 0) {
            pgq_client_free(r->c);
            r->c = NULL;
        }
    }
}

static void *recorder_main(void *arg)
{
    pgq__recorder *r = arg;
    pthread_mutex_lock(&r->mu);
    for (;;) {
        while (!r->work && !r->shutdown)
            pthread_cond_wait(&r->cv, &r->mu);
        if (!r->work)
            break;
        const pgq_outcome *outs = r->outs;
        size_t n = r->n;
        pthread_mutex_unlock(&r->mu);
        int rc;
        size_t resolved;
        char err[512] = "";
        record(r, outs, n, &rc, &resolved, err, sizeof err);
        pthread_mutex_lock(&r->mu);
        r->rc = rc;
        r->resolved = resolved;
        snprintf(r->errmsg, sizeof r->errmsg, "%s", err);
        r->work = false;
        r->done = true;
        char b = 'r';
        ssize_t w = write(r->core->wake_fd, &b, 1);
        (void)w; /* a full pipe already wakes the loop */
    }
    pthread_mutex_unlock(&r->mu);
    pgq_client_free(r->c);
    r->c = NULL;
    return NULL;
}

int pgq__rec_start(pgq__recorder **out, const pgq_config *cfg, pgq__wcore *core)
{
    pgq__recorder *r = calloc(1, sizeof *r);
    *out = r;
    if (!r)
        return PGQ_ENOMEM;
    pgq__wside_cfg(&r->cfg, r->appname, sizeof r->appname, cfg, "recorder");
    r->core = core;
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    if (pgq__wthread_start(&r->tid, recorder_main, r) != PGQ_OK) {
        pthread_mutex_destroy(&r->mu);
        pthread_cond_destroy(&r->cv);
        free(r);
        *out = NULL;
        return PGQ_EIO;
    }
    return PGQ_OK;
}

void pgq__rec_submit(pgq__recorder *r, pgq_outcome *outs, size_t n)
{
    pthread_mutex_lock(&r->mu);
    r->outs = outs;
    r->n = n;
    r->work = true;
    r->done = false;
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

bool pgq__rec_result(pgq__recorder *r, int *rc, size_t *resolved, char *err,
                     size_t errlen)
{
    pthread_mutex_lock(&r->mu);
    bool done = r->done;
    if (done) {
        *rc = r->rc;
        *resolved = r->resolved;
        snprintf(err, errlen, "%s", r->errmsg);
        r->done = false;
        free(r->outs);
        r->outs = NULL;
    }
    pthread_mutex_unlock(&r->mu);
    return done;
}

void pgq__rec_stop(pgq__recorder *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->mu);
    r->shutdown = true;
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
    pthread_join(r->tid, NULL);
    free(r->outs);
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cv);
    free(r);
}
