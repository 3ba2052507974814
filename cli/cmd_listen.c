/* cmd_listen.c: `pgq listen`, a tap on the queue's NOTIFY channel. It follows
 * libpq's canonical consumer: wait on the socket, PQconsumeInput, then drain
 * PQnotifies. Signal handlers only set a flag. */
#include <errno.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char help[] =
    "Usage: pgq listen [--channel C]\n"
    "\n"
    "Listens on the queue's notification channel (default: the configured\n"
    "one, e.g. ch_pgqueuer) and prints each notification's JSON payload as one\n"
    "line on stdout, flushed at once; a payload that is not JSON is printed as\n"
    "{\"channel\": ..., \"payload\": \"...\"}. Runs until SIGINT or SIGTERM.\n"
    "\n"
    "Options:\n"
    "  --channel C   listen on channel C instead\n"
    "  -h, --help    show this help\n";

/* One JSON object per line: the payload compacted when it is a JSON object,
 * else wrapped. */
static void print_notification(const PGnotify *n)
{
    json_t *v = json_loads(n->extra, JSON_REJECT_DUPLICATES, NULL);
    char *line = json_is_object(v) ? json_dumps(v, JSON_COMPACT) : NULL;
    if (line) {
        fputs(line, stdout);
    } else {
        fputs("{\"channel\":", stdout);
        cli_json_str(stdout, n->relname);
        fputs(",\"payload\":", stdout);
        cli_json_str(stdout, n->extra);
        fputc('}', stdout);
    }
    fputc('\n', stdout);
    fflush(stdout);
    free(line);
    json_decref(v);
}

static int start_listening(PGconn *conn, const char *channel)
{
    char *ident = PQescapeIdentifier(conn, channel, strlen(channel));
    if (!ident) {
        cli_error("listen: %s", PQerrorMessage(conn));
        return EXIT_FAILED;
    }
    size_t len = strlen(ident) + 8;
    char *sql = malloc(len);
    PGresult *r = NULL;
    if (sql) {
        snprintf(sql, len, "LISTEN %s", ident);
        r = PQexec(conn, sql);
    }
    int ok = r && PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok)
        cli_error("listen: cannot LISTEN on '%s': %s", channel,
                  r ? PQresultErrorMessage(r) : "out of memory");
    PQclear(r);
    free(sql);
    PQfreemem(ident);
    return ok ? EXIT_OK : EXIT_FAILED;
}

static void drain(PGconn *conn)
{
    PGnotify *n;
    while ((n = PQnotifies(conn)) != NULL) {
        print_notification(n);
        PQfreemem(n);
    }
}

/* Waits for notifications until a signal or a lost connection. The first
 * drain catches any that arrived with the LISTEN command's reply. */
static int listen_loop(PGconn *conn)
{
    struct pollfd pfd = {.fd = PQsocket(conn), .events = POLLIN};
    drain(conn);
    while (!cli_stop_requested) {
        int ready = poll(&pfd, 1, 1000);
        if (ready < 0 && errno != EINTR) {
            cli_error("listen: poll: %s", strerror(errno));
            return EXIT_FAILED;
        }
        if (ready <= 0)
            continue;
        if (!PQconsumeInput(conn)) {
            cli_error("listen: lost the database connection: %s", PQerrorMessage(conn));
            return EXIT_FAILED;
        }
        drain(conn);
    }
    return EXIT_OK;
}

int cmd_listen(int argc, char **argv, cli_globals *g)
{
    if (cli_wants_help(argc, argv))
        return cli_print_help(help);
    const char *channel = NULL;
    for (int i = 1; i < argc; i++) {
        int m = cli_opt_value("listen", argc, argv, &i, "--channel", &channel);
        if (m < 0)
            return EXIT_USAGE;
        if (m == 0)
            return cli_usage_error("listen", "unexpected argument '%s'", argv[i]);
    }
    if (channel && (!*channel || strlen(channel) >= 64))
        return cli_usage_error("listen", "--channel must be 1 to 63 bytes long");
    int code;
    pgq_client *c = cli_connect(g, &code);
    if (!c)
        return code;
    PGconn *conn = (PGconn *)pgq_client_conn(c);
    if (!channel)
        channel = pgq_client_channel(c);
    cli_catch_stop_signals();
    code = start_listening(conn, channel);
    if (code == EXIT_OK) {
        fprintf(stderr, "pgq listen: listening on channel %s (Ctrl-C to stop)\n",
                channel);
        code = listen_loop(conn);
    }
    pgq_client_free(c);
    return code;
}
