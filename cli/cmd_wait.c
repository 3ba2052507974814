/* cmd_wait.c: `pgq wait ID...`, the completion watcher: blocks until every
 * named job is settled and prints each as it settles (library call
 * pgq_jobs_wait: LISTEN wake-ups with polling as the fallback). */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char wait_help[] =
    "Usage: pgq wait ID... [--timeout DURATION] [--poll DURATION]\n"
    "\n"
    "Waits until every named job is settled and prints one line per job as it\n"
    "settles: 'ID successful', 'ID exception', 'ID canceled', 'ID deleted',\n"
    "'ID failed (held for review)' or 'ID: no such job'. A held job needs an\n"
    "operator, so it ends the wait for that job but does not count as\n"
    "succeeded. Wakes on the queue's notifications and looks again every\n"
    "--poll interval too (a job held as failed sends none); each look is one\n"
    "query however many ids are given. Ids may also be given as one\n"
    "comma-separated list.\n"
    "\n"
    "Options:\n"
    "  --timeout DURATION   give up after this long (30s, 5m, ...; default:\n"
    "                       wait for ever); the jobs still running are printed\n"
    "                       as 'ID still queued|picked (timed out)'\n"
    "  --poll DURATION      look at least this often (default 1s; 10ms to 1h)\n"
    "  -h, --help           show this help\n"
    "\n"
    "Exit status: 0 every job succeeded, 1 any did not (failed, exception,\n"
    "canceled, deleted, unknown, timed out or interrupted) or the database\n"
    "failed, 2 usage error.\n";

typedef struct wait_args {
    const char *timeout, *poll;
    int64_t *ids;
    size_t n;
} wait_args;

/* Adds the ids of one argument ("12" or "12,13"). */
static int add_ids(wait_args *a, const char *arg)
{
    int64_t *v;
    size_t k;
    char err[160];
    if (cli_parse_id_list(arg, &v, &k, err, sizeof err) != 0)
        return cli_usage_error("wait", "'%s': %s", arg, err);
    int64_t *all = realloc(a->ids, (a->n + k) * sizeof *all);
    if (!all) {
        free(v);
        return cli_usage_error("wait", "out of memory");
    }
    memcpy(all + a->n, v, k * sizeof *v);
    a->ids = all;
    a->n += k;
    free(v);
    return EXIT_OK;
}

static int parse(int argc, char **argv, wait_args *a, double *timeout, double *poll)
{
    for (int i = 1; i < argc; i++) {
        int m;
        if ((m = cli_opt_value("wait", argc, argv, &i, "--timeout", &a->timeout)) ||
            (m = cli_opt_value("wait", argc, argv, &i, "--poll", &a->poll))) {
            if (m < 0)
                return EXIT_USAGE;
        } else if (argv[i][0] == '-') {
            return cli_usage_error("wait", "unknown option '%s'", argv[i]);
        } else if (add_ids(a, argv[i]) != EXIT_OK) {
            return EXIT_USAGE;
        }
    }
    if (a->n == 0)
        return cli_usage_error("wait", "no job ids given");
    if (a->timeout && (cli_parse_duration(a->timeout, timeout) != 0 || *timeout <= 0 ||
                       *timeout > 366 * 86400.0))
        return cli_usage_error(
            "wait", "--timeout '%s' is not a duration from 1ms to 366d", a->timeout);
    if (a->poll &&
        (cli_parse_duration(a->poll, poll) != 0 || *poll < 0.01 || *poll > 3600))
        return cli_usage_error("wait", "--poll '%s' is not a duration from 10ms to 1h",
                               a->poll);
    return EXIT_OK;
}

static void print_settled(void *ud, const pgq_id_outcome *o)
{
    bool *all_ok = ud;
    long long id = (long long)o->id;
    if (o->result == PGQ_ID_NOT_FOUND)
        printf("%lld: no such job\n", id);
    else if (o->status == PGQ_FAILED)
        printf("%lld failed (held for review)\n", id);
    else
        printf("%lld %s\n", id, pgq_job_status_name(o->status));
    if (o->result != PGQ_ID_DONE || o->status != PGQ_SUCCESSFUL)
        *all_ok = false;
    fflush(stdout);
}

int cmd_wait(int argc, char **argv, cli_globals *g)
{
    if (cli_wants_help(argc, argv))
        return cli_print_help(wait_help);
    wait_args a = {0};
    double timeout = 0, poll = 1;
    int rc = parse(argc, argv, &a, &timeout, &poll);
    if (rc != EXIT_OK) {
        free(a.ids);
        return rc;
    }
    pgq_client *c = cli_connect(g, &rc);
    if (!c) {
        free(a.ids);
        return rc;
    }
    cli_catch_stop_signals();
    bool all_ok = true;
    pgq_wait_opts o = {.timeout = timeout,
                       .poll_interval = poll,
                       .on_final = print_settled,
                       .ud = &all_ok,
                       .stop = &cli_stop_requested};
    pgq_id_outcome *out = NULL;
    size_t n_out = 0;
    rc = pgq_jobs_wait(c, a.ids, a.n, &o, &out, &n_out);
    if (rc == PGQ_ETIMEDOUT || rc == PGQ_ESTOPPED) {
        for (size_t i = 0; i < n_out; i++)
            if (out[i].result == PGQ_ID_WRONG_STATUS)
                printf("%lld still %s (%s)\n", (long long)out[i].id,
                       pgq_job_status_name(out[i].status),
                       rc == PGQ_ETIMEDOUT ? "timed out" : "interrupted");
        rc = EXIT_FAILED;
    } else if (rc != PGQ_OK) {
        rc = cli_report(c, "cannot wait for the jobs", rc);
    } else {
        rc = all_ok ? EXIT_OK : EXIT_FAILED;
    }
    pgq_id_outcomes_free(out);
    pgq_client_free(c);
    free(a.ids);
    return rc;
}
