/* cmd_dashboard.c: `pgq dashboard`, recent throughput by entrypoint and
 * status, from the statistics roll-up (pgq_log_statistics). On a terminal it
 * redraws in place until interrupted; on a pipe it prints once (or -n times). */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

static const char help[] =
    "Usage: pgq dashboard [-i SECONDS] [-n N] [--window DURATION] [--json]\n"
    "\n"
    "Shows how many jobs reached each status (queued, picked, successful,\n"
    "exception, canceled, deleted, failed) per entrypoint in the last 10\n"
    "seconds, the last minute and the whole window, and the rate per second\n"
    "over the last minute. Each refresh first rolls the log up into the\n"
    "statistics table. On a terminal the table refreshes in place until\n"
    "Ctrl-C; otherwise it is printed once, or N times with -n.\n"
    "\n"
    "Options:\n"
    "  -i, --interval SECONDS   time between refreshes (default 2; 0.5, 5s...;\n"
    "                           at least 0.1)\n"
    "  -n, --count N            refresh N times, then exit\n"
    "  --window DURATION        how far back to count (default 5m)\n"
    "  --json                   print once (or -n times, one array per line)\n"
    "                           a JSON array of {entrypoint, status,\n"
    "                           count_10s, count_60s, count_window,\n"
    "                           window_seconds, rate_per_second}; [] if none\n"
    "  -h, --help               show this help\n";

typedef struct dash_opts {
    double interval;
    long long count; /* 0: until interrupted (terminal) or once (pipe) */
    double window;
    bool json;
} dash_opts;

/* One table line: counts for an entrypoint and status. The entrypoint
 * points into the statistics rows of the same refresh. */
typedef struct dash_line {
    const char *entrypoint;
    pgq_job_status status;
    long long last10, last60, window;
} dash_line;

static int by_entrypoint_status(const void *a, const void *b)
{
    const dash_line *x = a, *y = b;
    int c = strcmp(x->entrypoint, y->entrypoint);
    return c ? c : (int)x->status - (int)y->status;
}

/* Folds per-second, per-priority buckets into one line per entrypoint and
 * status; lines has room for n. Returns the number of lines. */
static size_t fold(const pgq_stat_row *rows, size_t n, double now, dash_line *lines)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        size_t j = 0;
        while (j < k && !(lines[j].status == rows[i].status &&
                          strcmp(lines[j].entrypoint, rows[i].entrypoint) == 0))
            j++;
        if (j == k)
            lines[k++] =
                (dash_line){.entrypoint = rows[i].entrypoint, .status = rows[i].status};
        double age = now - rows[i].created;
        lines[j].window += rows[i].count;
        lines[j].last60 += age < 60 ? rows[i].count : 0;
        lines[j].last10 += age < 10 ? rows[i].count : 0;
    }
    qsort(lines, k, sizeof *lines, by_entrypoint_status);
    return k;
}

/* "LAST 5m", "LAST 2h", "LAST 90s": the window's column heading. */
static const char *window_label(double seconds, char *buf, size_t n)
{
    long s = (long)seconds;
    if (s % 3600 == 0)
        snprintf(buf, n, "LAST %ldh", s / 3600);
    else if (s % 60 == 0)
        snprintf(buf, n, "LAST %ldm", s / 60);
    else
        snprintf(buf, n, "LAST %lds", s);
    return buf;
}

static void print_lines(const dash_line *lines, size_t k, const dash_opts *o)
{
    char when[32], win[32];
    time_t now = time(NULL);
    struct tm tm;
    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", gmtime_r(&now, &tm));
    window_label(o->window, win, sizeof win);
    printf("pgq dashboard  %s  (window %s, refresh %gs)\n\n", when, win + 5, o->interval);
    if (k == 0) {
        printf("no jobs logged in the window\n");
        return;
    }
    printf("%-28s  %-10s  %8s  %8s  %10s  %8s\n", "ENTRYPOINT", "STATUS", "LAST 10s",
           "LAST 1m", win, "RATE/s");
    for (size_t i = 0; i < k; i++) {
        cli_print_cell(stdout, lines[i].entrypoint, 28);
        printf("  %-10s  %8lld  %8lld  %10lld  %8.2f\n",
               pgq_job_status_name(lines[i].status), lines[i].last10, lines[i].last60,
               lines[i].window, (double)lines[i].last60 / 60.0);
    }
}

