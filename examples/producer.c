/*
 * producer.c: the smallest program on libpgq, an application enqueueing one
 * job. It builds against an installed libpgq with pkg-config alone:
 *
 *   cc producer.c $(pkg-config --cflags --libs pgq) -o producer
 *   ./producer ENTRYPOINT [PAYLOAD]
 *
 * The connection comes from PGDSN / PGQUEUER_DSN or libpq's PG* variables,
 * as for the pgq command. It prints the new job's id.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "pgq.h"

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: producer ENTRYPOINT [PAYLOAD]\n");
        return 2;
    }
    pgq_config cfg = {0};
    pgq_config_from_env(&cfg);
    pgq_client *c = NULL;
    int rc = pgq_client_open(&c, &cfg);
    if (rc == PGQ_OK) {
        pgq_new_job job = {0};
        job.entrypoint = argv[1];
        job.payload = argc == 3 ? argv[2] : NULL;
        job.payload_len = argc == 3 ? strlen(argv[2]) : 0;
        int64_t id = 0;
        rc = pgq_enqueue(c, &job, 1, PGQ_CONFLICT_RAISE, &id);
        if (rc == PGQ_OK)
            printf("%" PRId64 "\n", id);
    }
    if (rc != PGQ_OK)
        fprintf(stderr, "producer (libpgq %s): %s: %s\n", pgq_version(), pgq_strerror(rc),
                c ? pgq_client_errmsg(c) : "");
    pgq_client_free(c);
    return rc == PGQ_OK ? 0 : 1;
}
