/* cmd_schema.c: (to be written) */
#include "cli.h"

int cmd_install(int argc, char **argv, cli_globals *g)
{
    (void)argc;
    (void)g;
    if (cli_wants_help(argc, argv))
        return cli_print_help("Usage: pgq cmd_install\n(not implemented yet)\n");
    cli_error("%s: not implemented yet", argv[0]);
    return EXIT_FAILED;
}

int cmd_uninstall(int argc, char **argv, cli_globals *g)
{
    (void)argc;
    (void)g;
    if (cli_wants_help(argc, argv))
        return cli_print_help("Usage: pgq cmd_uninstall\n(not implemented yet)\n");
    cli_error("%s: not implemented yet", argv[0]);
    return EXIT_FAILED;
}

int cmd_upgrade(int argc, char **argv, cli_globals *g)
{
    (void)argc;
    (void)g;
    if (cli_wants_help(argc, argv))
        return cli_print_help("Usage: pgq cmd_upgrade\n(not implemented yet)\n");
    cli_error("%s: not implemented yet", argv[0]);
    return EXIT_FAILED;
}

int cmd_verify(int argc, char **argv, cli_globals *g)
{
    (void)argc;
    (void)g;
    if (cli_wants_help(argc, argv))
        return cli_print_help("Usage: pgq cmd_verify\n(not implemented yet)\n");
    cli_error("%s: not implemented yet", argv[0]);
    return EXIT_FAILED;
}

int cmd_durability(int argc, char **argv, cli_globals *g)
{
    (void)argc;
    (void)g;
    if (cli_wants_help(argc, argv))
        return cli_print_help("Usage: pgq cmd_durability\n(not implemented yet)\n");
    cli_error("%s: not implemented yet", argv[0]);
    return EXIT_FAILED;
}

int cmd_autovac(int argc, char **argv, cli_globals *g)
{
    (void)argc;
    (void)g;
    if (cli_wants_help(argc, argv))
        return cli_print_help("Usage: pgq cmd_autovac\n(not implemented yet)\n");
    cli_error("%s: not implemented yet", argv[0]);
    return EXIT_FAILED;
}

int cmd_sql(int argc, char **argv, cli_globals *g)
{
    (void)argc;
    (void)g;
    if (cli_wants_help(argc, argv))
        return cli_print_help("Usage: pgq cmd_sql\n(not implemented yet)\n");
    cli_error("%s: not implemented yet", argv[0]);
    return EXIT_FAILED;
}

