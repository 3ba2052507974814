/* client.c: the client handle, error recording and statement execution. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* The templates of pgq__stmt_sql[] (generated into sql_files.c, indexed
 * by pgq__stmt) are rendered with the client's names on first use and
 * prepared under the name "pgq_<index>", or, with prepared statements off
 * (a pooler in transaction mode, see docs/operations.md), sent unnamed with
 * every call. */

static char empty[] = "";

/* The library never prints: server NOTICEs are dropped rather than written
 * to stderr by libpq's default processor. */
static void silent_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

void pgq__clear_error(pgq_client *c)
{
    if (c->errmsg != empty)
        free(c->errmsg);
    c->errmsg = empty;
    c->sqlstate[0] = '\0';
}

int pgq__fail(pgq_client *c, int code, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (c->errmsg != empty)
        free(c->errmsg);
    c->errmsg = strdup(buf);
    if (!c->errmsg)
        c->errmsg = empty;
    return code;
}

static void trim_newline(char *s)
{
    size_t n = strlen(s);
    while (n && (s[n - 1] == '\n' || s[n - 1] == ' '))
        s[--n] = '\0';
}

/* The host setting as given (PQhost names only the last host tried):
 * "a,b" when a multi-host DSN found no usable server. malloc'd or NULL. */
static char *host_list(PGconn *conn)
{
    PQconninfoOption *opts = PQconninfo(conn);
    char *hosts = NULL;
    for (PQconninfoOption *o = opts; o && o->keyword; o++)
        if (strcmp(o->keyword, "host") == 0 && o->val && strchr(o->val, ','))
            hosts = strdup(o->val);
    PQconninfoFree(opts);
    return hosts;
}

int pgq_client_open(pgq_client **out, const pgq_config *cfg)
{
    char err[256];
    pgq_client *c = calloc(1, sizeof *c);
    *out = c;
    if (!c)
        return PGQ_ENOMEM;
    c->errmsg = empty;
    c->no_prepare = cfg && cfg->no_prepare;
    if (pgq__names_init(&c->names, cfg, err, sizeof err) != PGQ_OK)
        return pgq__fail(c, PGQ_EINVAL, "%s", err);

    char timeout[16];
    const char *keys[6], *vals[6];
    int k = 0;
    /* Every queue operation writes, so with several hosts (host=a,b after
     * a failover) libpq must skip a standby and try the next one, at every
     * reconnection too. Placed before dbname, the DSN (or the environment)
     * can still say otherwise, e.g. target_session_attrs=any. */
    const char *tsa = getenv("PGTARGETSESSIONATTRS");
    if (!tsa || !*tsa) {
        keys[k] = "target_session_attrs";
        vals[k++] = "read-write";
    }
    keys[k] = "dbname";
    vals[k++] = cfg && cfg->dsn ? cfg->dsn : "";
    keys[k] = "application_name";
    vals[k++] = cfg && cfg->application_name ? cfg->application_name : "pgq";
    if (cfg && cfg->connect_timeout > 0) {
        snprintf(timeout, sizeof timeout, "%d", cfg->connect_timeout);
        keys[k] = "connect_timeout";
        vals[k++] = timeout;
    }
    keys[k] = NULL;
    vals[k] = NULL;
    c->conn = PQconnectdbParams(keys, vals, 1);
    if (!c->conn)
        return pgq__fail(c, PGQ_ENOMEM, "out of memory while connecting");
    PQsetNoticeProcessor(c->conn, silent_notice, NULL);
    if (PQstatus(c->conn) != CONNECTION_OK) {
        /* libpq echoes pieces of a malformed DSN, password included. */
        char *msg = pgq__mask(PQerrorMessage(c->conn), cfg ? cfg->dsn : NULL);
        if (msg)
            trim_newline(msg);
        char *hosts = host_list(c->conn);
        const char *host = hosts ? hosts : PQhost(c->conn), *port = PQport(c->conn);
        int rc = pgq__fail(c, PGQ_ECONNECT, "cannot connect to %s port %s: %s",
                           host && *host ? host : "(default socket)",
                           port && *port ? port : "5432", msg ? msg : "");
        free(hosts);
        free(msg);
        return rc;
    }
    return PGQ_OK;
}

void pgq_client_free(pgq_client *c)
{
    if (!c)
        return;
    if (c->conn)
        PQfinish(c->conn);
    for (int i = 0; i < PGQ__STMT_COUNT; i++)
        free(c->sql[i]);
    pgq__clear_error(c);
    free(c);
}

