# cli_compat.sh: databases in the shapes of PgQueuer 1.3.2, 1.6 and 2.3
# (tests/fixtures/, written from what each release changed): verify names
# each shape, upgrade reaches the newest and a second run applies nothing,
# nothing a newer PgQueuer made is undone; upgrade --plan, widening and
# durability from PgQueuer's environment variables; identifiers as PgQueuer
# spells them; autovac as PgQueuer sets it.
. "$(dirname "$0")/../lib.sh"
FIX="$PGQ_ROOT/tests/fixtures"
BASE=$PGDATABASE
fresh_db() { # fresh_db NAME: (re)creates an empty database and uses it
    psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" -c "CREATE DATABASE $1" >/dev/null 2>&1
    export PGDATABASE=$1
}
fixture() { # fixture RELEASE: a fresh database in that shape
    fresh_db "${BASE}_$(echo "$1" | tr . _)"
    psql -X -q -v ON_ERROR_STOP=1 -f "$FIX/pgqueuer-$1.sql" >/dev/null 2>&1 \
        || echo "# cannot apply fixture $1"
}
catalog() { # a description of every index, column default and reloption of ours
    sql "SELECT string_agg(x, E'\n' ORDER BY x) FROM (
           SELECT indexdef AS x FROM pg_indexes WHERE tablename LIKE 'pgqueuer%'
           UNION ALL SELECT table_name || '.' || column_name || '=' || coalesce(column_default, '-') || ':' || is_nullable
             FROM information_schema.columns WHERE table_name LIKE 'pgqueuer%'
           UNION ALL SELECT relname || ':' || coalesce(array_to_string(reloptions, ','), '') FROM pg_class
             WHERE relname LIKE 'pgqueuer%' AND relkind = 'r') s"
}

# ---- Each shape: verify names it, upgrade reaches the newest, once ------------------------
for rel in 1.3.2 1.6 2.3; do
    fixture "$rel"
    sql "INSERT INTO pgqueuer (priority, entrypoint, status, payload) VALUES (1, 'keep', 'queued', 'x'), (2, 'keep', 'failed', 'y')"
    case $rel in 1.3.2) shape=1.3 ;; 1.6) shape=1.4-1.6 ;; 2.3) shape=2.x ;; esac
    expect_exit 0 "$rel: verify passes" "$PGQ" verify
    check_match "$rel: verify names the $shape shape" "$OUT" "PgQueuer $shape shape"
    if [ $rel = 2.3 ]; then
        check_match "$rel: the newest, no hint" "$OUT" "newest"
        expect_exit 0 "$rel: upgrade" "$PGQ" upgrade
        check_match "$rel: nothing to apply on the newest shape" "$OUT" "^nothing to apply"
        continue
    fi
    check_match "$rel: verify hints at upgrade" "$OUT" "run pgq upgrade"
    before=$(catalog)
    expect_exit 0 "$rel: upgrade --plan" "$PGQ" upgrade --plan
    check_match "$rel: the plan lists the cancel_requested column" "$OUT" "ADD COLUMN IF NOT EXISTS cancel_requested boolean"
    check_match "$rel: the plan counts its statements" "$OUT" "^-- [0-9]+ statements to apply"
    check_eq "$rel: the plan changed nothing" "$(catalog)" "$before"
    expect_exit 0 "$rel: upgrade" "$PGQ" upgrade
    check_match "$rel: upgrade says how many statements it applied" "$OUT" "^applied [0-9]+ statements"
    expect_exit 0 "$rel: upgraded verifies" "$PGQ" verify
    check_match "$rel: as the newest shape" "$OUT" "2.x shape \(2.3, the newest\)"
    expect_exit 0 "$rel: a second upgrade" "$PGQ" upgrade
    check_match "$rel: applies nothing" "$OUT" "^nothing to apply"
    check_eq "$rel: rows kept" "$(sql "SELECT string_agg(status || ':' || encode(payload, 'escape'), ',' ORDER BY id) FROM pgqueuer")" "queued:x,failed:y"
