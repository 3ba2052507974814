/*
 * cmd_schema.c: schema administration commands: install, uninstall, upgrade,
 * verify, durability, autovac, and `sql` which prints the same scripts
 * without connecting.
 */
#include <libpq-fe.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"

static const char install_help[] =
    "Usage: pgq install [--durability LEVEL] [--create-schema|--no-create-schema]\n"
    "\n"
    "Creates the queue schema in one transaction, in the shape of PgQueuer 2.3\n"
    "(which PgQueuer 1.3 to 2.3 workers all accept): the pgqueuer_status enum,\n"
    "the tables pgqueuer, pgqueuer_log, pgqueuer_statistics and\n"
    "pgqueuer_schedules with their indexes, and the notify function and\n"
    "trigger. Fails if the schema is already there.\n"
    "\n"
    "Options:\n"
    "  --durability LEVEL   durable (default, or $PGQUEUER_DURABILITY): every\n"
    "                       table logged;\n"
    "                       balanced: log and statistics unlogged;\n"
    "                       volatile: every table unlogged (fast, lost on crash)\n"
    "  --create-schema      with --schema S, create S if missing (default)\n"
    "  --no-create-schema   with --schema S, require S to exist already\n"
    "\n"
    "Global options --dsn, --prefix and --schema choose where and what names.\n"
    "Exit status: 0 installed, 1 failed or already installed, 2 usage error.\n";

static const char uninstall_help[] =
    "Usage: pgq uninstall\n"
    "\n"
    "Drops the trigger, the function, the four tables and the enum type (and\n"
    "the legacy pgqueuer_statistics_status type) in one transaction. Every\n"
    "job and log row is lost. Objects that are missing are skipped; nothing\n"
    "is dropped with CASCADE, so foreign objects depending on ours make it\n"
    "fail instead of vanishing.\n"
    "\n"
    "Exit status: 0 done (also when nothing was installed), 1 failed.\n";

static const char upgrade_help[] =
    "Usage: pgq upgrade [--plan] [--widen-id|--no-widen-id]\n"
    "\n"
    "Brings a PgQueuer 1.3 to 2.2 or older pgq schema to the PgQueuer 2.3\n"
    "shape: widens int ids to bigint, adds missing columns (slot,\n"
    "cancel_requested), enum values, tables, indexes, the function and the\n"
    "trigger, moves the statistics default to PgQueuer 1.5's and rebuilds the\n"
    "claim index as 2.3 has it. Each statement is idempotent and runs on its\n"
    "own (autocommit) under an advisory lock, so two upgrades never\n"
    "interleave and an interrupted one can simply be re-run. Nothing a newer\n"
    "PgQueuer made is undone and no unknown index is dropped. Rows are kept.\n"
    "Prints how many statements changed something, or that none was needed.\n"
    "Tables it creates follow $PGQUEUER_DURABILITY (default durable).\n"
    "\n"
    "Options:\n"
    "  --plan           print the statements an upgrade would apply, change\n"
    "                   nothing (they run in a transaction rolled back)\n"
    "  --widen-id       widen int4 ids and sequences to bigint (default, or\n"
    "                   $PGQUEUER_WIDEN_ID=true)\n"
    "  --no-widen-id    leave them (ALTER TYPE rewrites the table under an\n"
    "                   exclusive lock; $PGQUEUER_WIDEN_ID=false)\n"
    "\n"
    "Exit status: 0 up to date, 1 failed (nothing installed: run install),\n"
    "2 usage error.\n";

static const char verify_help[] =
    "Usage: pgq verify [--expect present|absent]\n"
    "\n"
    "Compares the database with the schema contract: tables, columns, types,\n"
    "nullability, defaults, indexes and their predicates, enum values in\n"
    "order, the function and the statement-level trigger. Names the PgQueuer\n"
    "release whose shape the database has (1.3, 1.4-1.6 or 2.x) and prints\n"
    "one line per divergence from that shape to stdout. Both spellings of\n"
    "the statistics default and unique index are accepted.\n"
    "\n"
    "Options:\n"
    "  --expect present   every object of a known shape must exist as\n"
    "                     specified (default); a shape older than what pgq\n"
    "                     installs passes with a hint to run pgq upgrade\n"
    "  --expect absent    no object may exist (after uninstall)\n"
    "\n"
    "Exit status: 0 as expected, 1 divergences found or failure, 2 usage.\n";

