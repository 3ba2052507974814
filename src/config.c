/* config.c: configuration from the environment, and name validation. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static const char *env_nonempty(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

void pgq_config_from_env(pgq_config *cfg)
{
    if (!cfg->dsn)
        cfg->dsn = env_nonempty("PGDSN");
    if (!cfg->dsn)
        cfg->dsn = env_nonempty("PGQUEUER_DSN");
    if (!cfg->prefix)
        cfg->prefix = env_nonempty("PGQUEUER_PREFIX");
    if (!cfg->schema)
        cfg->schema = env_nonempty("PGQUEUER_SCHEMA");
    if (!cfg->application_name)
        cfg->application_name = env_nonempty("PGQUEUER_APPLICATION_NAME");
    if (!cfg->no_prepare) {
        const char *p = env_nonempty("PGQ_PREPARE");
        cfg->no_prepare = p && strcmp(p, "off") == 0;
    }
    if (!cfg->connect_timeout) {
        const char *t = env_nonempty("PGQUEUER_CONNECT_TIMEOUT");
        if (t)
            cfg->connect_timeout = atoi(t);
    }
}

bool pgq__ident_ok(const char *s)
{
    if (!s || !*s || strlen(s) >= 50)
        return false;
    if (!(*s == '_' || (*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z')))
        return false;
    for (const char *p = s + 1; *p; p++)
        if (!(*p == '_' || (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
              (*p >= '0' && *p <= '9')))
            return false;
    return true;
}

int pgq_config_validate(const pgq_config *cfg, char *err, size_t errlen)
{
    pgq__names n;
    return pgq__names_init(&n, cfg, err, errlen);
}

int pgq__names_init(pgq__names *n, const pgq_config *cfg, char *err, size_t errlen)
{
    const char *prefix = cfg && cfg->prefix ? cfg->prefix : "";
    const char *schema = cfg && cfg->schema ? cfg->schema : "";
    memset(n, 0, sizeof *n);
    if (*prefix && !pgq__ident_ok(prefix)) {
        if (err)
            snprintf(err, errlen,
                     "invalid prefix '%s': it must match ^[A-Za-z_][A-Za-z0-9_]*$ "
                     "and be under 50 characters",
                     prefix);
        return PGQ_EINVAL;
    }
    if (*schema && !pgq__ident_ok(schema)) {
        if (err)
            snprintf(err, errlen,
                     "invalid schema '%s': it must be one identifier matching "
                     "^[A-Za-z_][A-Za-z0-9_]*$",
                     schema);
        return PGQ_EINVAL;
    }
    snprintf(n->prefix, sizeof n->prefix, "%s", prefix);
    snprintf(n->schema, sizeof n->schema, "%s", schema);
    snprintf(n->channel, sizeof n->channel, "%sch_pgqueuer", prefix);
    return PGQ_OK;
}
