# cli_run_faults.sh: workers under faults. SIGKILL one of two workers in
# the middle of a run: its jobs are taken over after the retry_timer and
# every job still ends with exactly one terminal log row (a job running at
# the kill may run twice: at-least-once). A second SIGTERM stops a worker at
# once, killing its commands, and hands their jobs back. A job that kills
# its worker every time is held as failed after three take-overs. PostgreSQL
# restarting under running workers (pg_ctl stop -m fast, start): they
# reconnect by themselves, log it once, and every job is accounted for.
# No step relies on the machine's speed: where a fault must find jobs in
# flight, handlers hold some jobs until the test lets them go (the
# plug-in's --block-every, or a command waiting for a file), and the test
# waits for what it needs (a held job, a started command, a log line)
# before it strikes.
# PGQ_TEST_JOBS sets the number of jobs (default 3000).
. "$(dirname "$0")/../lib.sh"
set -e
TMP=$(mktemp -d)
chmod 755 "$TMP"
trap 'kill -9 $(jobs -p) 2>/dev/null || true; rm -rf "$TMP" "$T_OUT" "$T_ERR"' EXIT
PLUGIN="$PGQ_BUILD/examples/plugin_example.so"
: "${PGQ_TEST_CLUSTER:?the test cluster (set by tests/run)}"
N=${PGQ_TEST_JOBS:-3000}

fresh() {
    sql "DELETE FROM pgqueuer; TRUNCATE pgqueuer_log" >/dev/null
    : >"$TMP/ran"
    rm -f "$TMP/go"
    seq 1 $(( N - 2 * (N / 3) )) | "$PGQ" queue ep_a --stdin >/dev/null
    seq 1 $(( N / 3 )) | "$PGQ" queue ep_b --stdin >/dev/null
    seq 1 $(( N / 3 )) | "$PGQ" queue ep_c --stdin >/dev/null
}

ran_ids() { cut -d' ' -f1 "$TMP/ran" | sort -n; }

accounted() { # "what": one terminal row per job, none missing, nothing left
    local what=$1
    check_eq "$what: the queue is empty" "$(sql "SELECT count(*) FROM pgqueuer")" 0
    check_eq "$what: every job has a terminal log row" \
        "$(sql "SELECT count(DISTINCT job_id) FROM pgqueuer_log WHERE status = 'successful'")" "$N"
    check_eq "$what: exactly one each" \
        "$(sql "SELECT count(*) FROM (SELECT job_id FROM pgqueuer_log
                WHERE status IN ('successful','exception','failed','canceled','deleted')
                GROUP BY job_id HAVING count(*) <> 1) d")" 0
    check_eq "$what: every job ran" "$(ran_ids | uniq | wc -l)" "$N"
    echo "# $what: $(ran_ids | uniq -d | wc -l) job(s) ran twice"
}

expect_exit 0 "install" "$PGQ" install

# ---- Acceptance 3: SIGKILL of one of two workers -------------------------------------------
fresh
ARGS=(--log-level warn --threads 8 --heartbeat-timeout 2s
      "$PLUGIN" -- --entrypoints ep_a,ep_b,ep_c --record "$TMP/ran" --sleep-ms 20)
# The victim holds every 7th job it takes until killed, so it certainly
# has jobs in hand when the SIGKILL comes.
: >"$TMP/victim.held"
"$PGQ" run "${ARGS[@]}" --block-every 7 --until "$TMP/never" --blocked "$TMP/victim.held" \
    2>"$TMP/victim.err" &
victim=$!
"$PGQ" run --mode drain "${ARGS[@]}" 2>"$TMP/survivor.err" &
survivor=$!
wait_sql "SELECT count(*) >= $N / 4 FROM pgqueuer_log WHERE status = 'successful'" 300
until [ -s "$TMP/victim.held" ]; do sleep 0.05; done
held=$(sql "SELECT count(*) FROM pgqueuer WHERE status = 'picked'")
kill -KILL $victim
wait $victim || true
start=$(date +%s)
rc=0
wait $survivor || rc=$?
check_eq "the survivor drains the rest and exits 0" "$rc" 0
echo "# SIGKILL with $held job(s) picked; the survivor finished $(( $(date +%s) - start ))s later"
accounted "after SIGKILL"
check_eq "the killed worker's jobs were taken over (picked twice)" \
    "$(sql "SELECT count(*) > 0 FROM (SELECT job_id FROM pgqueuer_log WHERE status = 'picked'
            GROUP BY job_id HAVING count(*) > 1) t")" t
check_eq "nothing was held as poison" "$(sql "SELECT count(*) FROM pgqueuer_log WHERE status = 'failed'")" 0

