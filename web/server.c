/* server.c: the console's HTTP daemon on libmicrohttpd. One thread pool;
 * each thread keeps its own database connection (a pgq_client is not
 * thread-safe). Every request passes the same gate, in order: size of the
 * query string (414), method (405), credentials when an auth file is given
 * (401), the route (404; 400 for a malformed id), the body size (413); a
 * POST then needs write access (403 with --read-only), a same-origin
 * Origin/Referer/Sec-Fetch-Site (403), a form body and the CSRF token
 * (403). Only then does a page run. Every response carries the security
 * headers (CSP without inline script, nosniff, frame-ancestors none). */
#include <arpa/inet.h>
#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "web.h"
#include "web_assets.h"

#define AUTH_CACHE 32

typedef struct auth_user {
    char *name, *hash;
} auth_user;

struct web_server {
    pgq_config cfg;
    web_opts o;
    char csrf[65];
    pthread_key_t client_key;
    auth_user *users;
    size_t n_users;
    pthread_mutex_t auth_mu;
    char *auth_ok[AUTH_CACHE]; /* Authorization values already verified */
    size_t n_auth_ok;
    web_snapshots *snaps;
};

/* Per connection: the raw URI (for the query string) and the form body. */
typedef struct conn_state {
    char *uri;
    wbuf body;
    bool started, too_big;
    web_route route;
    int64_t id;
} conn_state;

bool web_read_only(const web_server *s)
{
    return s->o.read_only;
}

const char *web_csrf(const web_server *s)
{
    return s->csrf;
}

web_snapshots *web_snapshots_of(web_server *s)
{
    return s->snaps;
}

/* ---- Database connections, one per thread ----------------------------------- */

static void client_free(void *p)
{
    pgq_client_free(p);
}

pgq_client *web_client(web_server *s, char *err, size_t errlen)
{
    pgq_client *c = pthread_getspecific(s->client_key);
    if (c && PQstatus(pgq_client_conn(c)) == CONNECTION_OK)
        return c;
    pgq_client_free(c);
    pthread_setspecific(s->client_key, NULL);
    c = NULL;
    int rc = pgq_client_open(&c, &s->cfg);
    if (rc != PGQ_OK) {
        snprintf(err, errlen, "cannot connect to the database: %s",
                 c ? pgq_client_errmsg(c) : pgq_strerror(rc));
        pgq_client_free(c);
        return NULL;
    }
    pthread_setspecific(s->client_key, c);
    return c;
}

/* ---- Credentials --------------------------------------------------------------- */

/* Constant-time comparison of two NUL-terminated strings. */
static bool same(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    unsigned char d = (unsigned char)(na != nb);
    for (size_t i = 0; i < na && i < nb; i++)
        d |= (unsigned char)(a[i] ^ b[i]);
    return d == 0;
}

static void users_free(auth_user *u, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(u[i].name);
        free(u[i].hash);
    }
    free(u);
}

/* Reads "user:hash" lines ('#' comments and blank lines skipped). A hash
 * must be one crypt(3) understands with a salt ($y$ yescrypt, $6$
 * sha512-crypt, ...): plain-text passwords are refused. */
static int auth_load(const char *path, auth_user **out, size_t *n, char *err,
                     size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "cannot read --auth-file '%s': %s", path, strerror(errno));
        return -1;
    }
    char line[1024];
    int lineno = 0, rc = 0;
    *out = NULL;
    *n = 0;
    while (rc == 0 && fgets(line, sizeof line, f)) {
        lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        if (!line[0] || line[0] == '#')
            continue;
        char *colon = strchr(line, ':');
        if (!colon || colon == line || colon[1] != '$' || strlen(colon + 1) < 13) {
            snprintf(err, errlen,
                     "--auth-file '%s' line %d: expected USER:HASH with a crypt(3) hash "
                     "such as $y$... (make one with 'pgq web --hash-password')",
                     path, lineno);
            rc = -1;
            break;
        }
        *colon = '\0';
        auth_user *u = realloc(*out, (*n + 1) * sizeof *u);
        if (!u) {
            rc = -1;
            snprintf(err, errlen, "out of memory");
            break;
        }
        *out = u;
        u[*n].name = strdup(line);
        u[*n].hash = strdup(colon + 1);
        (*n)++;
    }
    fclose(f);
    if (rc == 0 && *n == 0) {
        snprintf(err, errlen, "--auth-file '%s' holds no USER:HASH line", path);
        rc = -1;
    }
    if (rc != 0) {
        users_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return rc;
}

