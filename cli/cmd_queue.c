/* cmd_queue.c: `pgq queue`, the producer side of the tool. One job from the
 * command line, or one job per input line streamed through the bulk path. */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static const char help[] =
    "Usage: pgq queue ENTRYPOINT [PAYLOAD] [OPTIONS]\n"
    "       pgq queue ENTRYPOINT --stdin [OPTIONS]\n"
    "\n"
    "Enqueues one job and prints its id. With --stdin, enqueues one job per\n"
    "input line (the line without its newline is the payload), streaming them\n"
    "in bulk in one transaction, and prints the count. Without a payload the\n"
    "job's payload is NULL.\n"
    "\n"
    "Options:\n"
    "  --priority N         higher runs first (default 0)\n"
    "  --delay DURATION     run no sooner than this from now: 30s, 5m, 1h30m\n"
    "  --dedupe-key K       at most one active (queued or picked) job holds K\n"
    "  --on-conflict MODE   when K is taken: raise (default; exit 1, nothing\n"
    "                       enqueued), skip (exit 0, reported as skipped) or\n"
    "                       update_priority (PgQueuer's: the job holding K\n"
    "                       gets the greater priority; prints its id)\n"
    "  --header K=V         a header, repeatable; stored as a JSON object\n"
    "  --payload-file F     the payload is the bytes of file F ('-': stdin)\n"
    "  --stdin              one job per input line (no --dedupe-key)\n"
    "  -h, --help           show this help\n"
    "\n"
    "Exit status: 0 enqueued (or skipped), 1 failed, 2 usage error.\n";

typedef struct queue_args {
    const char *entrypoint;
    const char *payload_arg;
    const char *payload_file;
    const char *dedupe_key;
    long long priority;
    double delay;
    pgq_on_conflict on_conflict;
    bool from_stdin;
    json_t *headers; /* NULL: no --header given */
} queue_args;

/* Adds one "K=V" header; duplicate keys are refused rather than guessed. */
static int add_header(queue_args *a, const char *text)
{
    char name[256];
    const char *value;
    if (cli_split_assignment(text, name, sizeof name, &value) != 0)
        return cli_usage_error("queue",
                               "--header '%s': expected NAME=VALUE with a "
                               "non-empty NAME of at most 255 bytes",
                               text);
    if (!a->headers && !(a->headers = json_object()))
        return cli_usage_error("queue", "out of memory");
    if (json_object_get(a->headers, name))
        return cli_usage_error("queue", "--header '%s' is given more than once", name);
    json_t *v = json_string(value);
    if (!v)
        return cli_usage_error("queue", "--header '%s': not valid UTF-8", name);
    json_object_set_new(a->headers, name, v);
    return 0;
}

/* Checks and stores one option with a value; 1 if matched, 0 if not, or
 * EXIT_USAGE (negated) on a bad value. */
static int take_value_option(queue_args *a, int argc, char **argv, int *i)
{
    const char *v;
    int m;
    if ((m = cli_opt_value("queue", argc, argv, i, "--priority", &v)) > 0) {
        if (cli_parse_int(v, INT32_MIN, INT32_MAX, &a->priority) != 0)
            return -cli_usage_error("queue",
                                    "--priority '%s' is not an integer "
                                    "between -2147483648 and 2147483647",
                                    v);
    } else if (!m && (m = cli_opt_value("queue", argc, argv, i, "--delay", &v)) > 0) {
        if (cli_parse_duration(v, &a->delay) != 0)
            return -cli_usage_error("queue",
                                    "--delay '%s' is not a duration "
                                    "(e.g. 30s, 5m, 1h30m, 250ms)",
                                    v);
    } else if (!m &&
               (m = cli_opt_value("queue", argc, argv, i, "--dedupe-key", &v)) > 0) {
        if (!*v)
            return -cli_usage_error("queue", "--dedupe-key is empty");
        a->dedupe_key = v;
    } else if (!m &&
               (m = cli_opt_value("queue", argc, argv, i, "--on-conflict", &v)) > 0) {
        if (strcmp(v, "raise") != 0 && strcmp(v, "skip") != 0 &&
            strcmp(v, "update_priority") != 0)
            return -cli_usage_error("queue",
                                    "--on-conflict '%s': expected raise, "
                                    "skip or update_priority",
                                    v);
        a->on_conflict = v[0] == 's'   ? PGQ_CONFLICT_SKIP
                         : v[0] == 'u' ? PGQ_CONFLICT_UPDATE_PRIORITY
                                       : PGQ_CONFLICT_RAISE;
    } else if (!m && (m = cli_opt_value("queue", argc, argv, i, "--header", &v)) > 0) {
        if (add_header(a, v) != 0)
            return -EXIT_USAGE;
    } else if (!m &&
               (m = cli_opt_value("queue", argc, argv, i, "--payload-file", &v)) > 0) {
        a->payload_file = v;
    }
    return m < 0 ? -EXIT_USAGE : m;
}

