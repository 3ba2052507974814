/*
 * schema.c: install, uninstall, upgrade, durability and autovacuum tuning of
 * the PgQueuer-compatible schema (docs/design.md §3), and the same scripts
 * rendered as text without a connection (`pgq sql ...`).
 *
 * Every script is a template from src/sql/. Scripts that must be atomic
 * (install, uninstall, durability, autovac) are wrapped in BEGIN/COMMIT here,
 * so the printed SQL and the executed SQL are the same text. The upgrade runs
 * unwrapped, statement by statement, because enum values added with
 * ALTER TYPE ... ADD VALUE cannot be used in the transaction that adds them;
 * a digest of the catalog taken around each statement tells which of them
 * changed anything (upgrade_fingerprint.sql).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* The longest name install creates is the schedules table's unique
 * constraint, "<prefix>pgqueuer_schedules_expression_entrypoint_key"; past
 * PostgreSQL's 63-byte identifiers it would be silently truncated and no
 * longer match the contract, so longer prefixes are refused. */
#define LONGEST_NAME 44
#define MAX_PREFIX (63 - LONGEST_NAME)

/* Columns of schema_present.sql, in order. */
enum { P_DB, P_QUEUE, P_LOG, P_STATS, P_SCHED, P_TYPE, P_FUNC, P_NSP, P_COUNT };

static const char *durability_tmpl(pgq_durability d)
{
    switch (d) {
    case PGQ_BALANCED:
        return pgq__sql_durability_balanced;
    case PGQ_VOLATILE:
        return pgq__sql_durability_volatile;
    default:
        return pgq__sql_durability_durable;
    }
}

/* Returns a malloc'd copy of s with every `token` replaced by `with`. */
static char *replace_all(const char *s, const char *token, const char *with)
{
    pgq__buf b = {0};
    size_t tlen = strlen(token);
    const char *hit;
    while ((hit = strstr(s, token)) != NULL) {
        pgq__buf_append(&b, s, (size_t)(hit - s));
        pgq__buf_puts(&b, with);
        s = hit + tlen;
    }
    pgq__buf_puts(&b, s);
    if (!pgq__buf_cstr(&b)) {
        pgq__buf_free(&b);
        return NULL;
    }
    return b.data;
}

/* The install template for these options, before name rendering. */
static void install_template(pgq__buf *b, const pgq__names *n, const pgq_sql_opts *o)
{
    pgq__buf_puts(b, "BEGIN;\n\n");
    if (n->schema[0] && !o->no_create_schema)
        pgq__buf_puts(b, "CREATE SCHEMA IF NOT EXISTS {SCHEMA};\n\n");
    pgq__buf_puts(b, pgq__sql_install);
    pgq__buf_puts(b, "\n\nCOMMIT;\n");
}

/* The CREATE FUNCTION statement of notify_function.sql, without its
 * comment header or final semicolon (upgrade.sql EXECUTEs it). */
static char *function_body(void)
{
    const char *from = strstr(pgq__sql_notify_function, "CREATE OR REPLACE FUNCTION");
    if (!from)
        return NULL;
    size_t len = strlen(from);
    while (len && (from[len - 1] == '\n' || from[len - 1] == ' ' || from[len - 1] == ';'))
        len--;
    char *s = malloc(len + 1);
    if (s) {
        memcpy(s, from, len);
        s[len] = '\0';
    }
    return s;
}

/* Renders a template after splicing in the shared trigger function. */
static char *render_with_function(const pgq__names *n, const char *tmpl)
{
    char *body = function_body();
    char *full = replace_all(tmpl, "{NOTIFY_FUNCTION}", pgq__sql_notify_function);
    char *full2 = full && body ? replace_all(full, "{NOTIFY_FUNCTION_BODY}", body) : NULL;
    char *sql = full2 ? pgq__render(n, full2) : NULL;
    free(body);
    free(full);
    free(full2);
    return sql;
}

