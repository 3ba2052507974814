# cli_run_supervise.sh: PgQueuer's supervision options of `pgq run`:
# --restart-on-failure with --restart-delay starts a new worker after a
# failure, --shutdown-on-listener-failure stops (exit 1) when the LISTEN
# connection dies instead of reconnecting, and --log-level takes PgQueuer's
# upper-case names. Waits on files and the database, never on sleeps.
. "$(dirname "$0")/../lib.sh"
set -e
TMP=$(mktemp -d)
PID=
cleanup() { [ -n "$PID" ] && kill -9 "$PID" 2>/dev/null; rm -rf "$TMP" "$T_OUT" "$T_ERR"; }
trap cleanup EXIT

# wait_file FILE REGEX [SECONDS]: until a line of FILE matches.
wait_file() {
    local end=$(( $(date +%s) + ${3:-60} ))
    until grep -Eq -- "$2" "$1" 2>/dev/null; do
        [ "$(date +%s)" -ge "$end" ] && return 1
        sleep 0.05
    done
}
# wait_exit PID [SECONDS]: waits for the process; sets RC (124: still running).
wait_exit() {
    local end=$(( $(date +%s) + ${2:-60} ))
    while kill -0 "$1" 2>/dev/null; do
        if [ "$(date +%s)" -ge "$end" ]; then RC=124; return; fi
        sleep 0.05
    done
    set +e; wait "$1"; RC=$?; set -e
}

# ---- Options are checked before connecting ---------------------------------------
DEAD="host=/nonexistent port=1"
expect_exit 2 "--restart-delay 2h is refused" "$PGQ" --dsn "$DEAD" run --exec a=true --restart-delay 2h
check_match "names the option and range" "$ERR" "--restart-delay: '2h' is not a duration from 0 to 1h"
expect_exit 2 "--log-level LOUD is refused" "$PGQ" --dsn "$DEAD" run --exec a=true --log-level LOUD
check_match "names the levels" "$ERR" "--log-level: 'LOUD' is not debug, info, warn"
expect_exit 0 "run --help" "$PGQ" run --help
for o in --restart-on-failure --restart-delay --shutdown-on-listener-failure; do
    check_match "run --help names $o" "$OUT" "$o"
done

# ---- --restart-on-failure: no schema yet, then installed --------------------------
"$PGQ" run --exec hello=true --mode drain --restart-on-failure --restart-delay 0.2s \
    >"$TMP/r.out" 2>"$TMP/r.err" &
PID=$!
wait_file "$TMP/r.err" "restarting the worker in 0.2s \(--restart-on-failure, restart 1\)" \
    && t_result 0 "without a schema the worker fails and is restarted" \
    || t_result 1 "without a schema the worker fails and is restarted" "$(cat "$TMP/r.err")"
# Schema and job in one transaction: a restart between the two would drain
# an empty queue and exit before the job exists.
{ "$PGQ" sql install | grep -v '^COMMIT;$'
  echo "INSERT INTO pgqueuer (priority, status, entrypoint) VALUES (0, 'queued', 'hello');"
  echo "COMMIT;"
} | psql -X -q -v ON_ERROR_STOP=1 >/dev/null
wait_exit "$PID" 60
PID=
check_eq "the restarted worker drained and exited 0" "$RC" 0
check_eq "the job ran" "$(sql "SELECT count(*) FROM pgqueuer_log WHERE status = 'successful'")" 1
expect_exit 1 "without --restart-on-failure a failure exits 1" \
    "$PGQ" --schema nowhere run --exec hello=true --mode drain
check_nomatch "and does not restart" "$ERR" "restarting"

# The schema is installed now: each level runs a drain.
for level in DEBUG INFO WARNING ERROR warn Info; do
    expect_exit 0 "--log-level $level is accepted" "$PGQ" run --exec a=true --mode drain --log-level "$level"
done

# ---- --shutdown-on-listener-failure ------------------------------------------------
listener="SELECT pg_terminate_backend(pid) FROM pg_stat_activity
          WHERE datname = current_database() AND query LIKE 'LISTEN%' AND pid <> pg_backend_pid()"
has_listener="SELECT count(*) > 0 FROM pg_stat_activity
              WHERE datname = current_database() AND query LIKE 'LISTEN%'"
"$PGQ" run --exec hello=true --shutdown-on-listener-failure >"$TMP/l.out" 2>"$TMP/l.err" &
PID=$!
wait_sql "$has_listener" 60 || t_result 1 "the worker listens" "$(cat "$TMP/l.err")"
sql "$listener" >/dev/null
wait_exit "$PID" 60
PID=
check_eq "a dead listener stops the worker with exit 1" "$RC" 1
check_match "it says why" "$(cat "$TMP/l.err")" "the listener failed .*; stopping"

# Without the option the worker reconnects and runs on.
"$PGQ" run --exec hello=true >"$TMP/n.out" 2>"$TMP/n.err" &
PID=$!
wait_sql "$has_listener" 60 || t_result 1 "the worker listens" "$(cat "$TMP/n.err")"
sql "$listener" >/dev/null
wait_file "$TMP/n.err" "reconnected to the database" 60 \
    && t_result 0 "without the option it reconnects" \
    || t_result 1 "without the option it reconnects" "$(cat "$TMP/n.err")"
"$PGQ" queue hello '{}' >/dev/null
wait_sql "SELECT count(*) = 2 FROM pgqueuer_log WHERE status = 'successful'" 60 \
    && t_result 0 "and keeps running jobs" || t_result 1 "and keeps running jobs" "$(cat "$TMP/n.err")"
kill -TERM "$PID"
wait_exit "$PID" 60
PID=
check_eq "SIGTERM stops it cleanly" "$RC" 0

# Both: the listener's failure is a failure that --restart-on-failure restarts.
"$PGQ" run --exec hello=true --shutdown-on-listener-failure --restart-on-failure \
    --restart-delay 0 >"$TMP/b.out" 2>"$TMP/b.err" &
PID=$!
wait_sql "$has_listener" 60 || t_result 1 "the worker listens" "$(cat "$TMP/b.err")"
sql "$listener" >/dev/null
wait_file "$TMP/b.err" "restarting the worker" 60 \
    && t_result 0 "a dead listener with --restart-on-failure restarts the worker" \
    || t_result 1 "a dead listener with --restart-on-failure restarts the worker" "$(cat "$TMP/b.err")"
end=$(( $(date +%s) + 60 ))
until [ "$(grep -c 'worker .* started' "$TMP/b.err")" -ge 2 ] || [ "$(date +%s)" -ge "$end" ]; do
    sleep 0.05
done
check_eq "two workers started in all" "$(grep -c 'worker .* started' "$TMP/b.err")" 2
kill -TERM "$PID"
wait_exit "$PID" 60
PID=
check_eq "SIGTERM ends the supervised worker" "$RC" 0
done_testing
