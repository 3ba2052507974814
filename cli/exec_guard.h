/* exec_guard.h: starting an --exec command so that it does not outlive a
 * worker that dies without stopping it (SIGKILL, a crash, the OOM killer). */
#ifndef PGQ_EXEC_GUARD_H
#define PGQ_EXEC_GUARD_H

#include <sys/types.h>

/* Seconds an orphaned command gets between SIGTERM and SIGKILL. */
#define EXEC_GUARD_GRACE 5

/* Starts `/bin/sh -c command` with env, in_fd as its stdin and err_fd as
 * its stderr, under a guard process: the guard leads a new process group
 * (the command's), waits for the command and exits with its status (or
 * dies by its signal), so waiting for *pid and killing -*pid work as for
 * the command itself. When the calling thread's process dies first (the
 * guard's parent-death signal), the guard sends SIGTERM to the group, then
 * SIGKILL after EXEC_GUARD_GRACE seconds. Returns 0 or an errno value. */
int exec_guard_spawn(pid_t *pid, const char *command, char **env, int in_fd, int err_fd);

#endif