static const char durability_help[] =
    "Usage: pgq durability durable|balanced|volatile\n"
    "\n"
    "Switches the tables between logged and unlogged in one transaction,\n"
    "keeping every row (ALTER TABLE ... SET [UN]LOGGED rewrites each table):\n"
    "  durable    every table logged (crash-safe, replicated)\n"
    "  balanced   queue and schedules logged; log and statistics unlogged\n"
    "  volatile   every table unlogged: fastest, emptied after a crash\n"
    "\n"
    "Exit status: 0 switched, 1 failed, 2 usage error.\n";

static const char autovac_help[] =
    "Usage: pgq autovac [--rollback]\n"
    "\n"
    "Sets PgQueuer's autovacuum storage parameters on its four tables: queue\n"
    "and schedules vacuumed at 1% dead rows or 1000, analysed at 2% or 500,\n"
    "unthrottled, fillfactor 70; log and statistics vacuumed rarely (95% or\n"
    "1,000,000) and analysed at 5% or 10,000. --rollback resets every\n"
    "parameter pgq or PgQueuer sets to the server's defaults.\n"
    "\n"
    "Exit status: 0 done, 1 failed, 2 usage error.\n";

static const char sql_help[] =
    "Usage: pgq sql SCRIPT [OPTIONS]\n"
    "\n"
    "Prints the SQL a schema command would run, without connecting.\n"
    "Statements end with ';' and are separated by blank lines; apply it with\n"
    "psql or a migration tool. --prefix and --schema are honoured, and\n"
    "$PGQUEUER_DURABILITY and $PGQUEUER_WIDEN_ID as by install and upgrade.\n"
    "\n"
    "Scripts:\n"
    "  install [--durability LEVEL] [--create-schema|--no-create-schema]\n"
    "  uninstall\n"
    "  upgrade [--widen-id|--no-widen-id]\n"
    "                     (run it outside a transaction, e.g. psql without -1)\n"
    "  durability LEVEL   durable|balanced|volatile\n"
    "  autovac [--rollback]\n"
    "\n"
    "Exit status: 0 printed, 2 usage error.\n";

/* Refuses one argument: an unknown option or a stray operand. */
static int bad_arg(const char *cmd, const char *arg)
{
    if (arg[0] == '-')
        return cli_usage_error(cmd, "unknown option '%s'", arg);
    return cli_usage_error(cmd, "unexpected argument '%s'", arg);
}

/* Applies $PGQUEUER_DURABILITY and $PGQUEUER_WIDEN_ID (PgQueuer's install
 * and upgrade read them) as defaults that options override. */
static int env_defaults(const char *cmd, pgq_sql_opts *o)
{
    const char *d = getenv("PGQUEUER_DURABILITY"), *w = getenv("PGQUEUER_WIDEN_ID");
    if (d && *d && pgq_durability_parse(d, &o->durability) != PGQ_OK)
        return cli_usage_error(cmd,
                               "PGQUEUER_DURABILITY='%s' is not a durability "
                               "(use durable, balanced or volatile)",
                               d);
    if (!w || !*w)
        return EXIT_OK;
    static const char *const yes[] = {"1", "true", "t", "yes", "y", "on"};
    static const char *const no[] = {"0", "false", "f", "no", "n", "off"};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        if (strcasecmp(w, yes[i]) == 0) {
            o->no_widen_id = false;
            return EXIT_OK;
        }
        if (strcasecmp(w, no[i]) == 0) {
            o->no_widen_id = true;
            return EXIT_OK;
        }
    }
    return cli_usage_error(cmd,
                           "PGQUEUER_WIDEN_ID='%s' is not a boolean "
                           "(use true or false)",
                           w);
}

