/* snapshot.c: the counts behind the overview and /metrics, taken at most
 * once per ttl and shared by every request meanwhile. Counting a queue of a
 * million rows takes longer than a page may, so one request refreshes
 * while the others keep answering from the previous snapshot; only the
 * very first request waits. Snapshots are reference counted so a request
 * can keep reading one that has just been replaced. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "web.h"

struct web_snapshots {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    web_snap *cur;     /* under mu */
    double cur_mono;   /* when cur was taken, monotonic */
    bool refreshing;   /* under mu */
    double ttl;
    char last_err[256];
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
    if (ss->cur)
        snap_free(ss->cur);
    pthread_mutex_destroy(&ss->mu);
    pthread_cond_destroy(&ss->cv);
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

web_snap *web_snap_get(web_server *s, web_snapshots *ss, char *err, size_t errlen)
{
    pthread_mutex_lock(&ss->mu);
    for (;;) {
        bool fresh = ss->cur && mono() - ss->cur_mono < ss->ttl;
        if (fresh || (ss->cur && ss->refreshing))
            break;
        if (ss->refreshing) { /* the first snapshot is being taken */
            pthread_cond_wait(&ss->cv, &ss->mu);
            continue;
        }
        ss->refreshing = true;
        pthread_mutex_unlock(&ss->mu);
        char why[256] = "";
        web_snap *snap = take(s, why, sizeof why);
        pthread_mutex_lock(&ss->mu);
        ss->refreshing = false;
        pthread_cond_broadcast(&ss->cv);
        if (snap) {
            if (ss->cur && --ss->cur->refs == 0)
                snap_free(ss->cur);
            ss->cur = snap;
            ss->cur_mono = mono();
        } else {
            /* Answer the error rather than a stale snapshot: the database
             * is down or the schema gone, and the page should say so. */
            snprintf(err, errlen, "%s", why);
            pthread_mutex_unlock(&ss->mu);
            return NULL;
        }
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
