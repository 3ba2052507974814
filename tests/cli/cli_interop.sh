# cli_interop.sh: pgq and the real PgQueuer 1.3.2 on one database that pgq
# installed (PgQueuer 2.3's shape, with columns and indexes 1.3.2 does not
# know): PgQueuer's start-up check passes; PgQueuer enqueues and pgq runs and
# holds; pgq enqueues and PgQueuer runs and holds; each lists and re-queues
# the other's held jobs with the stored error readable; a concurrency limit
# seen from both sides; cancellation across both; no job lost or completed
# twice. PgQueuer comes from shared/thirdparty next to the repository's
# folder (tests/interop/pgqueuer_tool.py drives it); without it the file
# skips, saying why.
. "$(dirname "$0")/../lib.sh"
# PGQ_THIRDPARTY points elsewhere, e.g. from a checkout that is not beside shared/.
THIRD="${PGQ_THIRDPARTY:-$PGQ_ROOT/../shared/thirdparty}"
skip() {
    echo "# SKIP cli_interop: $1"
    echo "1..0 # SKIP $1"
    exit 0
}
[ -x "$THIRD/pgqueuer-env" ] || skip "no PgQueuer at $THIRD (provide pgqueuer-1.3.2.tar.gz and pgqueuer-env there to run these tests)"
PY=$("$THIRD/pgqueuer-env" "${PGQ_BUILD:-$PGQ_ROOT/build}/pgqueuer-env" 2>"${T_ERR}.env") \
    || skip "cannot make PgQueuer's python environment: $(tail -1 "${T_ERR}.env")"
rm -f "${T_ERR}.env"
TOOL="$PGQ_ROOT/tests/interop/pgqueuer_tool.py"
TMP=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$TMP" "$T_OUT" "$T_ERR"' EXIT
py() { timeout 120 "$PY" "$TOOL" "$@"; }
drain() { timeout 120 "$PGQ" run --mode drain --log-level warn "$@"; }
ids_of() { sql "SELECT string_agg(id::text, ' ' ORDER BY id) FROM pgqueuer WHERE entrypoint = '$1'"; }

expect_exit 0 "pgq install" "$PGQ" install
expect_exit 0 "PgQueuer's start-up check passes on a pgq-installed database" py verify
check_match "verify_structure ran" "$OUT" "verify_structure passed"

# ---- PgQueuer enqueues, pgq runs and holds ----------------------------------------------------
expect_exit 0 "PgQueuer enqueues" py enqueue py2c 5
py enqueue py2c_bad 2 >/dev/null
expect_exit 0 "pgq drains PgQueuer's jobs" drain --hold py2c_bad \
    --exec "py2c=cat >/dev/null" --exec "py2c_bad=echo pgq refused >&2; exit 3"
check_eq "PgQueuer's good jobs ran in pgq" "$(sql "SELECT count(*) FROM pgqueuer_log WHERE entrypoint = 'py2c' AND status = 'successful'")" 5
check_eq "PgQueuer's bad jobs held by pgq" "$(sql "SELECT count(*) FROM pgqueuer WHERE entrypoint = 'py2c_bad' AND status = 'failed'")" 2

# ---- pgq enqueues, PgQueuer runs and holds ----------------------------------------------------
for i in 1 2 3 4 5; do "$PGQ" queue c2py "c-$i" >/dev/null; done
for i in 1 2; do "$PGQ" queue c2py_bad "c-bad-$i" >/dev/null; done
expect_exit 0 "PgQueuer drains pgq's jobs" py work c2py=ok c2py_bad=fail
check_eq "pgq's good jobs ran in PgQueuer" "$(sql "SELECT count(*) FROM pgqueuer_log WHERE entrypoint = 'c2py' AND status = 'successful'")" 5
check_eq "pgq's bad jobs held by PgQueuer" "$(sql "SELECT count(*) FROM pgqueuer WHERE entrypoint = 'c2py_bad' AND status = 'failed'")" 2

# ---- Each lists and re-queues the other's held jobs ---------------------------------------------
expect_exit 0 "pgq lists the jobs PgQueuer held" "$PGQ" failed
check_match "with PgQueuer's stored error" "$OUT" "python refused"
py_held=$(ids_of c2py_bad)
c_held=$(ids_of py2c_bad)
expect_exit 0 "PgQueuer lists the jobs pgq held" py failed
for id in $c_held; do check_match "PgQueuer lists pgq's held job $id" "$OUT" "^$id py2c_bad "; done
first=${c_held%% *}
expect_exit 0 "PgQueuer reads pgq's stored error as its TracebackRecord" py traceback "$first"
check_match "type and message" "$OUT" "pgq refused"
expect_exit 0 "pgq re-queues PgQueuer's held jobs" "$PGQ" requeue $py_held
expect_exit 0 "PgQueuer re-queues pgq's held jobs" py requeue $c_held
check_eq "all four queued again" "$(sql "SELECT count(*) FROM pgqueuer WHERE status = 'queued' AND attempts = 0")" 4
expect_exit 0 "pgq runs the re-queued jobs PgQueuer held" drain --exec "c2py_bad=true"
expect_exit 0 "PgQueuer runs the re-queued jobs pgq held" py work py2c_bad=ok
check_eq "nothing left" "$(sql "SELECT count(*) FROM pgqueuer")" 0
check_eq "14 jobs, each completed exactly once" \
    "$(sql "SELECT count(*) || ':' || count(DISTINCT job_id) FROM pgqueuer_log WHERE status = 'successful'")" "14:14"
