/* metrics.c: /metrics in the Prometheus text format (from the shared
 * snapshot, so a scrape costs no query while it is fresh) and /healthz
 * (one live probe: the database answers and the queue table exists). */
#include <stdio.h>
#include <string.h>

#include "web.h"

/* A label value: backslash, double quote and newline escaped. */
static void label(wbuf *b, const char *s)
{
    for (; s && *s; s++) {
        if (*s == '\\' || *s == '"')
            wb_printf(b, "\\%c", *s);
        else if (*s == '\n')
            wb_puts(b, "\\n");
        else
            wb_put(b, s, 1);
    }
}

static void family(wbuf *b, const char *name, const char *type, const char *help)
{
    wb_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void page_metrics(web_server *s, const web_req *q, web_resp *r)
{
    char err[300];
    web_snapshots *ss = web_snapshots_of(s);
    web_snap *sn = web_snap_get(s, ss, err, sizeof err);
    wbuf *b = &r->body;
    (void)q;
    r->content_type = "text/plain; version=0.0.4; charset=utf-8";
    if (!sn) {
        /* The scrape still parses: the database is down, the schema unknown. */
        family(b, "pgq_up", "gauge", "1 when the database answered the last count.");
        wb_puts(b, "pgq_up 0\n");
        return;
    }
    family(b, "pgq_up", "gauge", "1 when the database answered the last count.");
    wb_puts(b, "pgq_up 1\n");
    family(b, "pgq_queue_jobs", "gauge",
           "Jobs in the queue table by entrypoint and status.");
    for (size_t i = 0; i < sn->ov.count; i++) {
        wb_puts(b, "pgq_queue_jobs{entrypoint=\"");
        label(b, sn->ov.rows[i].entrypoint);
        wb_printf(b, "\",status=\"%s\"} %lld\n",
                  pgq_job_status_name(sn->ov.rows[i].status),
                  (long long)sn->ov.rows[i].count);
    }
    family(b, "pgq_oldest_queued_age_seconds", "gauge",
           "Age of the oldest queued job by entrypoint.");
    for (size_t i = 0; i < sn->ov.count; i++) {
        if (sn->ov.rows[i].status != PGQ_QUEUED)
            continue;
        wb_puts(b, "pgq_oldest_queued_age_seconds{entrypoint=\"");
        label(b, sn->ov.rows[i].entrypoint);
        double age = sn->taken - sn->ov.rows[i].oldest_created;
        wb_printf(b, "\"} %.3f\n", age > 0 ? age : 0);
    }
    family(b, "pgq_failed_jobs", "gauge",
           "Jobs held as failed for an operator (the failed row count), by entrypoint.");
    for (size_t i = 0; i < sn->ov.count; i++) {
        if (sn->ov.rows[i].status != PGQ_FAILED)
            continue;
        wb_puts(b, "pgq_failed_jobs{entrypoint=\"");
        label(b, sn->ov.rows[i].entrypoint);
        wb_printf(b, "\"} %lld\n", (long long)sn->ov.rows[i].count);
    }
    family(b, "pgq_log_entries_total", "counter",
           "Log rows (job transitions and outcomes) by entrypoint and status since the "
           "log began or was pruned.");
    for (size_t i = 0; i < sn->n_log; i++) {
        wb_puts(b, "pgq_log_entries_total{entrypoint=\"");
        label(b, sn->log[i].entrypoint);
        wb_printf(b, "\",status=\"%s\"} %lld\n", pgq_job_status_name(sn->log[i].status),
                  (long long)sn->log[i].count);
    }
    family(b, "pgq_active_workers", "gauge", "Distinct workers holding running jobs.");
    wb_printf(b, "pgq_active_workers %lld\n", (long long)sn->ov.workers);
    family(b, "pgq_schema_ok", "gauge",
           "1 when the schema matches what pgq expects (pgq verify), 0 when not or "
           "unknown.");
    wb_printf(b, "pgq_schema_ok %d\n", sn->schema_problems == 0);
    family(b, "pgq_snapshot_timestamp_seconds", "gauge",
           "When these counts were taken (database clock, Unix time).");
    wb_printf(b, "pgq_snapshot_timestamp_seconds %.3f\n", sn->taken);
    web_snap_release(ss, sn);
}

void page_healthz(web_server *s, const web_req *q, web_resp *r)
{
    char err[300];
    pgq_client *c = web_client(s, err, sizeof err);
    (void)q;
    r->content_type = "text/plain; charset=utf-8";
    if (!c) {
        r->status = 503;
        wb_printf(&r->body, "database unreachable: %s\n", err);
        return;
    }
    pgq_job_set set = {0};
    int rc = pgq_job_get(c, 1, &set); /* one primary-key probe of the queue table */
    pgq_job_set_free(&set);
    if (rc == PGQ_OK) {
        wb_puts(&r->body, "ok\n");
        return;
    }
    r->status = 503;
    wb_printf(&r->body, "%s: %s\n",
              rc == PGQ_ENOSCHEMA  ? "schema missing"
              : rc == PGQ_ECONNECT ? "database unreachable"
                                   : "database error",
              pgq_client_errmsg(c));
}
