# cli_run.sh: `pgq run`, black box: help, every bad option (exit 2, one
# clear line, nothing claimed), a missing schema or server (exit 1 with a
# hint), --exec (payload on stdin, environment, failure records with exit
# status and stderr tail, --exec-timeout killing the process group, --hold,
# retries with backoff), the example plug-in alone and mixed with --exec,
# text and JSON logs, wake-up latency, and mark-failed of a running job.
. "$(dirname "$0")/../lib.sh"
set -e
TMP=$(mktemp -d)
chmod 755 "$TMP"
trap 'rm -rf "$TMP" "$T_OUT" "$T_ERR"' EXIT
PLUGIN="$PGQ_BUILD/examples/plugin_example.so"

max_width() { printf '%s\n' "$1" | awk '{ if (length($0) > m) m = length($0) } END { print m + 0 }'; }
lines() { printf '%s\n' "$1" | grep -c . || true; }
# Until a worker's LISTEN connection is up (its last statement was LISTEN).
wait_listening() {
    wait_sql "SELECT count(*) > 0 FROM pg_stat_activity WHERE datname = current_database()
              AND application_name = 'pgq worker' AND query LIKE 'LISTEN%'" 10
}
history() { sql "SELECT string_agg(status::text, ',' ORDER BY id) FROM pgqueuer_log WHERE job_id = $1"; }
drain() { "$PGQ" run --mode drain --log-level warn "$@"; }

# ---- Help ------------------------------------------------------------------------------
expect_exit 0 "run --help exits 0" "$PGQ" run --help
check_match "run --help shows usage" "$OUT" "^Usage: pgq run"
check_eq "run --help fits 80 columns" "$([ "$(max_width "$OUT")" -le 80 ] && echo yes)" yes
check_eq "run --help writes nothing to stderr" "$ERR" ""
for opt in --exec --exec-timeout --batch-size --max-concurrent-tasks --dequeue-timeout \
           --heartbeat-timeout --mode --hold --concurrency-limit --retry-timer \
           --max-attempts --backoff --rate --shutdown-grace --log-level --log-format; do
    check_match "help documents $opt" "$OUT" "^ +$opt "
done

# ---- No schema, no server ----------------------------------------------------------------
expect_exit 1 "run without a schema fails" drain --exec a=true
check_match "and says to install" "$ERR" "pgq install"
expect_exit 1 "run without a server fails" "$PGQ" --dsn "host=$TMP/nowhere" run --exec a=true
check_match "and says why" "$ERR" "^pgq: run: cannot connect"
check_match "with a hint" "$ERR" "hint:"

expect_exit 0 "install" "$PGQ" install
"$PGQ" queue a x >/dev/null
"$PGQ" queue hello x >/dev/null

