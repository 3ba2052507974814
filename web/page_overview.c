/* page_overview.c: the overview (per entrypoint counts by status, age of
 * the oldest queued job, jobs per second over the last hour as a
 * server-drawn SVG chart, failure rate) and /api/overview, the JSON the
 * page polls to refresh itself without reloading. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "web.h"

#define MINUTES 60

/* One entrypoint's line of the table. */
typedef struct ep_line {
    const char *name;
    int64_t by_status[7];
    double oldest_queued;           /* epoch; 0 when none queued */
    int64_t done_hour, failed_hour; /* finished / failed in the last hour */
} ep_line;

static bool finished(pgq_job_status s)
{
    return s == PGQ_SUCCESSFUL || s == PGQ_EXCEPTION || s == PGQ_FAILED ||
           s == PGQ_CANCELED;
}

static ep_line *line_of(ep_line *lines, size_t *n, const char *name)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp(lines[i].name, name) == 0)
            return &lines[i];
    memset(&lines[*n], 0, sizeof lines[*n]);
    lines[*n].name = name;
    return &lines[(*n)++];
}

/* Lines by entrypoint from the queue counts and the last hour's buckets. */
static ep_line *build_lines(const web_snap *sn, size_t *n)
{
    ep_line *lines = calloc(sn->ov.count + sn->n_stats + 1, sizeof *lines);
    *n = 0;
    if (!lines)
        return NULL;
    for (size_t i = 0; i < sn->ov.count; i++) {
        const pgq_overview_row *o = &sn->ov.rows[i];
        ep_line *l = line_of(lines, n, o->entrypoint);
        l->by_status[o->status] += o->count;
        if (o->status == PGQ_QUEUED)
            l->oldest_queued = o->oldest_created;
    }
    for (size_t i = 0; i < sn->n_stats; i++) {
        const pgq_stat_row *st = &sn->stats[i];
        if (!finished(st->status))
            continue;
        ep_line *l = line_of(lines, n, st->entrypoint);
        l->done_hour += st->count;
        if (st->status == PGQ_EXCEPTION || st->status == PGQ_FAILED)
            l->failed_hour += st->count;
    }
    return lines;
}

static void rate_cell(wbuf *b, int64_t failed, int64_t done)
{
    if (done == 0)
        wb_puts(b, "<td class=\"num\">-</td>");
    else
        wb_printf(b, "<td class=\"num%s\">%.1f%%</td>", failed ? " bad" : "",
                  100.0 * (double)failed / (double)done);
}

static void table(wbuf *b, const web_snap *sn)
{
    size_t n;
    ep_line *lines = build_lines(sn, &n);
    if (!lines) {
        b->oom = true;
        return;
    }
    wb_puts(b,
            "<table id=\"overview-table\"><thead><tr><th>entrypoint</th><th>queued</th>"
            "<th>picked</th><th>failed (held)</th><th>oldest queued</th>"
            "<th>jobs/s (1h)</th><th>failure rate (1h)</th></tr></thead><tbody>\n");
    ep_line total = {.name = "all"};
    for (size_t i = 0; i <= n; i++) {
        ep_line *l = i < n ? &lines[i] : &total;
        char age[32];
        if (i == n)
            wb_puts(b, "<tr class=\"total\"><td>all</td>");
        else {
            wb_puts(b, "<tr><td>");
            wb_html(b, l->name);
            wb_puts(b, "</td>");
        }
        wb_printf(
            b,
            "<td class=\"num\">%lld</td><td class=\"num\">%lld</td>"
            "<td class=\"num%s\">%lld</td><td class=\"num\">%s</td>"
            "<td class=\"num\">%.2f</td>",
            (long long)l->by_status[PGQ_QUEUED], (long long)l->by_status[PGQ_PICKED],
            l->by_status[PGQ_FAILED] ? " bad" : "", (long long)l->by_status[PGQ_FAILED],
            l->oldest_queued > 0
                ? web_fmt_age(sn->taken - l->oldest_queued, age, sizeof age)
                : "-",
            (double)l->done_hour / 3600.0);
        rate_cell(b, l->failed_hour, l->done_hour);
        wb_puts(b, "</tr>\n");
        for (int k = 0; k < 7 && i < n; k++)
            total.by_status[k] += l->by_status[k];
        if (i < n && l->oldest_queued > 0 &&
            (total.oldest_queued == 0 || l->oldest_queued < total.oldest_queued))
            total.oldest_queued = l->oldest_queued;
        total.done_hour += i < n ? l->done_hour : 0;
        total.failed_hour += i < n ? l->failed_hour : 0;
    }
    wb_puts(b, "</tbody></table>\n");
    free(lines);
}

/* Jobs finished per second, per minute of the last hour, as stacked bars:
 * succeeded below, failed (exception or held) on top. Drawn with
 * presentation attributes only, which the CSP allows. */
