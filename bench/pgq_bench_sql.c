/* pgq_bench_sql.c: prints pgq's own runtime statements, rendered from the
 * src/sql templates exactly as the library prepares them, so that bench/run
 * can replay them with pgbench (the pgq-sql baseline) and never drifts from
 * the library. The only program in bench/ that reaches library internals. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static const struct {
    const char *name;
    const char *tmpl;
} templates[] = {
    {"enqueue", pgq__sql_enqueue},
    {"claim", pgq__sql_claim},
    {"complete", pgq__sql_complete},
    {"complete_ok", pgq__sql_complete_ok},
};

int main(int argc, char **argv)
{
    if (argc != 2 || !strcmp(argv[1], "--help")) {
        fputs("Usage: pgq_bench_sql enqueue|claim|complete|complete_ok\n"
              "Prints the rendered statement (PGQUEUER_PREFIX, PGQUEUER_SCHEMA).\n",
              argc == 2 ? stdout : stderr);
        return argc == 2 ? 0 : 2;
    }
    pgq_config cfg = {0};
    pgq_config_from_env(&cfg);
    pgq__names names;
    char err[256];
    if (pgq__names_init(&names, &cfg, err, sizeof err) != PGQ_OK) {
        fprintf(stderr, "pgq_bench_sql: %s\n", err);
        return 2;
    }
    for (size_t i = 0; i < sizeof templates / sizeof templates[0]; i++) {
        if (strcmp(argv[1], templates[i].name) != 0)
            continue;
        /* The lines of a table in the shape pgq installs (PgQueuer 2.3). */
        char *variant = pgq__shape_filter(
            templates[i].tmpl, PGQ__SHAPE_KNOWN | PGQ__SHAPE_SLOT | PGQ__SHAPE_CANCEL);
        char *sql = variant ? pgq__render(&names, variant) : NULL;
        free(variant);
        if (!sql)
            return 1;
        fputs(sql, stdout);
        free(sql);
        return 0;
    }
    fprintf(stderr, "pgq_bench_sql: unknown statement '%s'\n", argv[1]);
    return 2;
}