# ---- Bad options: exit 2, one line, nothing claimed ----------------------------------------
bad() { # "what" ARGS...
    local what=$1
    shift
    expect_exit 2 "$what: exit 2" "$PGQ" run "$@"
    check_match "$what: says what is wrong" "$(printf '%s\n' "$ERR" | head -1)" "^pgq run: "
    check_eq "$what: nothing on stdout" "$OUT" ""
}
bad "no handlers"
bad "--exec without =" --exec abc
bad "--exec without entrypoint" --exec =true
bad "--exec without command" --exec a=
bad "--exec twice for one entrypoint" --exec a=true --exec a=false
bad "--exec missing value" --exec
bad "--batch-size 0" --exec a=true --batch-size 0
bad "--batch-size word" --exec a=true --batch-size ten
bad "--batch-size too big" --exec a=true --batch-size 10001
bad "--max-concurrent-tasks below twice the batch" --exec a=true --max-concurrent-tasks 19
bad "--dequeue-timeout 0" --exec a=true --dequeue-timeout 0
bad "--dequeue-timeout word" --exec a=true --dequeue-timeout soon
bad "--heartbeat-timeout negative" --exec a=true --heartbeat-timeout -1s
bad "--shutdown-grace word" --exec a=true --shutdown-grace forever
bad "--exec-timeout 0" --exec a=true --exec-timeout 0
bad "--mode unknown" --exec a=true --mode fast
bad "--hold missing value" --exec a=true --hold
bad "--hold unknown entrypoint" --exec a=true --hold nosuch
bad "--hold with =" --exec a=true --hold a=1
bad "--concurrency-limit without =" --exec a=true --concurrency-limit a
bad "--concurrency-limit 0" --exec a=true --concurrency-limit a=0
bad "--concurrency-limit word" --exec a=true --concurrency-limit a=x
bad "--concurrency-limit unknown entrypoint" --exec a=true --concurrency-limit b=2
bad "--retry-timer 0" --exec a=true --retry-timer a=0
bad "--max-attempts 0" --exec a=true --max-attempts a=0
bad "--backoff without --max-attempts" --exec a=true --backoff 1s
bad "--backoff word" --exec a=true --max-attempts a=3 --backoff soon
bad "--backoff max below initial" --exec a=true --max-attempts a=3 --backoff 5s,1s
bad "--rate 0" --exec a=true --rate a=0
bad "--rate negative" --exec a=true --rate a=-1
bad "--rate word" --exec a=true --rate a=fast
bad "--log-level unknown" --exec a=true --log-level loud
bad "--log-format unknown" --exec a=true --log-format xml
bad "unknown option" --exec a=true --frobnicate
bad "plug-in not found" "$TMP/missing.so"
bad "plug-in without setup" "$(ldconfig -p | awk '/libm\.so\.6 /{print $NF; exit}')"
bad "two plug-ins" "$PLUGIN" "$PLUGIN"
bad "arguments without a plug-in" --exec a=true -- --x
bad "--exec clashing with the plug-in" "$PLUGIN" --exec hello=true
check_eq "nothing was claimed" "$(sql "SELECT count(*) FROM pgqueuer_log WHERE status <> 'queued'")" 0
expect_exit 1 "a plug-in whose setup fails exits 1" "$PGQ" run "$PLUGIN" -- --bogus
check_match "and names it" "$ERR" "pgq_plugin_setup\(\) returned"
sql "DELETE FROM pgqueuer; TRUNCATE pgqueuer_log" >/dev/null

# ---- --exec: input, environment, success -------------------------------------------------
printf 'bin\000ary\377 payload' >"$TMP/payload"
id=$("$PGQ" queue probe --payload-file "$TMP/payload" --priority 7 --header k=v)
cat >"$TMP/probe.sh" <<'SH'
#!/bin/sh
cat >"$OUTDIR/$PGQ_JOB_ID.in"
env | grep '^PGQ_' | sort >"$OUTDIR/$PGQ_JOB_ID.env"
SH
chmod +x "$TMP/probe.sh"
export OUTDIR=$TMP
expect_exit 0 "drain with --exec" drain --exec "probe=$TMP/probe.sh"
check_eq "the payload arrived on stdin, byte for byte" \
    "$(cmp "$TMP/payload" "$TMP/$id.in" && echo same)" same
envs=$(cat "$TMP/$id.env")
check_match "PGQ_JOB_ID" "$envs" "^PGQ_JOB_ID=$id$"
check_match "PGQ_ENTRYPOINT" "$envs" "^PGQ_ENTRYPOINT=probe$"
check_match "PGQ_ATTEMPTS" "$envs" "^PGQ_ATTEMPTS=0$"
check_match "PGQ_PRIORITY" "$envs" "^PGQ_PRIORITY=7$"
check_match "PGQ_HEADERS is the headers' JSON" "$envs" '^PGQ_HEADERS=\{"k": ?"v"\}$'
check_eq "logged successful" "$(history "$id")" "queued,picked,successful"

# ---- --exec: failures ----------------------------------------------------------------------
id=$("$PGQ" queue boom x)
cmd='echo "first line" >&2; echo "ValueError: bad amount" >&2; exit 3'
expect_exit 0 "a failing command still drains" drain --exec "boom=$cmd"
check_eq "logged as exception, row gone" "$(history "$id"),$(sql "SELECT count(*) FROM pgqueuer")" \
    "queued,picked,exception,0"
rec=$(sql "SELECT traceback FROM pgqueuer_log WHERE job_id = $id AND status = 'exception'")
check_eq "error type" "$(printf '%s' "$rec" | jq -r .exception_type)" CommandFailed
check_eq "error message: exit status and last stderr line" \
    "$(printf '%s' "$rec" | jq -r .exception_message)" "exit status 3: ValueError: bad amount"
detail=$(printf '%s' "$rec" | jq -r .traceback)
check_match "detail has the command" "$detail" "^command: echo"
check_match "detail has the stderr tail" "$detail" "first line"
check_match "detail has the exit status" "$detail" "exit status 3"
check_eq "record names the worker" \
    "$(printf '%s' "$rec" | jq -r '.additional_context.queue_manager_id | length')" 36

