# cli_run_paused.sh: a worker paused (SIGSTOP) longer than the heartbeat
# timeout while it holds prefetched jobs starts none of them when it
# resumes (SIGCONT): another worker took them over and ran them meanwhile.
# Each worker records the jobs it starts in its own file; only a job that
# was already running in the paused worker may run twice.
. "$(dirname "$0")/../lib.sh"
set -e
TMP=$(mktemp -d)
trap 'kill -CONT $(jobs -p) 2>/dev/null || true; kill -KILL $(jobs -p) 2>/dev/null || true; rm -rf "$TMP" "$T_OUT" "$T_ERR"' EXIT
PLUGIN="$PGQ_BUILD/examples/plugin_example.so"
N=60

expect_exit 0 "install" "$PGQ" install
seq 1 $N | "$PGQ" queue ep_a --stdin >/dev/null
: >"$TMP/ranA"
: >"$TMP/ranB"

# A: two threads, batches of 5, so once a job has finished it holds two
# running jobs and prefetches five more.
"$PGQ" run --log-level info --threads 2 --batch-size 5 --heartbeat-timeout 1s \
    "$PLUGIN" -- --entrypoints ep_a --record "$TMP/ranA" --sleep-ms 300 2>"$TMP/a.err" &
a=$!
wait_sql "SELECT (SELECT count(*) FROM pgqueuer_log WHERE status = 'successful') >= 1
          AND (SELECT count(*) FROM pgqueuer WHERE status = 'picked') >= 5" 30
kill -STOP $a
held=$(sql "SELECT count(*) FROM pgqueuer WHERE status = 'picked'")
startedA=$(sort -n "$TMP/ranA" | awk '{print $1}')
check_eq "A holds prefetched jobs besides its two running ones" "$([ "$held" -gt 2 ] && echo yes)" yes

# B, while A is frozen: takes A's jobs over once their heartbeat is 1 s old,
# and drains everything.
expect_exit 0 "B drains the queue, A's jobs included" \
    "$PGQ" run --mode drain --log-level warn --heartbeat-timeout 1s \
    "$PLUGIN" -- --entrypoints ep_a --record "$TMP/ranB" --sleep-ms 5
check_eq "the queue is empty" "$(sql "SELECT count(*) FROM pgqueuer")" 0
check_eq "B took A's jobs over (each picked twice)" \
    "$(sql "SELECT count(*) - count(DISTINCT job_id) >= $held FROM pgqueuer_log WHERE status = 'picked'")" t

# A resumes: its heartbeat finds the jobs gone and it drops the unstarted ones.
kill -CONT $a
found=no
for _ in $(seq 1 400); do
    if grep -q "no longer this worker's" "$TMP/a.err"; then found=yes; break; fi
    sleep 0.05
done
check_eq "A says it dropped the jobs taken over" "$found" yes
kill -TERM $a
rc=0
wait $a || rc=$?
check_eq "A stops cleanly" "$rc" 0
afterA=$(sort -n "$TMP/ranA" | awk '{print $1}')
check_eq "A started no job after it resumed" "$afterA" "$startedA"
twice=$(cat "$TMP/ranA" "$TMP/ranB" | awk '{print $1}' | sort -n | uniq -d | tr '\n' ' ')
echo "# A was paused holding $held job(s); ran twice: ${twice:-none} (running in A at the pause)"
check_eq "only jobs A had started before the pause ran twice" \
    "$(for j in $twice; do printf '%s\n' "$startedA" | grep -qx "$j" || echo "$j"; done)" ""
check_eq "every job ran" "$(cat "$TMP/ranA" "$TMP/ranB" | awk '{print $1}' | sort -nu | wc -l)" $N
check_eq "each job has one successful log row" \
    "$(sql "SELECT count(*) || ',' || count(DISTINCT job_id) FROM pgqueuer_log WHERE status = 'successful'")" \
    "$N,$N"

done_testing
