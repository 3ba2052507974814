/* client.c: the client handle, error recording and statement execution. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Index = pgq__stmt. Templates are rendered with the client's names and
 * prepared on first use under the name "pgq_<index>". */
static const char *const stmt_sql[PGQ__STMT_COUNT] = {
    [PGQ__ENQUEUE] = pgq__sql_enqueue,
    [PGQ__CLAIM] = pgq__sql_claim,
    [PGQ__COMPLETE] = pgq__sql_complete,
    [PGQ__RETRY] = pgq__sql_retry,
    [PGQ__HEARTBEAT] = pgq__sql_heartbeat,
    [PGQ__RELEASE] = pgq__sql_release,
    [PGQ__CANCEL] = pgq__sql_cancel,
    [PGQ__CLEAR] = pgq__sql_clear,
    [PGQ__CLEAR_ALL] = pgq__sql_clear_all,
    [PGQ__QUEUE_SIZE] = pgq__sql_queue_size,
    [PGQ__LOG_STATS] = pgq__sql_log_stats,
    [PGQ__JOB_STATUS] = pgq__sql_job_status,
    [PGQ__PRUNE] = pgq__sql_prune,
    [PGQ__MARK_FAILED] = pgq__sql_mark_failed,
    [PGQ__REQUEUE_FAILED] = pgq__sql_requeue_failed,
    [PGQ__LIST_FAILED] = pgq__sql_list_failed,
    [PGQ__JOB_GET] = pgq__sql_job_get,
    [PGQ__JOB_LOG] = pgq__sql_job_log,
    [PGQ__ENQUEUE_SKIP] = pgq__sql_enqueue_skip,
    [PGQ__BULK] = pgq__sql_bulk,
    [PGQ__CLAIM_LOCK] = pgq__sql_claim_lock,
    [PGQ__COMPLETE_OK] = pgq__sql_complete_ok,
};

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

int pgq_client_open(pgq_client **out, const pgq_config *cfg)
{
    char err[256];
    pgq_client *c = calloc(1, sizeof *c);
    *out = c;
    if (!c)
        return PGQ_ENOMEM;
    c->errmsg = empty;
    if (pgq__names_init(&c->names, cfg, err, sizeof err) != PGQ_OK)
        return pgq__fail(c, PGQ_EINVAL, "%s", err);

    char timeout[16];
    const char *keys[5], *vals[5];
    int k = 0;
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
        const char *host = PQhost(c->conn), *port = PQport(c->conn);
        int rc = pgq__fail(c, PGQ_ECONNECT, "cannot connect to %s port %s: %s",
                           host && *host ? host : "(default socket)",
                           port && *port ? port : "5432", msg ? msg : "");
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
    pgq__clear_error(c);
    free(c);
}

const char *pgq_client_errmsg(const pgq_client *c) { return c ? c->errmsg : ""; }
const char *pgq_client_sqlstate(const pgq_client *c) { return c ? c->sqlstate : ""; }
pgq_pgconn *pgq_client_conn(pgq_client *c) { return c ? c->conn : NULL; }
const char *pgq_client_channel(const pgq_client *c) { return c->names.channel; }

/* Pulls the key out of "Key (dedupe_key)=(abc) already exists." */
static void dedupe_key_from_detail(const char *detail, char *key, size_t n)
{
    const char *p = detail ? strstr(detail, ")=(") : NULL;
    snprintf(key, n, "%s", p ? p + 3 : "?");
    char *end = strstr(key, ") already exists");
    if (end)
        *end = '\0';
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
    if (!r || PQstatus(c->conn) == CONNECTION_BAD) {
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

static int prepare(pgq_client *c, pgq__stmt s)
{
    char name[16];
    char *sql = pgq__render(&c->names, stmt_sql[s]);
    if (!sql)
        return pgq__fail(c, PGQ_ENOMEM, "out of memory");
    snprintf(name, sizeof name, "pgq_%d", (int)s);
    PGresult *r = PQprepare(c->conn, name, sql, 0, NULL);
    free(sql);
    int rc = pgq__check(c, r);
    PQclear(r);
    if (rc == PGQ_OK)
        c->prepared[s] = true;
    return rc;
}

int pgq__prepare(pgq_client *c, pgq__stmt s, char *name)
{
    snprintf(name, 16, "pgq_%d", (int)s);
    return c->prepared[s] ? PGQ_OK : prepare(c, s);
}

PGresult *pgq__exec(pgq_client *c, pgq__stmt s, int nparams, const char *const *values,
                    const int *lengths, const int *formats, int *rc)
{
    char name[16];
    if (!c->prepared[s] && (*rc = prepare(c, s)) != PGQ_OK)
        return NULL;
    snprintf(name, sizeof name, "pgq_%d", (int)s);
    PGresult *r = PQexecPrepared(c->conn, name, nparams, values, lengths, formats, 0);
    *rc = pgq__check(c, r);
    if (*rc != PGQ_OK) {
        /* A prepared statement does not survive a new connection or an
         * invalidated plan; prepare again on the next call. */
        if (PQstatus(c->conn) == CONNECTION_BAD)
            memset(c->prepared, 0, sizeof c->prepared);
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
