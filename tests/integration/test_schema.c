/*
 * test_schema.c: install, uninstall, upgrade, verify, durability, autovac and
 * SQL rendering against a real PostgreSQL. The contract of docs/design.md §3 is
 * written out here independently of src/sql/verify_objects.sql, so that
 * pgq_verify and the install script cannot agree on a mistake.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>

#include "harness.h"

/* ---- helpers ------------------------------------------------------------ */

static pgq_client *client(const char *prefix, const char *schema)
{
    pgq_config cfg = {.prefix = prefix, .schema = schema};
    pgq_client *c = NULL;
    int rc = pgq_client_open(&c, &cfg);
    CHECKF(rc == PGQ_OK, "open: %s", c ? pgq_client_errmsg(c) : pgq_strerror(rc));
    return c;
}

/* Drops everything pgq may have created in any test of this file. */
static void clean(void)
{
    const char *prefixes[] = {NULL, "app_", "app2_"};
    const char *schemas[] = {NULL, "s"};
    for (size_t p = 0; p < 3; p++)
        for (size_t s = 0; s < 2; s++) {
            pgq_client *c = client(prefixes[p], schemas[s]);
            CHECK_OK(c, pgq_uninstall(c));
            pgq_client_free(c);
        }
    tdb_exec("DROP SCHEMA IF EXISTS s");
    tdb_exec("DROP SCHEMA IF EXISTS t2");
}

static void install(const char *prefix, const char *schema, pgq_durability d)
{
    pgq_client *c = client(prefix, schema);
    pgq_sql_opts o = {.durability = d};
    CHECK_OK(c, pgq_install(c, &o));
    pgq_client_free(c);
}

typedef struct collected {
    int n;
    char lines[64][256];
} collected;

static void collect(void *ud, const char *problem)
{
    collected *col = ud;
    if (col->n < 64)
        snprintf(col->lines[col->n], sizeof col->lines[0], "%s", problem);
    col->n++;
}

/* Runs pgq_verify and returns the problems seen (printed on failure). */
static int verify(const char *prefix, const char *schema, bool present, collected *col)
{
    pgq_client *c = client(prefix, schema);
    int problems = -1;
    memset(col, 0, sizeof *col);
    CHECK_OK(c, pgq_verify(c, present, collect, col, &problems));
    CHECK_INT(problems, col->n);
    pgq_client_free(c);
    for (int i = 0; i < col->n && i < 64; i++)
        printf("# verify: %s\n", col->lines[i]);
    return problems;
}

static bool seen(const collected *col, const char *needle)
{
    for (int i = 0; i < col->n && i < 64; i++)
        if (strstr(col->lines[i], needle))
            return true;
    return false;
}

/* The contract's columns: name, data type, nullable, default (NULL: none).
 * "SEQ" stands for a nextval() default. */
typedef struct col_spec {
    const char *name, *type, *nullable, *def;
} col_spec;

static void expand_type(const char *def, const char *type, char *out, size_t n);

/* Checks table's columns against cols; "TYPE" in a default stands for the
 * enum as printed (typeref). */
static void check_columns(const char *schema, const char *table, const col_spec *cols,
                          size_t n, const char *typeref)
{
    CHECK_INT(tdb_int("SELECT count(*) FROM information_schema.columns WHERE "
                      "table_schema = %s AND table_name = '%s'",
                      schema, table),
              n);
    for (size_t i = 0; i < n; i++) {
        char *got = tdb_str(
            "SELECT data_type || '|' || is_nullable || '|' || CASE WHEN column_default "
            "LIKE 'nextval(%%' THEN 'SEQ' ELSE coalesce(column_default, '-') END || '|' "
            "|| "
            "is_identity FROM information_schema.columns WHERE table_schema = %s AND "
            "table_name = '%s' AND column_name = '%s'",
            schema, table, cols[i].name);
        bool ident = cols[i].def && strcmp(cols[i].def, "IDENTITY") == 0;
        char def[256], want[512];
        expand_type(ident || !cols[i].def ? "-" : cols[i].def, typeref, def, sizeof def);
        snprintf(want, sizeof want, "%s|%s|%s|%s", cols[i].type, cols[i].nullable, def,
                 ident ? "YES" : "NO");
        CHECKF(got && strcmp(got, want) == 0, "%s.%s: got %s, want %s", table,
               cols[i].name, got ? got : "(missing)", want);
        free(got);
    }
}

static const col_spec queue_cols[] = {
    {"id", "bigint", "NO", "SEQ"},
    {"priority", "integer", "NO", NULL},
    {"queue_manager_id", "uuid", "YES", NULL},
    {"created", "timestamp with time zone", "NO", "now()"},
    {"updated", "timestamp with time zone", "NO", "now()"},
    {"heartbeat", "timestamp with time zone", "NO", "now()"},
    {"execute_after", "timestamp with time zone", "NO", "now()"},
    {"status", "USER-DEFINED", "NO", NULL},
    {"entrypoint", "text", "NO", NULL},
    {"dedupe_key", "text", "YES", NULL},
    {"payload", "bytea", "YES", NULL},
    {"headers", "jsonb", "YES", NULL},
    {"attempts", "integer", "NO", "0"},
    {"slot", "bigint", "YES", NULL},
    {"cancel_requested", "boolean", "NO", "false"},
};

static const col_spec log_cols[] = {
    {"id", "bigint", "NO", "IDENTITY"},
    {"created", "timestamp with time zone", "NO", "now()"},
    {"job_id", "bigint", "NO", NULL},
    {"status", "USER-DEFINED", "NO", NULL},
    {"priority", "integer", "NO", NULL},
    {"entrypoint", "text", "NO", NULL},
    {"traceback", "jsonb", "YES", NULL},
    {"aggregated", "boolean", "YES", "false"},
};

