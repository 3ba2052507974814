/*
 * web.h: the web console of the pgq tool (`pgq web`), shared by its files.
 * It uses only the public library header; the HTTP server is libmicrohttpd,
 * linked into the pgq binary alone. Files: server.c (daemon, security,
 * dispatch), http_parse.c (pure parsers, fuzzed), html.c (output buffer,
 * escaping, page frame), snapshot.c (the cached counts behind the overview
 * and /metrics), page_*.c (one per page), metrics.c (/metrics, /healthz).
 */
#ifndef PGQ_WEB_H
#define PGQ_WEB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http_parse.h"
#include "pgq.h"

/* Limits of what a request may carry. */
#define WEB_MAX_QUERY 2048     /* bytes of query string; more: 414 */
#define WEB_MAX_BODY (1 << 20) /* bytes of form body; more: 413 */
#define WEB_MAX_IDS 1000       /* job ids in one action */

typedef struct web_opts {
    const char *addr; /* IPv4 or IPv6 literal */
    int port;
    const char *auth_file;
    bool read_only;
    double cache_ttl; /* seconds the overview counts are reused */
    int threads;      /* request threads, each with its own connection */
} web_opts;

/* ---- Output buffer and escaping (html.c) ----------------------------------- */

typedef struct wbuf {
    char *data;
    size_t len, cap;
    bool oom;
} wbuf;

void wb_put(wbuf *b, const char *s, size_t n);
void wb_puts(wbuf *b, const char *s);
void wb_printf(wbuf *b, const char *fmt, ...) PGQ_PRINTF(2, 3);
/* Appends s HTML-escaped (& < > " '); NULL appends nothing. */
void wb_html(wbuf *b, const char *s);
/* Appends n bytes HTML-escaped; bytes that are not valid UTF-8 become U+FFFD
 * and control characters other than tab and newline become '.'. */
void wb_html_n(wbuf *b, const char *s, size_t n);
/* Appends s as a JSON string with quotes. */
void wb_json(wbuf *b, const char *s);
void wb_free(wbuf *b);
/* True if the bytes are valid UTF-8 text without control characters other
 * than tab, CR and LF: shown as text, else as hex. */
bool web_is_text(const unsigned char *p, size_t n);
/* "12s", "5m", "3h", "2d" */
const char *web_fmt_age(double seconds, char *buf, size_t n);
/* "YYYY-MM-DD HH:MM:SS" UTC */
const char *web_fmt_time(double epoch, char *buf, size_t n);

/* ---- Requests and responses (server.c) -------------------------------------- */

typedef struct web_server web_server;

typedef struct web_req {
    web_route route;
    int64_t id; /* /job/ID routes */
    bool post;
    const char *query; /* raw query string, "" when none */
    size_t query_len;
    const char *body; /* raw form body of a POST, "" when none */
    size_t body_len;
} web_req;

typedef struct web_resp {
    int status;
    const char *content_type;
    wbuf body;
    char disposition[96]; /* Content-Disposition, "" for none */
} web_resp;

/* The calling thread's connection, opened on first use and again after it
 * broke; NULL (with the reason in err) when the database is unreachable. */
pgq_client *web_client(web_server *s, char *err, size_t errlen);
bool web_read_only(const web_server *s);
/* The CSRF token every form carries (hex). */
const char *web_csrf(const web_server *s);

/* Starts the page: doctype, head, navigation with `active` marked. */
void web_page_begin(wbuf *b, const web_server *s, const char *title, web_route active);
void web_page_end(wbuf *b);
/* A whole error page with status and one message. */
void web_error(web_resp *r, const web_server *s, int status, const char *fmt, ...)
    PGQ_PRINTF(4, 5);
/* An error page for a failed library call on c. */
void web_db_error(web_resp *r, const web_server *s, pgq_client *c, const char *what,
                  int rc);
/* The hidden CSRF input of a form. */
void web_csrf_field(wbuf *b, const web_server *s);

/* ---- Snapshot of counts (snapshot.c) ---------------------------------------- */

typedef struct web_snap {
    double taken; /* server clock, epoch seconds */
    pgq_overview ov;
    pgq_stat_row *stats; /* the last hour, per second buckets */
    size_t n_stats;
    pgq_count_row *log; /* log totals by entrypoint and status */
    size_t n_log;
    int schema_problems; /* from pgq_verify; -1 when it could not run */
    int refs;
} web_snap;

typedef struct web_snapshots web_snapshots;
web_snapshots *web_snapshots_new(double ttl);
void web_snapshots_free(web_snapshots *ss);
/* The current snapshot (refreshed first when older than the ttl), with a
 * reference the caller drops with web_snap_release; NULL with err set when
 * the first one cannot be taken. */
web_snap *web_snap_get(web_server *s, web_snapshots *ss, char *err, size_t errlen);
void web_snap_release(web_snapshots *ss, web_snap *snap);
web_snapshots *web_snapshots_of(web_server *s);

/* ---- Pages ---------------------------------------------------------------------- */

void page_overview(web_server *s, const web_req *q, web_resp *r);
void page_overview_api(web_server *s, const web_req *q, web_resp *r);
void page_failed(web_server *s, const web_req *q, web_resp *r);
void page_failed_action(web_server *s, const web_req *q, web_resp *r);
void page_job(web_server *s, const web_req *q, web_resp *r);
void page_job_payload(web_server *s, const web_req *q, web_resp *r);
void page_job_requeue(web_server *s, const web_req *q, web_resp *r);
void page_queue(web_server *s, const web_req *q, web_resp *r);
void page_workers(web_server *s, const web_req *q, web_resp *r);
void page_schedules(web_server *s, const web_req *q, web_resp *r);
void page_system(web_server *s, const web_req *q, web_resp *r);
void page_metrics(web_server *s, const web_req *q, web_resp *r);
void page_healthz(web_server *s, const web_req *q, web_resp *r);

/* ---- Entry point (server.c) ------------------------------------------------------ */

/* Serves until *stop becomes non-zero. Returns 0, or -1 with err set when
 * the server cannot start. */
int web_serve(const pgq_config *cfg, const web_opts *o, const volatile int *stop,
              char *err, size_t errlen);
/* Checks an auth file: every line "user:crypt-hash"; -1 with err set. */
int web_auth_load_check(const char *path, char *err, size_t errlen);

#endif
