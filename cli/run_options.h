/* run_options.h: what `pgq run` is asked to do, parsed from its options
 * (run_options.c) and used to build and run the worker (cmd_run.c). */
#ifndef PGQ_RUN_OPTIONS_H
#define PGQ_RUN_OPTIONS_H

#include "cli.h"
#include "exec_handler.h"
#include "run_schedule.h"

enum ovr_kind { OVR_HOLD, OVR_LIMIT, OVR_RATE, OVR_TIMER, OVR_ATTEMPTS };

typedef struct override {
    enum ovr_kind kind;
    const char *option;
    char ep[256];
    double value;
} override;

typedef struct run_args {
    const char *plugin;
    int plugin_argc;
    char **plugin_argv;
    exec_spec *execs;
    size_t n_exec;
    double exec_timeout;
    bool exec_env_dsn;
    const char *dsn;
    override *ovr;
    size_t n_ovr;
    double backoff_initial, backoff_max;
    bool backoff_set;
    long long tasks; /* --max-concurrent-tasks; -1: not given */
    bool json;
    const char *metrics;  /* --metrics ADDR:PORT */
    bool restart;         /* --restart-on-failure */
    double restart_delay; /* --restart-delay, seconds */
    pgq_worker_opts wopts;
    run_schedules sched;
} run_args;

/* Prints a usage error of `pgq run` and returns -1. */
int run_bad(const char *fmt, ...) PGQ_PRINTF(1, 2);
/* Parses and checks argv into ra (zeroed by the caller); 0, or -1 after a
 * usage error. */
int run_parse_args(run_args *ra, int argc, char **argv);

#endif
