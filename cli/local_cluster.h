/* local_cluster.h: a private PostgreSQL cluster in a folder (pgq local). */
#ifndef PGQ_LOCAL_CLUSTER_H
#define PGQ_LOCAL_CLUSTER_H

#include <limits.h>
#include <stdbool.h>

typedef struct local_cluster {
    char dir[PATH_MAX];     /* the state folder the user named */
    char root[PATH_MAX];    /* where data and socket live (dir, or a fallback
                               the server user can reach when run as root) */
    char data[PATH_MAX];    /* PGDATA */
    char socket[PATH_MAX];  /* unix socket directory */
    char bindir[PATH_MAX];  /* initdb, pg_ctl */
    char logfile[PATH_MAX];
    bool as_root;           /* invoked as root: the server runs as postgres */
    unsigned server_uid, server_gid;
} local_cluster;

/* Resolves folders and binaries. dir NULL: $XDG_STATE_HOME/pgq or
 * ~/.local/state/pgq. Returns 0, or -1 after printing why. */
int local_resolve(local_cluster *lc, const char *dir);
/* initdb if needed, write settings, start if not running. fast: fsync off
 * (throwaway clusters for tests). Returns 0, or -1 after printing why. */
int local_start(local_cluster *lc, bool fast, bool quiet);
int local_stop(local_cluster *lc, bool quiet);
/* 1 running, 0 stopped, -1 not initialised. */
int local_running(const local_cluster *lc);
/* Stops the cluster and removes its files. */
int local_destroy(local_cluster *lc);
void local_print_env(const local_cluster *lc);

#endif