/* Substitutes the {DURABILITY:...} tokens of a rendered install script. */
static char *apply_durability(char *sql, pgq_durability d)
{
    const char *queue = d == PGQ_VOLATILE ? "UNLOGGED " : "";
    const char *log = d == PGQ_DURABLE ? "" : "UNLOGGED ";
    char *a = replace_all(sql, "{DURABILITY:queue}", queue);
    char *b = a ? replace_all(a, "{DURABILITY:log}", log) : NULL;
    free(sql);
    free(a);
    return b;
}

/* Renders the complete script of kind with names n; NULL on oom. */
static char *build_script(const pgq__names *n, pgq_sql_kind kind, const pgq_sql_opts *o)
{
    static const pgq_sql_opts defaults = {0};
    pgq__buf t = {0};
    if (!o)
        o = &defaults;
    if (kind == PGQ_SQL_INSTALL) {
        install_template(&t, n, o);
    } else if (kind == PGQ_SQL_UPGRADE) {
        char *u = replace_all(pgq__sql_upgrade, "{WIDEN_ID}",
                              o->no_widen_id ? "" : pgq__sql_upgrade_widen);
        pgq__buf_puts(&t, u ? u : "");
        if (!u)
            t.oom = true;
        free(u);
    } else {
        const char *body = kind == PGQ_SQL_UNINSTALL    ? pgq__sql_uninstall
                           : kind == PGQ_SQL_DURABILITY ? durability_tmpl(o->durability)
                           : kind == PGQ_SQL_AUTOVAC    ? pgq__sql_autovac
                                                        : pgq__sql_autovac_rollback;
        pgq__buf_printf(&t, "BEGIN;\n\n%s\n\nCOMMIT;\n", body);
    }
    char *sql = pgq__buf_cstr(&t) ? render_with_function(n, t.data) : NULL;
    pgq__buf_free(&t);
    if (sql && (kind == PGQ_SQL_INSTALL || kind == PGQ_SQL_UPGRADE))
        sql = apply_durability(sql, o->durability);
    return sql;
}

/* Joins the statements of a script with one blank line between them. */
static char *normalise(const char *sql)
{
    pgq__buf b = {0};
    const char *pos = sql;
    char *stmt;
    while ((stmt = pgq__next_statement(&pos)) != NULL) {
        if (b.len)
            pgq__buf_puts(&b, "\n\n");
        pgq__buf_puts(&b, stmt);
        free(stmt);
    }
    pgq__buf_putc(&b, '\n');
    if (!pgq__buf_cstr(&b)) {
        pgq__buf_free(&b);
        return NULL;
    }
    return b.data;
}

/* Writes why the prefix cannot be installed into err; false if it can. */
static bool prefix_too_long(const pgq__names *n, char *err, size_t errlen)
{
    if (strlen(n->prefix) <= MAX_PREFIX)
        return false;
    snprintf(err, errlen,
             "prefix '%s' is too long to install: object names would pass "
             "PostgreSQL's 63-character limit (use at most %d characters)",
             n->prefix, MAX_PREFIX);
    return true;
}

int pgq_sql_render(const pgq_config *cfg, pgq_sql_kind kind, const pgq_sql_opts *opts,
                   char **out, char *err, size_t errlen)
{
    pgq__names n;
    *out = NULL;
    if (kind < PGQ_SQL_INSTALL || kind > PGQ_SQL_AUTOVAC_ROLLBACK) {
        if (err && errlen)
            snprintf(err, errlen, "%s", "unknown SQL script kind");
        return PGQ_EINVAL;
    }
    int rc = pgq__names_init(&n, cfg, err, errlen);
    if (rc != PGQ_OK)
        return rc;
    char why[256];
    if (kind == PGQ_SQL_INSTALL && prefix_too_long(&n, why, sizeof why)) {
        if (err && errlen)
            snprintf(err, errlen, "%s", why);
        return PGQ_EINVAL;
    }
    char *sql = build_script(&n, kind, opts);
    *out = sql ? normalise(sql) : NULL;
    free(sql);
    return *out ? PGQ_OK : PGQ_ENOMEM;
}

