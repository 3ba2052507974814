# cli_failed_worker.sh: held jobs with the real worker (`pgq run --hold`):
# a mixed run of two workers (hold and default entrypoints, retries on
# some), mark-failed on a job whose handler is still running, and re-queues
# racing each other and a running worker.
. "$(dirname "$0")/../lib.sh"
set -e

work=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]+"${pids[@]}"}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$work" "$T_OUT" "$T_ERR"
}
trap cleanup EXIT
cd "$work"

# until_true SECONDS CMD...: polls CMD (every 50 ms) until it succeeds; false
# if it never did within the deadline.
until_true() {
    local deadline=$(( $(date +%s) + $1 ))
    shift
    until "$@"; do
        [ "$(date +%s)" -lt "$deadline" ] || return 1
        sleep 0.05
    done
}
count() { sql "SELECT count(*) FROM $1"; }

expect_exit 0 "install" "$PGQ" install

# ---- Mixed run: two workers, exactly as configured ----------------------------------------
# ok: succeeds; held_bad: fails, held; plain_bad: fails, default flow;
# held_retry: fails every time, 3 runs then held; plain_retry: fails
# every time, 2 runs then exception; flaky: fails its first run only.
N=15
for ep in ok held_bad plain_bad held_retry plain_retry flaky; do
    for i in $(seq 1 $N); do echo "{\"n\": $i}"; done | "$PGQ" queue "$ep" --stdin >/dev/null
done
check_eq "enqueued" "$(count pgqueuer)" $((6 * N))
fail='cat >/dev/null; echo "boom $PGQ_ENTRYPOINT attempt $PGQ_ATTEMPTS" >&2; exit 3'
worker() {
    timeout 120 "$PGQ" run --mode drain --log-level error \
        --exec 'ok=cat >/dev/null' \
        --exec "held_bad=$fail" --hold held_bad \
        --exec "plain_bad=$fail" \
        --exec "held_retry=$fail" --hold held_retry --max-attempts held_retry=3 \
        --exec "plain_retry=$fail" --max-attempts plain_retry=2 \
        --exec 'flaky=cat >/dev/null; [ "$PGQ_ATTEMPTS" -ge 1 ] || { echo first >&2; exit 1; }' \
        --max-attempts flaky=3 --backoff 20ms,100ms
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

# One row per (entrypoint: queue rows by status, attempts | log statuses).
summary() {
    sql "SELECT string_agg(s, ' ' ORDER BY s) FROM (
           SELECT entrypoint || ':' || status || ':' || attempts || 'x' || count(*) AS s
           FROM pgqueuer WHERE entrypoint = '$1' GROUP BY entrypoint, status, attempts
           UNION ALL
           SELECT 'log:' || status || 'x' || count(*) FROM pgqueuer_log
           WHERE entrypoint = '$1' GROUP BY status) t"
}
check_eq "ok: all successful, rows gone" "$(summary ok)" \
    "log:pickedx$N log:queuedx$N log:successfulx$N"
check_eq "held_bad: held with attempts 0, one failed log row each" "$(summary held_bad)" \
    "held_bad:failed:0x$N log:failedx$N log:pickedx$N log:queuedx$N"
check_eq "plain_bad: default flow, exception and deleted" "$(summary plain_bad)" \
    "log:exceptionx$N log:pickedx$N log:queuedx$N"
check_eq "held_retry: three runs, then held with attempts 2" "$(summary held_retry)" \
    "held_retry:failed:2x$N log:failedx$N log:pickedx$((3 * N)) log:queuedx$((3 * N))"
check_eq "plain_retry: two runs, then exception" "$(summary plain_retry)" \
    "log:exceptionx$N log:pickedx$((2 * N)) log:queuedx$((2 * N))"
check_eq "flaky: succeeded on its retry" "$(summary flaky)" \
    "log:pickedx$((2 * N)) log:queuedx$((2 * N)) log:successfulx$N"
check_eq "the hold came after the last retry of every held_retry job" \
    "$(sql "SELECT count(*) FROM pgqueuer_log f WHERE f.entrypoint = 'held_retry'
            AND f.status = 'failed' AND f.created >= (SELECT max(created) FROM pgqueuer_log r
                WHERE r.job_id = f.job_id AND r.status = 'picked')")" "$N"
run "$PGQ" list-failed --entrypoint held_retry --json
check_eq "list-failed shows the last attempt's error" \
    "$(printf '%s' "$OUT" | python3 -c '
import json, sys
rows = json.load(sys.stdin)
print(len(rows), sorted({(r["attempts"], r["error"].split(": ", 1)[-1]) for r in rows}))')" \
    "$N [(2, 'boom held_retry attempt 2')]"
