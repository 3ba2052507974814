/* bench_modes.c: the measurements. Each mode prepares the database through
 * a client of its own, runs the worker under test in a child process
 * (bench_worker.c) and prints one result per measurement. */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

#define PER_100K(x, jobs) ((jobs) > 0 ? (x)*100000.0 / (double)(jobs) : -1)

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double bench_percentile(const double *sorted, size_t n, double p)
{
    if (n == 0)
        return -1;
    size_t rank = (size_t)ceil(p / 100.0 * (double)n);
    return sorted[rank ? rank - 1 : 0];
}

/* Connects, installs if needed, empties the tables. */
static pgq_client *prepare(const bench_opts *o)
{
    pgq_client *c = bench_connect(&o->cfg, "pgq-bench");
    if (c && bench_reset(c, !o->keep) != 0) {
        pgq_client_free(c);
        return NULL;
    }
    return c;
}

/* Log rows of successful jobs: the completions that are durable. */
static long successful_logged(pgq_client *c)
{
    return bench_query_long(c, "SELECT count(*) FROM pgqueuer_log "
                               "WHERE status = 'successful'");
}

/* ---- drain ---------------------------------------------------------------
 * N jobs queued, one worker process started in drain mode; jobs/s from the
 * first handler start to the worker's return after its last completion. */
int bench_drain(const bench_opts *o)
{
    pgq_client *c = prepare(o);
    if (!c || bench_fill(c, o->jobs) != 0 || bench_settle(c) != 0) {
        pgq_client_free(c);
        return 1;
    }
    bench_server s0 = {-1, 0, 0}, s1 = {-1, 0, 0};
    bench_server_sample(c, &s0);
    bench_child ch;
    int rc = bench_child_start(&ch, o, PGQ_MODE_DRAIN, 0);
    if (rc == 0)
        rc = bench_child_wait(&ch);
    bench_wait_backends_gone(c, BENCH_WORKER_APP);
    bench_server_sample(c, &s1);
    long handled = ch.sh ? bench_child_handled(&ch) : 0;
    long logged = successful_logged(c), left = bench_queue_len(c);
    if (rc != 0 || handled < o->jobs || logged != o->jobs || left != 0) {
        fprintf(stderr,
                "pgq_bench drain: worker %s, handled %ld, logged %ld, "
                "left %ld of %ld\n",
                rc ? "failed" : "ok", handled, logged, left, o->jobs);
        rc = 1;
    }
    bench_result r;
    bench_result_init(&r, o, "drain");
    r.jobs = o->jobs;
    r.seconds = ch.sh ? bench_child_end(&ch) - bench_child_first(&ch) : -1;
    r.jobs_per_s = r.seconds > 0 ? (double)o->jobs / r.seconds : -1;
    r.peak_rss_kb = ch.maxrss_kb;
    r.client_cpu_s = PER_100K(ch.cpu_s, o->jobs);
    r.server_cpu_s =
        s0.cpu_s >= 0 && s1.cpu_s >= 0 ? PER_100K(s1.cpu_s - s0.cpu_s, o->jobs) : -1;
    r.commits_per_100 = (s1.commits - s0.commits) * 100.0 / (double)o->jobs;
    r.wal_per_job = (s1.wal_bytes - s0.wal_bytes) / (double)o->jobs;
    if (rc == 0)
        bench_result_print(&r, o->json);
    bench_child_free(&ch);
    pgq_client_free(c);
    return rc;
}

/* ---- producers -------------------------------------------------------------
 * Threads with a client each. Flat out (rate 0) they enqueue batches until
 * told to stop; at a rate they enqueue single jobs on a schedule and note
 * the time each commit returned. */
typedef struct producer {
    pthread_t tid;
    const bench_opts *o;
    int index, count; /* this producer takes jobs index, index+count... */
    long first, last; /* scheduled jobs [first, last) */
    double start;     /* schedule origin (monotonic) */
    double *commits;  /* CLOCK_REALTIME per scheduled job */
    atomic_long *enqueued;
    atomic_bool *stop;
    int rc;
} producer;

