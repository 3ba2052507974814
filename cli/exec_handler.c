/* exec_handler.c: runs one shell command per job for `pgq run --exec`.
 *
 * The command runs through /bin/sh -c in its own process group, so a
 * timeout, a cancellation or an immediate stop can kill everything it
 * started; the guard (exec_guard.c) knows the group, to stop it if the
 * worker dies. The payload is written to its stdin while its stderr is read
 * (both non-blocking, so neither side can stall the other); the last
 * bytes of stderr are kept for the error record. Exit is noticed through
 * a pidfd when the kernel has them, so a background grandchild holding
 * stderr open does not hold the job. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "exec_guard.h"
#include "exec_handler.h"

extern char **environ;

#define TAIL_CAP 4096 /* bytes of stderr kept */
#define TAIL_LINES 20 /* lines of it stored in the error detail */
#define TICK_MS 20    /* how often cancellation is checked */

typedef struct child {
    pid_t pid;
    int in_fd, err_fd, pid_fd;
    const unsigned char *payload;
    size_t left;
    char tail[TAIL_CAP + 1];
    size_t tail_len;
    int status;
    bool exited, killed, timed_out, cancelled;
} child;

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

/* ---- Environment ------------------------------------------------------------ */

static const char *const own_vars[] = {
    "PGQ_JOB_ID=",   "PGQ_ENTRYPOINT=", "PGQ_ATTEMPTS=",
    "PGQ_PRIORITY=", "PGQ_HEADERS=",    "PGQ_WORKER_ID="};
#define N_OWN (sizeof own_vars / sizeof own_vars[0])

/* The database credentials a command gets only with --exec-env-dsn. */
static const char *const secret_vars[] = {"PGDSN=", "PGQUEUER_DSN=", "PGPASSWORD="};

static bool starts_with_any(const char *entry, const char *const *vars, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strncmp(entry, vars[i], strlen(vars[i])) == 0)
            return true;
    return false;
}

static bool is_own(const char *entry, const exec_spec *spec)
{
    if (starts_with_any(entry, own_vars, N_OWN))
        return true;
    if (!spec->pass_dsn)
        return starts_with_any(entry, secret_vars, 3);
    return spec->dsn && strncmp(entry, "PGDSN=", 6) == 0;
}

/* Frees what build_env allocated: the job's variables, then PGDSN when
 * the worker's DSN was handed on. */
static void free_env(char **env, const exec_spec *spec)
{
    size_t own = N_OWN + (spec->pass_dsn && spec->dsn ? 1 : 0);
    for (size_t i = 0; env && i < own; i++)
        free(env[i]);
    free(env);
}

/* The process environment with this job's variables in place of any
 * inherited ones. Frees with free_env. */
static char **build_env(const pgq_job *job, const exec_spec *spec)
{
    size_t n = 0, k = 0;
    while (environ[n])
        n++;
    char **env = calloc(n + N_OWN + 2, sizeof *env);
    if (!env)
        return NULL;
    char *vals[N_OWN] = {0};
    bool ok =
        asprintf(&vals[0], "PGQ_JOB_ID=%lld", (long long)job->id) >= 0 &&
        asprintf(&vals[1], "PGQ_ENTRYPOINT=%s", job->entrypoint) >= 0 &&
        asprintf(&vals[2], "PGQ_ATTEMPTS=%d", (int)job->attempts) >= 0 &&
        asprintf(&vals[3], "PGQ_PRIORITY=%d", (int)job->priority) >= 0 &&
        asprintf(&vals[4], "PGQ_HEADERS=%s", job->headers ? job->headers : "null") >= 0 &&
        asprintf(&vals[5], "PGQ_WORKER_ID=%s",
                 job->queue_manager_id ? job->queue_manager_id : "") >= 0;
    for (size_t i = 0; i < N_OWN; i++)
        env[k++] = vals[i];
    if (!ok) {
        for (size_t i = 0; i < N_OWN; i++)
            free(vals[i]);
        free(env);
        return NULL;
    }
    if (spec->pass_dsn && spec->dsn && asprintf(&env[k++], "PGDSN=%s", spec->dsn) < 0) {
        env[k - 1] = NULL;
        free_env(env, &(exec_spec){0});
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        if (!is_own(environ[i], spec))
            env[k++] = environ[i];
    env[k] = NULL;
    return env;
}

/* ---- Spawning ---------------------------------------------------------------- */

static int spawn_with(child *ch, const char *command, char **env, int in[2], int err[2])
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    sigset_t none, dflt;
    sigemptyset(&none);
    sigemptyset(&dflt);
    /* pgq run ignores SIGPIPE and its pool threads block every signal;
     * the command starts with neither. */
    int sigs[] = {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD, SIGUSR1, SIGUSR2};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        sigaddset(&dflt, sigs[i]);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&fa, err[1], STDERR_FILENO);
    posix_spawnattr_init(&at);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                      POSIX_SPAWN_SETSIGDEF);
    posix_spawnattr_setpgroup(&at, 0);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setsigdefault(&at, &dflt);
    char *argv[] = {"sh", "-c", (char *)command, NULL};
    int rc = posix_spawn(&ch->pid, "/bin/sh", &fa, &at, argv, env);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    return rc;
}

