/* cmd_run.c: `pgq run`, a worker. Handlers come from a plug-in (a shared
 * object exporting pgq_plugin_setup) and/or from --exec commands; options
 * naming an entrypoint apply to either kind. Everything is validated
 * before anything connects. SIGTERM/SIGINT only call pgq_worker_stop:
 * the first stops gracefully, the second at once. */
#include <dlfcn.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "exec_guard.h"
#include "exec_handler.h"
#include "run_schedule.h"
#include "worker_metrics.h"

static const char help[] =
    "Usage: pgq run [OPTIONS] [PLUGIN.so] [-- PLUGIN-ARGS...]\n"
    "       pgq run [OPTIONS] --exec ENTRYPOINT=COMMAND...\n\n"
    "Runs a worker until SIGTERM/SIGINT (the first stops gracefully, a second\n"
    "at once), or in drain mode until nothing is queued or running.\n\n"
    "Handlers:\n"
    "  PLUGIN.so            a shared object exporting pgq_plugin_setup(worker,\n"
    "                       argc, argv); argv[0] is its path, then PLUGIN-ARGS\n"
    "  --exec EP=COMMAND    run COMMAND (via /bin/sh -c) per job of EP: payload\n"
    "                       on stdin; PGQ_JOB_ID, PGQ_ENTRYPOINT, PGQ_ATTEMPTS,\n"
    "                       PGQ_PRIORITY, PGQ_HEADERS (JSON) in the environment;\n"
    "                       exit 0 is success, else its status and stderr tail\n"
    "                       are the error (repeatable; mixes with a plug-in)\n"
    "  --exec-timeout DUR   kill a command's process group after DUR\n"
    "  --exec-env-dsn       give commands PGDSN (the worker's DSN), PGQUEUER_DSN\n"
    "                       and PGPASSWORD; without it they are removed\n\n"
    "Worker:\n"
    "  --batch-size N            jobs claimed per statement (10); on a deep\n"
    "                            queue of short jobs claims grow to half the\n"
    "                            cap (adaptive claims, docs/worker.md)\n"
    "  --fixed-batch             claims of at most --batch-size, as before\n"
    "                            adaptive claims\n"
    "  --max-concurrent-tasks N  hard cap on the jobs this worker holds (picked:\n"
    "                            running, prefetched, or being recorded); at\n"
    "                            least 2 x batch size, 0 for no cap\n"
    "                            (max(100, 2 x batch size)), as PgQueuer\n"
    "  --threads N               handler threads: jobs running at once (4 x\n"
    "                            batch size, at most 32; never above the cap);\n"
    "                            --max-concurrent-tasks used to set this\n"
    "  --dequeue-timeout DUR     idle re-poll without notifications (30s)\n"
    "  --heartbeat-timeout DUR   default retry_timer: a job without heartbeat\n"
    "                            that long is taken over by others (30s; at\n"
    "                            least 1s: the heartbeat, every half of it,\n"
    "                            cannot keep a shorter promise)\n"
    "  --mode continuous|drain   drain: exit 0 once nothing is queued or running\n"
    "  --shutdown-grace DUR      time running jobs get after SIGTERM (30s)\n"
    "  --max-takeovers N         hold a job as failed after its workers died\n"
    "                            N times (3)\n\n"
    "Schedules (repeatable; once per fire across every worker):\n"
    "  --schedule EP=CRON        run EP's handler at each fire of CRON (5 cron\n"
    "                            fields, or 6 with seconds last; UTC); the\n"
    "                            payload is JSON with schedule_id, fire_time\n"
    "  --schedule-enqueue EP=CRON  enqueue a job for EP at each fire instead\n\n"
    "Per entrypoint (repeatable):\n"
    "  --hold EP                 final failures stay as `failed` for review\n"
    "  --concurrency-limit EP=N  at most N running at once, fleet-wide\n"
    "  --rate EP=N               at most N jobs per second, fleet-wide\n"
    "  --retry-timer EP=DUR      take-over time for EP's jobs (at least 1s)\n"
    "  --max-attempts EP=N       retry failures until N runs in all\n"
    "  --backoff INITIAL[,MAX]   retry delays of --max-attempts entrypoints:\n"
    "                            INITIAL doubling up to MAX (1s,5m); INITIAL\n"
    "                            above MAX is refused\n\n"
    "Metrics:\n"
    "  --metrics ADDR:PORT       serve this worker's counters at /metrics\n"
    "                            (Prometheus text: jobs by outcome, handler\n"
    "                            duration and claim latency histograms,\n"
    "                            reconnects); e.g. 127.0.0.1:9464\n\n"
    "Supervision (PgQueuer's options):\n"
    "  --restart-on-failure      when the worker fails (cannot connect at\n"
    "                            start, schema missing, listener lost with the\n"
    "                            option below...), start a new one after\n"
    "                            --restart-delay instead of exiting 1\n"
    "  --restart-delay DUR       wait before a restart (5s; 0 to 1h)\n"
    "  --shutdown-on-listener-failure   stop gracefully and fail when the\n"
    "                            LISTEN connection fails, instead of\n"
    "                            reconnecting in place\n\n"
    "Logging (stderr, one line per event):\n"
    "  --log-level debug|info|warn|error   (info; any case, and PgQueuer's\n"
    "                                      DEBUG, INFO, WARNING, ERROR)\n"
    "  --log-format text|json              json: one object per line\n\n"
    "DUR is like 250ms, 30s, 5m, 1h30m, 1.5s (decimal numbers, each with a\n"
    "unit; a bare number is seconds), below 1000000000s (about 31 years).\n"
    "RATE is a decimal number of jobs per second, 0.000000001 to 1000000000.\n"
    "Exit: 0 after a clean stop or drain,\n"
    "1 if the worker failed, 2 for bad options.\n";

