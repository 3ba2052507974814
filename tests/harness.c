/* harness.c: the TAP runner and database helpers of tests/harness.h. */
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "leakcheck.h"

static const char *current;

void th_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    fprintf(stdout, "# %s: %s:%d: ", current ? current : "?", file, line);
    va_start(ap, fmt);
    vfprintf(stdout, fmt, ap);
    va_end(ap);
    fputc('\n', stdout);
    fflush(stdout);
    _exit(1);
}

int th_main(const th_case *cases, size_t n, int argc, char **argv)
{
    const char *only = argc > 1 ? argv[1] : NULL;
    const char *limit_env = getenv("PGQ_TEST_CASE_TIMEOUT");
    int limit = limit_env ? atoi(limit_env) : 300;
    int failed = 0, num = 0;
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (size_t i = 0; i < n; i++)
        if (!only || strcmp(only, cases[i].name) == 0)
            num++;
    printf("1..%d\n", num);
    num = 0;
    for (size_t i = 0; i < n; i++) {
        if (only && strcmp(only, cases[i].name) != 0)
            continue;
        num++;
        fflush(NULL);
        pid_t pid = fork();
        if (pid == 0) {
            current = cases[i].name;
            alarm((unsigned)limit);
            cases[i].fn();
            fflush(NULL);
            /* _exit skips LeakSanitizer's atexit check, so run it here:
             * a case that leaks fails in the ASan lane. */
            if (th_leak_check()) {
                printf("# %s: LeakSanitizer found leaks (the report is above)\n",
                       cases[i].name);
                _exit(1);
            }
            _exit(0);
        }
        int status = 0;
        waitpid(pid, &status, 0);
        bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
        if (!ok && WIFSIGNALED(status))
            printf("# %s: killed by signal %d%s\n", cases[i].name, WTERMSIG(status),
                   WTERMSIG(status) == SIGALRM ? " (time limit)" : "");
        printf("%sok %d - %s\n", ok ? "" : "not ", num, cases[i].name);
        failed += !ok;
    }
    return failed ? 1 : 0;
}

static PGconn *conn;

PGconn *tdb(void)
{
    if (conn && PQstatus(conn) == CONNECTION_OK)
        return conn;
    if (conn)
        PQfinish(conn);
    conn = PQconnectdb("");
    if (PQstatus(conn) != CONNECTION_OK)
        th_fail(__FILE__, __LINE__, "cannot connect: %s", PQerrorMessage(conn));
    PQclear(PQexec(conn, "SET client_min_messages = warning"));
    return conn;
}

static PGresult *vquery(const char *fmt, va_list ap)
{
    char sql[8192];
    vsnprintf(sql, sizeof sql, fmt, ap);
    PGresult *r = PQexec(tdb(), sql);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        th_fail(__FILE__, __LINE__, "SQL failed: %s\n#   %s", sql,
                PQresultErrorMessage(r));
    return r;
}

void tdb_exec(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    PQclear(vquery(fmt, ap));
    va_end(ap);
}

long long tdb_int(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    PGresult *r = vquery(fmt, ap);
    va_end(ap);
    long long v = -1;
    if (PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
        v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return v;
}

char *tdb_str(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    PGresult *r = vquery(fmt, ap);
    va_end(ap);
    char *v = NULL;
    if (PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
        v = strdup(PQgetvalue(r, 0, 0));
    PQclear(r);
    return v;
}

pgq_client *tdb_client(const char *prefix)
{
    pgq_config cfg = {0};
    cfg.prefix = prefix;
    pgq_client *c = NULL;
    int rc = pgq_client_open(&c, &cfg);
    if (rc != PGQ_OK)
        th_fail(__FILE__, __LINE__, "pgq_client_open: %s",
                c ? pgq_client_errmsg(c) : pgq_strerror(rc));
    return c;
}

void tdb_reset_schema(void)
{
    pgq_client *c = tdb_client(NULL);
    int rc = pgq_uninstall(c);
    if (rc != PGQ_OK)
        th_fail(__FILE__, __LINE__, "uninstall: %s", pgq_client_errmsg(c));
    pgq_sql_opts o = {0};
    rc = pgq_install(c, &o);
    if (rc != PGQ_OK)
        th_fail(__FILE__, __LINE__, "install: %s", pgq_client_errmsg(c));
    pgq_client_free(c);
}

pgq_client *tdb_fresh(void)
{
    tdb_reset_schema();
    return tdb_client(NULL);
}

double th_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}
