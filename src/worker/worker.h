/*
 * worker.h: private declarations shared by the worker's source files.
 *
 * Threads. The thread that calls pgq_worker_run (the loop) owns two
 * database connections (claims and the like; LISTEN) and every piece of
 * bookkeeping; it claims jobs, hands them to a pool of handler threads,
 * and passes their outcomes in batches to the recorder thread, which
 * records them on a third connection while the loop goes on claiming.
 * The pool and the loop meet only in the "core" below, under its mutex:
 * a FIFO of claimed jobs waiting for a thread (ready) and a FIFO of jobs
 * whose handler has returned (done). A thread that makes the done list
 * non-empty writes one byte to the worker's wake pipe, which the loop
 * polls together with the LISTEN socket, so the loop sleeps until there
 * is something to do.
 *
 * Lifetime. The core is reference counted (the worker plus one per
 * thread): a handler abandoned by an immediate stop may still be running
 * after pgq_worker_free, and its thread keeps the core alive until it
 * returns.
 */
#ifndef PGQ_WORKER_H
#define PGQ_WORKER_H

#include <pthread.h>
#include <stdatomic.h>

#include "../internal.h"

/* A registered entrypoint; read-only once the worker runs. */
typedef struct pgq__wep {
    char *name;
    pgq_handler handler;
    pgq_entrypoint_opts opts;
} pgq__wep;

/* Where a job is between claim and the recording of its outcome. */
typedef enum pgq__jstate {
    PGQ__J_READY = 0, /* claimed, waiting for a pool thread */
    PGQ__J_RUNNING,   /* its handler is running */
    PGQ__J_DONE,      /* the handler returned; outcome not yet recorded */
} pgq__jstate;

struct pgq__wcore;

/* One claimed job; it is also the handler's pgq_job_ctx. */
struct pgq_job_ctx {
    pgq_job job; /* owns its strings */
    const pgq__wep *ep;
    struct pgq__wcore *core;
    atomic_bool cancelled; /* a cancellation_event named it */
    pgq__jstate state;     /* under core->mu */
    bool abandoned;        /* under core->mu: left to its thread */
    bool skipped;          /* cancelled before it started: no outcome */
    bool interrupted;      /* failed after an immediate stop: hand back */
    bool lost;             /* under core->mu: no longer picked by us */
    /* Ownership (under core->mu): a pool thread starts the job only before
     * fresh_until (pgq__boottime), which the claim and every heartbeat that
     * found the row still ours push to the statement's start + fresh_for,
     * a fraction of the job's retry_timer: until then no other worker can
     * have taken it over. */
    double fresh_until, fresh_for;
    size_t held_index; /* loop only: position in the held array */
    /* What the handler reported. */
    char *err_type, *err_message, *err_detail;
    bool retry_asked;
    double retry_delay;
    /* The outcome decided when the handler returned (strings point above). */
    pgq_outcome outcome;
    pgq_job_ctx *next; /* ready/done list link */
};

/* One pool thread. */
typedef struct pgq__wthread {
    pthread_t tid;
    struct pgq__wcore *core;
    bool started;
    bool busy; /* under core->mu: running a handler */
} pgq__wthread;

/* The counters behind pgq_worker_stats_get (stats.c); atomics,
 * so any thread may add and read without the core's mutex. */
typedef struct pgq__whist {
    atomic_uint_fast64_t n, micros, buckets[PGQ_STATS_BUCKETS];
} pgq__whist;

typedef struct pgq__wstats {
    atomic_uint_fast64_t outcomes[7];
    pgq__whist handler, claim;
    atomic_uint_fast64_t reconnects;
} pgq__wstats;

/* Adds one observation of `seconds` to h. */
void pgq__whist_add(pgq__whist *h, double seconds);

