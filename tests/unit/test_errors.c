/* test_errors.c: pgq.h's status codes and the one table of src/errors.c
 * agree. Every code the header declares (read from the header's text, so
 * a code added there is walked too) has its own name and a message in the
 * table, and the table knows no code the header does not declare. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define MAX_CODES 64

static int n_codes;
static char names[MAX_CODES][32];
static long values[MAX_CODES];

/* The enum after "---- Status codes" in include/pgq.h: its
 * "PGQ_NAME = value," lines, up to the closing brace. */
static void read_header_codes(void)
{
    const char *root = getenv("PGQ_ROOT");
    CHECKF(root, "PGQ_ROOT is not set (run through ./run-tests)");
    char path[4096];
    snprintf(path, sizeof path, "%s/include/pgq.h", root);
    FILE *f = fopen(path, "r");
    CHECKF(f, "cannot open %s", path);
    char line[512];
    bool in_section = false, in_enum = false;
    n_codes = 0;
    while (fgets(line, sizeof line, f)) {
        if (!in_section) {
            in_section = strstr(line, "---- Status codes") != NULL;
            continue;
        }
        if (!in_enum) {
            in_enum = strncmp(line, "enum {", 6) == 0;
            continue;
        }
        if (line[0] == '}')
            break;
        const char *p = line;
        while (isspace((unsigned char)*p))
            p++;
        if (strncmp(p, "PGQ_", 4) != 0)
            continue;
        CHECKF(n_codes < MAX_CODES, "more than %d status codes", MAX_CODES);
        size_t len = strcspn(p, " =,");
        CHECKF(len < sizeof names[0], "name too long: %s", p);
        memcpy(names[n_codes], p, len);
        names[n_codes][len] = '\0';
        const char *eq = strchr(p, '=');
        CHECKF(eq, "no value in: %s", line);
        values[n_codes] = strtol(eq + 1, NULL, 10);
        n_codes++;
    }
    fclose(f);
    CHECKF(in_enum, "no status-code enum found in %s", path);
}

TEST(every_header_code_is_in_the_table)
{
    read_header_codes();
    CHECKF(n_codes >= 13, "only %d codes read from the header", n_codes);
    for (int i = 0; i < n_codes; i++) {
        CHECK_STR(pgq_err_name((int)values[i]), names[i]);
        CHECKF(strcmp(pgq_strerror((int)values[i]), "unknown error") != 0,
               "%s has no message in src/errors.c", names[i]);
        for (int j = 0; j < i; j++)
            CHECKF(values[i] != values[j], "%s and %s share the value %ld", names[i],
                   names[j], values[i]);
    }
}

TEST(the_table_has_no_other_code)
{
    read_header_codes();
    for (int code = -200; code <= 200; code++) {
        bool declared = false;
        for (int i = 0; i < n_codes; i++)
            declared = declared || values[i] == code;
        if (declared)
            continue;
        CHECKF(strcmp(pgq_err_name(code), "PGQ_EUNKNOWN") == 0,
               "src/errors.c names %d %s, which pgq.h does not declare", code,
               pgq_err_name(code));
        CHECK_STR(pgq_strerror(code), "unknown error");
    }
}

int main(int argc, char **argv)
{
    static const th_case cases[] = {
        CASE(every_header_code_is_in_the_table),
        CASE(the_table_has_no_other_code),
    };
    return th_main(cases, sizeof cases / sizeof cases[0], argc, argv);
}
