/* run_options.c: the options of `pgq run`, scanned (every value option
 * through cli_opt_value) and checked before anything connects. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "exec_guard.h"
#include "run_options.h"
#include "worker_metrics.h"

/* ---- Option parsing ------------------------------------------------------------ */

/* Prints a usage error and returns -1. */
int run_bad(const char *fmt, ...)
{
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cli_usage_error("run", "%s", msg);
    return -1;
}

static int parse_count(const char *opt, const char *v, long long max, long long *out)
{
    char range[32];
    snprintf(range, sizeof range, "1 to %lld", max);
    if (cli_parse_int(v, 1, max, out) != 0)
        return run_bad("%s: expected a whole number from %s", opt, range);
    return 0;
}

/* A duration from min (or above 0 when min is 0 and !zero_ok) to below
 * PGQ_SECONDS_MAX, the library's range. */
static int parse_dur_min(const char *opt, const char *v, double min, bool zero_ok,
                         double *out)
{
    if (cli_parse_duration(v, out) != 0)
        return run_bad("%s: '%s' is not a duration (like 250ms, 30s, 5m, 1h)", opt, v);
    if (*out >= PGQ_SECONDS_MAX || *out < min || (!zero_ok && *out <= 0))
        return run_bad("%s: '%s' is out of range (%s%gs to below %.0fs)", opt, v,
                       min > 0 || zero_ok ? "" : "above ", min, PGQ_SECONDS_MAX);
    return 0;
}

static int parse_dur(const char *opt, const char *v, bool zero_ok, double *out)
{
    return parse_dur_min(opt, v, 0, zero_ok, out);
}

static int opt_exec(run_args *ra, const char *opt, const char *v)
{
    char ep[256];
    const char *cmd;
    if (cli_parse_exec_spec(v, ep, sizeof ep, &cmd) != 0)
        return run_bad("%s: expected ENTRYPOINT=COMMAND, got '%s'", opt, v);
    for (size_t i = 0; i < ra->n_exec; i++)
        if (strcmp(ra->execs[i].entrypoint, ep) == 0)
            return run_bad("%s: entrypoint '%s' given twice", opt, ep);
    exec_spec *e = realloc(ra->execs, (ra->n_exec + 1) * sizeof *e);
    if (e)
        ra->execs = e;
    char *name = e ? strdup(ep) : NULL;
    if (!name) {
        cli_error("out of memory");
        return -1;
    }
    e[ra->n_exec++] = (exec_spec){.entrypoint = name, .command = cmd};
    return 0;
}

/* The value of an entrypoint option: EP=N, EP=RATE or EP=DURATION. */
static int override_value(override *o, const char *val)
{
    long long n;
    switch (o->kind) {
    case OVR_HOLD:
        return 0;
    case OVR_LIMIT:
    case OVR_ATTEMPTS:
        if (parse_count(o->option, val, o->kind == OVR_LIMIT ? 1000000 : 1000, &n) != 0)
            return -1;
        o->value = (double)n;
        return 0;
    case OVR_RATE:
        if (cli_parse_number(val, &o->value) != 0 ||
            !(o->value >= PGQ_RATE_MIN && o->value <= PGQ_RATE_MAX))
            return run_bad("%s: '%s' is not a decimal number of jobs per second from "
                           "0.000000001 to 1000000000",
                           o->option, val);
        return 0;
    case OVR_TIMER:
        return parse_dur_min(o->option, val, PGQ_HEARTBEAT_MIN, false, &o->value);
    }
    return -1;
}

static int add_override(run_args *ra, enum ovr_kind kind, const char *opt, const char *v)
{
    override o = {.kind = kind, .option = opt};
    const char *val = NULL;
    if (kind == OVR_HOLD) {
        if (!*v || strchr(v, '=') || strlen(v) >= sizeof o.ep)
            return run_bad("%s: expected an entrypoint name, got '%s'", opt, v);
        snprintf(o.ep, sizeof o.ep, "%s", v);
    } else if (cli_split_assignment(v, o.ep, sizeof o.ep, &val) != 0) {
        return run_bad("%s: expected ENTRYPOINT=VALUE, got '%s'", opt, v);
    }
    if (override_value(&o, val) != 0)
        return -1;
    override *arr = realloc(ra->ovr, (ra->n_ovr + 1) * sizeof *arr);
    if (!arr) {
        cli_error("out of memory");
        return -1;
    }
    ra->ovr = arr;
    arr[ra->n_ovr++] = o;
    return 0;
}

static int opt_hold(run_args *ra, const char *o, const char *v)
{
    return add_override(ra, OVR_HOLD, o, v);
}
static int opt_limit(run_args *ra, const char *o, const char *v)
{
    return add_override(ra, OVR_LIMIT, o, v);
}
static int opt_rate(run_args *ra, const char *o, const char *v)
{
    return add_override(ra, OVR_RATE, o, v);
}
static int opt_timer(run_args *ra, const char *o, const char *v)
{
    return add_override(ra, OVR_TIMER, o, v);
}
static int opt_attempts(run_args *ra, const char *o, const char *v)
{
    return add_override(ra, OVR_ATTEMPTS, o, v);
}

