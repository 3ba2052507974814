/* report_print.h: printing a pgq_report as a readable table or as JSON,
 * shared by the report commands (cmd_reports.c) and `dashboard --json`. */
#ifndef PGQ_CLI_REPORT_PRINT_H
#define PGQ_CLI_REPORT_PRINT_H

#include <stdio.h>

#include "pgq.h"

/* Table layouts, named as the Python tabulate formats PgQueuer uses. */
typedef enum cli_tablefmt {
    CLI_TABLE_SIMPLE = 0, /* headers underlined with dashes (the default) */
    CLI_TABLE_PLAIN,      /* no lines at all */
    CLI_TABLE_GRID,       /* boxed with +---+ and | */
    CLI_TABLE_PIPE,       /* Markdown pipes */
} cli_tablefmt;

/* The format named by PGQUEUER_TABLEFMT (unset or empty: simple). Returns
 * -1 after printing one usage line naming the variable and the names
 * allowed (the caller exits 2). */
int cli_tablefmt_from_env(const char *cmd, cli_tablefmt *out);

/* A table of every row; "(no rows)" under the header when there is none.
 * Times show as "YYYY-MM-DD HH:MM:SS" (UTC), NULL as an empty cell, control
 * characters as spaces, and long cells are cut with "...". */
void cli_report_table(FILE *f, const pgq_report *r, cli_tablefmt fmt);

/* The JSON array of pgq_report_json() and a newline; -1 on out of memory. */
int cli_report_json(FILE *f, const pgq_report *r);

#endif
