/* report_print.c: a pgq_report as a table (tabulate's plain, simple, grid
 * and pipe layouts, chosen with PGQUEUER_TABLEFMT as in PgQueuer) or as
 * the library's JSON array. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "report_print.h"

#define MAX_CELL 60 /* columns; longer cells are cut with "..." */

static const struct {
    const char *name;
    cli_tablefmt fmt;
} formats[] = {
    {"simple", CLI_TABLE_SIMPLE},
    {"plain", CLI_TABLE_PLAIN},
    {"grid", CLI_TABLE_GRID},
    {"pipe", CLI_TABLE_PIPE},
};

int cli_tablefmt_from_env(const char *cmd, cli_tablefmt *out)
{
    const char *v = getenv("PGQUEUER_TABLEFMT");
    *out = CLI_TABLE_SIMPLE;
    if (!v || !*v)
        return 0;
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++) {
        if (strcmp(v, formats[i].name) == 0) {
            *out = formats[i].fmt;
            return 0;
        }
    }
    fprintf(stderr,
            "pgq %s: PGQUEUER_TABLEFMT '%s' is not one of simple, plain, "
            "grid, pipe\n",
            cmd, v);
    return -1;
}

/* Display columns of a UTF-8 string, one per character. */
static size_t columns(const char *s)
{
    size_t n = 0;
    for (; s && *s; s++)
        n += ((unsigned char)*s & 0xc0) != 0x80;
    return n;
}

/* The text shown for a cell: times without the T, fraction and Z. */
static const char *shown(const pgq_report *r, size_t row, size_t col, char *buf, size_t n)
{
    const char *v = pgq_report_value(r, row, col);
    if (!v)
        return "";
    if (pgq_report_coltype(r, col) == PGQ_REPORT_TIME && strlen(v) >= 19) {
        snprintf(buf, n, "%.10s %.8s", v, v + 11);
        return buf;
    }
    return v;
}

static size_t *widths(const pgq_report *r)
{
    size_t cols = pgq_report_cols(r);
    size_t *w = calloc(cols ? cols : 1, sizeof *w);
    char buf[32];
    for (size_t j = 0; w && j < cols; j++) {
        w[j] = columns(pgq_report_colname(r, j));
        for (size_t i = 0; i < pgq_report_rows(r); i++) {
            size_t c = columns(shown(r, i, j, buf, sizeof buf));
            w[j] = c > w[j] ? c : w[j];
        }
        w[j] = w[j] > MAX_CELL ? MAX_CELL : w[j];
    }
    return w;
}

/* One cell padded to w, right-aligned for numbers. */
static void cell(FILE *f, const char *s, size_t w, bool right)
{
    size_t c = columns(s);
    for (size_t k = c; right && k < w; k++)
        fputc(' ', f);
    if (right)
        cli_print_cut(f, s, (int)w);
    else
        cli_print_cell(f, s, (int)w);
}

/* A horizontal rule: "+----+" (grid, ch '-' or '='), "----" (simple) or
 * "|---:|" (pipe, the colon marking number columns). */
static void rule(FILE *f, const pgq_report *r, const size_t *w, cli_tablefmt fmt, char ch)
{
    size_t cols = pgq_report_cols(r);
    for (size_t j = 0; j < cols; j++) {
        bool num = pgq_report_is_numeric(r, j);
        if (fmt == CLI_TABLE_GRID)
            fputc('+', f);
        else if (fmt == CLI_TABLE_PIPE)
            fputc('|', f);
        else if (j)
            fputs("  ", f);
        size_t n = w[j] + (fmt == CLI_TABLE_SIMPLE ? 0 : 2);
        for (size_t k = 0; k < n; k++)
            fputc(fmt == CLI_TABLE_PIPE && k == n - 1 && num ? ':' : ch, f);
    }
    fputs(fmt == CLI_TABLE_GRID ? "+\n" : fmt == CLI_TABLE_PIPE ? "|\n" : "\n", f);
}

/* One row of cells (row SIZE_MAX: the header). */
static void line(FILE *f, const pgq_report *r, const size_t *w, cli_tablefmt fmt,
                 size_t row)
{
    char buf[32];
    bool boxed = fmt == CLI_TABLE_GRID || fmt == CLI_TABLE_PIPE;
    for (size_t j = 0; j < pgq_report_cols(r); j++) {
        const char *s = row == SIZE_MAX ? pgq_report_colname(r, j)
                                        : shown(r, row, j, buf, sizeof buf);
        fputs(boxed ? "| " : j ? "  " : "", f);
        cell(f, s, w[j], pgq_report_is_numeric(r, j));
        fputs(boxed ? " " : "", f);
    }
    fputs(boxed ? "|\n" : "\n", f);
}

void cli_report_table(FILE *f, const pgq_report *r, cli_tablefmt fmt)
{
    size_t *w = widths(r);
    if (!w)
        return;
    if (fmt == CLI_TABLE_GRID)
        rule(f, r, w, fmt, '-');
    line(f, r, w, fmt, SIZE_MAX);
    if (fmt != CLI_TABLE_PLAIN)
        rule(f, r, w, fmt, fmt == CLI_TABLE_GRID ? '=' : '-');
    for (size_t i = 0; i < pgq_report_rows(r); i++) {
        line(f, r, w, fmt, i);
        if (fmt == CLI_TABLE_GRID && i + 1 < pgq_report_rows(r))
            rule(f, r, w, fmt, '-');
    }
    if (fmt == CLI_TABLE_GRID && pgq_report_rows(r))
        rule(f, r, w, fmt, '-');
    if (pgq_report_rows(r) == 0)
        fputs("(no rows)\n", f);
    free(w);
}

int cli_report_json(FILE *f, const pgq_report *r)
{
    char *text = NULL;
    if (pgq_report_json(r, &text) != PGQ_OK)
        return -1;
    fputs(text, f);
    fputc('\n', f);
    free(text);
    return 0;
}