static int check_combination(const queue_args *a)
{
    if (!a->entrypoint)
        return cli_usage_error("queue", "missing ENTRYPOINT");
    if (!*a->entrypoint)
        return cli_usage_error("queue", "the entrypoint is empty");
    if (a->payload_arg && a->payload_file)
        return cli_usage_error("queue", "give PAYLOAD or --payload-file, not both");
    if (a->from_stdin && (a->payload_arg || a->payload_file))
        return cli_usage_error("queue", "--stdin reads the payloads; do not give "
                                        "PAYLOAD or --payload-file too");
    if (a->from_stdin && a->dedupe_key)
        return cli_usage_error("queue", "--dedupe-key cannot be used with --stdin");
    return 0;
}

static int parse_args(int argc, char **argv, queue_args *a)
{
    bool rest = false;
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        if (!rest && strcmp(s, "--") == 0) {
            rest = true;
        } else if (!rest && strcmp(s, "--stdin") == 0) {
            a->from_stdin = true;
        } else if (!rest && s[0] == '-' && s[1] != '\0') {
            int m = take_value_option(a, argc, argv, &i);
            if (m < 0)
                return EXIT_USAGE;
            if (m == 0)
                return cli_usage_error("queue", "unknown option '%s'", s);
        } else if (!a->entrypoint) {
            a->entrypoint = s;
        } else if (!a->payload_arg) {
            a->payload_arg = s;
        } else {
            return cli_usage_error("queue", "unexpected argument '%s'", s);
        }
    }
    return check_combination(a);
}

/* Reads all of f into a malloc'd buffer; returns 0 or an errno value. */
static int slurp(FILE *f, unsigned char **out, size_t *len)
{
    size_t cap = 4096, n = 0;
    unsigned char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap || ferror(f))
            break;
        unsigned char *bigger = realloc(buf, cap * 2);
        if (!bigger)
            free(buf);
        buf = bigger;
        cap *= 2;
    }
    if (!buf)
        return ENOMEM;
    if (ferror(f)) {
        free(buf);
        return errno ? errno : EIO;
    }
    *out = buf;
    *len = n;
    return 0;
}

/* Reads a whole payload file (or stdin for "-") as bytes. */
static int read_payload_file(const char *path, unsigned char **out, size_t *len)
{
    bool is_stdin = strcmp(path, "-") == 0;
    errno = 0;
    FILE *f = is_stdin ? stdin : fopen(path, "rb");
    int err = f ? slurp(f, out, len) : errno ? errno : ENOENT;
    if (f && !is_stdin)
        fclose(f);
    if (err)
        return cli_usage_error("queue", "cannot read payload file '%s': %s", path,
                               strerror(err));
    return 0;
}

