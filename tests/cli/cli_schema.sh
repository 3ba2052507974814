# cli_schema.sh: the schema commands end to end: install, verify, uninstall,
# upgrade, durability, autovac, and `pgq sql` applied with psql to an empty
# database (checked against the contract with verify and the catalogs).
. "$(dirname "$0")/../lib.sh"

main_db=$PGDATABASE
fresh_db() { # fresh_db NAME: (re)creates an empty database
    psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" -c "CREATE DATABASE $1" >/dev/null 2>&1
}
persistence() { # persistence PREFIX: "table=p|u,..." of the four tables
    sql "SELECT string_agg(relname || '=' || relpersistence::text, ',' ORDER BY relname) FROM pg_class WHERE relkind = 'r' AND relname LIKE '${1}pgqueuer%'"
}

# ---- install / verify / uninstall -------------------------------------------
"$PGQ" uninstall >/dev/null 2>&1 || true
expect_exit 0 "verify --expect absent on an empty database" "$PGQ" verify --expect absent
expect_exit 1 "verify (present) on an empty database fails" "$PGQ" verify
check_match "it says why, in one line" "$OUT" "no pgq schema"
expect_exit 0 "install" "$PGQ" install
check_match "install says where" "$OUT" "installed in database $main_db"
expect_exit 0 "verify --expect present" "$PGQ" verify --expect present
expect_exit 0 "verify defaults to present" "$PGQ" verify
expect_exit 1 "verify --expect absent after install fails" "$PGQ" verify --expect absent
check_match "lists the remaining table" "$OUT" "unexpected table pgqueuer "

sql "INSERT INTO pgqueuer (priority, status, entrypoint) VALUES (1, 'queued', 'keep')" >/dev/null
expect_exit 1 "second install exits 1" "$PGQ" install
check_eq "with exactly one line on stderr" "$(printf '%s\n' "$ERR" | wc -l)" 1
check_match "naming the database and the table" "$ERR" "^pgq: install: already installed in database $main_db \(table pgqueuer exists\)"
check_nomatch "and no raw SQL" "$ERR" "CREATE|ERROR:|LINE [0-9]"
check_eq "the existing rows are untouched" "$(sql "SELECT entrypoint FROM pgqueuer")" keep

expect_exit 0 "uninstall" "$PGQ" uninstall
expect_exit 0 "verify --expect absent after uninstall" "$PGQ" verify --expect absent
expect_exit 0 "uninstall again is harmless" "$PGQ" uninstall
check_eq "no pgq types left" "$(sql "SELECT count(*) FROM pg_type WHERE typname LIKE 'pgqueuer%'")" 0

# ---- bad input changes nothing ----------------------------------------------
expect_exit 2 "install --durability bogus" "$PGQ" install --durability bogus
check_match "names the bad level" "$ERR" "unknown durability 'bogus'"
expect_exit 2 "install --durability without value" "$PGQ" install --durability
expect_exit 2 "install with an unknown option" "$PGQ" install --bogus
check_match "points to help" "$ERR" "pgq install --help"
expect_exit 2 "install with an operand" "$PGQ" install extra
expect_exit 2 "verify --expect maybe" "$PGQ" verify --expect maybe
expect_exit 2 "durability without LEVEL" "$PGQ" durability
expect_exit 2 "durability with a bad LEVEL" "$PGQ" durability fast
expect_exit 2 "autovac with an unknown option" "$PGQ" autovac --now
expect_exit 2 "uninstall with an operand" "$PGQ" uninstall all
expect_exit 2 "upgrade with an operand" "$PGQ" upgrade now
expect_exit 2 "sql without a script" "$PGQ" sql
expect_exit 2 "sql with an unknown script" "$PGQ" sql reinstall
expect_exit 2 "sql durability without LEVEL" "$PGQ" sql durability
expect_exit 0 "and nothing was installed by any of them" "$PGQ" verify --expect absent

# ---- upgrade ------------------------------------------------------------------
expect_exit 1 "upgrade with nothing installed exits 1" "$PGQ" upgrade
check_match "and says to install" "$ERR" "run pgq install"