done

# ---- A 1.6 database keeps every 1.6 object and default ------------------------------------
fixture 1.6
sql "CREATE INDEX pgqueuer_from_the_future ON pgqueuer (priority) WHERE status = 'picked'"
expect_exit 0 "1.6 + unknown index: verify passes" "$PGQ" verify
check_match "and notes the index" "$OUT" "^note: index pgqueuer_from_the_future is not in any PgQueuer release"
expect_exit 0 "1.6 + unknown index: upgrade" "$PGQ" upgrade
check_eq "statistics default stays 1.5's" \
    "$(sql "SELECT column_default FROM information_schema.columns WHERE table_name = 'pgqueuer_statistics' AND column_name = 'created'")" \
    "date_trunc('sec'::text, now())"
check_eq "unique index keeps its 1.5 spelling" \
    "$(sql "SELECT indexdef LIKE '%timezone(''UTC''::text, created)%' FROM pg_indexes WHERE indexname = 'pgqueuer_statistics_unique_count'")" t
for idx in pgqueuer_picked_slot_idx pgqueuer_picked_heartbeat_idx pgqueuer_from_the_future; do
    check_eq "$idx kept" "$(sql "SELECT count(*) FROM pg_indexes WHERE indexname = '$idx'")" 1
done
# A default a newer PgQueuer might choose is not put back either.
sql "ALTER TABLE pgqueuer_statistics ALTER COLUMN created SET DEFAULT date_trunc('sec', clock_timestamp())"
expect_exit 0 "upgrade with a newer statistics default" "$PGQ" upgrade
check_match "reports nothing to apply" "$OUT" "^nothing to apply"
check_match "the newer default stays" \
    "$(sql "SELECT column_default FROM information_schema.columns WHERE table_name = 'pgqueuer_statistics' AND column_name = 'created'")" \
    "clock_timestamp"
# The 1.3 statistics spellings are both accepted by verify.
fixture 1.3.2
sql "ALTER TABLE pgqueuer_statistics ALTER COLUMN created SET DEFAULT date_trunc('sec', now())"
expect_exit 0 "1.3 shape with 1.5's statistics default verifies" "$PGQ" verify
sql "ALTER TABLE pgqueuer ADD COLUMN slot bigint"
expect_exit 1 "a slot column without its index is a divergence" "$PGQ" verify
check_match "names the missing slot index" "$OUT" "missing index pgqueuer_picked_slot_idx"
check_match "against the 1.4-1.6 shape" "$ERR" "1.4-1.6 shape"

# ---- Widening and durability from PgQueuer's variables ---------------------------------------
check_match "sql upgrade widens ids by default" "$("$PGQ" sql upgrade)" "ALTER TABLE %s ALTER COLUMN %I TYPE bigint"
check_nomatch "--no-widen-id leaves them" "$("$PGQ" sql upgrade --no-widen-id)" "TYPE bigint"
check_nomatch "PGQUEUER_WIDEN_ID=false leaves them" "$(PGQUEUER_WIDEN_ID=false "$PGQ" sql upgrade)" "TYPE bigint"
check_match "--widen-id overrides PGQUEUER_WIDEN_ID=false" "$(PGQUEUER_WIDEN_ID=false "$PGQ" sql upgrade --widen-id)" "TYPE bigint"
expect_exit 2 "PGQUEUER_WIDEN_ID=maybe is a usage error" env PGQUEUER_WIDEN_ID=maybe "$PGQ" upgrade
check_match "naming the variable" "$ERR" "PGQUEUER_WIDEN_ID"
expect_exit 2 "PGQUEUER_DURABILITY=fast is a usage error" env PGQUEUER_DURABILITY=fast "$PGQ" install
fresh_db "${BASE}_widen"
sql "CREATE TYPE pgqueuer_status AS ENUM ('queued', 'picked'); CREATE TABLE pgqueuer (id serial PRIMARY KEY, priority int NOT NULL, created timestamptz NOT NULL DEFAULT now(), status pgqueuer_status NOT NULL, entrypoint text NOT NULL, payload bytea)"
expect_exit 0 "upgrade --no-widen-id of an int4 table" "$PGQ" upgrade --no-widen-id
check_eq "the id stays integer" "$(sql "SELECT data_type FROM information_schema.columns WHERE table_name = 'pgqueuer' AND column_name = 'id'")" integer
expect_exit 0 "upgrade (widening)" "$PGQ" upgrade
check_match "applies the widening" "$OUT" "^applied 1 statement:"
check_eq "the id is bigint" "$(sql "SELECT data_type FROM information_schema.columns WHERE table_name = 'pgqueuer' AND column_name = 'id'")" bigint
fresh_db "${BASE}_dur"
expect_exit 0 "install with PGQUEUER_DURABILITY=balanced" env PGQUEUER_DURABILITY=balanced "$PGQ" install
check_match "says balanced" "$OUT" "durability balanced"
check_eq "log unlogged, queue logged" "$(sql "SELECT string_agg(relname || '=' || relpersistence::text, ',' ORDER BY relname) FROM pg_class WHERE relname IN ('pgqueuer', 'pgqueuer_log')")" "pgqueuer=p,pgqueuer_log=u"

