/* cmd_show.c: `pgq show ID`, everything known about one job: its queue row
 * (if it is still there) and its whole log history with error records. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char help[] =
    "Usage: pgq show ID [--json]\n"
    "\n"
    "Shows one job: its row in the queue (status, priority, attempts, times,\n"
    "worker, dedupe key, headers, payload) and its whole log history, with\n"
    "the error record (type, message, traceback) of each failure. A finished\n"
    "job is no longer in the queue but its history is still shown. The payload\n"
    "is shown as text when it is printable UTF-8, else as hex with its size.\n"
    "\n"
    "Options:\n"
    "  --json       one JSON object {id, job, history}\n"
    "  -h, --help   show this help\n"
    "\n"
    "Exit status: 0 shown, 1 no such job (or a failure), 2 usage error.\n";

/* Human output shows at most this many payload bytes; --json shows all. */
enum { SHOW_MAX = 4096 };

/* ---- human output ---------------------------------------------------- */

/* Values come from the database (entrypoints, workers, keys, headers,
 * errors): control characters are shown as spaces, so none reaches the
 * terminal (an OSC sequence could retitle it, an ESC rewrite the screen). */
static void field(const char *name, const char *value)
{
    printf("  %-15s ", name);
    cli_print_cut(stdout, value && *value ? value : "-", 0);
    putchar('\n');
}

static void time_field(const char *name, double t)
{
    char buf[40];
    field(name, cli_fmt_iso(t, buf, sizeof buf));
}

/* Prints text with every line indented, each line escaped like a field. */
static void print_indented(const char *s, size_t n, const char *indent)
{
    size_t start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && s[i] != '\n')
            continue;
        if (i == n && start == n && n > 0)
            break; /* the text ended with its last line's newline */
        char *line = strndup(s + start, i - start);
        fputs(indent, stdout);
        cli_print_cut(stdout, line ? line : "", 0);
        fputc('\n', stdout);
        free(line);
        start = i + 1;
    }
}

static void print_hex(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        printf("%s%02x%s", i % 32 == 0 ? "    " : "", p[i],
               i % 32 == 31 || i + 1 == n ? "\n" : "");
}

static void print_payload(const pgq_job *j)
{
    if (!j->payload) {
        field("payload", "NULL");
        return;
    }
    size_t shown = j->payload_len > SHOW_MAX ? SHOW_MAX : j->payload_len;
    bool text = cli_is_printable_utf8(j->payload, j->payload_len);
    /* Cut text on a character boundary. */
    while (text && shown < j->payload_len && (j->payload[shown] & 0xc0) == 0x80)
        shown--;
    printf("  %-15s %zu byte%s, %s%s\n", "payload", j->payload_len,
           j->payload_len == 1 ? "" : "s", text ? "text" : "binary (hex)",
           j->payload_len ? ":" : "");
    if (text && shown)
        print_indented((const char *)j->payload, shown, "    ");
    else
        print_hex(j->payload, shown);
    if (shown < j->payload_len)
        printf("    ... %zu more bytes (--json shows all)\n", j->payload_len - shown);
}

static void print_job(const pgq_job *j)
{
    printf("job %lld: %s (in the queue)\n", (long long)j->id,
           pgq_job_status_name(j->status));
    field("entrypoint", j->entrypoint);
    printf("  %-15s %d\n  %-15s %d\n", "priority", (int)j->priority, "attempts",
           (int)j->attempts);
    time_field("created", j->created);
    time_field("updated", j->updated);
    time_field("execute after", j->execute_after);
    time_field("heartbeat", j->heartbeat);
    field("worker", j->queue_manager_id);
    field("dedupe key", j->dedupe_key);
    field("headers", j->headers);
    print_payload(j);
}

/* Prints the error record of a log row: type, message, traceback, context. */
static void print_error(const char *traceback)
{
    json_t *rec = json_loads(traceback, 0, NULL);
    if (!json_is_object(rec)) {
        print_indented(traceback, strlen(traceback), "      ");
        json_decref(rec);
        return;
    }
    const char *type = json_string_value(json_object_get(rec, "exception_type"));
    const char *msg = json_string_value(json_object_get(rec, "exception_message"));
    const char *tb = json_string_value(json_object_get(rec, "traceback"));
    json_t *ctx = json_object_get(rec, "additional_context");
    fputs("      error: ", stdout);
    cli_print_cut(stdout, type ? type : "?", 0);
    fputs(": ", stdout);
    cli_print_cut(stdout, msg ? msg : "", 0);
    putchar('\n');
    if (tb && *tb) {
        printf("      traceback:\n");
        print_indented(tb, strlen(tb), "        ");
    }
    char *ctx_text = json_is_object(ctx) ? json_dumps(ctx, JSON_COMPACT) : NULL;
    if (ctx_text) {
        fputs("      context: ", stdout);
        cli_print_cut(stdout, ctx_text, 0);
        putchar('\n');
    }
    free(ctx_text);
    json_decref(rec);
}

static void print_history(const pgq_log_entry *log, size_t n)
{
    printf("history (%zu log row%s, oldest first):\n", n, n == 1 ? "" : "s");
    for (size_t i = 0; i < n; i++) {
        char when[40];
        printf("  %s  %-10s priority %d\n",
               cli_fmt_iso(log[i].created, when, sizeof when),
               pgq_job_status_name(log[i].status), (int)log[i].priority);
        if (log[i].traceback)
            print_error(log[i].traceback);
    }
}