# ---- A second SIGTERM: stop at once, commands killed, jobs handed back ---------------------------
sql "DELETE FROM pgqueuer; TRUNCATE pgqueuer_log" >/dev/null
seq 1 6 | "$PGQ" queue long --stdin >/dev/null
# The sleep's argument is unique to this run ($$), so the test can wait
# for all four commands to run and check those very processes afterwards,
# not every `sleep` of the other test runs sharing the machine.
long="sleep 9.75$$"
"$PGQ" run --log-level info --threads 4 --exec "long=$long" 2>"$TMP/w.err" &
w=$!
end=$((SECONDS + 60))
until [ "$(pgrep -fx "$long" | wc -l)" -ge 4 ] || [ $SECONDS -ge $end ]; do sleep 0.05; done
kill -TERM $w
# A second signal sent before the first was handled would merge with it.
end=$((SECONDS + 60))
until grep -q 'stopping: ' "$TMP/w.err" || [ $SECONDS -ge $end ]; do sleep 0.05; done
kill -TERM $w
start=$(date +%s.%N)
rc=0
wait $w || rc=$?
check_eq "exit 0 after the second SIGTERM" "$rc" 0
check_eq "it stopped at once" "$(echo "$(date +%s.%N) - $start < 2" | bc)" 1
check_eq "its commands were killed" "$(pgrep -fx "$long" | wc -l)" 0
check_eq "every job is back in the queue, none logged as done" \
    "$(sql "SELECT count(*) FILTER (WHERE status = 'queued' AND queue_manager_id IS NULL)
            || ',' || (SELECT count(*) FROM pgqueuer_log WHERE status NOT IN ('queued','picked'))
            FROM pgqueuer")" "6,0"
check_match "it said so" "$(cat "$TMP/w.err")" "stopping now: cancelling 4 running job"
check_match "and handed them back" "$(cat "$TMP/w.err")" "handed 4 job\(s\) back"

# ---- A poison job: it kills its worker each time; after 3 take-overs it is held ------------------
sql "DELETE FROM pgqueuer; TRUNCATE pgqueuer_log" >/dev/null
id=$("$PGQ" queue poison x)
codes=""
for i in 1 2 3 4; do
    rc=0
    "$PGQ" run --mode drain --log-level error --retry-timer poison=1s \
        --exec 'poison=kill -9 $PPID; sleep 1' 2>>"$TMP/poison.err" || rc=$?
    codes="$codes${codes:+,}$rc"
done
check_eq "the job killed three workers, the fourth held it and drained" "$codes" "137,137,137,0"
check_eq "held as failed" "$(sql "SELECT status FROM pgqueuer WHERE id = $id")" failed
check_eq "with an error saying why" \
    "$(sql "SELECT traceback->>'exception_type' FROM pgqueuer_log WHERE job_id = $id AND status = 'failed'")" \
    WorkerDied

# ---- Acceptance 4: the database restarts under two running workers ---------------------------------
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# Stops the server for two seconds; DOWN_CPU is the CPU time (clock ticks)
# the worker $1 used meanwhile: reconnecting must not spin.
restart_db() {
    "$PGQ" local stop --dir "$PGQ_TEST_CLUSTER" >/dev/null
    local before=$(cpu_ticks "$1")
    sleep 2
    DOWN_CPU=$(( $(cpu_ticks "$1") - before ))
    "$PGQ" local start --dir "$PGQ_TEST_CLUSTER" --fast >/dev/null
}

# The handlers hold every 50th job until $TMP/go exists, so the workers
# cannot drain before the restart, however quick they are; the held jobs
# are let go once the server is back. The heartbeat timeout (20 s) is
# longer than the outage: the held jobs are not taken over meanwhile.
restart_run() { # "what" ARGS...
    local what=$1
    shift
    fresh
    "$PGQ" run --mode drain --heartbeat-timeout 20s "$@" 2>"$TMP/w1.err" &
    local p1=$!
    "$PGQ" run --mode drain --heartbeat-timeout 20s "$@" 2>"$TMP/w2.err" &
    local p2=$!
    wait_sql "SELECT count(*) >= $N / 10 FROM pgqueuer_log WHERE status = 'successful'" 300
    check_eq "$what: jobs are left when the server stops" \
        "$(sql "SELECT count(*) > 0 FROM pgqueuer")" t
    restart_db $p1
    touch "$TMP/go"
    check_eq "$what: no busy loop while the database is down" \
        "$([ "$DOWN_CPU" -le 20 ] && echo yes)" yes
    echo "# $what: $DOWN_CPU clock tick(s) of CPU in 2 s without a database"
    local rc1=0 rc2=0
    wait $p1 || rc1=$?
    wait $p2 || rc2=$?
    check_eq "$what: both workers recover and exit 0" "$rc1,$rc2" "0,0"
    check_eq "$what: no errors logged" "$(grep -hc ' error ' "$TMP/w1.err" "$TMP/w2.err" | paste -sd,)" "0,0"
    check_eq "$what: each logged the loss once" \
        "$(grep -c 'reconnecting' "$TMP/w1.err"),$(grep -c 'reconnecting' "$TMP/w2.err")" "1,1"
    check_eq "$what: and the reconnect once" \
        "$(grep -c 'reconnected to the database' "$TMP/w1.err"),$(grep -c 'reconnected to the database' "$TMP/w2.err")" \
        "1,1"
    accounted "$what: after a database restart"
}
EXEC=()
for ep in ep_a ep_b ep_c; do
    EXEC+=(--exec "$ep=echo \$PGQ_JOB_ID >>$TMP/ran; [ \$((PGQ_JOB_ID % 50)) != 0 ] ||
                    until [ -e $TMP/go ]; do sleep 0.02; done")
done
restart_run "--exec" --log-level info "${EXEC[@]}"
restart_run "plug-in" --log-level info --threads 8 "$PLUGIN" -- \
    --entrypoints ep_a,ep_b,ep_c --record "$TMP/ran" --sleep-ms 5 \
    --block-every 50 --until "$TMP/go"

done_testing
