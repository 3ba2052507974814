/* cmd_failed.c: the held-job commands of the seed (docs/design.md §6): list-failed
 * (alias failed), requeue-failed (alias requeue) and mark-failed.
 *
 * Every argument is checked before connecting, so a bad option or job-id
 * list exits 2 with one line on stderr and the database untouched. Exit 0
 * means every named job was acted on; 1 means some were not (the others
 * still were) or the operation failed. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cli.h"

static const char list_help[] =
    "Usage: pgq list-failed [--limit N] [--entrypoint E] [--newest] [--json]\n\n"
    "Lists the jobs held as 'failed': id, entrypoint, priority, attempts,\n"
    "created, failed at (UTC), payload bytes and the last error stored for\n"
    "the job (cut to fit the terminal; --json and 'pgq show ID' give it\n"
    "whole), oldest failure first, then a total line.\n\n"
    "Options:\n"
    "  -n, --limit N      at most N jobs (0: all, the default)\n"
    "  --entrypoint E     only jobs of entrypoint E\n"
    "  --newest           newest failure first\n"
    "  --json             one JSON array of objects: id, entrypoint, priority,\n"
    "                     attempts, created, failed_at, payload_bytes, error\n\n"
    "Exit status: 0 listed (also when there is none), 1 the database failed,\n"
    "2 usage error.\n"
    "'pgq failed' is PgQueuer's spelling: newest first, 25 by default.\n";

static const char failed_help[] =
    "Usage: pgq failed [-n N] [--entrypoint E] [--oldest] [--json]\n\n"
    "PgQueuer's listing of the jobs held as 'failed': newest failure first,\n"
    "at most 25 unless -n says otherwise. The columns and --json fields are\n"
    "those of 'pgq list-failed' (which lists oldest first, all of them).\n\n"
    "Options:\n"
    "  -n, --limit N      at most N jobs (default 25; 0: all)\n"
    "  --entrypoint E     only jobs of entrypoint E\n"
    "  --oldest           oldest failure first\n"
    "  --json             one JSON array of objects: id, entrypoint, priority,\n"
    "                     attempts, created, failed_at, payload_bytes, error\n"
    "                     ([] when there is none)\n\n"
    "Exit status: 0 listed (also when there is none), 1 the database failed,\n"
    "2 usage error.\n";

static const char requeue_pgq_help[] =
    "Usage: pgq requeue ID... [--payload TEXT | --payload-file F]\n\n"
    "PgQueuer's re-queue: moves the named held ('failed') jobs back to\n"
    "'queued' (due now, attempts 0, a 'queued' log row, a wake-up for the\n"
    "workers) and prints how many were re-queued. Ids that are not held\n"
    "(unknown, queued, running) are left alone and only counted, as in\n"
    "PgQueuer: the exit status is 0 for them too. 'pgq requeue-failed\n"
    "--job-ids LIST' reports each id and exits 1 when one was not held.\n\n"
    "Options:\n"
    "  --payload TEXT     with exactly one id: the job's new payload\n"
    "  --payload-file F   with exactly one id: the new payload, read from F\n"
    "                     byte for byte ('-' reads standard input)\n\n"
    "Output: \"Re-queued N of M job(s).\"\n"
    "Exit status: 0 done (whatever N is), 1 the database failed, 2 usage\n"
    "error (nothing changed).\n";

static const char requeue_help[] =
    "Usage: pgq requeue-failed --job-ids \"1,2,3\" [--payload TEXT | --payload-file F]\n"
    "       pgq requeue-failed --entrypoint E --all\n"
    "       pgq requeue-failed --all\n\n"
    "Moves held ('failed') jobs back to 'queued': due now, attempts 0, a\n"
    "'queued' log row, and a wake-up for the workers. Jobs that are not held\n"
    "stay as they are. Prints each job re-queued, then each job named but not\n"
    "re-queued with the reason: no such job, not failed, or its dedupe key is\n"
    "now taken by another queued or running job.\n\n"
    "Options:\n"
    "  --job-ids LIST     comma-separated job ids (duplicates count once)\n"
    "  --entrypoint E     with --all: every held job of entrypoint E\n"
    "  --all              every held job (of E, with --entrypoint)\n"
    "  --payload TEXT     with exactly one id: the job's new payload\n"
    "  --payload-file F   with exactly one id: the new payload, read from F\n"
    "                     byte for byte ('-' reads standard input)\n\n"
    "Exit status: 0 every named job was re-queued, 1 some were not (the rest\n"
    "were) or the database failed, 2 usage error (nothing changed).\n"
    "'pgq requeue ID...' is PgQueuer's spelling: a count, exit 0.\n";

static const char mark_help[] =
    "Usage: pgq mark-failed --job-ids \"4,5,6\" [--reason TEXT]\n\n"
    "Holds queued or running ('picked') jobs as 'failed' for review, with a\n"
    "'failed' log row whose error record says they were marked by hand (or\n"
    "gives TEXT). A worker still running such a job no longer owns it: when\n"
    "its handler returns, the job stays failed. Re-queue it with\n"
    "'pgq requeue-failed'.\n\n"
    "Options:\n"
    "  --job-ids LIST     comma-separated job ids (duplicates count once)\n"
    "  --reason TEXT      the error message stored (default: \"marked failed by\n"
    "                     hand\")\n\n"
    "Exit status: 0 every named job was marked, 1 some were not (not found or\n"
    "already failed; the rest were) or the database failed, 2 usage error\n"
    "(nothing changed).\n";

/* ---- Argument scanning ------------------------------------------------------- */