static void print_human(int64_t id, const pgq_job_set *job, const pgq_log_entry *log,
                        size_t n)
{
    if (job->count) {
        print_job(&job->jobs[0]);
    } else {
        printf("job %lld: not in the queue (finished); last logged status: %s\n",
               (long long)id, pgq_job_status_name(log[n - 1].status));
        field("entrypoint", log[n - 1].entrypoint);
    }
    print_history(log, n);
}

/* ---- JSON output ------------------------------------------------------ */

static json_t *iso(double t)
{
    char buf[40];
    return json_string(cli_fmt_iso(t, buf, sizeof buf));
}

/* A JSON value from JSON text (headers, error records); a string if the
 * text does not parse, null for NULL. */
static json_t *embedded(const char *text)
{
    if (!text)
        return json_null();
    json_t *v = json_loads(text, JSON_DECODE_ANY, NULL);
    return v ? v : json_string(text);
}

static json_t *payload_json(const pgq_job *j)
{
    if (!j->payload)
        return json_null();
    if (cli_is_printable_utf8(j->payload, j->payload_len))
        return json_pack("{s:I, s:s%}", "size", (json_int_t)j->payload_len, "text",
                         (const char *)j->payload, j->payload_len);
    char *hex = malloc(j->payload_len * 2 + 1);
    for (size_t i = 0; hex && i < j->payload_len; i++)
        snprintf(hex + 2 * i, 3, "%02x", j->payload[i]);
    if (hex)
        hex[j->payload_len * 2] = '\0';
    json_t *v =
        hex ? json_pack("{s:I, s:s}", "size", (json_int_t)j->payload_len, "hex", hex)
            : NULL;
    free(hex);
    return v;
}

static json_t *job_json(const pgq_job *j)
{
    return json_pack(
        "{s:I, s:s, s:s, s:i, s:i, s:o, s:o, s:o, s:o, s:s?, s:s?, s:o, s:o*}", "id",
        (json_int_t)j->id, "entrypoint", j->entrypoint, "status",
        pgq_job_status_name(j->status), "priority", (int)j->priority, "attempts",
        (int)j->attempts, "created", iso(j->created), "updated", iso(j->updated),
        "execute_after", iso(j->execute_after), "heartbeat", iso(j->heartbeat),
        "queue_manager_id", j->queue_manager_id, "dedupe_key", j->dedupe_key, "headers",
        embedded(j->headers), "payload", payload_json(j));
}

static json_t *history_json(const pgq_log_entry *log, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        json_array_append_new(
            a, json_pack("{s:I, s:o, s:s, s:i, s:s, s:o}", "log_id",
                         (json_int_t)log[i].id, "created", iso(log[i].created), "status",
                         pgq_job_status_name(log[i].status), "priority",
                         (int)log[i].priority, "entrypoint", log[i].entrypoint, "error",
                         embedded(log[i].traceback)));
    return a;
}

static int print_json(int64_t id, const pgq_job_set *job, const pgq_log_entry *log,
                      size_t n)
{
    json_t *doc = json_pack("{s:I, s:o, s:o}", "id", (json_int_t)id, "job",
                            job->count ? job_json(&job->jobs[0]) : json_null(), "history",
                            history_json(log, n));
    char *text = doc ? json_dumps(doc, JSON_INDENT(2)) : NULL;
    json_decref(doc);
    if (!text) {
        cli_error("show: cannot format job %lld as JSON", (long long)id);
        return EXIT_FAILED;
    }
    puts(text);
    free(text);
    return EXIT_OK;
}

/* ---- command ------------------------------------------------------------ */

static int parse_args(int argc, char **argv, int64_t *id, bool *json)
{
    const char *id_text = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            *json = true;
        else if (argv[i][0] == '-' && argv[i][1] &&
                 !(argv[i][1] >= '0' && argv[i][1] <= '9'))
            return cli_usage_error("show", "unknown option '%s'", argv[i]);
        else if (id_text)
            return cli_usage_error("show", "unexpected argument '%s' (one ID only)",
                                   argv[i]);
        else
            id_text = argv[i];
    }
    if (!id_text)
        return cli_usage_error("show", "missing job ID");
    if (cli_parse_id(id_text, id) != 0)
        return cli_usage_error("show",
                               "'%s' is not a job id (expected a positive "
                               "integer)",
                               id_text);
    return 0;
}

static int show(pgq_client *c, int64_t id, bool json)
{
    pgq_job_set job = {0};
    pgq_log_entry *log = NULL;
    size_t n = 0;
    int code = EXIT_OK;
    int rc = pgq_job_get(c, id, &job);
    if (rc == PGQ_OK)
        rc = pgq_job_log(c, id, &log, &n);
    if (rc != PGQ_OK) {
        code = cli_report(c, "show", rc);
    } else if (job.count == 0 && n == 0) {
        cli_error("show: no job %lld", (long long)id);
        code = EXIT_FAILED;
    } else if (json) {
        code = print_json(id, &job, log, n);
    } else {
        print_human(id, &job, log, n);
    }
    pgq_log_entries_free(log, n);
    pgq_job_set_free(&job);
    return code;
}

int cmd_show(int argc, char **argv, cli_globals *g)
{
    if (cli_wants_help(argc, argv))
        return cli_print_help(help);
    int64_t id = 0;
    bool json = false;
    int code = parse_args(argc, argv, &id, &json);
    if (code != 0)
        return code;
    pgq_client *c = cli_connect(g, &code);
    if (!c)
        return code;
    code = show(c, id, json);
    pgq_client_free(c);
    return code;
}
