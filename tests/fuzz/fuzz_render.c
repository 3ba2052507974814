/*
 * fuzz_render.c: object names and the SQL template renderer
 * (pgq__names_init, pgq__render, pgq__next_statement in src/render.c and
 * src/config.c; pgq_sql_render in src/schema.c).
 *
 * Input: line 1 the prefix, line 2 the schema, line 3 a placeholder
 * argument, the rest a template (none: check the complete scripts).
 *
 * Invariants: a prefix or schema is accepted exactly when it matches
 * ^[A-Za-z_][A-Za-z0-9_]*$ and is under 50 bytes (and, as PgQueuer
 * spells names unquoted, a prefix has no capitals and a schema is folded to
 * lower case and is no reserved word); a rendered {Q:x}, {N:x},
 * {L:x} or {LQ:x} is exactly one quoted (schema-qualified) identifier or
 * one string literal, well-formed however x is spelled, and names the
 * right object; text without braces renders unchanged; splitting rendered
 * text into statements ends, and yields trimmed statements without blank
 * lines; every script pgq_sql_render produces has no placeholder left;
 * and whenever install accepts a prefix, every object name any template
 * builds from it fits PostgreSQL's 63-byte identifiers (longer ones are
 * silently truncated by the server, and would no longer match).
 */
#include <stdbool.h>

#include "fuzz.h"
#include "internal.h"

enum { NAMEDATALEN_MAX = 63 };

static bool ref_ident(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= 50)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool alpha = c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
        if (!alpha && !(i > 0 && c >= '0' && c <= '9'))
            return false;
    }
    return true;
}

/* Scans one token quoted with q ('"' or '\'') at *p, doubled quotes inside,
 * appending its unescaped content to out; false if malformed. */
static bool quoted(const char **p, char q, pgq__buf *out)
{
    const char *s = *p;
    if (*s++ != q)
        return false;
    for (;; s++) {
        if (*s == '\0')
            return false;
        if (*s == q) {
            if (s[1] != q)
                break;
            s++;
        }
        pgq__buf_putc(out, *s);
    }
    *p = s + 1;
    return true;
}

/* Checks that text is exactly the identifier (qualified by schema when
 * given) of name. */
static void check_ident(const char *text, const char *schema, const char *name)
{
    const char *p = text;
    pgq__buf got = {0};
    if (schema) {
        FUZZ_CHECK(quoted(&p, '"', &got) && *p++ == '.');
        FUZZ_CHECK(strcmp(pgq__buf_cstr(&got), schema) == 0);
        pgq__buf_reset(&got);
    }
    FUZZ_CHECK(quoted(&p, '"', &got) && *p == '\0');
    FUZZ_CHECK(strcmp(pgq__buf_cstr(&got), name) == 0);
    pgq__buf_free(&got);
}

static char *render1(const pgq__names *n, const char *kind, const char *arg)
{
    pgq__buf t = {0};
    pgq__buf_printf(&t, "{%s:%s}", kind, arg);
    char *out = pgq__render(n, pgq__buf_cstr(&t));
    FUZZ_CHECK(out);
    pgq__buf_free(&t);
    return out;
}

/* One placeholder with a fuzzed argument renders to one well-formed token. */
static void check_placeholders(const pgq__names *n, const char *arg)
{
    const char *schema = n->schema[0] ? n->schema : NULL;
    pgq__buf name = {0};
    pgq__buf_printf(&name, "%s%s", n->prefix, arg);
    const char *full = pgq__buf_cstr(&name);
    FUZZ_CHECK(full);

    char *q = render1(n, "Q", arg);
    check_ident(q, schema, full);
    char *id = render1(n, "N", arg);
    check_ident(id, NULL, full);

    const char *p;
    pgq__buf lit = {0};
    char *l = render1(n, "L", arg);
    p = l;
    FUZZ_CHECK(quoted(&p, '\'', &lit) && *p == '\0');
    FUZZ_CHECK(strcmp(pgq__buf_cstr(&lit), full) == 0);
    pgq__buf_reset(&lit);
    char *lq = render1(n, "LQ", arg);
    p = lq;
    FUZZ_CHECK(quoted(&p, '\'', &lit) && *p == '\0');
    FUZZ_CHECK(strcmp(pgq__buf_cstr(&lit), q) == 0);

    pgq__buf_free(&lit);
    pgq__buf_free(&name);
    free(q);
    free(id);
    free(l);
    free(lq);
}

static void check_statements(const char *sql)
{
    const char *pos = sql;
    size_t rounds = 0, len = strlen(sql);
    char *stmt;
    while ((stmt = pgq__next_statement(&pos)) != NULL) {
        FUZZ_CHECK(++rounds <= len);
        FUZZ_CHECK(pos >= sql && pos <= sql + len);
        size_t n = strlen(stmt);
        FUZZ_CHECK(n > 0 && stmt[0] != ' ' && stmt[0] != '\n' && stmt[0] != '\t');
        FUZZ_CHECK(stmt[n - 1] != ' ' && stmt[n - 1] != '\n');
        FUZZ_CHECK(!strstr(stmt, "\n\n"));
        free(stmt);
    }
    FUZZ_CHECK(*pos == '\0');
}

