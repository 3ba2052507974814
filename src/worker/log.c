/* log.c: the worker's only way to say anything. Every event goes to
 * the application's log callback, one call per line, serialized so the
 * callback needs no locking of its own. */
#include <stdio.h>

#include "worker.h"

/* Folds line breaks and tabs (libpq's messages have them) into single
 * spaces, so every event stays one line. */
static void one_line(char *s)
{
    char *out = s;
    for (const char *p = s; *p; p++) {
        bool brk = *p == '\n' || *p == '\r' || *p == '\t';
        if (brk && out > s && out[-1] == ' ')
            continue;
        *out++ = brk ? ' ' : *p;
    }
    while (out > s && out[-1] == ' ')
        out--;
    *out = '\0';
}

void pgq__wlog(pgq__wcore *core, pgq_log_level level, int64_t job_id,
               const char *entrypoint, const char *fmt, ...)
{
    /* Cheap unlocked pre-check is not possible without a race on log_on, so
     * the level test happens under the lock; it is short. */
    char line[2048];
    va_list ap;
    pthread_mutex_lock(&core->log_mu);
    if (core->log_on && core->log && level >= core->log_level) {
        va_start(ap, fmt);
        vsnprintf(line, sizeof line, fmt, ap);
        va_end(ap);
        one_line(line);
        core->log(core->log_ud, level, job_id, entrypoint, line);
    }
    pthread_mutex_unlock(&core->log_mu);
}