/* Ends a failed transaction without disturbing the error kept on c. */
static void rollback_if_open(pgq_client *c)
{
    PGTransactionStatusType ts = PQtransactionStatus(c->conn);
    if (ts == PQTRANS_INTRANS || ts == PQTRANS_INERROR)
        PQclear(PQexec(c->conn, "ROLLBACK"));
}

/* The scripts' IF EXISTS clauses raise NOTICEs ("... does not exist,
 * skipping") that libpq's default processor would print, and the library
 * never prints; nor may it replace the application's notice processor. So
 * the session's client_min_messages is raised for the script and restored
 * afterwards. Returns the previous value (malloc'd) or NULL. */
static char *quiet_notices(pgq_client *c)
{
    PGresult *r = PQexec(c->conn, "SELECT current_setting('client_min_messages'), "
                                  "set_config('client_min_messages', 'warning', false)");
    char *old = NULL;
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
        old = strdup(PQgetvalue(r, 0, 0));
    PQclear(r);
    return old;
}

static void restore_notices(pgq_client *c, char *old)
{
    if (!old)
        return;
    const char *params[1] = {old};
    PQclear(PQexecParams(c->conn, "SELECT set_config('client_min_messages', $1, false)",
                         1, NULL, params, NULL, NULL, 0));
    free(old);
}

/* Renders and runs the script of kind, statement by statement. */
static int run_kind(pgq_client *c, pgq_sql_kind kind, const pgq_sql_opts *o)
{
    char *sql = build_script(&c->names, kind, o);
    if (!sql)
        return pgq__fail(c, PGQ_ENOMEM, "out of memory");
    char *old = quiet_notices(c);
    const char *pos = sql;
    char *stmt;
    int rc = PGQ_OK;
    while (rc == PGQ_OK && (stmt = pgq__next_statement(&pos)) != NULL) {
        rc = pgq__exec_command(c, stmt);
        free(stmt);
    }
    free(sql);
    if (rc != PGQ_OK)
        rollback_if_open(c);
    restore_notices(c, old);
    return rc;
}

/* Runs schema_present.sql; *r holds one row of P_COUNT columns. */
static int presence(pgq_client *c, PGresult **r)
{
    char *sql = pgq__render(&c->names, pgq__sql_schema_present);
    if (!sql)
        return pgq__fail(c, PGQ_ENOMEM, "out of memory");
    *r = PQexec(c->conn, sql);
    free(sql);
    int rc = pgq__check(c, *r);
    if (rc == PGQ_OK && (PQntuples(*r) != 1 || PQnfields(*r) != P_COUNT))
        rc = pgq__fail(c, PGQ_ESQL, "unexpected result from the presence check");
    if (rc != PGQ_OK) {
        PQclear(*r);
        *r = NULL;
    }
    return rc;
}

static bool present(const PGresult *r, int col)
{
    return strcmp(PQgetvalue(r, 0, col), "t") == 0;
}

/* Writes "schema.prefixname" (or "prefixname") for messages. */
static void display_name(const pgq__names *n, const char *name, char *out, size_t len)
{
    snprintf(out, len, "%s%s%s%s", n->schema, n->schema[0] ? "." : "", n->prefix, name);
}

/* Explains why install cannot proceed on what presence() found, or PGQ_OK. */
static int install_blocker(pgq_client *c, const PGresult *r, const pgq_sql_opts *o)
{
    static const struct {
        int col;
        const char *kind, *name;
    } objs[] = {
        {P_QUEUE, "table", "pgqueuer"},
        {P_LOG, "table", "pgqueuer_log"},
        {P_STATS, "table", "pgqueuer_statistics"},
        {P_SCHED, "table", "pgqueuer_schedules"},
        {P_TYPE, "type", "pgqueuer_status"},
        {P_FUNC, "function", "fn_pgqueuer_changed"},
    };
    char name[160];
    const char *db = PQgetvalue(r, 0, P_DB);
    for (size_t i = 0; i < sizeof objs / sizeof objs[0]; i++) {
        if (!present(r, objs[i].col))
            continue;
        display_name(&c->names, objs[i].name, name, sizeof name);
        return pgq__fail(c, PGQ_EEXISTS,
                         "already installed in database %s (%s %s exists); "
                         "use pgq upgrade or pgq verify",
                         db, objs[i].kind, name);
    }
    if (c->names.schema[0] && o->no_create_schema && !present(r, P_NSP))
        return pgq__fail(c, PGQ_ENOTFOUND,
                         "schema %s does not exist in database %s; create it or "
                         "allow pgq to create it",
                         c->names.schema, db);
    return PGQ_OK;
}

