/*
 * bench.h: the pieces of pgq_bench, the benchmark program driven by
 * bench/run. Everything here uses only the public pgq.h and libpq.
 */
#ifndef PGQ_BENCH_H
#define PGQ_BENCH_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "pgq.h"

#define BENCH_ENTRYPOINT "bench"
#define BENCH_WORKER_APP "pgq-bench-worker"

typedef struct bench_opts {
    const char *mode;
    long jobs;                  /* drain, enqueue: jobs; backlog: jobs queued */
    int batch;                  /* producer / enqueue / claim batch */
    int worker_batch;           /* the worker's batch_size; 0: batch */
    int threads;                /* handler threads of the worker */
    int max_tasks;              /* the worker's max_concurrent_tasks (0: default) */
    bool fixed_batch;           /* the worker's fixed_batch */
    double interval;            /* latency: a row per this many seconds */
    double seconds;             /* throughput window; latency duration */
    double warmup;              /* throughput warm-up */
    double rate;                /* latency: offered jobs/s */
    int producers;              /* throughput / latency producer threads */
    long measure;               /* backlog: jobs claimed and completed */
    const char *variant;        /* enqueue: single, bulk */
    const char *worker_options; /* server options of the worker's sessions */
    bool json;
    bool keep; /* do not clear the queue first */
    pgq_config cfg;
} bench_opts;

/* One measurement: printed as a table row or one JSON object. Numeric
 * fields below zero are omitted. */
typedef struct bench_result {
    const char *system;
    const char *mode;
    const char *variant; /* NULL: none */
    int batch;
    long jobs;
    double seconds;
    double jobs_per_s;
    double p50_ms, p95_ms, p99_ms, max_ms;
    long peak_rss_kb;
    int threads;
    double client_cpu_s, server_cpu_s; /* per 100k jobs */
    double commits_per_100;            /* transactions committed per 100 jobs */
    double wal_per_job;                /* WAL bytes written per job */
    long backlog_left;
    long queued; /* backlog: jobs queued while measuring */
    double offered_per_s;
    double enqueued_per_s;
    long interval; /* latency --interval: 1, 2, ...; -1: the whole run */
} bench_result;

void bench_result_init(bench_result *r, const bench_opts *o, const char *mode);
void bench_result_print(const bench_result *r, bool json);

/* ---- time ---- */
double bench_mono(void); /* CLOCK_MONOTONIC seconds */
double bench_real(void); /* CLOCK_REALTIME seconds */
void bench_sleep_until(double mono_deadline);

/* ---- database (bench_db.c) ---- */
/* Opens a client or prints why and returns NULL. */
pgq_client *bench_connect(const pgq_config *cfg, const char *app);
/* Installs the schema if absent and empties queue, log and statistics. */
int bench_reset(pgq_client *c, bool clear);
/* Enqueues n no-op jobs through the bulk path; payload "i" for job i. */
int bench_fill(pgq_client *c, long n);
/* VACUUM ANALYZE of the queue and a CHECKPOINT, so that every system
 * starts measuring from the same quiet state. */
int bench_settle(pgq_client *c);
/* Runs sql and returns the first column of the first row as a long, or -1. */
long bench_query_long(pgq_client *c, const char *sql);
int bench_exec(pgq_client *c, const char *sql);
/* Jobs still in the queue table. */
long bench_queue_len(pgq_client *c);

/* Server CPU seconds (user + system) used so far by the postmaster that
 * serves c and all its children, exited ones included; -1 if unreadable. */
double bench_server_cpu(pgq_client *c);

/* What the server has done so far: CPU (as above), WAL written, and
 * transactions committed in the current database. */
typedef struct bench_server {
    double cpu_s, wal_bytes, commits;
} bench_server;
int bench_server_sample(pgq_client *c, bench_server *out);
/* Waits (up to 10 s) until no backend whose application name starts with
 * `app` (the worker and its recorder) is left. */
void bench_wait_backends_gone(pgq_client *c, const char *app);

/* ---- worker child (bench_worker.c) ---- */
typedef struct bench_shared bench_shared;

typedef struct bench_child {
    pid_t pid;
    bench_shared *sh;
    size_t sh_size;
    int status;
    long maxrss_kb;
    double cpu_s;
} bench_child;

/* Forks a worker process (one pgq_worker, threads handler threads). slots:
 * how many latency slots (payload = slot index) the handler records. */
int bench_child_start(bench_child *ch, const bench_opts *o, pgq_worker_mode mode,
                      size_t slots);
/* SIGTERM (graceful stop). */
void bench_child_stop(bench_child *ch);
/* Waits for the child and collects its rusage. 0 if it exited cleanly. */
int bench_child_wait(bench_child *ch);
void bench_child_free(bench_child *ch);

long bench_child_handled(const bench_child *ch);
double bench_child_first(const bench_child *ch); /* mono time of 1st handler */
double bench_child_end(const bench_child *ch);   /* mono time run returned */
/* CLOCK_REALTIME handler start of slot i, or 0 if not run. */
double bench_child_slot(const bench_child *ch, size_t i);
/* Waits until at least n jobs were handled; false on timeout or death. */
bool bench_child_wait_handled(bench_child *ch, long n, double timeout);

/* ---- modes (bench_modes.c) ---- */
int bench_drain(const bench_opts *o);
int bench_throughput(const bench_opts *o);
int bench_latency(const bench_opts *o);
int bench_enqueue(const bench_opts *o);
int bench_backlog(const bench_opts *o);
int bench_server_stats_cmd(const bench_opts *o);
int bench_reset_cmd(const bench_opts *o);

/* Percentile (0..100) of a sorted array. */
double bench_percentile(const double *sorted, size_t n, double p);

#endif
