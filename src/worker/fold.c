/* fold.c: the folder, a thread with its own connection that rolls the log
 * into the statistics table about every 30 s (+-20%), as PgQueuer's
 * workers do (its log_aggregation_interval), when this worker has logged
 * jobs since its last fold.
 *
 * Why a thread of its own: a fold flags every log row written since the
 * last one (three per job), so at a few thousand jobs/s it is hundreds of
 * thousands of rows. On the loop's connection that statement stopped all
 * claiming for seconds every 30 s (bench/run --soak: 0 jobs/s for 7 s,
 * then a backlog with p99 latency of 7 s). Here the loop never waits for
 * it, and it folds in chunks of FOLD_CHUNK rows, one short transaction
 * each, so its row locks and PgQueuer's advisory lock are held briefly.
 * The fold takes that lock, so one folder of a mixed fleet folds at a
 * time; a failed fold is tried again next period, and never stops the
 * worker. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <time.h>

#include "worker.h"

#define FOLD_CHUNK 10000

struct pgq__folder {
    pthread_t tid;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pgq_config cfg; /* the worker's, with its own application_name */
    char appname[128];
    pgq__wcore *core;
    double interval;
    pgq_client *c; /* folder thread only */
    /* Under mu: */
    bool shutdown;
    uint64_t logged; /* outcomes the loop has counted so far */
};

/* Planned for each chunk, unlike the worker's other statements: a generic
 * plan made while the log was nearly empty walked an index of every log
 * row, folded or not, so each chunk read past all the rows the chunks
 * before it had folded (29 s for one chunk in the soak). Planning costs
 * about 3 ms of a chunk's 100. */
#define FOLD_SESSION "SET plan_cache_mode = force_custom_plan"

static bool stopping(pgq__folder *f)
{
    pthread_mutex_lock(&f->mu);
    bool s = f->shutdown;
    pthread_mutex_unlock(&f->mu);
    return s;
}

/* Folds everything unflagged, a chunk at a time; false on an error. */
static bool fold_all(pgq__folder *f)
{
    long long total = 0, folded = FOLD_CHUNK;
    int rc = pgq__wside_connect(&f->c, &f->cfg, FOLD_SESSION);
    while (rc == PGQ_OK && folded >= FOLD_CHUNK && !stopping(f)) {
        rc = pgq__stats_fold(f->c, FOLD_CHUNK, &folded);
        total += rc == PGQ_OK ? folded : 0;
    }
    if (rc != PGQ_OK) {
        pgq__wlog(f->core, PGQ_LOG_WARN, 0, NULL, "folding the log into statistics: %s",
                  f->c ? pgq_client_errmsg(f->c) : pgq_strerror(rc));
        pgq_client_free(f->c);
        f->c = NULL;
        return false;
    }
    pgq__wlog(f->core, PGQ_LOG_DEBUG, 0, NULL, "folded %lld log row(s) into statistics",
              total);
    return true;
}

static void *folder_main(void *arg)
{
    pgq__folder *f = arg;
    uint64_t folded_upto = 0;
    unsigned seed = (unsigned)time(NULL) ^ (unsigned)(uintptr_t)f;
    pthread_mutex_lock(&f->mu);
    while (!f->shutdown) {
        double wait = f->interval * (0.8 + 0.4 * (double)rand_r(&seed) / RAND_MAX);
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        double t = (double)until.tv_sec + (double)until.tv_nsec / 1e9 + wait;
        until.tv_sec = (time_t)t;
        until.tv_nsec = (long)((t - floor(t)) * 1e9);
        int err = 0;
        while (!f->shutdown && err != ETIMEDOUT)
            err = pthread_cond_timedwait(&f->cv, &f->mu, &until);
        if (f->shutdown)
            break;
        uint64_t logged = f->logged;
        if (logged == folded_upto)
            continue;
        pthread_mutex_unlock(&f->mu);
        bool ok = fold_all(f);
        pthread_mutex_lock(&f->mu);
        if (ok)
            folded_upto = logged;
    }
    pthread_mutex_unlock(&f->mu);
    pgq_client_free(f->c);
    f->c = NULL;
    return NULL;
}

int pgq__folder_start(pgq__folder **out, const pgq_config *cfg, pgq__wcore *core,
                      double interval)
{
    *out = NULL;
    if (interval < 0)
        return PGQ_OK; /* never */
    pgq__folder *f = calloc(1, sizeof *f);
    if (!f)
        return PGQ_ENOMEM;
    pgq__wside_cfg(&f->cfg, f->appname, sizeof f->appname, cfg, "statistics");
    f->core = core;
    f->interval = interval;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (pgq__wthread_start(&f->tid, folder_main, f) != PGQ_OK) {
        pthread_mutex_destroy(&f->mu);
        pthread_cond_destroy(&f->cv);
        free(f);
        return PGQ_EIO;
    }
    *out = f;
    return PGQ_OK;
}

void pgq__folder_note(pgq__folder *f, uint64_t logged)
{
    if (!f)
        return;
    pthread_mutex_lock(&f->mu);
    f->logged = logged;
    pthread_mutex_unlock(&f->mu);
}

void pgq__folder_stop(pgq__folder *f)
{
    if (!f)
        return;
    pthread_mutex_lock(&f->mu);
    f->shutdown = true;
    pthread_cond_signal(&f->cv);
    pthread_mutex_unlock(&f->mu);
    pthread_join(f->tid, NULL);
    pthread_mutex_destroy(&f->mu);
    pthread_cond_destroy(&f->cv);
    free(f);
}