const char *pgq_client_errmsg(const pgq_client *c)
{
    return c ? c->errmsg : "";
}
const char *pgq_client_sqlstate(const pgq_client *c)
{
    return c ? c->sqlstate : "";
}
pgq_pgconn *pgq_client_conn(pgq_client *c)
{
    return c ? c->conn : NULL;
}
const char *pgq_client_channel(const pgq_client *c)
{
    return c ? c->names.channel : "";
}

/* Pulls the key out of "Key (dedupe_key)=(abc) already exists." */
static void dedupe_key_from_detail(const char *detail, char *key, size_t n)
{
    const char *p = detail ? strstr(detail, ")=(") : NULL;
    snprintf(key, n, "%s", p ? p + 3 : "?");
    char *end = strstr(key, ") already exists");
    if (end)
        *end = '\0';
}

/* Whether the failed statement's connection is gone. A server that shut
 * down or crashed (a failover) closed it; libpq may report the first
 * statement sent afterwards with an error it made up itself, without a
 * SQLSTATE, and notice the closed socket only on its next read: read once
 * (the socket is non-blocking) so the caller reconnects now instead of
 * failing once more on the dead connection. The server's own last words
 * (class 08, or 57P01-57P03: shutdown, crash, not accepting connections)
 * mean the same. */
static bool conn_lost(pgq_client *c, const char *state)
{
    if (PQstatus(c->conn) == CONNECTION_BAD)
        return true;
    if (state && *state)
        return strncmp(state, "08", 2) == 0 || strcmp(state, "57P01") == 0 ||
               strcmp(state, "57P02") == 0 || strcmp(state, "57P03") == 0;
    (void)PQconsumeInput(c->conn);
    return PQstatus(c->conn) == CONNECTION_BAD;
}

int pgq__check(pgq_client *c, const PGresult *r)
{
    ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_COPY_IN ||
        st == PGRES_COPY_OUT || st == PGRES_PIPELINE_SYNC) {
        pgq__clear_error(c);
        return PGQ_OK;
    }
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    snprintf(c->sqlstate, sizeof c->sqlstate, "%s", state ? state : "");
    if (!r || conn_lost(c, state)) {
        char *msg = pgq__mask(PQerrorMessage(c->conn), NULL);
        if (msg)
            trim_newline(msg);
        int rc = pgq__fail(c, PGQ_ECONNECT, "lost the database connection: %s",
                           msg ? msg : "");
        free(msg);
        snprintf(c->sqlstate, sizeof c->sqlstate, "%s", state ? state : "08006");
        return rc;
    }
    const char *primary = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
    const char *constraint = PQresultErrorField(r, PG_DIAG_CONSTRAINT_NAME);
    /* Our statement is gone (26000), or another session's is there under
     * its name (42P05): the server connection changed under this session,
     * which is what a pooler in transaction mode does between
     * transactions. */
    if (state && !c->no_prepare &&
        (strcmp(state, "26000") == 0 || strcmp(state, "42P05") == 0)) {
        int rc = pgq__fail(c, PGQ_ESQL,
                           "%s: the server connection changed under this session, "
                           "as with a pooler in transaction mode (PgBouncer "
                           "pool_mode=transaction): turn prepared statements off "
                           "(PGQ_PREPARE=off, pgq --no-prepare, or "
                           "pgq_config.no_prepare)",
                           primary ? primary : "prepared statement error");
        snprintf(c->sqlstate, sizeof c->sqlstate, "%s", state);
        return rc;
    }
    if (state && strcmp(state, "23505") == 0 && constraint &&
        strstr(constraint, "pgqueuer_unique_dedupe_key")) {
        char key[512];
        dedupe_key_from_detail(PQresultErrorField(r, PG_DIAG_MESSAGE_DETAIL), key,
                               sizeof key);
        int rc = pgq__fail(c, PGQ_EDEDUPE,
                           "dedupe key '%s' is already taken by an active job", key);
        return rc;
    }
    if (state && (strcmp(state, "42P01") == 0 || strcmp(state, "42704") == 0 ||
                  strcmp(state, "3F000") == 0 || strcmp(state, "42883") == 0)) {
        int rc = pgq__fail(c, PGQ_ENOSCHEMA,
                           "no pgq schema in database %s (%s): run pgq install",
                           PQdb(c->conn), primary ? primary : "");
        snprintf(c->sqlstate, sizeof c->sqlstate, "%s", state);
        return rc;
    }
    int rc = pgq__fail(c, PGQ_ESQL, "%s", primary ? primary : PQresultErrorMessage(r));
    snprintf(c->sqlstate, sizeof c->sqlstate, "%s", state ? state : "");
    return rc;
}

