/*
 * pgq.h: the public interface of libpgq, a PostgreSQL-backed job queue that is
 * database-compatible with PgQueuer 1.3.
 *
 * Conventions
 * - Every function that can fail returns an int status: PGQ_OK (0) or a
 *   negative PGQ_E* code. pgq_strerror() and pgq_err_name() describe a code.
 *   Details (server message, SQLSTATE) are kept on the pgq_client handle.
 * - Ownership: memory returned through an out-parameter belongs to the caller
 *   and is released with the matching *_free function named beside it. Every
 *   *_free accepts NULL. Pointers inside a pgq_job passed to a handler are
 *   valid only during the handler call.
 * - NULL handles: every operation given a NULL pgq_client (or pgq_bulk,
 *   pgq_worker, pgq_report, pgq_cron) returns PGQ_EINVAL and does nothing;
 *   accessors return "" (NULL or 0 for pointers and counts); every *_free,
 *   pgq_bulk_abort and pgq_worker_stop accept NULL and return void.
 * - The library never exits the process and never prints; a worker reports
 *   through the log callback the application sets.
 * - A pgq_client is one libpq connection and is not thread-safe; use one per
 *   thread. A pgq_worker manages its own connections and threads.
 */
#ifndef PGQ_H
#define PGQ_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The one definition of pgq's version: meson.build, the pkg-config file and
 * the shared library's soname read it from here. PGQ_VERSION_NUM compares as
 * an integer (major * 10000 + minor * 100 + patch). */
#define PGQ_VERSION_MAJOR 0
#define PGQ_VERSION_MINOR 1
#define PGQ_VERSION_PATCH 0
#define PGQ_VERSION "0.1.0"
#define PGQ_VERSION_NUM                                                                  \
    (PGQ_VERSION_MAJOR * 10000 + PGQ_VERSION_MINOR * 100 + PGQ_VERSION_PATCH)

/*
 * ABI: the shared library's soname is libpgq.so.<major>; only the functions
 * declared here are exported. Option structs (pgq_claim_opts,
 * pgq_entrypoint_opts, pgq_worker_opts, ...) give every field a meaning at
 * zero ("0: default"), and a minor release may append fields at their end:
 * always zero-initialise them ({0}) before setting fields, so a field added
 * later keeps its default. Handles (pgq_client, pgq_worker) are opaque and
 * only ever used by pointer.
 */

#if defined(__GNUC__)
#define PGQ_NODISCARD __attribute__((warn_unused_result))
#define PGQ_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define PGQ_NODISCARD
#define PGQ_PRINTF(a, b)
#endif

/* ---- Status codes ------------------------------------------------------ */

enum {
    PGQ_OK = 0,
    PGQ_ENOMEM = -1,     /* out of memory */
    PGQ_EINVAL = -2,     /* an argument does not validate; nothing changed */
    PGQ_ECONNECT = -3,   /* cannot connect, or the connection was lost */
    PGQ_ESQL = -4,       /* the server reported an error (see SQLSTATE) */
    PGQ_EDEDUPE = -5,    /* a dedupe key is already held by an active job */
    PGQ_ENOSCHEMA = -6,  /* the pgq/PgQueuer tables are not installed */
    PGQ_EEXISTS = -7,    /* already installed, or already registered */
    PGQ_EIO = -8,        /* a local I/O or system call failed */
    PGQ_ENOTFOUND = -9,  /* no such job or object */
    PGQ_ESTATE = -10,    /* the object is not in a state allowing this */
    PGQ_ESTOPPED = -11,  /* a worker was stopped */
    PGQ_ETIMEDOUT = -12, /* a wait ran out of time */
};

/* The library's own version string, e.g. "0.1.0": PGQ_VERSION of the build
 * that made the library, which may differ from the header a program was
 * compiled with. */
const char *pgq_version(void);

/* Static description of a status code, e.g. "out of memory". */
const char *pgq_strerror(int code);
/* Static symbolic name of a status code, e.g. "PGQ_ENOMEM". */
const char *pgq_err_name(int code);

/* ---- Job statuses (the pgqueuer_status enum, in its order) ---------------
 *
 *   enqueue ──> queued ──claim──> picked ──┬─ success ─> successful (deleted, logged)
 *                 ^  ^                     ├─ failure ─> exception  (deleted, logged)
 *     retry ──────┘  │                     ├─ cancel ──> canceled   (deleted, logged)
 *                    │                     └─ failure on a held entrypoint,
 *      requeue ──────┘                        or marked by hand ─> failed (kept)
 *   failed ──requeue──> queued;  clear ──> deleted (logged)
 */
typedef enum pgq_job_status {
    PGQ_QUEUED = 0,
    PGQ_PICKED,
    PGQ_SUCCESSFUL,
    PGQ_EXCEPTION,
    PGQ_CANCELED,
    PGQ_DELETED,
    PGQ_FAILED,
} pgq_job_status;

/* Static lower-case name as stored in the database, or NULL if out of range. */
const char *pgq_job_status_name(pgq_job_status s);
/* Parses a database name; PGQ_EINVAL if unknown. */
int pgq_job_status_parse(const char *name, pgq_job_status *out);

/* ---- Configuration ----------------------------------------------------- */