static int enqueue_batch(pgq_client *c, int n, long base)
{
    pgq_new_job jobs[1000];
    char payloads[1000][24];
    for (int i = 0; i < n; i++) {
        jobs[i] = (pgq_new_job){.entrypoint = BENCH_ENTRYPOINT, .payload = payloads[i]};
        jobs[i].payload_len =
            (size_t)snprintf(payloads[i], sizeof payloads[i], "%ld", base + i);
    }
    int rc = pgq_enqueue(c, jobs, (size_t)n, PGQ_CONFLICT_RAISE, NULL);
    if (rc != PGQ_OK)
        fprintf(stderr, "pgq_bench: enqueue: %s\n", pgq_client_errmsg(c));
    return rc;
}

static void *producer_flat_out(void *arg)
{
    producer *p = arg;
    pgq_client *c = bench_connect(&p->o->cfg, "pgq-bench-producer");
    p->rc = c ? 0 : -1;
    int n = p->o->batch > 1000 ? 1000 : p->o->batch;
    while (c && !atomic_load(p->stop) && p->rc == 0) {
        p->rc = enqueue_batch(c, n, 0);
        if (p->rc == 0)
            atomic_fetch_add(p->enqueued, n);
    }
    pgq_client_free(c);
    return NULL;
}

/* Statements of o->batch jobs, statement k of this producer at
 * start + (its first job) / rate: the offered rate in jobs per second. */
static void *producer_scheduled(void *arg)
{
    producer *p = arg;
    pgq_client *c = bench_connect(&p->o->cfg, "pgq-bench-producer");
    long step = p->o->batch < 1 ? 1 : p->o->batch > 1000 ? 1000 : p->o->batch;
    p->rc = c ? 0 : -1;
    for (long i = p->first + p->index * step; c && p->rc == 0 && i < p->last;
         i += p->count * step) {
        int n = (int)(p->last - i < step ? p->last - i : step);
        bench_sleep_until(p->start + (double)(i - p->first) / p->o->rate);
        p->rc = enqueue_batch(c, n, i);
        double t = bench_real();
        for (int k = 0; k < n; k++)
            p->commits[i + k] = t;
    }
    pgq_client_free(c);
    return NULL;
}

/* Starts n producers; returns how many threads started. */
static int run_producers(producer *ps, int n, void *(*fn)(void *))
{
    for (int i = 0; i < n; i++)
        if (pthread_create(&ps[i].tid, NULL, fn, &ps[i]) != 0)
            return i;
    return n;
}

/* Joins the first n producers; non-zero if any failed. */
static int join_producers(producer *ps, int n)
{
    int rc = 0;
    for (int i = 0; i < n; i++) {
        pthread_join(ps[i].tid, NULL);
        rc |= ps[i].rc;
    }
    return rc;
}

/* ---- throughput ------------------------------------------------------------
 * Producers enqueue batches flat out while one worker process consumes;
 * after the warm-up, handled and enqueued jobs are counted for `seconds`. */
/* Counts handled and enqueued jobs over o->seconds after the warm-up. */
static void measure_window(const bench_opts *o, const bench_child *ch,
                           atomic_long *enqueued, bench_result *r)
{
    bench_sleep_until(bench_mono() + o->warmup);
    double t0 = bench_mono();
    long h0 = bench_child_handled(ch), e0 = atomic_load(enqueued);
    bench_sleep_until(t0 + o->seconds);
    double t1 = bench_mono();
    long h1 = bench_child_handled(ch), e1 = atomic_load(enqueued);
    r->jobs = h1 - h0;
    r->seconds = t1 - t0;
    r->jobs_per_s = (double)(h1 - h0) / r->seconds;
    r->enqueued_per_s = (double)(e1 - e0) / r->seconds;
}