int web_auth_load_check(const char *path, char *err, size_t errlen)
{
    auth_user *u;
    size_t n;
    if (auth_load(path, &u, &n, err, errlen) != 0)
        return -1;
    users_free(u, n);
    return 0;
}

/* Hashing is slow on purpose (yescrypt), so a header value once verified
 * is remembered for the life of the process. */
static bool authorized(web_server *s, const char *header)
{
    if (!header || strlen(header) > 600)
        return false;
    bool ok = false;
    pthread_mutex_lock(&s->auth_mu);
    for (size_t i = 0; i < s->n_auth_ok; i++)
        ok |= same(s->auth_ok[i], header);
    pthread_mutex_unlock(&s->auth_mu);
    if (ok)
        return true;
    char user[256], pass[256];
    if (web_basic_auth(header, user, sizeof user, pass, sizeof pass) != 0)
        return false;
    for (size_t i = 0; i < s->n_users; i++) {
        if (strcmp(s->users[i].name, user) != 0)
            continue;
        struct crypt_data cd;
        memset(&cd, 0, sizeof cd);
        const char *h = crypt_r(pass, s->users[i].hash, &cd);
        ok = h && h[0] != '*' && same(h, s->users[i].hash);
    }
    memset(pass, 0, sizeof pass);
    if (ok) {
        pthread_mutex_lock(&s->auth_mu);
        if (s->n_auth_ok < AUTH_CACHE)
            s->auth_ok[s->n_auth_ok++] = strdup(header);
        pthread_mutex_unlock(&s->auth_mu);
    }
    return ok;
}

/* ---- Responses ---------------------------------------------------------------- */

static enum MHD_Result send_resp(struct MHD_Connection *conn, web_resp *r)
{
    if (r->body.oom) {
        wb_free(&r->body);
        r->status = 500;
        r->content_type = "text/plain; charset=utf-8";
        wb_puts(&r->body, "out of memory\n");
    }
    size_t len = r->body.len;
    char *data = r->body.data;
    r->body.data = NULL;
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        len, data ? data : (char *)"",
        data ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!resp) {
        free(data);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type",
                            r->content_type ? r->content_type
                                            : "text/html; charset=utf-8");
    MHD_add_response_header(
        resp, "Content-Security-Policy",
        "default-src 'none'; script-src 'self'; style-src 'self'; "
        "img-src 'self' data:; connect-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    MHD_add_response_header(resp, "Referrer-Policy", "same-origin");
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    if (r->disposition[0])
        MHD_add_response_header(resp, "Content-Disposition", r->disposition);
    if (r->status == 401)
        MHD_add_response_header(resp, "WWW-Authenticate",
                                "Basic realm=\"pgq\", charset=\"UTF-8\"");
    if (r->status == 405)
        MHD_add_response_header(resp, "Allow", "GET, HEAD, POST");
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned)r->status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result send_error(struct MHD_Connection *conn, web_server *s, int status,
                                  const char *fmt, ...) PGQ_PRINTF(4, 5);
