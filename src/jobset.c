/* jobset.c: turning job-shaped query results into pgq_job values. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The escape format (bytea_output = escape): printable bytes as they are,
 * a backslash doubled, any other byte as a backslash and three octal
 * digits. */
static int escape_decode(const char *text, size_t n, unsigned char *p, size_t *len)
{
    size_t k = 0;
    for (size_t i = 0; i < n;) {
        if (text[i] != '\\') {
            p[k++] = (unsigned char)text[i++];
        } else if (i + 1 < n && text[i + 1] == '\\') {
            p[k++] = '\\';
            i += 2;
        } else if (i + 3 < n && text[i + 1] >= '0' && text[i + 1] <= '3' &&
                   text[i + 2] >= '0' && text[i + 2] <= '7' && text[i + 3] >= '0' &&
                   text[i + 3] <= '7') {
            p[k++] = (unsigned char)((text[i + 1] - '0') << 6 | (text[i + 2] - '0') << 3 |
                                     (text[i + 3] - '0'));
            i += 4;
        } else {
            return PGQ_EINVAL;
        }
    }
    *len = k;
    return PGQ_OK;
}

/* bytea as text, in either output format: a database (or role) with
 * bytea_output = escape gives every session the escape format, and pgq must
 * read its payloads there too. The hex format starts with "\x", which the
 * escape format never writes. */
int pgq__bytea_decode(const char *text, unsigned char **out, size_t *len)
{
    size_t n = strlen(text);
    bool hex = n >= 2 && text[0] == '\\' && text[1] == 'x';
    if (hex && (n % 2) != 0)
        return PGQ_EINVAL;
    unsigned char *p = malloc((hex ? (n - 2) / 2 : n) + 1);
    if (!p)
        return PGQ_ENOMEM;
    size_t bytes = 0;
    if (!hex) {
        if (escape_decode(text, n, p, &bytes) != PGQ_OK) {
            free(p);
            return PGQ_EINVAL;
        }
    } else {
        bytes = (n - 2) / 2;
        for (size_t i = 0; i < bytes; i++) {
            int hi = hexval(text[2 + 2 * i]), lo = hexval(text[3 + 2 * i]);
            if (hi < 0 || lo < 0) {
                free(p);
                return PGQ_EINVAL;
            }
            p[i] = (unsigned char)(hi << 4 | lo);
        }
    }
    p[bytes] = '\0'; /* convenient for text payloads; not part of the length */
    *out = p;
    *len = bytes;
    return PGQ_OK;
}

int pgq__parse_int8_array(const char *text, int64_t **out, size_t *n)
{
    size_t cap = 1;
    for (const char *p = text; *p; p++)
        cap += *p == ',';
    int64_t *v = malloc(cap * sizeof *v);
    if (!v)
        return PGQ_ENOMEM;
    size_t k = 0;
    const char *p = text;
    if (*p == '{')
        p++;
    while (*p && *p != '}') {
        char *end;
        v[k++] = strtoll(p, &end, 10);
        p = *end == ',' ? end + 1 : end;
        if (end == p && *p != '}')
            break;
    }
    *out = v;
    *n = k;
    return PGQ_OK;
}

static char *col_str(const PGresult *r, int row, int col)
{
    if (col < 0 || PQgetisnull(r, row, col))
        return NULL;
    return strdup(PQgetvalue(r, row, col));
}

static double col_num(const PGresult *r, int row, int col)
{
    return col < 0 || PQgetisnull(r, row, col) ? 0
                                               : strtod(PQgetvalue(r, row, col), NULL);
}

static void job_free_fields(pgq_job *j)
{
    free((char *)j->entrypoint);
    free((unsigned char *)j->payload);
    free((char *)j->headers);
    free((char *)j->dedupe_key);
    free((char *)j->queue_manager_id);
}

void pgq_job_set_free(pgq_job_set *set)
{
    if (!set)
        return;
    for (size_t i = 0; i < set->count; i++)
        job_free_fields(&set->jobs[i]);
    free(set->jobs);
    set->jobs = NULL;
    set->count = 0;
}

/* Column numbers of a job-shaped result, looked up once per result (-1:
 * the column is absent). */
typedef struct job_cols {
    int id, priority, attempts, status, entrypoint, headers, dedupe_key;
    int queue_manager_id, created, updated, heartbeat, execute_after, payload;
} job_cols;

static void job_cols_find(const PGresult *r, job_cols *c)
{
    c->id = PQfnumber(r, "id");
    c->priority = PQfnumber(r, "priority");
    c->attempts = PQfnumber(r, "attempts");
    c->status = PQfnumber(r, "status");
    c->entrypoint = PQfnumber(r, "entrypoint");
    c->headers = PQfnumber(r, "headers");
    c->dedupe_key = PQfnumber(r, "dedupe_key");
    c->queue_manager_id = PQfnumber(r, "queue_manager_id");
    c->created = PQfnumber(r, "created");
    c->updated = PQfnumber(r, "updated");
    c->heartbeat = PQfnumber(r, "heartbeat");
    c->execute_after = PQfnumber(r, "execute_after");
    c->payload = PQfnumber(r, "payload");
}

static int job_from_row(const PGresult *r, const job_cols *c, int row, pgq_job *j)
{
    memset(j, 0, sizeof *j);
    if (c->id >= 0)
        j->id = strtoll(PQgetvalue(r, row, c->id), NULL, 10);
    j->priority = (int32_t)col_num(r, row, c->priority);
    j->attempts = (int32_t)col_num(r, row, c->attempts);
    if (c->status >= 0 &&
        pgq_job_status_parse(PQgetvalue(r, row, c->status), &j->status) != PGQ_OK)
        j->status = PGQ_QUEUED;
    j->entrypoint = col_str(r, row, c->entrypoint);
    if (!j->entrypoint)
        j->entrypoint = strdup("");
    j->headers = col_str(r, row, c->headers);
    j->dedupe_key = col_str(r, row, c->dedupe_key);
    j->queue_manager_id = col_str(r, row, c->queue_manager_id);
    j->created = col_num(r, row, c->created);
    j->updated = col_num(r, row, c->updated);
    j->heartbeat = col_num(r, row, c->heartbeat);
    j->execute_after = col_num(r, row, c->execute_after);
    if (c->payload >= 0 && !PQgetisnull(r, row, c->payload)) {
        unsigned char *p;
        size_t len;
        int rc = pgq__bytea_decode(PQgetvalue(r, row, c->payload), &p, &len);
        if (rc != PGQ_OK)
            return rc;
        j->payload = p;
        j->payload_len = len;
    }
    return j->entrypoint ? PGQ_OK : PGQ_ENOMEM;
}

int pgq__jobs_from_result(const PGresult *r, pgq_job_set *out)
{
    int rows = PQntuples(r);
    out->count = 0;
    out->jobs = calloc(rows ? (size_t)rows : 1, sizeof *out->jobs);
    if (!out->jobs)
        return PGQ_ENOMEM;
    job_cols cols;
    job_cols_find(r, &cols);
    for (int i = 0; i < rows; i++) {
        int rc = job_from_row(r, &cols, i, &out->jobs[i]);
        out->count++;
        if (rc != PGQ_OK) {
            pgq_job_set_free(out);
            return rc;
        }
    }
    return PGQ_OK;
}