check_eq "no job lost: every enqueued job has a terminal row" \
    "$(sql "SELECT count(*) FROM (SELECT job_id FROM pgqueuer_log GROUP BY job_id HAVING NOT bool_or(status = 'successful')) s")" 0

# ---- One concurrency limit, seen from both sides --------------------------------------------------
# While one side runs the limit's worth of jobs, the other claims none of them.
for i in 1 2 3 4; do "$PGQ" queue lim "l-$i" >/dev/null; done
"$PGQ" run --log-level warn --concurrency-limit lim=2 --exec "lim=sleep 4" 2>"$TMP/c.err" &
cw=$!
wait_sql "SELECT count(*) = 2 FROM pgqueuer WHERE entrypoint = 'lim' AND status = 'picked'" 30
qm_c=$(sql "SELECT min(queue_manager_id::text) FROM pgqueuer WHERE status = 'picked'")
py work lim=lim2 >/dev/null 2>"$TMP/p.err" &
pw=$!
sleep 1.5
check_eq "PgQueuer (limit 2) claims nothing while pgq runs 2" \
    "$(sql "SELECT count(*) FROM pgqueuer WHERE entrypoint = 'lim' AND status = 'picked' AND queue_manager_id::text <> '$qm_c'")" 0
kill -TERM $cw; wait $cw || true
wait $pw || true
check_eq "the limited jobs all ran" "$(sql "SELECT count(*) FROM pgqueuer WHERE entrypoint = 'lim'")" 0
for i in 1 2 3 4; do "$PGQ" queue lim "m-$i" >/dev/null; done
py work lim=lim2 >/dev/null 2>"$TMP/p.err" &
pw=$!
wait_sql "SELECT count(*) = 2 FROM pgqueuer WHERE entrypoint = 'lim' AND status = 'picked'" 30
"$PGQ" run --log-level warn --concurrency-limit lim=2 --exec "lim=true" 2>"$TMP/c.err" &
cw=$!
sleep 1
check_eq "pgq (limit 2) claims nothing while PgQueuer runs 2" \
    "$(sql "SELECT count(*) FROM pgqueuer WHERE entrypoint = 'lim' AND status = 'picked'")" 2
check_eq "every picked row is PgQueuer's" \
    "$(sql "SELECT count(DISTINCT queue_manager_id) FROM pgqueuer WHERE entrypoint = 'lim' AND status = 'picked'")" 1
wait $pw || true
kill -TERM $cw; wait $cw || true
check_eq "each limited job completed once" \
    "$(sql "SELECT count(*) || ':' || count(DISTINCT job_id) FROM pgqueuer_log WHERE entrypoint = 'lim' AND status = 'successful'")" "8:8"

# ---- Cancellation across both ----------------------------------------------------------------------
id=$("$PGQ" queue slow_py x)
py work slow_py=slow >/dev/null 2>"$TMP/p.err" &
pw=$!
wait_sql "SELECT EXISTS (SELECT 1 FROM pgqueuer WHERE id = $id AND status = 'picked')" 30
expect_exit 0 "pgq cancels a job PgQueuer runs" "$PGQ" cancel "$id"
wait $pw
check_eq "PgQueuer stopped it and exited" "$?" 0
check_eq "its row is gone" "$(sql "SELECT count(*) FROM pgqueuer WHERE id = $id")" 0
check_eq "logged canceled once, never successful" \
    "$(sql "SELECT string_agg(status::text, ',') FROM pgqueuer_log WHERE job_id = $id AND status IN ('canceled', 'successful')")" canceled
id=$(py enqueue slow_c 1)
"$PGQ" run --log-level info --exec "slow_c=sleep 60" 2>"$TMP/c.err" &
cw=$!
wait_sql "SELECT EXISTS (SELECT 1 FROM pgqueuer WHERE id = $id AND status = 'picked')" 30
expect_exit 0 "PgQueuer cancels a job pgq runs" py cancel "$id"
wait_sql "SELECT NOT EXISTS (SELECT 1 FROM pgqueuer WHERE id = $id)" 30
sleep 1
for _ in $(seq 1 100); do grep -q "cancelled while running" "$TMP/c.err" && break; sleep 0.1; done
check_match "pgq's worker stopped the running command" "$(cat "$TMP/c.err")" "job=$id .*cancelled while running"
kill -TERM $cw; wait $cw || true
check_eq "logged canceled once, never successful" \
    "$(sql "SELECT string_agg(status::text, ',') FROM pgqueuer_log WHERE job_id = $id AND status IN ('canceled', 'successful')")" canceled

done_testing