typedef struct pgq_config {
    const char *dsn;              /* libpq conninfo or URI; NULL: PG* variables */
    const char *prefix;           /* object-name prefix; NULL or "" for none */
    const char *schema;           /* schema qualifying tables/type/function */
    const char *application_name; /* NULL: "pgq" */
    int connect_timeout;          /* seconds; 0: libpq default */
    bool no_prepare;              /* send every statement unnamed (no
                                     PQprepare): for a pooler in transaction
                                     mode, e.g. PgBouncer; see docs */
} pgq_config;

/* Fills unset fields of cfg from PGDSN / PGQUEUER_DSN, PGQUEUER_PREFIX,
 * PGQUEUER_SCHEMA, PGQUEUER_APPLICATION_NAME and PGQUEUER_CONNECT_TIMEOUT,
 * and sets no_prepare when PGQ_PREPARE is "off". The strings point into
 * the environment. Unless the DSN or PGTARGETSESSIONATTRS says otherwise,
 * clients connect with target_session_attrs=read-write: with several
 * hosts, the first writable one. */
void pgq_config_from_env(pgq_config *cfg);

/* Checks prefix and schema without connecting. On failure returns PGQ_EINVAL
 * and writes one sentence naming the bad value into err. */
int pgq_config_validate(const pgq_config *cfg, char *err, size_t errlen);

/* Overwrites every password in a connection string or URI with '*', in
 * place (password=, sslpassword=, postgresql://user:PASSWORD@...), e.g. in
 * argv after copying it, since every local user can read a process's
 * command line. Messages of pgq_client_errmsg() never hold the password. */
void pgq_dsn_scrub(char *dsn);

/* ---- Client handle ----------------------------------------------------- */

typedef struct pgq_client pgq_client;
typedef struct pg_conn pgq_pgconn; /* libpq's PGconn */

/* Opens a connection. *out is set whenever memory allows, even on failure, so
 * that pgq_client_errmsg() can say why; free it with pgq_client_free(). */
PGQ_NODISCARD int pgq_client_open(pgq_client **out, const pgq_config *cfg);
void pgq_client_free(pgq_client *c);

/* Last error message on this handle ("" if none); valid until the next call. */
const char *pgq_client_errmsg(const pgq_client *c);
/* Last SQLSTATE ("" if none). */
const char *pgq_client_sqlstate(const pgq_client *c);
/* The underlying connection, e.g. to enqueue inside the application's own
 * transaction. Owned by the client. */
pgq_pgconn *pgq_client_conn(pgq_client *c);
/* The NOTIFY channel name for this configuration. Owned by the client. */
const char *pgq_client_channel(const pgq_client *c);

/* ---- Schema management (docs/design.md §3) -------------------------------- */

typedef enum pgq_durability {
    PGQ_DURABLE = 0, /* all tables logged */
    PGQ_BALANCED,    /* log and statistics unlogged */
    PGQ_VOLATILE,    /* every table unlogged */
} pgq_durability;

int pgq_durability_parse(const char *name, pgq_durability *out);

typedef enum pgq_sql_kind {
    PGQ_SQL_INSTALL = 0,
    PGQ_SQL_UNINSTALL,
    PGQ_SQL_UPGRADE,
    PGQ_SQL_DURABILITY,
    PGQ_SQL_AUTOVAC,
    PGQ_SQL_AUTOVAC_ROLLBACK,
} pgq_sql_kind;

typedef struct pgq_sql_opts {
    pgq_durability durability; /* install and durability */
    bool no_create_schema;     /* install: do not CREATE SCHEMA IF NOT EXISTS */
    bool no_widen_id;          /* upgrade: leave int4 ids as they are */
} pgq_sql_opts;

/* Renders the SQL script for kind without connecting: semicolon-terminated
 * statements separated by blank lines. *out is malloc'd; free() it. On
 * PGQ_EINVAL, err says why. */
PGQ_NODISCARD int pgq_sql_render(const pgq_config *cfg, pgq_sql_kind kind,
                                 const pgq_sql_opts *opts, char **out, char *err,
                                 size_t errlen);

PGQ_NODISCARD int pgq_install(pgq_client *c, const pgq_sql_opts *opts);
PGQ_NODISCARD int pgq_uninstall(pgq_client *c);
/* Statement by statement in autocommit; safe to run repeatedly. */
PGQ_NODISCARD int pgq_upgrade(pgq_client *c);
/* Called with each statement an upgrade applied (or, planning, would apply). */
typedef void (*pgq_upgrade_fn)(void *ud, const char *statement);
/* pgq_upgrade with options (durability of tables it creates, widening), under
 * an advisory lock so two upgrades never interleave. *applied counts the
 * statements that changed something. With plan_only the statements run in a
 * transaction that is rolled back: fn sees what an upgrade would apply. */
PGQ_NODISCARD int pgq_upgrade_run(pgq_client *c, const pgq_sql_opts *opts, bool plan_only,
                                  pgq_upgrade_fn fn, void *ud, int *applied);
PGQ_NODISCARD int pgq_set_durability(pgq_client *c, pgq_durability d);
PGQ_NODISCARD int pgq_autovac(pgq_client *c, bool rollback);

/* Called once per divergence found by pgq_verify. */
typedef void (*pgq_verify_fn)(void *ud, const char *problem);
/* Compares the database with the contract. *problems is the number of
 * divergences reported (0: as expected). */
PGQ_NODISCARD int pgq_verify(pgq_client *c, bool expect_present, pgq_verify_fn fn,
                             void *ud, int *problems);