static int enqueue_one(pgq_client *c, const queue_args *a, const pgq_new_job *job)
{
    int64_t id = 0;
    int rc = pgq_enqueue(c, job, 1, a->on_conflict, &id);
    if (rc != PGQ_OK)
        return cli_report(c, "queue", rc);
    if (id == 0) {
        printf("skipped: dedupe key '%s' is already held by an active job\n",
               a->dedupe_key);
        return EXIT_OK;
    }
    printf("%lld\n", (long long)id);
    return EXIT_OK;
}

/* Shows progress on a terminal every so many lines, so a long import is
 * visibly alive; never on a pipe, where it would pollute logs. */
static void progress(uint64_t lines, bool tty, bool final)
{
    if (!tty)
        return;
    if (final && lines >= 100000)
        fprintf(stderr, "\r\033[K");
    else if (!final && lines % 100000 == 0)
        fprintf(stderr, "\rpgq queue: %llu lines read...", (unsigned long long)lines);
}

/* Streams stdin line by line into the bulk enqueue; memory use is bounded by
 * the bulk path's chunk, never by the input size. */
static int enqueue_stdin(pgq_client *c, const queue_args *a, pgq_new_job job)
{
    pgq_bulk *b = NULL;
    int rc = pgq_bulk_begin(c, &b);
    if (rc != PGQ_OK)
        return cli_report(c, "queue", rc);
    bool tty = isatty(STDERR_FILENO);
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    uint64_t lines = 0, count = 0;
    while (rc == PGQ_OK && (len = getline(&line, &cap, stdin)) >= 0) {
        if (len > 0 && line[len - 1] == '\n')
            len--;
        job.payload = line;
        job.payload_len = (size_t)len;
        rc = pgq_bulk_add(b, &job);
        progress(++lines, tty, false);
    }
    progress(lines, tty, true);
    free(line);
    if (rc == PGQ_OK && ferror(stdin)) {
        pgq_bulk_abort(b);
        cli_error("queue: reading stdin failed after %llu lines: %s; nothing "
                  "was enqueued",
                  (unsigned long long)lines, strerror(errno));
        return EXIT_FAILED;
    }
    if (rc != PGQ_OK) {
        pgq_bulk_abort(b);
        return cli_report(c, "queue", rc);
    }
    if ((rc = pgq_bulk_finish(b, &count)) != PGQ_OK)
        return cli_report(c, "queue", rc);
    printf("queued %llu jobs\n", (unsigned long long)count);
    return EXIT_OK;
}

static int run(cli_globals *g, queue_args *a, const unsigned char *payload,
               size_t payload_len)
{
    char *headers = a->headers ? json_dumps(a->headers, JSON_COMPACT) : NULL;
    if (a->headers && !headers) {
        cli_error("queue: out of memory");
        return EXIT_FAILED;
    }
    pgq_new_job job = {
        .entrypoint = a->entrypoint,
        .payload = payload,
        .payload_len = payload_len,
        .priority = (int32_t)a->priority,
        .delay = a->delay,
        .dedupe_key = a->dedupe_key,
        .headers = headers,
    };
    int code;
    pgq_client *c = cli_connect(g, &code);
    if (c) {
        code = a->from_stdin ? enqueue_stdin(c, a, job) : enqueue_one(c, a, &job);
        pgq_client_free(c);
    }
    free(headers);
    return code;
}

int cmd_queue(int argc, char **argv, cli_globals *g)
{
    if (cli_wants_help(argc, argv))
        return cli_print_help(help);
    queue_args a = {0};
    unsigned char *file = NULL;
    size_t file_len = 0;
    int code = parse_args(argc, argv, &a);
    if (code == 0 && a.payload_file)
        code = read_payload_file(a.payload_file, &file, &file_len);
    if (code == 0) {
        const unsigned char *p = file ? file : (const unsigned char *)a.payload_arg;
        size_t len = file ? file_len : a.payload_arg ? strlen(a.payload_arg) : 0;
        code = run(g, &a, p, len);
    }
    free(file);
    json_decref(a.headers);
    return code;
}
