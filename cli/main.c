/* main.c: global options and command dispatch for the pgq tool. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const cli_command commands[] = {
    {"install", cmd_install, "create the queue tables, type, function, trigger"},
    {"uninstall", cmd_uninstall, "drop every pgq object"},
    {"upgrade", cmd_upgrade, "bring an older PgQueuer/pgq schema up to date"},
    {"verify", cmd_verify, "check the schema: --expect present|absent"},
    {"durability", cmd_durability, "switch tables: durable|balanced|volatile"},
    {"autovac", cmd_autovac, "tune autovacuum for queue tables [--rollback]"},
    {"sql", cmd_sql, "print the SQL of install|uninstall|upgrade|..."},
    {"queue", cmd_queue, "enqueue jobs: ENTRYPOINT [PAYLOAD] | --stdin"},
    {"stats", cmd_stats, "counts by entrypoint, priority and status"},
    {"dashboard", cmd_dashboard, "live throughput by entrypoint and status"},
    {"listen", cmd_listen, "print notifications as JSON lines"},
    {"show", cmd_show, "one job, its payload and its whole history"},
    {"cancel", cmd_cancel, "cancel jobs by id"},
    {"clear", cmd_clear, "delete queued jobs: --entrypoint E... | --all"},
    {"prune", cmd_prune, "delete log and statistics older than a duration"},
    {"list-failed", cmd_list_failed, "list jobs held as failed"},
    {"failed", cmd_failed, "alias of list-failed (PgQueuer 1.x): [-n N]"},
    {"requeue-failed", cmd_requeue_failed, "re-queue held jobs: --job-ids LIST"},
    {"requeue", cmd_requeue, "alias of requeue-failed (PgQueuer 1.x): ID..."},
    {"mark-failed", cmd_mark_failed, "hold jobs as failed: --job-ids LIST"},
    {"stale", cmd_stale, "running jobs with an old heartbeat [--threshold S]"},
    {"workers", cmd_workers, "workers holding jobs, their heartbeats"},
    {"backlog", cmd_backlog, "queued jobs per entrypoint and their age"},
    {"size", cmd_size, "queue counts by entrypoint, priority, status"},
    {"throughput", cmd_throughput, "finished jobs per bucket over a window"},
    {"log", cmd_log, "recent log rows [--job-id ID] [--entrypoint E]"},
    {"jobs", cmd_jobs, "browse the queue: --status, --entrypoint, paging"},
    {"tables", cmd_tables, "tables: persistence, estimated rows, size"},
    {"run", cmd_run, "run a worker: PLUGIN.so | --exec EP=COMMAND"},
    {"schedules", cmd_schedules, "list or remove cron schedules; --next CRON"},
    {"wait", cmd_wait, "wait until jobs finish: ID... [--timeout D]"},
    {"web", cmd_web, "operator console, /metrics, /healthz over HTTP"},
    {"local", cmd_local, "private PostgreSQL: start|stop|status|env"},
};

static void print_main_help(void)
{
    printf("Usage: pgq [GLOBAL OPTIONS] COMMAND [OPTIONS]\n\n"
           "A PostgreSQL job queue, database-compatible with PgQueuer 1.3.\n\n"
           "Commands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        printf("  %-15s %s\n", commands[i].name, commands[i].summary);
    printf("\nGlobal options (also accepted after the command):\n"
           "  --dsn DSN       libpq connection string or URI (alias --pg-dsn);\n"
           "                  env PGDSN or PGQUEUER_DSN, else PGHOST, PGPORT...\n"
           "  --prefix P      object-name prefix (env PGQUEUER_PREFIX)\n"
           "  --schema S      schema of the tables (env PGQUEUER_SCHEMA)\n"
           "  --no-prepare    send statements unnamed, for a pooler in transaction\n"
           "                  mode such as PgBouncer (env PGQ_PREPARE=off)\n"
           "  -h, --help      show this help; pgq COMMAND --help for a command\n"
           "  --version       print the version\n\n"
           "Exit status: 0 success, 1 operation failed, 2 usage error.\n"
           "See pgq(1) and docs/ for more.\n");
}

/* Removes global options from argv wherever they appear before "--", so
 * `pgq install --prefix app_` and `pgq --prefix app_ install` agree. */
