/* worker_metrics.h: `pgq run --metrics`, the one part of web/ that cmd_run.c
 * uses. */
#ifndef PGQ_WEB_WORKER_METRICS_H
#define PGQ_WEB_WORKER_METRICS_H

#include <stddef.h>

#include "pgq.h"

/* Serves w's counters at http://LISTEN/metrics on a thread of its own;
 * returns the server, or NULL with err set. */
void *web_worker_metrics_start(const char *listen, pgq_worker *w, char *err,
                               size_t errlen);
void web_worker_metrics_stop(void *server);
/* Checks LISTEN ("ADDR:PORT") without listening; 0 or -1. */
int web_worker_metrics_check(const char *listen);

#endif