expect_exit 0 "requeue-failed --all" "$PGQ" requeue-failed --all
check_eq "every held job re-queued" "$(printf '%s\n' "$OUT" | grep -c '^re-queued ')" $((2 * N))
check_eq "attempts reset" "$(sql "SELECT count(*) FROM pgqueuer WHERE status = 'queued' AND attempts = 0")" \
    $((2 * N))
timeout 120 "$PGQ" run --mode drain --log-level error --exec 'held_bad=cat >/dev/null' \
    --exec 'held_retry=cat >/dev/null' --hold held_bad --hold held_retry >w3.log 2>&1
check_eq "fixed handlers finish them all" "$(count pgqueuer)" 0
check_eq "each once" "$(sql "SELECT count(DISTINCT job_id) || '/' || count(*) FROM pgqueuer_log
                              WHERE status = 'successful' AND entrypoint LIKE 'held%'")" \
    "$((2 * N))/$((2 * N))"

# ---- mark-failed on a job whose handler is running -------------------------------------
id=$("$PGQ" queue slow payload)
timeout 60 "$PGQ" run --mode drain --log-level error \
    --exec 'slow=cat >/dev/null; touch started; while [ ! -f go ]; do sleep 0.02; done' \
    >w4.log 2>&1 &
w4=$!
pids+=("$w4")
check_eq "the handler started" "$(until_true 30 test -f started && echo yes)" yes
check_eq "the job is picked" "$(sql "SELECT status FROM pgqueuer WHERE id = $id")" picked
qm=$(sql "SELECT queue_manager_id FROM pgqueuer WHERE id = $id")
expect_exit 0 "mark-failed while it runs" "$PGQ" mark-failed --job-ids "$id"
touch go
set +e
wait "$w4"; rc=$?
set -e
check_eq "the worker drained and exited 0" "$rc" 0
check_eq "the job stays failed after its handler returned" \
    "$(sql "SELECT status || '/' || coalesce(queue_manager_id::text, '-') FROM pgqueuer WHERE id = $id")" \
    "failed/-"
check_eq "not logged successful" \
    "$(sql "SELECT string_agg(status::text, ' ' ORDER BY id) FROM pgqueuer_log WHERE job_id = $id")" \
    "queued picked failed"
check_eq "the record names the worker that was running it" \
    "$(sql "SELECT traceback->'additional_context'->>'queue_manager_id' FROM pgqueuer_log
            WHERE job_id = $id AND status = 'failed'")" "$qm"
"$PGQ" requeue "$id" >/dev/null

# ---- Re-queues racing each other and a running worker -----------------------------------
M=60
for i in $(seq 1 $M); do echo "r$i"; done | "$PGQ" queue race --stdin >/dev/null
"$PGQ" mark-failed --job-ids "$(sql "SELECT string_agg(id::text, ',') FROM pgqueuer WHERE entrypoint = 'race'")" >/dev/null
check_eq "race jobs held" "$(sql "SELECT count(*) FROM pgqueuer WHERE entrypoint = 'race' AND status = 'failed'")" $M
timeout 120 "$PGQ" run --log-level error --exec 'race=cat >/dev/null' --exec 'slow=cat >/dev/null' \
    >w5.log 2>&1 &
w5=$!
pids+=("$w5")
"$PGQ" requeue-failed --entrypoint race --all >r1.out 2>&1 &
r1=$!
"$PGQ" requeue-failed --entrypoint race --all >r2.out 2>&1 &
r2=$!
"$PGQ" requeue-failed --job-ids "$(sql "SELECT string_agg(id::text, ',') FROM pgqueuer WHERE entrypoint = 'race'")" \
    >r3.out 2>&1 || true
wait $r1 || true
wait $r2 || true
check_eq "every held job was re-queued by exactly one operator" \
    "$(cat r1.out r2.out r3.out | grep '^re-queued ' | sort | uniq -d | wc -l) $(cat r1.out r2.out r3.out | grep -c '^re-queued ')" \
    "0 $M"
check_eq "the others say why" "$(grep -h '^not re-queued' r3.out | grep -vc ': not failed (it is \(queued\|picked\))$\|: no such job$')" 0
check_eq "the worker finishes them all" \
    "$(until_true 60 test "$(sql "SELECT count(*) FROM pgqueuer WHERE entrypoint = 'race'")" = 0 && echo yes)" yes
kill -TERM "$w5"
set +e
wait "$w5"; rc=$?
set -e
check_eq "the worker stops cleanly" "$rc" 0
check_eq "each race job ran once" \
    "$(sql "SELECT count(DISTINCT job_id) || '/' || count(*) FROM pgqueuer_log
            WHERE entrypoint = 'race' AND status = 'successful'")" "$M/$M"

done_testing
