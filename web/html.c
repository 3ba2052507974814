/* html.c: the console's output buffer, HTML and JSON escaping, and the
 * frame every page shares. Everything that came from the database goes
 * through wb_html or wb_html_n: payloads, errors and entrypoint names are
 * attacker-controlled. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "web.h"

static bool grow(wbuf *b, size_t extra)
{
    if (b->oom)
        return false;
    if (b->len + extra + 1 <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *d = realloc(b->data, cap);
    if (!d) {
        b->oom = true;
        return false;
    }
    b->data = d;
    b->cap = cap;
    return true;
}

void wb_put(wbuf *b, const char *s, size_t n)
{
    if (!grow(b, n))
        return;
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void wb_puts(wbuf *b, const char *s)
{
    wb_put(b, s, strlen(s));
}

void wb_printf(wbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !grow(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* Length of the valid UTF-8 sequence at p (1-4), or 0 when invalid. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
    unsigned c = p[0];
    size_t len = c < 0x80             ? 1
                 : (c & 0xe0) == 0xc0 ? 2
                 : (c & 0xf0) == 0xe0 ? 3
                 : (c & 0xf8) == 0xf0 ? 4
                                      : 0;
    if (len == 0 || len > n || (len == 2 && c < 0xc2) || (len == 4 && c > 0xf4))
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    if (len == 3 && ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] >= 0xa0)))
        return 0; /* overlong, or a surrogate */
    if (len == 4 && ((c == 0xf0 && p[1] < 0x90) || (c == 0xf4 && p[1] >= 0x90)))
        return 0;
    return len;
}

void wb_html_n(wbuf *b, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        unsigned char c = p[i];
        size_t len = utf8_len(p + i, n - i);
        if (len == 0) {
            wb_puts(b, "\xef\xbf\xbd");
            i++;
            continue;
        }
        if (len > 1) {
            wb_put(b, s + i, len);
        } else if (c == '&') {
            wb_puts(b, "&amp;");
        } else if (c == '<') {
            wb_puts(b, "&lt;");
        } else if (c == '>') {
            wb_puts(b, "&gt;");
        } else if (c == '"') {
            wb_puts(b, "&quot;");
        } else if (c == '\'') {
            wb_puts(b, "&#39;");
        } else if ((c < 0x20 && c != '\n' && c != '\t' && c != '\r') || c == 0x7f) {
            wb_puts(b, ".");
        } else {
            wb_put(b, s + i, 1);
        }
        i += len;
    }
}

void wb_html(wbuf *b, const char *s)
{
    if (s)
        wb_html_n(b, s, strlen(s));
}

void wb_json(wbuf *b, const char *s)
{
    wb_puts(b, "\"");
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        if (*p == '"' || *p == '\\')
            wb_printf(b, "\\%c", *p);
        else if (*p < 0x20 || *p == '<' || *p == '>' || *p == '&')
            wb_printf(b, "\\u%04x", *p); /* also keeps markup out of the JSON */
        else
            wb_put(b, (const char *)p, 1);
    }
    wb_puts(b, "\"");
}

void wb_free(wbuf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

bool web_is_text(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n;) {
        size_t len = utf8_len(p + i, n - i);
        if (len == 0)
            return false;
        if (len == 1 && ((p[i] < 0x20 && p[i] != '\n' && p[i] != '\t' && p[i] != '\r') ||
                         p[i] == 0x7f))
            return false;
        i += len;
    }
    return true;
}

const char *web_fmt_age(double s, char *buf, size_t n)
{
    if (s < 0)
        s = 0;
    if (s < 120)
        snprintf(buf, n, "%.0fs", s);
    else if (s < 7200)
        snprintf(buf, n, "%.0fm", s / 60);
    else if (s < 172800)
        snprintf(buf, n, "%.0fh", s / 3600);
    else
        snprintf(buf, n, "%.0fd", s / 86400);
    return buf;
}

const char *web_fmt_time(double epoch, char *buf, size_t n)
{
    time_t t = (time_t)epoch;
    struct tm tm;
    if (epoch <= 0 || !gmtime_r(&t, &tm) || !strftime(buf, n, "%Y-%m-%d %H:%M:%S", &tm))
        snprintf(buf, n, "-");
    return buf;
}

static const struct {
    web_route route;
    const char *href, *label;
} nav[] = {
    {WEB_R_OVERVIEW, "/", "Overview"},
    {WEB_R_FAILED, "/failed", "Failed jobs"},
    {WEB_R_QUEUE, "/queue", "Queue"},
    {WEB_R_WORKERS, "/workers", "Workers"},
    {WEB_R_SCHEDULES, "/schedules", "Schedules"},
    {WEB_R_SYSTEM, "/system", "System"},
};

void web_page_begin(wbuf *b, const web_server *s, const char *title, web_route active)
{
    wb_puts(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
               "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
               "<title>");
    wb_html(b, title);
    wb_puts(b, " - pgq</title><link rel=\"stylesheet\" href=\"/static/style.css\">"
               "<script src=\"/static/app.js\" defer></script></head>\n<body><header>"
               "<span class=\"brand\">pgq</span><nav>");
    for (size_t i = 0; i < sizeof nav / sizeof nav[0]; i++)
        wb_printf(b, "<a href=\"%s\"%s>%s</a>", nav[i].href,
                  nav[i].route == active ? " class=\"active\"" : "", nav[i].label);
    wb_puts(b, "</nav>");
    if (web_read_only(s))
        wb_puts(b, "<span class=\"badge\">read-only</span>");
    wb_puts(b, "</header>\n<main>\n<h1>");
    wb_html(b, title);
    wb_puts(b, "</h1>\n");
}

void web_page_end(wbuf *b)
{
    wb_puts(b, "</main></body></html>\n");
}

void web_error(web_resp *r, const web_server *s, int status, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    wb_free(&r->body);
    r->status = status;
    r->content_type = "text/html; charset=utf-8";
    r->disposition[0] = '\0';
    char title[32];
    snprintf(title, sizeof title, "Error %d", status);
    web_page_begin(&r->body, s, title, WEB_R_NOT_FOUND);
    wb_puts(&r->body, "<p class=\"error\">");
    wb_html(&r->body, msg);
    wb_puts(&r->body, "</p>");
    web_page_end(&r->body);
}

void web_db_error(web_resp *r, const web_server *s, pgq_client *c, const char *what,
                  int rc)
{
    int status = rc == PGQ_ECONNECT ? 503 : rc == PGQ_ENOSCHEMA ? 503 : 500;
    web_error(r, s, status, "%s: %s", what, c ? pgq_client_errmsg(c) : pgq_strerror(rc));
}

void web_csrf_field(wbuf *b, const web_server *s)
{
    wb_printf(b, "<input type=\"hidden\" name=\"csrf\" value=\"%s\">", web_csrf(s));
}
