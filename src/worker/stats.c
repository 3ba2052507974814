/* stats.c: a worker's counters (jobs by outcome, handler duration
 * and claim latency histograms, reconnects) for `pgq run --metrics` and
 * any application exporting metrics. The worker's threads add to them
 * with relaxed atomics; a snapshot reads each counter once, so two values
 * of one snapshot may be a moment apart but none is torn. */
#include <math.h>
#include <string.h>

#include "worker.h"

static const double bounds[PGQ_STATS_BUCKETS - 1] = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
};

double pgq_stats_bucket_bound(size_t i)
{
    if (i < PGQ_STATS_BUCKETS - 1)
        return bounds[i];
    return i == PGQ_STATS_BUCKETS - 1 ? INFINITY : NAN;
}

void pgq__whist_add(pgq__whist *h, double seconds)
{
    size_t b = 0;
    if (!(seconds >= 0))
        seconds = 0;
    while (b < PGQ_STATS_BUCKETS - 1 && seconds > bounds[b])
        b++;
    atomic_fetch_add_explicit(&h->buckets[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->micros, (uint_fast64_t)(seconds * 1e6 + 0.5),
                              memory_order_relaxed);
    atomic_fetch_add_explicit(&h->n, 1, memory_order_relaxed);
}

static uint64_t get(const atomic_uint_fast64_t *v)
{
    return (uint64_t)atomic_load_explicit(v, memory_order_relaxed);
}

static void hist_get(const pgq__whist *h, uint64_t *n, double *seconds, uint64_t *buckets)
{
    *n = get(&h->n);
    *seconds = (double)get(&h->micros) / 1e6;
    for (size_t i = 0; i < PGQ_STATS_BUCKETS; i++)
        buckets[i] = get(&h->buckets[i]);
}

void pgq_worker_stats_get(const pgq_worker *w, pgq_worker_stats *out)
{
    memset(out, 0, sizeof *out);
    if (!w)
        return;
    const pgq__wstats *s = &w->core->stats;
    for (size_t i = 0; i < 7; i++)
        out->outcomes[i] = get(&s->outcomes[i]);
    hist_get(&s->handler, &out->handler_count, &out->handler_seconds,
             out->handler_buckets);
    hist_get(&s->claim, &out->claim_count, &out->claim_seconds, out->claim_buckets);
    out->reconnects = get(&s->reconnects);
}
