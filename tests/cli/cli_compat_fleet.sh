# cli_compat_fleet.sh: pgq workers beside PgQueuer 1.4+ workers on one
# database. A simulated PgQueuer claimer runs PgQueuer's slot claim (a free
# slot number 0..limit-1 per picked job of a limited entrypoint, the unique
# index pgqueuer_picked_slot_idx deciding races) while two pgq workers drain
# the same limited entrypoint: sampled from the database, the picked rows
# never exceed the limit, no job is lost and each has one terminal log row.
# A queued row left with a slot does not stop pgq's claims. Cancellation of
# a running job on the 2.3 shape keeps the row until the worker records
# `canceled`; on the 1.3 shape it deletes it as before.
. "$(dirname "$0")/../lib.sh"
TMP=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$TMP" "$T_OUT" "$T_ERR"' EXIT
BASE=$PGDATABASE
LIMIT=3
QM=11111111-2222-4333-8444-555555555555

expect_exit 0 "install" "$PGQ" install

# One PgQueuer 1.4 claim of entrypoint lim, then its completion: prints the
# id, or nothing when no slot or job was free. A lost race (23505 on the
# slot index) is an error here, as it is an empty batch for PgQueuer.
pgqueuer_claim() {
    psql -X -q -At -v ON_ERROR_STOP=1 -c "
      WITH free AS (
          SELECT s FROM generate_series(0, $LIMIT - 1) s
          WHERE NOT EXISTS (SELECT 1 FROM pgqueuer p WHERE p.entrypoint = 'lim' AND p.status = 'picked' AND p.slot = s)
          ORDER BY s LIMIT 1
      ), job AS (
          SELECT id FROM pgqueuer
          WHERE entrypoint = 'lim' AND status = 'queued' AND execute_after <= now()
            AND (SELECT count(*) FROM pgqueuer WHERE entrypoint = 'lim' AND queue_manager_id IS NOT NULL) < $LIMIT
          ORDER BY priority DESC, execute_after, id
          LIMIT 1 FOR UPDATE SKIP LOCKED
      ), claimed AS (
          UPDATE pgqueuer SET status = 'picked', slot = (SELECT s FROM free), queue_manager_id = '$QM',
                 updated = now(), heartbeat = now()
          WHERE id = (SELECT id FROM job) AND EXISTS (SELECT 1 FROM free)
          RETURNING id, entrypoint, priority
      ), logged AS (
          INSERT INTO pgqueuer_log (job_id, status, entrypoint, priority)
          SELECT id, 'picked', entrypoint, priority FROM claimed
      )
      SELECT id FROM claimed" 2>>"$TMP/claimer.err"
}
pgqueuer_complete() { # ID
    sql "WITH d AS (DELETE FROM pgqueuer WHERE id = $1 AND status = 'picked' AND queue_manager_id = '$QM'
                    RETURNING id, entrypoint, priority)
         INSERT INTO pgqueuer_log (job_id, status, entrypoint, priority)
         SELECT id, 'successful', entrypoint, priority FROM d"
}

# ---- A mixed fleet on one limit ----------------------------------------------------------------
seq 1 60 | "$PGQ" queue lim --stdin >/dev/null
seq 1 30 | "$PGQ" queue free --stdin >/dev/null
psql -X -q -At -c "
  DO \$\$
  DECLARE m int := 0; c int; n int := 0; t timestamptz := clock_timestamp();
  BEGIN
    LOOP
      SELECT count(*) FILTER (WHERE status = 'picked'), count(*) INTO c, n
        FROM pgqueuer WHERE entrypoint = 'lim';
      m := greatest(m, c);
      EXIT WHEN n = 0 OR clock_timestamp() - t > interval '120 s';
      PERFORM pg_sleep(0.002);
    END LOOP;
    RAISE NOTICE 'max picked %', m;
  END \$\$" 2>"$TMP/sampler.out" &
sampler=$!
(
    end=$(( $(date +%s) + 120 ))
    while [ "$(date +%s)" -lt "$end" ]; do
        id=$(pgqueuer_claim || true)
        if [ -n "$id" ]; then
            echo "$id" >>"$TMP/python_ran"
            sleep 0.03
            pgqueuer_complete "$id"
        else
            [ "$(sql "SELECT count(*) FROM pgqueuer WHERE entrypoint = 'lim'")" = 0 ] && break
            sleep 0.01
        fi
    done
) &
claimer=$!
# The PgQueuer side starts first (a psql per claim is slow to start): the
# fleet is mixed from its first job.
for _ in $(seq 1 600); do [ -s "$TMP/python_ran" ] && break; sleep 0.05; done
for i in 1 2; do
    "$PGQ" run --mode drain --log-level warn --batch-size 4 --concurrency-limit lim=$LIMIT \
        --exec "lim=sleep 0.03" --exec "free=true" 2>"$TMP/w$i.err" &
done
rc=0
for p in $(jobs -p); do [ "$p" = "$sampler" ] || [ "$p" = "$claimer" ] || wait "$p" || rc=$?; done
wait "$claimer" || true
wait "$sampler" || true
check_eq "both pgq workers drained" "$rc" 0
max=$(sed -n 's/.*max picked \([0-9]*\).*/\1/p' "$TMP/sampler.out")
check_match "picked rows of lim sampled: at most $LIMIT (saw ${max:-none})" "${max:-99}" "^[0-$LIMIT]$"
check_eq "no job left" "$(sql "SELECT count(*) FROM pgqueuer")" 0
check_eq "each of the 90 jobs has exactly one terminal log row" \
    "$(sql "SELECT count(*) || ':' || count(DISTINCT job_id) FROM pgqueuer_log WHERE status IN ('successful', 'exception', 'canceled', 'deleted', 'failed')")" "90:90"