/* True if s holds a placeholder the renderer should have replaced. */
static bool leftover(const char *s)
{
    for (const char *p = strchr(s, '{'); p; p = strchr(p + 1, '{')) {
        const char *q = p + 1;
        while ((*q >= 'A' && *q <= 'Z') || *q == '_')
            q++;
        if (q > p + 1 && (*q == ':' || *q == '}'))
            return true;
    }
    return false;
}

/* Every object name the templates build from the prefix, against the limit. */
static void check_name_lengths(const char *prefix)
{
    for (size_t t = 0; pgq__sql_all[t]; t++) {
        const char *s = pgq__sql_all[t];
        for (const char *p = strchr(s, '{'); p; p = strchr(p + 1, '{')) {
            const char *colon = strchr(p, ':'), *close = strchr(p, '}');
            if (!colon || !close || colon > close || colon - p > 3)
                continue;
            size_t len = strlen(prefix) + (size_t)(close - colon - 1);
            if (len > NAMEDATALEN_MAX)
                fprintf(stderr, "%s.sql: %.*s is %zu bytes with prefix '%s'\n",
                        pgq__sql_all_names[t], (int)(close - p + 1), p, len, prefix);
            FUZZ_CHECK(len <= NAMEDATALEN_MAX);
        }
    }
}

static void check_scripts(const pgq_config *cfg, const char *prefix)
{
    for (int k = PGQ_SQL_INSTALL; k <= PGQ_SQL_AUTOVAC_ROLLBACK; k++) {
        char *sql = NULL, err[256] = "";
        pgq_sql_opts o = {.durability = (pgq_durability)(strlen(prefix) % 3)};
        int rc = pgq_sql_render(cfg, (pgq_sql_kind)k, &o, &sql, err, sizeof err);
        if (k != PGQ_SQL_INSTALL)
            FUZZ_CHECK(rc == PGQ_OK);
        if (rc != PGQ_OK) {
            FUZZ_CHECK(rc == PGQ_EINVAL && !sql && err[0]);
            continue;
        }
        FUZZ_CHECK(sql && !leftover(sql));
        if (k == PGQ_SQL_INSTALL)
            check_name_lengths(prefix);
        free(sql);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_cstr(data, size), *rest = s;
    const char *prefix = fuzz_line(&rest);
    const char *schema = fuzz_line(&rest);
    const char *arg = fuzz_line(&rest);
    const char *tmpl = rest;

    pgq_config cfg = {.prefix = prefix, .schema = schema};
    pgq__names n;
    char err[300] = "";
    int rc = pgq__names_init(&n, &cfg, err, sizeof err);
    /* Names are addressed as PgQueuer (which does not quote them) spells
     * them: a prefix with capitals is refused, a schema folded to lower
     * case, and one that is a reserved word refused (said so). */
    bool upper = false;
    for (const char *p = prefix; *p; p++)
        upper = upper || (*p >= 'A' && *p <= 'Z');
    bool want =
        (!*prefix || (ref_ident(prefix) && !upper)) && (!*schema || ref_ident(schema));
    if (want && rc != PGQ_OK)
        FUZZ_CHECK(*schema && strstr(err, "reserved word"));
    else
        FUZZ_CHECK((rc == PGQ_OK) == want);
    if (rc != PGQ_OK) {
        FUZZ_CHECK(rc == PGQ_EINVAL && err[0]);
        free(s);
        return 0;
    }
    char lower[64] = "";
    for (size_t i = 0; schema[i] && i + 1 < sizeof lower; i++)
        lower[i] = (char)(schema[i] >= 'A' && schema[i] <= 'Z' ? schema[i] - 'A' + 'a'
                                                               : schema[i]);
    FUZZ_CHECK(strcmp(n.prefix, prefix) == 0 && strcmp(n.schema, lower) == 0);
    FUZZ_CHECK(strlen(n.channel) == strlen(prefix) + 11 &&
               strncmp(n.channel, prefix, strlen(prefix)) == 0 &&
               strcmp(n.channel + strlen(prefix), "ch_pgqueuer") == 0);

    /* A placeholder body holds no brace, blank or newline and is short. */
    if (!strpbrk(arg, "{} \t\n") && strlen(arg) + 3 < 96)
        check_placeholders(&n, arg);

    char *out = pgq__render(&n, tmpl);
    FUZZ_CHECK(out);
    if (!strchr(tmpl, '{'))
        FUZZ_CHECK(strcmp(out, tmpl) == 0);
    check_statements(out);
    free(out);

    /* The scripts depend on the names only, and take long to render: with
     * a template to check, the fuzzer's time goes to the renderer. */
    if (!*tmpl)
        check_scripts(&cfg, prefix);
    free(s);
    return 0;
}
