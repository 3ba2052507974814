/* exec_guard.c: the guard process of an --exec command (exec_guard.h).
 *
 * Why a guard: a command runs in its own process group so that a timeout
 * or a cancellation can kill all it started; but then nothing stops it when
 * the worker is SIGKILLed, and its job, taken over by another worker after
 * retry_timer, ran twice at the same time. PR_SET_PDEATHSIG delivers a
 * signal to one process only, and /bin/sh dies of it without passing it on
 * to its children; so a small forked process (no exec: it only makes
 * async-signal-safe calls, as a child of a threaded process must) takes the
 * signal and stops the whole group.
 *
 * Signals: the guard blocks every signal and takes SIGCHLD (its command
 * ended) and SIGUSR1 (its parent died) with sigwaitinfo; the command starts
 * with none blocked and default dispositions. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "exec_guard.h"

#define DEATH_SIGNAL SIGUSR1

static void close_from(int lowest)
{
#ifdef SYS_close_range
    if (syscall(SYS_close_range, (unsigned)lowest, ~0U, 0) == 0)
        return;
#endif
    struct rlimit rl;
    int max = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 65536 ? (int)rl.rlim_cur
                                                                         : 65536;
    for (int fd = lowest; fd < max; fd++)
        close(fd);
}

static _Noreturn void run_command(char **argv, char **env)
{
    /* pgq run ignores SIGPIPE; the command starts as a shell would. */
    static const int sigs[] = {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT,
                               SIGCHLD, SIGUSR1, SIGUSR2, SIGALRM};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        signal(sigs[i], SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    execve("/bin/sh", argv, env);
    _exit(127);
}

/* The command's end: the guard ends the same way. */
static _Noreturn void relay(int status)
{
    if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        sigset_t one;
        sigemptyset(&one);
        sigaddset(&one, sig);
        signal(sig, SIG_DFL);
        sigprocmask(SIG_UNBLOCK, &one, NULL);
        raise(sig);
        _exit(128 + sig); /* a signal whose default is not to terminate */
    }
    _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 1);
}

/* The worker is gone: SIGTERM to the group (the guard has it blocked),
 * SIGKILL to whatever is left after the grace, the guard included. */
static _Noreturn void orphaned(pid_t cmd, const sigset_t *chld)
{
    kill(0, SIGTERM);
    struct timespec end, now;
    clock_gettime(CLOCK_MONOTONIC, &end);
    end.tv_sec += EXEC_GUARD_GRACE;
    for (;;) {
        int st;
        if (waitpid(cmd, &st, WNOHANG) == cmd)
            break;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long ms = (end.tv_sec - now.tv_sec) * 1000 + (end.tv_nsec - now.tv_nsec) / 1000000;
        if (ms <= 0)
            break;
        struct timespec wait = {ms / 1000, (ms % 1000) * 1000000};
        sigtimedwait(chld, NULL, &wait);
    }
    kill(0, SIGKILL); /* background processes the command left, and the guard */
    _exit(1);
}

static _Noreturn void guard_main(pid_t parent, char **argv, char **env, int in_fd,
                                 int err_fd)
{
    setpgid(0, 0);
    signal(SIGCHLD, SIG_DFL); /* not SIG_IGN: the command must be waited for */
    /* Checked after arming the signal: the parent may have died before. */
    if (prctl(PR_SET_PDEATHSIG, DEATH_SIGNAL) != 0 || getppid() != parent)
        _exit(127);
    if (dup2(in_fd, STDIN_FILENO) < 0 || dup2(err_fd, STDERR_FILENO) < 0)
        _exit(127);
    /* The worker's other descriptors (its database sockets, other jobs'
     * pipes: a held write end would keep another command's stdin open). */
    close_from(3);
    pid_t cmd = fork();
    if (cmd == 0)
        run_command(argv, env);
    if (cmd < 0)
        _exit(127);
    close(STDIN_FILENO);
    close(STDERR_FILENO);
    sigset_t waitset, chld;
    sigemptyset(&waitset);
    sigaddset(&waitset, SIGCHLD);
    sigaddset(&waitset, DEATH_SIGNAL);
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    for (;;) {
        int st;
        if (waitpid(cmd, &st, WNOHANG) == cmd)
            relay(st);
        int sig = sigwaitinfo(&waitset, NULL);
        if (sig == DEATH_SIGNAL && getppid() != parent)
            orphaned(cmd, &chld);
    }
}

int exec_guard_spawn(pid_t *pid, const char *command, char **env, int in_fd, int err_fd)
{
    char *argv[] = {"sh", "-c", (char *)command, NULL};
    pid_t parent = getpid();
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pid_t child = fork();
    if (child == 0)
        guard_main(parent, argv, env, in_fd, err_fd);
    int err = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (child < 0)
        return err;
    /* The guard sets its own group too; doing it here as well closes the
     * window in which a kill(-pid) could miss it. */
    (void)setpgid(child, child);
    *pid = child;
    return 0;
}