/* cli_opt_value, refusing a value given twice rather than silently
 * replacing it. Returns 1 with *value set, 0 if argv[*i] is another
 * argument, -1 after printing a usage error. */
static int opt_value(const char *cmd, int argc, char **argv, int *i, const char *name,
                     const char **value)
{
    const char *v;
    int m = cli_opt_value(cmd, argc, argv, i, name, &v);
    if (m <= 0)
        return m;
    if (*value) {
        cli_usage_error(cmd, "option '%s' is given twice", name);
        return -1;
    }
    *value = v;
    return 1;
}

/* Reads a whole file (or standard input for "-") as bytes. */
static int read_file(const char *path, char **data, size_t *len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f)
        return -1;
    size_t cap = 4096, n = 0, got;
    char *buf = malloc(cap);
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        char *bigger = n == cap ? realloc(buf, cap *= 2) : buf;
        if (!bigger)
            free(buf);
        buf = bigger;
    }
    bool bad = !buf || ferror(f);
    int saved = buf ? errno : ENOMEM;
    if (f != stdin)
        fclose(f);
    if (bad) {
        free(buf);
        errno = saved;
        return -1;
    }
    *data = buf;
    *len = n;
    return 0;
}

/* ---- list-failed / failed ---------------------------------------------------- */

typedef struct list_args {
    const char *limit;
    const char *entrypoint;
    bool newest;
    bool oldest;
    bool json;
} list_args;

static int list_parse(const char *cmd, int argc, char **argv, list_args *a)
{
    for (int i = 1; i < argc; i++) {
        int m;
        if ((m = opt_value(cmd, argc, argv, &i, "--limit", &a->limit)) ||
            (m = opt_value(cmd, argc, argv, &i, "-n", &a->limit)) ||
            (m = opt_value(cmd, argc, argv, &i, "--entrypoint", &a->entrypoint))) {
            if (m < 0)
                return EXIT_USAGE;
        } else if (strcmp(argv[i], "--json") == 0) {
            a->json = true;
        } else if (strcmp(argv[i], "--newest") == 0) {
            a->newest = true;
        } else if (strcmp(argv[i], "--oldest") == 0 && strcmp(cmd, "failed") == 0) {
            a->oldest = true;
        } else if (argv[i][0] == '-') {
            return cli_usage_error(cmd, "unknown option '%s'", argv[i]);
        } else {
            return cli_usage_error(cmd, "unexpected argument '%s'", argv[i]);
        }
    }
    if (a->entrypoint && !*a->entrypoint)
        return cli_usage_error(cmd, "the entrypoint is empty");
    return EXIT_OK;
}