int bench_throughput(const bench_opts *o)
{
    pgq_client *c = prepare(o);
    bench_child ch = {0};
    if (!c || bench_settle(c) != 0 ||
        bench_child_start(&ch, o, PGQ_MODE_CONTINUOUS, 0) != 0) {
        bench_child_free(&ch);
        pgq_client_free(c);
        return 1;
    }
    atomic_long enqueued = 0;
    atomic_bool stop = false;
    producer ps[16];
    int np = o->producers < 1 ? 1 : o->producers > 16 ? 16 : o->producers;
    for (int i = 0; i < np; i++)
        ps[i] = (producer){.o = o, .enqueued = &enqueued, .stop = &stop};
    int started = run_producers(ps, np, producer_flat_out);
    bench_result r;
    bench_result_init(&r, o, "throughput");
    if (started == np)
        measure_window(o, &ch, &enqueued, &r);
    atomic_store(&stop, true);
    int rc = (started != np) | join_producers(ps, started);
    r.backlog_left = bench_queue_len(c);
    bench_child_stop(&ch);
    rc |= bench_child_wait(&ch);
    r.peak_rss_kb = ch.maxrss_kb;
    if (rc == 0)
        bench_result_print(&r, o->json);
    else
        fprintf(stderr, "pgq_bench throughput: a producer or the worker failed\n");
    bench_child_free(&ch);
    pgq_client_free(c);
    return rc ? 1 : 0;
}

/* ---- latency ---------------------------------------------------------------
 * Jobs at a fixed offered rate (statements of --batch jobs) to an idle
 * worker; for each job, from
 * the moment its enqueue commit returned to the producer until its handler
 * started (both CLOCK_REALTIME; the payload is the job's slot). */
/* --interval (bench/run --soak): one row per interval of the run. Latency
 * of the jobs whose enqueue committed in the interval; jobs/s of those
 * whose handler started in it (what the worker kept up with). Jobs not
 * handled by the end are counted, not fatal: a soak reports falling
 * behind rather than losing its hour. */
static void latency_intervals(const bench_opts *o, const bench_child *ch,
                              const double *commits, long first, long n, double t0r,
                              double secs)
{
    long windows = (long)ceil(secs / o->interval);
    double *lat = malloc(sizeof(double) * (size_t)n);
    for (long w = 0; lat && w < windows; w++) {
        double from = t0r + (double)w * o->interval, to = from + o->interval;
        size_t k = 0;
        long started = 0, unhandled = 0;
        for (long i = first; i < first + n; i++) {
            double s = bench_child_slot(ch, (size_t)i);
            if (s >= from && s < to)
                started++;
            if (commits[i] < from || commits[i] >= to)
                continue;
            if (s > 0)
                lat[k++] = (s - commits[i]) * 1000.0;
            else
                unhandled++;
        }
        if (k == 0)
            continue;
        qsort(lat, k, sizeof *lat, cmp_double);
        bench_result r;
        bench_result_init(&r, o, "latency");
        r.interval = w + 1;
        r.jobs = (long)k;
        r.seconds = o->interval;
        r.jobs_per_s = (double)started / o->interval;
        r.offered_per_s = o->rate;
        r.backlog_left = unhandled;
        r.p50_ms = bench_percentile(lat, k, 50);
        r.p95_ms = bench_percentile(lat, k, 95);
        r.p99_ms = bench_percentile(lat, k, 99);
        r.max_ms = lat[k - 1];
        bench_result_print(&r, o->json);
    }
    free(lat);
}

static int latency_report(const bench_opts *o, const bench_child *ch,
                          const double *commits, long first, long n, double secs)
{
    double *lat = malloc(sizeof(double) * (size_t)n);
    size_t k = 0;
    for (long i = first; lat && i < first + n; i++) {
        double s = bench_child_slot(ch, (size_t)i);
        if (s > 0 && commits[i] > 0)
            lat[k++] = (s - commits[i]) * 1000.0;
    }
    if (!lat || (long)k != n) {
        fprintf(stderr, "pgq_bench latency: %zu of %ld jobs were handled\n", k, n);
        free(lat);
        return 1;
    }
    qsort(lat, k, sizeof *lat, cmp_double);
    bench_result r;
    bench_result_init(&r, o, "latency");
    r.jobs = n;
    r.seconds = secs;
    r.jobs_per_s = (double)n / secs;
    r.offered_per_s = o->rate;
    r.p50_ms = bench_percentile(lat, k, 50);
    r.p95_ms = bench_percentile(lat, k, 95);
    r.p99_ms = bench_percentile(lat, k, 99);
    r.max_ms = lat[k - 1];
    bench_result_print(&r, o->json);
    free(lat);
    return 0;
}