static int spawn(child *ch, const char *command, char **env)
{
    int in[2], err[2];
    if (pipe2(in, O_CLOEXEC) != 0)
        return errno;
    if (pipe2(err, O_CLOEXEC) != 0) {
        int e = errno;
        close(in[0]);
        close(in[1]);
        return e;
    }
    int rc = spawn_with(ch, command, env, in, err);
    close(in[0]);
    close(err[1]);
    if (rc != 0) {
        close(in[1]);
        close(err[0]);
        return rc;
    }
    /* The child set its own group too; doing it here as well closes the
     * window in which a kill(-pid) could miss it. */
    (void)setpgid(ch->pid, ch->pid);
    exec_guard_track(ch->pid, true);
    ch->in_fd = in[1];
    ch->err_fd = err[0];
    fcntl(ch->in_fd, F_SETFL, O_NONBLOCK);
    fcntl(ch->err_fd, F_SETFL, O_NONBLOCK);
#ifdef SYS_pidfd_open
    ch->pid_fd = (int)syscall(SYS_pidfd_open, ch->pid, 0);
#endif
    return 0;
}

/* ---- Talking to the child ------------------------------------------------------ */

static void keep_tail(child *ch, const char *p, size_t n)
{
    if (n >= TAIL_CAP) {
        memcpy(ch->tail, p + n - TAIL_CAP, TAIL_CAP);
        ch->tail_len = TAIL_CAP;
        return;
    }
    if (ch->tail_len + n > TAIL_CAP) {
        size_t drop = ch->tail_len + n - TAIL_CAP;
        memmove(ch->tail, ch->tail + drop, ch->tail_len - drop);
        ch->tail_len -= drop;
    }
    memcpy(ch->tail + ch->tail_len, p, n);
    ch->tail_len += n;
}

static void read_err(child *ch)
{
    char buf[4096];
    for (;;) {
        ssize_t n = read(ch->err_fd, buf, sizeof buf);
        if (n > 0) {
            keep_tail(ch, buf, (size_t)n);
            continue;
        }
        if (n == 0 || (errno != EAGAIN && errno != EINTR))
            close_fd(&ch->err_fd);
        return;
    }
}