static const col_spec stats_cols[] = {
    {"id", "bigint", "NO", "SEQ"},
    {"created", "timestamp with time zone", "NO", "date_trunc('sec'::text, now())"},
    {"count", "bigint", "NO", NULL},
    {"priority", "integer", "NO", NULL},
    {"status", "USER-DEFINED", "NO", NULL},
    {"entrypoint", "text", "NO", NULL},
};

static const col_spec sched_cols[] = {
    {"id", "bigint", "NO", "SEQ"},
    {"expression", "text", "NO", NULL},
    {"entrypoint", "text", "NO", NULL},
    {"heartbeat", "timestamp with time zone", "NO", "now()"},
    {"created", "timestamp with time zone", "NO", "now()"},
    {"updated", "timestamp with time zone", "NO", "now()"},
    {"next_run", "timestamp with time zone", "NO", "now()"},
    {"last_run", "timestamp with time zone", "YES", NULL},
    {"status", "USER-DEFINED", "YES", "'queued'::TYPE"},
};

/* Index name suffix (after the prefix) and its definition after "USING". */
typedef struct idx_spec {
    const char *name, *def;
} idx_spec;

static const idx_spec indexes[] = {
    {"pgqueuer_pkey", "btree (id)"},
    {"pgqueuer_priority_id_id1_idx",
     "btree (priority, id DESC) INCLUDE (id) WHERE (status = 'queued'::TYPE)"},
    {"pgqueuer_updated_id_id1_idx",
     "btree (updated, id DESC) INCLUDE (id) WHERE (status = 'picked'::TYPE)"},
    {"pgqueuer_queue_manager_id_idx",
     "btree (queue_manager_id) WHERE (queue_manager_id IS NOT NULL)"},
    {"pgqueuer_ep_prio_id_idx", "btree (entrypoint, priority DESC, execute_after, id) "
                                "WHERE (status = 'queued'::TYPE)"},
    {"pgqueuer_ep_ea_idx",
     "btree (entrypoint, execute_after) WHERE (status = 'queued'::TYPE)"},
    {"pgqueuer_unique_dedupe_key", "btree (dedupe_key) WHERE ((status = ANY "
                                   "(ARRAY['queued'::TYPE, 'picked'::TYPE])) AND "
                                   "(dedupe_key IS NOT NULL))"},
    {"pgqueuer_picked_slot_idx",
     "btree (entrypoint, slot) WHERE ((status = 'picked'::TYPE) AND (slot IS NOT NULL))"},
    {"pgqueuer_picked_heartbeat_idx",
     "btree (heartbeat) WHERE (status = 'picked'::TYPE)"},
    {"pgqueuer_log_pkey", "btree (id)"},
    {"pgqueuer_log_not_aggregated", "btree ((1)) WHERE (NOT aggregated)"},
    {"pgqueuer_log_created", "btree (created)"},
    {"pgqueuer_log_status", "btree (status)"},
    {"pgqueuer_log_job_id_status", "btree (job_id, created DESC)"},
    {"pgqueuer_statistics_pkey", "btree (id)"},
    {"pgqueuer_statistics_unique_count",
     "btree (priority, date_trunc('sec'::text, timezone('UTC'::text, created)), status, "
     "entrypoint)"},
    {"pgqueuer_statistics_created", "btree (created)"},
    {"pgqueuer_schedules_pkey", "btree (id)"},
    {"pgqueuer_schedules_expression_entrypoint_key", "btree (expression, entrypoint)"},
};
static const char *const unique_indexes[] = {
    "pgqueuer_pkey",
    "pgqueuer_unique_dedupe_key",
    "pgqueuer_picked_slot_idx",
    "pgqueuer_log_pkey",
    "pgqueuer_statistics_pkey",
    "pgqueuer_statistics_unique_count",
    "pgqueuer_schedules_pkey",
    "pgqueuer_schedules_expression_entrypoint_key"};

static bool is_unique(const char *name)
{
    for (size_t i = 0; i < sizeof unique_indexes / sizeof unique_indexes[0]; i++)
        if (strcmp(unique_indexes[i], name) == 0)
            return true;
    return false;
}

/* Replaces "TYPE" in def with the (qualified) type name. */
static void expand_type(const char *def, const char *type, char *out, size_t n)
{
    size_t o = 0;
    for (const char *p = def; *p && o + 1 < n;) {
        if (strncmp(p, "TYPE", 4) == 0) {
            o += (size_t)snprintf(out + o, n - o, "%s", type);
            p += 4;
        } else {
            out[o++] = *p++;
        }
    }
    out[o < n ? o : n - 1] = '\0';
}

/* Checks the whole docs/design.md §3 contract for prefix p in schema nsp (SQL
 * expression, e.g. "'public'"), with typeref the type as printed in index
 * predicates by a session whose search_path is the default. */