/* Columns of the terminal ($COLUMNS first), or 0 when the output is not a
 * terminal: then the error column gets a fixed, generous width. */
static int screen_width(void)
{
    long long cols;
    const char *env = getenv("COLUMNS");
    struct winsize ws;
    if (env && cli_parse_int(env, 20, 10000, &cols) == 0)
        return (int)cols;
    if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col)
        return ws.ws_col;
    return 0;
}

/* The stored error message (or its type when there is no message), on one
 * line cut to width; "-" when none is stored. */
static void print_error(const pgq_failed_job *f, int width)
{
    const char *e =
        f->error_message && *f->error_message ? f->error_message : f->error_type;
    cli_print_cut(stdout, e && *e ? e : "-", width);
}

/* Display columns of a UTF-8 string (one per character). */
static int columns(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xc0) != 0x80;
    return n;
}

static void list_table(const pgq_failed_set *set)
{
    int idw = 2, epw = 10;
    for (size_t i = 0; i < set->count; i++) {
        int w = snprintf(NULL, 0, "%lld", (long long)set->jobs[i].job.id);
        int e = columns(set->jobs[i].job.entrypoint);
        idw = w > idw ? w : idw;
        epw = e > epw ? (e > 32 ? 32 : e) : epw;
    }
    int screen = screen_width();
    int errw = screen ? screen - (idw + epw + 8 + 8 + 19 + 19 + 13 + 7 * 2) : 100;
    errw = errw < 20 ? 20 : errw;
    printf("%*s  %-*s  %8s  %8s  %-19s  %-19s  %13s  %s\n", idw, "id", epw, "entrypoint",
           "priority", "attempts", "created", "failed at", "payload bytes", "last error");
    for (size_t i = 0; i < set->count; i++) {
        const pgq_failed_job *f = &set->jobs[i];
        char created[32], failed[32];
        printf("%*lld  ", idw, (long long)f->job.id);
        int ep = columns(f->job.entrypoint);
        cli_print_cut(stdout, f->job.entrypoint, epw);
        printf("%*s  %8d  %8d  %-19s  %-19s  %13zu  ", ep > epw ? 0 : epw - ep, "",
               f->job.priority, f->job.attempts,
               cli_fmt_time(f->job.created, created, sizeof created),
               cli_fmt_time(f->failed_at, failed, sizeof failed), f->job.payload_len);
        print_error(f, errw);
        fputc('\n', stdout);
    }
}

static void list_json(const pgq_failed_set *set)
{
    fputs("[", stdout);
    for (size_t i = 0; i < set->count; i++) {
        const pgq_failed_job *f = &set->jobs[i];
        char created[40], failed[40];
        printf("%s\n  {\"id\": %lld, \"entrypoint\": ", i ? "," : "",
               (long long)f->job.id);
        cli_json_str(stdout, f->job.entrypoint);
        printf(", \"priority\": %d, \"attempts\": %d, \"created\": \"%s\", "
               "\"failed_at\": \"%s\", \"payload_bytes\": %zu, \"error\": ",
               f->job.priority, f->job.attempts,
               cli_fmt_iso(f->job.created, created, sizeof created),
               cli_fmt_iso(f->failed_at, failed, sizeof failed), f->job.payload_len);
        if (f->error_message)
            cli_json_str(stdout, f->error_message);
        else
            fputs("null", stdout);
        fputs("}", stdout);
    }
    fputs(set->count ? "\n]\n" : "]\n", stdout);
}