static void write_in(child *ch)
{
    while (ch->left > 0) {
        ssize_t n = write(ch->in_fd, ch->payload, ch->left);
        if (n > 0) {
            ch->payload += n;
            ch->left -= (size_t)n;
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        break; /* EPIPE: the command does not read its input */
    }
    close_fd(&ch->in_fd);
}

static void kill_group(child *ch)
{
    if (!ch->killed)
        kill(-ch->pid, SIGKILL);
    ch->killed = true;
}

static void check_exit(child *ch)
{
    /* The guard forgets the group while the exited command still pins its
     * id: after the wait, the id may be reused. */
    siginfo_t si = {0};
    if (waitid(P_PID, (id_t)ch->pid, &si, WEXITED | WNOHANG | WNOWAIT) != 0 ||
        si.si_pid != ch->pid)
        return;
    exec_guard_track(ch->pid, false);
    if (waitpid(ch->pid, &ch->status, WNOHANG) == ch->pid)
        ch->exited = true;
}

/* One wait of at most TICK_MS for input room, stderr output or the exit. */
static void pump_once(child *ch, double deadline)
{
    struct pollfd p[3];
    int idx_in = -1, idx_err = -1, idx_pid = -1;
    nfds_t n = 0;
    if (ch->in_fd >= 0)
        p[idx_in = (int)n++] = (struct pollfd){.fd = ch->in_fd, .events = POLLOUT};
    if (ch->err_fd >= 0)
        p[idx_err = (int)n++] = (struct pollfd){.fd = ch->err_fd, .events = POLLIN};
    if (ch->pid_fd >= 0)
        p[idx_pid = (int)n++] = (struct pollfd){.fd = ch->pid_fd, .events = POLLIN};
    int ms = TICK_MS;
    if (deadline > 0) {
        double left = (deadline - mono()) * 1000;
        ms = left < ms ? (left > 0 ? (int)left + 1 : 0) : ms;
    }
    if (poll(p, n, ms) < 0 && errno != EINTR)
        return;
    if (idx_in >= 0 && p[idx_in].revents)
        write_in(ch);
    if (idx_err >= 0 && p[idx_err].revents)
        read_err(ch);
    if (idx_pid < 0 || p[idx_pid].revents)
        check_exit(ch);
}

static void pump(child *ch, const exec_spec *spec, pgq_job_ctx *ctx)
{
    double deadline = spec->timeout > 0 ? mono() + spec->timeout : 0;
    if (ch->left == 0)
        close_fd(&ch->in_fd);
    while (!ch->exited) {
        if (!ch->killed && pgq_job_ctx_cancelled(ctx)) {
            ch->cancelled = true;
            kill_group(ch);
        }
        if (!ch->killed && deadline > 0 && mono() >= deadline) {
            ch->timed_out = true;
            kill_group(ch);
        }
        pump_once(ch, ch->killed ? 0 : deadline);
    }
    close_fd(&ch->in_fd);
    if (ch->err_fd >= 0)
        read_err(ch); /* what is already there; a grandchild may keep it open */
    close_fd(&ch->err_fd);
    close_fd(&ch->pid_fd);
}

/* ---- The error record ------------------------------------------------------------ */

/* The start of the last TAIL_LINES lines of the kept stderr (NUL-terminated
 * in place), and the last non-empty line copied into last. */
static const char *tail_lines(child *ch, char *last, size_t lastlen)
{
    size_t n = ch->tail_len;
    char *t = ch->tail;
    t[n] = '\0';
    while (n && (t[n - 1] == '\n' || t[n - 1] == '\r' || t[n - 1] == ' '))
        t[--n] = '\0';
    char *nl = strrchr(t, '\n');
    snprintf(last, lastlen, "%s", nl ? nl + 1 : t);
    int lines = 0;
    char *start = t + n;
    while (start > t && lines < TAIL_LINES) {
        start--;
        if (*start == '\n' && ++lines == TAIL_LINES)
            start++;
    }
    return start;
}

static void describe(const child *ch, const exec_spec *spec, char *type, size_t tl,
                     char *what, size_t wl)
{
    if (ch->timed_out) {
        snprintf(type, tl, "CommandTimeout");
        snprintf(what, wl, "timed out after %gs and was killed", spec->timeout);
    } else if (ch->cancelled) {
        snprintf(type, tl, "Cancelled");
        snprintf(what, wl, "cancelled: the command was killed");
    } else if (WIFSIGNALED(ch->status)) {
        snprintf(type, tl, "CommandKilled");
        snprintf(what, wl, "killed by signal %d (%s)", WTERMSIG(ch->status),
                 strsignal(WTERMSIG(ch->status)));
    } else {
        snprintf(type, tl, "CommandFailed");
        snprintf(what, wl, "exit status %d", WEXITSTATUS(ch->status));
    }
}

static void report(child *ch, const exec_spec *spec, pgq_job_ctx *ctx)
{
    char type[32], what[128], last[201], msg[400];
    describe(ch, spec, type, sizeof type, what, sizeof what);
    const char *lines = tail_lines(ch, last, sizeof last);
    snprintf(msg, sizeof msg, "%s%s%s", what, *last ? ": " : "", last);
    char *detail = NULL;
    if (asprintf(&detail, "command: %s\n%s\nstderr (last lines):\n%s", spec->command,
                 what, *lines ? lines : "(empty)") < 0)
        detail = NULL;
    pgq_job_ctx_error(ctx, type, msg, detail);
    free(detail);
}

int exec_handler(const pgq_job *job, pgq_job_ctx *ctx)
{
    const exec_spec *spec = pgq_job_ctx_userdata(ctx);
    child ch = {.in_fd = -1, .err_fd = -1, .pid_fd = -1};
    ch.payload = job->payload;
    ch.left = job->payload ? job->payload_len : 0;
    char **env = build_env(job, spec);
    int rc = env ? spawn(&ch, spec->command, env) : ENOMEM;
    free_env(env, spec);
    if (rc != 0) {
        char msg[256];
        snprintf(msg, sizeof msg, "cannot start /bin/sh: %s", strerror(rc));
        pgq_job_ctx_error(ctx, "CommandNotRun", msg, spec->command);
        return 1;
    }
    pump(&ch, spec, ctx);
    if (!ch.timed_out && !ch.cancelled && WIFEXITED(ch.status) &&
        WEXITSTATUS(ch.status) == 0)
        return 0;
    report(&ch, spec, ctx);
    return 1;
}