n_py=$(cat "$TMP/python_ran" 2>/dev/null | wc -l)
check_match "the simulated PgQueuer worker ran some ($n_py)" "$n_py" "^[1-9]"
check_match "and pgq ran the others" "$(sql "SELECT count(*) FROM pgqueuer_log WHERE status = 'picked' AND entrypoint = 'lim'")" "^(6[0-9]|[7-9][0-9])$"
check_nomatch "no pgq worker reported the slot index" "$(cat "$TMP"/w*.err)" "pgqueuer_picked_slot_idx"

# ---- A queued row that kept a slot does not stop claims --------------------------------------------
running=$("$PGQ" queue lim2 held-by-pgqueuer | awk '{print $NF}')
sql "UPDATE pgqueuer SET status = 'picked', slot = 0, queue_manager_id = '$QM' WHERE id = $running"
leftover=$("$PGQ" queue lim2 leftover | awk '{print $NF}')
sql "UPDATE pgqueuer SET slot = 0 WHERE id = $leftover"
other=$("$PGQ" queue other x | awk '{print $NF}')
"$PGQ" run --log-level warn --concurrency-limit lim2=2 --exec "lim2=true" --exec "other=true" 2>"$TMP/w3.err" &
w3=$!
wait_sql "SELECT NOT EXISTS (SELECT 1 FROM pgqueuer WHERE id IN ($leftover, $other))" 30
check_eq "the leftover-slot job and another entrypoint's both ran" \
    "$(sql "SELECT count(*) FROM pgqueuer_log WHERE job_id IN ($leftover, $other) AND status = 'successful'")" 2
check_eq "the PgQueuer job keeps its slot" "$(sql "SELECT status || ':' || slot FROM pgqueuer WHERE id = $running")" "picked:0"
kill -TERM $w3; wait $w3 || true
check_nomatch "no slot index error" "$(cat "$TMP/w3.err")" "pgqueuer_picked_slot_idx"
sql "DELETE FROM pgqueuer"

# ---- Slots are cleared when a row leaves picked ------------------------------------------------------
id=$("$PGQ" queue lim3 x | awk '{print $NF}')
"$PGQ" run --mode drain --log-level error --hold lim3 --concurrency-limit lim3=2 --exec "lim3=exit 3" 2>/dev/null || true
check_eq "a held job keeps no slot" "$(sql "SELECT status || ':' || coalesce(slot::text, 'null') FROM pgqueuer WHERE id = $id")" "failed:null"
sql "DELETE FROM pgqueuer"

# ---- Cancellation: 2.3 keeps the row until the worker records it --------------------------------
cancel_case() { # SHAPE: a running job cancelled while its worker is frozen
    id=$("$PGQ" queue slow x | awk '{print $NF}')
    "$PGQ" run --log-level warn --exec "slow=sleep 60" 2>"$TMP/c.err" &
    wpid=$!
    wait_sql "SELECT EXISTS (SELECT 1 FROM pgqueuer WHERE id = $id AND status = 'picked')" 30
    kill -STOP $wpid
    expect_exit 0 "$1: cancel the running job" "$PGQ" cancel "$id"
    CANCELLED_ROW=$(sql "SELECT status || ':' || cancel_requested FROM pgqueuer WHERE id = $id" 2>/dev/null \
                    || sql "SELECT count(*) FROM pgqueuer WHERE id = $id")
    LOGGED_BEFORE=$(sql "SELECT count(*) FROM pgqueuer_log WHERE job_id = $id AND status = 'canceled'")
    kill -CONT $wpid
    wait_sql "SELECT NOT EXISTS (SELECT 1 FROM pgqueuer WHERE id = $id)
              AND EXISTS (SELECT 1 FROM pgqueuer_log WHERE job_id = $id AND status = 'canceled')" 30
    sleep 0.5
    LOGGED_AFTER=$(sql "SELECT count(*) FROM pgqueuer_log WHERE job_id = $id AND status = 'canceled'")
    kill -TERM $wpid; wait $wpid || true
    check_nomatch "$1: the command did not run to its end" "$(sql "SELECT count(*) FROM pgqueuer_log WHERE job_id = $id AND status = 'successful'")" "^1$"
}
cancel_case 2.3
check_eq "2.3: the row stays picked, cancel requested" "$CANCELLED_ROW" "picked:true"
check_eq "2.3: nothing logged before the worker stopped it" "$LOGGED_BEFORE" 0
check_eq "2.3: the worker logged canceled once" "$LOGGED_AFTER" 1

psql -X -q -d postgres -c "DROP DATABASE IF EXISTS ${BASE}_c13 WITH (FORCE)" -c "CREATE DATABASE ${BASE}_c13" >/dev/null 2>&1
export PGDATABASE=${BASE}_c13
psql -X -q -v ON_ERROR_STOP=1 -f "$PGQ_ROOT/tests/fixtures/pgqueuer-1.3.2.sql" >/dev/null 2>&1
cancel_case 1.3
check_eq "1.3: the row is deleted at once" "$CANCELLED_ROW" 0
check_eq "1.3: logged canceled at once" "$LOGGED_BEFORE" 1
check_eq "1.3: and only once" "$LOGGED_AFTER" 1

done_testing
