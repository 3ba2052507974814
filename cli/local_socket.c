/* local_socket.c: the socket folder of a cluster whose folder path is too
 * long for a unix socket (about 107 bytes with the socket's own name). It
 * is a fresh mkdtemp folder in /tmp, 0700 and owned by the server's user,
 * so no other local user can reach the socket; its name is recorded in the
 * cluster folder and checked (lstat: a real directory, the server user's,
 * nobody else's permissions) every time it is used, so nothing planted in
 * /tmp is ever taken for it. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "local_cluster.h"
#include "local_fs.h"

#define SOCKET_PREFIX "/tmp/pgq-"
#define SOCKET_TEMPLATE SOCKET_PREFIX "XXXXXX"

static void record_path(const local_cluster *lc, char *out, size_t n)
{
    snprintf(out, n, "%s/socket_dir", lc->root);
}

/* Is path a private socket folder of this cluster's server user? */
static bool safe_socket_dir(const local_cluster *lc, const char *path)
{
    size_t plen = strlen(SOCKET_PREFIX);
    if (strncmp(path, SOCKET_PREFIX, plen) != 0 || strlen(path) != plen + 6)
        return false;
    for (const char *p = path + plen; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
              (*p >= '0' && *p <= '9')))
            return false;
    struct stat st;
    return lstat(path, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == lc->server_uid &&
           (st.st_mode & 077) == 0;
}

void local_socket_find(local_cluster *lc)
{
    if (lc->socket_in_root) {
        snprintf(lc->socket, sizeof lc->socket, "%s", lc->root);
        return;
    }
    char rec[PATH_MAX], dir[PATH_MAX];
    record_path(lc, rec, sizeof rec);
    lc->socket[0] = '\0';
    if (lfs_read_small(rec, dir, sizeof dir) == 0 && safe_socket_dir(lc, dir))
        snprintf(lc->socket, sizeof lc->socket, "%s", dir);
}

typedef struct record_job {
    const char *path, *content;
} record_job;

static int write_record(void *arg)
{
    const record_job *j = arg;
    return lfs_replace_file(j->path, j->content);
}

/* mkdtemp, then hand the folder to the server user through a descriptor
 * opened without following links. */
static int make_dir(const local_cluster *lc, char *dir, size_t n)
{
    snprintf(dir, n, "%s", SOCKET_TEMPLATE);
    if (!mkdtemp(dir)) {
        cli_error("cannot create a socket folder in /tmp: %s", strerror(errno));
        return -1;
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    bool ok = fd >= 0 && fstat(fd, &st) == 0 && st.st_uid == geteuid() &&
              (!lc->as_root || fchown(fd, lc->server_uid, lc->server_gid) == 0) &&
              fchmod(fd, 0700) == 0;
    int e = errno;
    if (fd >= 0)
        close(fd);
    if (!ok) {
        cli_error("cannot prepare the socket folder %s: %s", dir, strerror(e));
        rmdir(dir);
        return -1;
    }
    return 0;
}

int local_socket_make(local_cluster *lc)
{
    local_socket_find(lc);
    if (lc->socket[0])
        return 0;
    char dir[sizeof SOCKET_TEMPLATE], rec[PATH_MAX], content[64];
    if (make_dir(lc, dir, sizeof dir) != 0)
        return -1;
    record_path(lc, rec, sizeof rec);
    snprintf(content, sizeof content, "%s\n", dir);
    record_job j = {rec, content};
    int rc = lfs_as_user(lc->server_uid, lc->server_gid, write_record, &j);
    if (rc) {
        cli_error("cannot write %s: %s", rec, strerror(rc));
        rmdir(dir);
        return -1;
    }
    snprintf(lc->socket, sizeof lc->socket, "%s", dir);
    return 0;
}

int local_remove_as_server(const local_cluster *lc, char *const paths[])
{
    char *argv[16] = {"rm", "-rf", "--"};
    int k = 3;
    for (int i = 0; paths[i] && k < 15; i++)
        argv[k++] = paths[i];
    argv[k] = NULL;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        if (lc->as_root && (setgroups(0, NULL) != 0 || setgid(lc->server_gid) != 0 ||
                            setuid(lc->server_uid) != 0))
            _exit(126);
        execvp("rm", argv);
        _exit(127);
    }
    int status;
    if (pid < 0)
        return -1;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

int local_socket_remove(local_cluster *lc)
{
    if (lc->socket_in_root)
        return 0;
    local_socket_find(lc);
    if (!lc->socket[0])
        return 0;
    char *paths[] = {lc->socket, NULL};
    return local_remove_as_server(lc, paths);
}
