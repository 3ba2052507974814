/* report.c: the operator reports (pgq_report_*): one generic table of
 * named, typed text cells per kind, so the CLI and the web console print
 * the same rows. Each kind is one statement in src/sql/report_<kind>.sql.
 *
 * Every statement takes the same nine typed parameters, in the order of
 * the param_types table below, and uses the ones it needs: with the types
 * given explicitly the server accepts parameters a statement never
 * mentions. The statements run unprepared (PQexecParams), so each call is
 * planned with its actual values: a filter given as NULL ("$5 IS NULL OR
 * entrypoint = $5") folds away and the index for the filters that are set
 * is chosen, which one generic plan could not do. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Column types, one letter per column in the statement's order:
 * t text, i integer, n number, d time (ISO-8601 UTC text), j JSON,
 * b boolean. Checked against the result's column count on every fetch. */
static const struct kind {
    const char *name;
    const char *sql;
    const char *types;
    int default_limit; /* 0: every row */
} kinds[] = {
    {"stale", pgq__sql_report_stale, "iitddddttn", 0},
    {"workers", pgq__sql_report_workers, "tiddj", 0},
    {"backlog", pgq__sql_report_backlog, "tidnn", 0},
    {"size", pgq__sql_report_size, "itit", 0},
    {"throughput", pgq__sql_report_throughput, "dnttin", 0},
    {"log", pgq__sql_report_log,
     "iditit"
     "jb",
     25},
    {"jobs", pgq__sql_report_jobs, "iitddddtttiij", 25},
    {"tables", pgq__sql_report_tables, "ttiiiit", 0},
    {"schedules", pgq__sql_report_schedules,
     "itt"
     "ddddd"
     "t",
     0},
};

#define NKINDS (sizeof kinds / sizeof kinds[0])
#define MAX_LIMIT 1000000
#define MAX_SECONDS 31622400.0 /* 366 days */
#define MAX_BUCKETS 10000

struct pgq_report {
    PGresult *res;
    const struct kind *kind;
    size_t rows;
    size_t cols;
};

/* float8, int4, int8, int8, text, text, int8, float8, float8: threshold_s,
 * limit, after_id, before_id, entrypoint, status, job_id, window_s,
 * bucket_s ($1..$9 in every report_*.sql). */
static const Oid param_types[9] = {701, 23, 20, 20, 25, 25, 20, 701, 701};

void pgq_report_params_init(pgq_report_params *p)
{
    memset(p, 0, sizeof *p);
    p->threshold_s = 300;
}

const char *pgq_report_kind(size_t i)
{
    return i < NKINDS ? kinds[i].name : NULL;
}

static const struct kind *find_kind(const char *name)
{
    for (size_t i = 0; name && i < NKINDS; i++)
        if (strcmp(kinds[i].name, name) == 0)
            return &kinds[i];
    return NULL;
}

/* Checks every field against its range before anything is sent; the
 * message names the field. */
