/* test_worker_signals.c: the worker under real signals, in its own
 * process. The child installs SIGTERM/SIGINT handlers that only call
 * pgq_worker_stop (which must be async-signal-safe) and exits with the
 * status of pgq_worker_run; handlers append each job id they run to a file.
 * The parent signals it and judges by the database and that file: graceful
 * stop, a second signal, a grace period running out on a handler that
 * ignores cancellation, a burst of signals, and SIGKILL with take-over by a
 * second worker. */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Polls until the boolean query is true. */
static bool wait_sql(double timeout, const char *sql)
{
    double end = th_now() + timeout;
    while (th_now() < end) {
        if (tdb_int("SELECT (%s)::int", sql) > 0)
            return true;
        sleep_ms(10);
    }
    return false;
}

/* ---- The child: one worker ---------------------------------------------------- */

static char runs_path[256], starts_path[256];
static int runs_fd = -1, starts_fd = -1;
static int work_ms;
static bool ignore_cancel;

static void record(const pgq_job *job)
{
    char line[32];
    int n = snprintf(line, sizeof line, "%lld\n", (long long)job->id);
    if (write(runs_fd, line, (size_t)n) != n)
        _exit(99);
}

/* Works for work_ms, polling cancellation unless told to ignore it. */
static int work(const pgq_job *job, pgq_job_ctx *ctx)
{
    if (write(starts_fd, "s", 1) != 1)
        _exit(99);
    double end = th_now() + work_ms / 1000.0;
    while (th_now() < end) {
        if (!ignore_cancel && pgq_job_ctx_cancelled(ctx)) {
            pgq_job_ctx_error(ctx, "Interrupted", "cancelled", NULL);
            return 1;
        }
        sleep_ms(2);
    }
    record(job); /* only runs that completed count */
    return 0;
}

static pgq_worker *child_worker;

static void on_signal(int sig)
{
    (void)sig;
    pgq_worker_stop(child_worker, false);
}

static pid_t spawn_worker(pgq_worker_opts o, pgq_entrypoint_opts eo)
{
    fflush(NULL);
    pid_t parent = getpid();
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid > 0)
        return pid;
    /* A failing case must not leave its worker running. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(97);
    runs_fd = open(runs_path, O_WRONLY | O_APPEND | O_CREAT, 0644);
    starts_fd = open(starts_path, O_WRONLY | O_APPEND | O_CREAT, 0644);
    if (runs_fd < 0 || starts_fd < 0 ||
        pgq_worker_new(&child_worker, NULL, &o) != PGQ_OK ||
        pgq_worker_register(child_worker, "job", work, &eo) != PGQ_OK)
        _exit(98);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    int rc = pgq_worker_run(child_worker);
    _exit(rc == PGQ_OK ? 0 : 10 - rc);
}

/* Waits for the child; returns its exit status (or 100 + signal). */
static int reap(pid_t pid, double timeout, double *took)
{
    double t0 = th_now();
    int status = 0;
    while (waitpid(pid, &status, WNOHANG) == 0) {
        if (th_now() - t0 > timeout) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            th_fail(__FILE__, __LINE__, "worker did not exit within %.0fs", timeout);
        }
        sleep_ms(5);
    }
    if (took)
        *took = th_now() - t0;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status);
}

/* ---- Parent-side helpers -------------------------------------------------------- */

static void setup(int jobs)
{
    tdb_reset_schema();
    snprintf(runs_path, sizeof runs_path, "/tmp/pgq-test-signals-%d.runs", (int)getpid());
    snprintf(starts_path, sizeof starts_path, "/tmp/pgq-test-signals-%d.starts",
             (int)getpid());
    unlink(runs_path);
    unlink(starts_path);
    tdb_exec("INSERT INTO pgqueuer (priority, status, entrypoint, payload) "
             "SELECT 0, 'queued', 'job', NULL FROM generate_series(1, %d)",
             jobs);
}

/* Waits until handlers have started n times (one byte each in the file). */
static bool wait_started(int n, double timeout)
{
    double end = th_now() + timeout;
    struct stat st;
    while (th_now() < end) {
        if (stat(starts_path, &st) == 0 && st.st_size >= n)
            return true;
        sleep_ms(2);
    }
    return false;
}

static void cleanup(void)
{
    unlink(runs_path);
    unlink(starts_path);
}

/* Runs recorded in the file: total lines and distinct ids. */
static void count_runs(int *lines, int *distinct)
{
    static char seen[1 << 16];
    memset(seen, 0, sizeof seen);
    *lines = *distinct = 0;
    FILE *f = fopen(runs_path, "r");
    long long id;
    while (f && fscanf(f, "%lld", &id) == 1) {
        (*lines)++;
        if (id > 0 && id < (long long)sizeof seen && !seen[id]++)
            (*distinct)++;
    }
    if (f)
        fclose(f);
}

static long long count_status(const char *status)
{
    return tdb_int("SELECT count(*) FROM pgqueuer_log WHERE status = '%s'", status);
}

/* ---- Cases ------------------------------------------------------------------------ */