/* PgQueuer's `dashboard --json`: the same lines as one JSON array. */
static void print_json(const dash_line *lines, size_t k, const dash_opts *o)
{
    fputc('[', stdout);
    for (size_t i = 0; i < k; i++) {
        fputs(i ? ", {\"entrypoint\": " : "{\"entrypoint\": ", stdout);
        cli_json_str(stdout, lines[i].entrypoint);
        printf(", \"status\": \"%s\", \"count_10s\": %lld, \"count_60s\": %lld, "
               "\"count_window\": %lld, \"window_seconds\": %.17g, "
               "\"rate_per_second\": %.17g}",
               pgq_job_status_name(lines[i].status), lines[i].last10, lines[i].last60,
               lines[i].window, o->window, (double)lines[i].last60 / 60.0);
    }
    fputs("]\n", stdout);
}

/* One refresh: roll up, read the window, print. */
static int refresh(pgq_client *c, const dash_opts *o, bool tty)
{
    pgq_stat_row *rows = NULL;
    size_t n = 0;
    int rc = pgq_log_statistics(c, o->window, &rows, &n);
    if (rc != PGQ_OK)
        return cli_report(c, "dashboard", rc);
    dash_line *lines = calloc(n ? n : 1, sizeof *lines);
    if (!lines) {
        pgq_stat_rows_free(rows, n);
        cli_error("dashboard: out of memory");
        return EXIT_FAILED;
    }
    size_t k = fold(rows, n, (double)time(NULL), lines);
    if (o->json) {
        print_json(lines, k, o);
    } else {
        if (tty)
            fputs("\033[H\033[2J", stdout);
        print_lines(lines, k, o);
    }
    fflush(stdout);
    free(lines);
    pgq_stat_rows_free(rows, n);
    return EXIT_OK;
}

static void pause_for(double seconds)
{
    struct timespec ts = {.tv_sec = (time_t)seconds,
                          .tv_nsec = (long)((seconds - (double)(time_t)seconds) * 1e9)};
    while (!cli_stop_requested && nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* Matches a short or long option with a value: 1, 0 (not it) or -1. */
static int opt2(int argc, char **argv, int *i, const char *s, const char *l,
                const char **v)
{
    int m = s ? cli_opt_value("dashboard", argc, argv, i, s, v) : 0;
    return m ? m : cli_opt_value("dashboard", argc, argv, i, l, v);
}

/* Takes one option: 1 when taken, 0 when unknown, -1 after a usage error. */
static int take_option(dash_opts *o, int argc, char **argv, int *i)
{
    const char *v;
    int m;
    if ((m = opt2(argc, argv, i, "-i", "--interval", &v)) != 0) {
        /* Each refresh runs queries: a shorter interval is a busy loop. */
        if (m > 0 && (cli_parse_duration(v, &o->interval) != 0 || !(o->interval >= 0.1) ||
                      o->interval >= PGQ_SECONDS_MAX))
            m = -cli_usage_error("dashboard",
                                 "-i '%s' is not a duration from 0.1s to below "
                                 "1000000000s",
                                 v);
    } else if ((m = opt2(argc, argv, i, "-n", "--count", &v)) != 0) {
        if (m > 0 && cli_parse_int(v, 1, 1000000000, &o->count) != 0)
            m = -cli_usage_error("dashboard", "-n '%s' is not a positive integer", v);
    } else if ((m = opt2(argc, argv, i, NULL, "--window", &v)) != 0) {
        if (m > 0 && (cli_parse_duration(v, &o->window) != 0 || !(o->window >= 1) ||
                      o->window >= PGQ_SECONDS_MAX))
            m = -cli_usage_error("dashboard",
                                 "--window '%s' is not a duration from 1s to "
                                 "below 1000000000s",
                                 v);
    }
    return m < 0 ? -1 : m;
}

static int parse_args(int argc, char **argv, dash_opts *o)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            o->json = true;
            continue;
        }
        int m = take_option(o, argc, argv, &i);
        if (m < 0)
            return EXIT_USAGE;
        if (m == 0)
            return cli_usage_error("dashboard", "unexpected argument '%s'", argv[i]);
    }
    return 0;
}

int cmd_dashboard(int argc, char **argv, cli_globals *g)
{
    if (cli_wants_help(argc, argv))
        return cli_print_help(help);
    dash_opts o = {.interval = 2, .count = 0, .window = 300};
    int code = parse_args(argc, argv, &o);
    if (code != 0)
        return code;
    bool tty = isatty(STDOUT_FILENO) && !o.json;
    long long times = o.count ? o.count : tty ? 0 : 1;
    pgq_client *c = cli_connect(g, &code);
    if (!c)
        return code;
    cli_catch_stop_signals();
    for (long long i = 0; code == EXIT_OK && !cli_stop_requested && (!times || i < times);
         i++) {
        if (i > 0) {
            pause_for(o.interval);
            if (cli_stop_requested)
                break;
            if (!tty && !o.json)
                fputc('\n', stdout);
        }
        code = refresh(c, &o, tty);
    }
    pgq_client_free(c);
    return code;
}