static void chart(wbuf *b, const web_snap *sn)
{
    double ok[MINUTES] = {0}, bad[MINUTES] = {0}, peak = 0;
    for (size_t i = 0; i < sn->n_stats; i++) {
        const pgq_stat_row *st = &sn->stats[i];
        int m = (int)floor((sn->taken - st->created) / 60);
        if (m < 0 || m >= MINUTES || !finished(st->status))
            continue;
        if (st->status == PGQ_EXCEPTION || st->status == PGQ_FAILED)
            bad[MINUTES - 1 - m] += (double)st->count / 60;
        else
            ok[MINUTES - 1 - m] += (double)st->count / 60;
    }
    for (int m = 0; m < MINUTES; m++)
        peak = fmax(peak, ok[m] + bad[m]);
    double top = peak > 0 ? peak * 1.1 : 1;
    const int w = 720, h = 160, left = 50, bw = (w - left) / MINUTES;
    wb_printf(b,
              "<svg id=\"chart\" viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" "
              "role=\"img\" aria-label=\"jobs per second over the last hour\" "
              "xmlns=\"http://www.w3.org/2000/svg\">",
              w, h + 20, w, h + 20);
    wb_printf(b, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#999\"/>", left,
              h, w, h);
    wb_printf(b, "<text x=\"0\" y=\"12\" font-size=\"11\" fill=\"#555\">%.3g/s</text>",
              top);
    wb_printf(b, "<text x=\"0\" y=\"%d\" font-size=\"11\" fill=\"#555\">0</text>", h);
    wb_printf(b, "<text x=\"%d\" y=\"%d\" font-size=\"11\" fill=\"#555\">-60 min</text>",
              left, h + 15);
    wb_printf(b, "<text x=\"%d\" y=\"%d\" font-size=\"11\" fill=\"#555\">now</text>",
              w - 25, h + 15);
    for (int m = 0; m < MINUTES; m++) {
        double ho = ok[m] / top * h, hb = bad[m] / top * h;
        int x = left + m * bw;
        if (ho > 0)
            wb_printf(
                b,
                "<rect x=\"%d\" y=\"%.1f\" width=\"%d\" height=\"%.1f\" fill=\"#3a7\">"
                "<title>%.2f/s succeeded</title></rect>",
                x, h - ho, bw - 1, ho, ok[m]);
        if (hb > 0)
            wb_printf(
                b,
                "<rect x=\"%d\" y=\"%.1f\" width=\"%d\" height=\"%.1f\" fill=\"#c33\">"
                "<title>%.2f/s failed</title></rect>",
                x, h - ho - hb, bw - 1, hb, bad[m]);
    }
    wb_puts(b, "</svg>\n");
}

/* The part of the page that refreshes itself. */
static void live(wbuf *b, const web_snap *sn)
{
    char when[32];
    int64_t held = 0;
    for (size_t i = 0; i < sn->ov.count; i++)
        held += sn->ov.rows[i].status == PGQ_FAILED ? sn->ov.rows[i].count : 0;
    wb_printf(
        b,
        "<p class=\"cards\"><span class=\"card\">workers holding jobs: <b>%lld</b></span>"
        "<span class=\"card%s\">held failed jobs: <a "
        "href=\"/failed\"><b>%lld</b></a></span>"
        "<span class=\"card%s\">schema: <b>%s</b></span>"
        "<span class=\"muted\">as of %s UTC</span></p>\n",
        (long long)sn->ov.workers, held ? " bad" : "", (long long)held,
        sn->schema_problems ? " bad" : "",
        sn->schema_problems == 0  ? "ok"
        : sn->schema_problems < 0 ? "unknown"
                                  : "differs",
        web_fmt_time(sn->taken, when, sizeof when));
    table(b, sn);
    wb_puts(b, "<h2>Jobs finished per second, last hour</h2>\n");
    chart(b, sn);
}

void page_overview(web_server *s, const web_req *q, web_resp *r)
{
    char err[300];
    web_snapshots *ss = web_snapshots_of(s);
    web_snap *sn = web_snap_get(s, ss, err, sizeof err);
    (void)q;
    if (!sn) {
        web_error(r, s, 503, "%s", err);
        return;
    }
    web_page_begin(&r->body, s, "Overview", WEB_R_OVERVIEW);
    wb_puts(&r->body, "<div id=\"live\" data-src=\"/api/overview\">\n");
    live(&r->body, sn);
    wb_puts(&r->body, "</div>\n");
    web_page_end(&r->body);
    web_snap_release(ss, sn);
}

void page_overview_api(web_server *s, const web_req *q, web_resp *r)
{
    char err[300];
    web_snapshots *ss = web_snapshots_of(s);
    web_snap *sn = web_snap_get(s, ss, err, sizeof err);
    (void)q;
    r->content_type = "application/json";
    if (!sn) {
        r->status = 503;
        wb_puts(&r->body, "{\"error\": ");
        wb_json(&r->body, err);
        wb_puts(&r->body, "}\n");
        return;
    }
    wbuf html = {0};
    live(&html, sn);
    wb_printf(&r->body, "{\"taken\": %.3f, \"workers\": %lld, \"html\": ", sn->taken,
              (long long)sn->ov.workers);
    wb_json(&r->body, html.data ? html.data : "");
    wb_puts(&r->body, "}\n");
    r->body.oom |= html.oom;
    wb_free(&html);
    web_snap_release(ss, sn);
}
