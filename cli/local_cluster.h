/* local_cluster.h: a private PostgreSQL cluster in a folder (pgq local). */
#ifndef PGQ_LOCAL_CLUSTER_H
#define PGQ_LOCAL_CLUSTER_H

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>

#define LOCAL_PORT "5432"
#define LOCAL_USER "postgres"

typedef struct local_cluster {
    char dir[PATH_MAX];    /* the state folder the user named */
    char root[PATH_MAX];   /* where data and socket live (dir, or a fallback
                              the server user can reach when run as root) */
    char data[PATH_MAX];   /* PGDATA */
    char socket[PATH_MAX]; /* unix socket directory; "" while none exists */
    char bindir[PATH_MAX]; /* initdb, pg_ctl */
    char logfile[PATH_MAX];
    bool as_root;        /* invoked as root: the server runs as postgres */
    bool socket_in_root; /* the socket lives in root (a short path), else
                            in a private folder made with mkdtemp in /tmp */
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
/* Writes s single-quoted for a POSIX shell. */
void local_shell_quote(FILE *f, const char *s);

/* local_conf.c: the server configuration, written as the server user. */
int local_write_conf(const local_cluster *lc, bool fast);
int local_include_conf(const local_cluster *lc);
int local_conf_quote_dir(const char *path, char *out, size_t n);

/* local_socket.c: the private socket folder used when root's path is too
 * long for a unix socket. */
/* Sets lc->socket: root, or the recorded private folder if it is still
 * safe (a directory, not a link, the server user's, mode 0700), else "". */
void local_socket_find(local_cluster *lc);
/* Makes sure lc->socket exists: creates a private folder when needed.
 * Returns 0, or -1 after printing why. */
int local_socket_make(local_cluster *lc);
/* Removes the private folder (as the server user). */
int local_socket_remove(local_cluster *lc);
/* Runs `rm -rf path...` as the server user. Returns 0 or -1. */
int local_remove_as_server(const local_cluster *lc, char *const paths[]);

#endif