/* Held jobs in the queue table, for the total line when the limit cut the
 * list short (0 if the count is unavailable). */
static int64_t failed_total(pgq_client *c, const char *entrypoint)
{
    pgq_count_row *rows = NULL;
    size_t n = 0;
    int64_t total = 0;
    if (pgq_queue_size(c, &rows, &n) != PGQ_OK)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (rows[i].status == PGQ_FAILED &&
            (!entrypoint || strcmp(entrypoint, rows[i].entrypoint) == 0))
            total += rows[i].count;
    pgq_count_rows_free(rows, n);
    return total;
}

static void list_total(pgq_client *c, const pgq_failed_set *set, const list_args *a,
                       int limit)
{
    int64_t total = (int)set->count == limit ? failed_total(c, a->entrypoint) : 0;
    if (total > (int64_t)set->count)
        printf("showing %zu of %lld failed jobs (--limit 0 shows all)\n", set->count,
               (long long)total);
    else
        printf("%zu failed job%s\n", set->count, set->count == 1 ? "" : "s");
}

/* `failed` is PgQueuer's: newest first and 25 unless told otherwise;
 * `list-failed` keeps the seed's oldest first, every job. */
static int list_failed(const char *cmd, int argc, char **argv, cli_globals *g)
{
    list_args a = {0};
    bool pgqueuer = strcmp(cmd, "failed") == 0;
    long long limit = pgqueuer ? 25 : 0;
    int rc = list_parse(cmd, argc, argv, &a);
    if (rc != EXIT_OK)
        return rc;
    if (a.limit && cli_parse_int(a.limit, 0, 1000000000, &limit) != 0)
        return cli_usage_error(cmd, "--limit '%s' is not a number from 0 to 1000000000",
                               a.limit);
    pgq_client *c = cli_connect(g, &rc);
    if (!c)
        return rc;
    pgq_list_failed_opts o = {(int)limit, a.entrypoint, pgqueuer ? !a.oldest : a.newest,
                              .sizes_only = true};
    pgq_failed_set set = {0};
    rc = pgq_list_failed_jobs(c, &o, &set);
    if (rc != PGQ_OK) {
        rc = cli_report(c, "cannot list failed jobs", rc);
    } else if (a.json) {
        list_json(&set);
    } else if (set.count == 0) {
        printf("No failed jobs.\n");
    } else {
        list_table(&set);
        list_total(c, &set, &a, (int)limit);
    }
    pgq_failed_set_free(&set);
    pgq_client_free(c);
    return rc;
}

int cmd_list_failed(int argc, char **argv, cli_globals *g)
{
    if (cli_wants_help(argc, argv))
        return cli_print_help(list_help);
    return list_failed("list-failed", argc, argv, g);
}

int cmd_failed(int argc, char **argv, cli_globals *g)
{
    if (cli_wants_help(argc, argv))
        return cli_print_help(failed_help);
    return list_failed("failed", argc, argv, g);
}

/* ---- Per-id reports (requeue-failed and mark-failed) --------------------------- */

static void print_line(void *ud, bool ok, const char *line)
{
    (void)ud;
    (void)ok;
    printf("%s\n", line);
}

/* Prints the ids acted on, then the others with their reason (the wording
 * is shared with the web console); returns the exit code: 0 when every id
 * was acted on. */
static int report(const pgq_id_outcome *o, size_t n, const char *done, const char *verb)
{
    return cli_id_report(o, n, done, verb, print_line, NULL) == n ? EXIT_OK : EXIT_FAILED;
}

/* ---- requeue-failed / requeue ------------------------------------------------ */

typedef struct requeue_args {
    const char *job_ids;
    const char *entrypoint;
    const char *payload;
    const char *payload_file;
    bool all;
    char *positional; /* `requeue ID...`: the ids joined with commas */
    int64_t *ids;
    size_t n;
    char *file_data;
    size_t file_len;
} requeue_args;