#include "run_options.h"

/* ---- Logging ---------------------------------------------------------------- */

typedef struct log_ctx {
    bool json;
    const char *worker_id;
} log_ctx;

static const char *level_name(pgq_log_level l)
{
    static const char *const names[] = {"debug", "info", "warn", "error"};
    return l >= PGQ_LOG_DEBUG && l <= PGQ_LOG_ERROR ? names[l] : "info";
}

static void timestamp(char *buf, size_t n)
{
    struct timespec ts;
    struct tm tm;
    char base[32];
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, n, "%s.%03ldZ", base, ts.tv_nsec / 1000000);
}

static void log_json(const log_ctx *lc, pgq_log_level level, int64_t job_id,
                     const char *ep, const char *msg, const char *ts)
{
    json_t *o = json_object();
    json_object_set_new(o, "time", json_string(ts));
    json_object_set_new(o, "level", json_string(level_name(level)));
    json_object_set_new(o, "worker", json_string(lc->worker_id));
    if (job_id)
        json_object_set_new(o, "job_id", json_integer(job_id));
    if (ep)
        json_object_set_new(o, "entrypoint", json_string(ep));
    json_object_set_new(o, "message", json_string(msg));
    char *s = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(o);
    if (s) {
        size_t len = strlen(s);
        s[len] = '\n';
        fwrite(s, 1, len + 1, stderr);
        free(s);
    }
}

/* The library serializes calls, so each line is written whole. */
static void log_line(void *ud, pgq_log_level level, int64_t job_id, const char *ep,
                     const char *msg)
{
    const log_ctx *lc = ud;
    char ts[40];
    timestamp(ts, sizeof ts);
    if (lc->json) {
        log_json(lc, level, job_id, ep, msg, ts);
        return;
    }
    /* Entrypoints and messages (job errors included) are escaped like every
     * table cell; the line is built whole, then written with one call. */
    char *line = NULL;
    size_t n = 0;
    FILE *m = open_memstream(&line, &n);
    if (!m)
        return;
    fprintf(m, "%s %-5s ", ts, level_name(level));
    if (job_id || ep) {
        fprintf(m, "job=%lld entrypoint=", (long long)job_id);
        cli_print_cut(m, ep ? ep : "-", 0);
        fputc(' ', m);
    }
    cli_print_cut(m, msg, 0);
    fputc('\n', m);
    if (fclose(m) == 0)
        fwrite(line, 1, n, stderr);
    free(line);
}

