/* cmd_cancel.c: (to be written) */
#include "cli.h"

int cmd_cancel(int argc, char **argv, cli_globals *g)
{
    (void)argc;
    (void)g;
    if (cli_wants_help(argc, argv))
        return cli_print_help("Usage: pgq cmd_cancel\n(not implemented yet)\n");
    cli_error("%s: not implemented yet", argv[0]);
    return EXIT_FAILED;
}

int cmd_clear(int argc, char **argv, cli_globals *g)
{
    (void)argc;
    (void)g;
    if (cli_wants_help(argc, argv))
        return cli_print_help("Usage: pgq cmd_clear\n(not implemented yet)\n");
    cli_error("%s: not implemented yet", argv[0]);
    return EXIT_FAILED;
}

int cmd_prune(int argc, char **argv, cli_globals *g)
{
    (void)argc;
    (void)g;
    if (cli_wants_help(argc, argv))
        return cli_print_help("Usage: pgq cmd_prune\n(not implemented yet)\n");
    cli_error("%s: not implemented yet", argv[0]);
    return EXIT_FAILED;
}

