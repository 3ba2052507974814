/*
 * internal.h: the private interface shared by libpgq's source files.
 * Names here are pgq__ (cross-file internal); nothing here is installed.
 */
#ifndef PGQ_INTERNAL_H
#define PGQ_INTERNAL_H

#include <libpq-fe.h>
#include <stdarg.h>

#include "pgq.h"
#include "sql_files.h"

/* ---- Growable string buffer ---------------------------------------------
 * Appends never fail loudly: on allocation failure `oom` is set and further
 * appends are ignored, so callers check once at the end. */
typedef struct pgq__buf {
    char *data;
    size_t len;
    size_t cap;
    bool oom;
} pgq__buf;

void pgq__buf_append(pgq__buf *b, const char *s, size_t n);
void pgq__buf_puts(pgq__buf *b, const char *s);
void pgq__buf_putc(pgq__buf *b, char ch);
void pgq__buf_printf(pgq__buf *b, const char *fmt, ...) PGQ_PRINTF(2, 3);
/* Appends s as a PostgreSQL array element: double-quoted, escaped. NULL
 * appends the unquoted NULL keyword. */
void pgq__buf_array_elem(pgq__buf *b, const char *s);
/* Appends bytes as a hex bytea literal inside an array element ("\\x..."). */
void pgq__buf_array_bytea(pgq__buf *b, const void *p, size_t n);
/* Appends s as a JSON string literal with quotes. */
void pgq__buf_json_str(pgq__buf *b, const char *s);
void pgq__buf_reset(pgq__buf *b);
void pgq__buf_free(pgq__buf *b);
/* NUL-terminated contents ("" when empty); NULL if oom. */
const char *pgq__buf_cstr(pgq__buf *b);

/* Builds "{1,2,3}" for an int8[] parameter. */
void pgq__buf_int8_array(pgq__buf *b, const int64_t *v, size_t n);

/* ---- Object names ------------------------------------------------------- */

/* Validated prefix and schema. Templates reference objects through these:
 *   {Q:pgqueuer}   schema-qualified, quoted, prefixed identifier
 *   {N:pgqueuer_x} unqualified quoted prefixed identifier (indexes, trigger)
 *   {L:pgqueuer}   string literal of the unqualified prefixed name
 *   {LQ:pgqueuer}  string literal of the qualified name (quoted identifiers)
 *   {CHANNEL}      string literal of the NOTIFY channel
 *   {SCHEMA}       quoted schema identifier (only used when a schema is set)
 *   {SCHEMA_L}     string literal of the schema, or current_schema()
 */
typedef struct pgq__names {
    char prefix[64];
    char schema[64];  /* "" for none */
    char channel[80]; /* prefix + "ch_pgqueuer" */
} pgq__names;

int pgq__names_init(pgq__names *n, const pgq_config *cfg, char *err, size_t errlen);
/* Expands a template; malloc'd result, NULL on oom. */
char *pgq__render(const pgq__names *n, const char *tmpl);
/* True if s matches ^[A-Za-z_][A-Za-z0-9_]*$ and is shorter than 50. */
bool pgq__ident_ok(const char *s);

/* ---- Script splitting ----------------------------------------------------
 * SQL files hold statements separated by one blank line; no statement holds
 * a blank line inside. Returns the next statement (malloc'd, trimmed) from
 * *pos, advancing it, or NULL at the end. */
char *pgq__next_statement(const char **pos);

/* ---- Client ------------------------------------------------------------- */

/* The pgq__stmt enum (PGQ__<NAME>, one per prepared statement) and
 * pgq__stmt_sql[] are generated into sql_files.h from the statement list in
 * src/meson.build. */

struct pgq_client {
    PGconn *conn;
    pgq__names names;
    char *errmsg; /* "" when none */
    char sqlstate[6];
    bool prepared[PGQ__STMT_COUNT];
    bool no_prepare;            /* send statements unnamed (poolers) */
    char *sql[PGQ__STMT_COUNT]; /* rendered statements, NULL until used */
    int shape;                  /* PGQ__SHAPE_* bits, 0 until read (shape.c) */
};

/* Folds the log into the statistics under PgQueuer's advisory lock
 * (stats_fold.sql); *folded may be NULL. */
int pgq__stats_fold(pgq_client *c, int limit, long long *folded);

/* ---- Schema shape (shape.c) ------------------------------------------------ */

enum { PGQ__SHAPE_KNOWN = 1, PGQ__SHAPE_SLOT = 2, PGQ__SHAPE_CANCEL = 4 };
/* The queue table's shape bits, read on first use per connection. */
int pgq__shape(pgq_client *c);
/* Whether a template has shape-marked lines. */
bool pgq__shape_marked(const char *tmpl);
/* The template's lines for shape (see shape.c); malloc'd, NULL on oom. */
char *pgq__shape_filter(const char *tmpl, int shape);

/* Forgets what belonged to a lost connection: prepared statements, the
 * schema shape and the SQL rendered for it. */