static int validate(pgq_client *c, const struct kind *k, const pgq_report_params *p)
{
    pgq_job_status st;
    if (p->limit < 0 || p->limit > MAX_LIMIT)
        return pgq__fail(c, PGQ_EINVAL, "limit %d is not from 0 to %d", p->limit,
                         MAX_LIMIT);
    if (!(p->threshold_s >= 0 && p->threshold_s <= MAX_SECONDS))
        return pgq__fail(c, PGQ_EINVAL, "threshold_s is not from 0 to %.0f seconds",
                         MAX_SECONDS);
    if (p->after_id < 0 || p->before_id < 0 || p->job_id < 0)
        return pgq__fail(c, PGQ_EINVAL,
                         "after_id, before_id and job_id must not be "
                         "negative");
    if (p->entrypoint && !*p->entrypoint)
        return pgq__fail(c, PGQ_EINVAL, "entrypoint is empty");
    if (p->status && pgq_job_status_parse(p->status, &st) != PGQ_OK)
        return pgq__fail(c, PGQ_EINVAL,
                         "status '%s' is not one of queued, picked, successful, "
                         "exception, canceled, deleted, failed",
                         p->status);
    if (!(p->window_s >= 0 && p->window_s <= MAX_SECONDS))
        return pgq__fail(c, PGQ_EINVAL, "window_s is not from 0 to %.0f seconds",
                         MAX_SECONDS);
    if (!(p->bucket_s >= 0 && p->bucket_s <= MAX_SECONDS))
        return pgq__fail(c, PGQ_EINVAL, "bucket_s is not from 0 to %.0f seconds",
                         MAX_SECONDS);
    if (strcmp(k->name, "throughput") == 0) {
        double window = p->window_s > 0 ? p->window_s : 3600;
        double bucket = p->bucket_s > 0 ? p->bucket_s : 60;
        if (bucket < 1 || window / bucket > MAX_BUCKETS)
            return pgq__fail(c, PGQ_EINVAL,
                             "bucket_s must be at least 1 second and window_s at "
                             "most %d buckets",
                             MAX_BUCKETS);
    }
    return PGQ_OK;
}

/* Text of the nine parameters; a NULL slot is SQL NULL. */
typedef struct param_text {
    char buf[9][32];
    const char *v[9];
} param_text;

static const char *num(param_text *t, int i, double v)
{
    snprintf(t->buf[i], sizeof t->buf[i], "%.17g", v);
    return t->buf[i];
}

static const char *id(param_text *t, int i, int64_t v)
{
    if (v <= 0)
        return NULL;
    snprintf(t->buf[i], sizeof t->buf[i], "%lld", (long long)v);
    return t->buf[i];
}

static void fill_params(param_text *t, const struct kind *k, const pgq_report_params *p)
{
    int limit = p->limit > 0 ? p->limit : k->default_limit;
    bool throughput = strcmp(k->name, "throughput") == 0;
    t->v[0] = num(t, 0, p->threshold_s);
    t->v[1] = limit > 0 ? id(t, 1, limit) : NULL;
    t->v[2] = id(t, 2, p->after_id);
    t->v[3] = id(t, 3, p->before_id);
    t->v[4] = p->entrypoint;
    t->v[5] = p->status;
    t->v[6] = id(t, 6, p->job_id);
    t->v[7] = p->window_s > 0 ? num(t, 7, p->window_s) : throughput ? "3600" : NULL;
    t->v[8] = p->bucket_s > 0 ? num(t, 8, p->bucket_s) : "60";
}

int pgq_report_fetch(pgq_client *c, const char *kind, const pgq_report_params *p,
                     pgq_report **out)
{
    pgq_report_params defaults;
    *out = NULL;
    const struct kind *k = find_kind(kind);
    if (!k)
        return pgq__fail(c, PGQ_EINVAL, "unknown report '%s'", kind ? kind : "(null)");
    if (!p) {
        pgq_report_params_init(&defaults);
        p = &defaults;
    }
    int rc = validate(c, k, p);
    if (rc != PGQ_OK)
        return rc;
    param_text t;
    fill_params(&t, k, p);
    char *sql = pgq__render(&c->names, k->sql);
    if (!sql)
        return pgq__fail(c, PGQ_ENOMEM, "out of memory");
    PGresult *r = PQexecParams(c->conn, sql, 9, param_types, t.v, NULL, NULL, 0);
    free(sql);
    rc = pgq__check(c, r);
    if (rc == PGQ_OK && (size_t)PQnfields(r) != strlen(k->types))
        rc = pgq__fail(c, PGQ_ESQL, "report %s returned %d columns, expected %zu",
                       k->name, PQnfields(r), strlen(k->types));
    pgq_report *rep = rc == PGQ_OK ? calloc(1, sizeof *rep) : NULL;
    if (rc == PGQ_OK && !rep)
        rc = pgq__fail(c, PGQ_ENOMEM, "out of memory");
    if (rc != PGQ_OK) {
        PQclear(r);
        return rc;
    }
    rep->res = r;
    rep->kind = k;
    rep->rows = (size_t)PQntuples(r);
    rep->cols = (size_t)PQnfields(r);
    *out = rep;
    return PGQ_OK;
}

