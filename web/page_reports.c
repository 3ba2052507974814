/* page_reports.c: the pages built on the library's generic reports
 * (pgq_report_fetch, the same rows `pgq jobs`, `pgq workers`, `pgq stale`,
 * `pgq tables` print): the queue browser (by status and entrypoint, paged
 * by id, never OFFSET), workers and stale jobs, schedules, and the system
 * page (schema check, durability, table sizes). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "web.h"

#define PAGE_ROWS 50

/* A report as a table; the column named `link` (if any) links to the job. */
static void report_table(wbuf *b, const pgq_report *r, const char *id, const char *link)
{
    size_t rows = pgq_report_rows(r), cols = pgq_report_cols(r);
    wb_printf(b, "<table id=\"%s\"><thead><tr>", id);
    for (size_t j = 0; j < cols; j++) {
        wb_puts(b, "<th>");
        wb_html(b, pgq_report_colname(r, j));
        wb_puts(b, "</th>");
    }
    wb_puts(b, "</tr></thead><tbody>\n");
    for (size_t i = 0; i < rows; i++) {
        wb_puts(b, "<tr>");
        for (size_t j = 0; j < cols; j++) {
            const char *v = pgq_report_value(r, i, j);
            bool is_link = link && v && strcmp(pgq_report_colname(r, j), link) == 0;
            wb_printf(b, "<td%s>", pgq_report_is_numeric(r, j) ? " class=\"num\"" : "");
            if (!v)
                wb_puts(b, "<span class=\"muted\">-</span>");
            else if (is_link) {
                wb_puts(b, "<a href=\"/job/");
                wb_html(b, v);
                wb_puts(b, "\">");
                wb_html(b, v);
                wb_puts(b, "</a>");
            } else
                wb_html(b, v);
            wb_puts(b, "</td>");
        }
        wb_puts(b, "</tr>\n");
    }
    wb_puts(b, "</tbody></table>\n");
    if (rows == 0)
        wb_puts(b, "<p class=\"muted\">none</p>\n");
}

/* Runs one report on this thread's connection; on failure writes the error
 * page and returns NULL. */
static pgq_report *fetch(web_server *s, web_resp *resp, const char *kind,
                         const pgq_report_params *p)
{
    char err[300];
    pgq_client *c = web_client(s, err, sizeof err);
    if (!c) {
        web_error(resp, s, 503, "%s", err);
        return NULL;
    }
    pgq_report *r = NULL;
    int rc = pgq_report_fetch(c, kind, p, &r);
    if (rc == PGQ_EINVAL) {
        web_error(resp, s, 400, "%s", pgq_client_errmsg(c));
        return NULL;
    }
    if (rc != PGQ_OK) {
        web_db_error(resp, s, c, "cannot read the report", rc);
        return NULL;
    }
    return r;
}

/* ---- Queue browser ------------------------------------------------------------ */

typedef struct browse {
    char status[32], entrypoint[256];
    int64_t after, before;
} browse;

/* Reads the browser's query string; -1 after writing a 400 page. */
static int browse_parse(web_server *s, const web_req *q, web_resp *r, browse *b)
{
    char num[32];
    memset(b, 0, sizeof *b);
    long sn = web_form_get(q->query, q->query_len, "status", b->status, sizeof b->status);
    long en = web_form_get(q->query, q->query_len, "entrypoint", b->entrypoint,
                           sizeof b->entrypoint);
    pgq_job_status st;
    if (sn == -2 || (sn > 0 && pgq_job_status_parse(b->status, &st) != PGQ_OK)) {
        web_error(r, s, 400,
                  "status must be one of queued, picked, failed, ... or empty");
        return -1;
    }
    if (en == -2 || (en > 0 && memchr(b->entrypoint, '\0', (size_t)en))) {
        web_error(r, s, 400, "the entrypoint is malformed or longer than 255 bytes");
        return -1;
    }
    const char *keys[2] = {"after", "before"};
    int64_t *vals[2] = {&b->after, &b->before};
    for (int k = 0; k < 2; k++) {
        long n = web_form_get(q->query, q->query_len, keys[k], num, sizeof num);
        if (n == -2 || (n > 0 && web_parse_id(num, (size_t)n, vals[k]) != 0)) {
            web_error(r, s, 400, "%s must be a job id (a positive integer)", keys[k]);
            return -1;
        }
    }
    if (b->after && b->before) {
        web_error(r, s, 400, "give after or before, not both");
        return -1;
    }
    return 0;
}

