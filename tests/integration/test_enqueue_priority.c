/* test_enqueue_priority.c: pgq_enqueue with PGQ_CONFLICT_UPDATE_PRIORITY
 * (PgQueuer 1.6's on_conflict="update_priority") against a real
 * PostgreSQL: a dedupe conflict with an active job raises that job's
 * priority to the greater of the two and returns its id; nothing is
 * inserted or logged for the position; a held (failed) job's key does not
 * conflict. */
#include <string.h>

#include "harness.h"

static int64_t enqueue(pgq_client *c, const char *key, int priority)
{
    pgq_new_job j = {.entrypoint = "mail", .priority = priority, .dedupe_key = key};
    int64_t id = -1;
    CHECK_OK(c, pgq_enqueue(c, &j, 1, PGQ_CONFLICT_UPDATE_PRIORITY, &id));
    return id;
}

TEST(conflict_raises_the_priority_and_returns_the_existing_id)
{
    tdb_reset_schema();
    pgq_client *c = tdb_client(NULL);
    int64_t first = enqueue(c, "k", 1);
    CHECK(first > 0);
    CHECK_INT(enqueue(c, "k", 5), first);
    CHECK_INT(tdb_int("SELECT priority FROM pgqueuer WHERE id = %lld", (long long)first),
              5);
    CHECK_INT(enqueue(c, "k", 2), first); /* lower: kept at 5 */
    CHECK_INT(tdb_int("SELECT priority FROM pgqueuer WHERE id = %lld", (long long)first),
              5);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer"), 1);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer_log"), 1);
    pgq_client_free(c);
}

TEST(batch_mixes_new_and_existing_positions)
{
    tdb_reset_schema();
    pgq_client *c = tdb_client(NULL);
    int64_t held = enqueue(c, "k", 0);
    pgq_new_job jobs[3] = {
        {.entrypoint = "mail", .priority = 3, .dedupe_key = "a"},
        {.entrypoint = "mail", .priority = 9, .dedupe_key = "k"},
        {.entrypoint = "mail", .priority = 1},
    };
    int64_t ids[3] = {0};
    CHECK_OK(c, pgq_enqueue(c, jobs, 3, PGQ_CONFLICT_UPDATE_PRIORITY, ids));
    CHECK(ids[0] > held && ids[2] > held && ids[0] != ids[2]);
    CHECK_INT(ids[1], held);
    CHECK_INT(tdb_int("SELECT priority FROM pgqueuer WHERE id = %lld", (long long)held),
              9);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer"), 3);
    CHECK_INT(
        tdb_int("SELECT count(*) FROM pgqueuer_log WHERE job_id = %lld", (long long)held),
        1);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer_log"), 3);
    pgq_client_free(c);
}

TEST(running_jobs_conflict_held_ones_do_not)
{
    tdb_reset_schema();
    pgq_client *c = tdb_client(NULL);
    int64_t run =
        tdb_int("INSERT INTO pgqueuer (priority, status, entrypoint, dedupe_key, "
                "queue_manager_id) VALUES (2, 'picked', 'mail', 'r', "
                "gen_random_uuid()) RETURNING id");
    int64_t failed =
        tdb_int("INSERT INTO pgqueuer (priority, status, entrypoint, "
                "dedupe_key) VALUES (2, 'failed', 'mail', 'f') RETURNING id");
    CHECK_INT(enqueue(c, "r", 7), run);
    CHECK_INT(tdb_int("SELECT priority FROM pgqueuer WHERE id = %lld", (long long)run),
              7);
    int64_t fresh = enqueue(c, "f", 7);
    CHECK(fresh != failed && fresh > 0);
    CHECK_INT(tdb_int("SELECT priority FROM pgqueuer WHERE id = %lld", (long long)failed),
              2);
    pgq_client_free(c);
}

int main(int argc, char **argv)
{
    static const th_case cases[] = {
        CASE(conflict_raises_the_priority_and_returns_the_existing_id),
        CASE(batch_mixes_new_and_existing_positions),
        CASE(running_jobs_conflict_held_ones_do_not),
    };
    return th_main(cases, sizeof cases / sizeof cases[0], argc, argv);
}
