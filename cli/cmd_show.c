/* cmd_show.c: (to be written) */
#include "cli.h"

int cmd_show(int argc, char **argv, cli_globals *g)
{
    (void)argc;
    (void)g;
    if (cli_wants_help(argc, argv))
        return cli_print_help("Usage: pgq cmd_show\n(not implemented yet)\n");
    cli_error("%s: not implemented yet", argv[0]);
    return EXIT_FAILED;
}