/* Runs one scheduled phase over jobs [first, last) at o->rate. */
/* Runs one scheduled phase over jobs [first, last) at o->rate. */
static int scheduled_phase(const bench_opts *o, double *commits, long first, long last)
{
    producer ps[16];
    int np = o->producers < 1 ? 1 : o->producers > 16 ? 16 : o->producers;
    double start = bench_mono() + 0.05;
    for (int i = 0; i < np; i++)
        ps[i] = (producer){.o = o,
                           .index = i,
                           .count = np,
                           .first = first,
                           .last = last,
                           .start = start,
                           .commits = commits};
    int started = run_producers(ps, np, producer_scheduled);
    /* Jobs of a producer that did not start are never enqueued: the
     * phase then fails when waiting for them. */
    return join_producers(ps, started) | (started != np);
}

int bench_latency(const bench_opts *o)
{
    long warm = (long)(o->rate / 2) + 10, n = (long)(o->rate * o->seconds);
    long total = warm + n;
    pgq_client *c = prepare(o);
    double *commits = calloc((size_t)total, sizeof(double));
    bench_child ch = {0};
    /* --keep (bench/run --soak): the tables as autovacuum left them, no
     * VACUUM of our own, or the soak would measure a freshly vacuumed queue. */
    int rc = c && commits && (o->keep || bench_settle(c) == 0) ? 0 : 1;
    if (rc == 0)
        rc = bench_child_start(&ch, o, PGQ_MODE_CONTINUOUS, (size_t)total);
    /* Half a second of warm-up jobs proves the worker is up and listening. */
    if (rc == 0)
        rc = scheduled_phase(o, commits, 0, warm);
    if (rc == 0 && !bench_child_wait_handled(&ch, warm, 30))
        rc = 1;
    double t0 = bench_mono(), t0r = bench_real();
    if (rc == 0)
        rc = scheduled_phase(o, commits, warm, total);
    double secs = bench_mono() - t0;
    if (rc == 0 && !bench_child_wait_handled(&ch, total, 30) && o->interval <= 0)
        rc = 1;
    bench_child_stop(&ch);
    if (ch.sh && bench_child_wait(&ch) != 0)
        rc = 1;
    if (rc == 0 && o->interval > 0)
        latency_intervals(o, &ch, commits, warm, n, t0r, secs);
    else if (rc == 0)
        rc = latency_report(o, &ch, commits, warm, n, secs);
    else
        fprintf(stderr, "pgq_bench latency: the producers or the worker failed\n");
    bench_child_free(&ch);
    free(commits);
    pgq_client_free(c);
    return rc;
}

/* ---- enqueue ---------------------------------------------------------------
 * jobs enqueued by one client: statements of `batch` jobs (variant single)
 * or the streaming bulk path (variant bulk). */
int bench_enqueue(const bench_opts *o)
{
    pgq_client *c = prepare(o);
    if (!c || bench_settle(c) != 0) {
        pgq_client_free(c);
        return 1;
    }
    bool bulk = o->variant && strcmp(o->variant, "bulk") == 0;
    int batch = o->batch > 1000 ? 1000 : o->batch;
    double t0 = bench_mono();
    int rc = 0;
    if (bulk)
        rc = bench_fill(c, o->jobs);
    for (long done = 0; !bulk && rc == 0 && done < o->jobs; done += batch) {
        int n = o->jobs - done < batch ? (int)(o->jobs - done) : batch;
        rc = enqueue_batch(c, n, done);
    }
    double secs = bench_mono() - t0;
    long queued = bench_queue_len(c);
    if (rc == 0 && queued != o->jobs) {
        fprintf(stderr, "pgq_bench enqueue: %ld of %ld jobs in the queue\n", queued,
                o->jobs);
        rc = 1;
    }
    bench_result r;
    bench_result_init(&r, o, "enqueue");
    r.variant = bulk ? "bulk" : "single";
    r.batch = bulk ? -1 : batch;
    r.jobs = o->jobs;
    r.seconds = secs;
    r.jobs_per_s = (double)o->jobs / secs;
    if (rc == 0)
        bench_result_print(&r, o->json);
    pgq_client_free(c);
    return rc ? 1 : 0;
}

