/*
 * http_parse.h: the pure parsers of the web console: request paths, query
 * strings and form bodies (url-decoding, fields, id lists) and the Basic
 * credentials header. No I/O, no allocation beyond what is documented; every
 * one is fuzzed by tests/fuzz/fuzz_http.c.
 */
#ifndef PGQ_WEB_HTTP_PARSE_H
#define PGQ_WEB_HTTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The pages and endpoints; the path decides, the method is checked later. */
typedef enum web_route {
    WEB_R_NOT_FOUND = 0,
    WEB_R_BAD_ID,        /* a /job/... path whose id is malformed */
    WEB_R_OVERVIEW,      /* / */
    WEB_R_OVERVIEW_API,  /* /api/overview */
    WEB_R_FAILED,        /* /failed */
    WEB_R_FAILED_ACTION, /* /failed/action (POST) */
    WEB_R_JOB,           /* /job/ID */
    WEB_R_JOB_PAYLOAD,   /* /job/ID/payload (download) */
    WEB_R_JOB_REQUEUE,   /* /job/ID/requeue (POST, with an edited payload) */
    WEB_R_QUEUE,         /* /queue */
    WEB_R_WORKERS,       /* /workers */
    WEB_R_SCHEDULES,     /* /schedules */
    WEB_R_SYSTEM,        /* /system */
    WEB_R_METRICS,       /* /metrics */
    WEB_R_HEALTHZ,       /* /healthz */
    WEB_R_CSS,           /* /static/style.css */
    WEB_R_JS,            /* /static/app.js */
} web_route;

/* Maps a request path (without the query string) to a route; *id is set
 * for the /job/ID routes. */
web_route web_route_parse(const char *path, int64_t *id);

/* A positive decimal id within int64, nothing else. Returns 0 or -1. */
int web_parse_id(const char *s, size_t n, int64_t *id);

/* Decodes application/x-www-form-urlencoded text (%XX and '+' for space)
 * into out (cap bytes, NUL-terminated). Returns the decoded length (it may
 * contain NUL bytes), or -1 for a malformed escape or when out is too
 * small. */
long web_url_decode(const char *in, size_t n, char *out, size_t cap);

/* Finds the first field `key` in a form or query string ("a=1&b=2") and
 * decodes its value into out. Returns the length, -1 when absent, -2 when
 * the value is malformed or longer than cap - 1. */
long web_form_get(const char *form, size_t n, const char *key, char *out, size_t cap);

/* Collects every field `key` as a job id ("id=1&id=2", also "ids=1,2,3"
 * lists in one field) into ids (at most max, duplicates dropped, input
 * order). Returns 0, or -1 with err set for a malformed id or more than max. */
int web_form_ids(const char *form, size_t n, const char *key, int64_t *ids, size_t max,
                 size_t *count, char *err, size_t errlen);

/* Decodes "Basic base64(user:password)" into user and pass (NUL-terminated,
 * truncation refused). Returns 0 or -1. */
int web_basic_auth(const char *header, char *user, size_t ucap, char *pass, size_t pcap);

/* "ADDR:PORT", "[V6ADDR]:PORT", ":PORT" or "PORT" (127.0.0.1) with an IP
 * literal and a port from 0 to 65535. Returns 0 or -1. */
int web_parse_listen(const char *s, char *addr, size_t n, int *port);
/* True for 127.0.0.0/8 and ::1. */
bool web_is_loopback(const char *addr);

#endif
