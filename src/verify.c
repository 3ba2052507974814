/*
 * verify.c: compares the database with the schema contract. The contract and
 * the catalog description are both produced by verify_objects.sql as rows of
 * (key, expected, actual, optional, since, alt, alt_outdated, shape); this
 * file names the shape (the PgQueuer release band whose markers the database
 * has), judges each fact against that band and turns the rows that disagree
 * into one message each. Within a band, a fact added by a later release of
 * the band is optional: a 1.4 database has no 1.6 index and is no less a
 * 1.4-1.6 shape.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

enum {
    V_KEY,
    V_EXPECTED,
    V_ACTUAL,
    V_OPTIONAL,
    V_SINCE,
    V_ALT,
    V_ALT_OUTDATED,
    V_SHAPE,
    V_COUNT
};

/* The release bands verify names: lowest and highest release of each. */
typedef struct band {
    int lo, hi;
    const char *name;
} band;

static band band_of(int shape)
{
    if (shape >= 20)
        return (band){20, 23, "2.x"};
    if (shape >= 14)
        return (band){14, 16, "1.4-1.6"};
    return (band){13, 13, "1.3"};
}

typedef struct report {
    pgq_verify_fn fn;
    void *ud;
    int count;
    band b;
    bool newest; /* stays true while every fact is as install makes it */
} report;

static void say(report *rep, pgq__buf *msg)
{
    const char *s = pgq__buf_cstr(msg);
    if (rep->fn && s)
        rep->fn(rep->ud, s);
    rep->count++;
    pgq__buf_reset(msg);
}

static const char *value(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

static bool flag(const PGresult *r, int row, int col)
{
    return strcmp(PQgetvalue(r, row, col), "t") == 0;
}

/* With the schema expected present: missing, unexpected or different, as
 * judged for the database's band. */
static void check_present(report *rep, const PGresult *r, int row, pgq__buf *msg)
{
    const char *key = value(r, row, V_KEY), *want = value(r, row, V_EXPECTED),
               *have = value(r, row, V_ACTUAL), *alt = value(r, row, V_ALT);
    int since = atoi(PQgetvalue(r, row, V_SINCE));
    /* Later in the band, or after it: not required of this shape. */
    bool optional = flag(r, row, V_OPTIONAL) || since > rep->b.lo;
    if (want && have && strcmp(want, have) == 0)
        return;
    if (want && have && alt && strcmp(alt, have) == 0) {
        if (flag(r, row, V_ALT_OUTDATED))
            rep->newest = false;
        return;
    }
    if (want && !have && !flag(r, row, V_OPTIONAL))
        rep->newest = false;
    if (want && !have && optional)
        return;
    if (!want && strncmp(key, "index ", 6) == 0) {
        /* A newer PgQueuer may add indexes pgq does not know: noted, and
         * left alone by upgrade, but no divergence. */
        pgq__buf_printf(msg,
                        "note: %s is not in any PgQueuer release pgq knows (%s); "
                        "left alone",
                        key, have);
        if (rep->fn && pgq__buf_cstr(msg))
            rep->fn(rep->ud, msg->data);
        pgq__buf_reset(msg);
        return;
    }
    if (want && have && since > rep->b.hi)
        pgq__buf_printf(msg,
                        "unexpected %s in a PgQueuer %s shape (PgQueuer %d.%d added it)",
                        key, rep->b.name, since / 10, since % 10);
    else if (want && !have)
        pgq__buf_printf(msg, "missing %s (%s)", key, want);
    else if (!want)
        pgq__buf_printf(msg, "unexpected %s: %s", key, have);
    else
        pgq__buf_printf(msg, "%s: expected %s, found %s", key, want, have);
    rep->newest = false;
    say(rep, msg);
}

/* With the schema expected absent: every remaining top-level object. Columns,
 * indexes and triggers go with their table and are not listed. */
static void check_absent(report *rep, const PGresult *r, int row, pgq__buf *msg)
{
    const char *key = value(r, row, V_KEY), *have = value(r, row, V_ACTUAL);
    if (!have)
        return;
    if (strncmp(key, "table ", 6) != 0 && strncmp(key, "type ", 5) != 0 &&
        strncmp(key, "function ", 9) != 0)
        return;
    pgq__buf_printf(msg, "unexpected %s (expected absent)", key);
    say(rep, msg);
}

/* Runs the comparison query; search_path is pinned to the configured schema
 * inside a read-only transaction so that type names print unqualified. */
static PGresult *run_query(pgq_client *c, int *rc)
{
    char *sql = pgq__render(&c->names, pgq__sql_verify_objects);
    if (!sql) {
        *rc = pgq__fail(c, PGQ_ENOMEM, "out of memory");
        return NULL;
    }
    bool own_tx = PQtransactionStatus(c->conn) == PQTRANS_IDLE;
    if (own_tx)
        PQclear(PQexec(c->conn, "BEGIN READ ONLY"));
    if (own_tx && c->names.schema[0]) {
        const char *params[1] = {c->names.schema};
        PQclear(PQexecParams(c->conn,
                             "SELECT set_config('search_path', quote_ident($1), true)", 1,
                             NULL, params, NULL, NULL, 0));
    }
    PGresult *r = PQexec(c->conn, sql);
    free(sql);
    *rc = pgq__check(c, r);
    if (*rc == PGQ_OK && PQnfields(r) != V_COUNT)
        *rc = pgq__fail(c, PGQ_ESQL, "unexpected result from the schema check");
    if (own_tx)
        PQclear(PQexec(c->conn, "ROLLBACK"));
    if (*rc != PGQ_OK) {
        PQclear(r);
        r = NULL;
    }
    return r;
}

/* True when no object of the contract exists at all. */
static bool nothing_installed(const PGresult *r)
{
    for (int row = 0; row < PQntuples(r); row++)
        if (!PQgetisnull(r, row, V_ACTUAL))
            return false;
    return true;
}

int pgq_verify(pgq_client *c, bool expect_present, pgq_verify_fn fn, void *ud,
               int *problems)
{
    pgq_schema_shape shape;
    return pgq_verify_shape(c, expect_present, fn, ud, problems, &shape);
}

int pgq_verify_shape(pgq_client *c, bool expect_present, pgq_verify_fn fn, void *ud,
                     int *problems, pgq_schema_shape *shape)
{
    if (!c)
        return PGQ_EINVAL;
    report rep = {fn, ud, 0, {13, 13, "1.3"}, true};
    pgq__buf msg = {0};
    int rc;
    *problems = 0;
    memset(shape, 0, sizeof *shape);
    PGresult *r = run_query(c, &rc);
    if (!r)
        return rc;
    bool none = nothing_installed(r);
    if (PQntuples(r) > 0)
        rep.b = band_of(atoi(PQgetvalue(r, 0, V_SHAPE)));
    if (!none)
        snprintf(shape->name, sizeof shape->name, "%s", rep.b.name);
    if (expect_present && none) {
        /* One line instead of one per column of every missing table. */
        pgq__buf_printf(&msg,
                        "missing every object: no pgq schema in database %s "
                        "(run pgq install)",
                        PQdb(c->conn));
        say(&rep, &msg);
    } else {
        for (int row = 0; row < PQntuples(r); row++) {
            if (expect_present)
                check_present(&rep, r, row, &msg);
            else
                check_absent(&rep, r, row, &msg);
        }
    }
    PQclear(r);
    pgq__buf_free(&msg);
    *problems = rep.count;
    shape->newest = !none && rep.b.lo == 20 && rep.newest && rep.count == 0;
    return PGQ_OK;
}
