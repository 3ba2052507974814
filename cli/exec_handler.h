/* exec_handler.h: `pgq run --exec ENTRYPOINT=COMMAND`, a handler that runs
 * a shell command per job. */
#ifndef PGQ_EXEC_HANDLER_H
#define PGQ_EXEC_HANDLER_H

#include "pgq.h"

/* One --exec registration; passed as the entrypoint's userdata. */
typedef struct exec_spec {
    const char *entrypoint;
    const char *command; /* run through /bin/sh -c */
    double timeout;      /* seconds; 0: none */
    bool pass_dsn;       /* --exec-env-dsn: PGDSN (the worker's DSN, else the
                            inherited one), PGQUEUER_DSN and PGPASSWORD reach
                            the command; otherwise they are removed */
    const char *dsn;     /* the worker's DSN, or NULL */
} exec_spec;

/* Runs spec->command for the job in its own process group: payload on
 * stdin; PGQ_JOB_ID, PGQ_ENTRYPOINT, PGQ_ATTEMPTS, PGQ_PRIORITY,
 * PGQ_HEADERS (JSON) and PGQ_WORKER_ID in the environment, without the
 * worker's secrets unless spec->pass_dsn. Exit 0 is
 * success; otherwise the exit status (or signal, or timeout) and the last
 * lines of stderr become the job's error. A cancelled job (or an
 * immediate stop) kills the process group. */
int exec_handler(const pgq_job *job, pgq_job_ctx *ctx);

#endif
