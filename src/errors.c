/* errors.c: the one table of status codes, and job-status names. */
#include <string.h>

#include "internal.h"

static const struct {
    int code;
    const char *name;
    const char *text;
} codes[] = {
    {PGQ_OK, "PGQ_OK", "success"},
    {PGQ_ENOMEM, "PGQ_ENOMEM", "out of memory"},
    {PGQ_EINVAL, "PGQ_EINVAL", "invalid argument"},
    {PGQ_ECONNECT, "PGQ_ECONNECT", "cannot connect to the database"},
    {PGQ_ESQL, "PGQ_ESQL", "the database reported an error"},
    {PGQ_EDEDUPE, "PGQ_EDEDUPE", "dedupe key already taken by an active job"},
    {PGQ_ENOSCHEMA, "PGQ_ENOSCHEMA", "the pgq schema is not installed"},
    {PGQ_EEXISTS, "PGQ_EEXISTS", "already exists (installed, or registered)"},
    {PGQ_EIO, "PGQ_EIO", "input/output error"},
    {PGQ_ENOTFOUND, "PGQ_ENOTFOUND", "not found"},
    {PGQ_ESTATE, "PGQ_ESTATE", "not in a state that allows this"},
    {PGQ_ESTOPPED, "PGQ_ESTOPPED", "stopped"},
    {PGQ_ETIMEDOUT, "PGQ_ETIMEDOUT", "timed out"},
};

const char *pgq_strerror(int code)
{
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        if (codes[i].code == code)
            return codes[i].text;
    return "unknown error";
}

const char *pgq_err_name(int code)
{
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        if (codes[i].code == code)
            return codes[i].name;
    return "PGQ_EUNKNOWN";
}

/* The order is the enum's order in the database (docs/design.md §3.1). */
static const char *const status_names[] = {
    "queued", "picked", "successful", "exception", "canceled", "deleted", "failed",
};

const char *pgq_job_status_name(pgq_job_status s)
{
    if ((int)s < 0 || (size_t)s >= sizeof status_names / sizeof status_names[0])
        return NULL;
    return status_names[s];
}

int pgq_job_status_parse(const char *name, pgq_job_status *out)
{
    for (size_t i = 0; name && i < sizeof status_names / sizeof status_names[0]; i++) {
        if (strcmp(name, status_names[i]) == 0) {
            *out = (pgq_job_status)i;
            return PGQ_OK;
        }
    }
    return PGQ_EINVAL;
}

int pgq_durability_parse(const char *name, pgq_durability *out)
{
    static const char *const names[] = {"durable", "balanced", "volatile"};
    for (size_t i = 0; name && i < 3; i++) {
        if (strcmp(name, names[i]) == 0) {
            *out = (pgq_durability)i;
            return PGQ_OK;
        }
    }
    return PGQ_EINVAL;
}