static void check_contract(const char *p, const char *nsp, const char *typeref)
{
    char t[128];
    snprintf(t, sizeof t, "%spgqueuer", p);
    check_columns(nsp, t, queue_cols, sizeof queue_cols / sizeof queue_cols[0], typeref);
    snprintf(t, sizeof t, "%spgqueuer_log", p);
    check_columns(nsp, t, log_cols, sizeof log_cols / sizeof log_cols[0], typeref);
    snprintf(t, sizeof t, "%spgqueuer_statistics", p);
    check_columns(nsp, t, stats_cols, sizeof stats_cols / sizeof stats_cols[0], typeref);
    snprintf(t, sizeof t, "%spgqueuer_schedules", p);
    check_columns(nsp, t, sched_cols, sizeof sched_cols / sizeof sched_cols[0], typeref);
    char want[512];

    /* Enum values in order, and the status columns use it. */
    char *labels =
        tdb_str("SELECT string_agg(enumlabel, ',' ORDER BY enumsortorder) FROM "
                "pg_enum e JOIN pg_type t ON t.oid = e.enumtypid WHERE typname = "
                "'%spgqueuer_status' AND typnamespace = %s::regnamespace",
                p, nsp);
    CHECK_STR(labels, "queued,picked,successful,exception,canceled,deleted,failed");
    free(labels);
    CHECK_INT(
        tdb_int("SELECT count(*) FROM information_schema.columns WHERE table_schema = "
                "%s AND column_name = 'status' AND udt_name = '%spgqueuer_status'",
                nsp, p),
        4);

    /* Exactly the indexes of the contract, with their definitions. */
    size_t n_idx = sizeof indexes / sizeof indexes[0];
    CHECK_INT(
        tdb_int("SELECT count(*) FROM pg_indexes WHERE schemaname = %s AND tablename "
                "LIKE '%spgqueuer%%'",
                nsp, p),
        n_idx);
    for (size_t i = 0; i < n_idx; i++) {
        char expanded[512];
        expand_type(indexes[i].def, typeref, expanded, sizeof expanded);
        char *got = tdb_str("SELECT regexp_replace(indexdef, '^.* USING ', '') || "
                            "CASE WHEN indexdef LIKE 'CREATE UNIQUE%%' THEN ' [unique]' "
                            "ELSE '' END FROM pg_indexes WHERE schemaname = %s AND "
                            "indexname = '%s%s'",
                            nsp, p, indexes[i].name);
        snprintf(want, sizeof want, "%s%s", expanded,
                 is_unique(indexes[i].name) ? " [unique]" : "");
        CHECKF(got && strcmp(got, want) == 0, "index %s%s: got %s, want %s", p,
               indexes[i].name, got ? got : "(missing)", want);
        free(got);
    }

    /* One statement-level AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
     * trigger (tgtype 4|8|16|32, no ROW bit) calling our plpgsql function. */
    CHECK_INT(
        tdb_int("SELECT count(*) FROM pg_trigger tg JOIN pg_class c ON c.oid = "
                "tg.tgrelid JOIN pg_proc f ON f.oid = tg.tgfoid JOIN pg_language l ON "
                "l.oid = f.prolang WHERE NOT tg.tgisinternal AND c.relname = "
                "'%spgqueuer' AND c.relnamespace = %s::regnamespace AND tg.tgname = "
                "'%stg_pgqueuer_changed' AND tg.tgtype = 60 AND f.proname = "
                "'%sfn_pgqueuer_changed' AND f.pronamespace = %s::regnamespace AND "
                "l.lanname = 'plpgsql' AND f.prorettype = 'trigger'::regtype",
                p, nsp, p, p, nsp),
        1);
    CHECK_INT(tdb_int("SELECT count(*) FROM pg_trigger tg JOIN pg_class c ON c.oid = "
                      "tg.tgrelid WHERE NOT tg.tgisinternal AND c.relnamespace = "
                      "%s::regnamespace",
                      nsp),
              1);
}

/* Waits up to 5 s for one notification on conn; NULL on timeout. */
static PGnotify *await_notify(PGconn *conn, int ms)
{
    PGnotify *n;
    PQconsumeInput(conn);
    while ((n = PQnotifies(conn)) == NULL && ms > 0) {
        fd_set fds;
        FD_ZERO(&fds);
        FD_SET(PQsocket(conn), &fds);
        struct timeval tv = {0, 50000};
        select(PQsocket(conn) + 1, &fds, NULL, NULL, &tv);
        PQconsumeInput(conn);
        ms -= 50;
    }
    return n;
}

/* Checks a table_changed_event payload: exactly the PgQueuer keys. */
static void check_payload(const char *payload, const char *channel, const char *op,
                          const char *table)
{
    json_error_t e;
    json_t *j = json_loads(payload, 0, &e);
    CHECKF(j && json_is_object(j), "payload is not a JSON object: %s", payload);
    CHECK_INT(json_object_size(j), 5);
    CHECK_STR(json_string_value(json_object_get(j, "channel")), channel);
    CHECK_STR(json_string_value(json_object_get(j, "operation")), op);
    CHECK_STR(json_string_value(json_object_get(j, "table")), table);
    CHECK_STR(json_string_value(json_object_get(j, "type")), "table_changed_event");
    const char *sent = json_string_value(json_object_get(j, "sent_at"));
    CHECKF(
        sent && strlen(sent) >= 20 &&
            (strchr(sent + 19, '+') || strchr(sent + 19, '-') || strchr(sent + 19, 'Z')),
        "sent_at not timezone-aware: %s", sent ? sent : "(null)");
    json_decref(j);
}

/* A text snapshot of every catalog fact upgrade could change, including
 * OIDs and file nodes, so that a rebuilt object shows as a difference. */
static char *catalog_snapshot(void)
{
    return tdb_str(
        "SELECT string_agg(x, E'\\n' ORDER BY x) FROM ("
        "SELECT 'class ' || c.oid || ' ' || relname || ' ' || relkind::text || ' ' || "
        "relfilenode || "
        "' ' || relpersistence::text || ' ' || coalesce(array_to_string(reloptions, "
        "','), '') FROM "
        "pg_class c WHERE relnamespace = 'public'::regnamespace "
        "UNION ALL SELECT 'att ' || attrelid || ' ' || attname || ' ' || atttypid || ' ' "
        "|| "
        "attnotnull || ' ' || attidentity::text || ' ' || attnum FROM pg_attribute a "
        "JOIN pg_class c ON "
        "c.oid = a.attrelid WHERE relnamespace = 'public'::regnamespace AND attnum > 0 "
        "AND NOT "
        "attisdropped "
        "UNION ALL SELECT 'def ' || d.oid || ' ' || pg_get_expr(adbin, adrelid) FROM "
        "pg_attrdef "
        "d JOIN pg_class c ON c.oid = d.adrelid WHERE relnamespace = "
        "'public'::regnamespace "
        "UNION ALL SELECT 'idx ' || indexrelid || ' ' || pg_get_indexdef(indexrelid) "
        "FROM "
        "pg_index i JOIN pg_class c ON c.oid = i.indrelid WHERE relnamespace = "
        "'public'::regnamespace "
        "UNION ALL SELECT 'trg ' || t.oid || ' ' || tgname || ' ' || tgtype || ' ' || "
        "tgfoid "
        "FROM pg_trigger t WHERE NOT tgisinternal "
        "UNION ALL SELECT 'proc ' || oid || ' ' || proname || ' ' || md5(prosrc) FROM "
        "pg_proc "
        "WHERE pronamespace = 'public'::regnamespace "
        "UNION ALL SELECT 'enum ' || oid || ' ' || enumlabel || ' ' || enumsortorder "
        "FROM pg_enum "
        "UNION ALL SELECT 'type ' || oid || ' ' || typname FROM pg_type WHERE "
        "typnamespace = "
        "'public'::regnamespace "
        "UNION ALL SELECT 'seq ' || seqrelid || ' ' || seqtypid || ' ' || seqmax FROM "
        "pg_sequence) s(x)");
}