void pgq_report_free(pgq_report *r)
{
    if (!r)
        return;
    PQclear(r->res);
    free(r);
}

size_t pgq_report_rows(const pgq_report *r)
{
    return r ? r->rows : 0;
}
size_t pgq_report_cols(const pgq_report *r)
{
    return r ? r->cols : 0;
}

const char *pgq_report_colname(const pgq_report *r, size_t col)
{
    return r && col < r->cols ? PQfname(r->res, (int)col) : NULL;
}

pgq_report_type pgq_report_coltype(const pgq_report *r, size_t col)
{
    if (!r || col >= r->cols)
        return PGQ_REPORT_TEXT;
    switch (r->kind->types[col]) {
    case 'i':
        return PGQ_REPORT_INT;
    case 'n':
        return PGQ_REPORT_NUMBER;
    case 'd':
        return PGQ_REPORT_TIME;
    case 'j':
        return PGQ_REPORT_JSON;
    case 'b':
        return PGQ_REPORT_BOOL;
    default:
        return PGQ_REPORT_TEXT;
    }
}

int pgq_report_is_numeric(const pgq_report *r, size_t col)
{
    pgq_report_type t = pgq_report_coltype(r, col);
    return t == PGQ_REPORT_INT || t == PGQ_REPORT_NUMBER;
}

const char *pgq_report_value(const pgq_report *r, size_t row, size_t col)
{
    if (!r || row >= r->rows || col >= r->cols || PQgetisnull(r->res, (int)row, (int)col))
        return NULL;
    const char *v = PQgetvalue(r->res, (int)row, (int)col);
    if (r->kind->types[col] == 'b')
        return v[0] == 't' ? "true" : "false";
    return v;
}

/* A number as PostgreSQL printed it is valid JSON unless it is NaN or an
 * infinity, which JSON cannot say: those become null. */
static void json_number(pgq__buf *b, const char *v)
{
    char *end;
    double d = strtod(v, &end);
    if (*end != '\0' || !isfinite(d))
        pgq__buf_puts(b, "null");
    else
        pgq__buf_puts(b, v);
}

int pgq_report_json(const pgq_report *r, char **out)
{
    pgq__buf b = {0};
    *out = NULL;
    if (!r)
        return PGQ_EINVAL;
    pgq__buf_putc(&b, '[');
    for (size_t i = 0; i < r->rows; i++) {
        pgq__buf_puts(&b, i ? ",\n {" : "\n {");
        for (size_t j = 0; j < r->cols; j++) {
            const char *v = pgq_report_value(r, i, j);
            pgq__buf_puts(&b, j ? ", " : "");
            pgq__buf_json_str(&b, pgq_report_colname(r, j));
            pgq__buf_puts(&b, ": ");
            pgq_report_type t = pgq_report_coltype(r, j);
            if (!v)
                pgq__buf_puts(&b, "null");
            else if (t == PGQ_REPORT_INT || t == PGQ_REPORT_NUMBER)
                json_number(&b, v);
            else if (t == PGQ_REPORT_JSON || t == PGQ_REPORT_BOOL)
                pgq__buf_puts(&b, v);
            else
                pgq__buf_json_str(&b, v);
        }
        pgq__buf_putc(&b, '}');
    }
    pgq__buf_puts(&b, r->rows ? "\n]" : "]");
    if (!pgq__buf_cstr(&b)) {
        pgq__buf_free(&b);
        return PGQ_ENOMEM;
    }
    *out = b.data;
    return PGQ_OK;
}
