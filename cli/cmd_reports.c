/* cmd_reports.c: the read-only reports of PgQueuer 2.3's CLI, `pgq stale`,
 * `workers`, `backlog`, `size`, `throughput`, `log`, `jobs` and `tables`.
 * Each is one pgq_report kind (src/report.c) printed as a table or, with
 * --json, as a JSON array carrying PgQueuer's field names ("[]" when
 * empty). Every option is checked before connecting: a bad value exits 2
 * with one line naming the option and its range. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "report_print.h"

/* Options a command accepts, as bits. */
enum {
    O_LIMIT = 1 << 0, /* -n/--limit N */
    O_ENTRYPOINT = 1 << 1,
    O_STATUS = 1 << 2,
    O_THRESHOLD = 1 << 3, /* stale */
    O_PAGE = 1 << 4,      /* --before-id, --after-id */
    O_JOB = 1 << 5,       /* log --job-id */
    O_SINCE = 1 << 6,     /* log --since */
    O_WINDOW = 1 << 7,    /* throughput --window, --bucket */
};

#define COMMON_OPTS                                                                      \
    "  --json             a JSON array of objects with these field names\n"              \
    "                     ([] when there is none)\n"                                     \
    "  -h, --help         show this help\n\n"                                            \
    "Tables follow PGQUEUER_TABLEFMT: simple (default), plain, grid, pipe.\n"            \
    "Exit status: 0 reported (also when there is nothing), 1 the database\n"             \
    "failed, 2 usage error.\n"

static const char stale_help[] =
    "Usage: pgq stale [--threshold DURATION] [--entrypoint E] [-n N] [--json]\n\n"
    "Lists running ('picked') jobs whose heartbeat is older than the\n"
    "threshold, oldest heartbeat first: their worker may have died, and a\n"
    "worker will take them over once the heartbeat timeout of their\n"
    "entrypoint passes. Fields: id, priority, queue_manager_id, created,\n"
    "updated, heartbeat, execute_after, status, entrypoint,\n"
    "seconds_since_heartbeat.\n\n"
    "Options:\n"
    "  --threshold D      heartbeat older than D (300s, 5m, 1h; default 300,\n"
    "                     0 to 366d; 0 lists every running job)\n"
    "  --entrypoint E     only jobs of entrypoint E\n"
    "  -n, --limit N      at most N jobs (1 to 1000000; default all)\n" COMMON_OPTS;

static const char workers_help[] =
    "Usage: pgq workers [--entrypoint E] [-n N] [--json]\n\n"
    "One line per worker holding running ('picked') jobs: its\n"
    "queue_manager_id, active_jobs, oldest_heartbeat, newest_heartbeat and\n"
    "the entrypoints it runs (a JSON array). Idle workers hold no row and\n"
    "are not listed.\n\n"
    "Options:\n"
    "  --entrypoint E     only jobs of entrypoint E\n"
    "  -n, --limit N      at most N workers (1 to 1000000; default all)\n" COMMON_OPTS;

static const char backlog_help[] =
    "Usage: pgq backlog [--entrypoint E] [-n N] [--json]\n\n"
    "Queued jobs per entrypoint, the largest backlog first: entrypoint,\n"
    "queued_count, oldest_created, oldest_age_seconds, avg_age_seconds.\n"
    "Reads every queued row once.\n\n"
    "Options:\n"
    "  --entrypoint E     only entrypoint E\n"
    "  -n, --limit N      at most N entrypoints (1 to 1000000)\n" COMMON_OPTS;

static const char size_help[] =
    "Usage: pgq size [--entrypoint E] [--status S] [-n N] [--json]\n\n"
    "The queue table counted by entrypoint, priority and status (fields:\n"
    "count, entrypoint, priority, status), as PgQueuer's queue size.\n"
    "'pgq stats' gives the same counts with a total line.\n\n"
    "Options:\n"
    "  --entrypoint E     only entrypoint E\n"
    "  --status S         only status S (queued, picked, failed, ...)\n"
    "  -n, --limit N      at most N rows (1 to 1000000)\n" COMMON_OPTS;

