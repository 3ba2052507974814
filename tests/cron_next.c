/* cron_next.c: a test helper for the croniter oracle (cli_cron_oracle.sh).
 * Reads lines "START<TAB>COUNT<TAB>EXPRESSION" (START in Unix seconds) and
 * prints one line each: "ok<TAB>TEXT<TAB>T1 T2 ..." with COUNT fire times,
 * "never<TAB>TEXT" when the expression parses but does not fire, or
 * "invalid<TAB>MESSAGE". */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgq.h"

static void one(char *line)
{
    char *tab1 = strchr(line, '\t');
    char *tab2 = tab1 ? strchr(tab1 + 1, '\t') : NULL;
    if (!tab2) {
        printf("invalid\tmalformed input line\n");
        return;
    }
    *tab1 = *tab2 = '\0';
    int64_t t = strtoll(line, NULL, 10);
    long count = strtol(tab1 + 1, NULL, 10);
    char err[512];
    pgq_cron *c;
    if (pgq_cron_parse(tab2 + 1, &c, err, sizeof err) != PGQ_OK) {
        printf("invalid\t%s\n", err);
        return;
    }
    int64_t next;
    if (pgq_cron_next(c, t, &next) != PGQ_OK) {
        printf("never\t%s\n", pgq_cron_text(c));
        pgq_cron_free(c);
        return;
    }
    printf("ok\t%s\t", pgq_cron_text(c));
    for (long i = 0; i < count; i++) {
        if (i > 0 && pgq_cron_next(c, t, &next) != PGQ_OK)
            break;
        printf(i ? " %" PRId64 : "%" PRId64, next);
        t = next;
    }
    putchar('\n');
    pgq_cron_free(c);
}

int main(void)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, stdin)) > 0) {
        if (line[n - 1] == '\n')
            line[n - 1] = '\0';
        one(line);
    }
    free(line);
    return 0;
}