id=$("$PGQ" queue pay x)
expect_exit 0 "--hold" drain --hold pay --exec "pay=echo declined >&2; exit 1"
check_eq "held as failed with queue_manager_id NULL" \
    "$(sql "SELECT status || ',' || (queue_manager_id IS NULL) FROM pgqueuer WHERE id = $id")" \
    "failed,true"
check_eq "failed log row with the error" \
    "$(sql "SELECT traceback->>'exception_message' FROM pgqueuer_log WHERE job_id = $id AND status = 'failed'")" \
    "exit status 1: declined"
"$PGQ" list-failed >"$TMP/lf" 2>&1 || true
check_match "list-failed shows it" "$(cat "$TMP/lf")" "declined"
sql "DELETE FROM pgqueuer" >/dev/null

id=$("$PGQ" queue slow x)
start=$(date +%s.%N)
# The sleep's argument is unique to this run ($$): other test runs on the
# machine may have sleeps of their own.
slow="sleep 7.25$$"
expect_exit 0 "--exec-timeout" drain --exec-timeout 300ms --exec "slow=$slow; echo never"
took=$(echo "$(date +%s.%N) - $start" | bc)
check_eq "the command was killed quickly" "$(echo "$took < 3" | bc)" 1
check_eq "no process of it is left" "$(pgrep -fx "$slow" | wc -l)" 0
check_eq "timeout recorded" \
    "$(sql "SELECT traceback->>'exception_type' FROM pgqueuer_log WHERE job_id = $id AND status = 'exception'")" \
    CommandTimeout

id=$("$PGQ" queue retry x)
expect_exit 0 "--max-attempts with --backoff" \
    drain --max-attempts retry=3 --backoff 100ms,1s --exec "retry=exit 9"
check_eq "three runs, then the final failure" "$(history "$id")" \
    "queued,picked,queued,picked,queued,picked,exception"
check_eq "retry delays double" \
    "$(sql "SELECT string_agg(traceback->'additional_context'->>'retry_delay', ',' ORDER BY id)
            FROM pgqueuer_log WHERE job_id = $id AND status = 'queued' AND traceback IS NOT NULL")" \
    "0:00:00.100000,0:00:00.200000"

# ---- The example plug-in, alone and mixed with --exec ----------------------------------------
sql "TRUNCATE pgqueuer_log" >/dev/null
for ep in hello fail flaky; do "$PGQ" queue "$ep" "payload-$ep" >/dev/null; done
"$PGQ" queue shell x >/dev/null
expect_exit 0 "plug-in and --exec in one worker" \
    drain "$PLUGIN" --exec "shell=echo \$PGQ_JOB_ID >>$TMP/shell.ids" --hold fail \
    -- --record "$TMP/plugin.ids"
check_eq "hello succeeded" "$(sql "SELECT string_agg(status::text, ',' ORDER BY id) FROM pgqueuer_log l WHERE entrypoint = 'hello'")" \
    "queued,picked,successful"
check_eq "fail was held (--hold applies to the plug-in)" \
    "$(sql "SELECT status FROM pgqueuer WHERE entrypoint = 'fail'")" failed
check_eq "flaky was retried by its own request and succeeded" \
    "$(sql "SELECT string_agg(status::text, ',' ORDER BY id) FROM pgqueuer_log WHERE entrypoint = 'flaky'")" \
    "queued,picked,queued,picked,successful"
check_eq "the plug-in recorded its four runs" "$(wc -l <"$TMP/plugin.ids")" 4
check_eq "the command ran once" "$(wc -l <"$TMP/shell.ids")" 1
sql "DELETE FROM pgqueuer" >/dev/null

# ---- Logs ---------------------------------------------------------------------------------
id=$("$PGQ" queue logme x)
expect_exit 0 "text logs" "$PGQ" run --mode drain --exec logme=true
check_match "a start line" "$ERR" "info +worker [0-9a-f-]{36} started"
check_match "job lines carry job id and entrypoint" "$ERR" "info +job=$id entrypoint=logme succeeded"
check_eq "every line starts with a timestamp" \
    "$(printf '%s\n' "$ERR" | grep -cvE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z ')" 0
