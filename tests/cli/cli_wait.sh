# cli_wait.sh: `pgq wait`, the completion watcher: every settled state and
# its exit code, the wake-up on a notification (measured), the poll when
# notifications are lost, the timeout, and bad input.
. "$(dirname "$0")/../lib.sh"
set -e

expect_exit 0 "install" "$PGQ" install

# finish ID STATUS: what a worker's completion writes (deletes the row, so
# the trigger notifies) for successful, exception and canceled.
finish() {
    sql "WITH d AS (DELETE FROM pgqueuer WHERE id = $1 RETURNING id, priority, entrypoint)
         INSERT INTO pgqueuer_log (job_id, status, priority, entrypoint)
         SELECT id, '$2', priority, entrypoint FROM d"
}
# hold ID: a held failure (an UPDATE: no notification).
hold() {
    sql "WITH j AS (UPDATE pgqueuer SET status = 'failed', queue_manager_id = NULL
                    WHERE id = $1 RETURNING id, priority, entrypoint)
         INSERT INTO pgqueuer_log (job_id, status, priority, entrypoint, traceback)
         SELECT id, 'failed', priority, entrypoint, '{\"exception_message\": \"boom\"}' FROM j"
}
# The waiting session has run its first look and sleeps on its socket.
waiter_sleeping() {
    wait_sql "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE state = 'idle'
              AND query LIKE '%LATERAL%' AND pid <> pg_backend_pid())" 10
}
now() { date +%s.%N; }

# ---- bad input: exit 2, nothing read or changed ----
expect_exit 2 "no ids" "$PGQ" wait
check_match "no ids: one line naming the problem" "$ERR" "pgq wait: no job ids given"
expect_exit 2 "a malformed id" "$PGQ" wait 12x
expect_exit 2 "id 0" "$PGQ" wait 0
expect_exit 2 "a bad --timeout" "$PGQ" wait 1 --timeout soon
check_match "--timeout error names the option" "$ERR" "--timeout 'soon'"
expect_exit 2 "--poll below 10ms" "$PGQ" wait 1 --poll 1ms
expect_exit 2 "an unknown option" "$PGQ" wait 1 --forever
expect_exit 0 "--help" "$PGQ" wait --help

# ---- settled states and exit codes ----
a=$("$PGQ" queue ep '{}'); b=$("$PGQ" queue ep '{}'); c=$("$PGQ" queue ep '{}')
finish "$a" successful; finish "$b" successful
expect_exit 0 "all succeeded: exit 0" "$PGQ" wait "$a" "$b"
check_eq "each printed" "$OUT" "$a successful
$b successful"
finish "$c" exception
expect_exit 1 "one exception: exit 1" "$PGQ" wait "$a,$c"
check_match "the exception is printed" "$OUT" "^$c exception$"
d=$("$PGQ" queue ep '{}'); hold "$d"
expect_exit 1 "a held job settles the wait but is not a success" "$PGQ" wait "$d" --timeout 5s
check_eq "held job printed" "$OUT" "$d failed (held for review)"
expect_exit 1 "an unknown id: exit 1" "$PGQ" wait 987654321
check_eq "unknown id printed" "$OUT" "987654321: no such job"
e=$("$PGQ" queue ep '{}')
expect_exit 1 "timeout: exit 1" "$PGQ" wait "$e" "$a" --timeout 300ms
check_match "the unsettled job is printed as timed out" "$OUT" "^$e still queued \\(timed out\\)$"
check_match "the settled one too" "$OUT" "^$a successful$"
"$PGQ" cancel "$e" >/dev/null
expect_exit 1 "a canceled job: exit 1" "$PGQ" wait "$e"
check_eq "canceled printed" "$OUT" "$e canceled"