static int opt_backoff(run_args *ra, const char *opt, const char *v)
{
    char first[64];
    const char *comma = strchr(v, ',');
    size_t len = comma ? (size_t)(comma - v) : strlen(v);
    if (len >= sizeof first)
        return run_bad("%s: '%s' is not INITIAL[,MAX]", opt, v);
    memcpy(first, v, len);
    first[len] = '\0';
    if (parse_dur(opt, first, false, &ra->backoff_initial) != 0)
        return -1;
    if (comma && parse_dur(opt, comma + 1, false, &ra->backoff_max) != 0)
        return -1;
    if (comma && ra->backoff_max < ra->backoff_initial)
        return run_bad("--backoff: MAX (%s) is below INITIAL (%s)", comma + 1, first);
    /* The delays never exceed MAX: an INITIAL above it would be cut down
     * without a word. */
    if (!comma && ra->backoff_initial > 300)
        return run_bad("--backoff: INITIAL (%s) is above the default MAX of 5m; give "
                       "INITIAL,MAX",
                       first);
    ra->backoff_set = true;
    return 0;
}

static int opt_exec_timeout(run_args *ra, const char *o, const char *v)
{
    return parse_dur(o, v, false, &ra->exec_timeout);
}

static int opt_int(const char *o, const char *v, long long max, int *out)
{
    long long n;
    if (parse_count(o, v, max, &n) != 0)
        return -1;
    *out = (int)n;
    return 0;
}

static int opt_batch(run_args *ra, const char *o, const char *v)
{
    return opt_int(o, v, 10000, &ra->wopts.batch_size);
}
static int opt_tasks(run_args *ra, const char *o, const char *v)
{
    /* Checked against the batch size once every option is read. */
    if (cli_parse_int(v, 0, 10000000, &ra->tasks) != 0)
        return run_bad(
            "%s: expected 0 (no cap) or a whole number up to 10000000, got '%s'", o, v);
    return 0;
}
static int opt_threads(run_args *ra, const char *o, const char *v)
{
    return opt_int(o, v, 4096, &ra->wopts.threads);
}
static int opt_takeovers(run_args *ra, const char *o, const char *v)
{
    return opt_int(o, v, 1000, &ra->wopts.max_takeovers);
}
static int opt_dequeue(run_args *ra, const char *o, const char *v)
{
    return parse_dur(o, v, false, &ra->wopts.dequeue_timeout);
}
static int opt_heartbeat(run_args *ra, const char *o, const char *v)
{
    return parse_dur_min(o, v, PGQ_HEARTBEAT_MIN, false, &ra->wopts.heartbeat_timeout);
}

static int opt_grace(run_args *ra, const char *o, const char *v)
{
    if (parse_dur(o, v, true, &ra->wopts.shutdown_grace) != 0)
        return -1;
    if (ra->wopts.shutdown_grace == 0)
        ra->wopts.shutdown_grace = 1e-6; /* 0 would mean the library default */
    return 0;
}

static int opt_mode(run_args *ra, const char *o, const char *v)
{
    if (strcmp(v, "continuous") == 0)
        ra->wopts.mode = PGQ_MODE_CONTINUOUS;
    else if (strcmp(v, "drain") == 0)
        ra->wopts.mode = PGQ_MODE_DRAIN;
    else
        return run_bad("%s: '%s' is not continuous or drain", o, v);
    return 0;
}

static int opt_level(run_args *ra, const char *o, const char *v)
{
    static const struct {
        const char *name;
        pgq_log_level level;
    } levels[] = {{"debug", PGQ_LOG_DEBUG},
                  {"info", PGQ_LOG_INFO},
                  {"warn", PGQ_LOG_WARN},
                  {"warning", PGQ_LOG_WARN},
                  {"error", PGQ_LOG_ERROR}};
    for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++)
        if (strcasecmp(v, levels[i].name) == 0) {
            ra->wopts.log_level = levels[i].level;
            return 0;
        }
    return run_bad("%s: '%s' is not debug, info, warn (warning) or error, in any case", o,
                   v);
}

static int opt_restart_delay(run_args *ra, const char *o, const char *v)
{
    if (cli_parse_duration(v, &ra->restart_delay) != 0 || ra->restart_delay > 3600)
        return run_bad("%s: '%s' is not a duration from 0 to 1h", o, v);
    return 0;
}

static int opt_format(run_args *ra, const char *o, const char *v)
{
    if (strcmp(v, "json") != 0 && strcmp(v, "text") != 0)
        return run_bad("%s: '%s' is not text or json", o, v);
    ra->json = strcmp(v, "json") == 0;
    return 0;
}

