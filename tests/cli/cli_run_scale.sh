# cli_run_scale.sh: many jobs across three entrypoints, two `pgq run`
# processes at once, with --exec and with the example plug-in: every job
# ends with exactly one terminal log row, none is missing, none ran twice
# (each run appends the job id to a file). Then SIGTERM in the middle of a
# run and a restart: the same exactly-once result.
# PGQ_TEST_JOBS sets the number of jobs (default 3000; the acceptance run
# uses 20000).
. "$(dirname "$0")/../lib.sh"
set -e
TMP=$(mktemp -d)
chmod 755 "$TMP"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$TMP" "$T_OUT" "$T_ERR"' EXIT
PLUGIN="$PGQ_BUILD/examples/plugin_example.so"
N=${PGQ_TEST_JOBS:-3000}

fresh() {
    sql "DELETE FROM pgqueuer; TRUNCATE pgqueuer_log" >/dev/null
    : >"$TMP/ran"
    seq 1 $(( N - 2 * (N / 3) )) | "$PGQ" queue ep_a --stdin >/dev/null
    seq 1 $(( N / 3 )) | "$PGQ" queue ep_b --stdin >/dev/null
    seq 1 $(( N / 3 )) | "$PGQ" queue ep_c --stdin >/dev/null
}

# The job ids the handlers recorded (the plug-in adds the entrypoint), sorted.
ran_ids() { cut -d' ' -f1 "$TMP/ran" | sort -n; }

# The checks of acceptance 1 and 2, for the jobs enqueued by fresh().
exactly_once() { # "what"
    local what=$1
    check_eq "$what: the queue is empty" "$(sql "SELECT count(*) FROM pgqueuer")" 0
    check_eq "$what: every job has a terminal log row" \
        "$(sql "SELECT count(DISTINCT job_id) FROM pgqueuer_log WHERE status = 'successful'")" "$N"
    check_eq "$what: exactly one" \
        "$(sql "SELECT count(*) FROM (SELECT job_id FROM pgqueuer_log
                WHERE status IN ('successful','exception','failed','canceled','deleted')
                GROUP BY job_id HAVING count(*) <> 1) d")" 0
    check_eq "$what: no job is missing" \
        "$(sql "SELECT count(*) FROM (SELECT job_id FROM pgqueuer_log WHERE status = 'queued'
                EXCEPT SELECT job_id FROM pgqueuer_log WHERE status = 'successful') m")" 0
    check_eq "$what: each job ran once" "$(ran_ids | uniq -d | wc -l)" 0
    check_eq "$what: runs = jobs" "$(ran_ids | uniq | wc -l)" "$N"
    sql "SELECT job_id FROM pgqueuer_log WHERE status = 'successful' ORDER BY 1" >"$TMP/db_ids"
    check_eq "$what: the runs are exactly the logged jobs" \
        "$(ran_ids | cmp -s - "$TMP/db_ids" && echo same)" same
}

EXEC=()
for ep in ep_a ep_b ep_c; do EXEC+=(--exec "$ep=echo \$PGQ_JOB_ID >>$TMP/ran"); done
PLUG=("$PLUGIN" -- --entrypoints ep_a,ep_b,ep_c --record "$TMP/ran")

two_drains() { # "what" ARGS...
    local what=$1
    shift
    local jobs=$(sql "SELECT count(*) FROM pgqueuer")
    local start=$(date +%s.%N)
    "$PGQ" run --mode drain --log-level warn "$@" 2>"$TMP/w1.err" &
    local p1=$!
    "$PGQ" run --mode drain --log-level warn "$@" 2>"$TMP/w2.err" &
    local p2=$!
    local rc1=0 rc2=0
    wait $p1 || rc1=$?
    wait $p2 || rc2=$?
    local secs=$(echo "$(date +%s.%N) - $start" | bc)
    echo "# $what: $jobs jobs in ${secs}s, $(echo "$jobs / $secs" | bc) jobs/s"
    check_eq "$what: both workers exit 0" "$rc1,$rc2" "0,0"
    check_eq "$what: no errors logged" "$(cat "$TMP/w1.err" "$TMP/w2.err")" ""
}

expect_exit 0 "install" "$PGQ" install

# ---- Acceptance 1: --exec and the plug-in, two workers ------------------------------------
fresh
two_drains "--exec, two workers" "${EXEC[@]}"
exactly_once "--exec"

fresh
two_drains "plug-in, two workers" "${PLUG[@]}"
exactly_once "plug-in"

# ---- Acceptance 2: SIGTERM in the middle, then a restart ------------------------------------
sigterm_restart() { # "what" ARGS...
    local what=$1
    shift
    fresh
    "$PGQ" run --log-level warn "$@" 2>"$TMP/w1.err" &
    local p1=$!
    "$PGQ" run --log-level warn "$@" 2>"$TMP/w2.err" &
    local p2=$!
    wait_sql "SELECT count(*) >= $N / 3 FROM pgqueuer_log WHERE status = 'successful'"
    kill -TERM $p1 $p2
    local rc1=0 rc2=0
    wait $p1 || rc1=$?
    wait $p2 || rc2=$?
    check_eq "$what: SIGTERM: both exit 0" "$rc1,$rc2" "0,0"
    check_eq "$what: nothing is left picked" \
        "$(sql "SELECT count(*) FROM pgqueuer WHERE status <> 'queued'")" 0
    local done_=$(sql "SELECT count(*) FROM pgqueuer_log WHERE status = 'successful'")
    check_eq "$what: every run so far was recorded once" "$(ran_ids | uniq | wc -l),$(wc -l <"$TMP/ran")" \
        "$done_,$done_"
    check_eq "$what: the rest is still queued" "$(sql "SELECT count(*) FROM pgqueuer")" \
        "$(( N - done_ ))"
    echo "# $what: stopped after $done_ of $N jobs"
    check_eq "$what: the stop came in the middle" "$([ "$done_" -lt "$N" ] && echo yes)" yes
    two_drains "$what: restart" "$@"
    exactly_once "$what: after SIGTERM and restart"
}
sigterm_restart "--exec" "${EXEC[@]}"
sigterm_restart "plug-in" --threads 8 "${PLUG[@]}" --sleep-ms 10

done_testing
