/* worker_metrics.c: `pgq run --metrics ADDR:PORT`, a worker's own counters
 * (pgq_worker_stats_get) in the Prometheus text format at /metrics: jobs by
 * outcome, the handler duration and claim latency histograms, reconnects.
 * One internal thread of libmicrohttpd; GET and HEAD of /metrics only. */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "web.h"
#include "worker_metrics.h"

static void histogram(wbuf *b, const char *name, const char *help, const char *worker,
                      uint64_t count, double sum, const uint64_t *buckets)
{
    uint64_t cum = 0;
    wb_printf(b, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
    for (size_t i = 0; i < PGQ_STATS_BUCKETS; i++) {
        cum += buckets[i];
        double le = pgq_stats_bucket_bound(i);
        if (i == PGQ_STATS_BUCKETS - 1)
            wb_printf(b, "%s_bucket{worker=\"%s\",le=\"+Inf\"} %llu\n", name, worker,
                      (unsigned long long)cum);
        else
            wb_printf(b, "%s_bucket{worker=\"%s\",le=\"%g\"} %llu\n", name, worker, le,
                      (unsigned long long)cum);
    }
    wb_printf(b, "%s_sum{worker=\"%s\"} %.6f\n%s_count{worker=\"%s\"} %llu\n", name,
              worker, sum, name, worker, (unsigned long long)count);
}

/* The text of /metrics for w. */
static void render(wbuf *b, pgq_worker *w)
{
    static const struct {
        pgq_job_status status;
        const char *label;
    } outcomes[] = {{PGQ_SUCCESSFUL, "successful"},
                    {PGQ_EXCEPTION, "exception"},
                    {PGQ_FAILED, "failed"},
                    {PGQ_CANCELED, "canceled"},
                    {PGQ_QUEUED, "retried"}};
    pgq_worker_stats st;
    pgq_worker_stats_get(w, &st);
    const char *id = pgq_worker_id(w); /* uuid text: no escaping needed */
    wb_puts(b,
            "# HELP pgq_worker_jobs_total Handler runs of this worker by how they ended "
            "(failed: held for review; retried: sent back to the queue).\n"
            "# TYPE pgq_worker_jobs_total counter\n");
    for (size_t i = 0; i < sizeof outcomes / sizeof outcomes[0]; i++)
        wb_printf(b, "pgq_worker_jobs_total{worker=\"%s\",outcome=\"%s\"} %llu\n", id,
                  outcomes[i].label, (unsigned long long)st.outcomes[outcomes[i].status]);
    histogram(b, "pgq_worker_handler_duration_seconds", "How long handlers ran.", id,
              st.handler_count, st.handler_seconds, st.handler_buckets);
    histogram(b, "pgq_worker_claim_duration_seconds",
              "Round trip of the claim statement (claim latency).", id, st.claim_count,
              st.claim_seconds, st.claim_buckets);
    wb_printf(b,
              "# HELP pgq_worker_reconnects_total Times the worker got its database "
              "connection back.\n# TYPE pgq_worker_reconnects_total counter\n"
              "pgq_worker_reconnects_total{worker=\"%s\"} %llu\n",
              id, (unsigned long long)st.reconnects);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload, size_t *upload_size, void **con_cls)
{
    wbuf b = {0};
    unsigned status = 200;
    const char *type = "text/plain; version=0.0.4; charset=utf-8";
    (void)version;
    (void)upload;
    (void)con_cls;
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        status = 405;
        wb_puts(&b, "only GET /metrics\n");
    } else if (strcmp(url, "/metrics") != 0) {
        status = 404;
        wb_puts(&b, "not found: this worker serves /metrics only\n");
    } else {
        render(&b, cls);
    }
    *upload_size = 0;
    struct MHD_Response *r = MHD_create_response_from_buffer(
        b.len, b.data ? b.data : (char *)"",
        b.data ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!r) {
        free(b.data);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", status == 200 ? type : "text/plain");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    if (status == 405)
        MHD_add_response_header(r, "Allow", "GET, HEAD");
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

void *web_worker_metrics_start(const char *listen, pgq_worker *w, char *err,
                               size_t errlen)
{
    char addr[64];
    int port;
    struct sockaddr_in v4 = {0};
    struct sockaddr_in6 v6 = {0};
    struct sockaddr *sa = (struct sockaddr *)&v4;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD;
    if (web_parse_listen(listen, addr, sizeof addr, &port) != 0) {
        snprintf(err, errlen, "--metrics '%s' is not ADDR:PORT", listen);
        return NULL;
    }
    if (inet_pton(AF_INET, addr, &v4.sin_addr) == 1) {
        v4.sin_family = AF_INET;
        v4.sin_port = htons((uint16_t)port);
    } else {
        inet_pton(AF_INET6, addr, &v6.sin6_addr);
        v6.sin6_family = AF_INET6;
        v6.sin6_port = htons((uint16_t)port);
        sa = (struct sockaddr *)&v6;
        flags |= MHD_USE_IPv6;
    }
    struct MHD_Daemon *d = MHD_start_daemon(
        flags, (uint16_t)port, NULL, NULL, on_request, w, MHD_OPTION_SOCK_ADDR, sa,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)64, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)30, MHD_OPTION_END);
    if (!d) {
        snprintf(err, errlen, "cannot serve metrics on %s: %s", listen,
                 errno ? strerror(errno) : "libmicrohttpd refused to start");
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    fprintf(stderr, "pgq run: metrics at http://%s%s%s:%u/metrics\n",
            strchr(addr, ':') ? "[" : "", addr, strchr(addr, ':') ? "]" : "",
            info ? info->port : (unsigned)port);
    return d;
}

void web_worker_metrics_stop(void *server)
{
    if (server)
        MHD_stop_daemon(server);
}

int web_worker_metrics_check(const char *listen)
{
    char addr[64];
    int port;
    return web_parse_listen(listen, addr, sizeof addr, &port);
}