/* "table=persistence,..." for the four tables of prefix p. */
static char *persistence(const char *p)
{
    return tdb_str(
        "SELECT string_agg(relname || '=' || relpersistence::text, ',' ORDER BY relname) "
        "FROM pg_class WHERE relkind = 'r' AND relname LIKE '%spgqueuer%%'",
        p);
}

/* ---- cases --------------------------------------------------------------- */

TEST(install_matches_contract)
{
    clean();
    install(NULL, NULL, PGQ_DURABLE);
    check_contract("", "'public'", "pgqueuer_status");
    collected col;
    CHECK_INT(verify(NULL, NULL, true, &col), 0);
    CHECK(verify(NULL, NULL, false, &col) >= 6);
    CHECK(seen(&col, "unexpected table pgqueuer (expected absent)"));
    /* Every table logged by default. */
    CHECK_INT(tdb_int("SELECT count(*) FROM pg_class WHERE relname LIKE 'pgqueuer%%' AND "
                      "relkind = 'r' AND relpersistence = 'p'"),
              4);
}

TEST(second_install_refused_cleanly)
{
    clean();
    install(NULL, NULL, PGQ_DURABLE);
    tdb_exec(
        "INSERT INTO pgqueuer (priority, status, entrypoint) VALUES (1, 'queued', 'a')");
    pgq_client *c = client(NULL, NULL);
    pgq_sql_opts o = {0};
    int rc = pgq_install(c, &o);
    CHECK_INT(rc, PGQ_EEXISTS);
    const char *msg = pgq_client_errmsg(c);
    CHECKF(strstr(msg, "already installed") && strstr(msg, "table pgqueuer exists") &&
               !strchr(msg, '\n') && !strstr(msg, "CREATE"),
           "message: %s", msg);
    /* A half-installed database (only the type) is refused too. */
    CHECK_OK(c, pgq_uninstall(c));
    tdb_exec("CREATE TYPE pgqueuer_status AS ENUM ('queued')");
    CHECK_INT(pgq_install(c, &o), PGQ_EEXISTS);
    CHECKF(strstr(pgq_client_errmsg(c), "type pgqueuer_status exists"), "message: %s",
           pgq_client_errmsg(c));
    CHECK_INT(tdb_int("SELECT count(*) FROM pg_class WHERE relname = 'pgqueuer'"), 0);
    pgq_client_free(c);
}

TEST(uninstall_is_complete_and_repeatable)
{
    clean();
    install(NULL, NULL, PGQ_DURABLE);
    tdb_exec("CREATE TYPE pgqueuer_statistics_status AS ENUM ('exception')");
    pgq_client *c = client(NULL, NULL);
    CHECK_OK(c, pgq_uninstall(c));
    CHECK_OK(c, pgq_uninstall(c));
    pgq_client_free(c);
    collected col;
    CHECK_INT(verify(NULL, NULL, false, &col), 0);
    CHECK_INT(verify(NULL, NULL, true, &col), 1);
    CHECK(seen(&col, "no pgq schema"));
    CHECK_INT(tdb_int("SELECT count(*) FROM pg_type WHERE typname LIKE 'pgqueuer%%'"), 0);
    CHECK_INT(
        tdb_int("SELECT count(*) FROM pg_proc WHERE proname = 'fn_pgqueuer_changed'"), 0);
}

TEST(uninstall_never_cascades)
{
    clean();
    install(NULL, NULL, PGQ_DURABLE);
    tdb_exec("CREATE VIEW app_view AS SELECT id FROM pgqueuer");
    pgq_client *c = client(NULL, NULL);
    CHECK(pgq_uninstall(c) != PGQ_OK);
    pgq_client_free(c);
    /* Nothing was dropped: the whole uninstall is one transaction. */
    collected col;
    CHECK_INT(verify(NULL, NULL, true, &col), 0);
    tdb_exec("DROP VIEW app_view");
}

TEST(install_is_atomic)
{
    clean();
    /* A relation with the name of an index created late in the script. */
    tdb_exec("CREATE TABLE pgqueuer_log_created (x int)");
    pgq_client *c = client(NULL, NULL);
    pgq_sql_opts o = {0};
    CHECK(pgq_install(c, &o) != PGQ_OK);
    CHECK_INT(PQtransactionStatus(pgq_client_conn(c)), PQTRANS_IDLE);
    pgq_client_free(c);
    CHECK_INT(tdb_int("SELECT count(*) FROM pg_class WHERE relname IN ('pgqueuer', "
                      "'pgqueuer_log')"),
              0);
    CHECK_INT(tdb_int("SELECT count(*) FROM pg_type WHERE typname = 'pgqueuer_status'"),
              0);
    tdb_exec("DROP TABLE pgqueuer_log_created");
}

