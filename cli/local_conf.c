/* local_conf.c: the configuration `pgq local start` writes into the data
 * folder at every start: settings (pgq_local.conf), who may connect
 * (pg_hba.conf, pg_ident.conf). Every file is written by the server's own
 * OS user and replaced by rename, so a link planted in the data folder
 * (which that user owns) is replaced, never followed, and root never
 * writes there. */
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "local_cluster.h"
#include "local_fs.h"

/* A path as one element of a PostgreSQL list setting, inside a quoted
 * setting value: the element is double-quoted (a comma or space in the
 * path would otherwise split it, `"` doubled), then the whole value is
 * single-quoted (`'` doubled, `\` doubled since the configuration parser
 * reads backslash escapes). Control characters were refused earlier.
 * Returns 0, or -1 when out is too small. */
int local_conf_quote_dir(const char *path, char *out, size_t n)
{
    size_t k = 0;
    const char *open = "'\"", *close = "\"'";
    for (const char *p = open; *p && k < n; p++)
        out[k++] = *p;
    for (const char *s = path; *s; s++) {
        const char *rep = *s == '\''   ? "''"
                          : *s == '\\' ? "\\\\"
                          : *s == '"'  ? "\"\""
                                       : NULL;
        char one[2] = {*s, '\0'};
        for (const char *p = rep ? rep : one; *p; p++) {
            if (k >= n)
                return -1;
            out[k++] = *p;
        }
    }
    for (const char *p = close; *p; p++) {
        if (k >= n)
            return -1;
        out[k++] = *p;
    }
    if (k >= n)
        return -1;
    out[k] = '\0';
    return 0;
}

/* An OS user name for pg_ident.conf, double-quoted; -1 for names that
 * cannot be written safely (quotes, spaces, control characters). */
static int ident_name(uid_t uid, char *out, size_t n)
{
    struct passwd *pw = getpwuid(uid);
    if (!pw || !*pw->pw_name)
        return -1;
    for (const unsigned char *p = (const unsigned char *)pw->pw_name; *p; p++)
        if (*p <= 0x20 || *p == 0x7f || *p == '"' || *p == '#' || *p == ',')
            return -1;
    return snprintf(out, n, "\"%s\"", pw->pw_name) < (int)n ? 0 : -1;
}

typedef struct conf_job {
    const local_cluster *lc;
    char settings[4096];
    char ident[1024];
} conf_job;

static const char hba[] =
    "# Written by 'pgq local start' at every start.\n"
    "# The superuser only for the OS users of the map 'pgq' (pg_ident.conf):\n"
    "# root, the server's user and the user who started the cluster.\n"
    "local all         postgres peer map=pgq\n"
    "local replication postgres peer map=pgq\n"
    "# Any other role needs its password.\n"
    "local all         all      scram-sha-256\n"
    "local replication all      scram-sha-256\n"
    "host  all         all      127.0.0.1/32 scram-sha-256\n"
    "host  all         all      ::1/128      scram-sha-256\n";

static int write_conf(void *arg)
{
    const conf_job *j = arg;
    char path[PATH_MAX];
    int rc = 0;
    snprintf(path, sizeof path, "%s/pgq_local.conf", j->lc->data);
    rc = lfs_replace_file(path, j->settings);
    snprintf(path, sizeof path, "%s/pg_hba.conf", j->lc->data);
    if (!rc)
        rc = lfs_replace_file(path, hba);
    snprintf(path, sizeof path, "%s/pg_ident.conf", j->lc->data);
    if (!rc)
        rc = lfs_replace_file(path, j->ident);
    return rc;
}

static int build_ident(const local_cluster *lc, char *out, size_t n)
{
    uid_t uids[] = {0, (uid_t)lc->server_uid, geteuid()};
    int k = snprintf(out, n,
                     "# Written by 'pgq local start' at every start.\n"
                     "# MAPNAME OS-USER  DATABASE-USER\n");
    for (size_t i = 0; i < sizeof uids / sizeof uids[0]; i++) {
        char name[300];
        if ((i > 0 && uids[i] == uids[0]) || (i > 1 && uids[i] == uids[1]))
            continue;
        if (ident_name(uids[i], name, sizeof name) != 0) {
            if (uids[i] == 0)
                continue;
            cli_error("cannot name OS user %u in pg_ident.conf (no passwd entry, "
                      "or a name with quotes or spaces)",
                      (unsigned)uids[i]);
            return -1;
        }
        k += snprintf(out + k, n - (size_t)k, "pgq %s postgres\n", name);
        if ((size_t)k >= n)
            return -1;
    }
    return 0;
}

int local_write_conf(const local_cluster *lc, bool fast)
{
    conf_job j = {.lc = lc};
    char sockets[PATH_MAX * 2 + 8];
    if (local_conf_quote_dir(lc->socket, sockets, sizeof sockets) != 0)
        return cli_error("socket folder name too long: %s", lc->socket), -1;
    snprintf(j.settings, sizeof j.settings,
             "# Written by 'pgq local start' at every start; edit with care.\n"
             "listen_addresses = ''\n"
             "unix_socket_directories = %s\n"
             "unix_socket_permissions = 0700\n"
             "port = " LOCAL_PORT "\n"
             "max_connections = 200\n"
             "shared_buffers = '256MB'\n"
             "max_wal_size = '2GB'\n"
             "log_min_messages = warning\n"
             "fsync = %s\n"
             "full_page_writes = %s\n",
             sockets, fast ? "off" : "on", fast ? "off" : "on");
    if (build_ident(lc, j.ident, sizeof j.ident) != 0)
        return -1;
    int rc = lfs_as_user(lc->server_uid, lc->server_gid, write_conf, &j);
    if (rc) {
        cli_error("cannot write the configuration into %s: %s", lc->data, strerror(rc));
        return -1;
    }
    return 0;
}

static int append_include(void *arg)
{
    const local_cluster *lc = arg;
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/postgresql.conf", lc->data);
    return lfs_append_file(path, "\ninclude_if_exists = 'pgq_local.conf'\n");
}

int local_include_conf(const local_cluster *lc)
{
    int rc = lfs_as_user(lc->server_uid, lc->server_gid, append_include, (void *)lc);
    if (rc) {
        cli_error("cannot append to %s/postgresql.conf: %s", lc->data, strerror(rc));
        return -1;
    }
    return 0;
}