/* The statement's SQL for this client, rendered on first use: names
 * filled in, and the lines for this database's shape kept (shape.c). */
static const char *stmt_text(pgq_client *c, pgq__stmt s)
{
    if (c->sql[s])
        return c->sql[s];
    char *variant = NULL;
    if (pgq__shape_marked(pgq__stmt_sql[s])) {
        variant = pgq__shape_filter(pgq__stmt_sql[s], pgq__shape(c));
        if (!variant)
            return NULL;
    }
    c->sql[s] = pgq__render(&c->names, variant ? variant : pgq__stmt_sql[s]);
    free(variant);
    return c->sql[s];
}

void pgq__forget_session(pgq_client *c)
{
    memset(c->prepared, 0, sizeof c->prepared);
    c->shape = 0;
    /* The SQL depends on the shape, which a new connection reads again. */
    for (int i = 0; i < PGQ__STMT_COUNT; i++) {
        free(c->sql[i]);
        c->sql[i] = NULL;
    }
}

static int prepare(pgq_client *c, pgq__stmt s)
{
    char name[16];
    const char *sql = stmt_text(c, s);
    if (!sql)
        return pgq__fail(c, PGQ_ENOMEM, "out of memory");
    snprintf(name, sizeof name, "pgq_%d", (int)s);
    PGresult *r = PQprepare(c->conn, name, sql, 0, NULL);
    int rc = pgq__check(c, r);
    PQclear(r);
    if (rc == PGQ_OK)
        c->prepared[s] = true;
    return rc;
}

/* Makes s ready to send: prepared on this connection, or only rendered when
 * prepared statements are off. */
int pgq__prepare(pgq_client *c, pgq__stmt s)
{
    if (!c->no_prepare)
        return c->prepared[s] ? PGQ_OK : prepare(c, s);
    return stmt_text(c, s) ? PGQ_OK : pgq__fail(c, PGQ_ENOMEM, "out of memory");
}

int pgq__send(pgq_client *c, pgq__stmt s, int nparams, const char *const *values,
              const int *lengths, const int *formats)
{
    if (c->no_prepare)
        return PQsendQueryParams(c->conn, c->sql[s], nparams, NULL, values, lengths,
                                 formats, 0);
    char name[16];
    snprintf(name, sizeof name, "pgq_%d", (int)s);
    return PQsendQueryPrepared(c->conn, name, nparams, values, lengths, formats, 0);
}

PGresult *pgq__exec(pgq_client *c, pgq__stmt s, int nparams, const char *const *values,
                    const int *lengths, const int *formats, int *rc)
{
    char name[16];
    if ((*rc = pgq__prepare(c, s)) != PGQ_OK)
        return NULL;
    snprintf(name, sizeof name, "pgq_%d", (int)s);
    /* Unnamed, the server parses and plans the statement at every call;
     * nothing of it outlives the call, so any server connection will do. */
    PGresult *r =
        c->no_prepare
            ? PQexecParams(c->conn, c->sql[s], nparams, NULL, values, lengths, formats, 0)
            : PQexecPrepared(c->conn, name, nparams, values, lengths, formats, 0);
    *rc = pgq__check(c, r);
    if (*rc != PGQ_OK) {
        /* A prepared statement does not survive a new connection or an
         * invalidated plan; prepare again on the next call. */
        if (PQstatus(c->conn) == CONNECTION_BAD)
            pgq__forget_session(c);
        PQclear(r);
        return NULL;
    }
    return r;
}

int pgq__exec_command(pgq_client *c, const char *sql)
{
    PGresult *r = PQexec(c->conn, sql);
    int rc = pgq__check(c, r);
    PQclear(r);
    return rc;
}

int pgq__exec_script(pgq_client *c, const char *tmpl)
{
    char *sql = pgq__render(&c->names, tmpl);
    if (!sql)
        return pgq__fail(c, PGQ_ENOMEM, "out of memory");
    const char *pos = sql;
    char *stmt;
    int rc = PGQ_OK;
    while (rc == PGQ_OK && (stmt = pgq__next_statement(&pos)) != NULL) {
        rc = pgq__exec_command(c, stmt);
        free(stmt);
    }
    free(sql);
    return rc;
}