TEST(prefix_names_every_object_and_channel)
{
    clean();
    install("app_", NULL, PGQ_DURABLE);
    check_contract("app_", "'public'", "app_pgqueuer_status");
    CHECK_INT(tdb_int("SELECT count(*) FROM pg_class WHERE relname LIKE 'pgqueuer%%'"),
              0);
    CHECK_INT(
        tdb_int("SELECT count(*) FROM pg_class WHERE relname LIKE 'app_pgqueuer%%' AND "
                "relkind = 'i'"),
        19);
    collected col;
    CHECK_INT(verify("app_", NULL, true, &col), 0);
    /* The unprefixed configuration sees nothing installed. */
    CHECK_INT(verify(NULL, NULL, false, &col), 0);

    PGconn *conn = tdb();
    tdb_exec("LISTEN app_ch_pgqueuer");
    tdb_exec("LISTEN ch_pgqueuer");
    tdb_exec(
        "INSERT INTO app_pgqueuer (priority, status, entrypoint) VALUES (1, 'queued', "
        "'e')");
    PGnotify *n = await_notify(conn, 5000);
    CHECK(n != NULL);
    CHECK_STR(n->relname, "app_ch_pgqueuer");
    check_payload(n->extra, "app_ch_pgqueuer", "insert", "app_pgqueuer");
    PQfreemem(n);
    /* Updates do not notify (statement level: OLD and NEW are NULL). */
    tdb_exec("UPDATE app_pgqueuer SET priority = 2");
    tdb_exec("DELETE FROM app_pgqueuer");
    n = await_notify(conn, 5000);
    CHECK(n != NULL);
    check_payload(n->extra, "app_ch_pgqueuer", "delete", "app_pgqueuer");
    PQfreemem(n);
    tdb_exec("TRUNCATE app_pgqueuer");
    n = await_notify(conn, 5000);
    CHECK(n != NULL);
    check_payload(n->extra, "app_ch_pgqueuer", "truncate", "app_pgqueuer");
    PQfreemem(n);
    CHECK(await_notify(conn, 300) == NULL);
    tdb_exec("UNLISTEN *");
}

TEST(schema_qualifies_tables_type_function)
{
    clean();
    install(NULL, "s", PGQ_DURABLE);
    check_contract("", "'s'", "s.pgqueuer_status");
    CHECK_INT(tdb_int("SELECT count(*) FROM pg_class WHERE relname LIKE 'pgqueuer%%' AND "
                      "relnamespace <> 's'::regnamespace"),
              0);
    CHECK_INT(
        tdb_int("SELECT count(*) FROM pg_type WHERE typname = 'pgqueuer_status' AND "
                "typnamespace = 's'::regnamespace"),
        1);
    collected col;
    CHECK_INT(verify(NULL, "s", true, &col), 0);
    CHECK_INT(verify(NULL, NULL, false, &col), 0);
    /* The channel is never schema-qualified. */
    char *src =
        tdb_str("SELECT prosrc FROM pg_proc WHERE proname = 'fn_pgqueuer_changed'");
    CHECK(src && strstr(src, "'ch_pgqueuer'"));
    free(src);
    /* Prefix and schema together. */
    install("app2_", "s", PGQ_DURABLE);
    CHECK_INT(verify("app2_", "s", true, &col), 0);
    /* PgQueuer folds an unquoted schema to lower case: so does pgq. */
    CHECK_INT(verify("app2_", "S", true, &col), 0);
}

TEST(no_create_schema)
{
    clean();
    pgq_client *c = client(NULL, "t2");
    pgq_sql_opts o = {.no_create_schema = true};
    int rc = pgq_install(c, &o);
    CHECK_INT(rc, PGQ_ENOTFOUND);
    CHECKF(strstr(pgq_client_errmsg(c), "schema t2 does not exist"), "message: %s",
           pgq_client_errmsg(c));
    CHECK_INT(tdb_int("SELECT count(*) FROM pg_namespace WHERE nspname = 't2'"), 0);
    tdb_exec("CREATE SCHEMA t2");
    CHECK_OK(c, pgq_install(c, &o));
    CHECK_OK(c, pgq_uninstall(c));
    pgq_client_free(c);
}

TEST(durability_switches_and_keeps_rows)
{
    clean();
    install(NULL, NULL, PGQ_VOLATILE);
    char *p = persistence("");
    CHECK_STR(p, "pgqueuer=u,pgqueuer_log=u,pgqueuer_schedules=u,pgqueuer_statistics=u");
    free(p);
    tdb_exec("INSERT INTO pgqueuer (priority, status, entrypoint) SELECT g, 'queued', "
             "'e' FROM "
             "generate_series(1, 100) g");
    tdb_exec("INSERT INTO pgqueuer_log (job_id, status, priority, entrypoint) SELECT g, "
             "'queued', 0, 'e' FROM generate_series(1, 50) g");
    pgq_client *c = client(NULL, NULL);
    CHECK_OK(c, pgq_set_durability(c, PGQ_BALANCED));
    p = persistence("");
    CHECK_STR(p, "pgqueuer=p,pgqueuer_log=u,pgqueuer_schedules=p,pgqueuer_statistics=u");
    free(p);
    CHECK_OK(c, pgq_set_durability(c, PGQ_DURABLE));
    CHECK_OK(c, pgq_set_durability(c, PGQ_DURABLE));
    p = persistence("");
    CHECK_STR(p, "pgqueuer=p,pgqueuer_log=p,pgqueuer_schedules=p,pgqueuer_statistics=p");
    free(p);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer"), 100);
    CHECK_INT(tdb_int("SELECT sum(priority) FROM pgqueuer"), 5050);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer_log"), 50);
    CHECK_INT(pgq_set_durability(c, (pgq_durability)7), PGQ_EINVAL);
    pgq_client_free(c);
    collected col;
    CHECK_INT(verify(NULL, NULL, true, &col), 0);
    install("app_", NULL, PGQ_BALANCED);
    p = persistence("app_");
    CHECK_STR(p, "app_pgqueuer=p,app_pgqueuer_log=u,app_pgqueuer_schedules=p,"
                 "app_pgqueuer_statistics=u");
    free(p);
}