/* Which PgQueuer release's shape the database has. */
typedef struct pgq_schema_shape {
    char name[16]; /* "1.3", "1.4-1.6" or "2.x"; "" when nothing is installed */
    bool newest;   /* every object as pgq install creates it (PgQueuer 2.3) */
} pgq_schema_shape;
/* pgq_verify, judging divergences against the nearest known shape. */
PGQ_NODISCARD int pgq_verify_shape(pgq_client *c, bool expect_present, pgq_verify_fn fn,
                                   void *ud, int *problems, pgq_schema_shape *shape);

/* ---- Jobs --------------------------------------------------------------- */

typedef struct pgq_job {
    int64_t id;
    int32_t priority;
    int32_t attempts;
    pgq_job_status status;
    const char *entrypoint;
    const unsigned char *payload; /* NULL when the column is SQL NULL */
    size_t payload_len;
    const char *headers;          /* JSON text, or NULL */
    const char *dedupe_key;       /* or NULL */
    const char *queue_manager_id; /* uuid text, or NULL */
    double created;               /* seconds since the Unix epoch */
    double updated;
    double heartbeat;
    double execute_after;
} pgq_job;

/* A set of jobs returned by the library; owns every string inside. */
typedef struct pgq_job_set {
    size_t count;
    pgq_job *jobs;
} pgq_job_set;

void pgq_job_set_free(pgq_job_set *set);

/* ---- Enqueue ------------------------------------------------------------ */

typedef struct pgq_new_job {
    const char *entrypoint; /* required, non-empty */
    const void *payload;    /* NULL: SQL NULL payload */
    size_t payload_len;
    int32_t priority;       /* higher runs first */
    double delay;           /* seconds before the job becomes eligible */
    const char *dedupe_key; /* NULL: none */
    const char *headers;    /* JSON object text, or NULL */
} pgq_new_job;

typedef enum pgq_on_conflict {
    PGQ_CONFLICT_RAISE = 0,       /* the whole batch fails with PGQ_EDEDUPE */
    PGQ_CONFLICT_SKIP,            /* conflicting positions get id 0 */
    PGQ_CONFLICT_UPDATE_PRIORITY, /* PgQueuer's update_priority: the active
                                     job holding the key gets the greater of
                                     the two priorities, and its id is
                                     returned for the position (nothing is
                                     inserted or logged for it) */
} pgq_on_conflict;

/* Enqueues n jobs in one statement, writing `queued` log rows. ids (n
 * entries, caller-provided, may be NULL) receives the new ids in input order.
 * On PGQ_EDEDUPE nothing was inserted and the handle's message names the key. */
PGQ_NODISCARD int pgq_enqueue(pgq_client *c, const pgq_new_job *jobs, size_t n,
                              pgq_on_conflict on_conflict, int64_t *ids);

/* Streaming bulk enqueue for very large inputs: rows are sent in chunks and
 * never all held in memory. No dedupe keys. */
typedef struct pgq_bulk pgq_bulk;
PGQ_NODISCARD int pgq_bulk_begin(pgq_client *c, pgq_bulk **out);
PGQ_NODISCARD int pgq_bulk_add(pgq_bulk *b, const pgq_new_job *job);
/* Flushes and commits; *count is the number of jobs enqueued. Frees b. */
PGQ_NODISCARD int pgq_bulk_finish(pgq_bulk *b, uint64_t *count);
/* Rolls back everything added and frees b. */
void pgq_bulk_abort(pgq_bulk *b);

/* ---- Claim, complete, retry, heartbeat ---------------------------------- */

typedef struct pgq_claim_entrypoint {
    const char *entrypoint;
    double retry_timer;         /* seconds; <= 0: the claim's default */
    int32_t concurrency_limit;  /* 0: unlimited; global across workers */
    double requests_per_second; /* 0: unlimited; fleet-wide */
} pgq_claim_entrypoint;

typedef struct pgq_claim_opts {
    const char *queue_manager_id; /* uuid text of the claiming worker */
    int batch_size;               /* at most this many jobs */
    double default_retry_timer;   /* seconds; 0: 30 */
    int max_takeovers;            /* a stale job already picked this many
                                     times since it was last queued is held
                                     as failed instead of re-picked; 0: 3 */
} pgq_claim_opts;

/* Claims up to batch_size due jobs (and stale picked ones) for the given
 * entrypoints in one statement. *out is allocated even when empty. A
 * session that claims in a loop should run "SET enable_seqscan = off", as
 * pgq_worker's sessions do: PostgreSQL may cache a plan made while the
 * queue was nearly empty, which scans the whole table once it fills. */
PGQ_NODISCARD int pgq_claim(pgq_client *c, const pgq_claim_entrypoint *eps, size_t n_eps,
                            const pgq_claim_opts *opts, pgq_job_set *out);

typedef struct pgq_outcome {
    int64_t job_id;
    pgq_job_status status;  /* SUCCESSFUL, EXCEPTION, CANCELED, FAILED, or
                               QUEUED for a retry */
    double retry_delay;     /* QUEUED: seconds until eligible again */
    const char *error_type; /* failures and retries; may be NULL */
    const char *error_message;
    const char *error_detail; /* stored as the record's "traceback" */
} pgq_outcome;

/* Resolves n outcomes in one statement, only for rows still `picked` by
 * queue_manager_id; *resolved (may be NULL) counts those resolved. */
PGQ_NODISCARD int pgq_complete(pgq_client *c, const char *queue_manager_id,
                               const pgq_outcome *outcomes, size_t n, size_t *resolved);

