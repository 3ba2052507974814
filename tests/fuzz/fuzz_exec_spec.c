/*
 * fuzz_exec_spec.c: `pgq run --exec ENTRYPOINT=COMMAND` specs
 * (cli_parse_exec_spec, cli/parse.c), with the 256-byte name buffer
 * cmd_run.c gives it.
 *
 * Invariants: a spec is accepted exactly when it has a '=' with a
 * non-empty name of at most 255 bytes before it and a non-empty command
 * after it; the name holds no '='; name, '=' and command put back together
 * are the spec; the command points into the spec (no copy to free); the
 * name buffer is never written past its end.
 */
#include <stdbool.h>

#include "cli.h"
#include "fuzz.h"

enum { NAME_BUF = 256 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_cstr(data, size);
    /* Guard bytes after the buffer catch an overrun without ASan too. */
    char name[NAME_BUF + 8];
    memset(name, 0x5a, sizeof name);
    const char *command = NULL;
    const char *eq = strchr(s, '=');
    bool want = eq && eq != s && (size_t)(eq - s) < NAME_BUF && eq[1] != '\0';

    int rc = cli_parse_exec_spec(s, name, NAME_BUF, &command);
    FUZZ_CHECK((rc == 0) == want);
    for (size_t i = NAME_BUF; i < sizeof name; i++)
        FUZZ_CHECK(name[i] == 0x5a);
    if (rc == 0) {
        size_t nlen = strlen(name);
        FUZZ_CHECK(nlen > 0 && nlen < NAME_BUF && !strchr(name, '='));
        FUZZ_CHECK(command == s + nlen + 1 && *command != '\0');
        FUZZ_CHECK(memcmp(s, name, nlen) == 0 && s[nlen] == '=');
    }
    free(s);
    return 0;
}