TEST(upgrade_of_current_changes_nothing)
{
    clean();
    install(NULL, NULL, PGQ_DURABLE);
    tdb_exec(
        "INSERT INTO pgqueuer (priority, status, entrypoint) VALUES (1, 'queued', 'e')");
    char *before = catalog_snapshot();
    pgq_client *c = client(NULL, NULL);
    CHECK_OK(c, pgq_upgrade(c));
    CHECK_OK(c, pgq_upgrade(c));
    pgq_client_free(c);
    char *after = catalog_snapshot();
    CHECKF(before && after && strcmp(before, after) == 0,
           "catalogs changed:\n%s\n---\n%s", before, after);
    free(before);
    free(after);
    collected col;
    CHECK_INT(verify(NULL, NULL, true, &col), 0);
}

TEST(upgrade_without_schema_says_install)
{
    clean();
    pgq_client *c = client(NULL, NULL);
    CHECK_INT(pgq_upgrade(c), PGQ_ENOSCHEMA);
    CHECKF(strstr(pgq_client_errmsg(c), "pgq install"), "message: %s",
           pgq_client_errmsg(c));
    pgq_client_free(c);
}

/* A PgQueuer-shaped schema from before log tables, retries and dedupe:
 * int4 serial ids, no attempts/headers/dedupe_key/execute_after/heartbeat,
 * a nullable `updated` (as PgQueuer's own early upgrade added it), an enum
 * without `failed`/`deleted`, the legacy statistics with time_in_queue and
 * its own status type, and a row-level trigger. */
static void create_legacy(void)
{
    tdb_exec("CREATE TYPE pgqueuer_status AS ENUM ('queued', 'picked', 'successful', "
             "'exception', 'canceled')");
    tdb_exec("CREATE TABLE pgqueuer (id SERIAL PRIMARY KEY, priority INT NOT NULL, "
             "created TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(), status "
             "pgqueuer_status NOT NULL, entrypoint TEXT NOT NULL, payload BYTEA)");
    tdb_exec("ALTER TABLE pgqueuer ADD COLUMN updated TIMESTAMP WITH TIME ZONE");
    tdb_exec(
        "CREATE INDEX pgqueuer_priority_id_id1_idx ON pgqueuer (priority ASC, id DESC) "
        "INCLUDE (id) WHERE status = 'queued'");
    tdb_exec("CREATE TYPE pgqueuer_statistics_status AS ENUM ('exception', 'successful', "
             "'canceled')");
    tdb_exec(
        "CREATE TABLE pgqueuer_statistics (id SERIAL PRIMARY KEY, created TIMESTAMP WITH "
        "TIME ZONE NOT NULL DEFAULT DATE_TRUNC('sec', NOW() at time zone 'UTC'), count "
        "BIGINT NOT NULL, priority INT NOT NULL, time_in_queue INTERVAL NOT NULL, status "
        "pgqueuer_statistics_status NOT NULL, entrypoint TEXT NOT NULL)");
    tdb_exec(
        "CREATE UNIQUE INDEX pgqueuer_statistics_unique_count ON pgqueuer_statistics "
        "(priority, DATE_TRUNC('sec', created at time zone 'UTC'), DATE_TRUNC('sec', "
        "time_in_queue), status, entrypoint)");
    tdb_exec("CREATE FUNCTION fn_pgqueuer_changed() RETURNS TRIGGER AS $$ BEGIN PERFORM "
             "pg_notify('ch_pgqueuer', 'old'); RETURN NULL; END; $$ LANGUAGE plpgsql");
    tdb_exec(
        "CREATE TRIGGER tg_pgqueuer_changed AFTER INSERT OR DELETE ON pgqueuer FOR EACH "
        "ROW EXECUTE FUNCTION fn_pgqueuer_changed()");
    tdb_exec(
        "INSERT INTO pgqueuer (priority, status, entrypoint, payload, updated) SELECT g, "
        "CASE WHEN g %% 2 = 0 THEN 'queued' ELSE 'picked' END::pgqueuer_status, 'ep' || "
        "(g %% 3), convert_to('job ' || g, 'UTF8'), CASE WHEN g %% 5 = 0 THEN NULL ELSE "
        "now() END FROM generate_series(1, 40) g");
    tdb_exec("INSERT INTO pgqueuer_statistics (created, count, priority, time_in_queue, "
             "status, entrypoint) VALUES ('2024-01-01 00:00:00+00', 3, 0, '1 s', "
             "'successful', 'a'), ('2024-01-01 00:00:00+00', 4, 0, '2 s', 'successful', "
             "'a'), ('2024-01-01 00:00:01+00', 5, 1, '1 s', 'exception', 'b')");
}