static const char throughput_help[] =
    "Usage: pgq throughput [--window D] [--bucket D] [--entrypoint E]\n"
    "                      [--status S] [-n N] [--json]\n\n"
    "Log rows of the last --window counted in buckets of --bucket by\n"
    "entrypoint and status, newest bucket first: bucket_start (UTC, aligned\n"
    "to whole multiples of the bucket), bucket_seconds, entrypoint, status\n"
    "(successful, exception, queued, ...), count, per_second. Only the\n"
    "window is read, through the log's created index.\n\n"
    "Options:\n"
    "  --window D         how far back (default 1h; 1s to 366d)\n"
    "  --bucket D         bucket width (default 60s; at least 1s, at most\n"
    "                     10000 buckets in the window)\n"
    "  --entrypoint E     only entrypoint E\n"
    "  --status S         only log rows of status S\n"
    "  -n, --limit N      at most N rows (1 to 1000000)\n" COMMON_OPTS;

static const char log_help[] =
    "Usage: pgq log [--job-id ID] [--entrypoint E] [--status S] [--since D]\n"
    "               [-n N] [--before-id ID | --after-id ID] [--json]\n\n"
    "The newest rows of the job log, newest first: id, created, job_id,\n"
    "status, priority, entrypoint, traceback (the error record, JSON),\n"
    "aggregated. Pages by log id: the line under the table gives the\n"
    "option for the next (older) page.\n\n"
    "Options:\n"
    "  --job-id ID        only the rows of job ID (its whole history)\n"
    "  --entrypoint E     only entrypoint E\n"
    "  --status S         only rows of status S\n"
    "  --since D          only rows of the last D (1s to 366d). With\n"
    "                     --entrypoint or --status and no --job-id the search\n"
    "                     covers the last 24h unless --since says otherwise,\n"
    "                     so a rare value never walks the whole log\n"
    "  -n, --limit N      rows per page (1 to 1000000; default 25)\n"
    "  --before-id ID     the page of rows older than log id ID\n"
    "  --after-id ID      the page of rows just newer than log id ID\n" COMMON_OPTS;

static const char jobs_help[] =
    "Usage: pgq jobs [--status S] [--entrypoint E] [-n N]\n"
    "                [--before-id ID | --after-id ID] [--json]\n\n"
    "Browses the queue table, newest job first: id, priority,\n"
    "queue_manager_id, created, updated, heartbeat, execute_after, status,\n"
    "entrypoint, dedupe_key, attempts, payload_bytes, headers. Pages by job\n"
    "id: the line under the table gives the option for the next page. 'pgq\n"
    "show ID' prints one job whole, with its payload and history.\n\n"
    "Options:\n"
    "  --status S         only jobs of status S (queued, picked, failed)\n"
    "  --entrypoint E     only jobs of entrypoint E\n"
    "  -n, --limit N      jobs per page (1 to 1000000; default 25)\n"
    "  --before-id ID     the page of jobs older than id ID\n"
    "  --after-id ID      the page of jobs just newer than id ID\n" COMMON_OPTS;

static const char tables_help[] =
    "Usage: pgq tables [--json]\n\n"
    "The queue's tables (queue, log, statistics, schedules) with their\n"
    "persistence (logged or unlogged, see 'pgq durability'), the planner's\n"
    "estimated_rows (empty before the first ANALYZE), total_bytes,\n"
    "table_bytes, index_bytes and total_size. Reads the catalog only.\n\n"
    "Options:\n" COMMON_OPTS;

typedef struct report_cmd {
    const char *name;
    unsigned opts;
    const char *help;
} report_cmd;

static const report_cmd report_cmds[] = {
    {"stale", O_THRESHOLD | O_ENTRYPOINT | O_LIMIT, stale_help},
    {"workers", O_ENTRYPOINT | O_LIMIT, workers_help},
    {"backlog", O_ENTRYPOINT | O_LIMIT, backlog_help},
    {"size", O_ENTRYPOINT | O_STATUS | O_LIMIT, size_help},
    {"throughput", O_WINDOW | O_ENTRYPOINT | O_STATUS | O_LIMIT, throughput_help},
    {"log", O_JOB | O_ENTRYPOINT | O_STATUS | O_SINCE | O_LIMIT | O_PAGE, log_help},
    {"jobs", O_STATUS | O_ENTRYPOINT | O_LIMIT | O_PAGE, jobs_help},
    {"tables", 0, tables_help},
};