static int opt_schedule(run_args *ra, const char *o, const char *v)
{
    return run_schedule_add(&ra->sched, o, v, false);
}
static int opt_schedule_enqueue(run_args *ra, const char *o, const char *v)
{
    return run_schedule_add(&ra->sched, o, v, true);
}
static int opt_metrics(run_args *ra, const char *o, const char *v)
{
    if (web_worker_metrics_check(v) != 0)
        return run_bad(
            "%s: '%s' is not ADDR:PORT with an IP address and a port from 0 to 65535", o,
            v);
    ra->metrics = v;
    return 0;
}

typedef int (*opt_fn)(run_args *ra, const char *opt, const char *value);

static const struct {
    const char *name;
    opt_fn fn;
} value_opts[] = {
    {"--exec", opt_exec},
    {"--exec-timeout", opt_exec_timeout},
    {"--batch-size", opt_batch},
    {"--max-concurrent-tasks", opt_tasks},
    {"--threads", opt_threads},
    {"--max-takeovers", opt_takeovers},
    {"--dequeue-timeout", opt_dequeue},
    {"--heartbeat-timeout", opt_heartbeat},
    {"--shutdown-grace", opt_grace},
    {"--mode", opt_mode},
    {"--hold", opt_hold},
    {"--concurrency-limit", opt_limit},
    {"--rate", opt_rate},
    {"--retry-timer", opt_timer},
    {"--max-attempts", opt_attempts},
    {"--backoff", opt_backoff},
    {"--log-level", opt_level},
    {"--log-format", opt_format},
    {"--metrics", opt_metrics},
    {"--restart-delay", opt_restart_delay},
    {"--schedule", opt_schedule},
    {"--schedule-enqueue", opt_schedule_enqueue},
};

/* --name VALUE or --name=VALUE: 1 when argv[*i] was a value option (and
 * *i is past its value), 0 when it is not one, -1 on a usage error. */
static int value_option(run_args *ra, int argc, char **argv, int *i)
{
    for (size_t k = 0; k < sizeof value_opts / sizeof value_opts[0]; k++) {
        const char *name = value_opts[k].name, *v;
        int m = cli_opt_value("run", argc, argv, i, name, &v);
        if (m < 0)
            return -1;
        if (m > 0)
            return value_opts[k].fn(ra, name, v) == 0 ? 1 : -1;
    }
    return 0;
}

/* --max-concurrent-tasks as PgQueuer: a cap on held jobs, at least two
 * batches (one running, the next prefetched), 0 for none. */
static int check_tasks(run_args *ra)
{
    long long batch = ra->wopts.batch_size ? ra->wopts.batch_size : 10;
    if (ra->tasks < 0)
        return 0;
    if (ra->tasks == 0) {
        ra->wopts.max_concurrent_tasks = PGQ_UNLIMITED;
        return 0;
    }
    if (ra->tasks < 2 * batch)
        return run_bad("--max-concurrent-tasks: %lld is below twice the batch size (2 x "
                       "%lld = %lld); give at least that, or 0 for no cap",
                       ra->tasks, batch, 2 * batch);
    ra->wopts.max_concurrent_tasks = (int)ra->tasks;
    return 0;
}

static int check_args(run_args *ra)
{
    if (!ra->plugin && ra->n_exec == 0)
        return run_bad("nothing to run: give PLUGIN.so or --exec ENTRYPOINT=COMMAND");
    if (ra->exec_env_dsn && ra->n_exec == 0)
        return run_bad("--exec-env-dsn is for --exec commands, and none was given");
    if (ra->plugin_argc > 0 && !ra->plugin)
        return run_bad("arguments after -- are for a plug-in, and none was given");
    bool attempts = false;
    for (size_t i = 0; i < ra->n_ovr; i++)
        attempts |= ra->ovr[i].kind == OVR_ATTEMPTS;
    if (ra->backoff_set && !attempts)
        return run_bad("--backoff needs --max-attempts ENTRYPOINT=N");
    return check_tasks(ra);
}

int run_parse_args(run_args *ra, int argc, char **argv)
{
    ra->wopts.log_level = PGQ_LOG_INFO;
    ra->tasks = -1;
    ra->restart_delay = 5;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            ra->plugin_argc = argc - i - 1;
            ra->plugin_argv = argv + i + 1;
            break;
        }
        if (strcmp(a, "--exec-env-dsn") == 0) {
            ra->exec_env_dsn = true;
            continue;
        }
        int r = value_option(ra, argc, argv, &i);
        if (r < 0)
            return -1;
        if (r > 0)
            continue;
        if (strcmp(a, "--restart-on-failure") == 0)
            ra->restart = true;
        else if (strcmp(a, "--fixed-batch") == 0)
            ra->wopts.fixed_batch = true;
        else if (strcmp(a, "--shutdown-on-listener-failure") == 0)
            ra->wopts.shutdown_on_listener_failure = true;
        else if (a[0] == '-')
            return run_bad("unknown option '%s'", a);
        if (a[0] == '-')
            continue;
        if (ra->plugin)
            return run_bad("more than one plug-in: '%s' and '%s' (plug-in arguments go "
                           "after --)",
                           ra->plugin, a);
        ra->plugin = a;
    }
    return check_args(ra);
}