TEST(upgrade_of_legacy_pgqueuer_schema)
{
    clean();
    create_legacy();
    char *rows_before =
        tdb_str("SELECT string_agg(id || ':' || priority || ':' || status || "
                "':' || entrypoint || ':' || encode(payload, 'escape'), ',' "
                "ORDER BY id) FROM pgqueuer");
    collected col;
    CHECK(verify(NULL, NULL, true, &col) > 5);
    CHECK(seen(&col, "missing column pgqueuer.attempts"));
    CHECK(seen(&col, "column pgqueuer.id: expected bigint"));

    pgq_client *c = client(NULL, NULL);
    CHECK_OK(c, pgq_upgrade(c));
    CHECK_INT(verify(NULL, NULL, true, &col), 0);
    check_contract("", "'public'", "pgqueuer_status");
    /* Rows survived with their ids; the new columns got their defaults. */
    char *rows_after =
        tdb_str("SELECT string_agg(id || ':' || priority || ':' || status || "
                "':' || entrypoint || ':' || encode(payload, 'escape'), ',' "
                "ORDER BY id) FROM pgqueuer");
    CHECK_STR(rows_after, rows_before);
    free(rows_before);
    free(rows_after);
    CHECK_INT(
        tdb_int("SELECT count(*) FROM pgqueuer WHERE attempts = 0 AND updated IS NOT "
                "NULL AND heartbeat IS NOT NULL AND execute_after IS NOT NULL"),
        40);
    /* The sequence continues past the old ids, now as bigint. */
    CHECK_INT(tdb_int("INSERT INTO pgqueuer (priority, status, entrypoint) VALUES (0, "
                      "'failed', 'x') RETURNING id"),
              41);
    char *seqtype = tdb_str("SELECT format_type(seqtypid, NULL) FROM pg_sequence WHERE "
                            "seqrelid = 'pgqueuer_id_seq'::regclass");
    CHECK_STR(seqtype, "bigint");
    free(seqtype);
    /* Legacy statistics: buckets split by time_in_queue merged. */
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer_statistics"), 2);
    CHECK_INT(tdb_int("SELECT sum(count) FROM pgqueuer_statistics"), 12);
    CHECK_INT(tdb_int("SELECT count FROM pgqueuer_statistics WHERE entrypoint = 'a'"), 7);
    CHECK_INT(tdb_int("SELECT count(*) FROM pg_type WHERE typname = "
                      "'pgqueuer_statistics_status'"),
              0);
    /* Running it again changes nothing. */
    char *before = catalog_snapshot();
    CHECK_OK(c, pgq_upgrade(c));
    char *after = catalog_snapshot();
    CHECKF(before && after && strcmp(before, after) == 0,
           "second upgrade changed catalogs");
    free(before);
    free(after);
    pgq_client_free(c);
}

TEST(upgrade_converts_serial_log_and_retires_heartbeat_index)
{
    clean();
    install(NULL, NULL, PGQ_DURABLE);
    /* A log table from a PgQueuer that used serial ids and lacked columns. */
    tdb_exec("DROP TABLE pgqueuer_log");
    tdb_exec(
        "CREATE TABLE pgqueuer_log (id SERIAL PRIMARY KEY, created TIMESTAMP WITH TIME "
        "ZONE NOT NULL DEFAULT NOW(), job_id INT NOT NULL, status pgqueuer_status NOT "
        "NULL, priority INT NOT NULL, entrypoint TEXT NOT NULL)");
    tdb_exec("INSERT INTO pgqueuer_log (job_id, status, priority, entrypoint) SELECT g, "
             "'successful', 0, 'e' FROM generate_series(1, 10) g");
    tdb_exec(
        "CREATE INDEX pgqueuer_heartbeat_id_id1_idx ON pgqueuer (heartbeat ASC, id DESC) "
        "INCLUDE (id) WHERE status = 'picked'");
    pgq_client *c = client(NULL, NULL);
    CHECK_OK(c, pgq_upgrade(c));
    pgq_client_free(c);
    collected col;
    CHECK_INT(verify(NULL, NULL, true, &col), 0);
    CHECK_INT(tdb_int("SELECT count(*) FROM pgqueuer_log WHERE aggregated = false"), 10);
    CHECK_INT(tdb_int("INSERT INTO pgqueuer_log (job_id, status, priority, entrypoint) "
                      "VALUES (11, 'queued', 0, 'e') RETURNING id"),
              11);
    CHECK_INT(
        tdb_int("SELECT count(*) FROM pg_attribute WHERE attrelid = "
                "'pgqueuer_log'::regclass AND attname = 'id' AND attidentity = 'd'"),
        1);
    CHECK_INT(
        tdb_int("SELECT count(*) FROM pg_class WHERE relkind = 'S' AND relname LIKE "
                "'pgqueuer_log%%'"),
        1);
    /* PgQueuer 1.5 dropped the old heartbeat index for its own. */
    CHECK_INT(tdb_int("SELECT count(*) FROM pg_class WHERE relname = "
                      "'pgqueuer_heartbeat_id_id1_idx'"),
              0);
    CHECK_INT(tdb_int("SELECT count(*) FROM pg_class WHERE relname = "
                      "'pgqueuer_picked_heartbeat_idx'"),
              1);
}

TEST(verify_reports_each_divergence)
{
    clean();
    install(NULL, NULL, PGQ_DURABLE);
    tdb_exec("DROP INDEX pgqueuer_ep_ea_idx");
    tdb_exec("ALTER TABLE pgqueuer ALTER COLUMN dedupe_key SET NOT NULL");
    tdb_exec("ALTER TABLE pgqueuer ADD COLUMN extra int");
    tdb_exec("DROP TRIGGER tg_pgqueuer_changed ON pgqueuer");
    tdb_exec("CREATE TRIGGER tg_pgqueuer_changed AFTER INSERT ON pgqueuer FOR EACH ROW "
             "EXECUTE FUNCTION fn_pgqueuer_changed()");
    tdb_exec("ALTER TYPE pgqueuer_status RENAME VALUE 'deleted' TO 'removed'");
    collected col;
    CHECK_INT(verify(NULL, NULL, true, &col), 5);
    CHECK(seen(&col, "missing index pgqueuer_ep_ea_idx"));
    CHECK(seen(&col, "column pgqueuer.dedupe_key: expected text, found text not null"));
    CHECK(seen(&col, "unexpected column pgqueuer.extra: integer"));
    CHECK(seen(&col, "found AFTER INSERT FOR EACH ROW"));
    CHECK(seen(&col, "removed"));
    /* The optional heartbeat index of upgraded databases is accepted only
     * with its expected definition. */
    clean();
    install(NULL, NULL, PGQ_DURABLE);
    tdb_exec(
        "CREATE INDEX pgqueuer_heartbeat_id_id1_idx ON pgqueuer (heartbeat ASC, id DESC) "
        "INCLUDE (id) WHERE status = 'picked'");
    CHECK_INT(verify(NULL, NULL, true, &col), 0);
    tdb_exec("DROP INDEX pgqueuer_heartbeat_id_id1_idx");
    tdb_exec("CREATE INDEX pgqueuer_heartbeat_id_id1_idx ON pgqueuer (heartbeat)");
    CHECK_INT(verify(NULL, NULL, true, &col), 1);
}