/* Puts a picked job back to queued after delay seconds, attempts + 1. */
PGQ_NODISCARD int pgq_retry(pgq_client *c, const char *queue_manager_id, int64_t job_id,
                            double delay, const char *reason);

/* Touches the heartbeat of jobs picked by queue_manager_id. */
PGQ_NODISCARD int pgq_heartbeat(pgq_client *c, const char *queue_manager_id,
                                const int64_t *ids, size_t n);

/* Hands picked jobs back to queued without counting an attempt (shutdown). */
PGQ_NODISCARD int pgq_release(pgq_client *c, const char *queue_manager_id,
                              const int64_t *ids, size_t n);

/* ---- Operator operations ------------------------------------------------ */

/* Per-id result of an operation on a list of ids. */
typedef enum pgq_id_result {
    PGQ_ID_DONE = 0,
    PGQ_ID_NOT_FOUND,    /* no such job in the queue table */
    PGQ_ID_WRONG_STATUS, /* e.g. requeue of a job that is not failed */
    PGQ_ID_DEDUPE_TAKEN, /* its dedupe key is held by another active job */
} pgq_id_result;

typedef struct pgq_id_outcome {
    int64_t id;
    pgq_id_result result;
    pgq_job_status status; /* the job's status when not DONE and found */
} pgq_id_outcome;

/* Outcomes are in ascending id order, one per distinct input id. */
void pgq_id_outcomes_free(pgq_id_outcome *o);

/* Deletes the jobs (any status), logs `canceled`, sends cancellation_event. */
PGQ_NODISCARD int pgq_cancel(pgq_client *c, const int64_t *ids, size_t n,
                             pgq_id_outcome **out, size_t *n_out);

/* Deletes queued/failed jobs of the given entrypoints (n == 0: every job),
 * logging `deleted`. *deleted may be NULL. */
PGQ_NODISCARD int pgq_clear(pgq_client *c, const char *const *entrypoints, size_t n,
                            uint64_t *deleted);

typedef struct pgq_count_row {
    char *entrypoint;
    int32_t priority;
    pgq_job_status status;
    int64_t count;
} pgq_count_row;
void pgq_count_rows_free(pgq_count_row *rows, size_t n);

/* Counts of the queue table by entrypoint, priority and status. */
PGQ_NODISCARD int pgq_queue_size(pgq_client *c, pgq_count_row **rows, size_t *n);

typedef struct pgq_stat_row {
    double created; /* bucket start, epoch seconds */
    char *entrypoint;
    int32_t priority;
    pgq_job_status status;
    int64_t count;
} pgq_stat_row;
void pgq_stat_rows_free(pgq_stat_row *rows, size_t n);

/* Rolls unaggregated log rows into pgqueuer_statistics, then returns the
 * buckets newer than `since` seconds ago (0: all), newest first. */
PGQ_NODISCARD int pgq_log_statistics(pgq_client *c, double since, pgq_stat_row **rows,
                                     size_t *n);

/* Latest log status per id (PGQ_ID_NOT_FOUND when no log row exists). */
PGQ_NODISCARD int pgq_job_statuses(pgq_client *c, const int64_t *ids, size_t n,
                                   pgq_id_outcome **out, size_t *n_out);

/* Deletes log rows and statistics older than `older_than` seconds. */
PGQ_NODISCARD int pgq_prune(pgq_client *c, double older_than, uint64_t *log_rows,
                            uint64_t *stat_rows);

/* The queue row of one job: out->count is 1, or 0 when the job is not in the
 * queue table (finished, cancelled, or never existed). */
PGQ_NODISCARD int pgq_job_get(pgq_client *c, int64_t id, pgq_job_set *out);

/* One row of a job's log history. */
typedef struct pgq_log_entry {
    int64_t id;     /* the log row's own id */
    double created; /* epoch seconds */
    pgq_job_status status;
    int32_t priority;
    char *entrypoint;
    char *traceback; /* JSON text of the error record, or NULL */
} pgq_log_entry;
void pgq_log_entries_free(pgq_log_entry *rows, size_t n);

/* Every log row of one job, oldest first (*n is 0 for an unknown id). */
PGQ_NODISCARD int pgq_job_log(pgq_client *c, int64_t job_id, pgq_log_entry **rows,
                              size_t *n);

/* ---- Failed jobs (the seed, docs/design.md §6) ------------------------------ */

/* queued or picked jobs become failed with queue_manager_id NULL and a
 * `failed` log row whose record says reason (NULL: "marked failed by hand").
 * One statement. */
PGQ_NODISCARD int pgq_mark_jobs_as_failed(pgq_client *c, const int64_t *ids, size_t n,
                                          const char *reason, pgq_id_outcome **out,
                                          size_t *n_out);

typedef struct pgq_requeue_opts {
    const void *payload; /* non-NULL: replaces the payload (one id only) */
    size_t payload_len;
    const char *entrypoint; /* with n == 0: every failed job of it */
    bool all;               /* with n == 0 and no entrypoint: every failed job */
} pgq_requeue_opts;

/* Only failed rows move back to queued (execute_after now, attempts 0), with
 * a `queued` log row and a wake-up notification. One statement. Outcomes
 * list every id named (or every id re-queued when selecting by entrypoint or
 * all); the DONE ones are exactly the ids re-queued. */
