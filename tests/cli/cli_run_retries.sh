# cli_run_retries.sh: retries come back at once to the worker that recorded
# them. A retry's row is queued when the recorder commits it, so the next
# claim (on the other connection) can pick the job again before the loop
# has collected the recorder's result; that run must happen, not be
# dropped for a job "already in hand" and left picked until another worker
# takes it over as stale.
. "$(dirname "$0")/../lib.sh"
set -e

work=$(mktemp -d)
trap 'rm -rf "$work" "$T_OUT" "$T_ERR"' EXIT
cd "$work"

expect_exit 0 "install" "$PGQ" install
N=300
seq 1 $N | sed 's/.*/{"n": &}/' | "$PGQ" queue always_fails --stdin >/dev/null
seq 1 $N | sed 's/.*/{"n": &}/' | "$PGQ" queue fails_once --stdin >/dev/null

# A dropped run would only come back after the heartbeat timeout: 60 s
# here, beyond the timeout below, so the drain itself fails the test.
worker() {
    timeout 50 "$PGQ" run --mode drain --log-level error --heartbeat-timeout 60s \
        --exec 'always_fails=cat >/dev/null; exit 3' --max-attempts always_fails=3 \
        --exec 'fails_once=cat >/dev/null; [ "$PGQ_ATTEMPTS" -ge 1 ]' \
        --max-attempts fails_once=2 --backoff 10ms,10ms
}
worker >w1.log 2>&1 &
w1=$!
worker >w2.log 2>&1 &
w2=$!
set +e
wait $w1; rc1=$?
wait $w2; rc2=$?
set -e
check_eq "both workers drained and exited 0" "$rc1 $rc2" "0 0"
check_eq "no job is left" "$(sql "SELECT count(*) FROM pgqueuer")" 0
check_eq "every pick follows its own queued row (none dropped, none taken over)" \
    "$(sql "SELECT count(*) FROM (SELECT job_id FROM pgqueuer_log GROUP BY job_id
            HAVING count(*) FILTER (WHERE status = 'picked')
                <> count(*) FILTER (WHERE status = 'queued')) t")" 0
check_eq "always_fails: three runs each, then exception" \
    "$(sql "SELECT string_agg(status || 'x' || n, ' ' ORDER BY status) FROM (
            SELECT status::text, count(*) AS n FROM pgqueuer_log
            WHERE entrypoint = 'always_fails' GROUP BY status) t")" \
    "exceptionx$N pickedx$((3 * N)) queuedx$((3 * N))"
check_eq "fails_once: two runs each, then successful" \
    "$(sql "SELECT string_agg(status || 'x' || n, ' ' ORDER BY status) FROM (
            SELECT status::text, count(*) AS n FROM pgqueuer_log
            WHERE entrypoint = 'fails_once' GROUP BY status) t")" \
    "pickedx$((2 * N)) queuedx$((2 * N)) successfulx$N"
check_eq "no worker warned about unrecorded outcomes" \
    "$(cat w1.log w2.log | grep -c 'not recorded' || true)" 0

done_testing
