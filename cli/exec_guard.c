/* exec_guard.c: the guard of --exec commands (exec_guard.h).
 *
 * Why: a command runs in its own process group so that a timeout or a
 * cancellation can kill all it started; but then nothing stops it when the
 * worker is SIGKILLed, and its job, taken over by another worker after
 * retry_timer, ran twice at once. PR_SET_PDEATHSIG on the command itself
 * would reach /bin/sh only (which dies without passing the signal on), so
 * one guard process per worker, forked before the worker starts its
 * threads, keeps the list of the command groups and stops them all.
 *
 * It learns of the worker's death from end of file on the control pipe,
 * whose only write end the worker holds (close-on-exec, so commands do not
 * inherit it): the kernel closes it however the worker dies, and the guard
 * reads every message sent before. Its parent-death signal (armed, then
 * getppid() checked, since the parent may have died before) interrupts a
 * wait; the messages still in the pipe are read first, so a
 * group reaped just before the death is not signalled after its id was
 * reused. Messages are
 * "+PGID\n" and "-PGID\n", shorter than PIPE_BUF, so each write is whole;
 * the write end is non-blocking: a full pipe drops a message rather than
 * stalling a handler. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "exec_guard.h"

#define MAX_GROUPS 8192 /* more than the worker's threads can run */

static int guard_fd = -1; /* the worker's write end */

static void on_parent_death(int sig)
{
    (void)sig; /* interrupts poll(); end of file follows */
}

static void close_others(int keep)
{
    for (int fd = 0; fd < 3; fd++)
        if (fd != keep) {
            int null = open("/dev/null", O_RDWR);
            if (null >= 0 && null != fd) {
                dup2(null, fd);
                close(null);
            }
        }
#ifdef SYS_close_range
    if (keep > 3)
        syscall(SYS_close_range, 3u, (unsigned)keep - 1, 0);
    syscall(SYS_close_range, (unsigned)keep + 1, ~0U, 0);
#else
    for (int fd = 3; fd < 1024; fd++)
        if (fd != keep)
            close(fd);
#endif
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The worker is gone: SIGTERM to every group, SIGKILL to those left after
 * the grace. */
static _Noreturn void stop_all(const pid_t *groups, size_t n)
{
    for (size_t i = 0; i < n; i++)
        kill(-groups[i], SIGTERM);
    double end = now_s() + EXEC_GUARD_GRACE;
    for (;;) {
        size_t alive = 0;
        for (size_t i = 0; i < n; i++)
            if (groups[i] > 0 && kill(-groups[i], 0) == 0)
                alive++;
        if (!alive || now_s() >= end)
            break;
        struct timespec t = {0, 50 * 1000000L};
        nanosleep(&t, NULL);
    }
    for (size_t i = 0; i < n; i++)
        kill(-groups[i], SIGKILL);
    _exit(0);
}

static void apply(pid_t *groups, size_t *n, const char *line)
{
    long g = strtol(line + 1, NULL, 10);
    if (g <= 1)
        return;
    if (line[0] == '+' && *n < MAX_GROUPS) {
        groups[(*n)++] = (pid_t)g;
    } else if (line[0] == '-') {
        for (size_t i = 0; i < *n; i++)
            if (groups[i] == (pid_t)g) {
                groups[i] = groups[--*n];
                break;
            }
    }
}

static _Noreturn void guard_main(pid_t parent, int rfd)
{
    static pid_t groups[MAX_GROUPS];
    size_t n = 0;
    /* Not a target of the terminal's or the operator's signals to the
     * worker's group: the guard ends when the worker does. */
    setpgid(0, 0);
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    signal(SIGQUIT, SIG_IGN);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_parent_death;
    sigaction(SIGUSR1, &sa, NULL);
    close_others(rfd);
    /* Had the parent died before the signal was armed (getppid() no
     * longer parent), its write end is closed all the same: the reads
     * below take what it sent, then see end of file at once. */
    if (prctl(PR_SET_PDEATHSIG, SIGUSR1) == 0 && getppid() != parent)
        raise(SIGUSR1);
    char buf[4096], line[32];
    size_t len = 0;
    for (;;) {
        struct pollfd p = {.fd = rfd, .events = POLLIN};
        if (poll(&p, 1, -1) < 0)
            continue; /* EINTR: the parent-death signal */
        ssize_t got = read(rfd, buf, sizeof buf);
        if (got == 0)
            break; /* every write end is closed: the worker is gone */
        if (got < 0)
            continue;
        for (ssize_t i = 0; i < got; i++) {
            if (buf[i] != '\n') {
                if (len < sizeof line - 1)
                    line[len++] = buf[i];
                continue;
            }
            line[len] = '\0';
            apply(groups, &n, line);
            len = 0;
        }
    }
    stop_all(groups, n);
}

int exec_guard_start(void)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        return errno;
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(fds[0]);
        close(fds[1]);
        return e;
    }
    if (pid == 0)
        guard_main(parent, fds[0]);
    close(fds[0]);
    fcntl(fds[1], F_SETFL, O_NONBLOCK);
    guard_fd = fds[1];
    return 0;
}

void exec_guard_track(pid_t pgid, bool started)
{
    char msg[32];
    if (guard_fd < 0)
        return;
    int n = snprintf(msg, sizeof msg, "%c%ld\n", started ? '+' : '-', (long)pgid);
    ssize_t w = write(guard_fd, msg, (size_t)n);
    (void)w; /* no guard, or a full pipe: the command runs unguarded */
}