PGQ_NODISCARD int pgq_requeue_failed_jobs(pgq_client *c, const int64_t *ids, size_t n,
                                          const pgq_requeue_opts *opts,
                                          pgq_id_outcome **out, size_t *n_out);

typedef struct pgq_failed_job {
    pgq_job job;
    double failed_at;          /* time of the latest `failed` log row */
    const char *error_type;    /* from its traceback record, or NULL */
    const char *error_message; /* or NULL */
} pgq_failed_job;

typedef struct pgq_failed_set {
    size_t count;
    pgq_failed_job *jobs;
} pgq_failed_set;
void pgq_failed_set_free(pgq_failed_set *set);

typedef struct pgq_list_failed_opts {
    int limit;              /* 0: no limit */
    const char *entrypoint; /* NULL: all */
    bool newest_first;      /* default: oldest failure first */
    bool sizes_only;        /* job.payload NULL, job.payload_len its size:
                               a listing that reads no payload */
} pgq_list_failed_opts;

PGQ_NODISCARD int pgq_list_failed_jobs(pgq_client *c, const pgq_list_failed_opts *opts,
                                       pgq_failed_set *out);

/* ---- Console and metrics reads ----------------------------------------- */

/* One page of held jobs, newest id first: those of `entrypoint` (NULL: all)
 * with an id below before_id (0: from the newest), at most limit (1 to
 * 10000). The fields of pgq_list_failed_jobs with sizes_only: payload is
 * NULL and payload_len its length. It walks the primary key, so a page
 * costs the rows passed over, not the size of the queue. */
PGQ_NODISCARD int pgq_list_failed_page(pgq_client *c, const char *entrypoint,
                                       int64_t before_id, int limit, pgq_failed_set *out);

typedef struct pgq_overview_row {
    char *entrypoint;
    pgq_job_status status;
    int64_t count;
    double oldest_created; /* epoch seconds of the group's oldest row */
} pgq_overview_row;

typedef struct pgq_overview {
    pgq_overview_row *rows; /* by entrypoint, then status */
    size_t count;
    int64_t workers; /* distinct queue managers holding picked jobs */
    double now;      /* the server's clock, epoch seconds */
} pgq_overview;
void pgq_overview_free(pgq_overview *o);

/* Counts of the queue table by entrypoint and status with each group's
 * oldest row, in one pass over the table. */
PGQ_NODISCARD int pgq_queue_overview(pgq_client *c, pgq_overview *out);

/* Log rows by entrypoint and status since the log began or was pruned
 * (priority is 0 in every row), from the statistics roll-up plus the rows
 * not yet rolled up: cheap on a log of millions. */
PGQ_NODISCARD int pgq_log_totals(pgq_client *c, pgq_count_row **rows, size_t *n);

/* ---- Waiting for jobs to finish ------------------------------------------ */

/* Called once per id when it is settled (see pgq_jobs_wait). */
typedef void (*pgq_wait_fn)(void *ud, const pgq_id_outcome *o);

typedef struct pgq_wait_opts {
    double timeout;       /* seconds; <= 0: no limit */
    double poll_interval; /* seconds between looks without a notification
                             (a job held as failed sends none); 0: 1 */
    bool no_listen;       /* poll only */
    pgq_wait_fn on_final; /* may be NULL */
    void *ud;
    const volatile sig_atomic_t *stop; /* non-zero: return PGQ_ESTOPPED */
} pgq_wait_opts;

/* Waits until every job is settled: its latest log status is successful,
 * exception, canceled, deleted, or failed (held for an operator: settled but
 * not succeeded); result PGQ_ID_DONE with that status. An id without any log
 * row is settled as PGQ_ID_NOT_FOUND. Wakes on the queue's notifications
 * (LISTEN on c, undone before returning) and polls as a fallback; each look
 * is one indexed statement for all unsettled ids. On PGQ_ETIMEDOUT or
 * PGQ_ESTOPPED the outcomes are still filled in: the unsettled ids have
 * result PGQ_ID_WRONG_STATUS and their current status. Outcomes are in
 * ascending id order, one per distinct id; free with pgq_id_outcomes_free. */
PGQ_NODISCARD int pgq_jobs_wait(pgq_client *c, const int64_t *ids, size_t n,
                                const pgq_wait_opts *opts, pgq_id_outcome **out,
                                size_t *n_out);
/* ---- Reports (read-only views for operators) -----------------------------
 *
 * One generic result for every operator view, so that the CLI (`pgq stale`,
 * `pgq jobs`, ...) and the web console show the same rows: a table of named
 * columns whose cells are text (NULL for SQL NULL), each column typed so a
 * printer knows what is a number, a time or embedded JSON. Kinds and their
 * columns (PgQueuer's field names where PgQueuer has the view):
 *
 *   stale      picked jobs whose heartbeat is older than threshold_s:
 *              id, priority, queue_manager_id, created, updated, heartbeat,
 *              execute_after, status, entrypoint, seconds_since_heartbeat
 *   workers    queue_manager_id, active_jobs, oldest_heartbeat,
 *              newest_heartbeat, entrypoints (a JSON array)
 *   backlog    entrypoint, queued_count, oldest_created, oldest_age_seconds,
 *              avg_age_seconds
 *   size       count, entrypoint, priority, status (the queue table)
 *   throughput bucket_start, bucket_seconds, entrypoint, status, count,
 *              per_second (log rows of the last window_s, newest bucket first)
 *   log        id, created, job_id, status, priority, entrypoint, traceback
 *              (JSON), aggregated (the log table, newest first)
 *   jobs       id, priority, queue_manager_id, created, updated, heartbeat,
 *              execute_after, status, entrypoint, dedupe_key, attempts,
 *              payload_bytes, headers (JSON) (the queue table, newest first)
 *   tables     table_name, persistence, estimated_rows, total_bytes,
 *              table_bytes, index_bytes, total_size
 *   schedules  id, expression, entrypoint, heartbeat, created, updated,
 *              next_run, last_run, status
 *
 * Every report is one statement that reads through an index or the catalog
 * (docs/reports.md gives the cost of each on a 1,000,000-row queue and log).
 */
