/* cmd_failed.c: (to be written) */
#include "cli.h"

int cmd_list_failed(int argc, char **argv, cli_globals *g)
{
    (void)argc;
    (void)g;
    if (cli_wants_help(argc, argv))
        return cli_print_help("Usage: pgq cmd_list_failed\n(not implemented yet)\n");
    cli_error("%s: not implemented yet", argv[0]);
    return EXIT_FAILED;
}

int cmd_failed(int argc, char **argv, cli_globals *g)
{
    (void)argc;
    (void)g;
    if (cli_wants_help(argc, argv))
        return cli_print_help("Usage: pgq cmd_failed\n(not implemented yet)\n");
    cli_error("%s: not implemented yet", argv[0]);
    return EXIT_FAILED;
}

int cmd_requeue_failed(int argc, char **argv, cli_globals *g)
{
    (void)argc;
    (void)g;
    if (cli_wants_help(argc, argv))
        return cli_print_help("Usage: pgq cmd_requeue_failed\n(not implemented yet)\n");
    cli_error("%s: not implemented yet", argv[0]);
    return EXIT_FAILED;
}

int cmd_requeue(int argc, char **argv, cli_globals *g)
{
    (void)argc;
    (void)g;
    if (cli_wants_help(argc, argv))
        return cli_print_help("Usage: pgq cmd_requeue\n(not implemented yet)\n");
    cli_error("%s: not implemented yet", argv[0]);
    return EXIT_FAILED;
}

int cmd_mark_failed(int argc, char **argv, cli_globals *g)
{
    (void)argc;
    (void)g;
    if (cli_wants_help(argc, argv))
        return cli_print_help("Usage: pgq cmd_mark_failed\n(not implemented yet)\n");
    cli_error("%s: not implemented yet", argv[0]);
    return EXIT_FAILED;
}