TEST(sigterm_is_graceful)
{
    setup(200);
    work_ms = 300;
    pid_t pid = spawn_worker((pgq_worker_opts){.batch_size = 5, .threads = 5},
                             (pgq_entrypoint_opts){0});
    CHECK(wait_started(5, 10));
    kill(pid, SIGTERM);
    double took;
    CHECK_INT(reap(pid, 20, &took), 0);
    /* 300 ms jobs against a 30 s grace */
    CHECKF(took < 10, "stopping took %.2fs", took);
    int lines, distinct;
    count_runs(&lines, &distinct);
    CHECK(lines >= 5);
    CHECK_INT(distinct, lines);
    CHECK_INT(count_status("successful"), lines);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer WHERE status = 'queued' AND "
                      "queue_manager_id IS NULL"),
              200 - lines);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer WHERE status = 'picked'"), 0);
    cleanup();
}

TEST(second_signal_stops_at_once)
{
    setup(50);
    work_ms = 30000;
    pid_t pid = spawn_worker((pgq_worker_opts){.batch_size = 4, .threads = 4},
                             (pgq_entrypoint_opts){0});
    CHECK(wait_started(4, 10));
    kill(pid, SIGINT);
    sleep_ms(100);
    kill(pid, SIGINT);
    double took;
    CHECK_INT(reap(pid, 20, &took), 0);
    /* at once, not after the 30 s jobs */
    CHECKF(took < 10, "stopping took %.2fs", took);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer WHERE status = 'queued' AND "
                      "queue_manager_id IS NULL"),
              50);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer_log WHERE status NOT IN "
                      "('queued','picked')"),
              0);
    CHECK_INT(count_status("queued"), 4); /* the four running, handed back */
    cleanup();
}

TEST(grace_runs_out_on_a_stubborn_handler)
{
    setup(1);
    work_ms = 30000;
    ignore_cancel = true;
    pid_t pid =
        spawn_worker((pgq_worker_opts){.shutdown_grace = 0.5}, (pgq_entrypoint_opts){0});
    CHECK(wait_started(1, 10));
    kill(pid, SIGTERM);
    double took;
    CHECK_INT(reap(pid, 30, &took), 0);
    /* grace 0.5 s, then a second for the cancelled handler (and
     * ThreadSanitizer's one-second pause at exit); far from the handler's
     * 30 s, so a loaded machine passes */
    CHECKF(took >= 1.4 && took < 15, "stopping took %.2fs", took);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer WHERE status = 'queued' AND "
                      "queue_manager_id IS NULL"),
              1);
    CHECK_INT(count_status("successful"), 0);
    cleanup();
}

TEST(signal_burst)
{
    setup(100);
    work_ms = 50;
    pid_t pid = spawn_worker((pgq_worker_opts){.batch_size = 4, .threads = 8},
                             (pgq_entrypoint_opts){0});
    CHECK(wait_sql(10,
                   "SELECT count(*) >= 8 FROM pgqueuer_log WHERE status = 'successful'"));
    for (int i = 0; i < 200; i++)
        kill(pid, i % 2 ? SIGTERM : SIGINT);
    CHECK_INT(reap(pid, 10, NULL), 0);
    int lines, distinct;
    count_runs(&lines, &distinct);
    CHECK_INT(distinct, lines);
    CHECK_INT(count_status("successful"), lines);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer WHERE status = 'picked'"), 0);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer"), 100 - lines);
    cleanup();
}

TEST(sigkill_jobs_are_taken_over)
{
    setup(300);
    work_ms = 20;
    pgq_entrypoint_opts eo = {.retry_timer = 1.0};
    pid_t victim = spawn_worker((pgq_worker_opts){.batch_size = 5, .threads = 10}, eo);
    CHECK(wait_sql(
        10, "SELECT count(*) >= 50 FROM pgqueuer_log WHERE status = 'successful'"));
    kill(victim, SIGKILL);
    CHECK_INT(reap(victim, 10, NULL), 100 + SIGKILL);
    /* A COMMIT of outcomes sent just before the kill still completes: count
     * the orphans once the dead worker's backends are gone (no other
     * worker runs yet). */
    CHECK(wait_sql(30, "SELECT count(*) = 0 FROM pg_stat_activity WHERE datname = "
                       "current_database() AND application_name LIKE 'pgq worker%'"));
    long long orphans = tdb_int("SELECT count(*) FROM pgqueuer WHERE status = 'picked'");
    CHECK(orphans > 0);
    pid_t survivor = spawn_worker(
        (pgq_worker_opts){.mode = PGQ_MODE_DRAIN, .batch_size = 5, .threads = 10}, eo);
    CHECK_INT(reap(survivor, 60, NULL), 0);
    int lines, distinct;
    count_runs(&lines, &distinct);
    printf("# %lld job(s) orphaned by SIGKILL; %d run(s) for 300 jobs\n", orphans, lines);
    CHECK_INT(distinct, 300);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer"), 0);
    CHECK_INT(count_status("successful"), 300);
    CHECK_INT(tdb_int("SELECT count(DISTINCT job_id) FROM pgqueuer_log WHERE status = "
                      "'successful'"),
              300);
    CHECK(tdb_int("SELECT count(*) FROM (SELECT job_id FROM pgqueuer_log WHERE status = "
                  "'picked' GROUP BY job_id HAVING count(*) = 2) t") >= orphans);
    cleanup();
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    static const th_case cases[] = {
        CASE(sigterm_is_graceful),
        CASE(second_signal_stops_at_once),
        CASE(grace_runs_out_on_a_stubborn_handler),
        CASE(signal_burst),
        CASE(sigkill_jobs_are_taken_over),
    };
    return th_main(cases, sizeof cases / sizeof cases[0], argc, argv);
}