static enum MHD_Result send_error(struct MHD_Connection *conn, web_server *s, int status,
                                  const char *fmt, ...)
{
    char msg[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    web_resp r = {0};
    web_error(&r, s, status, "%s", msg);
    return send_resp(conn, &r);
}

/* ---- The gate -------------------------------------------------------------------- */

static bool is_post_route(web_route r)
{
    return r == WEB_R_FAILED_ACTION || r == WEB_R_JOB_REQUEUE;
}

/* A POST must come from a page of this console: the browser's
 * Sec-Fetch-Site says so, or Origin (else Referer) names this host. A
 * client sending none of them (curl) still needs the CSRF token. */
static bool same_origin(struct MHD_Connection *conn)
{
    const char *site =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Sec-Fetch-Site");
    const char *origin = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Origin");
    const char *referer = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Referer");
    const char *host = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Host");
    char self[300];
    if (site && strcmp(site, "same-origin") != 0)
        return false;
    if (!origin && !referer)
        return true;
    if (!host || strlen(host) > 256)
        return false;
    snprintf(self, sizeof self, "http://%s", host);
    if (origin)
        return strcmp(origin, self) == 0;
    size_t n = strlen(self);
    return strncmp(referer, self, n) == 0 && (referer[n] == '/' || referer[n] == '\0');
}

typedef void (*page_fn)(web_server *, const web_req *, web_resp *);

static page_fn page_of(web_route r)
{
    switch (r) {
    case WEB_R_OVERVIEW:
        return page_overview;
    case WEB_R_OVERVIEW_API:
        return page_overview_api;
    case WEB_R_FAILED:
        return page_failed;
    case WEB_R_FAILED_ACTION:
        return page_failed_action;
    case WEB_R_JOB:
        return page_job;
    case WEB_R_JOB_PAYLOAD:
        return page_job_payload;
    case WEB_R_JOB_REQUEUE:
        return page_job_requeue;
    case WEB_R_QUEUE:
        return page_queue;
    case WEB_R_WORKERS:
        return page_workers;
    case WEB_R_SCHEDULES:
        return page_schedules;
    case WEB_R_SYSTEM:
        return page_system;
    case WEB_R_METRICS:
        return page_metrics;
    case WEB_R_HEALTHZ:
        return page_healthz;
    default:
        return NULL;
    }
}

static enum MHD_Result send_asset(struct MHD_Connection *conn, const char *text,
                                  const char *type)
{
    web_resp r = {.status = 200, .content_type = type};
    wb_puts(&r.body, text);
    return send_resp(conn, &r);
}

/* The first call for a request: everything decidable from the request
 * line and headers. Returns true when a response was queued (*ret set). */
static bool gate_headers(web_server *s, struct MHD_Connection *conn, conn_state *st,
                         const char *url, const char *method, enum MHD_Result *ret)
{
    const char *q = st->uri ? strchr(st->uri, '?') : NULL;
    bool post = strcmp(method, "POST") == 0;
    if (q && strlen(q + 1) > WEB_MAX_QUERY)
        return *ret = send_error(conn, s, 414, "the query string is longer than %d bytes",
                                 WEB_MAX_QUERY),
               true;
    if (!post && strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return *ret = send_error(conn, s, 405, "method %.20s is not allowed", method),
               true;
    if (s->n_users && !authorized(s, MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                                 "Authorization")))
        return *ret = send_error(conn, s, 401, "credentials required"), true;
    st->route = web_route_parse(url, &st->id);
    if (st->route == WEB_R_NOT_FOUND)
        return *ret = send_error(conn, s, 404, "no such page"), true;
    if (st->route == WEB_R_BAD_ID)
        return *ret = send_error(conn, s, 400,
                                 "malformed job id in the path: expected "
                                 "/job/ID with a positive integer ID"),
               true;
    if (post != is_post_route(st->route))
        return *ret = send_error(conn, s, 405, "%s is not allowed here", method), true;
    const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
    if (cl && strtoull(cl, NULL, 10) > WEB_MAX_BODY)
        return *ret = send_error(conn, s, 413, "the request body is larger than %d bytes",
                                 WEB_MAX_BODY),
               true;
    return false;
}

/* The checks a POST passes once its body is in. */
static bool gate_post(web_server *s, struct MHD_Connection *conn, conn_state *st,
                      enum MHD_Result *ret)
{
    if (s->o.read_only)
        return *ret = send_error(conn, s, 403, "this console is read-only"), true;
    if (!same_origin(conn))
        return *ret = send_error(conn, s, 403, "cross-origin request refused"), true;
    const char *ct = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
    if (!ct || strncmp(ct, "application/x-www-form-urlencoded", 33) != 0)
        return *ret = send_error(conn, s, 400,
                                 "expected a form "
                                 "(application/x-www-form-urlencoded)"),
               true;
    char token[80];
    long n = web_form_get(st->body.data ? st->body.data : "", st->body.len, "csrf", token,
                          sizeof token);
    if (n < 0 || !same(token, s->csrf))
        return *ret = send_error(conn, s, 403,
                                 "missing or wrong CSRF token: reload the page "
                                 "and try again"),
               true;
    return false;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_size,
                                  void **con_cls)
{
    web_server *s = cls;
    conn_state *st = *con_cls;
    enum MHD_Result ret = MHD_YES;
    if (!st)
        return MHD_NO; /* the URI callback failed to allocate */
    if (!st->started) {
        st->started = true;
        if (gate_headers(s, conn, st, url, method, &ret))
            return ret;
        return MHD_YES; /* wait for the body (or the final call) */
    }
    if (*upload_size) {
        if (st->body.len + *upload_size > WEB_MAX_BODY)
            st->too_big = true;
        else
            wb_put(&st->body, upload_data, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    if (st->too_big || st->body.oom)
        return send_error(conn, s, 413, "the request body is larger than %d bytes",
                          WEB_MAX_BODY);
    bool post = strcmp(method, "POST") == 0;
    if (post && gate_post(s, conn, st, &ret))
        return ret;
    if (st->route == WEB_R_CSS)
        return send_asset(conn, web_asset_style, "text/css; charset=utf-8");
    if (st->route == WEB_R_JS)
        return send_asset(conn, web_asset_app, "text/javascript; charset=utf-8");
    const char *q = st->uri ? strchr(st->uri, '?') : NULL;
    web_req req = {.route = st->route,
                   .id = st->id,
                   .post = post,
                   .query = q ? q + 1 : "",
                   .query_len = q ? strlen(q + 1) : 0,
                   .body = st->body.data ? st->body.data : "",
                   .body_len = st->body.len};
    web_resp r = {.status = 200, .content_type = "text/html; charset=utf-8"};
    page_of(st->route)(s, &req, &r);
    (void)version;
    return send_resp(conn, &r);
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    (void)cls;
    (void)conn;
    conn_state *st = calloc(1, sizeof *st);
    if (st)
        st->uri = strdup(uri ? uri : "/");
    return st;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    conn_state *st = *con_cls;
    if (!st)
        return;
    free(st->uri);
    wb_free(&st->body);
    free(st);
    *con_cls = NULL;
}

/* ---- Start and stop ----------------------------------------------------------- */

static int random_token(char *hex, size_t n)
{
    unsigned char raw[32];
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0 || read(fd, raw, sizeof raw) != (ssize_t)sizeof raw) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    for (size_t i = 0; i < sizeof raw && 2 * i + 2 < n; i++)
        snprintf(hex + 2 * i, 3, "%02x", raw[i]);
    return 0;
}

static struct MHD_Daemon *start_daemon(web_server *s, char *err, size_t errlen)
{
    struct sockaddr_in v4 = {0};
    struct sockaddr_in6 v6 = {0};
    struct sockaddr *sa;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL;
    if (inet_pton(AF_INET, s->o.addr, &v4.sin_addr) == 1) {
        v4.sin_family = AF_INET;
        v4.sin_port = htons((uint16_t)s->o.port);
        sa = (struct sockaddr *)&v4;
    } else if (inet_pton(AF_INET6, s->o.addr, &v6.sin6_addr) == 1) {
        v6.sin6_family = AF_INET6;
        v6.sin6_port = htons((uint16_t)s->o.port);
        sa = (struct sockaddr *)&v6;
        flags |= MHD_USE_IPv6;
    } else {
        snprintf(err, errlen, "'%s' is not an IP address", s->o.addr);
        return NULL;
    }
    struct MHD_Daemon *d = MHD_start_daemon(
        flags, (uint16_t)s->o.port, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR, sa,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)s->o.threads, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)512, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)64 * 1024,
        MHD_OPTION_URI_LOG_CALLBACK, on_uri, s, MHD_OPTION_NOTIFY_COMPLETED, on_completed,
        s, MHD_OPTION_END);
    if (!d)
        snprintf(err, errlen, "cannot listen on %s port %d: %s", s->o.addr, s->o.port,
                 errno ? strerror(errno) : "libmicrohttpd refused to start");
    return d;
}