"$PGQ" install >/dev/null
snapshot() {
    sql "SELECT md5(string_agg(x, ',' ORDER BY x)) FROM (
        SELECT c.oid || relname || relfilenode || relpersistence::text FROM pg_class c WHERE relnamespace = 'public'::regnamespace
        UNION ALL SELECT attrelid || attname || atttypid || attnotnull::text || attnum FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid WHERE relnamespace = 'public'::regnamespace AND attnum > 0
        UNION ALL SELECT d.oid || pg_get_expr(adbin, adrelid) FROM pg_attrdef d
        UNION ALL SELECT t.oid || tgname || tgtype FROM pg_trigger t
        UNION ALL SELECT e.oid || enumlabel FROM pg_enum e
        UNION ALL SELECT p.oid || md5(prosrc) FROM pg_proc p WHERE pronamespace = 'public'::regnamespace) s(x)"
}
before=$(snapshot)
expect_exit 0 "upgrade of a current schema" "$PGQ" upgrade
check_eq "changes no catalog entry" "$(snapshot)" "$before"
"$PGQ" sql upgrade | psql -X -q -v ON_ERROR_STOP=1 >/dev/null 2>&1 || echo "# psql failed on sql upgrade"
check_eq "nor does 'pgq sql upgrade' applied with psql" "$(snapshot)" "$before"

"$PGQ" uninstall >/dev/null
sql "CREATE TYPE pgqueuer_status AS ENUM ('queued', 'picked', 'successful', 'exception', 'canceled');
CREATE TABLE pgqueuer (id SERIAL PRIMARY KEY, priority INT NOT NULL, created TIMESTAMPTZ NOT NULL DEFAULT NOW(), status pgqueuer_status NOT NULL, entrypoint TEXT NOT NULL, payload BYTEA);
CREATE FUNCTION fn_pgqueuer_changed() RETURNS TRIGGER AS \$\$ BEGIN RETURN NULL; END; \$\$ LANGUAGE plpgsql;
CREATE TRIGGER tg_pgqueuer_changed AFTER INSERT ON pgqueuer FOR EACH ROW EXECUTE FUNCTION fn_pgqueuer_changed();
INSERT INTO pgqueuer (priority, status, entrypoint, payload) SELECT g, 'queued', 'old', 'x' FROM generate_series(1, 25) g;" >/dev/null
expect_exit 1 "verify reports the legacy schema" "$PGQ" verify
check_match "one line per divergence, e.g. the missing column" "$OUT" "missing column pgqueuer.attempts"
check_match "and the int4 id" "$OUT" "column pgqueuer.id: expected bigint"
expect_exit 0 "upgrade of a legacy PgQueuer schema" "$PGQ" upgrade
expect_exit 0 "brings it to the contract" "$PGQ" verify
check_eq "the rows survive" "$(sql "SELECT count(*) || ' ' || sum(id) || ' ' || sum(priority) FROM pgqueuer WHERE entrypoint = 'old' AND attempts = 0")" "25 325 325"
check_eq "the enum gained failed" "$(sql "SELECT string_agg(enumlabel, ',' ORDER BY enumsortorder) FROM pg_enum WHERE enumtypid = 'pgqueuer_status'::regtype")" "queued,picked,successful,exception,canceled,deleted,failed"

