/* local_fs.h: file-system steps of `pgq local` that are safe when run as
 * root next to users who may plant symbolic links. */
#ifndef PGQ_LOCAL_FS_H
#define PGQ_LOCAL_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* A control character in a path would end up inside the server's
 * configuration (a newline starts a new setting), and pg_ctl and initdb
 * run their programs through a shell with paths in double quotes, where
 * these characters would be interpreted: such paths are refused. Returns
 * true when path has none. */
#define LFS_PATH_REFUSED "\"\\$`"
bool lfs_path_ok(const char *path);

/* realpath(3) that refuses a path through a symbolic link owned by anyone
 * but root or the invoking user (another user's link may point anywhere
 * and be changed at will). Returns 0, or -1 with errno (EPERM for such a
 * link) and the offending link in real. */
int lfs_resolve(const char *path, char *real, size_t n);

/* Opens the directory at the canonical path real without following any
 * symbolic link on the way (a component swapped for one since real was
 * resolved fails with ELOOP or ENOTDIR). Returns a descriptor or -1. */
int lfs_open_dir(const char *real);

/* True if the directory open on fd holds nothing but . and .. */
bool lfs_dir_empty(int fd);

/* Runs fn(arg) in a child process as uid/gid when the caller is root (as
 * itself otherwise), so files it writes cannot be links planted by that
 * user pointing at root's files. Returns fn's result: 0 or an errno. */
int lfs_as_user(uid_t uid, gid_t gid, int (*fn)(void *arg), void *arg);

/* Replaces path with content: a new file (O_EXCL, O_NOFOLLOW) renamed over
 * it, so a link at path is replaced, never followed. Mode 0600. Returns 0
 * or an errno. */
int lfs_replace_file(const char *path, const char *content);

/* Appends text to an existing regular file, refusing a link. 0 or errno. */
int lfs_append_file(const char *path, const char *text);

/* Reads a small file (refusing a link) into buf, NUL-terminated, trailing
 * newline removed. 0 or an errno. */
int lfs_read_small(const char *path, char *buf, size_t n);

#endif