/* ---- Building the worker ----------------------------------------------------------- */

static int load_plugin(pgq_worker *w, run_args *ra)
{
    char path[4096];
    struct stat st;
    /* dlopen searches the library path for a bare name; people mean the
     * file in front of them. */
    if (!strchr(ra->plugin, '/') && stat(ra->plugin, &st) == 0)
        snprintf(path, sizeof path, "./%s", ra->plugin);
    else
        snprintf(path, sizeof path, "%s", ra->plugin);
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h)
        return run_bad("cannot load plug-in: %s", dlerror()), EXIT_USAGE;
    pgq_plugin_setup_fn setup;
    *(void **)&setup = dlsym(h, PGQ_PLUGIN_SETUP_SYMBOL);
    if (!setup)
        return run_bad("%s does not export %s()", ra->plugin, PGQ_PLUGIN_SETUP_SYMBOL),
               EXIT_USAGE;
    /* argv for the plug-in: its path, then everything after "--". */
    char **pargv = calloc((size_t)ra->plugin_argc + 2, sizeof *pargv);
    if (!pargv) {
        cli_error("out of memory");
        return EXIT_FAILED;
    }
    pargv[0] = (char *)ra->plugin;
    for (int i = 0; i < ra->plugin_argc; i++)
        pargv[i + 1] = ra->plugin_argv[i];
    int rc = setup(w, ra->plugin_argc + 1, pargv);
    free(pargv);
    if (rc != 0) {
        const char *why = pgq_worker_errmsg(w);
        cli_error("run: plug-in %s: %s() returned %d%s%s", ra->plugin,
                  PGQ_PLUGIN_SETUP_SYMBOL, rc, *why ? ": " : "", why);
        return EXIT_FAILED;
    }
    return EXIT_OK; /* the handle stays open for the life of the process */
}

static int register_execs(pgq_worker *w, run_args *ra)
{
    for (size_t i = 0; i < ra->n_exec; i++) {
        exec_spec *e = &ra->execs[i];
        e->timeout = ra->exec_timeout;
        e->pass_dsn = ra->exec_env_dsn;
        e->dsn = ra->dsn;
        pgq_entrypoint_opts o = {.userdata = e};
        int rc = pgq_worker_register(w, e->entrypoint, exec_handler, &o);
        if (rc == PGQ_EEXISTS)
            return run_bad("--exec %s: the plug-in already registers '%s'", e->entrypoint,
                           e->entrypoint),
                   EXIT_USAGE;
        if (rc != PGQ_OK)
            return run_bad("--exec %s: %s", e->entrypoint, pgq_strerror(rc)), EXIT_USAGE;
    }
    return EXIT_OK;
}

static int apply_overrides(pgq_worker *w, const run_args *ra)
{
    for (size_t i = 0; i < ra->n_ovr; i++) {
        const override *o = &ra->ovr[i];
        pgq_entrypoint_opts *eo = pgq_worker_entrypoint_opts(w, o->ep);
        if (!eo)
            return run_bad("%s: no handler for entrypoint '%s' (give --exec or a plug-in "
                           "that registers it)",
                           o->option, o->ep),
                   EXIT_USAGE;
        switch (o->kind) {
        case OVR_HOLD:
            eo->mark_as_failed = true;
            break;
        case OVR_LIMIT:
            eo->concurrency_limit = (int32_t)o->value;
            break;
        case OVR_RATE:
            eo->requests_per_second = o->value;
            break;
        case OVR_TIMER:
            eo->retry_timer = o->value;
            break;
        case OVR_ATTEMPTS:
            eo->max_attempts = (int)o->value;
            if (ra->backoff_set) {
                eo->backoff_initial = ra->backoff_initial;
                eo->backoff_max = ra->backoff_max;
            }
            break;
        }
    }
    return EXIT_OK;
}

/* ---- Running --------------------------------------------------------------------- */

static pgq_worker *volatile running;
static volatile sig_atomic_t stop_seen; /* ends --restart-on-failure */

static void on_signal(int sig)
{
    (void)sig;
    stop_seen = 1;
    pgq_worker_stop(running, false);
}

