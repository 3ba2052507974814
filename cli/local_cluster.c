/* local_cluster.c: initdb, start and stop a private PostgreSQL cluster that
 * listens only on a unix socket inside its own folder. When invoked as root
 * the server runs as the unprivileged `postgres` user, since PostgreSQL
 * refuses to run as root. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "local_cluster.h"
#include "local_fs.h"

static bool is_exec(const char *dir, const char *prog)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, prog);
    return access(path, X_OK) == 0;
}

/* pg_config --bindir, else the newest /usr/lib/postgresql/N/bin. */
static int find_bindir(char *out, size_t n)
{
    FILE *p = popen("pg_config --bindir 2>/dev/null", "r");
    if (p) {
        char line[PATH_MAX] = "";
        if (fgets(line, sizeof line, p))
            line[strcspn(line, "\n")] = '\0';
        pclose(p);
        if (line[0] && is_exec(line, "initdb") && is_exec(line, "pg_ctl")) {
            snprintf(out, n, "%s", line);
            return 0;
        }
    }
    DIR *d = opendir("/usr/lib/postgresql");
    int best = -1;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        char bin[PATH_MAX];
        int v = atoi(e->d_name);
        snprintf(bin, sizeof bin, "/usr/lib/postgresql/%s/bin", e->d_name);
        if (v > best && is_exec(bin, "initdb") && is_exec(bin, "pg_ctl")) {
            best = v;
            snprintf(out, n, "%s", bin);
        }
    }
    if (d)
        closedir(d);
    if (best >= 0)
        return 0;
    cli_error("no PostgreSQL server binaries found (pg_config --bindir, "
              "/usr/lib/postgresql/*/bin)\n"
              "hint: apt-get install -y postgresql");
    return -1;
}

static int mkdirs(const char *path, mode_t mode)
{
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(tmp, mode) != 0 && errno != EEXIST)
        return -1;
    return 0;
}

/* Can the server user reach path? Every ancestor must be searchable by it. */
static bool reachable_by(const char *path, uid_t uid, gid_t gid)
{
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (;;) {
        struct stat st;
        if (stat(tmp, &st) == 0) {
            bool ok = st.st_uid == uid   ? (st.st_mode & S_IXUSR)
                      : st.st_gid == gid ? (st.st_mode & S_IXGRP)
                                         : (st.st_mode & S_IXOTH);
            if (!ok)
                return false;
        }
        char *slash = strrchr(tmp, '/');
        if (!slash || slash == tmp)
            return true;
        *slash = '\0';
    }
}

static unsigned long hash_path(const char *s)
{
    unsigned long h = 1469598103934665603UL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211UL;
    return h;
}

/* Creates path if needed and resolves it, refusing links of other users. */
static int resolve_dir(const char *path, mode_t mode, char *real, size_t n)
{
    if (mkdirs(path, mode) != 0) {
        cli_error("cannot create %s: %s", path, strerror(errno));
        return -1;
    }
    if (lfs_resolve(path, real, n) != 0) {
        if (errno == EPERM)
            cli_error("refusing %s: it goes through %s, a symbolic link owned by "
                      "another user",
                      path, real);
        else
            cli_error("cannot resolve %s: %s", path, strerror(errno));
        return -1;
    }
    if (!lfs_path_ok(real)) {
        cli_error("refusing %s: its real path has a control character or one of "
                  "\" \\ $ `",
                  path);
        return -1;
    }
    return 0;
}

/* As root, a folder the server user cannot reach: /var/lib/pgq/<hash>.
 * /var/lib/pgq must be root's and writable by root only, or anyone could
 * plant the per-cluster folder. */
