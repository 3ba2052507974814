/* test_parse.c: the CLI's parsers (durations, job-id lists, integers). */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "harness.h"

static double dur(const char *s)
{
    double v = -1;
    return cli_parse_duration(s, &v) == 0 ? v : -1;
}

TEST(durations_accepted)
{
    CHECK(dur("30s") == 30);
    CHECK(dur("5m") == 300);
    CHECK(dur("1h30m") == 5400);
    CHECK(dur("250ms") == 0.25);
    CHECK(dur("2d") == 172800);
    CHECK(dur("45") == 45);
    CHECK(dur("1.5s") == 1.5);
    CHECK(dur("0") == 0);
    CHECK(dur("0.5") == 0.5);
    CHECK(dur("1.25m") == 75);
    CHECK(dur("010") == 10); /* decimal, not octal */
}

TEST(numbers)
{
    double v = -1;
    CHECK(cli_parse_number("0.5", &v) == 0 && v == 0.5);
    CHECK(cli_parse_number("12", &v) == 0 && v == 12);
    const char *bad[] = {"", "1e-13", "0x10", "-1", "+1", "inf", "nan", ".5", "5.", "1 "};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECKF(cli_parse_number(bad[i], &v) != 0, "'%s' was accepted", bad[i]);
}

TEST(durations_refused)
{
    const char *bad[] = {"", "s", "5x", "-5s", "5s-", "1h 30m", "abc", "5mm", "1e99",
                         "nan", "inf", ".5s", "0x10", "1e3", "1e3s", "0x10s", "1.s",
                         "1.5e2m", "+5s", " 5s",
                         /* found by tests/fuzz/fuzz_duration */
                         "0e99", "0x1p4", "0x5s", "1.e2s"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECKF(dur(bad[i]) < 0, "'%s' was accepted", bad[i]);
}

TEST(id_lists_accepted)
{
    int64_t *ids;
    size_t n;
    char err[200];
    CHECK(cli_parse_id_list("1,2,3", &ids, &n, err, sizeof err) == 0);
    CHECK_INT(n, 3);
    CHECK_INT(ids[2], 3);
    free(ids);
    CHECK(cli_parse_id_list(" 7 , 7,8 ", &ids, &n, err, sizeof err) == 0);
    CHECK_INT(n, 2);
    CHECK_INT(ids[0], 7);
    CHECK_INT(ids[1], 8);
    free(ids);
    CHECK(cli_parse_id_list("9223372036854775807", &ids, &n, err, sizeof err) == 0);
    CHECK_INT(ids[0], INT64_MAX);
    free(ids);
}

TEST(id_lists_refused)
{
    const char *bad[] = {"",
                         " ",
                         "1,x",
                         "-3",
                         "0",
                         "1,,2",
                         ",1",
                         "1,",
                         "9223372036854775808",
                         "99999999999999999999999",
                         "1.5",
                         "+"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t *ids = NULL;
        size_t n = 0;
        char err[200] = "";
        CHECKF(cli_parse_id_list(bad[i], &ids, &n, err, sizeof err) != 0,
               "'%s' was accepted", bad[i]);
        CHECKF(err[0] != '\0', "no message for '%s'", bad[i]);
        CHECK(ids == NULL);
    }
}

TEST(integers)
{
    long long v;
    CHECK(cli_parse_int("10", 1, 100, &v) == 0 && v == 10);
    CHECK(cli_parse_int("0", 1, 100, &v) != 0);
    CHECK(cli_parse_int("10a", 1, 100, &v) != 0);
    CHECK(cli_parse_int("", 1, 100, &v) != 0);
    CHECK(cli_parse_int("-5", -10, 10, &v) == 0 && v == -5);
}

TEST(assignments)
{
    char name[64];
    const char *value;
    CHECK(cli_split_assignment("ep=echo a=b", name, sizeof name, &value) == 0);
    CHECK_STR(name, "ep");
    CHECK_STR(value, "echo a=b");
    CHECK(cli_split_assignment("=x", name, sizeof name, &value) != 0);
    CHECK(cli_split_assignment("novalue", name, sizeof name, &value) != 0);
}

int main(int argc, char **argv)
{
    static const th_case cases[] = {
        CASE(durations_accepted), CASE(durations_refused), CASE(numbers),
        CASE(id_lists_accepted),  CASE(id_lists_refused),  CASE(integers),
        CASE(assignments)};
    return th_main(cases, sizeof cases / sizeof cases[0], argc, argv);
}