/* Parses upgrade's options from argv[first]; plan may be NULL (sql upgrade). */
static int parse_upgrade_opts(const char *cmd, int argc, char **argv, int first,
                              pgq_sql_opts *o, bool *plan)
{
    int ex = env_defaults(cmd, o);
    for (int i = first; ex == EXIT_OK && i < argc; i++) {
        if (strcmp(argv[i], "--widen-id") == 0)
            o->no_widen_id = false;
        else if (strcmp(argv[i], "--no-widen-id") == 0)
            o->no_widen_id = true;
        else if (plan && strcmp(argv[i], "--plan") == 0)
            *plan = true;
        else
            ex = bad_arg(cmd, argv[i]);
    }
    return ex;
}

/* Parses install's options (shared by `install` and `sql install`). */
static int parse_install_opts(const char *cmd, int argc, char **argv, int first,
                              pgq_sql_opts *o)
{
    int ex = env_defaults(cmd, o);
    if (ex != EXIT_OK)
        return ex;
    for (int i = first; i < argc; i++) {
        const char *v = NULL;
        int got = cli_opt_value(cmd, argc, argv, &i, "--durability", &v);
        if (got < 0)
            return EXIT_USAGE;
        if (got > 0 && pgq_durability_parse(v, &o->durability) != PGQ_OK)
            return cli_usage_error(cmd,
                                   "unknown durability '%s' "
                                   "(use durable, balanced or volatile)",
                                   v);
        if (got > 0)
            continue;
        if (strcmp(argv[i], "--create-schema") == 0)
            o->no_create_schema = false;
        else if (strcmp(argv[i], "--no-create-schema") == 0)
            o->no_create_schema = true;
        else
            return bad_arg(cmd, argv[i]);
    }
    return EXIT_OK;
}

/* Refuses any argument after argv[first - 1]. */
static int no_more_args(const char *cmd, int argc, char **argv, int first)
{
    if (argc > first)
        return bad_arg(cmd, argv[first]);
    return EXIT_OK;
}

/* Parses "[--rollback]" from argv[first]. */
static int parse_rollback(const char *cmd, int argc, char **argv, int first, bool *rb)
{
    *rb = false;
    for (int i = first; i < argc; i++) {
        if (strcmp(argv[i], "--rollback") != 0)
            return bad_arg(cmd, argv[i]);
        *rb = true;
    }
    return EXIT_OK;
}

/* Parses exactly one LEVEL at argv[first]. */
static int parse_level(const char *cmd, int argc, char **argv, int first,
                       pgq_durability *d)
{
    if (argc <= first)
        return cli_usage_error(cmd, "missing LEVEL (durable, balanced or volatile)");
    if (pgq_durability_parse(argv[first], d) != PGQ_OK)
        return cli_usage_error(cmd,
                               "unknown durability '%s' "
                               "(use durable, balanced or volatile)",
                               argv[first]);
    return no_more_args(cmd, argc, argv, first + 1);
}

static const char *db_name(pgq_client *c)
{
    const char *db = PQdb(pgq_client_conn(c));
    return db ? db : "?";
}

static const char *level_name(pgq_durability d)
{
    return d == PGQ_VOLATILE ? "volatile" : d == PGQ_BALANCED ? "balanced" : "durable";
}

/* Describes the names in use, e.g. " (prefix app_, schema s)". */
static void names_note(const cli_globals *g, char *buf, size_t n)
{
    const char *p = g->cfg.prefix, *s = g->cfg.schema;
    bool hp = p && *p, hs = s && *s;
    if (!hp && !hs)
        snprintf(buf, n, "%s", "");
    else
        snprintf(buf, n, " (%s%s%s%s%s)", hp ? "prefix " : "", hp ? p : "",
                 hp && hs ? ", " : "", hs ? "schema " : "", hs ? s : "");
}

int cmd_install(int argc, char **argv, cli_globals *g)
{
    if (cli_wants_help(argc, argv))
        return cli_print_help(install_help);
    pgq_sql_opts o = {0};
    int ex = parse_install_opts("install", argc, argv, 1, &o);
    if (ex != EXIT_OK)
        return ex;
    pgq_client *c = cli_connect(g, &ex);
    if (!c)
        return ex;
    int rc = pgq_install(c, &o);
    if (rc == PGQ_OK) {
        char note[160];
        names_note(g, note, sizeof note);
        printf("installed in database %s%s, durability %s\n", db_name(c), note,
               level_name(o.durability));
    } else {
        ex = cli_report(c, "install", rc);
    }
    pgq_client_free(c);
    return ex;
}

