/* page_job.c: one job: its row, its payload (text as text, binary as hex,
 * large ones cut with a download link), its whole log history with each
 * stored error and traceback; the edit-and-re-queue form when it is held;
 * and the payload download. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "web.h"

#define TEXT_SHOWN (64 * 1024) /* payload bytes shown as text */
#define HEX_SHOWN (8 * 1024)   /* payload bytes shown as hex */
#define EDIT_MAX (256 * 1024)  /* larger payloads are not offered for editing */

static void field(wbuf *b, const char *name, const char *value)
{
    wb_printf(b, "<tr><th>%s</th><td>", name);
    if (value)
        wb_html(b, value);
    else
        wb_puts(b, "<span class=\"muted\">NULL</span>");
    wb_puts(b, "</td></tr>\n");
}

static void row_table(wbuf *b, const pgq_job *j)
{
    char t[4][32], num[3][32];
    snprintf(num[0], sizeof num[0], "%lld", (long long)j->id);
    snprintf(num[1], sizeof num[1], "%d", j->priority);
    snprintf(num[2], sizeof num[2], "%d", j->attempts);
    wb_puts(b, "<table class=\"kv\" id=\"job-row\">\n");
    field(b, "id", num[0]);
    field(b, "entrypoint", j->entrypoint);
    wb_printf(
        b, "<tr><th>status</th><td id=\"job-status\" class=\"status-%s\">%s</td></tr>\n",
        pgq_job_status_name(j->status), pgq_job_status_name(j->status));
    field(b, "priority", num[1]);
    field(b, "attempts", num[2]);
    field(b, "created (UTC)", web_fmt_time(j->created, t[0], sizeof t[0]));
    field(b, "updated (UTC)", web_fmt_time(j->updated, t[1], sizeof t[1]));
    field(b, "heartbeat (UTC)", web_fmt_time(j->heartbeat, t[2], sizeof t[2]));
    field(b, "execute after (UTC)", web_fmt_time(j->execute_after, t[3], sizeof t[3]));
    field(b, "dedupe key", j->dedupe_key);
    field(b, "queue manager", j->queue_manager_id);
    field(b, "headers", j->headers);
    wb_puts(b, "</table>\n");
}

static void hex_dump(wbuf *b, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        wb_printf(b, "%02x%s", p[i],
                  (i + 1) % 32 == 0  ? "\n"
                  : (i + 1) % 4 == 0 ? " "
                                     : "");
}

static void payload(wbuf *b, const pgq_job *j)
{
    wb_printf(b, "<h2>Payload</h2>\n");
    if (!j->payload) {
        wb_puts(b, "<p id=\"payload-null\" class=\"muted\">NULL</p>\n");
        return;
    }
    bool text = web_is_text(j->payload, j->payload_len);
    size_t cap = text ? TEXT_SHOWN : HEX_SHOWN;
    size_t shown = j->payload_len > cap ? cap : j->payload_len;
    wb_printf(
        b,
        "<p class=\"muted\">%zu bytes, shown as %s%s. <a href=\"/job/%lld/payload\" "
        "id=\"payload-download\">Download</a></p>\n",
        j->payload_len, text ? "text" : "hex", shown < j->payload_len ? " (cut)" : "",
        (long long)j->id);
    wb_printf(b, "<pre id=\"payload\" class=\"%s\">", text ? "text" : "hex");
    if (text)
        wb_html_n(b, (const char *)j->payload, shown);
    else
        hex_dump(b, j->payload, shown);
    if (shown < j->payload_len)
        wb_printf(b, "\n... %zu more bytes", j->payload_len - shown);
    wb_puts(b, "</pre>\n");
}

/* The error record of a log row: type: message, then the traceback. */
static void traceback(wbuf *b, const char *json)
{
    json_error_t e;
    json_t *root = json ? json_loads(json, 0, &e) : NULL;
    if (!json) {
        wb_puts(b, "<span class=\"muted\">-</span>");
    } else if (!json_is_object(root)) {
        wb_puts(b, "<pre>");
        wb_html(b, json);
        wb_puts(b, "</pre>");
    } else {
        const char *type = json_string_value(json_object_get(root, "exception_type"));
        const char *msg = json_string_value(json_object_get(root, "exception_message"));
        const char *tb = json_string_value(json_object_get(root, "traceback"));
        wb_puts(b, "<div class=\"error\"><b>");
        wb_html(b, type ? type : "error");
        wb_puts(b, "</b>: ");
        wb_html(b, msg);
        wb_puts(b, "</div>");
        if (tb && *tb) {
            wb_puts(b, "<pre class=\"traceback\">");
            wb_html(b, tb);
            wb_puts(b, "</pre>");
        }
        char *ctx = json_dumps(json_object_get(root, "additional_context"), JSON_COMPACT);
        if (ctx && strcmp(ctx, "null") != 0) {
            wb_puts(b, "<div class=\"muted\">");
            wb_html(b, ctx);
            wb_puts(b, "</div>");
        }
        free(ctx);
    }
    json_decref(root);
}

