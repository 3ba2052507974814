/* page_failed.c: the held jobs (the seed's failed-job workflow in the
 * browser): the list with each job's stored error, filtered by
 * entrypoint; re-queue or mark failed several at once; re-queue one with
 * an edited payload. The per-id results use the CLI's own wording
 * (cli/id_report.c), line for line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "web.h"

#define PAGE_ROWS 100
#define ERROR_CUT 300

static void filter_form(wbuf *b, const char *entrypoint)
{
    wb_puts(b, "<form method=\"get\" action=\"/failed\" class=\"filter\">"
               "<label>entrypoint <input name=\"entrypoint\" value=\"");
    wb_html(b, entrypoint);
    wb_puts(b, "\"></label> <button type=\"submit\">Filter</button>"
               " <a href=\"/failed\">all</a></form>\n");
}

static void row(wbuf *b, const pgq_failed_job *f, bool actions)
{
    char when[32];
    const char *e =
        f->error_message && *f->error_message ? f->error_message : f->error_type;
    size_t en = e ? strlen(e) : 0;
    wb_puts(b, "<tr>");
    if (actions)
        wb_printf(b,
                  "<td><input type=\"checkbox\" name=\"id\" value=\"%lld\" "
                  "aria-label=\"select job %lld\"></td>",
                  (long long)f->job.id, (long long)f->job.id);
    wb_printf(b, "<td class=\"num\"><a href=\"/job/%lld\">%lld</a></td><td>",
              (long long)f->job.id, (long long)f->job.id);
    wb_html(b, f->job.entrypoint);
    wb_printf(b,
              "</td><td class=\"num\">%d</td><td class=\"num\">%d</td><td>%s</td>"
              "<td class=\"num\">%zu</td><td class=\"error\">",
              f->job.priority, f->job.attempts,
              web_fmt_time(f->failed_at, when, sizeof when), f->job.payload_len);
    if (e && *e) {
        if (f->error_type && f->error_message && *f->error_message) {
            wb_html(b, f->error_type);
            wb_puts(b, ": ");
        }
        wb_html_n(b, e, en > ERROR_CUT ? ERROR_CUT : en);
        if (en > ERROR_CUT)
            wb_puts(b, "&hellip;");
    } else {
        wb_puts(b, "-");
    }
    wb_puts(b, "</td></tr>\n");
}

/* Held jobs in the queue by the snapshot's counts (of entrypoint, or all);
 * -1 when no snapshot can be had. */
static int64_t held_total(web_server *s, const char *entrypoint)
{
    char err[300];
    web_snapshots *ss = web_snapshots_of(s);
    web_snap *sn = web_snap_get(s, ss, err, sizeof err);
    int64_t n = 0;
    if (!sn)
        return -1;
    for (size_t i = 0; i < sn->ov.count; i++)
        if (sn->ov.rows[i].status == PGQ_FAILED &&
            (!entrypoint || strcmp(entrypoint, sn->ov.rows[i].entrypoint) == 0))
            n += sn->ov.rows[i].count;
    web_snap_release(ss, sn);
    return n;
}