int cmd_uninstall(int argc, char **argv, cli_globals *g)
{
    if (cli_wants_help(argc, argv))
        return cli_print_help(uninstall_help);
    int ex = no_more_args("uninstall", argc, argv, 1);
    if (ex != EXIT_OK)
        return ex;
    pgq_client *c = cli_connect(g, &ex);
    if (!c)
        return ex;
    int rc = pgq_uninstall(c);
    if (rc == PGQ_OK)
        printf("uninstalled from database %s\n", db_name(c));
    else
        ex = cli_report(c, "uninstall", rc);
    pgq_client_free(c);
    return ex;
}

static void print_statement(void *ud, const char *stmt)
{
    (void)ud;
    printf("%s\n\n", stmt);
}

int cmd_upgrade(int argc, char **argv, cli_globals *g)
{
    if (cli_wants_help(argc, argv))
        return cli_print_help(upgrade_help);
    pgq_sql_opts o = {0};
    bool plan = false;
    int ex = parse_upgrade_opts("upgrade", argc, argv, 1, &o, &plan);
    if (ex != EXIT_OK)
        return ex;
    pgq_client *c = cli_connect(g, &ex);
    if (!c)
        return ex;
    int applied = 0;
    int rc = pgq_upgrade_run(c, &o, plan, plan ? print_statement : NULL, NULL, &applied);
    if (rc != PGQ_OK)
        ex = cli_report(c, "upgrade", rc);
    else if (applied == 0)
        printf("nothing to apply: schema in database %s is up to date\n", db_name(c));
    else if (plan)
        printf("-- %d statement%s to apply in database %s\n", applied,
               applied == 1 ? "" : "s", db_name(c));
    else
        printf("applied %d statement%s: schema in database %s is up to date\n", applied,
               applied == 1 ? "" : "s", db_name(c));
    pgq_client_free(c);
    return ex;
}

static void print_problem(void *ud, const char *problem)
{
    (void)ud;
    printf("%s\n", problem);
}

/* Parses "[--expect present|absent]". */
static int parse_expect(int argc, char **argv, bool *want_present)
{
    *want_present = true;
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int got = cli_opt_value("verify", argc, argv, &i, "--expect", &v);
        if (got < 0)
            return EXIT_USAGE;
        if (got == 0)
            return bad_arg("verify", argv[i]);
        if (strcmp(v, "present") != 0 && strcmp(v, "absent") != 0)
            return cli_usage_error("verify",
                                   "--expect takes present or absent, "
                                   "not '%s'",
                                   v);
        *want_present = strcmp(v, "present") == 0;
    }
    return EXIT_OK;
}

int cmd_verify(int argc, char **argv, cli_globals *g)
{
    if (cli_wants_help(argc, argv))
        return cli_print_help(verify_help);
    bool want_present;
    int ex = parse_expect(argc, argv, &want_present);
    if (ex != EXIT_OK)
        return ex;
    pgq_client *c = cli_connect(g, &ex);
    if (!c)
        return ex;
    int problems = 0;
    pgq_schema_shape shape;
    int rc = pgq_verify_shape(c, want_present, print_problem, NULL, &problems, &shape);
    if (rc != PGQ_OK) {
        ex = cli_report(c, "verify", rc);
    } else if (problems > 0 && want_present && shape.name[0]) {
        fprintf(stderr,
                "pgq verify: %d divergence%s from the PgQueuer %s shape "
                "in database %s\n",
                problems, problems == 1 ? "" : "s", shape.name, db_name(c));
        ex = EXIT_FAILED;
    } else if (problems > 0) {
        fprintf(stderr,
                "pgq verify: %d divergence%s from the expected %s schema "
                "in database %s\n",
                problems, problems == 1 ? "" : "s", want_present ? "present" : "absent",
                db_name(c));
        ex = EXIT_FAILED;
    } else if (want_present && !shape.newest) {
        printf("ok: schema present in database %s as expected: PgQueuer %s shape; "
               "run pgq upgrade to bring it to the PgQueuer 2.3 shape\n",
               db_name(c), shape.name);
    } else if (want_present) {
        printf("ok: schema present in database %s as expected: PgQueuer %s shape "
               "(2.3, the newest)\n",
               db_name(c), shape.name);
    } else {
        printf("ok: schema absent in database %s as expected\n", db_name(c));
    }
    pgq_client_free(c);
    return ex;
}

