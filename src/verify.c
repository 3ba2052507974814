/*
 * verify.c: compares the database with the schema contract. The contract and
 * the catalog description are both produced by verify_objects.sql as rows of
 * (key, expected, actual, optional); this file turns the rows that disagree
 * into one message each.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

enum { V_KEY, V_EXPECTED, V_ACTUAL, V_OPTIONAL, V_COUNT };

typedef struct report {
    pgq_verify_fn fn;
    void *ud;
    int count;
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

/* With the schema expected present: missing, unexpected or different. */
static void check_present(report *rep, const PGresult *r, int row, pgq__buf *msg)
{
    const char *key = value(r, row, V_KEY), *want = value(r, row, V_EXPECTED),
               *have = value(r, row, V_ACTUAL);
    bool optional = strcmp(PQgetvalue(r, row, V_OPTIONAL), "t") == 0;
    if (want && have && strcmp(want, have) == 0)
        return;
    if (want && !have && optional)
        return;
    if (want && !have)
        pgq__buf_printf(msg, "missing %s (%s)", key, want);
    else if (!want)
        pgq__buf_printf(msg, "unexpected %s: %s", key, have);
    else
        pgq__buf_printf(msg, "%s: expected %s, found %s", key, want, have);
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
    report rep = {fn, ud, 0};
    pgq__buf msg = {0};
    int rc;
    *problems = 0;
    PGresult *r = run_query(c, &rc);
    if (!r)
        return rc;
    if (expect_present && nothing_installed(r)) {
        /* One line instead of one per column of every missing table. */
        pgq__buf_printf(&msg, "missing every object: no pgq schema in database %s "
                              "(run pgq install)", PQdb(c->conn));
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
    return PGQ_OK;
}