/* A link to another page of the same selection. */
static void page_link(wbuf *w, const browse *b, const char *dir, const char *id,
                      const char *label)
{
    wb_printf(w, "<a id=\"%s\" href=\"/queue?status=", dir);
    wb_html(w, b->status); /* validated: a status name */
    wb_puts(w, "&amp;entrypoint=");
    for (const unsigned char *p = (const unsigned char *)b->entrypoint; *p; p++)
        wb_printf(w,
                  (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
                          (*p >= '0' && *p <= '9') || *p == '_' || *p == '-' || *p == '.'
                      ? "%c"
                      : "%%%02X",
                  *p);
    wb_printf(w, "&amp;%s=", dir);
    wb_html(w, id);
    wb_printf(w, "\">%s</a>", label);
}

void page_queue(web_server *s, const web_req *q, web_resp *r)
{
    browse b;
    if (browse_parse(s, q, r, &b) != 0)
        return;
    pgq_report_params p;
    pgq_report_params_init(&p);
    p.limit = PAGE_ROWS;
    p.status = b.status[0] ? b.status : NULL;
    p.entrypoint = b.entrypoint[0] ? b.entrypoint : NULL;
    p.after_id = b.after;
    p.before_id = b.before;
    pgq_report *rep = fetch(s, r, "jobs", &p);
    if (!rep)
        return;
    wbuf *w = &r->body;
    web_page_begin(w, s, "Queue", WEB_R_QUEUE);
    wb_puts(w, "<form method=\"get\" action=\"/queue\" class=\"filter\"><label>status "
               "<select name=\"status\"><option value=\"\">any</option>");
    for (int k = 0; k < 7; k++) {
        const char *name = pgq_job_status_name((pgq_job_status)k);
        wb_printf(w, "<option%s>%s</option>",
                  strcmp(name, b.status) == 0 ? " selected" : "", name);
    }
    wb_puts(w, "</select></label> <label>entrypoint <input name=\"entrypoint\" value=\"");
    wb_html(w, b.entrypoint);
    wb_puts(w, "\"></label> <button type=\"submit\">Show</button></form>\n");
    report_table(w, rep, "queue-table", "id");
    size_t rows = pgq_report_rows(rep);
    wb_puts(w, "<p class=\"pager\">");
    if (rows > 0 && (b.before || b.after))
        page_link(w, &b, "after", pgq_report_value(rep, 0, 0), "&larr; newer");
    wb_puts(w, " ");
    if (rows == PAGE_ROWS || (b.after && rows > 0))
        page_link(w, &b, "before", pgq_report_value(rep, rows - 1, 0), "older &rarr;");
    wb_puts(w, "</p>\n");
    web_page_end(w);
    pgq_report_free(rep);
}

/* ---- Workers, schedules, system ----------------------------------------------- */

void page_workers(web_server *s, const web_req *q, web_resp *r)
{
    pgq_report_params p;
    pgq_report_params_init(&p);
    (void)q;
    pgq_report *workers = fetch(s, r, "workers", &p);
    if (!workers)
        return;
    p.threshold_s = 60;
    p.limit = 500;
    pgq_report *stale = fetch(s, r, "stale", &p);
    if (!stale) {
        pgq_report_free(workers);
        return;
    }
    wbuf *w = &r->body;
    web_page_begin(w, s, "Workers", WEB_R_WORKERS);
    wb_puts(w, "<p>Workers holding running jobs (an idle worker holds none and is not "
               "listed).</p>\n");
    report_table(w, workers, "workers-table", NULL);
    wb_puts(w, "<h2>Stale jobs (no heartbeat for 60 s or more)</h2>\n");
    report_table(w, stale, "stale-table", "id");
    web_page_end(w);
    pgq_report_free(workers);
    pgq_report_free(stale);
}

void page_schedules(web_server *s, const web_req *q, web_resp *r)
{
    pgq_report_params p;
    pgq_report_params_init(&p);
    (void)q;
    pgq_report *rep = fetch(s, r, "schedules", &p);
    if (!rep)
        return;
    web_page_begin(&r->body, s, "Schedules", WEB_R_SCHEDULES);
    report_table(&r->body, rep, "schedules-table", NULL);
    web_page_end(&r->body);
    pgq_report_free(rep);
}

static void add_problem(void *ud, const char *problem)
{
    wbuf *b = ud;
    wb_puts(b, "<li>");
    wb_html(b, problem);
    wb_puts(b, "</li>\n");
}

/* Durability from the tables' persistence: every table logged is durable,
 * only the log and statistics unlogged balanced, every one unlogged
 * volatile. */
static const char *durability(const pgq_report *t)
{
    int logged = 0, unlogged = 0, unlogged_log = 0;
    size_t pers = 0, name = 0;
    for (size_t j = 0; j < pgq_report_cols(t); j++) {
        if (strcmp(pgq_report_colname(t, j), "persistence") == 0)
            pers = j;
        if (strcmp(pgq_report_colname(t, j), "table_name") == 0)
            name = j;
    }
    for (size_t i = 0; i < pgq_report_rows(t); i++) {
        const char *v = pgq_report_value(t, i, pers), *n = pgq_report_value(t, i, name);
        bool un = v && strstr(v, "unlogged");
        logged += !un;
        unlogged += un;
        unlogged_log += un && n && (strstr(n, "_log") || strstr(n, "_statistics"));
    }
    if (unlogged == 0)
        return logged ? "durable" : "unknown";
    if (logged == 0)
        return "volatile";
    return unlogged == unlogged_log ? "balanced" : "mixed";
}

void page_system(web_server *s, const web_req *q, web_resp *r)
{
    char err[300];
    pgq_report_params p;
    pgq_report_params_init(&p);
    (void)q;
    pgq_report *tables = fetch(s, r, "tables", &p);
    if (!tables)
        return;
    pgq_client *c = web_client(s, err, sizeof err);
    wbuf problems = {0};
    int n_problems = -1;
    if (c && pgq_verify(c, true, add_problem, &problems, &n_problems) != PGQ_OK)
        n_problems = -1;
    wbuf *w = &r->body;
    web_page_begin(w, s, "System", WEB_R_SYSTEM);
    wb_printf(w,
              "<table class=\"kv\" id=\"system-table\"><tr><th>pgq</th><td>%s</td></tr>"
              "<tr><th>schema</th><td id=\"schema-state\">%s</td></tr>"
              "<tr><th>durability</th><td id=\"durability\">%s</td></tr>",
              PGQ_VERSION,
              n_problems == 0  ? "matches the PgQueuer 1.3 schema pgq uses"
              : n_problems < 0 ? "could not be checked"
                               : "differs from the PgQueuer 1.3 schema (see below)",
              durability(tables));
    if (c) {
        wb_puts(w, "<tr><th>database</th><td>");
        wb_html(w, pgq_client_channel(c));
        wb_puts(w, " (notification channel)</td></tr>");
    }
    wb_puts(w, "</table>\n");
    if (n_problems > 0) {
        wb_puts(w, "<h2>Schema differences</h2><ul id=\"schema-problems\">\n");
        wb_put(w, problems.data, problems.len);
        wb_puts(w, "</ul>\n");
    }
    wb_puts(w, "<h2>Tables</h2>\n");
    report_table(w, tables, "tables-table", NULL);
    web_page_end(w);
    wb_free(&problems);
    pgq_report_free(tables);
}
