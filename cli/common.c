/* common.c: error reporting, help handling and connecting, shared by every
 * command. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

void cli_error(const char *fmt, ...)
{
    va_list ap;
    fputs("pgq: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "pgq %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (see 'pgq %s --help')\n", cmd);
    return EXIT_USAGE;
}

bool cli_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            return false;
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            return true;
    }
    return false;
}

volatile sig_atomic_t cli_stop_requested;

static void on_stop_signal(int sig)
{
    (void)sig;
    cli_stop_requested = 1;
}

void cli_catch_stop_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

int cli_print_help(const char *text)
{
    fputs(text, stdout);
    return EXIT_OK;
}

pgq_client *cli_connect(cli_globals *g, int *exit_code)
{
    pgq_client *c = NULL;
    int rc = pgq_client_open(&c, &g->cfg);
    if (rc == PGQ_OK)
        return c;
    cli_error("%s", c ? pgq_client_errmsg(c) : pgq_strerror(rc));
    if (rc == PGQ_ECONNECT)
        fprintf(stderr, "hint: start a private database with 'pgq local start' and "
                        "run 'eval \"$(pgq local env)\"',\n"
                        "      or set PGHOST/PGPORT or --dsn to reach your server.\n");
    pgq_client_free(c);
    *exit_code = rc == PGQ_EINVAL ? EXIT_USAGE : EXIT_FAILED;
    return NULL;
}

int cli_report(pgq_client *c, const char *what, int rc)
{
    const char *msg = c ? pgq_client_errmsg(c) : "";
    cli_error("%s: %s", what, msg && *msg ? msg : pgq_strerror(rc));
    if (rc == PGQ_ENOSCHEMA)
        fprintf(stderr, "hint: run 'pgq install' (with the same --prefix/--schema).\n");
    else if (rc == PGQ_ECONNECT)
        fprintf(stderr, "hint: is the database running? 'pgq local start' starts "
                        "a private one.\n");
    return rc == PGQ_EINVAL ? EXIT_USAGE : EXIT_FAILED;
}