# ---- a notification wakes it: measured from the moment the completing
# transaction's commit is acknowledged to the waiter printing the job, with
# a poll interval of an hour (so only the notification can explain it) ----
f=$("$PGQ" queue ep '{}')
ms=$(F=$f python3 - <<'PY'
import os, subprocess, time
f = os.environ["F"]
w = subprocess.Popen([os.environ["PGQ"], "wait", f, "--poll", "1h", "--timeout", "60s"],
                     stdout=subprocess.PIPE, text=True)
p = subprocess.Popen(["psql", "-XAt"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
def q(s):
    p.stdin.write(s + "\n"); p.stdin.flush(); return p.stdout.readline()
# the waiter has made its first look and sleeps on its socket
for _ in range(1000):
    if q("SELECT count(*) FROM pg_stat_activity WHERE state = 'idle' AND query LIKE '%%LATERAL%%';").strip() == "1":
        break
    time.sleep(0.01)
q("BEGIN;")
q("WITH d AS (DELETE FROM pgqueuer WHERE id = %s RETURNING id, priority, entrypoint) "
  "INSERT INTO pgqueuer_log (job_id, status, priority, entrypoint) "
  "SELECT id, 'successful', priority, entrypoint FROM d;" % f)
p.stdin.write("COMMIT;\nSELECT 1;\n"); p.stdin.flush()
p.stdout.readline()
t0 = time.monotonic()
line = w.stdout.readline()
t1 = time.monotonic()
p.stdin.close(); p.wait()
print(round((t1 - t0) * 1000) if line.strip() == f + " successful" and w.wait() == 0 else "failed: " + line)
PY
)
echo "# pgq wait printed the job ${ms} ms after the completion's commit was acknowledged (notified, poll 1h)"
check_match "notified wait returns within 2 s (measured ${ms} ms)" "$ms" '^([0-9]{1,3}|1[0-9]{3})$'

# ---- notifications lost: the trigger is off, polling still finds it ----
res=$(mktemp)
sql "ALTER TABLE pgqueuer DISABLE TRIGGER tg_pgqueuer_changed"
g=$("$PGQ" queue ep '{}')
( set +e; s=$(now); "$PGQ" wait "$g" --poll 1h --timeout 1500ms >/dev/null
  python3 -c "print(round(($(now) - $s) * 1000))" >"$res" ) &
w1=$!
( set +e; "$PGQ" wait "$g" --poll 100ms --timeout 60s >"$res.out"; echo "$?" >"$res.2" ) &
w2=$!
wait_sql "SELECT count(*) = 2 FROM pg_stat_activity WHERE state = 'idle'
          AND query LIKE '%LATERAL%' AND pid <> pg_backend_pid()" 10 || true
finish "$g" successful
wait "$w1" "$w2"
took=$(cat "$res")
check_match "no notification woke the 1h-poll waiter: it looked only at its 1.5 s deadline (took $took ms)" "$took" '^(1[4-9][0-9]{2}|[2-9][0-9]{3})$' 
check_eq "the 100ms-poll waiter still returns 0" "$(cat "$res.2")" 0
check_eq "and prints the job" "$(cat "$res.out")" "$g successful"
sql "ALTER TABLE pgqueuer ENABLE TRIGGER tg_pgqueuer_changed"
rm -f "$res" "$res.out" "$res.2"

# ---- a real worker finishing the jobs ----
h=$("$PGQ" queue work '{}'); i=$("$PGQ" queue work '{}')
( set +e; "$PGQ" wait "$h" "$i" --timeout 60s >"$T_OUT.w"; echo $? >"$T_OUT.rc" ) &
w3=$!
"$PGQ" run --exec work=true --mode drain >/dev/null 2>&1
wait "$w3"
check_eq "waiting on a worker's jobs: exit 0" "$(cat "$T_OUT.rc")" 0
check_eq "both printed" "$(sort "$T_OUT.w")" "$(printf '%s successful\n%s successful' "$h" "$i" | sort)"
rm -f "$T_OUT.w" "$T_OUT.rc"

done_testing
