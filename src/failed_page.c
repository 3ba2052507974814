/* failed_page.c: pgq_list_failed_page, the held jobs a page at a time by
 * id (src/sql/failed_page.sql), for the web console's failed-jobs page. */
#include <stdio.h>

#include "internal.h"

int pgq_list_failed_page(pgq_client *c, const char *entrypoint, int64_t before_id,
                         int limit, pgq_failed_set *out)
{
    if (!c)
        return PGQ_EINVAL;
    char lim[16], before[24];
    out->count = 0;
    out->jobs = NULL;
    if (limit < 1 || limit > 10000 || before_id < 0)
        return pgq__fail(c, PGQ_EINVAL,
                         "failed page: limit %d not in 1..10000 or a "
                         "negative id",
                         limit);
    snprintf(lim, sizeof lim, "%d", limit);
    snprintf(before, sizeof before, "%lld", (long long)before_id);
    const char *values[3] = {lim, entrypoint, before_id > 0 ? before : NULL};
    int rc;
    PGresult *r = pgq__exec(c, PGQ__FAILED_PAGE, 3, values, NULL, NULL, &rc);
    if (r && (rc = pgq__failed_from_result(r, true, out)) != PGQ_OK)
        rc = pgq__fail(c, rc, "failed page: cannot decode the result");
    PQclear(r);
    return rc;
}