id=$("$PGQ" queue logme x)
expect_exit 0 "JSON logs" "$PGQ" run --mode drain --log-format json --log-level debug \
    --exec "logme=echo 'a \"quoted\" line' >&2; exit 1"
check_eq "every line is one JSON object" \
    "$(printf '%s\n' "$ERR" | jq -c 'select(type == "object") | 1' | wc -l)" "$(lines "$ERR")"
check_eq "job lines have job_id and entrypoint" \
    "$(printf '%s\n' "$ERR" | jq -r "select(.job_id == $id) | .entrypoint" | sort -u)" logme
check_match "levels and messages" \
    "$(printf '%s\n' "$ERR" | jq -r 'select(.level == "error") | .message')" 'a "quoted" line'
expect_exit 0 "--log-level error is quiet on success" "$PGQ" run --mode drain --log-level error \
    --exec logme=true
check_eq "nothing logged" "$ERR" ""

# ---- Wake-up latency and mark-failed of a running job -----------------------------------------
sql "TRUNCATE pgqueuer_log" >/dev/null
"$PGQ" run --log-level warn --dequeue-timeout 60s --exec "ping=true" \
    --exec "hold=until [ -e $TMP/hold.go ]; do sleep 0.02; done" 2>"$TMP/worker.err" &
wpid=$!
wait_listening
for i in 1 2 3; do
    "$PGQ" queue ping x >/dev/null
    sleep 0.1
done
wait_sql "SELECT count(*) = 3 FROM pgqueuer_log WHERE status = 'successful'" 10 || true
lat=$(sql "SELECT round(max(extract(epoch FROM p.created - q.created)) * 1000)
           FROM pgqueuer_log q JOIN pgqueuer_log p USING (job_id)
           WHERE q.status = 'queued' AND p.status = 'picked'")
echo "# enqueue-to-pick latency on an idle worker: worst of 3 = ${lat} ms"
check_eq "enqueue-to-pick under 500 ms" "$([ -n "$lat" ] && [ "$lat" -lt 500 ] && echo yes)" yes

ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
before=$(ticks $wpid)
sleep 1
check_eq "an idle worker uses no CPU (no polling)" "$([ $(( $(ticks $wpid) - before )) -le 1 ] && echo yes)" yes

id=$("$PGQ" queue hold x)
wait_sql "SELECT count(*) = 1 FROM pgqueuer WHERE id = $id AND status = 'picked'" 10
expect_exit 0 "mark-failed of a running job" "$PGQ" mark-failed --job-ids "$id"
# Only now may the command end; then the worker tries to record success.
touch "$TMP/hold.go"
end=$((SECONDS + 60))
until grep -q "not recorded" "$TMP/worker.err" || [ $SECONDS -ge $end ]; do sleep 0.05; done
kill -TERM $wpid
wait $wpid
check_eq "the worker exited 0 on SIGTERM" "$?" 0
check_eq "the job stayed failed after its command succeeded" \
    "$(sql "SELECT status FROM pgqueuer WHERE id = $id")" failed
check_eq "and was not logged successful" "$(history "$id")" "queued,picked,failed"
check_match "the worker said the outcome was not recorded" "$(cat "$TMP/worker.err")" "not recorded"

# ---- --prefix and --schema: other tables, another channel -----------------------------------
expect_exit 0 "install with a prefix and a schema" "$PGQ" --prefix app_ --schema jobs install
id=$("$PGQ" --prefix app_ --schema jobs queue pre x)
expect_exit 0 "a worker on them drains" "$PGQ" run --prefix app_ --schema jobs --mode drain \
    --log-level warn --exec pre=true
check_eq "their log has the job" \
    "$(sql "SELECT string_agg(status::text, ',' ORDER BY id) FROM jobs.app_pgqueuer_log WHERE job_id = $id")" \
    "queued,picked,successful"
"$PGQ" run --prefix app_ --schema jobs --log-level warn --dequeue-timeout 60s \
    --exec "pre=echo \$PGQ_JOB_ID >>$TMP/pre.ids" 2>/dev/null &
wpid=$!
wait_listening
id=$("$PGQ" --prefix app_ --schema jobs queue pre x)
wait_sql "SELECT count(*) = 1 FROM jobs.app_pgqueuer_log WHERE job_id = $id AND status = 'successful'" 5 || true
check_eq "it is woken by the prefixed channel" "$(cat "$TMP/pre.ids" 2>/dev/null)" "$id"
kill -TERM $wpid
wait $wpid || true

done_testing