static void requeue_args_free(requeue_args *a)
{
    free(a->positional);
    free(a->ids);
    free(a->file_data);
}

/* `requeue 1 2 3` is read as the list "1,2,3" so both spellings share one
 * parser (and its errors). */
static int append_positional(requeue_args *a, const char *id)
{
    size_t old = a->positional ? strlen(a->positional) : 0;
    char *p = realloc(a->positional, old + strlen(id) + 2);
    if (!p)
        return -1;
    snprintf(p + old, strlen(id) + 2, "%s%s", old ? "," : "", id);
    a->positional = p;
    return 0;
}

static int requeue_scan(const char *cmd, int argc, char **argv, bool positional,
                        requeue_args *a)
{
    for (int i = 1; i < argc; i++) {
        int m;
        if ((m = opt_value(cmd, argc, argv, &i, "--job-ids", &a->job_ids)) ||
            (m = opt_value(cmd, argc, argv, &i, "--entrypoint", &a->entrypoint)) ||
            (m = opt_value(cmd, argc, argv, &i, "--payload", &a->payload)) ||
            (m = opt_value(cmd, argc, argv, &i, "--payload-file", &a->payload_file))) {
            if (m < 0)
                return EXIT_USAGE;
        } else if (strcmp(argv[i], "--all") == 0) {
            a->all = true;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0' &&
                   !(argv[i][1] >= '0' && argv[i][1] <= '9')) {
            return cli_usage_error(cmd, "unknown option '%s'", argv[i]);
        } else if (!positional) {
            return cli_usage_error(
                cmd, "unexpected argument '%s' (give ids with --job-ids)", argv[i]);
        } else if (append_positional(a, argv[i]) != 0) {
            return cli_usage_error(cmd, "out of memory");
        }
    }
    return EXIT_OK;
}

/* Checks the combination of selections and reads the payload file. */
static int requeue_check(const char *cmd, requeue_args *a)
{
    char err[160];
    const char *list = a->job_ids ? a->job_ids : a->positional;
    if (a->job_ids && a->positional)
        return cli_usage_error(cmd,
                               "give the job ids either with --job-ids or as arguments");
    if (list && (a->all || a->entrypoint))
        return cli_usage_error(cmd,
                               "give job ids, or --all (with --entrypoint), not both");
    if (!list && a->entrypoint && !a->all)
        return cli_usage_error(
            cmd, "--entrypoint needs --all to re-queue every held job of it");
    if (!list && !a->all)
        return cli_usage_error(cmd,
                               "which jobs? give --job-ids LIST, --entrypoint E --all, "
                               "or --all");
    if (a->entrypoint && !*a->entrypoint)
        return cli_usage_error(cmd, "the entrypoint is empty");
    if (list && cli_parse_id_list(list, &a->ids, &a->n, err, sizeof err) != 0)
        return cli_usage_error(cmd, "%s", err);
    if (a->payload && a->payload_file)
        return cli_usage_error(cmd, "give --payload or --payload-file, not both");
    if ((a->payload || a->payload_file) && a->n != 1)
        return cli_usage_error(cmd, "a new payload needs exactly one job id");
    if (a->payload_file && read_file(a->payload_file, &a->file_data, &a->file_len) != 0)
        return cli_usage_error(cmd, "cannot read the payload file '%s': %s",
                               a->payload_file, strerror(errno));
    return EXIT_OK;
}

/* PgQueuer's `requeue ID...` counts: ids not held are not an error. */
static int requeue_count(const pgq_id_outcome *o, size_t n)
{
    size_t ok = 0;
    for (size_t i = 0; i < n; i++)
        ok += o[i].result == PGQ_ID_DONE;
    printf("Re-queued %zu of %zu job%s.\n", ok, n, n == 1 ? "" : "s");
    return EXIT_OK;
}

