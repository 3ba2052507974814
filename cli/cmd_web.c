/* cmd_web.c: `pgq web`, the operator console and metrics endpoint (the
 * server is in web/), and `pgq web --hash-password` to make its auth file.
 * Options are checked before anything listens: a non-loopback address
 * without --auth-file is refused. */
#include <arpa/inet.h>
#include <crypt.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli.h"
#include "web.h"

static const char web_help[] =
    "Usage: pgq web [--listen ADDR:PORT] [--auth-file F] [--read-only]\n"
    "               [--cache DURATION] [--threads N]\n"
    "       pgq web --hash-password USER\n"
    "\n"
    "Serves the operator console over HTTP until SIGINT/SIGTERM: overview\n"
    "(counts, oldest queued job, jobs per second, failure rate; refreshes\n"
    "itself), failed jobs (re-queue or mark failed, edit a payload and\n"
    "re-queue), one job with its payload and history, the queue by status and\n"
    "entrypoint, workers and stale jobs, schedules, and the schema. Also\n"
    "/metrics (Prometheus text format) and /healthz (200 'ok' when the\n"
    "database answers and the schema is there, else 503).\n"
    "\n"
    "Options:\n"
    "  --listen ADDR:PORT  where to listen (default 127.0.0.1:8080; [::1]:PORT\n"
    "                      for IPv6; port 0 picks a free one, printed on\n"
    "                      stderr). An address other than loopback needs\n"
    "                      --auth-file.\n"
    "  --auth-file F       HTTP basic authentication for every page and metric:\n"
    "                      lines USER:HASH with a crypt(3) hash (yescrypt $y$ or\n"
    "                      sha512-crypt $6$), made with 'pgq web --hash-password\n"
    "                      USER' or 'mkpasswd -m yescrypt'\n"
    "  --read-only         no actions: the forms are hidden and POSTs refused\n"
    "  --cache DURATION    reuse the overview and /metrics counts this long\n"
    "                      (default 2s; 0 to 1h)\n"
    "  --threads N         request threads, each with its own connection\n"
    "                      (default 4; 1 to 64)\n"
    "  --hash-password USER  read a password from standard input and print\n"
    "                      USER:HASH, a line for the auth file\n"
    "  -h, --help          show this help\n"
    "\n"
    "Every action is a POST carrying a CSRF token from a page of the console\n"
    "itself (Origin/Referer checked). See docs/web.md.\n"
    "\n"
    "Exit status: 0 stopped by a signal, 1 cannot listen, 2 usage error.\n";

static int hash_password(const char *user)
{
    char pw[512];
    struct termios old, quiet;
    bool tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &old) == 0;
    if (strchr(user, ':') || !*user)
        return cli_usage_error("web",
                               "--hash-password: the user name is empty or holds ':'");
    if (tty) {
        fprintf(stderr, "password for %s: ", user);
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
    }
    bool got = fgets(pw, sizeof pw, stdin) != NULL;
    if (tty) {
        tcsetattr(STDIN_FILENO, TCSANOW, &old);
        fputc('\n', stderr);
    }
    pw[got ? strcspn(pw, "\r\n") : 0] = '\0';
    if (!pw[0]) {
        cli_error("web: --hash-password: no password on standard input");
        return EXIT_USAGE;
    }
    char *salt = crypt_gensalt_ra("$y$", 0, NULL, 0);
    void *data = NULL;
    int size = 0;
    char *hash = salt ? crypt_ra(pw, salt, &data, &size) : NULL;
    memset(pw, 0, sizeof pw);
    int rc = EXIT_OK;
    if (!hash || hash[0] == '*') {
        cli_error("web: --hash-password: crypt(3) failed");
        rc = EXIT_FAILED;
    } else {
        printf("%s:%s\n", user, hash);
    }
    free(salt);
    free(data);
    return rc;
}

int cmd_web(int argc, char **argv, cli_globals *g)
{
    if (cli_wants_help(argc, argv))
        return cli_print_help(web_help);
    const char *listen = NULL, *cache = NULL, *threads = NULL, *hash_user = NULL;
    web_opts o = {.cache_ttl = 2, .threads = 4};
    for (int i = 1; i < argc; i++) {
        int m;
        if ((m = cli_opt_value("web", argc, argv, &i, "--listen", &listen)) ||
            (m = cli_opt_value("web", argc, argv, &i, "--auth-file", &o.auth_file)) ||
            (m = cli_opt_value("web", argc, argv, &i, "--cache", &cache)) ||
            (m = cli_opt_value("web", argc, argv, &i, "--threads", &threads)) ||
            (m = cli_opt_value("web", argc, argv, &i, "--hash-password", &hash_user))) {
            if (m < 0)
                return EXIT_USAGE;
        } else if (strcmp(argv[i], "--read-only") == 0) {
            o.read_only = true;
        } else if (argv[i][0] == '-') {
            return cli_usage_error("web", "unknown option '%s'", argv[i]);
        } else {
            return cli_usage_error("web", "unexpected argument '%s'", argv[i]);
        }
    }
    if (hash_user)
        return hash_password(hash_user);
    char addr[64];
    int port = 8080;
    snprintf(addr, sizeof addr, "127.0.0.1");
    if (listen && web_parse_listen(listen, addr, sizeof addr, &port) != 0)
        return cli_usage_error("web",
                               "--listen '%s' is not ADDR:PORT with an IP address and "
                               "a port from 0 to 65535",
                               listen);
    o.addr = addr;
    o.port = port;
    if (!web_is_loopback(addr) && !o.auth_file)
        return cli_usage_error("web",
                               "--listen %s is not a loopback address: give "
                               "--auth-file too (see 'pgq web --hash-password')",
                               addr);
    double ttl;
    if (cache && (cli_parse_duration(cache, &ttl) != 0 || ttl > 3600))
        return cli_usage_error("web", "--cache '%s' is not a duration from 0 to 1h",
                               cache);
    if (cache)
        o.cache_ttl = ttl;
    long long nt;
    if (threads && cli_parse_int(threads, 1, 64, &nt) != 0)
        return cli_usage_error("web", "--threads '%s' is not a number from 1 to 64",
                               threads);
    if (threads)
        o.threads = (int)nt;
    char err[512];
    if (o.auth_file && web_auth_load_check(o.auth_file, err, sizeof err) != 0)
        return cli_usage_error("web", "%s", err);
    pgq_config cfg = g->cfg;
    if (pgq_config_validate(&cfg, err, sizeof err) != PGQ_OK)
        return cli_usage_error("web", "%s", err);
    cli_catch_stop_signals();
    if (web_serve(&cfg, &o, &cli_stop_requested, err, sizeof err) != 0) {
        cli_error("web: %s", err);
        return EXIT_FAILED;
    }
    return EXIT_OK;
}
