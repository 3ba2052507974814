/* test_render.c: name validation, template expansion, statement splitting. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "internal.h"

static char *render(const char *prefix, const char *schema, const char *tmpl)
{
    pgq_config cfg = {.prefix = prefix, .schema = schema};
    pgq__names n;
    char err[256];
    if (pgq__names_init(&n, &cfg, err, sizeof err) != PGQ_OK)
        return NULL;
    return pgq__render(&n, tmpl);
}

TEST(names_validated)
{
    char err[256];
    const char *bad[] = {"x;drop table t", "1abc", "a-b", "a b", "\"q\"", "é"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        pgq_config p = {.prefix = bad[i]}, s = {.schema = bad[i]};
        CHECKF(pgq_config_validate(&p, err, sizeof err) == PGQ_EINVAL, "prefix %s",
               bad[i]);
        CHECK(strstr(err, "prefix") != NULL);
        CHECKF(pgq_config_validate(&s, err, sizeof err) == PGQ_EINVAL, "schema %s",
               bad[i]);
        CHECK(strstr(err, "schema") != NULL);
    }
    pgq_config ok = {.prefix = "app_", .schema = "Jobs_1"};
    CHECK(pgq_config_validate(&ok, err, sizeof err) == PGQ_OK);
}

TEST(placeholders_expand)
{
    char *s = render("app_", "s",
                     "SELECT {Q:pgqueuer}, {N:pgqueuer_x_idx}, {CHANNEL}, "
                     "{L:pgqueuer}, {LQ:pgqueuer_statistics}, '{}', {SCHEMA_L}");
    CHECK(s != NULL);
    CHECK_STR(s,
              "SELECT \"s\".\"app_pgqueuer\", \"app_pgqueuer_x_idx\", 'app_ch_pgqueuer', "
              "'app_pgqueuer', '\"s\".\"app_pgqueuer_statistics\"', '{}', 's'");
    free(s);
    s = render(NULL, NULL, "{Q:pgqueuer} {SCHEMA_L} {unknown}");
    CHECK_STR(s, "\"pgqueuer\" current_schema() {unknown}");
    free(s);
}

TEST(statements_split)
{
    const char *script = "-- header comment\n-- more\n\nCREATE TABLE a (x int);\n\n"
                         "CREATE FUNCTION f() AS $$\nBEGIN\n  x;\nEND;\n$$;\n\n\n";
    const char *pos = script;
    char *a = pgq__next_statement(&pos);
    char *b = pgq__next_statement(&pos);
    char *c = pgq__next_statement(&pos);
    CHECK_STR(a, "CREATE TABLE a (x int);");
    CHECK_STR(b, "CREATE FUNCTION f() AS $$\nBEGIN\n  x;\nEND;\n$$;");
    CHECK(c == NULL);
    free(a);
    free(b);
}

TEST(array_escapes)
{
    pgq__buf b = {0};
    pgq__buf_putc(&b, '{');
    pgq__buf_array_elem(&b, "a\"b\\c");
    pgq__buf_putc(&b, ',');
    pgq__buf_array_elem(&b, NULL);
    pgq__buf_putc(&b, ',');
    pgq__buf_array_bytea(&b, "\0\xff", 2);
    pgq__buf_putc(&b, '}');
    CHECK_STR(pgq__buf_cstr(&b), "{\"a\\\"b\\\\c\",NULL,\"\\\\x00ff\"}");
    pgq__buf_free(&b);
    unsigned char *p;
    size_t n;
    CHECK(pgq__bytea_decode("\\x00ff41", &p, &n) == PGQ_OK);
    CHECK_INT(n, 3);
    CHECK(p[0] == 0 && p[1] == 0xff && p[2] == 'A');
    free(p);
    CHECK(pgq__bytea_decode("\\x0", &p, &n) == PGQ_EINVAL);
}

int main(int argc, char **argv)
{
    static const th_case cases[] = {CASE(names_validated), CASE(placeholders_expand),
                                    CASE(statements_split), CASE(array_escapes)};
    return th_main(cases, sizeof cases / sizeof cases[0], argc, argv);
}
