/*
 * plugin_example.c: a worker plug-in for `pgq run`.
 *
 *   pgq run build/examples/plugin_example.so -- [--record FILE]
 *           [--entrypoints A,B,...] [--fail-every N] [--sleep-ms N]
 *           [--block-every N --until FILE [--blocked FILE]]
 *
 * A plug-in is a shared object exporting one function,
 * pgq_plugin_setup(worker, argc, argv), which registers its entrypoints
 * with pgq_worker_register(); argv[0] is the plug-in's path and the rest
 * are the arguments given after `--`. pgq run then applies its own
 * per-entrypoint options (--hold, --max-attempts, ...) on top.
 *
 * Entrypoints of this example:
 *   hello        succeeds at once
 *   fail         always fails, with the payload in the error message
 *   sleep        sleeps for the payload's number of milliseconds, returning
 *                early (as a failure) if the job is cancelled
 *   flaky        fails on its first run, succeeds on a retry
 *   A, B, ...    (--entrypoints) succeed at once, like hello; naming one
 *                of the four above keeps its own handler (so
 *                "--entrypoints hello,fail" serves just those names)
 * With --record FILE every run appends "<job id> <entrypoint>\n" to FILE
 * (one write(2) on an O_APPEND file, so concurrent runs do not mix lines):
 * the tests count runs this way. With --fail-every N, hello and the named
 * entrypoints fail every Nth job id; with --sleep-ms N they take N ms.
 * With --block-every N --until FILE, they hold every Nth job id until FILE
 * exists (or the job is cancelled), appending "<job id>\n" to the file
 * given by --blocked FILE as each such job starts waiting: a test then
 * knows for certain which jobs are still running (and, once every task is
 * held, that the rest are still queued) for as long as it wants, instead
 * of racing the worker.
 *
 * Handlers run on the worker's thread pool, so they must be thread-safe;
 * this one keeps only read-only state after setup.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pgq.h"

typedef struct example {
    int record_fd;     /* -1: no recording */
    long fail_every;   /* 0: never */
    long sleep_ms;     /* work time of hello and the named entrypoints */
    long block_every;  /* 0: never */
    const char *until; /* the file whose existence releases held jobs */
    int blocked_fd;    /* -1: no log of held jobs */
} example;

/* One instance per process: pgq run loads a plug-in once. */
static example state = {.record_fd = -1, .blocked_fd = -1};

/* One write(2) of an O_APPEND file, so concurrent lines do not mix. */
static void append_line(int fd, const char *line, int n)
{
    if (fd >= 0 && n > 0 && write(fd, line, (size_t)n) != n)
        return; /* a test would notice the missing line */
}

static void record(const pgq_job *job)
{
    char line[320];
    int n = snprintf(line, sizeof line, "%lld %s\n", (long long)job->id, job->entrypoint);
    append_line(state.record_fd, line, n);
}

static int fail(const pgq_job *job, pgq_job_ctx *ctx)
{
    char msg[200];
    record(job);
    snprintf(msg, sizeof msg, "rejected payload: %.*s",
             (int)(job->payload_len < 120 ? job->payload_len : 120),
             job->payload ? (const char *)job->payload : "");
    pgq_job_ctx_error(ctx, "ExampleError", msg,
                      "raised by the fail entrypoint of "
                      "plugin_example.c");
    return 1;
}

/* Sleeps ms in small steps, so a cancellation (or an immediate stop) is
 * noticed quickly; false if cancelled. */
static bool nap(pgq_job_ctx *ctx, long ms)
{
    for (long slept = 0; slept < ms; slept += 10) {
        if (pgq_job_ctx_cancelled(ctx))
            return false;
        long step = ms - slept < 10 ? ms - slept : 10;
        struct timespec ts = {0, step * 1000000L};
        nanosleep(&ts, NULL);
    }
    return true;
}

/* --block-every: holds the job until the --until file exists; false if
 * the job was cancelled meanwhile. */
static bool hold(const pgq_job *job, pgq_job_ctx *ctx)
{
    if (state.block_every <= 0 || job->id % state.block_every != 0)
        return true;
    char line[32];
    int n = snprintf(line, sizeof line, "%lld\n", (long long)job->id);
    append_line(state.blocked_fd, line, n);
    while (access(state.until, F_OK) != 0)
        if (!nap(ctx, 10))
            return false;
    return true;
}

