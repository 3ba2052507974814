/* bench_db.c: database chores of the benchmark (setup, filling, settling)
 * and the server-side CPU accounting. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

pgq_client *bench_connect(const pgq_config *cfg, const char *app)
{
    pgq_config c = *cfg;
    c.application_name = app;
    pgq_client *cl = NULL;
    if (pgq_client_open(&cl, &c) != PGQ_OK) {
        fprintf(stderr, "pgq_bench: cannot connect: %s\n",
                cl ? pgq_client_errmsg(cl) : "out of memory");
        pgq_client_free(cl);
        return NULL;
    }
    return cl;
}

int bench_exec(pgq_client *c, const char *sql)
{
    PGresult *r = PQexec(pgq_client_conn(c), sql);
    int st = PQresultStatus(r);
    int rc = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ? 0 : -1;
    if (rc != 0)
        fprintf(stderr, "pgq_bench: %s: %s", sql, PQerrorMessage(pgq_client_conn(c)));
    PQclear(r);
    return rc;
}

long bench_query_long(pgq_client *c, const char *sql)
{
    PGresult *r = PQexec(pgq_client_conn(c), sql);
    long v = -1;
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
        v = atol(PQgetvalue(r, 0, 0));
    else if (PQresultStatus(r) != PGRES_TUPLES_OK)
        fprintf(stderr, "pgq_bench: %s: %s", sql, PQerrorMessage(pgq_client_conn(c)));
    PQclear(r);
    return v;
}

long bench_queue_len(pgq_client *c)
{
    return bench_query_long(c, "SELECT count(*) FROM pgqueuer");
}

int bench_reset(pgq_client *c, bool clear)
{
    int rc = pgq_install(c, NULL);
    if (rc != PGQ_OK && rc != PGQ_EEXISTS) {
        fprintf(stderr, "pgq_bench: install: %s\n", pgq_client_errmsg(c));
        return -1;
    }
    if (!clear)
        return 0;
    return bench_exec(c, "TRUNCATE pgqueuer, pgqueuer_log, pgqueuer_statistics "
                         "RESTART IDENTITY");
}

int bench_fill(pgq_client *c, long n)
{
    pgq_bulk *b = NULL;
    int rc = pgq_bulk_begin(c, &b);
    char payload[32];
    pgq_new_job j = {.entrypoint = BENCH_ENTRYPOINT, .payload = payload};
    for (long i = 0; rc == PGQ_OK && i < n; i++) {
        j.payload_len = (size_t)snprintf(payload, sizeof payload, "%ld", i);
        rc = pgq_bulk_add(b, &j);
    }
    uint64_t count = 0;
    if (rc == PGQ_OK)
        rc = pgq_bulk_finish(b, &count);
    else
        pgq_bulk_abort(b);
    if (rc != PGQ_OK || (long)count != n) {
        fprintf(stderr, "pgq_bench: bulk enqueue of %ld jobs: %s (%s)\n", n,
                pgq_strerror(rc), pgq_client_errmsg(c));
        return -1;
    }
    return 0;
}

int bench_settle(pgq_client *c)
{
    if (bench_exec(c, "VACUUM ANALYZE pgqueuer") != 0)
        return -1;
    return bench_exec(c, "CHECKPOINT");
}

/* utime + stime (+ cutime + cstime when children) of /proc/pid/stat, in
 * seconds; *ppid receives the parent pid. -1 if unreadable. */
static double proc_cpu(long pid, bool children, long *ppid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* The command name may hold spaces; fields restart after its ')'. */
    char *p = strrchr(buf, ')');
    if (!p)
        return -1;
    char state;
    long pp;
    unsigned long ut, st;
    long cut, cst;
    if (sscanf(p + 2, "%c %ld %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu %ld %ld",
               &state, &pp, &ut, &st, &cut, &cst) != 6)
        return -1;
    if (ppid)
        *ppid = pp;
    double ticks = (double)sysconf(_SC_CLK_TCK);
    return ((double)ut + (double)st + (children ? (double)(cut + cst) : 0)) / ticks;
}

/* The postmaster is the parent of our backend. Its own and its reaped
 * children's times, plus the times of its live children, cover the whole
 * server: backends, WAL writer, checkpointer, autovacuum. */
double bench_server_cpu(pgq_client *c)
{
    long backend = PQbackendPID(pgq_client_conn(c)), postmaster = 0;
    if (proc_cpu(backend, false, &postmaster) < 0)
        return -1;
    double total = proc_cpu(postmaster, true, NULL);
    DIR *d = opendir("/proc");
    struct dirent *e;
    while (total >= 0 && d && (e = readdir(d)) != NULL) {
        long pid = atol(e->d_name), pp = 0;
        if (pid <= 0)
            continue;
        double t = proc_cpu(pid, false, &pp);
        if (t >= 0 && pp == postmaster)
            total += t;
    }
    if (d)
        closedir(d);
    return total;
}

int bench_server_sample(pgq_client *c, bench_server *out)
{
    PGresult *r = PQexec(pgq_client_conn(c),
                         "SELECT pg_current_wal_lsn() - '0/0', xact_commit "
                         "FROM pg_stat_database WHERE datname = current_database()");
    int rc = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 ? 0 : -1;
    if (rc == 0) {
        out->wal_bytes = atof(PQgetvalue(r, 0, 0));
        out->commits = atof(PQgetvalue(r, 0, 1));
        out->cpu_s = bench_server_cpu(c);
    }
    PQclear(r);
    return rc;
}

void bench_wait_backends_gone(pgq_client *c, const char *app)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE '%s%%'",
             app);
    double deadline = bench_mono() + 10;
    while (bench_query_long(c, sql) > 0 && bench_mono() < deadline)
        usleep(10000);
    /* Give the postmaster a moment to reap the exited backends. */
    usleep(50000);
}
