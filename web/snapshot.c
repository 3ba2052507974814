/* snapshot.c: the counts behind the overview and /metrics, taken by a
 * thread of their own and shared by every request. Counting a queue of a
 * million rows takes longer than a page may, so no request thread ever
 * counts: a request that finds the snapshot older than the ttl asks the
 * refresher for a new one and answers from the current one (with --cache
 * 0 it waits for the new one). Only the first request waits. The refresher
 * sleeps while nobody asks, so an idle console costs the database nothing.
 * Snapshots are reference counted so a request can keep reading one that
 * has just been replaced. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "web.h"

struct web_snapshots {
    pthread_mutex_t mu;
    pthread_cond_t cv;   /* the refresher waits for a request */
    pthread_cond_t done; /* requests wait for a refresh */
    web_snap *cur;       /* under mu */
    double cur_mono;     /* when cur was taken, monotonic */
    unsigned long gen;   /* refreshes attempted, under mu */
    bool wanted, stopping, started;
    bool busy;     /* a refresh is being taken */
    char err[256]; /* the last refresh's failure, "" after success */
    double ttl;
    pthread_t tid;
    web_server *server;
};

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

web_snapshots *web_snapshots_new(double ttl)
{
    web_snapshots *ss = calloc(1, sizeof *ss);
    if (!ss)
        return NULL;
    pthread_mutex_init(&ss->mu, NULL);
    pthread_cond_init(&ss->cv, NULL);
    pthread_cond_init(&ss->done, NULL);
    ss->ttl = ttl;
    return ss;
}

static void snap_free(web_snap *s)
{
    pgq_overview_free(&s->ov);
    pgq_stat_rows_free(s->stats, s->n_stats);
    pgq_count_rows_free(s->log, s->n_log);
    free(s);
}

void web_snapshots_free(web_snapshots *ss)
{
    if (!ss)
        return;
    pthread_mutex_lock(&ss->mu);
    ss->stopping = true;
    pthread_cond_broadcast(&ss->cv);
    pthread_mutex_unlock(&ss->mu);
    if (ss->started)
        pthread_join(ss->tid, NULL);
    if (ss->cur)
        snap_free(ss->cur);
    pthread_mutex_destroy(&ss->mu);
    pthread_cond_destroy(&ss->cv);
    pthread_cond_destroy(&ss->done);
    free(ss);
}

static void count_problem(void *ud, const char *problem)
{
    (void)ud;
    (void)problem;
}

/* Takes a new snapshot on this thread's connection. */
static web_snap *take(web_server *s, char *err, size_t errlen)
{
    pgq_client *c = web_client(s, err, errlen);
    if (!c)
        return NULL;
    web_snap *snap = calloc(1, sizeof *snap);
    if (!snap) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    int rc = pgq_queue_overview(c, &snap->ov);
    if (rc == PGQ_OK)
        rc = pgq_log_statistics(c, 3600, &snap->stats, &snap->n_stats);
    if (rc == PGQ_OK)
        rc = pgq_log_totals(c, &snap->log, &snap->n_log);
    if (rc != PGQ_OK) {
        snprintf(err, errlen, "cannot count the queue: %s", pgq_client_errmsg(c));
        snap_free(snap);
        return NULL;
    }
    int problems = 0;
    snap->schema_problems =
        pgq_verify(c, true, count_problem, NULL, &problems) == PGQ_OK ? problems : -1;
    snap->taken = snap->ov.now;
    snap->refs = 1;
    return snap;
}

/* The refresher: takes a snapshot whenever a request asked for one. Its
 * connection is its own (web_client is per thread) and closes when the
 * thread ends. */
static void *refresher(void *arg)
{
    web_snapshots *ss = arg;
    pthread_mutex_lock(&ss->mu);
    for (;;) {
        while (!ss->wanted && !ss->stopping)
            pthread_cond_wait(&ss->cv, &ss->mu);
        if (ss->stopping)
            break;
        ss->wanted = false;
        ss->busy = true;
        pthread_mutex_unlock(&ss->mu);
        char why[256] = "";
        web_snap *snap = take(ss->server, why, sizeof why);
        pthread_mutex_lock(&ss->mu);
        if (snap) {
            if (ss->cur && --ss->cur->refs == 0)
                snap_free(ss->cur);
            ss->cur = snap;
            ss->cur_mono = mono();
        }
        snprintf(ss->err, sizeof ss->err, "%s", why);
        ss->gen++;
        ss->busy = false;
        pthread_cond_broadcast(&ss->done);
    }
    pthread_mutex_unlock(&ss->mu);
    return NULL;
}

web_snap *web_snap_get(web_server *s, web_snapshots *ss, char *err, size_t errlen)
{
    pthread_mutex_lock(&ss->mu);
    if (!ss->started) {
        ss->server = s;
        ss->started = pthread_create(&ss->tid, NULL, refresher, ss) == 0;
        if (!ss->started) {
            pthread_mutex_unlock(&ss->mu);
            snprintf(err, errlen, "cannot start the thread that counts the queue");
            return NULL;
        }
    }
    bool stale = !ss->cur || mono() - ss->cur_mono >= ss->ttl;
    if (stale && !ss->wanted) {
        ss->wanted = true;
        pthread_cond_signal(&ss->cv);
    }
    /* Wait for the refresh only without a snapshot, or when asked to serve
     * nothing older than the request (--cache 0); the first attempt after
     * a failure is waited for too, so a database outage shows as an error. */
    if (stale && (!ss->cur || ss->ttl == 0 || ss->err[0])) {
        /* A refresh already under way began before this request. */
        unsigned long want = ss->gen + (ss->busy ? 2 : 1);
        while (ss->gen < want && !ss->stopping)
            pthread_cond_wait(&ss->done, &ss->mu);
    }
    if (ss->err[0] || !ss->cur) {
        snprintf(err, errlen, "%s", ss->err[0] ? ss->err : "no counts yet");
        pthread_mutex_unlock(&ss->mu);
        return NULL;
    }
    web_snap *snap = ss->cur;
    snap->refs++;
    pthread_mutex_unlock(&ss->mu);
    return snap;
}

void web_snap_release(web_snapshots *ss, web_snap *snap)
{
    if (!snap)
        return;
    pthread_mutex_lock(&ss->mu);
    bool last = --snap->refs == 0;
    pthread_mutex_unlock(&ss->mu);
    if (last)
        snap_free(snap);
}