typedef struct pgq__wcore {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int refs;      /* under mu */
    bool shutdown; /* under mu: threads exit when idle */
    pgq_job_ctx *ready_head, *ready_tail;
    pgq_job_ctx *done_head, *done_tail;
    pgq_job_ctx *orphans; /* abandoned jobs, freed with the core */
    pgq__wthread *threads;
    int n_threads;
    int wake_fd;           /* write end of the worker's wake pipe */
    bool verify_wanted;    /* under mu: a ready job's claim is too old to
                              start it without a heartbeat */
    atomic_bool immediate; /* every handler should return at once */

    /* Logging: the callback is called under log_mu, so it need not be
     * thread-safe; log_on is cleared by pgq_worker_free. */
    pthread_mutex_t log_mu;
    bool log_on;
    pgq_log_fn log;
    void *log_ud;
    pgq_log_level log_level;

    pgq__wep *eps;
    size_t n_eps;
    char id[40]; /* queue_manager_id, uuid text */
    pgq__wstats stats;
} pgq__wcore;

/* ---- log.c -------------------------------------------------------- */

void pgq__wlog(pgq__wcore *core, pgq_log_level level, int64_t job_id,
               const char *entrypoint, const char *fmt, ...) PGQ_PRINTF(5, 6);

/* ---- pool.c ------------------------------------------------------- */

pgq__wcore *pgq__core_new(void);
/* Drops one reference; the last one frees the core and its orphans. */
void pgq__core_unref(pgq__wcore *core);
/* Starts n threads; returns PGQ_OK or PGQ_EIO/PGQ_ENOMEM. */
/* Starts a worker thread with every process signal blocked. */
int pgq__wthread_start(pthread_t *tid, void *(*fn)(void *), void *arg);
int pgq__pool_start(pgq__wcore *core, int n);
/* Tells the threads to exit; joins the idle ones, detaches those still
 * running an abandoned handler. */
void pgq__pool_stop(pgq__wcore *core);
/* Queues claimed jobs for the threads (state READY). */
void pgq__pool_submit(pgq__wcore *core, pgq_job_ctx **jobs, size_t n);
/* Detaches and returns the jobs no thread has started (FIFO order). */
pgq_job_ctx *pgq__pool_take_ready(pgq__wcore *core);
/* Detaches and returns the jobs whose handler has returned. */
pgq_job_ctx *pgq__pool_take_done(pgq__wcore *core);
/* After a heartbeat sent at `at` (pgq__boottime): the jobs among held[]
 * it found still ours (owned, sorted; NULL: all) may start until at +
 * fresh_for; the READY ones it did not find are taken out of the ready
 * queue and returned (linked by next) for the loop to drop. Wakes the
 * threads waiting for the check. */
pgq_job_ctx *pgq__pool_verified(pgq__wcore *core, pgq_job_ctx **held, size_t n,
                                const int64_t *owned, size_t n_owned, double at);
/* Whether a pool thread asked for an ownership check. */
bool pgq__pool_verify_wanted(pgq__wcore *core);
/* Marks every RUNNING job among held[] abandoned (left to its thread,
 * freed with the core); returns how many. */
size_t pgq__pool_abandon(pgq__wcore *core, pgq_job_ctx **held, size_t n);
/* A new job context taking over the strings of *job (which is zeroed). */
pgq_job_ctx *pgq__ctx_new(pgq__wcore *core, const pgq__wep *ep, pgq_job *job);
void pgq__ctx_free(pgq_job_ctx *ctx);

/* ---- listen.c ------------------------------------------------------ */

/* What the notifications drained by one pgq__listen_drain call asked for. */
typedef struct pgq__wake {
    bool table_changed;  /* insert, update (retry, requeue, release) */
    bool rows_deleted;   /* delete or truncate: slots were freed */
    int64_t *cancel_ids; /* malloc'd; cancellation_event ids */
    size_t n_cancel;
} pgq__wake;

/* Opens the LISTEN connection; *out is set even on failure (errmsg). */
int pgq__listen_open(pgq_client **out, const pgq_config *cfg);
/* Reads what the socket holds and parses every pending notification into
 * *wake (accumulating). Returns PGQ_ECONNECT if the connection is gone. */