static int fallback_root(local_cluster *lc)
{
    char base[PATH_MAX];
    if (resolve_dir("/var/lib/pgq", 0755, base, sizeof base) != 0)
        return -1;
    struct stat st;
    if (lstat(base, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != 0 ||
        (st.st_mode & 022)) {
        cli_error("refusing %s: it must be a folder of root's, writable only by root",
                  base);
        return -1;
    }
    snprintf(lc->root, sizeof lc->root, "%s/%012lx", base,
             hash_path(lc->dir) & 0xffffffffffffUL);
    return 0;
}

int local_resolve(local_cluster *lc, const char *dir)
{
    memset(lc, 0, sizeof *lc);
    if (dir && *dir) {
        snprintf(lc->dir, sizeof lc->dir, "%s", dir);
    } else {
        const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
        if (xdg && *xdg)
            snprintf(lc->dir, sizeof lc->dir, "%s/pgq", xdg);
        else if (home && *home)
            snprintf(lc->dir, sizeof lc->dir, "%s/.local/state/pgq", home);
        else {
            cli_error("neither XDG_STATE_HOME nor HOME is set: pass --dir DIR");
            return -1;
        }
    }
    if (!lfs_path_ok(lc->dir)) {
        cli_error("refusing the folder %s: its path has a control character or one "
                  "of \" \\ $ `",
                  lc->dir);
        return -1;
    }
    char real[PATH_MAX];
    if (resolve_dir(lc->dir, 0700, real, sizeof real) != 0)
        return -1;
    snprintf(lc->dir, sizeof lc->dir, "%s", real);
    if (find_bindir(lc->bindir, sizeof lc->bindir) != 0)
        return -1;

    lc->as_root = geteuid() == 0;
    lc->server_uid = geteuid();
    lc->server_gid = getegid();
    snprintf(lc->root, sizeof lc->root, "%s", lc->dir);
    if (lc->as_root) {
        struct passwd *pw = getpwnam(LOCAL_USER);
        if (!pw) {
            cli_error("running as root, but there is no '%s' user to run the "
                      "server as\nhint: apt-get install -y postgresql creates it",
                      LOCAL_USER);
            return -1;
        }
        lc->server_uid = pw->pw_uid;
        lc->server_gid = pw->pw_gid;
        if (!reachable_by(lc->dir, pw->pw_uid, pw->pw_gid) && fallback_root(lc) != 0)
            return -1;
    }
    snprintf(lc->data, sizeof lc->data, "%s/data", lc->root);
    snprintf(lc->logfile, sizeof lc->logfile, "%s/postgres.log", lc->root);
    /* A unix socket path is limited to 107 bytes; libpq splits PGHOST at
     * commas. Otherwise the socket lives in a private folder in /tmp. */
    lc->socket_in_root = strlen(lc->root) + sizeof "/.s.PGSQL." LOCAL_PORT <= 100 &&
                         !strchr(lc->root, ',');
    local_socket_find(lc);
    return 0;
}

/* Runs bindir/prog with args as the server user; stdout to /dev/null unless
 * show. Returns the exit status, or -1. */
static int run_as_server(const local_cluster *lc, const char *prog, char *const args[],
                         bool show)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", lc->bindir, prog);
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        if (lc->as_root) {
            if (setgroups(0, NULL) != 0 || setgid(lc->server_gid) != 0 ||
                setuid(lc->server_uid) != 0) {
                perror("pgq: cannot switch to the postgres user");
                _exit(127);
            }
        }
        if (chdir("/") != 0)
            _exit(127);
        if (!show) {
            int fd = open("/dev/null", O_WRONLY);
            if (fd >= 0) {
                dup2(fd, 1);
                close(fd);
            }
        }
        char *argv[32];
        int i = 0;
        argv[i++] = path;
        for (int k = 0; args[k] && i < 31; k++)
            argv[i++] = args[k];
        argv[i] = NULL;
        execv(path, argv);
        perror(path);
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Creates lc->root and hands it to the server user, 0700. It must be new
 * (empty), or already the server user's: root never takes over a folder
 * with someone else's files in it (a link planted as --dir could point at
 * any of root's folders). Ownership and mode change through a descriptor
 * opened without following links. */
static int own_root(const local_cluster *lc)
{
    if (mkdirs(lc->root, 0700) != 0) {
        cli_error("cannot create %s: %s", lc->root, strerror(errno));
        return -1;
    }
    int fd = lfs_open_dir(lc->root);
    if (fd < 0) {
        cli_error("cannot open %s without following links: %s", lc->root,
                  strerror(errno));
        return -1;
    }
    struct stat st;
    int rc = -1;
    if (fstat(fd, &st) != 0)
        cli_error("cannot examine %s: %s", lc->root, strerror(errno));
    else if (st.st_uid != lc->server_uid &&
             !(st.st_uid == geteuid() && lfs_dir_empty(fd)))
        cli_error("refusing %s: it belongs to user %u and is not an empty folder\n"
                  "hint: choose a new folder with --dir",
                  lc->root, (unsigned)st.st_uid);
    else if (lc->as_root && fchown(fd, lc->server_uid, lc->server_gid) != 0)
        cli_error("cannot hand %s to the postgres user: %s", lc->root, strerror(errno));
    else if (fchmod(fd, 0700) != 0)
        cli_error("cannot make %s private: %s", lc->root, strerror(errno));
    else
        rc = 0;
    close(fd);
    return rc;
}

static int initdb(const local_cluster *lc)
{
    char *args[] = {"-D",
                    (char *)lc->data,
                    "-U",
                    LOCAL_USER,
                    "--auth-local=peer",
                    "--auth-host=scram-sha-256",
                    "-E",
                    "UTF8",
                    "--locale=C",
                    "--no-instructions",
                    NULL};
    if (run_as_server(lc, "initdb", args, false) != 0) {
        cli_error("initdb into %s failed (see the messages above)", lc->data);
        return -1;
    }
    return local_include_conf(lc);
}

int local_running(const local_cluster *lc)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/PG_VERSION", lc->data);
    if (access(path, F_OK) != 0)
        return -1;
    char *args[] = {"status", "-D", (char *)lc->data, NULL};
    return run_as_server(lc, "pg_ctl", args, false) == 0 ? 1 : 0;
}

