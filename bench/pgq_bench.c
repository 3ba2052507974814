/* pgq_bench.c: the benchmark program. One invocation runs one mode and
 * prints its measurements, as text or one JSON object per line; bench/run
 * drives it together with the pgbench baselines and the peers. It uses
 * only the public API (pgq.h) and libpq. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

static const char usage[] =
    "Usage: pgq_bench MODE [options]\n\n"
    "Modes:\n"
    "  drain         --jobs N queued, then one worker process drains them\n"
    "  throughput    producers enqueue --batch jobs per statement while the\n"
    "                worker consumes; counted for --seconds after --warmup\n"
    "  latency       jobs at --rate per second (statements of --batch) to an\n"
    "                idle worker; enqueue commit -> handler start percentiles\n"
    "  enqueue       --jobs jobs by statements of --batch (--variant single)\n"
    "                or through the bulk path (--variant bulk)\n"
    "  backlog       --jobs queued; claim + complete --measure of them\n"
    "  reset         install the schema if needed and empty the tables\n"
    "  server-stats  print the server's CPU seconds, WAL bytes and commits\n\n"
    "Options:\n"
    "  --jobs N          default 100000\n"
    "  --batch N         default 100\n"
    "  --worker-batch N  the worker's batch size (default: --batch)\n"
    "  --threads N       handler threads (default 32)\n"
    "  --max-concurrent-tasks N  the worker's cap on held jobs (default:\n"
    "                    max(100, 2 x batch); 1000000 as good as none)\n"
    "  --seconds S       default 10\n"
    "  --warmup S        default 2\n"
    "  --interval S      latency: a row per S seconds instead (the soak)\n"
    "  --rate R          default 200\n"
    "  --producers N     default 1\n"
    "  --measure N       default 10000\n"
    "  --variant V       single or bulk\n"
    "  --worker-options O  server options of the worker's sessions only,\n"
    "                    e.g. \"-c synchronous_commit=off\" (experiments)\n"
    "  --keep            do not empty the queue first (latency: nor vacuum it)\n"
    "  --json            one JSON object per measurement\n"
    "Connection: PGDSN, PGQUEUER_DSN or the PG* variables.\n";

double bench_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double bench_real(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void bench_sleep_until(double deadline)
{
    struct timespec ts;
    ts.tv_sec = (time_t)deadline;
    ts.tv_nsec = (long)((deadline - (double)ts.tv_sec) * 1e9);
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
}

void bench_result_init(bench_result *r, const bench_opts *o, const char *mode)
{
    *r = (bench_result){
        .system = "pgq",
        .mode = mode,
        .batch = o->batch,
        .threads = o->threads,
        .variant = o->worker_options && *o->worker_options ? o->worker_options : NULL,
        .seconds = -1,
        .jobs_per_s = -1,
        .p50_ms = -1,
        .p95_ms = -1,
        .p99_ms = -1,
        .max_ms = -1,
        .peak_rss_kb = -1,
        .client_cpu_s = -1,
        .server_cpu_s = -1,
        .commits_per_100 = -1,
        .wal_per_job = -1,
        .backlog_left = -1,
        .queued = -1,
        .interval = -1,
        .offered_per_s = -1,
        .enqueued_per_s = -1,
    };
}

/* Appends ", key: value" for the fields that are set. */
static void field(bool json, const char *key, double v, int decimals)
{
    if (v < 0)
        return;
    if (json)
        printf(", \"%s\": %.*f", key, decimals, v);
    else
        printf(" %s=%.*f", key, decimals, v);
}

void bench_result_print(const bench_result *r, bool json)
{
    if (json)
        printf("{\"system\": \"%s\", \"mode\": \"%s\"", r->system, r->mode);
    else
        printf("%s %s", r->system, r->mode);
    if (r->variant)
        printf(json ? ", \"variant\": \"%s\"" : " variant=%s", r->variant);
    if (r->batch >= 0)
        field(json, "batch", r->batch, 0);
    else if (json)
        fputs(", \"batch\": null", stdout);
    field(json, "jobs", (double)r->jobs, 0);
    field(json, "seconds", r->seconds, 3);
    field(json, "jobs_per_s", r->jobs_per_s, 0);
    field(json, "threads", r->threads, 0);
    field(json, "offered_per_s", r->offered_per_s, 0);
    field(json, "enqueued_per_s", r->enqueued_per_s, 0);
    field(json, "backlog_left", (double)r->backlog_left, 0);
    field(json, "queued", (double)r->queued, 0);
    field(json, "interval", (double)r->interval, 0);
    field(json, "p50_ms", r->p50_ms, 3);
    field(json, "p95_ms", r->p95_ms, 3);
    field(json, "p99_ms", r->p99_ms, 3);
    field(json, "max_ms", r->max_ms, 3);
    field(json, "peak_rss_kb", (double)r->peak_rss_kb, 0);
    field(json, "client_cpu_s_per_100k", r->client_cpu_s, 3);
    field(json, "server_cpu_s_per_100k", r->server_cpu_s, 3);
    field(json, "commits_per_100_jobs", r->commits_per_100, 2);
    field(json, "wal_bytes_per_job", r->wal_per_job, 0);
    puts(json ? "}" : "");
    fflush(stdout);
}

