/* verify.c: compares the database with the schema contract (in progress). */
#include "internal.h"

int pgq_verify(pgq_client *c, bool expect_present, pgq_verify_fn fn, void *ud,
               int *problems)
{
    (void)expect_present;
    (void)fn;
    (void)ud;
    *problems = 0;
    return pgq__fail(c, PGQ_EINVAL, "verify is not implemented yet");
}