# ---- durability and autovac -----------------------------------------------------
sql "INSERT INTO pgqueuer_log (job_id, status, priority, entrypoint) SELECT g, 'successful', 0, 'e' FROM generate_series(1, 30) g" >/dev/null
expect_exit 0 "durability volatile" "$PGQ" durability volatile
check_eq "every table unlogged" "$(persistence '')" "pgqueuer=u,pgqueuer_log=u,pgqueuer_schedules=u,pgqueuer_statistics=u"
expect_exit 0 "durability balanced" "$PGQ" durability balanced
check_eq "log and statistics unlogged" "$(persistence '')" "pgqueuer=p,pgqueuer_log=u,pgqueuer_schedules=p,pgqueuer_statistics=u"
expect_exit 0 "durability durable" "$PGQ" durability durable
check_eq "every table logged" "$(persistence '')" "pgqueuer=p,pgqueuer_log=p,pgqueuer_schedules=p,pgqueuer_statistics=p"
check_eq "rows kept through every switch" "$(sql "SELECT (SELECT count(*) FROM pgqueuer) || '/' || (SELECT count(*) FROM pgqueuer_log)")" "25/30"
expect_exit 0 "autovac" "$PGQ" autovac
check_match "sets the queue table's storage parameters" "$(sql "SELECT array_to_string(reloptions, ',') FROM pg_class WHERE relname = 'pgqueuer'")" "autovacuum_vacuum_threshold=1000"
expect_exit 0 "autovac --rollback" "$PGQ" autovac --rollback
check_eq "resets them" "$(sql "SELECT count(*) FROM pg_class WHERE relname LIKE 'pgqueuer%' AND coalesce(array_length(reloptions, 1), 0) > 0")" 0
"$PGQ" uninstall >/dev/null
expect_exit 0 "install --durability balanced" "$PGQ" install --durability=balanced
check_eq "creates log and statistics unlogged" "$(persistence '')" "pgqueuer=p,pgqueuer_log=u,pgqueuer_schedules=p,pgqueuer_statistics=u"
expect_exit 1 "durability with a prefix that is not installed" "$PGQ" --prefix nope_ durability volatile
check_match "says to install" "$ERR" "pgq install"
"$PGQ" uninstall >/dev/null

# ---- pgq sql, applied with psql to empty databases --------------------------------
expect_exit 0 "sql install works without a database" env PGHOST=/nonexistent "$PGQ" sql install
first=$OUT
run "$PGQ" sql install
check_eq "sql install is deterministic" "$OUT" "$first"
check_eq "starts a transaction" "$(printf '%s\n' "$first" | head -1)" "BEGIN;"
check_eq "ends it" "$(printf '%s\n' "$first" | tail -1)" "COMMIT;"
check_eq "every statement ends with ';' before a blank line" \
    "$(printf '%s\n' "$first" | grep -B1 '^$' | grep -v '^$' | grep -v -- '--' | grep -vc ';$')" 0

fresh_db t_cli_schema_sql
PGDATABASE=t_cli_schema_sql
rc=0
"$PGQ" sql install | psql -X -q -v ON_ERROR_STOP=1 >/dev/null 2>"$T_ERR" || rc=$?
check_eq "psql applies sql install cleanly" "$rc:$(cat "$T_ERR")" "0:"
expect_exit 0 "the result verifies as present" "$PGQ" verify
check_eq "enum values in order" "$(sql "SELECT string_agg(enumlabel, ',' ORDER BY enumsortorder) FROM pg_enum WHERE enumtypid = 'pgqueuer_status'::regtype")" "queued,picked,successful,exception,canceled,deleted,failed"
check_eq "queue columns" "$(sql "SELECT string_agg(column_name || ':' || data_type || ':' || is_nullable, ',' ORDER BY ordinal_position) FROM information_schema.columns WHERE table_name = 'pgqueuer'")" \
    "id:bigint:NO,priority:integer:NO,queue_manager_id:uuid:YES,created:timestamp with time zone:NO,updated:timestamp with time zone:NO,heartbeat:timestamp with time zone:NO,execute_after:timestamp with time zone:NO,status:USER-DEFINED:NO,entrypoint:text:NO,dedupe_key:text:YES,payload:bytea:YES,headers:jsonb:YES,attempts:integer:NO,slot:bigint:YES,cancel_requested:boolean:NO"
check_eq "dedupe index predicate" "$(sql "SELECT indexdef FROM pg_indexes WHERE indexname = 'pgqueuer_unique_dedupe_key'")" \
    "CREATE UNIQUE INDEX pgqueuer_unique_dedupe_key ON public.pgqueuer USING btree (dedupe_key) WHERE ((status = ANY (ARRAY['queued'::pgqueuer_status, 'picked'::pgqueuer_status])) AND (dedupe_key IS NOT NULL))"
check_eq "statement-level trigger" "$(sql "SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE tgname = 'tg_pgqueuer_changed'")" \
    "CREATE TRIGGER tg_pgqueuer_changed AFTER INSERT OR DELETE OR UPDATE OR TRUNCATE ON public.pgqueuer FOR EACH STATEMENT EXECUTE FUNCTION fn_pgqueuer_changed()"