/* As root with the fallback root, dir/cluster points at it. symlink and
 * unlink act on the link itself, never on what a planted one points at. */
static void link_state_dir(const local_cluster *lc)
{
    if (strcmp(lc->root, lc->dir) == 0)
        return;
    char link[PATH_MAX];
    snprintf(link, sizeof link, "%s/cluster", lc->dir);
    unlink(link);
    if (symlink(lc->root, link) != 0)
        cli_error("warning: cannot link %s to %s", link, lc->root);
}

int local_start(local_cluster *lc, bool fast, bool quiet)
{
    int state = local_running(lc);
    if (state == 1 && lc->socket[0]) {
        if (!quiet)
            printf("local PostgreSQL already running (socket %s)\n", lc->socket);
        return 0;
    }
    if (state == 1) {
        cli_error("the cluster in %s runs, but its socket folder is gone or unsafe\n"
                  "hint: pgq local stop, then start",
                  lc->root);
        return -1;
    }
    if (own_root(lc) != 0 || local_socket_make(lc) != 0)
        return -1;
    if (state == -1 && initdb(lc) != 0)
        return -1;
    link_state_dir(lc);
    if (local_write_conf(lc, fast) != 0)
        return -1;
    char *args[] = {
        "start", "-w", "-t", "60", "-D", (char *)lc->data, "-l", (char *)lc->logfile,
        NULL};
    if (run_as_server(lc, "pg_ctl", args, false) != 0) {
        cli_error("the local PostgreSQL did not start; its log is %s", lc->logfile);
        return -1;
    }
    if (!quiet)
        printf("local PostgreSQL started (data %s, socket %s)\n", lc->data, lc->socket);
    return 0;
}

int local_stop(local_cluster *lc, bool quiet)
{
    if (local_running(lc) != 1) {
        if (!quiet)
            printf("local PostgreSQL is not running\n");
        return 0;
    }
    char *args[] = {"stop", "-w", "-m", "fast", "-D", (char *)lc->data, NULL};
    if (run_as_server(lc, "pg_ctl", args, false) != 0) {
        cli_error("pg_ctl stop failed for %s", lc->data);
        return -1;
    }
    if (!quiet)
        printf("local PostgreSQL stopped\n");
    return 0;
}

/* The server user deletes what it owns; root only removes the folders left
 * empty (rmdir never follows a link, and fails on anything not ours). */
int local_destroy(local_cluster *lc)
{
    if (local_stop(lc, true) != 0)
        return -1;
    char record[PATH_MAX + 16];
    snprintf(record, sizeof record, "%s/socket_dir", lc->root);
    int rc = local_socket_remove(lc);
    char *paths[] = {lc->data, lc->logfile, record, NULL};
    rc |= local_remove_as_server(lc, paths);
    if (rmdir(lc->root) != 0 && errno != ENOENT) {
        cli_error("left %s: %s", lc->root, strerror(errno));
        rc = -1;
    }
    if (strcmp(lc->root, lc->dir) != 0) {
        char link[PATH_MAX + 16];
        snprintf(link, sizeof link, "%s/cluster", lc->dir);
        unlink(link);
        if (rmdir(lc->dir) != 0 && errno != ENOENT) {
            cli_error("left %s: %s", lc->dir, strerror(errno));
            rc = -1;
        }
    }
    return rc;
}

void local_shell_quote(FILE *f, const char *s)
{
    fputc('\'', f);
    for (; *s; s++) {
        if (*s == '\'')
            fputs("'\\''", f);
        else
            fputc(*s, f);
    }
    fputc('\'', f);
}

void local_print_env(const local_cluster *lc)
{
    fputs("export PGHOST=", stdout);
    local_shell_quote(stdout, lc->socket);
    printf("\nexport PGPORT=" LOCAL_PORT "\nexport PGUSER=" LOCAL_USER
           "\nexport PGDATABASE=postgres\n");
}