/* The option values as given, before checking. */
typedef struct raw_opts {
    const char *limit, *entrypoint, *status, *threshold, *before, *after, *job, *since,
        *window, *bucket;
    bool json;
} raw_opts;

/* Matches argv[*i] against each option the command accepts. */
static int scan(const report_cmd *rc, int argc, char **argv, raw_opts *o)
{
    const struct {
        const char *name;
        unsigned bit;
        const char **slot;
    } table[] = {
        {"--limit", O_LIMIT, &o->limit},
        {"-n", O_LIMIT, &o->limit},
        {"--entrypoint", O_ENTRYPOINT, &o->entrypoint},
        {"--status", O_STATUS, &o->status},
        {"--threshold", O_THRESHOLD, &o->threshold},
        {"--before-id", O_PAGE, &o->before},
        {"--after-id", O_PAGE, &o->after},
        {"--job-id", O_JOB, &o->job},
        {"--since", O_SINCE, &o->since},
        {"--window", O_WINDOW, &o->window},
        {"--bucket", O_WINDOW, &o->bucket},
    };
    for (int i = 1; i < argc; i++) {
        int m = 0;
        for (size_t t = 0; !m && t < sizeof table / sizeof table[0]; t++)
            if (rc->opts & table[t].bit)
                m = cli_opt_value(rc->name, argc, argv, &i, table[t].name, table[t].slot);
        if (m < 0)
            return EXIT_USAGE;
        if (m)
            continue;
        if (strcmp(argv[i], "--json") == 0)
            o->json = true;
        else if (argv[i][0] == '-')
            return cli_usage_error(rc->name, "unknown option '%s'", argv[i]);
        else
            return cli_usage_error(rc->name, "unexpected argument '%s'", argv[i]);
    }
    return EXIT_OK;
}

/* A duration option within [min, max] seconds. */
static int duration(const char *cmd, const char *opt, const char *v, double min,
                    const char *range, double *out)
{
    if (!v)
        return EXIT_OK;
    if (cli_parse_duration(v, out) != 0 || *out < min || *out > 366 * 86400.0)
        return cli_usage_error(cmd, "%s '%s' is not a duration from %s", opt, v, range);
    return EXIT_OK;
}

static int id_opt(const char *cmd, const char *opt, const char *v, int64_t *out)
{
    if (v && cli_parse_id(v, out) != 0)
        return cli_usage_error(
            cmd, "%s '%s' is not a job id from 1 to 9223372036854775807", opt, v);
    return EXIT_OK;
}

/* Checks every value and fills the report parameters. */
static int check(const report_cmd *rc, const raw_opts *o, pgq_report_params *p)
{
    const char *cmd = rc->name;
    long long limit;
    pgq_job_status st;
    int bad;
    pgq_report_params_init(p);
    if (o->limit && cli_parse_int(o->limit, 1, 1000000, &limit) != 0)
        return cli_usage_error(cmd, "--limit '%s' is not a number from 1 to 1000000",
                               o->limit);
    p->limit = o->limit ? (int)limit : 0;
    if (o->entrypoint && !*o->entrypoint)
        return cli_usage_error(cmd, "--entrypoint is empty");
    p->entrypoint = o->entrypoint;
    if (o->status && pgq_job_status_parse(o->status, &st) != PGQ_OK)
        return cli_usage_error(cmd,
                               "--status '%s' is not one of queued, picked, successful, "
                               "exception, canceled, deleted, failed",
                               o->status);
    p->status = o->status;
    if ((bad = duration(cmd, "--threshold", o->threshold, 0, "0 to 366d",
                        &p->threshold_s)) ||
        (bad = duration(cmd, "--since", o->since, 1, "1s to 366d", &p->window_s)) ||
        (bad = duration(cmd, "--window", o->window, 1, "1s to 366d", &p->window_s)) ||
        (bad = duration(cmd, "--bucket", o->bucket, 1, "1s to 366d", &p->bucket_s)) ||
        (bad = id_opt(cmd, "--before-id", o->before, &p->before_id)) ||
        (bad = id_opt(cmd, "--after-id", o->after, &p->after_id)) ||
        (bad = id_opt(cmd, "--job-id", o->job, &p->job_id)))
        return bad;
    if (o->before && o->after)
        return cli_usage_error(cmd, "give --before-id or --after-id, not both");
    /* log: a filter the log has no index for walks the id index until it
     * finds a page; bound that walk to a day unless told otherwise. */
    if ((rc->opts & O_SINCE) && !o->since && !o->job && (o->entrypoint || o->status))
        p->window_s = 86400;
    if (rc->opts & O_WINDOW) {
        double window = o->window ? p->window_s : 3600,
               bucket = o->bucket ? p->bucket_s : 60;
        if (window / bucket > 10000)
            return cli_usage_error(cmd,
                                   "--window / --bucket is %.0f buckets; at most 10000",
                                   window / bucket);
    }
    return EXIT_OK;
}

