/* test_secret.c: passwords found, scrubbed in place and masked in messages. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "internal.h"

static void scrubbed(const char *in, const char *want)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", in);
    pgq_dsn_scrub(buf);
    CHECKF(strcmp(buf, want) == 0, "scrub(%s) = %s, want %s", in, buf, want);
}

TEST(scrub_in_place)
{
    scrubbed("host=h password=s3cret user=u", "host=h password=****** user=u");
    scrubbed("host=h password = 'a b\\'c' user=u", "host=h password = '******' user=u");
    scrubbed("sslpassword=kk password=pp", "sslpassword=** password=**");
    scrubbed("postgresql://u:s3cret@h/db", "postgresql://u:******@h/db");
    scrubbed("postgres://u:p?w@h1,h2/db?password=x&sslmode=require",
             "postgres://u:***@h1,h2/db?password=*&sslmode=require");
    scrubbed("postgresql://u@h/db", "postgresql://u@h/db");
    scrubbed("host=h mypassword=x passwordx=y", "host=h mypassword=x passwordx=y");
    scrubbed("dbname=postgresql://u:pw@h", "dbname=postgresql://u:**@h");
    scrubbed("", "");
}

static void masked(const char *text, const char *dsn, const char *want)
{
    char *got = pgq__mask(text, dsn);
    CHECKF(got && strcmp(got, want) == 0, "mask(%s) = %s, want %s", text, got, want);
    free(got);
}

TEST(mask_messages)
{
    masked("in URI: \"postgresql://u:s3cret@[::1/db\"", NULL,
           "in URI: \"postgresql://u:***@[::1/db\"");
    masked("invalid percent-encoded token: \"s3c%zzret\"", "postgres://u:s3c%zzret@h/db",
           "invalid percent-encoded token: \"***\"");
    masked("bad option in \"password=abc host=h\"", NULL,
           "bad option in \"password=*** host=h\"");
    masked("password authentication failed for user \"u\"", "password=zz",
           "password authentication failed for user \"u\"");
    masked("token \"q\" quiet", "password=q", "token \"***\" quiet");
    masked("a quiet question", "password=q", "a quiet question");
    masked("nothing secret", NULL, "nothing secret");
}

int main(int argc, char **argv)
{
    static const th_case cases[] = {CASE(scrub_in_place), CASE(mask_messages)};
    return th_main(cases, sizeof cases / sizeof cases[0], argc, argv);
}
