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

/* PostgreSQL's reserved keywords (pg_get_keywords() catcode R and T): as an
 * unquoted schema name, which is how PgQueuer writes it, each is a syntax
 * error, so PgQueuer could never use such a schema. */
static const char *const reserved[] = {"all",
                                       "analyse",
                                       "analyze",
                                       "and",
                                       "any",
                                       "array",
                                       "as",
                                       "asc",
                                       "asymmetric",
                                       "authorization",
                                       "binary",
                                       "both",
                                       "case",
                                       "cast",
                                       "check",
                                       "collate",
                                       "collation",
                                       "column",
                                       "concurrently",
                                       "constraint",
                                       "create",
                                       "cross",
                                       "current_catalog",
                                       "current_date",
                                       "current_role",
                                       "current_schema",
                                       "current_time",
                                       "current_timestamp",
                                       "current_user",
                                       "default",
                                       "deferrable",
                                       "desc",
                                       "distinct",
                                       "do",
                                       "else",
                                       "end",
                                       "except",
                                       "false",
                                       "fetch",
                                       "for",
                                       "foreign",
                                       "freeze",
                                       "from",
                                       "full",
                                       "grant",
                                       "group",
                                       "having",
                                       "ilike",
                                       "in",
                                       "initially",
                                       "inner",
                                       "intersect",
                                       "into",
                                       "is",
                                       "isnull",
                                       "join",
                                       "lateral",
                                       "leading",
                                       "left",
                                       "like",
                                       "limit",
                                       "localtime",
                                       "localtimestamp",
                                       "natural",
                                       "not",
                                       "notnull",
                                       "null",
                                       "offset",
                                       "on",
                                       "only",
                                       "or",
                                       "order",
                                       "outer",
                                       "overlaps",
                                       "placing",
                                       "primary",
                                       "references",
                                       "returning",
                                       "right",
                                       "select",
                                       "session_user",
                                       "similar",
                                       "some",
                                       "symmetric",
                                       "table",
                                       "tablesample",
                                       "then",
                                       "to",
                                       "trailing",
                                       "true",
                                       "union",
                                       "unique",
                                       "user",
                                       "using",
                                       "variadic",
                                       "verbose",
                                       "when",
                                       "where",
                                       "window",
                                       "with"};

static bool is_reserved(const char *s)
{
    for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
        if (strcmp(reserved[i], s) == 0)
            return true;
    return false;
}

static bool has_upper(const char *s)
{
    for (; *s; s++)
        if (*s >= 'A' && *s <= 'Z')
            return true;
    return false;
}

/* PgQueuer writes names unquoted, so PostgreSQL folds them to lower case,
 * while its catalog checks compare the name as given. pgq addresses the
 * objects PgQueuer's statements address: a schema is lower-cased as PgQueuer
 * itself does; a prefix with capitals is refused, because PgQueuer's own
 * start-up check could never find the tables its install made with it. */
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
    if (*prefix && has_upper(prefix)) {
        if (err)
            snprintf(err, errlen,
                     "invalid prefix '%s': PgQueuer does not quote names, so its tables "
                     "would be lower-case while its checks look for '%spgqueuer'; use "
                     "lower case",
                     prefix, prefix);
        return PGQ_EINVAL;
    }
    snprintf(n->prefix, sizeof n->prefix, "%s", prefix);
    snprintf(n->schema, sizeof n->schema, "%s", schema);
    for (char *p = n->schema; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    if (n->schema[0] && is_reserved(n->schema)) {
        if (err)
            snprintf(err, errlen,
                     "invalid schema '%s': a reserved word, which PgQueuer (writing "
                     "names unquoted) cannot use",
                     schema);
        return PGQ_EINVAL;
    }
    snprintf(n->channel, sizeof n->channel, "%sch_pgqueuer", prefix);
    return PGQ_OK;
}
