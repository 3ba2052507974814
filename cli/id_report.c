/* id_report.c: the wording of per-id results of requeue-failed and
 * mark-failed, shared by the terminal commands and the web console so an
 * operator reads the same sentences in both. */
#include <stdio.h>

#include "cli.h"

const char *cli_id_reason(const pgq_id_outcome *o, char *buf, size_t n)
{
    if (o->result == PGQ_ID_NOT_FOUND)
        return "no such job";
    if (o->result == PGQ_ID_DEDUPE_TAKEN)
        return "its dedupe key is now taken by another active job";
    if (o->status == PGQ_FAILED)
        return "already failed";
    snprintf(buf, n, "not failed (it is %s)", pgq_job_status_name(o->status));
    return buf;
}

size_t cli_id_report(const pgq_id_outcome *o, size_t n, const char *done,
                     const char *verb, cli_line_fn line, void *ud)
{
    size_t ok = 0;
    char text[256], buf[64];
    for (size_t i = 0; i < n; i++) {
        if (o[i].result != PGQ_ID_DONE)
            continue;
        snprintf(text, sizeof text, "%s %lld", done, (long long)o[i].id);
        line(ud, true, text);
        ok++;
    }
    for (size_t i = 0; i < n; i++) {
        if (o[i].result == PGQ_ID_DONE)
            continue;
        snprintf(text, sizeof text, "not %s %lld: %s", done, (long long)o[i].id,
                 cli_id_reason(&o[i], buf, sizeof buf));
        line(ud, false, text);
    }
    snprintf(text, sizeof text, "%zu of %zu job%s %s", ok, n, n == 1 ? "" : "s", verb);
    line(ud, ok == n, text);
    return ok;
}