/* The link to the next (older) page of the same filter. */
static void older_link(wbuf *b, const char *entrypoint, int64_t before)
{
    wb_printf(b, "<p class=\"pager\"><a id=\"older\" href=\"/failed?before=%lld",
              (long long)before);
    if (entrypoint) {
        wb_puts(b, "&amp;entrypoint=");
        for (const unsigned char *p = (const unsigned char *)entrypoint; *p; p++)
            wb_printf(b,
                      (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
                              (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'
                          ? "%c"
                          : "%%%02X",
                      *p);
    }
    wb_puts(b, "\">older &rarr;</a></p>\n");
}

void page_failed(web_server *s, const web_req *q, web_resp *r)
{
    char ep[256], num[32], err[300];
    int64_t before = 0;
    long n = web_form_get(q->query, q->query_len, "entrypoint", ep, sizeof ep);
    long bn = web_form_get(q->query, q->query_len, "before", num, sizeof num);
    if (n == -2 || (n >= 0 && memchr(ep, '\0', (size_t)n))) {
        web_error(r, s, 400,
                  "the entrypoint filter is malformed or longer than 255 bytes");
        return;
    }
    if (bn == -2 || (bn >= 0 && web_parse_id(num, (size_t)bn, &before) != 0)) {
        web_error(r, s, 400, "before must be a job id (a positive integer)");
        return;
    }
    pgq_client *c = web_client(s, err, sizeof err);
    if (!c) {
        web_error(r, s, 503, "%s", err);
        return;
    }
    pgq_failed_set set = {0};
    int rc = pgq_list_failed_page(c, n > 0 ? ep : NULL, before, PAGE_ROWS, &set);
    if (rc != PGQ_OK) {
        web_db_error(r, s, c, "cannot list failed jobs", rc);
        return;
    }
    bool actions = !web_read_only(s);
    int64_t total = held_total(s, n > 0 ? ep : NULL);
    wbuf *b = &r->body;
    web_page_begin(b, s, "Failed jobs", WEB_R_FAILED);
    filter_form(b, n > 0 ? ep : "");
    if (set.count == 0) {
        wb_puts(b, before ? "<p id=\"none\">No older failed jobs.</p>\n"
                          : "<p id=\"none\">No failed jobs.</p>\n");
    } else {
        if (actions) {
            wb_puts(
                b, "<form method=\"post\" action=\"/failed/action\" id=\"failed-form\">");
            web_csrf_field(b, s);
        }
        wb_puts(b, "<table id=\"failed-table\"><thead><tr>");
        if (actions)
            wb_puts(b, "<th><input type=\"checkbox\" id=\"select-all\" "
                       "aria-label=\"select all\"></th>");
        wb_puts(b, "<th>id</th><th>entrypoint</th><th>priority</th><th>attempts</th>"
                   "<th>failed at (UTC)</th><th>payload bytes</th><th>last error</th>"
                   "</tr></thead><tbody>\n");
        for (size_t i = 0; i < set.count; i++)
            row(b, &set.jobs[i], actions);
        wb_puts(b, "</tbody></table>\n");
        wb_printf(b, "<p id=\"count\">%zu shown, newest first", set.count);
        if (total >= 0)
            wb_printf(b, "; %lld failed job%s held%s", (long long)total,
                      total == 1 ? "" : "s", n > 0 ? " for this entrypoint" : "");
        wb_puts(b, "</p>\n");
        if (actions)
            wb_puts(b, "<p class=\"actions\">"
                       "<button type=\"submit\" name=\"action\" value=\"requeue\" "
                       "id=\"requeue\">"
                       "Re-queue selected</button> "
                       "<button type=\"submit\" name=\"action\" value=\"mark-failed\" "
                       "id=\"mark-failed\">Mark selected failed</button></p></form>\n");
        if (set.count == PAGE_ROWS)
            older_link(b, n > 0 ? ep : NULL, set.jobs[set.count - 1].job.id);
    }
    if (actions) {
        wb_puts(b,
                "<h2>Hold jobs by id</h2><form method=\"post\" action=\"/failed/action\" "
                "class=\"inline\">");
        web_csrf_field(b, s);
        wb_puts(
            b,
            "<input type=\"hidden\" name=\"action\" value=\"mark-failed\">"
            "<label>job ids <input name=\"id\" id=\"mark-ids\" placeholder=\"4,5,6\">"
            "</label> <label>reason <input name=\"reason\" id=\"mark-reason\"></label> "
            "<button type=\"submit\" id=\"mark-by-id\">Mark failed</button></form>\n");
    }
    web_page_end(b);
    pgq_failed_set_free(&set);
}

/* ---- Results ------------------------------------------------------------------ */

static void result_line(void *ud, bool ok, const char *line)
{
    wbuf *b = ud;
    wb_printf(b, "<span class=\"%s\">", ok ? "ok" : "bad");
    wb_html(b, line);
    wb_puts(b, "</span>\n");
}

static void results_page(web_resp *r, const web_server *s, const char *title,
                         const pgq_id_outcome *o, size_t n, const char *done,
                         const char *verb)
{
    wbuf *b = &r->body;
    web_page_begin(b, s, title, WEB_R_FAILED);
    wb_puts(b, "<pre id=\"results\">");
    cli_id_report(o, n, done, verb, result_line, b);
    wb_puts(b, "</pre>\n<p><a href=\"/failed\">Back to the failed jobs</a></p>\n");
    web_page_end(b);
}

void page_failed_action(web_server *s, const web_req *q, web_resp *r)
{
    char action[32], reason[1024], err[300];
    int64_t *ids = malloc(WEB_MAX_IDS * sizeof *ids);
    size_t n = 0;
    if (!ids) {
        web_error(r, s, 500, "out of memory");
        return;
    }
    long an = web_form_get(q->body, q->body_len, "action", action, sizeof action);
    long rn = web_form_get(q->body, q->body_len, "reason", reason, sizeof reason);
    bool requeue = an > 0 && strcmp(action, "requeue") == 0;
    if (!requeue && !(an > 0 && strcmp(action, "mark-failed") == 0)) {
        web_error(r, s, 400, "unknown action: expected requeue or mark-failed");
    } else if (rn == -2 || (rn > 0 && memchr(reason, '\0', (size_t)rn))) {
        web_error(r, s, 400, "the reason is malformed or longer than 1023 bytes");
    } else if (web_form_ids(q->body, q->body_len, "id", ids, WEB_MAX_IDS, &n, err,
                            sizeof err) != 0) {
        web_error(r, s, 400, "%s", err);
    } else if (n == 0) {
        web_error(r, s, 400, "no jobs selected");
    } else {
        pgq_client *c = web_client(s, err, sizeof err);
        pgq_id_outcome *o = NULL;
        size_t n_o = 0;
        int rc = !c        ? PGQ_ECONNECT
                 : requeue ? pgq_requeue_failed_jobs(c, ids, n, NULL, &o, &n_o)
                           : pgq_mark_jobs_as_failed(c, ids, n, rn > 0 ? reason : NULL,
                                                     &o, &n_o);
        if (!c)
            web_error(r, s, 503, "%s", err);
        else if (rc != PGQ_OK)
            web_db_error(r, s, c, requeue ? "cannot re-queue" : "cannot mark jobs failed",
                         rc);
        else if (requeue)
            results_page(r, s, "Re-queue", o, n_o, "re-queued", "re-queued");
        else
            results_page(r, s, "Mark failed", o, n_o, "marked failed", "marked failed");
        pgq_id_outcomes_free(o);
    }
    free(ids);
}

/* ---- One job, edited payload ------------------------------------------------------ */

static int hexval(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* Hex digits (whitespace ignored, an optional \x prefix) into bytes, in
 * place; -1 when malformed. */
static long unhex(char *s, size_t n)
{
    size_t o = 0, i = 0;
    int hi = -1;
    if (n >= 2 && s[0] == '\\' && s[1] == 'x')
        i = 2;
    for (; i < n; i++) {
        if (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t')
            continue;
        int v = hexval(s[i]);
        if (v < 0)
            return -1;
        if (hi < 0) {
            hi = v;
        } else {
            s[o++] = (char)(hi * 16 + v);
            hi = -1;
        }
    }
    return hi < 0 ? (long)o : -1;
}

/* Browsers send a textarea's line breaks as CR LF; the payload shown had
 * LF, so CR LF goes back to LF (the hex form keeps every byte). */
static size_t crlf_to_lf(char *s, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++)
        if (!(s[i] == '\r' && i + 1 < n && s[i + 1] == '\n'))
            s[o++] = s[i];
    return o;
}

void page_job_requeue(web_server *s, const web_req *q, web_resp *r)
{
    char mode[16], err[300];
    char *payload = malloc(WEB_MAX_BODY + 1);
    if (!payload) {
        web_error(r, s, 500, "out of memory");
        return;
    }
    long mn = web_form_get(q->body, q->body_len, "mode", mode, sizeof mode);
    long pn = web_form_get(q->body, q->body_len, "payload", payload, WEB_MAX_BODY + 1);
    bool keep = mn > 0 && strcmp(mode, "keep") == 0;
    bool hex = mn > 0 && strcmp(mode, "hex") == 0;
    if (!keep && !hex && !(mn > 0 && strcmp(mode, "text") == 0)) {
        web_error(r, s, 400, "mode must be keep, text or hex");
    } else if (!keep && pn < 0) {
        web_error(r, s, 400, "the payload field is missing or malformed");
    } else if (hex && (pn = unhex(payload, (size_t)pn)) < 0) {
        web_error(r, s, 400, "the payload is not hex digits in pairs");
    } else {
        if (!keep && !hex)
            pn = (long)crlf_to_lf(payload, (size_t)pn);
        pgq_client *c = web_client(s, err, sizeof err);
        pgq_requeue_opts o = {.payload = keep ? NULL : payload,
                              .payload_len = keep ? 0 : (size_t)pn};
        pgq_id_outcome *out = NULL;
        size_t n_out = 0;
        int rc =
            c ? pgq_requeue_failed_jobs(c, &q->id, 1, &o, &out, &n_out) : PGQ_ECONNECT;
        if (!c)
            web_error(r, s, 503, "%s", err);
        else if (rc != PGQ_OK)
            web_db_error(r, s, c, "cannot re-queue", rc);
        else
            results_page(r, s, "Re-queue", out, n_out, "re-queued", "re-queued");
        pgq_id_outcomes_free(out);
    }
    free(payload);
}
