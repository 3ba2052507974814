/* listen.c: the wake-up path. A dedicated connection LISTENs on the
 * queue's channel; the loop polls its socket, then (as in libpq's
 * testlibpq2.c) consumes input and drains PQnotifies. Payloads are the
 * PgQueuer JSON events of docs/design.md §3.6; unknown keys are ignored, and unknown
 * types or malformed payloads are logged and dropped. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "worker.h"

int pgq__listen_open(pgq_client **out, const pgq_config *cfg)
{
    int rc = pgq_client_open(out, cfg);
    if (rc != PGQ_OK)
        return rc;
    pgq_client *c = *out;
    char *ident = PQescapeIdentifier(c->conn, c->names.channel, strlen(c->names.channel));
    if (!ident)
        return pgq__fail(c, PGQ_ENOMEM, "out of memory");
    char sql[256];
    snprintf(sql, sizeof sql, "LISTEN %s", ident);
    PQfreemem(ident);
    return pgq__exec_command(c, sql);
}

static void add_ids(pgq__wake *wake, json_t *ids)
{
    size_t n = json_array_size(ids);
    if (n == 0)
        return;
    int64_t *v = realloc(wake->cancel_ids, (wake->n_cancel + n) * sizeof *v);
    if (!v)
        return; /* the job then simply runs to its end */
    wake->cancel_ids = v;
    for (size_t i = 0; i < n; i++) {
        json_t *id = json_array_get(ids, i);
        if (json_is_integer(id))
            v[wake->n_cancel++] = (int64_t)json_integer_value(id);
    }
}

static void note_operation(pgq__wake *wake, const char *op)
{
    if (op && (strcmp(op, "delete") == 0 || strcmp(op, "truncate") == 0))
        wake->rows_deleted = true;
    else
        wake->table_changed = true; /* insert, update, or unknown: look */
}

bool pgq__wake_parse(const char *payload, pgq__wake *wake, char *why, size_t whylen)
{
    json_error_t err;
    json_t *root = json_loads(payload, 0, &err);
    bool ok = false;
    if (!json_is_object(root)) {
        snprintf(why, whylen, "not a JSON object");
        goto out;
    }
    const char *type = json_string_value(json_object_get(root, "type"));
    if (type && strcmp(type, "table_changed_event") == 0) {
        note_operation(wake, json_string_value(json_object_get(root, "operation")));
        ok = true;
    } else if (type && strcmp(type, "cancellation_event") == 0) {
        add_ids(wake, json_object_get(root, "ids"));
        ok = true;
    } else if (type && strcmp(type, "health_check_event") == 0) {
        ok = true;
    } else {
        snprintf(why, whylen, "unknown type '%.64s'", type ? type : "(none)");
    }
out:
    json_decref(root);
    return ok;
}

int pgq__listen_drain(pgq_client *c, pgq__wcore *core, pgq__wake *wake)
{
    if (!PQconsumeInput(c->conn) || PQstatus(c->conn) != CONNECTION_OK)
        return pgq__check(c, NULL);
    PGnotify *n;
    while ((n = PQnotifies(c->conn)) != NULL) {
        char why[128];
        if (!pgq__wake_parse(n->extra, wake, why, sizeof why))
            pgq__wlog(core, PGQ_LOG_WARN, 0, NULL,
                      "dropped a notification on %s: %s: %.200s", n->relname, why,
                      n->extra);
        PQfreemem(n);
    }
    return PGQ_OK;
}

void pgq__wake_clear(pgq__wake *wake)
{
    free(wake->cancel_ids);
    memset(wake, 0, sizeof *wake);
}