static void history(wbuf *b, const pgq_log_entry *l, size_t n)
{
    wb_printf(b,
              "<h2>History (%zu log rows)</h2>\n<table id=\"job-log\"><thead><tr>"
              "<th>time (UTC)</th><th>status</th><th>entrypoint</th><th>priority</th>"
              "<th>error</th></tr></thead><tbody>\n",
              n);
    for (size_t i = 0; i < n; i++) {
        char t[32];
        const char *st = pgq_job_status_name(l[i].status);
        wb_printf(b, "<tr><td>%s</td><td class=\"status-%s\">%s</td><td>",
                  web_fmt_time(l[i].created, t, sizeof t), st, st);
        wb_html(b, l[i].entrypoint);
        wb_printf(b, "</td><td class=\"num\">%d</td><td>", l[i].priority);
        traceback(b, l[i].traceback);
        wb_puts(b, "</td></tr>\n");
    }
    wb_puts(b, "</tbody></table>\n");
}

static void edit_form(wbuf *b, const web_server *s, const pgq_job *j)
{
    bool text = !j->payload || web_is_text(j->payload, j->payload_len);
    wb_printf(
        b,
        "<h2>Fix and re-queue</h2>\n<form method=\"post\" action=\"/job/%lld/requeue\" "
        "id=\"requeue-form\">",
        (long long)j->id);
    web_csrf_field(b, s);
    if (j->payload_len > EDIT_MAX) {
        wb_puts(b,
                "<p>The payload is too large to edit here; it is re-queued unchanged.</p>"
                "<input type=\"hidden\" name=\"mode\" value=\"keep\">");
    } else {
        wb_printf(b,
                  "<p><label><input type=\"radio\" name=\"mode\" value=\"keep\" checked> "
                  "keep the payload</label> <label><input type=\"radio\" name=\"mode\" "
                  "value=\"%s\" id=\"mode-edit\"> use the payload below (%s)</label></p>",
                  text ? "text" : "hex", text ? "text" : "hex digits");
        wb_puts(b,
                "<textarea name=\"payload\" id=\"payload-edit\" rows=\"8\" cols=\"80\">");
        if (text && j->payload)
            wb_html_n(b, (const char *)j->payload, j->payload_len);
        else if (j->payload)
            hex_dump(b, j->payload, j->payload_len);
        wb_puts(b, "</textarea>");
    }
    wb_puts(
        b,
        "<p><button type=\"submit\" id=\"requeue-one\">Re-queue</button></p></form>\n");
}

static void mark_form(wbuf *b, const web_server *s, const pgq_job *j)
{
    wb_puts(b, "<form method=\"post\" action=\"/failed/action\" class=\"inline\">");
    web_csrf_field(b, s);
    wb_printf(b,
              "<input type=\"hidden\" name=\"action\" value=\"mark-failed\">"
              "<input type=\"hidden\" name=\"id\" value=\"%lld\">"
              "<button type=\"submit\" id=\"mark-one\">Hold as failed</button></form>\n",
              (long long)j->id);
}

void page_job(web_server *s, const web_req *q, web_resp *r)
{
    char err[300], title[48];
    pgq_client *c = web_client(s, err, sizeof err);
    if (!c) {
        web_error(r, s, 503, "%s", err);
        return;
    }
    pgq_job_set set = {0};
    pgq_log_entry *log = NULL;
    size_t n_log = 0;
    int rc = pgq_job_get(c, q->id, &set);
    if (rc == PGQ_OK)
        rc = pgq_job_log(c, q->id, &log, &n_log);
    if (rc != PGQ_OK) {
        web_db_error(r, s, c, "cannot read the job", rc);
    } else if (set.count == 0 && n_log == 0) {
        web_error(r, s, 404, "no job %lld", (long long)q->id);
    } else {
        wbuf *b = &r->body;
        snprintf(title, sizeof title, "Job %lld", (long long)q->id);
        web_page_begin(b, s, title, WEB_R_NOT_FOUND);
        if (set.count == 0) {
            wb_puts(b, "<p id=\"job-gone\">Not in the queue table any more (finished, "
                       "cancelled or deleted); its history follows.</p>\n");
        } else {
            const pgq_job *j = &set.jobs[0];
            row_table(b, j);
            payload(b, j);
            if (!web_read_only(s) && j->status == PGQ_FAILED)
                edit_form(b, s, j);
            else if (!web_read_only(s) &&
                     (j->status == PGQ_QUEUED || j->status == PGQ_PICKED))
                mark_form(b, s, j);
        }
        history(b, log, n_log);
        web_page_end(b);
    }
    pgq_log_entries_free(log, n_log);
    pgq_job_set_free(&set);
}

void page_job_payload(web_server *s, const web_req *q, web_resp *r)
{
    char err[300];
    pgq_client *c = web_client(s, err, sizeof err);
    if (!c) {
        web_error(r, s, 503, "%s", err);
        return;
    }
    pgq_job_set set = {0};
    int rc = pgq_job_get(c, q->id, &set);
    if (rc != PGQ_OK) {
        web_db_error(r, s, c, "cannot read the job", rc);
    } else if (set.count == 0) {
        web_error(r, s, 404, "job %lld is not in the queue table", (long long)q->id);
    } else if (!set.jobs[0].payload) {
        web_error(r, s, 404, "job %lld has a NULL payload", (long long)q->id);
    } else {
        r->content_type = "application/octet-stream";
        snprintf(r->disposition, sizeof r->disposition,
                 "attachment; filename=\"job-%lld-payload.bin\"", (long long)q->id);
        wb_put(&r->body, (const char *)set.jobs[0].payload, set.jobs[0].payload_len);
    }
    pgq_job_set_free(&set);
}
