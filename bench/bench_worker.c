/* bench_worker.c: the worker under test runs in a child process of its own,
 * so that its peak RSS and CPU time come from wait4() and nothing else
 * (not the producers, not the setup) is counted. Parent and child share one
 * anonymous mapping: counters, timestamps and the latency slots. */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

struct bench_shared {
    atomic_long handled;
    atomic_llong first_ns; /* CLOCK_MONOTONIC of the first handler call */
    atomic_llong end_ns;   /* when pgq_worker_run returned */
    size_t n_slots;
    double slots[]; /* CLOCK_REALTIME handler start per payload */
};

static pgq_worker *child_worker;

static long long mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void on_term(int sig)
{
    (void)sig;
    if (child_worker)
        pgq_worker_stop(child_worker, false);
}

/* Parses the decimal payload; -1 if it is not one. */
static long payload_index(const pgq_job *job)
{
    long v = 0;
    if (!job->payload || job->payload_len == 0 || job->payload_len > 18)
        return -1;
    for (size_t i = 0; i < job->payload_len; i++) {
        if (job->payload[i] < '0' || job->payload[i] > '9')
            return -1;
        v = v * 10 + (job->payload[i] - '0');
    }
    return v;
}

/* The no-op job: record when it started, nothing else. */
static int noop_handler(const pgq_job *job, pgq_job_ctx *ctx)
{
    bench_shared *sh = pgq_job_ctx_userdata(ctx);
    if (sh->n_slots) {
        long i = payload_index(job);
        if (i >= 0 && (size_t)i < sh->n_slots)
            sh->slots[i] = bench_real();
    }
    long long zero = 0;
    atomic_compare_exchange_strong(&sh->first_ns, &zero, mono_ns());
    atomic_fetch_add(&sh->handled, 1);
    return 0;
}

static void log_to_stderr(void *ud, pgq_log_level level, int64_t job_id,
                          const char *entrypoint, const char *message)
{
    (void)ud;
    (void)entrypoint;
    fprintf(stderr, "pgq_bench worker: %s%s (job %lld)\n",
            level >= PGQ_LOG_ERROR ? "error: " : "", message, (long long)job_id);
}

/* Conninfo adding server options (e.g. "-c synchronous_commit=off") to the
 * worker's sessions only; the rest comes from the PG* variables or a
 * key=value PGDSN. */
static const char *worker_dsn(const bench_opts *o, char *buf, size_t n)
{
    if (!o->worker_options || !*o->worker_options)
        return o->cfg.dsn;
    size_t k = (size_t)snprintf(buf, n, "%s options='", o->cfg.dsn ? o->cfg.dsn : "");
    for (const char *p = o->worker_options; *p && k + 3 < n; p++) {
        if (*p == '\'' || *p == '\\')
            buf[k++] = '\\';
        buf[k++] = *p;
    }
    snprintf(buf + k, n - k, "'");
    return buf;
}

static int child_main(const bench_opts *o, pgq_worker_mode mode, bench_shared *sh)
{
    char dsn[1024];
    pgq_config cfg = o->cfg;
    cfg.application_name = BENCH_WORKER_APP;
    cfg.dsn = worker_dsn(o, dsn, sizeof dsn);
    pgq_worker_opts wo = {
        .batch_size = o->worker_batch > 0 ? o->worker_batch : o->batch,
        .threads = o->threads,
        .max_concurrent_tasks = o->max_tasks,
        .fixed_batch = o->fixed_batch,
        .mode = mode,
        .log = log_to_stderr,
        .log_level = PGQ_LOG_WARN,
    };
    pgq_entrypoint_opts eo = {.userdata = sh};
    pgq_worker *w = NULL;
    int rc = pgq_worker_new(&w, &cfg, &wo);
    if (rc == PGQ_OK)
        rc = pgq_worker_register(w, BENCH_ENTRYPOINT, noop_handler, &eo);
    if (rc == PGQ_OK) {
        child_worker = w;
        rc = pgq_worker_run(w);
        atomic_store(&sh->end_ns, mono_ns());
    }
    if (rc != PGQ_OK)
        fprintf(stderr, "pgq_bench worker: %s: %s\n", pgq_strerror(rc),
                w ? pgq_worker_errmsg(w) : "");
    child_worker = NULL;
    pgq_worker_free(w);
    return rc == PGQ_OK ? 0 : 1;
}

int bench_child_start(bench_child *ch, const bench_opts *o, pgq_worker_mode mode,
                      size_t slots)
{
    memset(ch, 0, sizeof *ch);
    ch->sh_size = sizeof(bench_shared) + slots * sizeof(double);
    ch->sh = mmap(NULL, ch->sh_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                  -1, 0);
    if (ch->sh == MAP_FAILED) {
        ch->sh = NULL;
        return -1;
    }
    ch->sh->n_slots = slots;
    fflush(NULL);
    ch->pid = fork();
    if (ch->pid < 0)
        return -1;
    if (ch->pid == 0) {
        struct sigaction sa = {.sa_handler = on_term};
        sigemptyset(&sa.sa_mask);
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        _exit(child_main(o, mode, ch->sh));
    }
    return 0;
}

void bench_child_stop(bench_child *ch)
{
    if (ch->pid > 0)
        kill(ch->pid, SIGTERM);
}

int bench_child_wait(bench_child *ch)
{
    struct rusage ru;
    pid_t r;
    if (ch->pid <= 0)
        return -1;
    while ((r = wait4(ch->pid, &ch->status, 0, &ru)) < 0 && errno == EINTR)
        ;
    ch->pid = 0;
    if (r < 0)
        return -1;
    ch->maxrss_kb = ru.ru_maxrss;
    ch->cpu_s = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    return WIFEXITED(ch->status) && WEXITSTATUS(ch->status) == 0 ? 0 : -1;
}

void bench_child_free(bench_child *ch)
{
    if (ch->pid > 0) {
        kill(ch->pid, SIGKILL);
        bench_child_wait(ch);
    }
    if (ch->sh)
        munmap(ch->sh, ch->sh_size);
    ch->sh = NULL;
}

long bench_child_handled(const bench_child *ch)
{
    return atomic_load(&ch->sh->handled);
}

double bench_child_first(const bench_child *ch)
{
    return (double)atomic_load(&ch->sh->first_ns) / 1e9;
}

double bench_child_end(const bench_child *ch)
{
    return (double)atomic_load(&ch->sh->end_ns) / 1e9;
}

double bench_child_slot(const bench_child *ch, size_t i)
{
    return i < ch->sh->n_slots ? ch->sh->slots[i] : 0;
}

/* Has the child exited? Leaves it unreaped, so wait4() still gets its
 * rusage. */
static bool bench_child_exited(const bench_child *ch)
{
    siginfo_t si;
    memset(&si, 0, sizeof si);
    if (waitid(P_PID, (id_t)ch->pid, &si, WEXITED | WNOHANG | WNOWAIT) != 0)
        return true;
    return si.si_pid != 0;
}

bool bench_child_wait_handled(bench_child *ch, long n, double timeout)
{
    double deadline = bench_mono() + timeout;
    while (bench_child_handled(ch) < n) {
        if (bench_mono() > deadline || bench_child_exited(ch))
            return false;
        usleep(1000);
    }
    return true;
}