typedef struct pgq_report pgq_report;

typedef enum pgq_report_type {
    PGQ_REPORT_TEXT = 0, /* plain text (may hold any character) */
    PGQ_REPORT_INT,      /* a decimal integer */
    PGQ_REPORT_NUMBER,   /* a decimal number, e.g. seconds or a rate */
    PGQ_REPORT_TIME,     /* ISO-8601 UTC, "2026-12-07T06:44:51.123456Z" */
    PGQ_REPORT_JSON,     /* JSON text (an array or object) */
    PGQ_REPORT_BOOL,     /* "true" or "false" */
} pgq_report_type;

/* What to report; each kind reads only the fields it uses. Start from
 * pgq_report_params_init() (or pass NULL for every default). */
typedef struct pgq_report_params {
    int limit;              /* most rows, 0..1000000; 0: the kind's default
                               (jobs and log 25, the others every row) */
    double threshold_s;     /* stale: heartbeat older than this (default 300) */
    int64_t after_id;       /* jobs, log: the page just above this id (newer) */
    int64_t before_id;      /* jobs, log: the page below this id (older);
                               0: none for either */
    const char *entrypoint; /* every kind but tables; NULL: all */
    const char *status;     /* jobs, log, size, throughput: a job status
                               name such as "failed"; NULL: all */
    int64_t job_id;         /* log: only this job's rows; 0: all */
    double window_s;        /* throughput: seconds back (0: 3600); log: only
                               rows this recent (0: no bound) */
    double bucket_s;        /* throughput: bucket width in seconds (0: 60) */
} pgq_report_params;

/* Sets the defaults: limit 0, threshold_s 300, everything else 0/NULL. */
void pgq_report_params_init(pgq_report_params *p);

/* The kinds this build knows, by index; NULL past the last one. Static. */
const char *pgq_report_kind(size_t i);

/* Runs one report. *out is set only on PGQ_OK; free it with
 * pgq_report_free(). PGQ_EINVAL (an unknown kind or a parameter out of
 * range, nothing sent to the server) leaves a message naming the field on
 * the handle. Column names and types are there even when there is no row. */
PGQ_NODISCARD int pgq_report_fetch(pgq_client *c, const char *kind,
                                   const pgq_report_params *p, pgq_report **out);
void pgq_report_free(pgq_report *r);

size_t pgq_report_rows(const pgq_report *r);
size_t pgq_report_cols(const pgq_report *r);
/* Column name (static to the report); NULL when col is out of range. */
const char *pgq_report_colname(const pgq_report *r, size_t col);
pgq_report_type pgq_report_coltype(const pgq_report *r, size_t col);
/* True for PGQ_REPORT_INT and PGQ_REPORT_NUMBER columns. */
int pgq_report_is_numeric(const pgq_report *r, size_t col);
/* A cell's text, owned by the report; NULL for SQL NULL or out of range. */
const char *pgq_report_value(const pgq_report *r, size_t row, size_t col);

/* The report as a JSON array of objects, one per row, keys in column order:
 * numbers as JSON numbers, JSON columns embedded, booleans as true/false,
 * NULL as null, text escaped; "[]" when there is no row. *out is malloc'd;
 * free() it. */
PGQ_NODISCARD int pgq_report_json(const pgq_report *r, char **out);

/* ---- Worker (docs/design.md §5) -------------------------------------------- */

typedef struct pgq_worker pgq_worker;
typedef struct pgq_job_ctx pgq_job_ctx;

/* A handler returns 0 for success; non-zero is a failure, described by
 * pgq_job_ctx_error(). Called on a pool thread. */
typedef int (*pgq_handler)(const pgq_job *job, pgq_job_ctx *ctx);

/* Describes the failure; type like "ValueError", message one line, detail
 * free text (stderr tail, stack, ...). Strings are copied. */
void pgq_job_ctx_error(pgq_job_ctx *ctx, const char *type, const char *message,
                       const char *detail);
/* Asks for a database retry after delay seconds instead of a failure. */
void pgq_job_ctx_retry(pgq_job_ctx *ctx, double delay);
/* True once the job was cancelled (cancellation_event) or the worker is
 * stopping immediately; long handlers should poll it and return. */
bool pgq_job_ctx_cancelled(const pgq_job_ctx *ctx);
/* The userdata given at registration. */
void *pgq_job_ctx_userdata(const pgq_job_ctx *ctx);

/* Ranges of the worker's options, checked by pgq_worker_new,
 * pgq_worker_register and pgq_worker_run (which also sees changes made
 * through pgq_worker_entrypoint_opts). A heartbeat_timeout or retry_timer
 * below PGQ_HEARTBEAT_MIN cannot be honoured: the worker heartbeats every
 * half of it, and one round trip, a busy server or a descheduled process
 * takes longer than a few milliseconds, so healthy workers would take each
 * other's jobs over. Durations stay below PGQ_SECONDS_MAX (about 31 years)
 * and rates within PGQ_RATE_MIN..PGQ_RATE_MAX so that the timestamps the
 * claim computes from now() stay within PostgreSQL's range. */
