/*
 * harness.h: a small TAP test harness. Each case runs in its own forked
 * process with a time limit, so a crash or hang fails that case only.
 * A failed CHECK prints what it saw and ends the case.
 */
#ifndef PGQ_TEST_HARNESS_H
#define PGQ_TEST_HARNESS_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "pgq.h"

typedef struct th_case {
    const char *name;
    void (*fn)(void);
} th_case;

#define TEST(name) static void name(void)
#define CASE(name)                                                                       \
    {                                                                                    \
#name, name                                                                      \
    }

/* Runs the cases (argv[1], if given, selects one by name). */
int th_main(const th_case *cases, size_t n, int argc, char **argv);

void th_fail(const char *file, int line, const char *fmt, ...) PGQ_PRINTF(3, 4)
    __attribute__((noreturn));

#define CHECK(cond)                                                                      \
    do {                                                                                 \
        if (!(cond))                                                                     \
            th_fail(__FILE__, __LINE__, "check failed: %s", #cond);                      \
    } while (0)
#define CHECKF(cond, ...)                                                                \
    do {                                                                                 \
        if (!(cond))                                                                     \
            th_fail(__FILE__, __LINE__, __VA_ARGS__);                                    \
    } while (0)
#define CHECK_INT(a, b)                                                                  \
    do {                                                                                 \
        long long a_ = (long long)(a), b_ = (long long)(b);                              \
        if (a_ != b_)                                                                    \
            th_fail(__FILE__, __LINE__, "%s == %lld, expected %s == %lld", #a, a_, #b,   \
                    b_);                                                                 \
    } while (0)
#define CHECK_STR(a, b)                                                                  \
    do {                                                                                 \
        const char *a_ = (a), *b_ = (b);                                                 \
        if (!a_ || !b_ || strcmp(a_, b_) != 0)                                           \
            th_fail(__FILE__, __LINE__, "%s is \"%s\", expected \"%s\"", #a,             \
                    a_ ? a_ : "(null)", b_ ? b_ : "(null)");                             \
    } while (0)
/* A pgq call that must succeed; on failure shows the handle's message. */
#define CHECK_OK(c, call)                                                                \
    do {                                                                                 \
        int rc_ = (call);                                                                \
        if (rc_ != PGQ_OK)                                                               \
            th_fail(__FILE__, __LINE__, "%s returned %s: %s", #call, pgq_err_name(rc_),  \
                    pgq_client_errmsg(c));                                               \
    } while (0)

/* ---- Database helpers (the test file's own fresh database, PGDATABASE) -- */

/* A cached libpq connection; the case fails if it cannot connect. */
PGconn *tdb(void);
/* Runs SQL that must succeed. */
void tdb_exec(const char *fmt, ...) PGQ_PRINTF(1, 2);
/* First column of the first row as an integer (NULL: -1). */
long long tdb_int(const char *fmt, ...) PGQ_PRINTF(1, 2);
/* First column of the first row; malloc'd, NULL for SQL NULL. */
char *tdb_str(const char *fmt, ...) PGQ_PRINTF(1, 2);
/* A new pgq client with the default configuration (and prefix, may be
 * NULL); the case fails if it cannot connect. */
pgq_client *tdb_client(const char *prefix);
/* Drops and installs the schema (default names) in the test database. */
void tdb_reset_schema(void);
/* tdb_reset_schema(), then a client on the fresh schema. */
pgq_client *tdb_fresh(void);

/* Seconds on the monotonic clock, for measuring waits. */
double th_now(void);

#endif
