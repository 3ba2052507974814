/*
 * cli.h: shared declarations of the pgq command-line tool. The tool uses only
 * the public header; everything here is the CLI's own.
 */
#ifndef PGQ_CLI_H
#define PGQ_CLI_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "pgq.h"

/* Exit codes (docs/design.md §7). */
enum { EXIT_OK = 0, EXIT_FAILED = 1, EXIT_USAGE = 2 };

/* Global options, parsed before the command name. */
typedef struct cli_globals {
    pgq_config cfg;
} cli_globals;

typedef int (*cli_cmd_fn)(int argc, char **argv, cli_globals *g);

typedef struct cli_command {
    const char *name;
    cli_cmd_fn fn;
    const char *summary; /* one line for `pgq --help` */
} cli_command;

/* ---- Commands (one file each; argv[0] is the command name) ---------------- */
int cmd_local(int argc, char **argv, cli_globals *g);
int cmd_install(int argc, char **argv, cli_globals *g);
int cmd_uninstall(int argc, char **argv, cli_globals *g);
int cmd_upgrade(int argc, char **argv, cli_globals *g);
int cmd_verify(int argc, char **argv, cli_globals *g);
int cmd_durability(int argc, char **argv, cli_globals *g);
int cmd_autovac(int argc, char **argv, cli_globals *g);
int cmd_sql(int argc, char **argv, cli_globals *g);
int cmd_queue(int argc, char **argv, cli_globals *g);
int cmd_stats(int argc, char **argv, cli_globals *g);
int cmd_dashboard(int argc, char **argv, cli_globals *g);
int cmd_listen(int argc, char **argv, cli_globals *g);
int cmd_show(int argc, char **argv, cli_globals *g);
int cmd_cancel(int argc, char **argv, cli_globals *g);
int cmd_clear(int argc, char **argv, cli_globals *g);
int cmd_prune(int argc, char **argv, cli_globals *g);
int cmd_list_failed(int argc, char **argv, cli_globals *g);
int cmd_failed(int argc, char **argv, cli_globals *g);
int cmd_requeue_failed(int argc, char **argv, cli_globals *g);
int cmd_requeue(int argc, char **argv, cli_globals *g);
int cmd_mark_failed(int argc, char **argv, cli_globals *g);
int cmd_run(int argc, char **argv, cli_globals *g);
int cmd_wait(int argc, char **argv, cli_globals *g);
int cmd_web(int argc, char **argv, cli_globals *g);
/* The reports (cmd_reports.c). */
int cmd_stale(int argc, char **argv, cli_globals *g);
int cmd_workers(int argc, char **argv, cli_globals *g);
int cmd_backlog(int argc, char **argv, cli_globals *g);
int cmd_size(int argc, char **argv, cli_globals *g);
int cmd_throughput(int argc, char **argv, cli_globals *g);
int cmd_log(int argc, char **argv, cli_globals *g);
int cmd_jobs(int argc, char **argv, cli_globals *g);
int cmd_tables(int argc, char **argv, cli_globals *g);
int cmd_schedules(int argc, char **argv, cli_globals *g);

/* ---- Shared helpers (common.c) ------------------------------------------- */

/* Prints "pgq: <msg>" to stderr. */
void cli_error(const char *fmt, ...) PGQ_PRINTF(1, 2);
/* Prints the one usage-error line of every command to stderr,
 * "pgq CMD: <msg> (see 'pgq CMD --help')"; returns 2. */
int cli_usage_error(const char *cmd, const char *fmt, ...) PGQ_PRINTF(2, 3);
/* True if argv holds -h or --help anywhere before a "--". */
bool cli_wants_help(int argc, char **argv);
/* Set by SIGINT/SIGTERM once cli_catch_stop_signals() ran. The handlers are
 * installed without SA_RESTART, so a blocking poll() or sleep returns EINTR. */
extern volatile sig_atomic_t cli_stop_requested;
void cli_catch_stop_signals(void);
/* Prints the help text to stdout and returns 0. */
int cli_print_help(const char *text);

/* Connects with the global configuration. On failure prints the reason and
 * a hint (pgq local start / PGHOST) and returns NULL; *exit_code is set. */