# ---- Identifiers as PgQueuer spells them ------------------------------------------------------
expect_exit 2 "--prefix with capitals is refused" "$PGQ" install --prefix Foo_
check_match "with the reason" "$ERR" "^pgq: invalid prefix 'Foo_': PgQueuer does not quote names"
expect_exit 2 "a reserved word as schema is refused" "$PGQ" install --schema user
check_eq "nothing created by refused names" "$(sql "SELECT count(*) FROM pg_class WHERE relname ILIKE 'foo_pgqueuer%'")" 0
expect_exit 0 "--schema MixedCase installs" "$PGQ" install --schema MixedCase
check_eq "into the schema PgQueuer folds it to" "$(sql "SELECT count(*) FROM pg_tables WHERE schemaname = 'mixedcase'")" 4
expect_exit 0 "and PgQueuer's spelling finds it" "$PGQ" verify --schema mixedcase

# ---- autovac as PgQueuer sets it, on all four tables --------------------------------------------
fresh_db "${BASE}_av"
"$PGQ" install >/dev/null
expect_exit 0 "autovac" "$PGQ" autovac
opts() { sql "SELECT coalesce(array_to_string(reloptions, ','), '') FROM pg_class WHERE relname = '$1'"; }
hot="autovacuum_vacuum_scale_factor=0.01,autovacuum_vacuum_threshold=1000,autovacuum_analyze_scale_factor=0.02,autovacuum_analyze_threshold=500,autovacuum_vacuum_cost_limit=10000,autovacuum_vacuum_cost_delay=0,fillfactor=70"
cold="autovacuum_vacuum_scale_factor=0.95,autovacuum_vacuum_threshold=1000000,autovacuum_analyze_scale_factor=0.05,autovacuum_analyze_threshold=10000"
check_eq "queue table" "$(opts pgqueuer)" "$hot"
check_eq "schedules table" "$(opts pgqueuer_schedules)" "$hot"
check_eq "log table" "$(opts pgqueuer_log)" "$cold"
check_eq "statistics table" "$(opts pgqueuer_statistics)" "$cold"
# Settings an older pgq made (cost_delay on the log) are reset too.
sql "ALTER TABLE pgqueuer_log SET (autovacuum_vacuum_cost_delay = 0, fillfactor = 90)"
expect_exit 0 "autovac --rollback" "$PGQ" autovac --rollback
check_eq "every setting reset on all four" "$(sql "SELECT count(*) FROM pg_class WHERE relname LIKE 'pgqueuer%' AND relkind = 'r' AND reloptions IS NOT NULL AND reloptions <> '{}'")" 0

done_testing