static void server_free(web_server *s)
{
    users_free(s->users, s->n_users);
    for (size_t i = 0; i < s->n_auth_ok; i++)
        free(s->auth_ok[i]);
    web_snapshots_free(s->snaps);
    pthread_mutex_destroy(&s->auth_mu);
    pthread_key_delete(s->client_key);
    free(s);
}

int web_serve(const pgq_config *cfg, const web_opts *o, const volatile int *stop,
              char *err, size_t errlen)
{
    web_server *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    s->cfg = *cfg;
    s->o = *o;
    pthread_mutex_init(&s->auth_mu, NULL);
    pthread_key_create(&s->client_key, client_free);
    s->snaps = web_snapshots_new(o->cache_ttl);
    if (!s->snaps || random_token(s->csrf, sizeof s->csrf) != 0) {
        snprintf(err, errlen, "cannot set up the server (memory or /dev/urandom)");
        server_free(s);
        return -1;
    }
    if (o->auth_file &&
        auth_load(o->auth_file, &s->users, &s->n_users, err, errlen) != 0) {
        server_free(s);
        return -1;
    }
    struct MHD_Daemon *d = start_daemon(s, err, errlen);
    if (!d) {
        server_free(s);
        return -1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    fprintf(stderr, "pgq web: serving http://%s%s%s:%u/%s%s\n",
            strchr(o->addr, ':') ? "[" : "", o->addr, strchr(o->addr, ':') ? "]" : "",
            info ? info->port : (unsigned)o->port, o->read_only ? " (read-only)" : "",
            s->n_users ? " (password required)" : "");
    while (!*stop) {
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    MHD_stop_daemon(d);
    server_free(s);
    return 0;
}