pgq_client *cli_connect(cli_globals *g, int *exit_code);
/* Prints "pgq: <what>: <client error>" plus a hint; returns the exit code
 * for rc (usage errors 2, others 1). */
int cli_report(pgq_client *c, const char *what, int rc);

/* ---- Parsers (parse.c; pure, unit-tested and fuzzed) ---------------------- */

/* "30s", "5m", "1h30m", "250ms", "2d", a bare number of seconds, "1.5s":
 * decimal digits with an optional fraction, each followed by a unit.
 * Returns 0 and seconds, or -1 for anything malformed or negative, hex
 * ("0x10") or exponents ("1e3"). */
int cli_parse_duration(const char *s, double *seconds);
/* A plain decimal number: digits with an optional fraction ("0.5", "12"),
 * no sign, exponent or hex. */
int cli_parse_number(const char *s, double *out);

/* "1,2,3" (spaces around items allowed) into a malloc'd array of distinct
 * positive ids in input order. Returns 0, or -1 with err set for "", "1,x",
 * "-3", "0", "1,,2", values over INT64_MAX. */
int cli_parse_id_list(const char *s, int64_t **ids, size_t *n, char *err, size_t errlen);
/* One id: positive decimal within int64. */
int cli_parse_id(const char *s, int64_t *id);

/* Decimal integer within [min, max]. */
int cli_parse_int(const char *s, long long min, long long max, long long *out);

/* "NAME=VALUE" with a non-empty NAME: splits into malloc'd-free views. */
int cli_split_assignment(const char *s, char *name, size_t namelen, const char **value);

/* "ENTRYPOINT=COMMAND" of `pgq run --exec`: the name before the first '='
 * (non-empty, shorter than namelen) into name, *command pointing at the
 * rest of s (non-empty). Returns 0, or -1 for anything else. */
int cli_parse_exec_spec(const char *s, char *name, size_t namelen, const char **command);

/* ---- Option scanning (args.c) -------------------------------------------- */

/* Matches argv[*i] against an option that takes a value, given as
 * "--name VALUE" or "--name=VALUE" (a short "-n" only as "-n VALUE").
 * Returns 1 with *value set (advancing *i past a separate value), 0 when
 * argv[*i] is not this option, -1 when the value is missing (a usage error
 * for cmd has been printed; exit 2). */
int cli_opt_value(const char *cmd, int argc, char **argv, int *i, const char *name,
                  const char **value);

/* ---- Output helpers (output.c) -------------------------------------------- */

/* Formats epoch seconds as "YYYY-MM-DD HH:MM:SS" UTC (buf >= 20). */
const char *cli_fmt_time(double epoch, char *buf, size_t n);
/* Formats epoch seconds as ISO-8601 UTC with Z (buf >= 32). */
const char *cli_fmt_iso(double epoch, char *buf, size_t n);
/* Writes s as a JSON string (with quotes) to f. */
void cli_json_str(FILE *f, const char *s);
/* Writes bytes as a JSON string: text if valid printable UTF-8, else NULL
 * and the caller prints hex. Returns true if written. */
bool cli_is_printable_utf8(const unsigned char *p, size_t n);
/* Writes one line of s to f, replacing control characters (C0, DEL and
 * C1) with spaces and cutting to width columns with "..." when longer
 * (width 0: never cut). Every text from the database or a job passes
 * through it on its way to a terminal. */
void cli_print_cut(FILE *f, const char *s, int width);
/* Like cli_print_cut, then pads with spaces to width columns: one table cell. */
void cli_print_cell(FILE *f, const char *s, int width);

/* ---- Per-id reports (id_report.c), shared with the web console ------------ */

/* Why an id was not acted on: "no such job", "already failed", ... */
const char *cli_id_reason(const pgq_id_outcome *o, char *buf, size_t n);
typedef void (*cli_line_fn)(void *ud, bool ok, const char *line);
/* Calls line() for each id acted on ("<done> ID"), then for each other id
 * ("not <done> ID: <reason>"), then once for the total ("K of N jobs
 * <verb>"); returns K. */
size_t cli_id_report(const pgq_id_outcome *o, size_t n, const char *done,
                     const char *verb, cli_line_fn line, void *ud);

#endif
