/*
 * shape.c: which PgQueuer release's columns the queue table has, and the
 * statement variants that follow from it. PgQueuer 1.4 added `slot` (the
 * capacity slot of a picked job of a limited entrypoint) and 2.3
 * `cancel_requested` (a cancel of a running job kept in its row). A
 * statement template marks the lines that exist only with a column by
 * ending them with --@slot or --@cancel, and the lines that replace them
 * without it with --@noslot or --@nocancel; pgq__shape_filter keeps the
 * right ones. The shape is read once per connection, before the first
 * such statement is prepared, and read again after a reconnect.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int pgq__shape(pgq_client *c)
{
    if (c->shape & PGQ__SHAPE_KNOWN)
        return c->shape;
    char *sql = pgq__render(
        &c->names,
        "SELECT coalesce(bool_or(attname = 'slot'), false), "
        "coalesce(bool_or(attname = 'cancel_requested'), false) FROM pg_attribute "
        "WHERE attrelid = to_regclass({LQ:pgqueuer}) AND NOT attisdropped "
        "AND attname IN ('slot', 'cancel_requested')");
    if (!sql)
        return 0;
    PGresult *r = PQexec(c->conn, sql);
    free(sql);
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) {
        c->shape = PGQ__SHAPE_KNOWN;
        if (strcmp(PQgetvalue(r, 0, 0), "t") == 0)
            c->shape |= PGQ__SHAPE_SLOT;
        if (strcmp(PQgetvalue(r, 0, 1), "t") == 0)
            c->shape |= PGQ__SHAPE_CANCEL;
    }
    PQclear(r);
    return c->shape;
}

/* True if the line [a, z) ends with marker (trailing blanks ignored). */
static bool ends_with(const char *a, const char *z, const char *marker)
{
    while (z > a && (z[-1] == ' ' || z[-1] == '\t' || z[-1] == '\r'))
        z--;
    size_t n = strlen(marker);
    return (size_t)(z - a) >= n && memcmp(z - n, marker, n) == 0;
}

bool pgq__shape_marked(const char *tmpl)
{
    return strstr(tmpl, "--@") != NULL;
}

char *pgq__shape_filter(const char *tmpl, int shape)
{
    bool slot = shape & PGQ__SHAPE_SLOT, cancel = shape & PGQ__SHAPE_CANCEL;
    pgq__buf b = {0};
    for (const char *p = tmpl; *p;) {
        const char *nl = strchr(p, '\n');
        const char *end = nl ? nl : p + strlen(p);
        bool keep = !((ends_with(p, end, "--@slot") && !slot) ||
                      (ends_with(p, end, "--@noslot") && slot) ||
                      (ends_with(p, end, "--@cancel") && !cancel) ||
                      (ends_with(p, end, "--@nocancel") && cancel));
        if (keep)
            pgq__buf_append(&b, p, (size_t)(end - p) + (nl ? 1 : 0));
        p = nl ? nl + 1 : end;
    }
    if (!pgq__buf_cstr(&b)) {
        pgq__buf_free(&b);
        return NULL;
    }
    return b.data;
}