TEST(autovac_sets_and_resets)
{
    clean();
    install(NULL, NULL, PGQ_DURABLE);
    pgq_client *c = client(NULL, NULL);
    CHECK_OK(c, pgq_autovac(c, false));
    char *opts =
        tdb_str("SELECT array_to_string(reloptions, ',') FROM pg_class WHERE relname "
                "= 'pgqueuer'");
    CHECKF(opts && strstr(opts, "autovacuum_vacuum_scale_factor=0") &&
               strstr(opts, "autovacuum_vacuum_threshold=1000"),
           "reloptions: %s", opts ? opts : "(null)");
    free(opts);
    CHECK(tdb_int("SELECT count(*) FROM pg_class WHERE relname = 'pgqueuer_log' AND "
                  "reloptions IS NOT NULL") == 1);
    CHECK_OK(c, pgq_autovac(c, true));
    CHECK_INT(tdb_int("SELECT count(*) FROM pg_class WHERE relname LIKE 'pgqueuer%%' AND "
                      "reloptions IS NOT NULL AND reloptions <> '{}'"),
              0);
    pgq_client_free(c);
    collected col;
    CHECK_INT(verify(NULL, NULL, true, &col), 0);
}

TEST(sql_render_is_deterministic_and_validated)
{
    pgq_config cfg = {.prefix = "app_", .schema = "s"};
    char err[256];
    char *a = NULL, *b = NULL;
    pgq_sql_opts o = {.durability = PGQ_BALANCED};
    CHECK(pgq_sql_render(&cfg, PGQ_SQL_INSTALL, &o, &a, err, sizeof err) == PGQ_OK);
    CHECK(pgq_sql_render(&cfg, PGQ_SQL_INSTALL, &o, &b, err, sizeof err) == PGQ_OK);
    CHECK_STR(a, b);
    CHECK(strncmp(a, "BEGIN;\n\nCREATE SCHEMA IF NOT EXISTS \"s\";\n\n", 41) == 0);
    CHECK(strstr(a, "CREATE UNLOGGED TABLE \"s\".\"app_pgqueuer_log\""));
    CHECK(strstr(a, "CREATE TABLE \"s\".\"app_pgqueuer\" ("));
    CHECK(strstr(a, "\n\nCOMMIT;\n") && a[strlen(a) - 2] == ';');
    CHECK(!strstr(a, "\n\n\n") && !strstr(a, "{"));
    free(a);
    free(b);
    o.no_create_schema = true;
    CHECK(pgq_sql_render(&cfg, PGQ_SQL_INSTALL, &o, &a, err, sizeof err) == PGQ_OK);
    CHECK(!strstr(a, "CREATE SCHEMA"));
    free(a);
    for (int k = PGQ_SQL_INSTALL; k <= PGQ_SQL_AUTOVAC_ROLLBACK; k++) {
        CHECK(pgq_sql_render(&cfg, (pgq_sql_kind)k, &o, &a, err, sizeof err) == PGQ_OK);
        /* Every paragraph ends with a semicolon. */
        for (char *p = strstr(a, "\n\n"); p; p = strstr(p + 2, "\n\n"))
            CHECKF(p[-1] == ';', "kind %d: paragraph not terminated", k);
        free(a);
    }
    pgq_config bad = {.prefix = "x;drop table t"};
    a = (char *)"untouched";
    CHECK_INT(pgq_sql_render(&bad, PGQ_SQL_INSTALL, NULL, &a, err, sizeof err),
              PGQ_EINVAL);
    CHECK(a == NULL && strstr(err, "prefix"));
}

TEST(longest_prefix_that_fits)
{
    clean();
    const char *fits = "p234567890123456789_"; /* 20: one too many */
    pgq_client *c = client(fits, NULL);
    pgq_sql_opts o = {0};
    CHECK_INT(pgq_install(c, &o), PGQ_EINVAL);
    CHECKF(strstr(pgq_client_errmsg(c), "too long"), "message: %s", pgq_client_errmsg(c));
    pgq_client_free(c);
    CHECK_INT(tdb_int("SELECT count(*) FROM pg_class WHERE relname LIKE 'p234%%'"), 0);
    pgq_config cfg = {.prefix = fits};
    char err[256], *sql = NULL;
    CHECK_INT(pgq_sql_render(&cfg, PGQ_SQL_INSTALL, NULL, &sql, err, sizeof err),
              PGQ_EINVAL);
    CHECK(sql == NULL);
    install("p23456789012345678_", NULL, PGQ_DURABLE);
    collected col;
    CHECK_INT(verify("p23456789012345678_", NULL, true, &col), 0);
    c = client("p23456789012345678_", NULL);
    CHECK_OK(c, pgq_uninstall(c));
    pgq_client_free(c);
}

int main(int argc, char **argv)
{
    static const th_case cases[] = {
        CASE(install_matches_contract),
        CASE(second_install_refused_cleanly),
        CASE(uninstall_is_complete_and_repeatable),
        CASE(uninstall_never_cascades),
        CASE(install_is_atomic),
        CASE(prefix_names_every_object_and_channel),
        CASE(schema_qualifies_tables_type_function),
        CASE(no_create_schema),
        CASE(durability_switches_and_keeps_rows),
        CASE(upgrade_of_current_changes_nothing),
        CASE(upgrade_without_schema_says_install),
        CASE(upgrade_of_legacy_pgqueuer_schema),
        CASE(upgrade_converts_serial_log_and_retires_heartbeat_index),
        CASE(verify_reports_each_divergence),
        CASE(autovac_sets_and_resets),
        CASE(sql_render_is_deterministic_and_validated),
        CASE(longest_prefix_that_fits),
    };
    return th_main(cases, sizeof cases / sizeof cases[0], argc, argv);
}