int cmd_durability(int argc, char **argv, cli_globals *g)
{
    if (cli_wants_help(argc, argv))
        return cli_print_help(durability_help);
    pgq_durability d;
    int ex = parse_level("durability", argc, argv, 1, &d);
    if (ex != EXIT_OK)
        return ex;
    pgq_client *c = cli_connect(g, &ex);
    if (!c)
        return ex;
    int rc = pgq_set_durability(c, d);
    if (rc == PGQ_OK)
        printf("durability of database %s is now %s\n", db_name(c), level_name(d));
    else
        ex = cli_report(c, "durability", rc);
    pgq_client_free(c);
    return ex;
}

int cmd_autovac(int argc, char **argv, cli_globals *g)
{
    if (cli_wants_help(argc, argv))
        return cli_print_help(autovac_help);
    bool rollback;
    int ex = parse_rollback("autovac", argc, argv, 1, &rollback);
    if (ex != EXIT_OK)
        return ex;
    pgq_client *c = cli_connect(g, &ex);
    if (!c)
        return ex;
    int rc = pgq_autovac(c, rollback);
    if (rc == PGQ_OK)
        printf("autovacuum settings %s in database %s\n",
               rollback ? "reset to defaults" : "applied", db_name(c));
    else
        ex = cli_report(c, "autovac", rc);
    pgq_client_free(c);
    return ex;
}

/* Maps `pgq sql SCRIPT ...` to a kind and options; returns an exit code. */
static int parse_sql_args(int argc, char **argv, pgq_sql_kind *kind, pgq_sql_opts *o)
{
    if (argc < 2)
        return cli_usage_error("sql",
                               "missing SCRIPT "
                               "(install, uninstall, upgrade, durability, autovac)");
    const char *s = argv[1];
    bool rb = false;
    int ex = EXIT_OK;
    if (strcmp(s, "install") == 0) {
        *kind = PGQ_SQL_INSTALL;
        ex = parse_install_opts("sql", argc, argv, 2, o);
    } else if (strcmp(s, "uninstall") == 0) {
        *kind = PGQ_SQL_UNINSTALL;
        ex = no_more_args("sql", argc, argv, 2);
    } else if (strcmp(s, "upgrade") == 0) {
        *kind = PGQ_SQL_UPGRADE;
        ex = parse_upgrade_opts("sql", argc, argv, 2, o, NULL);
    } else if (strcmp(s, "durability") == 0) {
        *kind = PGQ_SQL_DURABILITY;
        ex = parse_level("sql", argc, argv, 2, &o->durability);
    } else if (strcmp(s, "autovac") == 0) {
        ex = parse_rollback("sql", argc, argv, 2, &rb);
        *kind = rb ? PGQ_SQL_AUTOVAC_ROLLBACK : PGQ_SQL_AUTOVAC;
    } else {
        ex = cli_usage_error("sql",
                             "unknown script '%s' "
                             "(install, uninstall, upgrade, durability, autovac)",
                             s);
    }
    return ex;
}

int cmd_sql(int argc, char **argv, cli_globals *g)
{
    if (cli_wants_help(argc, argv))
        return cli_print_help(sql_help);
    pgq_sql_kind kind = PGQ_SQL_INSTALL;
    pgq_sql_opts o = {0};
    int ex = parse_sql_args(argc, argv, &kind, &o);
    if (ex != EXIT_OK)
        return ex;
    char err[256] = "";
    char *text = NULL;
    int rc = pgq_sql_render(&g->cfg, kind, &o, &text, err, sizeof err);
    if (rc != PGQ_OK) {
        cli_error("sql: %s", *err ? err : pgq_strerror(rc));
        return rc == PGQ_EINVAL ? EXIT_USAGE : EXIT_FAILED;
    }
    fputs(text, stdout);
    free(text);
    return EXIT_OK;
}