/* Parses a positive number into *out; false (after a message) if not. */
static bool num(const char *opt, const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = s ? strtod(s, &end) : -1;
    if (!s || errno || end == s || *end || v <= 0) {
        fprintf(stderr, "pgq_bench: %s needs a positive number, got '%s'\n", opt,
                s ? s : "");
        return false;
    }
    *out = v;
    return true;
}

static bool set_option(bench_opts *o, const char *opt, const char *val)
{
    double v;
    if (!num(opt, val, &v))
        return false;
    if (!strcmp(opt, "--jobs"))
        o->jobs = (long)v;
    else if (!strcmp(opt, "--batch"))
        o->batch = (int)v;
    else if (!strcmp(opt, "--worker-batch"))
        o->worker_batch = (int)v;
    else if (!strcmp(opt, "--threads"))
        o->threads = (int)v;
    else if (!strcmp(opt, "--max-concurrent-tasks"))
        o->max_tasks = (int)v;
    else if (!strcmp(opt, "--seconds"))
        o->seconds = v;
    else if (!strcmp(opt, "--interval"))
        o->interval = v;
    else if (!strcmp(opt, "--warmup"))
        o->warmup = v;
    else if (!strcmp(opt, "--rate"))
        o->rate = v;
    else if (!strcmp(opt, "--producers"))
        o->producers = (int)v;
    else if (!strcmp(opt, "--measure"))
        o->measure = (long)v;
    else {
        fprintf(stderr, "pgq_bench: unknown option '%s'\n", opt);
        return false;
    }
    return true;
}

static int parse(bench_opts *o, int argc, char **argv)
{
    *o = (bench_opts){.jobs = 100000,
                      .batch = 100,
                      .threads = 32,
                      .seconds = 10,
                      .warmup = 2,
                      .rate = 200,
                      .producers = 1,
                      .measure = 10000};
    pgq_config_from_env(&o->cfg);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(usage, stdout);
            exit(0);
        } else if (!strcmp(a, "--json")) {
            o->json = true;
        } else if (!strcmp(a, "--keep")) {
            o->keep = true;
        } else if (!strcmp(a, "--fixed-batch")) {
            o->fixed_batch = true;
        } else if (!strcmp(a, "--variant") && i + 1 < argc) {
            o->variant = argv[++i];
        } else if (!strcmp(a, "--worker-options") && i + 1 < argc) {
            o->worker_options = argv[++i];
        } else if (!strncmp(a, "--", 2)) {
            if (!set_option(o, a, i + 1 < argc ? argv[i + 1] : NULL))
                return 2;
            i++;
        } else if (!o->mode) {
            o->mode = a;
        } else {
            fprintf(stderr, "pgq_bench: unexpected argument '%s'\n", a);
            return 2;
        }
    }
    if (!o->mode) {
        fprintf(stderr, "pgq_bench: missing mode (try --help)\n");
        return 2;
    }
    return 0;
}

int main(int argc, char **argv)
{
    bench_opts o;
    int rc = parse(&o, argc, argv);
    if (rc)
        return rc;
    static const struct {
        const char *name;
        int (*fn)(const bench_opts *);
    } modes[] = {
        {"drain", bench_drain},     {"throughput", bench_throughput},
        {"latency", bench_latency}, {"enqueue", bench_enqueue},
        {"backlog", bench_backlog}, {"server-stats", bench_server_stats_cmd},
        {"reset", bench_reset_cmd},
    };
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++)
        if (!strcmp(o.mode, modes[i].name))
            return modes[i].fn(&o);
    fprintf(stderr, "pgq_bench: unknown mode '%s' (try --help)\n", o.mode);
    return 2;
}