/* ---- backlog ---------------------------------------------------------------
 * With o->jobs queued, claims batches and completes them (pgq_claim +
 * pgq_complete on one connection) until o->measure jobs are done: does the
 * cost of a claim stay flat as the table grows? */
static long claim_complete_loop(pgq_client *c, const bench_opts *o, const char *qm)
{
    pgq_claim_entrypoint ep = {.entrypoint = BENCH_ENTRYPOINT};
    pgq_claim_opts co = {.queue_manager_id = qm, .batch_size = o->batch};
    pgq_outcome *outs = calloc((size_t)o->batch, sizeof *outs);
    long done = 0;
    while (outs && done < o->measure) {
        pgq_job_set set = {0};
        if (pgq_claim(c, &ep, 1, &co, &set) != PGQ_OK || set.count == 0) {
            pgq_job_set_free(&set);
            break;
        }
        for (size_t i = 0; i < set.count; i++)
            outs[i] = (pgq_outcome){.job_id = set.jobs[i].id, .status = PGQ_SUCCESSFUL};
        size_t resolved = 0;
        int rc = pgq_complete(c, qm, outs, set.count, &resolved);
        pgq_job_set_free(&set);
        if (rc != PGQ_OK)
            break;
        done += (long)resolved;
    }
    free(outs);
    return done;
}

int bench_backlog(const bench_opts *o)
{
    pgq_client *c = prepare(o);
    if (!c || bench_fill(c, o->jobs) != 0 || bench_settle(c) != 0) {
        pgq_client_free(c);
        return 1;
    }
    char qm[40];
    snprintf(qm, sizeof qm, "00000000-0000-4000-8000-%012lx",
             (unsigned long)getpid() & 0xffffffffffffUL);
    double t0 = bench_mono();
    long done = claim_complete_loop(c, o, qm);
    double secs = bench_mono() - t0;
    long want = o->measure < o->jobs ? o->measure : o->jobs;
    if (done < want) {
        fprintf(stderr, "pgq_bench backlog: %ld of %ld jobs claimed and completed: %s\n",
                done, want, pgq_client_errmsg(c));
        pgq_client_free(c);
        return 1;
    }
    bench_result r;
    bench_result_init(&r, o, "backlog");
    r.jobs = done;
    r.seconds = secs;
    r.jobs_per_s = (double)done / secs;
    r.queued = o->jobs;
    r.threads = -1;
    bench_result_print(&r, o->json);
    pgq_client_free(c);
    return 0;
}

/* ---- server-stats: prints the server's counters as one JSON object, so
 * that the driver accounts for pgbench and the peers the same way. */
int bench_server_stats_cmd(const bench_opts *o)
{
    pgq_client *c = bench_connect(&o->cfg, "pgq-bench");
    bench_server s;
    int rc = c ? bench_server_sample(c, &s) : -1;
    pgq_client_free(c);
    if (rc != 0)
        return 1;
    printf("{\"cpu_s\": %.3f, \"wal_bytes\": %.0f, \"commits\": %.0f}\n", s.cpu_s,
           s.wal_bytes, s.commits);
    return 0;
}

/* ---- reset: the schema installed and every table empty, for the runs of
 * pgbench that replay pgq's statements. */
int bench_reset_cmd(const bench_opts *o)
{
    pgq_client *c = prepare(o);
    pgq_client_free(c);
    return c ? 0 : 1;
}