static int requeue_run(const requeue_args *a, bool pgqueuer, cli_globals *g)
{
    int rc;
    pgq_client *c = cli_connect(g, &rc);
    if (!c)
        return rc;
    pgq_requeue_opts o = {0};
    o.entrypoint = a->n ? NULL : a->entrypoint;
    o.all = a->n == 0 && a->all;
    o.payload = a->payload_file ? (const void *)a->file_data : (const void *)a->payload;
    o.payload_len = a->payload_file ? a->file_len : a->payload ? strlen(a->payload) : 0;
    pgq_id_outcome *out = NULL;
    size_t n_out = 0;
    rc = pgq_requeue_failed_jobs(c, a->ids, a->n, &o, &out, &n_out);
    if (rc != PGQ_OK)
        rc = cli_report(c, "cannot re-queue", rc);
    else if (pgqueuer)
        rc = requeue_count(out, n_out);
    else if (n_out == 0)
        printf("No failed jobs to re-queue.\n");
    else
        rc = report(out, n_out, "re-queued", "re-queued");
    pgq_id_outcomes_free(out);
    pgq_client_free(c);
    return rc;
}

static int requeue(const char *cmd, int argc, char **argv, bool positional,
                   cli_globals *g)
{
    requeue_args a = {0};
    int rc = requeue_scan(cmd, argc, argv, positional, &a);
    if (rc == EXIT_OK)
        rc = requeue_check(cmd, &a);
    if (rc == EXIT_OK)
        rc = requeue_run(&a, positional, g);
    requeue_args_free(&a);
    return rc;
}

int cmd_requeue_failed(int argc, char **argv, cli_globals *g)
{
    if (cli_wants_help(argc, argv))
        return cli_print_help(requeue_help);
    return requeue("requeue-failed", argc, argv, false, g);
}

int cmd_requeue(int argc, char **argv, cli_globals *g)
{
    if (cli_wants_help(argc, argv))
        return cli_print_help(requeue_pgq_help);
    return requeue("requeue", argc, argv, true, g);
}

/* ---- mark-failed ----------------------------------------------------------- */

static int mark_run(const int64_t *ids, size_t n, const char *reason, cli_globals *g)
{
    int rc;
    pgq_client *c = cli_connect(g, &rc);
    if (!c)
        return rc;
    pgq_id_outcome *out = NULL;
    size_t n_out = 0;
    rc = pgq_mark_jobs_as_failed(c, ids, n, reason, &out, &n_out);
    if (rc != PGQ_OK)
        rc = cli_report(c, "cannot mark jobs failed", rc);
    else
        rc = report(out, n_out, "marked failed", "marked failed");
    pgq_id_outcomes_free(out);
    pgq_client_free(c);
    return rc;
}

int cmd_mark_failed(int argc, char **argv, cli_globals *g)
{
    const char *cmd = "mark-failed", *list = NULL, *reason = NULL;
    if (cli_wants_help(argc, argv))
        return cli_print_help(mark_help);
    for (int i = 1; i < argc; i++) {
        int m;
        if ((m = opt_value(cmd, argc, argv, &i, "--job-ids", &list)) ||
            (m = opt_value(cmd, argc, argv, &i, "--reason", &reason))) {
            if (m < 0)
                return EXIT_USAGE;
        } else if (argv[i][0] == '-') {
            return cli_usage_error(cmd, "unknown option '%s'", argv[i]);
        } else {
            return cli_usage_error(
                cmd, "unexpected argument '%s' (give ids with --job-ids)", argv[i]);
        }
    }
    if (!list)
        return cli_usage_error(cmd, "which jobs? give --job-ids LIST");
    if (reason && !*reason)
        return cli_usage_error(cmd, "the reason is empty");
    int64_t *ids;
    size_t n;
    char err[160];
    if (cli_parse_id_list(list, &ids, &n, err, sizeof err) != 0)
        return cli_usage_error(cmd, "%s", err);
    int rc = mark_run(ids, n, reason, g);
    free(ids);
    return rc;
}