int pgq__listen_drain(pgq_client *c, pgq__wcore *core, pgq__wake *wake);
void pgq__wake_clear(pgq__wake *wake);
/* Parses one notification payload into *wake; returns false (and leaves
 * *wake unchanged) for malformed JSON or an unknown type. Pure. */
bool pgq__wake_parse(const char *payload, pgq__wake *wake, char *why, size_t whylen);

/* ---- db.c: the loop's statements ---------------------------------- */

/* When the loop should look again, from the database's point of view. */
typedef struct pgq__wnext {
    bool any_queued;        /* a queued job of ours exists */
    double due_in;          /* seconds until the earliest is due (<= 0:
                               due now) */
    bool any_stale_pending; /* another worker holds picked jobs */
    double stale_in;        /* seconds until the first may be taken over */
    bool any_picked;        /* any picked job of ours, by anyone */
} pgq__wnext;

/* Asks for the next deadline, excluding the jobs this worker holds. */
int pgq__wnext_query(pgq_client *c, const pgq__wep *eps, size_t n_eps,
                     double default_retry_timer, const int64_t *held, size_t n_held,
                     pgq__wnext *out);

/* Sets up one of the worker's sessions: the loop's (claims, heartbeats,
 * hand-backs) when claims is true, else the recorder's. */
int pgq__wsession(pgq_client *c, bool claims);
/* A side thread's copy of the worker's configuration, named apart in
 * pg_stat_activity as "<application name> <role>" (name holds the text). */
void pgq__wside_cfg(pgq_config *out, char *name, size_t len, const pgq_config *cfg,
                    const char *role);
/* Keeps a side thread's connection (*c) open: opens it when absent or
 * lost, with the worker's session settings and then `extra` (or none). */
int pgq__wside_connect(pgq_client **c, const pgq_config *cfg, const char *extra);

/* ---- record.c: outcomes recorded on a second connection ------------ */

typedef struct pgq__recorder pgq__recorder;

/* Starts the recorder thread (it connects when it first has work). */
int pgq__rec_start(pgq__recorder **out, const pgq_config *cfg, pgq__wcore *core);
/* Hands over one batch (outs is malloc'd; the recorder frees it); only
 * when the previous batch's result was taken. */
void pgq__rec_submit(pgq__recorder *r, pgq_outcome *outs, size_t n);
/* True once the batch is done, with its status, resolved count and error
 * message. */
bool pgq__rec_result(pgq__recorder *r, int *rc, size_t *resolved, char *err,
                     size_t errlen);
/* Finishes the batch in flight, then ends the thread and frees r. */
void pgq__rec_stop(pgq__recorder *r);

/* ---- fold.c: the log folded into statistics on a third connection ------ */

typedef struct pgq__folder pgq__folder;

/* Starts the folder thread (it connects when it first folds); *out stays
 * NULL when interval < 0 (never). */
int pgq__folder_start(pgq__folder **out, const pgq_config *cfg, pgq__wcore *core,
                      double interval);
/* The loop's count of outcomes so far: a fold is due only when it grew. */
void pgq__folder_note(pgq__folder *f, uint64_t logged);
/* Finishes the chunk in flight, then ends the thread and frees f. */
void pgq__folder_stop(pgq__folder *f);

/* ---- The worker (worker.c: API; loop.c: the loop) ---------------- */

typedef enum pgq__wphase {
    PGQ__W_RUN = 0,   /* claiming and running */
    PGQ__W_GRACEFUL,  /* stopped claiming; running jobs may finish */
    PGQ__W_IMMEDIATE, /* handlers cancelled; waiting briefly for them */
    PGQ__W_FINAL,     /* recording the last outcomes and hand-backs */
    PGQ__W_DONE,
} pgq__wphase;

typedef struct pgq__ids {
    int64_t *v;
    size_t n, cap;
} pgq__ids;