int pgq_install(pgq_client *c, const pgq_sql_opts *opts)
{
    if (!c)
        return PGQ_EINVAL;
    static const pgq_sql_opts defaults = {0};
    PGresult *r = NULL;
    char why[256];
    if (!opts)
        opts = &defaults;
    if (prefix_too_long(&c->names, why, sizeof why))
        return pgq__fail(c, PGQ_EINVAL, "%s", why);
    int rc = presence(c, &r);
    if (rc == PGQ_OK)
        rc = install_blocker(c, r, opts);
    PQclear(r);
    if (rc != PGQ_OK)
        return rc;
    rc = run_kind(c, PGQ_SQL_INSTALL, opts);
    /* Another installer may have won the race since the check above. */
    if (rc != PGQ_OK &&
        (strcmp(c->sqlstate, "42P07") == 0 || strcmp(c->sqlstate, "42710") == 0))
        rc = pgq__fail(c, PGQ_EEXISTS, "already installed in database %s (%s)",
                       PQdb(c->conn), c->errmsg);
    return rc;
}

int pgq_uninstall(pgq_client *c)
{
    return c ? run_kind(c, PGQ_SQL_UNINSTALL, NULL) : PGQ_EINVAL;
}

/* The digest of upgrade_fingerprint.sql into out (33 bytes). */
static int fingerprint(pgq_client *c, const char *sql, char out[33])
{
    PGresult *r = PQexec(c->conn, sql);
    int rc = pgq__check(c, r);
    if (rc == PGQ_OK && (PQntuples(r) != 1 || PQnfields(r) != 1))
        rc = pgq__fail(c, PGQ_ESQL, "unexpected result from the upgrade digest");
    if (rc == PGQ_OK)
        snprintf(out, 33, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    return rc;
}

/* Runs one upgrade statement; *changed when it moved the digest or rows. In
 * a plan, a statement PostgreSQL refuses inside the plan's transaction (an
 * enum value added there cannot be used yet) is rolled back to its
 * savepoint and counted as needed. */
static int upgrade_step(pgq_client *c, const char *stmt, const char *fp_sql, char fp[33],
                        bool plan, bool *changed)
{
    char after[33];
    *changed = false;
    if (plan)
        PQclear(PQexec(c->conn, "SAVEPOINT pgq_upgrade_step"));
    PGresult *r = PQexec(c->conn, stmt);
    int rc = pgq__check(c, r);
    const char *rows = rc == PGQ_OK ? PQcmdTuples(r) : "";
    bool touched_rows = rows[0] && strcmp(rows, "0") != 0;
    PQclear(r);
    if (rc != PGQ_OK && plan) {
        PQclear(PQexec(c->conn, "ROLLBACK TO SAVEPOINT pgq_upgrade_step"));
        pgq__clear_error(c);
        *changed = true;
        return PGQ_OK;
    }
    if (rc != PGQ_OK)
        return rc;
    if ((rc = fingerprint(c, fp_sql, after)) != PGQ_OK)
        return rc;
    *changed = touched_rows || strcmp(after, fp) != 0;
    memcpy(fp, after, 33);
    return PGQ_OK;
}

/* Session advisory lock serialising upgrades of this queue table. */
static int upgrade_lock(pgq_client *c, bool take)
{
    char *sql = pgq__render(
        &c->names,
        take ? "SELECT pg_advisory_lock(hashtext({LQ:pgqueuer}), hashtext('pgq upgrade'))"
             : "SELECT pg_advisory_unlock(hashtext({LQ:pgqueuer}), hashtext('pgq "
               "upgrade'))");
    if (!sql)
        return pgq__fail(c, PGQ_ENOMEM, "out of memory");
    PGresult *r = PQexec(c->conn, sql);
    free(sql);
    int rc = pgq__check(c, r);
    PQclear(r);
    return rc;
}

static int upgrade_statements(pgq_client *c, const char *sql, bool plan,
                              pgq_upgrade_fn fn, void *ud, int *applied)
{
    char fp[33];
    char *fp_sql = pgq__render(&c->names, pgq__sql_upgrade_fingerprint);
    if (!fp_sql)
        return pgq__fail(c, PGQ_ENOMEM, "out of memory");
    int rc = fingerprint(c, fp_sql, fp);
    const char *pos = sql;
    char *stmt;
    while (rc == PGQ_OK && (stmt = pgq__next_statement(&pos)) != NULL) {
        bool changed = false;
        rc = upgrade_step(c, stmt, fp_sql, fp, plan, &changed);
        if (rc == PGQ_OK && changed) {
            (*applied)++;
            if (fn)
                fn(ud, stmt);
        }
        free(stmt);
    }
    free(fp_sql);
    return rc;
}

int pgq_upgrade_run(pgq_client *c, const pgq_sql_opts *opts, bool plan_only,
                    pgq_upgrade_fn fn, void *ud, int *applied)
{
    if (!c)
        return PGQ_EINVAL;
    static const pgq_sql_opts defaults = {0};
    PGresult *r = NULL;
    int count = 0;
    if (applied)
        *applied = 0;
    if (!opts)
        opts = &defaults;
    if (PQtransactionStatus(c->conn) != PQTRANS_IDLE)
        return pgq__fail(c, PGQ_ESTATE, "upgrade: run it outside a transaction");
    int rc = presence(c, &r);
    if (rc == PGQ_OK && !present(r, P_QUEUE)) {
        char name[160];
        display_name(&c->names, "pgqueuer", name, sizeof name);
        rc = pgq__fail(c, PGQ_ENOSCHEMA,
                       "nothing to upgrade in database %s (no table %s): run pgq install",
                       PQgetvalue(r, 0, P_DB), name);
    }
    PQclear(r);
    if (rc != PGQ_OK)
        return rc;
    char *sql = build_script(&c->names, PGQ_SQL_UPGRADE, opts);
    if (!sql)
        return pgq__fail(c, PGQ_ENOMEM, "out of memory");
    char *old = quiet_notices(c);
    rc = upgrade_lock(c, true);
    if (rc == PGQ_OK) {
        if (plan_only)
            PQclear(PQexec(c->conn, "BEGIN"));
        rc = upgrade_statements(c, sql, plan_only, fn, ud, &count);
        if (plan_only || rc != PGQ_OK)
            rollback_if_open(c);
        if (rc == PGQ_OK)
            rc = upgrade_lock(c, false);
        else /* keep the statement's error: the session ends the lock anyway */
            PQclear(PQexec(c->conn, "SELECT pg_advisory_unlock_all()"));
    }
    free(sql);
    restore_notices(c, old);
    if (applied)
        *applied = count;
    return rc;
}

int pgq_upgrade(pgq_client *c)
{
    return pgq_upgrade_run(c, NULL, false, NULL, NULL, NULL);
}

int pgq_set_durability(pgq_client *c, pgq_durability d)
{
    if (!c)
        return PGQ_EINVAL;
    if (d < PGQ_DURABLE || d > PGQ_VOLATILE)
        return pgq__fail(c, PGQ_EINVAL, "unknown durability level %d", (int)d);
    pgq_sql_opts o = {.durability = d};
    return run_kind(c, PGQ_SQL_DURABILITY, &o);
}

int pgq_autovac(pgq_client *c, bool rollback)
{
    if (!c)
        return PGQ_EINVAL;
    return run_kind(c, rollback ? PGQ_SQL_AUTOVAC_ROLLBACK : PGQ_SQL_AUTOVAC, NULL);
}
