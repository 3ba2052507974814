/* schema.c: (to be written) */
#include "internal.h"

int pgq_install(pgq_client *c, const pgq_sql_opts *opts)
{
    (void)opts;
    return pgq__fail(c, PGQ_EINVAL, "not implemented");
}

int pgq_uninstall(pgq_client *c) { return pgq__fail(c, PGQ_EINVAL, "not implemented"); }