void pgq__forget_session(pgq_client *c);

/* Records an error on the handle and returns code. */
int pgq__fail(pgq_client *c, int code, const char *fmt, ...) PGQ_PRINTF(3, 4);
/* text with the passwords of dsn (and any password=... or user:pass@ in
 * text itself) replaced by "***"; malloc'd, NULL when out of memory
 * (secret.c). */
char *pgq__mask(const char *text, const char *dsn);
void pgq__clear_error(pgq_client *c);

/* Turns a failed or NULL result into a status code with the message and
 * SQLSTATE kept on the handle; PGQ_OK for a successful result. Does not
 * clear r. Maps missing tables to PGQ_ENOSCHEMA and unique violations of
 * the dedupe index to PGQ_EDEDUPE. */
int pgq__check(pgq_client *c, const PGresult *r);

/* Runs a prepared runtime statement, preparing it on first use. Parameters
 * are text unless formats says otherwise; results in text. On error returns
 * NULL with *rc set; on success *rc is PGQ_OK and the caller clears r. */
PGresult *pgq__exec(pgq_client *c, pgq__stmt s, int nparams, const char *const *values,
                    const int *lengths, const int *formats, int *rc);

/* Makes s ready for pgq__send, e.g. in pipeline mode where pgq__exec
 * cannot be used: prepares it on this connection unless already done (or,
 * with prepared statements off, only renders it). */
int pgq__prepare(pgq_client *c, pgq__stmt s);
/* Queues s as PQsendQueryPrepared, or PQsendQueryParams with its SQL when
 * prepared statements are off; returns libpq's 1 (queued) or 0. Only after
 * pgq__prepare(c, s) succeeded. */
int pgq__send(pgq_client *c, pgq__stmt s, int nparams, const char *const *values,
              const int *lengths, const int *formats);

/* Runs a rendered template script statement by statement (autocommit). */
int pgq__exec_script(pgq_client *c, const char *tmpl);
/* Runs one plain SQL command without parameters. */
int pgq__exec_command(pgq_client *c, const char *sql);

/* What a heartbeat learnt besides touching the rows. owned: NULL when all
 * of the ids are still picked by the worker (the usual case), else a
 * malloc'd array of those that are (n_owned of them, maybe 0). cancel: a
 * malloc'd array of the ids whose cancel was requested in their row
 * (PgQueuer 2.3's cancel_requested), NULL when none. */
typedef struct pgq__beat {
    int64_t *owned;
    size_t n_owned;
    int64_t *cancel;
    size_t n_cancel;
} pgq__beat;

/* pgq_heartbeat that fills *beat (which may be NULL); free its arrays. */
int pgq__heartbeat_ex(pgq_client *c, const char *queue_manager_id, const int64_t *ids,
                      size_t n, pgq__beat *beat);

/* ---- Result conversion --------------------------------------------------- */

/* Converts rows shaped as list_failed.sql's into a failed set (failed.c). */
int pgq__failed_from_result(const PGresult *r, bool sizes_only, pgq_failed_set *out);

/* Converts rows of a job-shaped result (columns named as in the queue table;
 * timestamps as epoch seconds) into a job set. */
int pgq__jobs_from_result(const PGresult *r, pgq_job_set *out);
/* Decodes a text bytea value (hex "\x..." or the escape format) into a
 * malloc'd buffer. */
int pgq__bytea_decode(const char *text, unsigned char **out, size_t *len);
/* Parses a "{...}" int8 array text into ids; *out malloc'd. */
int pgq__parse_int8_array(const char *text, int64_t **out, size_t *n);

/* ---- Job batches (enqueue.c) ---------------------------------------------
 * The columns of new jobs as one-dimensional arrays in PostgreSQL's binary
 * send format, passed as format-1 parameters in this order: entrypoint
 * text[], payload bytea[], priority int4[], delay float8[], dedupe_key
 * text[], headers jsonb[]. Used by pgq_enqueue and the bulk path. */
#define PGQ__BATCH_COLS 6
typedef struct pgq__batch {
    pgq__buf cols[PGQ__BATCH_COLS];
    bool has_null[PGQ__BATCH_COLS];
    int32_t n;
} pgq__batch;

/* True if text is valid job headers: a JSON object or null (headers.c). */
bool pgq__headers_ok(const char *text);

/* Validates job (index names it in the message) and appends it. */
int pgq__batch_add(pgq_client *c, pgq__batch *b, const pgq_new_job *job, size_t index);
/* Runs statement s with the batch as its parameters; the batch is emptied
 * afterwards. Same result contract as pgq__exec. */
PGresult *pgq__batch_exec(pgq_client *c, pgq__batch *b, pgq__stmt s, int *rc);
/* Bytes currently held by the batch. */
size_t pgq__batch_bytes(const pgq__batch *b);
void pgq__batch_free(pgq__batch *b);

/* strdup that returns NULL for NULL. */
char *pgq__strdup(const char *s);

#endif /* PGQ_INTERNAL_H */