notice=$(psql -X -q -c "LISTEN ch_pgqueuer" -c "INSERT INTO pgqueuer (priority, status, entrypoint) VALUES (0, 'queued', 'n')" 2>&1 || true)
check_match "an insert notifies ch_pgqueuer with PgQueuer's payload keys" "$notice" \
    '"channel" : "ch_pgqueuer", "operation" : "insert", "sent_at" : "[^"]+", "table" : "pgqueuer", "type" : "table_changed_event"'
"$PGQ" sql uninstall | psql -X -q -v ON_ERROR_STOP=1 >/dev/null 2>&1 || echo "# psql failed on sql uninstall"
expect_exit 0 "sql uninstall applied with psql leaves nothing" "$PGQ" verify --expect absent

fresh_db t_cli_schema_sql
"$PGQ" --prefix app_ --schema s sql install --durability volatile | psql -X -q -v ON_ERROR_STOP=1 >/dev/null 2>&1 || echo "# psql failed on sql install"
expect_exit 0 "prefixed, schema-qualified sql install verifies" "$PGQ" --prefix app_ --schema s verify
check_eq "tables in schema s, prefixed" "$(sql "SELECT string_agg(relname, ',' ORDER BY relname) FROM pg_class WHERE relkind = 'r' AND relnamespace = 's'::regnamespace")" \
    "app_pgqueuer,app_pgqueuer_log,app_pgqueuer_schedules,app_pgqueuer_statistics"
check_eq "the type and function in s" "$(sql "SELECT (SELECT count(*) FROM pg_type WHERE typname = 'app_pgqueuer_status' AND typnamespace = 's'::regnamespace) || ',' || (SELECT count(*) FROM pg_proc WHERE proname = 'app_fn_pgqueuer_changed' AND pronamespace = 's'::regnamespace)")" "1,1"
check_eq "every index prefixed" "$(sql "SELECT count(*) FROM pg_indexes WHERE schemaname = 's' AND indexname NOT LIKE 'app_pgqueuer%'")" 0
check_eq "trigger prefixed" "$(sql "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")" "app_tg_pgqueuer_changed"
check_eq "--durability volatile honoured" "$(persistence app_)" "app_pgqueuer=u,app_pgqueuer_log=u,app_pgqueuer_schedules=u,app_pgqueuer_statistics=u"
notice=$(psql -X -q -c "LISTEN app_ch_pgqueuer" -c "INSERT INTO s.app_pgqueuer (priority, status, entrypoint) VALUES (0, 'queued', 'n')" 2>&1 || true)
check_match "the channel is prefixed, never schema-qualified" "$notice" '"channel" : "app_ch_pgqueuer", "operation" : "insert", .* "table" : "app_pgqueuer"'
expect_exit 0 "nothing unprefixed" "$PGQ" verify --expect absent
run "$PGQ" --schema s sql install --no-create-schema
check_nomatch "--no-create-schema omits CREATE SCHEMA" "$OUT" "CREATE SCHEMA"
run "$PGQ" --schema s sql install
check_match "otherwise it is created if missing" "$OUT" 'CREATE SCHEMA IF NOT EXISTS "s";'
expect_exit 0 "install --no-create-schema into an existing schema" "$PGQ" --schema s install --no-create-schema
expect_exit 1 "install --no-create-schema into a missing schema" "$PGQ" --schema t2 install --no-create-schema
check_match "says the schema is missing" "$ERR" "schema t2 does not exist"
check_eq "and created nothing" "$(sql "SELECT count(*) FROM pg_namespace WHERE nspname = 't2'")" 0
run "$PGQ" sql durability balanced
check_match "sql durability" "$OUT" 'ALTER TABLE "pgqueuer_log" SET UNLOGGED;'
run "$PGQ" sql autovac --rollback
check_match "sql autovac --rollback" "$OUT" 'ALTER TABLE "pgqueuer" RESET \('
PGDATABASE=$main_db
psql -X -q -d postgres -c "DROP DATABASE IF EXISTS t_cli_schema_sql WITH (FORCE)" >/dev/null 2>&1

done_testing
