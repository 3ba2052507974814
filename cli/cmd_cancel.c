/* cmd_cancel.c: the commands that remove things: `pgq cancel` (jobs by id,
 * any status), `pgq clear` (waiting jobs by entrypoint, or all) and
 * `pgq prune` (old log and statistics rows). */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char cancel_help[] =
    "Usage: pgq cancel ID...\n"
    "\n"
    "Cancels jobs by id, whatever their status: each row is deleted, logged as\n"
    "'canceled', and a cancellation_event tells workers running it to stop.\n"
    "Where the table has PgQueuer 2.3's cancel_requested column, a running\n"
    "(picked) job keeps its row, slot and dedupe key with cancel_requested\n"
    "set, and its worker records 'canceled' once the handler has stopped.\n"
    "Prints one line per cancelled id; ids not in the queue are reported on\n"
    "stderr and make the exit status 1 (the others are still cancelled).\n"
    "\n"
    "Options:\n"
    "  -h, --help   show this help\n";

static const char clear_help[] =
    "Usage: pgq clear --entrypoint E [--entrypoint E]...\n"
    "       pgq clear --all\n"
    "\n"
    "Deletes the waiting jobs (queued and failed) of the given entrypoints, or\n"
    "of every entrypoint with --all, logging each as 'deleted'. Running\n"
    "(picked) jobs are left alone: stop them with 'pgq cancel'.\n"
    "\n"
    "Options:\n"
    "  --entrypoint E   an entrypoint to clear (repeatable)\n"
    "  --all            clear every entrypoint\n"
    "  -h, --help       show this help\n";

static const char prune_help[] =
    "Usage: pgq prune --older-than DURATION\n"
    "\n"
    "Deletes log rows and statistics buckets older than DURATION (30m, 7d,\n"
    "...). The log rows of jobs still in the queue (held, waiting, running) are\n"
    "kept, so their history and errors stay visible.\n"
    "\n"
    "Options:\n"
    "  --older-than DURATION   required; e.g. 7d, 12h, 90m\n"
    "  -h, --help              show this help\n";

/* Parses every argument as one job id (distinct, in order). */
static int parse_ids(int argc, char **argv, int64_t **ids, size_t *n)
{
    *n = 0;
    *ids = malloc((size_t)(argc > 1 ? argc : 1) * sizeof **ids);
    if (!*ids)
        return cli_usage_error("cancel", "out of memory");
    for (int i = 1; i < argc; i++) {
        int64_t id;
        if (cli_parse_id(argv[i], &id) != 0)
            return cli_usage_error("cancel",
                                   "'%s' is not a job id (expected a "
                                   "positive integer)",
                                   argv[i]);
        bool dup = false;
        for (size_t k = 0; k < *n && !dup; k++)
            dup = (*ids)[k] == id;
        if (!dup)
            (*ids)[(*n)++] = id;
    }
    if (*n == 0)
        return cli_usage_error("cancel", "no job ids given");
    return 0;
}

static int report_cancel(const pgq_id_outcome *o, size_t n)
{
    int code = EXIT_OK;
    for (size_t i = 0; i < n; i++) {
        if (o[i].result == PGQ_ID_DONE) {
            printf("canceled %lld (was %s)\n", (long long)o[i].id,
                   pgq_job_status_name(o[i].status));
        } else {
            cli_error("cancel: no job %lld in the queue", (long long)o[i].id);
            code = EXIT_FAILED;
        }
    }
    return code;
}

int cmd_cancel(int argc, char **argv, cli_globals *g)
{
    if (cli_wants_help(argc, argv))
        return cli_print_help(cancel_help);
    int64_t *ids = NULL;
    size_t n = 0;
    int code = parse_ids(argc, argv, &ids, &n);
    pgq_client *c = code == 0 ? cli_connect(g, &code) : NULL;
    if (c) {
        pgq_id_outcome *o = NULL;
        size_t n_out = 0;
        int rc = pgq_cancel(c, ids, n, &o, &n_out);
        code = rc == PGQ_OK ? report_cancel(o, n_out) : cli_report(c, "cancel", rc);
        pgq_id_outcomes_free(o);
        pgq_client_free(c);
    }
    free(ids);
    return code;
}

/* Collects --entrypoint values into eps (argc slots) and --all. */
static int parse_clear(int argc, char **argv, const char **eps, size_t *n, bool *all)
{
    for (int i = 1; i < argc; i++) {
        const char *v;
        int m = cli_opt_value("clear", argc, argv, &i, "--entrypoint", &v);
        if (m < 0)
            return EXIT_USAGE;
        if (m > 0 && !*v)
            return cli_usage_error("clear", "--entrypoint is empty");
        if (m > 0)
            eps[(*n)++] = v;
        else if (strcmp(argv[i], "--all") == 0)
            *all = true;
        else
            return cli_usage_error("clear", "unexpected argument '%s'", argv[i]);
    }
    if (*all && *n)
        return cli_usage_error("clear", "give --entrypoint or --all, not both");
    if (!*all && !*n)
        return cli_usage_error("clear", "say what to clear: --entrypoint E... or "
                                        "--all");
    return 0;
}

int cmd_clear(int argc, char **argv, cli_globals *g)
{
    if (cli_wants_help(argc, argv))
        return cli_print_help(clear_help);
    const char **eps = calloc((size_t)argc, sizeof *eps);
    size_t n = 0;
    bool all = false;
    int code = eps ? parse_clear(argc, argv, eps, &n, &all) : EXIT_FAILED;
    pgq_client *c = code == 0 ? cli_connect(g, &code) : NULL;
    if (c) {
        uint64_t deleted = 0;
        int rc = pgq_clear(c, eps, n, &deleted);
        if (rc == PGQ_OK)
            printf("deleted %llu jobs\n", (unsigned long long)deleted);
        code = rc == PGQ_OK ? EXIT_OK : cli_report(c, "clear", rc);
        pgq_client_free(c);
    }
    free(eps);
    return code;
}

int cmd_prune(int argc, char **argv, cli_globals *g)
{
    if (cli_wants_help(argc, argv))
        return cli_print_help(prune_help);
    const char *age_text = NULL;
    for (int i = 1; i < argc; i++) {
        int m = cli_opt_value("prune", argc, argv, &i, "--older-than", &age_text);
        if (m < 0)
            return EXIT_USAGE;
        if (m == 0)
            return cli_usage_error("prune", "unexpected argument '%s'", argv[i]);
    }
    double age;
    if (!age_text)
        return cli_usage_error("prune", "missing --older-than DURATION");
    if (cli_parse_duration(age_text, &age) != 0)
        return cli_usage_error("prune",
                               "--older-than '%s' is not a duration (e.g. "
                               "7d, 12h, 90m)",
                               age_text);
    int code;
    pgq_client *c = cli_connect(g, &code);
    if (!c)
        return code;
    uint64_t logs = 0, stats = 0;
    int rc = pgq_prune(c, age, &logs, &stats);
    if (rc == PGQ_OK)
        printf("deleted %llu log rows and %llu statistics rows\n",
               (unsigned long long)logs, (unsigned long long)stats);
    code = rc == PGQ_OK ? EXIT_OK : cli_report(c, "prune", rc);
    pgq_client_free(c);
    return code;
}