static int take_globals(int *argc, char **argv, cli_globals *g)
{
    int out = 1;
    bool rest = false;
    for (int i = 1; i < *argc; i++) {
        const char *a = argv[i];
        const char **slot = NULL;
        if (!rest && strcmp(a, "--") == 0)
            rest = true;
        if (!rest && strcmp(a, "--no-prepare") == 0) {
            g->cfg.no_prepare = true;
            continue;
        }
        if (!rest && (strcmp(a, "--dsn") == 0 || strcmp(a, "--pg-dsn") == 0))
            slot = &g->cfg.dsn;
        else if (!rest && strcmp(a, "--prefix") == 0)
            slot = &g->cfg.prefix;
        else if (!rest && strcmp(a, "--schema") == 0)
            slot = &g->cfg.schema;
        if (!slot) {
            const char *eq = rest ? NULL : strchr(a, '=');
            if (eq && (strncmp(a, "--dsn=", 6) == 0 || strncmp(a, "--pg-dsn=", 9) == 0))
                g->cfg.dsn = eq + 1;
            else if (eq && strncmp(a, "--prefix=", 9) == 0)
                g->cfg.prefix = eq + 1;
            else if (eq && strncmp(a, "--schema=", 9) == 0)
                g->cfg.schema = eq + 1;
            else
                argv[out++] = argv[i];
            continue;
        }
        if (i + 1 >= *argc) {
            cli_error("option '%s' needs a value (see 'pgq --help')", a);
            return -1;
        }
        *slot = argv[++i];
    }
    argv[out] = NULL;
    *argc = out;
    return 0;
}

static int dispatch(int argc, char **argv, cli_globals *g);

int main(int argc, char **argv)
{
    cli_globals g;
    memset(&g, 0, sizeof g);
    if (take_globals(&argc, argv, &g) != 0)
        return EXIT_USAGE;
    /* Every local user can read /proc/PID/cmdline: keep a copy of --dsn and
     * blank its password in argv for the rest of the process's life. */
    char *dsn = g.cfg.dsn ? strdup(g.cfg.dsn) : NULL;
    if (dsn) {
        pgq_dsn_scrub((char *)g.cfg.dsn);
        g.cfg.dsn = dsn;
    }
    int rc = dispatch(argc, argv, &g);
    free(dsn);
    return rc;
}

static int dispatch(int argc, char **argv, cli_globals *g)
{
    if (argc < 2) {
        print_main_help();
        return EXIT_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "-h") == 0 || strcmp(name, "--help") == 0 ||
        strcmp(name, "help") == 0) {
        print_main_help();
        return EXIT_OK;
    }
    if (strcmp(name, "--version") == 0 || strcmp(name, "-V") == 0) {
        printf("pgq %s\n", PGQ_VERSION);
        return EXIT_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(name, commands[i].name) != 0)
            continue;
        pgq_config_from_env(&g->cfg);
        const char *prep = getenv("PGQ_PREPARE");
        if (prep && *prep && strcmp(prep, "on") != 0 && strcmp(prep, "off") != 0) {
            cli_error("PGQ_PREPARE must be on or off, not '%s'", prep);
            return EXIT_USAGE;
        }
        /* Names are checked before anything connects or prints SQL. */
        char err[256];
        if (!cli_wants_help(argc - 1, argv + 1) &&
            pgq_config_validate(&g->cfg, err, sizeof err) != PGQ_OK) {
            cli_error("%s", err);
            return EXIT_USAGE;
        }
        return commands[i].fn(argc - 1, argv + 1, g);
    }
    if (name[0] == '-')
        cli_error("unknown option '%s' (see 'pgq --help')", name);
    else
        cli_error("unknown command '%s' (see 'pgq --help')", name);
    return EXIT_USAGE;
}
