/* cmd_schedules.c: `pgq schedules`, the cron schedules of
 * pgqueuer_schedules (PgQueuer's `schedules`): list, --json, --remove;
 * and --next CRON, which checks an expression and prints its next fire
 * times without connecting. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

static const char help[] =
    "Usage: pgq schedules [--json] [-r|--remove ID|ENTRYPOINT]...\n"
    "       pgq schedules --next CRON [--count N]\n"
    "\n"
    "Lists the cron schedules workers run (pgq run --schedule, or PgQueuer's\n"
    "SchedulerManager): id, expression, entrypoint, status (queued, or picked\n"
    "while a run is in progress), next run and last run, in UTC, soonest\n"
    "next run first.\n"
    "\n"
    "Options:\n"
    "  --json              a JSON array with PgQueuer's field names: id,\n"
    "                      expression, heartbeat, created, updated, next_run,\n"
    "                      last_run, status, entrypoint ([] when none)\n"
    "  -r, --remove X      delete the schedule with id X, or every schedule of\n"
    "                      entrypoint X (repeatable); exit 1 if none matched.\n"
    "                      A worker still running it stops firing it\n"
    "  --next CRON         check CRON and print its next fire times (UTC) and\n"
    "                      the text stored in the table; no database needed\n"
    "  --count N           how many fire times --next prints (5; 1 to 1000)\n"
    "  -h, --help          show this help\n";

typedef struct sched_args {
    bool json;
    const char *next;
    long long count;
    int64_t *ids;
    size_t n_ids;
    const char **eps;
    size_t n_eps;
} sched_args;

static int add_remove(sched_args *a, const char *v)
{
    if (!*v)
        return cli_usage_error("schedules", "--remove: expected an id or an entrypoint");
    int64_t id;
    if (strspn(v, "0123456789") == strlen(v)) {
        if (cli_parse_id(v, &id) != 0)
            return cli_usage_error("schedules", "--remove: '%s' is not a valid id", v);
        int64_t *ids = realloc(a->ids, (a->n_ids + 1) * sizeof *ids);
        if (!ids)
            return EXIT_FAILED;
        a->ids = ids;
        ids[a->n_ids++] = id;
        return EXIT_OK;
    }
    const char **eps = realloc(a->eps, (a->n_eps + 1) * sizeof *eps);
    if (!eps)
        return EXIT_FAILED;
    a->eps = eps;
    eps[a->n_eps++] = v;
    return EXIT_OK;
}

static int parse(sched_args *a, int argc, char **argv)
{
    const char *v, *count = NULL;
    for (int i = 1; i < argc; i++) {
        int r;
        if (strcmp(argv[i], "--json") == 0) {
            a->json = true;
        } else if ((r = cli_opt_value("schedules", argc, argv, &i, "--remove", &v)) !=
                       0 ||
                   (r = cli_opt_value("schedules", argc, argv, &i, "-r", &v)) != 0) {
            if (r < 0)
                return EXIT_USAGE;
            if ((r = add_remove(a, v)) != EXIT_OK)
                return r;
        } else if ((r = cli_opt_value("schedules", argc, argv, &i, "--next", &v)) != 0) {
            if (r < 0)
                return EXIT_USAGE;
            a->next = v;
        } else if ((r = cli_opt_value("schedules", argc, argv, &i, "--count", &v)) != 0) {
            if (r < 0)
                return EXIT_USAGE;
            count = v;
        } else {
            return cli_usage_error("schedules", "unexpected argument '%s'", argv[i]);
        }
    }
    a->count = 5;
    if (count && cli_parse_int(count, 1, 1000, &a->count) != 0)
        return cli_usage_error("schedules",
                               "--count: expected a whole number from 1 to 1000");
    if (count && !a->next)
        return cli_usage_error("schedules", "--count goes with --next CRON");
    if (a->next && (a->n_ids || a->n_eps || a->json))
        return cli_usage_error("schedules",
                               "--next does not combine with --remove or --json");
    return EXIT_OK;
}

static int print_next(const sched_args *a)
{
    char err[512];
    pgq_cron *c;
    if (pgq_cron_parse(a->next, &c, err, sizeof err) != PGQ_OK)
        return cli_usage_error("schedules", "--next: %s", err);
    int64_t t = (int64_t)time(NULL), next;
    if (pgq_cron_next(c, t, &next) != PGQ_OK) {
        cli_error("schedules: expression '%s' never fires: no date matches its "
                  "day-of-month, month and day-of-week fields",
                  pgq_cron_text(c));
        pgq_cron_free(c);
        return EXIT_USAGE;
    }
    printf("expression: %s\n", pgq_cron_text(c));
    for (long long i = 0; i < a->count; i++) {
        if (pgq_cron_next(c, t, &next) != PGQ_OK)
            break;
        char buf[40];
        printf("%s\n", cli_fmt_iso((double)next, buf, sizeof buf));
        t = next;
    }
    pgq_cron_free(c);
    return EXIT_OK;
}

static void json_time(const char *key, double t, bool null_if_zero)
{
    char buf[40];
    printf(", \"%s\": ", key);
    if (null_if_zero && t == 0)
        fputs("null", stdout);
    else
        printf("\"%s\"", cli_fmt_iso(t, buf, sizeof buf));
}

static void print_json(const pgq_schedule_row *rows, size_t n)
{
    fputc('[', stdout);
    for (size_t i = 0; i < n; i++) {
        const pgq_schedule_row *r = &rows[i];
        printf("%s {\"id\": %lld, \"expression\": ", i ? ",\n" : "\n", (long long)r->id);
        cli_json_str(stdout, r->expression);
        json_time("heartbeat", r->heartbeat, false);
        json_time("created", r->created, false);
        json_time("updated", r->updated, false);
        json_time("next_run", r->next_run, false);
        json_time("last_run", r->last_run, true);
        printf(", \"status\": \"%s\", \"entrypoint\": ", pgq_job_status_name(r->status));
        cli_json_str(stdout, r->entrypoint);
        fputc('}', stdout);
    }
    fputs(n ? "\n]\n" : "]\n", stdout);
}

static int width_of(const pgq_schedule_row *rows, size_t n, bool expr, int min)
{
    int w = min;
    for (size_t i = 0; i < n; i++) {
        int len = (int)strlen(expr ? rows[i].expression : rows[i].entrypoint);
        w = len > w ? len : w;
    }
    return w > 32 ? 32 : w;
}

static void print_table(const pgq_schedule_row *rows, size_t n)
{
    if (n == 0) {
        printf("no schedules\n");
        return;
    }
    int we = width_of(rows, n, true, 10), wp = width_of(rows, n, false, 10);
    printf("%6s  %-*s  %-*s  %-7s  %-19s  %s\n", "ID", we, "EXPRESSION", wp, "ENTRYPOINT",
           "STATUS", "NEXT RUN (UTC)", "LAST RUN (UTC)");
    for (size_t i = 0; i < n; i++) {
        char a[40], b[40];
        printf("%6lld  ", (long long)rows[i].id);
        cli_print_cell(stdout, rows[i].expression, we);
        fputs("  ", stdout);
        cli_print_cell(stdout, rows[i].entrypoint, wp);
        printf("  %-7s  %-19s  %s\n", pgq_job_status_name(rows[i].status),
               cli_fmt_time(rows[i].next_run, a, sizeof a),
               rows[i].last_run ? cli_fmt_time(rows[i].last_run, b, sizeof b) : "never");
    }
}

static int remove_some(pgq_client *c, const sched_args *a)
{
    uint64_t removed = 0;
    int rc = pgq_schedule_remove(c, a->ids, a->n_ids, a->eps, a->n_eps, &removed);
    if (rc != PGQ_OK)
        return cli_report(c, "schedules --remove", rc);
    if (removed == 0) {
        cli_error("schedules: no schedule matches the --remove ids or entrypoints");
        return EXIT_FAILED;
    }
    printf("removed %llu schedule(s)\n", (unsigned long long)removed);
    return EXIT_OK;
}

static int list(pgq_client *c, const sched_args *a)
{
    pgq_schedule_row *rows = NULL;
    size_t n = 0;
    int rc = pgq_schedule_list(c, &rows, &n);
    if (rc != PGQ_OK)
        return cli_report(c, "schedules", rc);
    (a->json ? print_json : print_table)(rows, n);
    pgq_schedule_rows_free(rows, n);
    return EXIT_OK;
}

int cmd_schedules(int argc, char **argv, cli_globals *g)
{
    if (cli_wants_help(argc, argv))
        return cli_print_help(help);
    sched_args a = {0};
    int code = parse(&a, argc, argv);
    if (code == EXIT_OK && a.next) {
        code = print_next(&a);
    } else if (code == EXIT_OK) {
        pgq_client *c = cli_connect(g, &code);
        if (c) {
            code = a.n_ids || a.n_eps ? remove_some(c, &a) : list(c, &a);
            pgq_client_free(c);
        }
    }
    free(a.ids);
    free(a.eps);
    return code;
}