#define PGQ_HEARTBEAT_MIN 1.0
#define PGQ_SECONDS_MAX 1e9
#define PGQ_RATE_MIN 1e-9 /* jobs per second: one per PGQ_SECONDS_MAX */
#define PGQ_RATE_MAX 1e9
/* Handler-requested retries (pgq_job_ctx_retry) of an entrypoint without
 * max_attempts stop after this many runs in all. */
#define PGQ_DEFAULT_RETRY_RUNS 10

typedef struct pgq_entrypoint_opts {
    bool mark_as_failed;        /* hold final failures as `failed` */
    double retry_timer;         /* seconds; 0: the worker's heartbeat timeout;
                                   else PGQ_HEARTBEAT_MIN..PGQ_SECONDS_MAX */
    int32_t concurrency_limit;  /* 0: unlimited */
    double requests_per_second; /* 0: unlimited; else PGQ_RATE_MIN..MAX */
    int max_attempts;           /* total runs incl. the first, handler-requested
                                   retries included; 0: failures are not
                                   retried, handler-requested retries stop
                                   after PGQ_DEFAULT_RETRY_RUNS runs; 1: no
                                   retry at all */
    double backoff_initial;     /* seconds; 0: 1; at most the backoff_max */
    double backoff_max;         /* seconds; 0: 300 */
    double backoff_multiplier;  /* 0: 2; else at least 1 */
    void *userdata;
} pgq_entrypoint_opts;

typedef enum pgq_log_level {
    PGQ_LOG_DEBUG = 0,
    PGQ_LOG_INFO,
    PGQ_LOG_WARN,
    PGQ_LOG_ERROR,
} pgq_log_level;

/* One log event. job_id is 0 and entrypoint NULL when not about a job. */
typedef void (*pgq_log_fn)(void *ud, pgq_log_level level, int64_t job_id,
                           const char *entrypoint, const char *message);

typedef enum pgq_worker_mode {
    PGQ_MODE_CONTINUOUS = 0,
    PGQ_MODE_DRAIN, /* exit once nothing is queued or running */
} pgq_worker_mode;

#define PGQ_UNLIMITED (-1) /* pgq_worker_opts.max_concurrent_tasks: no cap */

typedef struct pgq_worker_opts {
    int batch_size;           /* 0: 10; a claim's size on a shallow queue
                                 (on a deep one claims grow up to half of
                                 max_concurrent_tasks: docs/worker.md) */
    int max_concurrent_tasks; /* hard cap on the jobs the worker holds
                                 (picked by it: running, prefetched, or
                                 waiting for their outcome to be recorded);
                                 at least 2 x batch_size; 0: max(100,
                                 2 x batch_size); PGQ_UNLIMITED: no cap */
    int threads;              /* handler threads (jobs running at once); 0:
                                 4 x batch_size, at most 32; never more
                                 than max_concurrent_tasks */
    double dequeue_timeout;   /* seconds between idle polls; 0: 30 */
    double heartbeat_timeout; /* seconds; 0: 30; else at least
                                 PGQ_HEARTBEAT_MIN */
    double shutdown_grace;    /* seconds; 0: 30 */
    int max_takeovers;        /* poison-job limit; 0: 3 */
    pgq_worker_mode mode;
    pgq_log_fn log; /* NULL: silent */
    void *log_ud;
    pgq_log_level log_level;
    bool shutdown_on_listener_failure; /* PgQueuer's option: when the LISTEN
                                          connection fails, stop gracefully
                                          and return PGQ_ECONNECT instead of
                                          reconnecting */
    /* Every claim at most batch_size, as before adaptive claims. */
    bool fixed_batch;
    /* PgQueuer's log_aggregation_interval: seconds between folds of the log
     * into the statistics table, on a connection of their own; 0: 30;
     * < 0: never. */
    double log_aggregation_interval;
} pgq_worker_opts;

PGQ_NODISCARD int pgq_worker_new(pgq_worker **out, const pgq_config *cfg,
                                 const pgq_worker_opts *opts);
/* PGQ_EEXISTS when the entrypoint is already registered, PGQ_EINVAL for a
 * bad name or option; pgq_worker_errmsg() then names the entrypoint. */
PGQ_NODISCARD int pgq_worker_register(pgq_worker *w, const char *entrypoint,
                                      pgq_handler handler,
                                      const pgq_entrypoint_opts *opts);
/* The options an entrypoint was registered with, for adjusting before
 * pgq_worker_run (e.g. command-line overrides of a plug-in's choices);
 * NULL if no such entrypoint or the worker already ran. Owned by the
 * worker. */
pgq_entrypoint_opts *pgq_worker_entrypoint_opts(pgq_worker *w, const char *entrypoint);
/* Runs until stopped (or drained). Returns PGQ_OK after a clean stop. */
PGQ_NODISCARD int pgq_worker_run(pgq_worker *w);
/* Async-signal-safe. First call: graceful stop; immediate (or a second
 * call): abandon running handlers and hand their jobs back. */