static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
}

static int run_worker(pgq_worker *w)
{
    running = w;
    install_signals();
    int rc = pgq_worker_run(w);
    if (rc == PGQ_OK)
        return EXIT_OK;
    const char *msg = pgq_worker_errmsg(w);
    cli_error("run: %s", msg && *msg ? msg : pgq_strerror(rc));
    if (rc == PGQ_ENOSCHEMA)
        fprintf(stderr, "hint: run 'pgq install' (with the same --prefix/--schema).\n");
    else if (rc == PGQ_ECONNECT)
        fprintf(stderr, "hint: is the database running? 'pgq local start' starts a "
                        "private one.\n");
    return rc == PGQ_EINVAL ? EXIT_USAGE : EXIT_FAILED;
}

static int run_once(run_args *ra, cli_globals *g, bool *ran);

/* Sleeps up to seconds, returning early when a stop signal came. */
static void restart_pause(double seconds)
{
    struct timespec slice = {0, 100000000};
    for (double left = seconds; left > 0 && !stop_seen; left -= 0.1)
        nanosleep(&slice, NULL);
}

/* PgQueuer's --restart-on-failure: a worker that failed while running (not
 * one refused at set-up, nor one stopped by a signal) is replaced by a new
 * one after --restart-delay. */
static int build_and_run(run_args *ra, cli_globals *g)
{
    for (unsigned restarts = 0;; restarts++) {
        bool ran = false;
        int code = run_once(ra, g, &ran);
        if (code != EXIT_FAILED || !ran || !ra->restart || stop_seen)
            return code;
        fprintf(stderr,
                "pgq: run: restarting the worker in %gs (--restart-on-failure, "
                "restart %u)\n",
                ra->restart_delay, restarts + 1);
        restart_pause(ra->restart_delay);
        if (stop_seen)
            return code;
    }
}

static int run_once(run_args *ra, cli_globals *g, bool *ran)
{
    log_ctx lc = {.json = ra->json};
    ra->dsn = g->cfg.dsn;
    ra->wopts.log = log_line;
    ra->wopts.log_ud = &lc;
    pgq_worker *w = NULL;
    int rc = pgq_worker_new(&w, &g->cfg, &ra->wopts);
    if (rc != PGQ_OK) {
        cli_error("run: cannot create the worker: %s", pgq_strerror(rc));
        return rc == PGQ_EINVAL ? EXIT_USAGE : EXIT_FAILED;
    }
    lc.worker_id = pgq_worker_id(w);
    /* Before any thread exists (a plug-in may start some); without a
     * guard the commands run as before, unguarded. */
    if (ra->n_exec && exec_guard_start() != 0)
        cli_error("run: cannot start the guard of --exec commands; they may outlive "
                  "a killed worker");
    int code = ra->plugin ? load_plugin(w, ra) : EXIT_OK;
    if (code == EXIT_OK)
        code = register_execs(w, ra);
    if (code == EXIT_OK)
        code = apply_overrides(w, ra);
    if (code == EXIT_OK)
        code = run_schedule_apply(w, &ra->sched);
    char err[256];
    void *metrics = NULL;
    if (code == EXIT_OK && ra->metrics &&
        !(metrics = web_worker_metrics_start(ra->metrics, w, err, sizeof err))) {
        cli_error("run: %s", err);
        code = EXIT_FAILED;
    }
    if (code == EXIT_OK) {
        *ran = true;
        code = run_worker(w);
    }
    web_worker_metrics_stop(metrics);
    running = NULL;
    pgq_worker_free(w);
    return code;
}

int cmd_run(int argc, char **argv, cli_globals *g)
{
    if (cli_wants_help(argc, argv))
        return cli_print_help(help);
    run_args ra;
    memset(&ra, 0, sizeof ra);
    int code = run_parse_args(&ra, argc, argv) == 0 ? build_and_run(&ra, g) : EXIT_USAGE;
    for (size_t i = 0; i < ra.n_exec; i++)
        free((char *)ra.execs[i].entrypoint);
    free(ra.execs);
    free(ra.ovr);
    run_schedule_free(&ra.sched);
    return code;
}