static int sleep_ms(const pgq_job *job, pgq_job_ctx *ctx)
{
    char buf[32] = "0";
    record(job);
    if (job->payload && job->payload_len < sizeof buf) {
        memcpy(buf, job->payload, job->payload_len);
        buf[job->payload_len] = '\0';
    }
    if (!nap(ctx, strtol(buf, NULL, 10))) {
        pgq_job_ctx_error(ctx, "Cancelled", "stopped sleeping: cancelled", NULL);
        return 1;
    }
    return 0;
}

static int hello(const pgq_job *job, pgq_job_ctx *ctx)
{
    record(job);
    if (!hold(job, ctx) || (state.sleep_ms > 0 && !nap(ctx, state.sleep_ms))) {
        pgq_job_ctx_error(ctx, "Cancelled", "interrupted", NULL);
        return 1;
    }
    if (state.fail_every > 0 && job->id % state.fail_every == 0) {
        pgq_job_ctx_error(ctx, "ExampleError", "every Nth job fails (--fail-every)",
                          NULL);
        return 1;
    }
    return 0;
}

static int flaky(const pgq_job *job, pgq_job_ctx *ctx)
{
    record(job);
    if (job->attempts > 0)
        return 0;
    pgq_job_ctx_error(ctx, "FlakyError", "first attempts fail", NULL);
    pgq_job_ctx_retry(ctx, 0.2);
    return 1;
}

static bool builtin(const char *ep)
{
    return strcmp(ep, "hello") == 0 || strcmp(ep, "fail") == 0 ||
           strcmp(ep, "sleep") == 0 || strcmp(ep, "flaky") == 0;
}

/* Registers the listed names; a name given twice in the list is refused by
 * pgq_worker_register (PGQ_EEXISTS, pgq_worker_errmsg names it). */
static int register_list(pgq_worker *w, const char *list)
{
    char *copy = strdup(list), *save = NULL;
    if (!copy)
        return PGQ_ENOMEM;
    int rc = PGQ_OK;
    for (char *ep = strtok_r(copy, ",", &save); ep && rc == PGQ_OK;
         ep = strtok_r(NULL, ",", &save))
        if (!builtin(ep))
            rc = pgq_worker_register(w, ep, hello, NULL);
    free(copy);
    return rc;
}

static int open_log(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0)
        fprintf(stderr, "plugin_example: %s: %s\n", path, strerror(errno));
    return fd;
}

/* Options are checked before anything is registered. */
static int parse(int argc, char **argv, const char **list)
{
    for (int i = 1; i < argc; i++) {
        const char *next = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--record") == 0 && next) {
            if ((state.record_fd = open_log(next)) < 0)
                return -1;
        } else if (strcmp(argv[i], "--blocked") == 0 && next) {
            if ((state.blocked_fd = open_log(next)) < 0)
                return -1;
        } else if (strcmp(argv[i], "--block-every") == 0 && next) {
            state.block_every = strtol(next, NULL, 10);
        } else if (strcmp(argv[i], "--until") == 0 && next) {
            state.until = next;
        } else if (strcmp(argv[i], "--entrypoints") == 0 && next) {
            *list = next;
        } else if (strcmp(argv[i], "--fail-every") == 0 && next) {
            state.fail_every = strtol(next, NULL, 10);
        } else if (strcmp(argv[i], "--sleep-ms") == 0 && next) {
            state.sleep_ms = strtol(next, NULL, 10);
        } else {
            fprintf(stderr, "plugin_example: unknown argument '%s'\n", argv[i]);
            return -1;
        }
        i++;
    }
    if (state.block_every > 0 && !state.until) {
        fprintf(stderr, "plugin_example: --block-every needs --until FILE\n");
        return -1;
    }
    return 0;
}

int pgq_plugin_setup(pgq_worker *w, int argc, char **argv);

int pgq_plugin_setup(pgq_worker *w, int argc, char **argv)
{
    const char *list = NULL;
    if (parse(argc, argv, &list) != 0)
        return 1;
    int rc = pgq_worker_register(w, "hello", hello, NULL);
    if (rc == PGQ_OK)
        rc = pgq_worker_register(w, "fail", fail, NULL);
    if (rc == PGQ_OK)
        rc = pgq_worker_register(w, "sleep", sleep_ms, NULL);
    if (rc == PGQ_OK)
        rc = pgq_worker_register(w, "flaky", flaky, NULL);
    if (rc == PGQ_OK && list)
        rc = register_list(w, list);
    if (rc != PGQ_OK)
        fprintf(stderr, "plugin_example: cannot register: %s\n", pgq_worker_errmsg(w));
    return rc == PGQ_OK ? 0 : 1;
}