struct pgq_worker {
    pgq__wcore *core;
    pgq_config cfg; /* strings below are owned copies */
    char *dsn, *prefix, *schema, *appname;
    pgq_worker_opts opts; /* defaults filled in */
    int wake_r;           /* read end of the wake pipe */
    atomic_int stops;     /* pgq_worker_stop calls */
    bool ran;
    char errmsg[512];

    /* Everything below belongs to the loop thread. */
    pgq_client *db;  /* claims, completions, heartbeats */
    pgq_client *lsn; /* LISTEN */
    bool up;
    double down_since, reconnect_at, reconnect_delay;
    int reconnects;                  /* attempts in the current outage */
    double error_until, error_delay; /* back-off after other errors */
    pgq_claim_entrypoint *ceps;
    bool has_limits; /* some entrypoint has a concurrency limit
                        or a rate */
    double hb_interval, hb_at;
    pgq_job_ctx **held; /* every job claimed and not yet resolved */
    size_t n_held, cap_held;
    size_t n_active;      /* of those, READY or RUNNING */
    pgq_job_ctx *pending; /* DONE, outcome not yet recorded */
    size_t n_pending;
    double pending_since; /* when the oldest pending outcome came */
    pgq__recorder *rec;
    pgq_job_ctx *recording; /* the batch the recorder is recording */
    size_t n_recording;
    double rec_retry_at, rec_delay; /* back-off after a failed batch */
    pgq__ids release;               /* ids to hand back (stop) */
    bool want_claim;
    size_t claim_n;        /* the next claim's size on a deep queue (adapt.c) */
    unsigned claim_streak; /* full claims in a row with a thread free */
    double claim_at;       /* not before (rate/concurrency back-off) */
    double poll_at;        /* idle re-poll when no notification comes */
    double limited_delay;
    pgq__wphase phase;
    double deadline; /* of the current stop phase */
    int fatal;       /* error ending the run, or PGQ_OK */
    int stop_rc;     /* returned after a graceful stop the worker chose
                        itself (shutdown_on_listener_failure), or PGQ_OK */
    uint64_t n_ok, n_failed, n_retried;
    pgq__folder *folder;      /* statistics folds (fold.c), or NULL */
    struct pgq__sched *sched; /* cron schedules (src/scheduler/), or NULL */
};

/* Opens both connections (w->db, w->lsn); on failure w->errmsg says why. */
int pgq__wconnect(pgq_worker *w);
/* The loop of pgq_worker_run, after connecting and starting the pool. */
void pgq__wloop(pgq_worker *w);
/* Seconds on the monotonic clock. */
double pgq__mono(void);

/* Seconds an immediate stop waits for cancelled handlers before abandoning
 * them, and the final phase for outcomes and hand-backs to be recorded. */
#define ABANDON_WAIT 1.0
#define FINAL_WAIT 5.0
/* Bookkeeping the loop (loop.c) and the stop phases (stop.c)
 * share: an id appended to a list (-1 on oom), a held job dropped from
 * w->held, a job handed back to the queue (its id in w->release). */
int pgq__wids_add(pgq__ids *ids, int64_t id);
void pgq__wheld_remove(pgq_worker *w, pgq_job_ctx *ctx);
void pgq__wgive_back(pgq_worker *w, pgq_job_ctx *ctx);
/* adapt.c: how many jobs the next claim asks for (0: none now), and the
 * size's adaptation to what a claim of `asked` brought back while
 * active_before jobs were ready or running. */
size_t pgq__wclaim_size(const pgq_worker *w);
void pgq__wclaim_adapt(pgq_worker *w, size_t asked, size_t got, size_t active_before);
/* Moves the stop through its phases (stop.c); once per turn. */
void pgq__wadvance_stop(pgq_worker *w, double now);
/* Seconds on a clock that also runs while the machine is suspended
 * (CLOCK_BOOTTIME): what other workers' view of a heartbeat's age follows. */
double pgq__boottime(void);

#endif