void pgq_worker_stop(pgq_worker *w, bool immediate);
/* The worker's queue_manager_id (uuid text); owned by the worker. */
const char *pgq_worker_id(const pgq_worker *w);
/* Last error message of the worker, e.g. after pgq_worker_run failed. */
const char *pgq_worker_errmsg(const pgq_worker *w);
void pgq_worker_free(pgq_worker *w);

/* ---- Cron expressions and schedules (docs/scheduler.md) ------------------
 *
 * Expressions have croniter's meaning (PgQueuer's scheduler computes the
 * same rows' next_run with croniter): 5 fields (minute hour day-of-month
 * month day-of-week) or 6 with seconds last; lists, ranges, steps, month
 * and weekday names, L (last day of month), NAME#N and lN (Nth / last
 * weekday), the @yearly ... @hourly aliases. Times are UTC. */
typedef struct pgq_cron pgq_cron;

/* Parses expression; on PGQ_EINVAL err (one line) names the bad field.
 * Free *out with pgq_cron_free(). */
PGQ_NODISCARD int pgq_cron_parse(const char *expression, pgq_cron **out, char *err,
                                 size_t errlen);
/* The normalised text PgQueuer stores (lower case, alias expanded, fields
 * joined by one space). Owned by c. */
const char *pgq_cron_text(const pgq_cron *c);
/* The first fire time strictly after `after` (Unix seconds); PGQ_ENOTFOUND
 * when none comes within 50 years (e.g. "0 0 31 2 *"). */
PGQ_NODISCARD int pgq_cron_next(const pgq_cron *c, int64_t after, int64_t *next);
void pgq_cron_free(pgq_cron *c);

typedef enum pgq_schedule_mode {
    PGQ_SCHEDULE_RUN = 0, /* call the entrypoint's handler in the worker */
    PGQ_SCHEDULE_ENQUEUE, /* enqueue a job for the entrypoint instead */
} pgq_schedule_mode;

typedef struct pgq_schedule_opts {
    pgq_schedule_mode mode;
    int32_t priority; /* of the enqueued jobs */
} pgq_schedule_opts;

/* Runs entrypoint at every fire of expression, once per fire across every
 * worker (and PgQueuer scheduler) registered for the same pair. The
 * handler gets a job with id 0 and a JSON payload {"schedule_id",
 * "expression", "entrypoint", "fire_time", "takeover"}; an enqueued job
 * gets the same payload. Before pgq_worker_run only. PGQ_EINVAL for a bad
 * or never-firing expression, PGQ_ENOTFOUND when mode is RUN and no
 * handler is registered for entrypoint, PGQ_EEXISTS for a pair given
 * twice; err (one line) says which. */
PGQ_NODISCARD int pgq_worker_schedule(pgq_worker *w, const char *entrypoint,
                                      const char *expression,
                                      const pgq_schedule_opts *opts, char *err,
                                      size_t errlen);

/* One row of pgqueuer_schedules; times in epoch seconds, last_run 0 when
 * it never ran. */
typedef struct pgq_schedule_row {
    int64_t id;
    char *expression;
    char *entrypoint;
    pgq_job_status status; /* queued, or picked while running */
    double heartbeat, created, updated, next_run, last_run;
} pgq_schedule_row;
void pgq_schedule_rows_free(pgq_schedule_row *rows, size_t n);

/* Every schedule, soonest next run first. */
PGQ_NODISCARD int pgq_schedule_list(pgq_client *c, pgq_schedule_row **rows, size_t *n);
/* Deletes the schedules with these ids or entrypoints; *removed may be
 * NULL. Workers still running them stop claiming them (no row). */
PGQ_NODISCARD int pgq_schedule_remove(pgq_client *c, const int64_t *ids, size_t n_ids,
                                      const char *const *entrypoints, size_t n_eps,
                                      uint64_t *removed);

/* Counters of a running worker, for metrics. Histogram buckets are not
 * cumulative: bucket i counts observations above bound i-1 and at most
 * bound i (pgq_stats_bucket_bound); the last bucket has no upper bound. */
#define PGQ_STATS_BUCKETS 14
typedef struct pgq_worker_stats {
    uint64_t outcomes[7];   /* runs by how they ended, indexed by status:
                               SUCCESSFUL, EXCEPTION, FAILED (held),
                               CANCELED (while running), QUEUED (retried) */
    uint64_t handler_count; /* handler runs timed */
    double handler_seconds; /* their total duration */
    uint64_t handler_buckets[PGQ_STATS_BUCKETS];
    uint64_t claim_count; /* claim statements that succeeded */
    double claim_seconds; /* their total round-trip time */
    uint64_t claim_buckets[PGQ_STATS_BUCKETS];
    uint64_t reconnects; /* times the worker got its connection back */
} pgq_worker_stats;

/* The upper bound in seconds of histogram bucket i (INFINITY for the last,
 * NaN past it). */
double pgq_stats_bucket_bound(size_t i);
/* A snapshot of w's counters since pgq_worker_new; callable from any
 * thread while the worker runs (each counter is read atomically). */
void pgq_worker_stats_get(const pgq_worker *w, pgq_worker_stats *out);

/* A plug-in loaded by `pgq run PLUGIN.so` exports this symbol. */
#define PGQ_PLUGIN_SETUP_SYMBOL "pgq_plugin_setup"
typedef int (*pgq_plugin_setup_fn)(pgq_worker *w, int argc, char **argv);

#ifdef __cplusplus
}
#endif
#endif /* PGQ_H */
