/* exec_guard.h: --exec commands do not outlive a worker that dies without
 * stopping them (SIGKILL, a crash, the OOM killer). */
#ifndef PGQ_EXEC_GUARD_H
#define PGQ_EXEC_GUARD_H

#include <stdbool.h>
#include <sys/types.h>

/* Seconds an orphaned command's process group gets between SIGTERM and
 * SIGKILL. */
#define EXEC_GUARD_GRACE 5

/* Forks the guard: a small process that learns of each command's process
 * group (exec_guard_track) and, when this process dies (its parent-death
 * signal, or the end of the control pipe), sends SIGTERM to every group it
 * still tracks, then SIGKILL after EXEC_GUARD_GRACE seconds. Call it while
 * the process has one thread. Returns 0 or an errno value; without a guard
 * the commands run unguarded, as before. */
int exec_guard_start(void);
/* The command's process group started (true) or was reaped (false). */
void exec_guard_track(pid_t pgid, bool started);

#endif
