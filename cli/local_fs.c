/* local_fs.c: file-system steps of `pgq local` that stay safe when run as
 * root. The threat is a local user (or the server's own `postgres` user)
 * planting a symbolic link where root is about to write, chown or delete,
 * so that root does it to a file of the attacker's choosing. The rules:
 * paths are resolved refusing other users' links; root changes ownership
 * and modes only through a descriptor opened without following links; and
 * files inside folders the server user owns are written by the server user
 * itself, never by root. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "local_fs.h"

bool lfs_path_ok(const char *path)
{
    for (const unsigned char *p = (const unsigned char *)path; *p; p++)
        if (*p < 0x20 || *p == 0x7f || strchr(LFS_PATH_REFUSED, *p))
            return false;
    return true;
}

/* Splices a link's target in front of the rest of the path still to walk. */
static int splice_link(char *todo, size_t n, const char *target, const char *rest)
{
    char tmp[PATH_MAX * 2];
    int len = snprintf(tmp, sizeof tmp, "%s/%s", target, rest);
    if (len < 0 || (size_t)len >= n)
        return -1;
    memcpy(todo, tmp, (size_t)len + 1);
    return 0;
}

int lfs_resolve(const char *path, char *real, size_t n)
{
    char todo[PATH_MAX * 2], done[PATH_MAX] = "", cwd[PATH_MAX];
    if (path[0] != '/' && !getcwd(cwd, sizeof cwd))
        return -1;
    if (snprintf(todo, sizeof todo, "%s/%s", path[0] == '/' ? "" : cwd, path) >=
        (int)sizeof todo)
        return errno = ENAMETOOLONG, -1;
    int hops = 0;
    char *p = todo;
    while (*p) {
        while (*p == '/')
            p++;
        if (!*p)
            break;
        size_t clen = strcspn(p, "/");
        char comp[NAME_MAX + 1];
        if (clen > NAME_MAX)
            return errno = ENAMETOOLONG, -1;
        memcpy(comp, p, clen);
        comp[clen] = '\0';
        p += clen;
        if (strcmp(comp, ".") == 0)
            continue;
        if (strcmp(comp, "..") == 0) {
            char *slash = strrchr(done, '/');
            if (slash)
                *slash = '\0';
            continue;
        }
        char cand[PATH_MAX];
        if (snprintf(cand, sizeof cand, "%s/%s", done, comp) >= (int)sizeof cand)
            return errno = ENAMETOOLONG, -1;
        struct stat st;
        if (lstat(cand, &st) != 0)
            return -1;
        if (!S_ISLNK(st.st_mode)) {
            memcpy(done, cand, sizeof done);
            continue;
        }
        if (st.st_uid != 0 && st.st_uid != geteuid()) {
            snprintf(real, n, "%s", cand);
            return errno = EPERM, -1;
        }
        char target[PATH_MAX];
        ssize_t tl = readlink(cand, target, sizeof target - 1);
        if (tl < 0)
            return -1;
        target[tl] = '\0';
        if (++hops > 40)
            return errno = ELOOP, -1;
        if (target[0] == '/')
            done[0] = '\0';
        if (splice_link(todo, sizeof todo, target, p) != 0)
            return errno = ENAMETOOLONG, -1;
        p = todo;
    }
    if (snprintf(real, n, "%s", done[0] ? done : "/") >= (int)n)
        return errno = ENAMETOOLONG, -1;
    return 0;
}

int lfs_open_dir(const char *real)
{
    int fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    const char *p = real;
    while (fd >= 0 && *p) {
        while (*p == '/')
            p++;
        size_t clen = strcspn(p, "/");
        if (!clen)
            break;
        char comp[NAME_MAX + 1];
        if (clen > NAME_MAX) {
            close(fd);
            return errno = ENAMETOOLONG, -1;
        }
        memcpy(comp, p, clen);
        comp[clen] = '\0';
        p += clen;
        while (*p == '/')
            p++;
        /* The last component is opened for reading, so fchown, fchmod and
         * fdopendir work on it; the ones before only need to be searched. */
        int flags = O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | (*p ? O_PATH : O_RDONLY);
        int next = openat(fd, comp, flags);
        int e = errno;
        close(fd);
        errno = e;
        fd = next;
    }
    if (fd >= 0 && strcmp(real, "/") == 0) {
        close(fd);
        fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    }
    return fd;
}

bool lfs_dir_empty(int fd)
{
    int copy = dup(fd);
    DIR *d = copy >= 0 ? fdopendir(copy) : NULL;
    if (!d) {
        if (copy >= 0)
            close(copy);
        return false;
    }
    bool empty = true;
    struct dirent *e;
    while (empty && (e = readdir(d)) != NULL)
        empty = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
    closedir(d);
    return empty;
}

int lfs_as_user(uid_t uid, gid_t gid, int (*fn)(void *arg), void *arg)
{
    if (geteuid() != 0)
        return fn(arg);
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return errno;
    if (pid == 0) {
        if (setgroups(0, NULL) != 0 || setgid(gid) != 0 || setuid(uid) != 0)
            _exit(EPERM);
        _exit(fn(arg) & 0xff);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return errno;
    return WIFEXITED(status) ? WEXITSTATUS(status) : EINTR;
}

static int write_all(int fd, const char *s)
{
    size_t left = strlen(s);
    while (left) {
        ssize_t w = write(fd, s, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return errno ? errno : EIO;
        s += w;
        left -= (size_t)w;
    }
    return 0;
}

int lfs_replace_file(const char *path, const char *content)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s.pgq-new", path) >= (int)sizeof tmp)
        return ENAMETOOLONG;
    (void)unlink(tmp); /* a leftover (or a planted link): unlink never follows */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return errno;
    int rc = write_all(fd, content);
    if (close(fd) != 0 && !rc)
        rc = errno;
    if (!rc && rename(tmp, path) != 0)
        rc = errno;
    if (rc)
        (void)unlink(tmp);
    return rc;
}

int lfs_append_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return errno;
    struct stat st;
    int rc = fstat(fd, &st) != 0 ? errno : !S_ISREG(st.st_mode) ? EINVAL : 0;
    if (!rc)
        rc = write_all(fd, text);
    if (close(fd) != 0 && !rc)
        rc = errno;
    return rc;
}

int lfs_read_small(const char *path, char *buf, size_t n)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return errno;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return EINVAL;
    }
    ssize_t r = read(fd, buf, n - 1);
    int e = errno;
    close(fd);
    if (r < 0)
        return e;
    buf[r] = '\0';
    buf[strcspn(buf, "\n")] = '\0';
    return 0;
}