/* For a full page of jobs or log rows, the option that shows the next. */
static void next_page_hint(const report_cmd *rc, const raw_opts *o, const pgq_report *r,
                           int limit)
{
    size_t n = pgq_report_rows(r);
    if ((rc->opts & O_SINCE) && !o->since && !o->job && (o->entrypoint || o->status) &&
        (int)n < (limit ? limit : 25))
        printf("(searched the last 24h; --since 7d searches further back)\n");
    if (!(rc->opts & O_PAGE) || n == 0 || (int)n < (limit ? limit : 25))
        return;
    printf("next page: pgq %s --before-id %s ...\n", rc->name,
           pgq_report_value(r, n - 1, 0));
}

static int run_report(const report_cmd *rc, int argc, char **argv, cli_globals *g)
{
    raw_opts o = {0};
    pgq_report_params p;
    cli_tablefmt fmt = CLI_TABLE_SIMPLE;
    int code = scan(rc, argc, argv, &o);
    if (code == EXIT_OK)
        code = check(rc, &o, &p);
    if (code == EXIT_OK && !o.json && cli_tablefmt_from_env(rc->name, &fmt) != 0)
        code = EXIT_USAGE;
    if (code != EXIT_OK)
        return code;
    pgq_client *c = cli_connect(g, &code);
    if (!c)
        return code;
    pgq_report *r = NULL;
    int rc_ = pgq_report_fetch(c, rc->name, &p, &r);
    if (rc_ != PGQ_OK) {
        code = cli_report(c, rc->name, rc_);
    } else if (o.json) {
        code = cli_report_json(stdout, r) == 0 ? EXIT_OK : EXIT_FAILED;
    } else {
        cli_report_table(stdout, r, fmt);
        next_page_hint(rc, &o, r, p.limit);
    }
    pgq_report_free(r);
    pgq_client_free(c);
    return code;
}

/* Dispatches argv[0] (the command name) to its report. */
static int report_main(int argc, char **argv, cli_globals *g)
{
    for (size_t i = 0; i < sizeof report_cmds / sizeof report_cmds[0]; i++) {
        if (strcmp(argv[0], report_cmds[i].name) != 0)
            continue;
        if (cli_wants_help(argc, argv))
            return cli_print_help(report_cmds[i].help);
        return run_report(&report_cmds[i], argc, argv, g);
    }
    return cli_usage_error(argv[0], "not a report");
}

int cmd_stale(int argc, char **argv, cli_globals *g)
{
    return report_main(argc, argv, g);
}
int cmd_workers(int argc, char **argv, cli_globals *g)
{
    return report_main(argc, argv, g);
}
int cmd_backlog(int argc, char **argv, cli_globals *g)
{
    return report_main(argc, argv, g);
}
int cmd_size(int argc, char **argv, cli_globals *g)
{
    return report_main(argc, argv, g);
}
int cmd_throughput(int argc, char **argv, cli_globals *g)
{
    return report_main(argc, argv, g);
}
int cmd_log(int argc, char **argv, cli_globals *g)
{
    return report_main(argc, argv, g);
}
int cmd_jobs(int argc, char **argv, cli_globals *g)
{
    return report_main(argc, argv, g);
}
int cmd_tables(int argc, char **argv, cli_globals *g)
{
    return report_main(argc, argv, g);
}
