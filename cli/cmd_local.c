/* cmd_local.c: pgq local start|stop|status|env|destroy. */
#include <string.h>

#include "cli.h"
#include "local_cluster.h"
#include "local_fs.h"

static const char help[] =
    "Usage: pgq local start|stop|status|env|destroy [--dir DIR] [--fast]\n\n"
    "A private PostgreSQL cluster for development, demos and tests. It listens\n"
    "only on a unix socket (no TCP port) in a folder only the server's user\n"
    "may enter: its own folder, or a private mkdtemp folder in /tmp when that\n"
    "path is too long for a socket. Only root, the server's user and the user\n"
    "who started it may connect as postgres (peer authentication); other roles\n"
    "need a password. As root, the server runs as the 'postgres' user, and\n"
    "the folder must be new, empty or the cluster's own.\n\n"
    "  start     initdb if needed, then start (idempotent); says how to connect\n"
    "  stop      stop this cluster only\n"
    "  status    exit 0 if running, 1 if not\n"
    "  env       print export PGHOST=... lines: eval \"$(pgq local env)\"\n"
    "  destroy   stop and delete the cluster's files\n\n"
    "Options:\n"
    "  --dir DIR  state folder (default $XDG_STATE_HOME/pgq or\n"
    "             ~/.local/state/pgq)\n"
    "  --fast     start with fsync off (throwaway clusters, e.g. tests)\n";

int cmd_local(int argc, char **argv, cli_globals *g)
{
    (void)g;
    const char *action = NULL, *dir = NULL;
    bool fast = false;
    if (cli_wants_help(argc, argv))
        return cli_print_help(help);
    for (int i = 1; i < argc; i++) {
        int m = cli_opt_value("local", argc, argv, &i, "--dir", &dir);
        if (m < 0)
            return EXIT_USAGE;
        if (m > 0)
            continue;
        if (strcmp(argv[i], "--fast") == 0)
            fast = true;
        else if (argv[i][0] == '-')
            return cli_usage_error("local", "unknown option '%s'", argv[i]);
        else if (!action)
            action = argv[i];
        else
            return cli_usage_error("local", "unexpected argument '%s'", argv[i]);
    }
    if (!action)
        return cli_usage_error("local", "missing action: start, stop, status, env "
                                        "or destroy");
    if (strcmp(action, "start") && strcmp(action, "stop") && strcmp(action, "status") &&
        strcmp(action, "env") && strcmp(action, "destroy"))
        return cli_usage_error("local", "unknown action '%s'", action);

    /* The path ends up in the server's configuration and in shell lines. */
    if (dir && !lfs_path_ok(dir))
        return cli_usage_error("local", "--dir: the path has a control character "
                                        "(newline, tab...) or one of \" \\ $ ` "
                                        "(PostgreSQL's tools pass it to a shell); "
                                        "choose another folder");

    local_cluster lc;
    if (local_resolve(&lc, dir) != 0)
        return EXIT_FAILED;
    if (strcmp(action, "start") == 0) {
        if (local_start(&lc, fast, false) != 0)
            return EXIT_FAILED;
        fputs("connect with:\n  eval \"$(pgq local env", stdout);
        if (dir) {
            fputs(" --dir ", stdout);
            local_shell_quote(stdout, lc.dir);
        }
        fputs(")\"\n  psql -h ", stdout);
        local_shell_quote(stdout, lc.socket);
        fputs(" -p " LOCAL_PORT " -U " LOCAL_USER " postgres\n", stdout);
        return EXIT_OK;
    }
    if (strcmp(action, "stop") == 0)
        return local_stop(&lc, false) == 0 ? EXIT_OK : EXIT_FAILED;
    if (strcmp(action, "destroy") == 0)
        return local_destroy(&lc) == 0 ? EXIT_OK : EXIT_FAILED;
    int state = local_running(&lc);
    if (strcmp(action, "env") == 0) {
        if (state < 0) {
            cli_error("no local cluster in %s: run 'pgq local start'", lc.dir);
            return EXIT_FAILED;
        }
        if (!lc.socket[0]) {
            cli_error("the socket folder of %s is gone or unsafe: run 'pgq local "
                      "start' (after 'pgq local stop' if it runs)",
                      lc.dir);
            return EXIT_FAILED;
        }
        local_print_env(&lc);
        return EXIT_OK;
    }
    if (state == 1)
        printf("running: data %s, socket %s\n", lc.data, lc.socket);
    else
        printf("%s: %s\n", state == 0 ? "stopped" : "not initialised", lc.dir);
    return state == 1 ? EXIT_OK : EXIT_FAILED;
}
