/* cmd_stats.c: `pgq stats`, counts of the queue table by entrypoint,
 * priority and status. */
#include <string.h>

#include "cli.h"

static const char help[] =
    "Usage: pgq stats [--json]\n"
    "\n"
    "Counts the jobs in the queue table by entrypoint, priority and status\n"
    "(queued, picked, failed). Finished jobs are in the log: see\n"
    "'pgq dashboard'.\n"
    "\n"
    "Options:\n"
    "  --json       a JSON array of {entrypoint, priority, status, count}\n"
    "  -h, --help   show this help\n";

/* The entrypoint column is as wide as its longest value, within reason. */
static int entrypoint_width(const pgq_count_row *rows, size_t n)
{
    int w = (int)strlen("ENTRYPOINT");
    for (size_t i = 0; i < n; i++) {
        int len = (int)strlen(rows[i].entrypoint);
        if (len > w)
            w = len;
    }
    return w > 40 ? 40 : w;
}

static void print_table(const pgq_count_row *rows, size_t n)
{
    if (n == 0) {
        printf("the queue is empty\n");
        return;
    }
    int w = entrypoint_width(rows, n);
    printf("%-*s  %11s  %-7s  %12s\n", w, "ENTRYPOINT", "PRIORITY", "STATUS", "COUNT");
    long long total = 0;
    for (size_t i = 0; i < n; i++) {
        cli_print_cell(stdout, rows[i].entrypoint, w);
        printf("  %11d  %-7s  %12lld\n", (int)rows[i].priority,
               pgq_job_status_name(rows[i].status), (long long)rows[i].count);
        total += rows[i].count;
    }
    printf("%-*s  %11s  %-7s  %12lld\n", w, "total", "", "", total);
}

static void print_json(const pgq_count_row *rows, size_t n)
{
    fputc('[', stdout);
    for (size_t i = 0; i < n; i++) {
        fputs(i ? ",\n {\"entrypoint\": " : "\n {\"entrypoint\": ", stdout);
        cli_json_str(stdout, rows[i].entrypoint);
        printf(", \"priority\": %d, \"status\": \"%s\", \"count\": %lld}",
               (int)rows[i].priority, pgq_job_status_name(rows[i].status),
               (long long)rows[i].count);
    }
    fputs(n ? "\n]\n" : "]\n", stdout);
}

int cmd_stats(int argc, char **argv, cli_globals *g)
{
    if (cli_wants_help(argc, argv))
        return cli_print_help(help);
    bool json = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = true;
        else
            return cli_usage_error("stats", "unexpected argument '%s'", argv[i]);
    }
    int code;
    pgq_client *c = cli_connect(g, &code);
    if (!c)
        return code;
    pgq_count_row *rows = NULL;
    size_t n = 0;
    int rc = pgq_queue_size(c, &rows, &n);
    if (rc != PGQ_OK) {
        code = cli_report(c, "stats", rc);
    } else {
        (json ? print_json : print_table)(rows, n);
        code = EXIT_OK;
    }
    pgq_count_rows_free(rows, n);
    pgq_client_free(c);
    return code;
}
