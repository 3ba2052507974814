# cli_run_crash.sh: the database server crashes (immediate shutdown: no
# checkpoint, nothing flushed that was not flushed already) under a running
# worker. The worker's claims commit asynchronously, so the crash may forget
# the last ones: those jobs are queued again after recovery and run again.
# Recorded outcomes commit synchronously and survive. Whatever the crash
# forgot, every job ends with exactly one terminal log row, the log agrees
# with the table (each pick follows its own `queued` row), and every job ran.
# The heartbeat timeout (20 s) is longer than the outage, so a pick without
# its `queued` row can only come from a job the worker dropped: after a
# forgotten claim the worker picks its own finished job again, and must run
# it (its first outcome resolved nothing) rather than leave it picked until
# a stale take-over. That needs the crash to forget a claim, which happens
# in about one run in ten here.
# The crash must find work left, however fast or slow the machine: the
# plug-in holds every 50th job (--block-every) until the test releases it,
# so once the worker's 16 tasks are all held nothing else can finish, and
# at most the ~800 jobs before them can be done at the crash. The rest are
# provably still queued; the held ones are running. The crash comes as
# soon as a tenth of the jobs are done (which the held ones cannot stop),
# often while claims are still in flight.
# PGQ_TEST_JOBS sets the number of jobs (default 3000; at least 1000).
. "$(dirname "$0")/../lib.sh"
set -e
TMP=$(mktemp -d)
chmod 755 "$TMP"
trap 'kill -9 $(jobs -p) 2>/dev/null || true; rm -rf "$TMP" "$T_OUT" "$T_ERR"' EXIT
PLUGIN="$PGQ_BUILD/examples/plugin_example.so"
: "${PGQ_TEST_CLUSTER:?the test cluster (set by tests/run)}"
N=${PGQ_TEST_JOBS:-3000}
[ "$N" -ge 1000 ] || { echo "not ok 1 - PGQ_TEST_JOBS must be at least 1000"; exit 1; }

# The server's process id, from postmaster.pid in the cluster's data folder
# (under cluster/ when the tests run as root: see `pgq local`).
postmaster_pid() {
    local f
    for f in "$PGQ_TEST_CLUSTER/cluster/data/postmaster.pid" "$PGQ_TEST_CLUSTER/data/postmaster.pid"; do
        [ -f "$f" ] && { head -1 "$f"; return; }
    done
    return 1
}

expect_exit 0 "install" "$PGQ" install
seq 1 "$N" | "$PGQ" queue ep_a --stdin >/dev/null
: >"$TMP/ran"

: >"$TMP/blocked"
"$PGQ" run --mode drain --log-level info --heartbeat-timeout 20s --threads 16 \
    "$PLUGIN" -- --entrypoints ep_a --record "$TMP/ran" --sleep-ms 2 \
    --block-every 50 --until "$TMP/go" --blocked "$TMP/blocked" 2>"$TMP/w.err" &
worker=$!
wait_sql "SELECT count(*) >= $N / 10 FROM pgqueuer_log WHERE status = 'successful'" 300
check_eq "jobs are still queued when the server crashes" \
    "$(sql "SELECT count(*) > 0 FROM pgqueuer WHERE status = 'queued'")" t
check_eq "held jobs are running when the server crashes" \
    "$(sql "SELECT count(*) > 0 FROM pgqueuer WHERE status = 'picked' AND id % 50 = 0")" t
echo "# crash with $(sql "SELECT count(*) FROM pgqueuer_log WHERE status = 'successful'") job(s) done, $(wc -l <"$TMP/blocked") held"

# SIGQUIT is PostgreSQL's immediate shutdown: every process exits at once,
# and the next start replays the WAL as after a crash.
pm=$(postmaster_pid)
kill -QUIT "$pm"
for _ in $(seq 1 100); do kill -0 "$pm" 2>/dev/null || break; sleep 0.1; done
check_eq "the server is gone" "$(kill -0 "$pm" 2>/dev/null && echo running || echo gone)" gone
# The held jobs finish while the server is down: their outcomes wait for
# the reconnect.
touch "$TMP/go"
"$PGQ" local start --dir "$PGQ_TEST_CLUSTER" --fast >/dev/null

rc=0
wait $worker || rc=$?
check_eq "the worker recovers and drains the queue (exit 0)" "$rc" 0
check_eq "it logged the reconnect" "$(grep -c 'reconnected to the database' "$TMP/w.err")" 1
check_eq "the queue is empty" "$(sql "SELECT count(*) FROM pgqueuer")" 0
check_eq "every job has exactly one terminal log row" \
    "$(sql "SELECT count(*) || '/' || count(DISTINCT job_id) FROM pgqueuer_log
            WHERE status IN ('successful','exception','failed','canceled','deleted')")" "$N/$N"
check_eq "each pick follows its own queued row (a forgotten claim left no log row)" \
    "$(sql "SELECT count(*) FROM (SELECT job_id FROM pgqueuer_log GROUP BY job_id
            HAVING count(*) FILTER (WHERE status = 'picked')
                <> count(*) FILTER (WHERE status = 'queued')) t")" 0
check_eq "every job ran" "$(sort -n "$TMP/ran" | uniq | wc -l | tr -d ' ')" "$N"
echo "# $(sort -n "$TMP/ran" | uniq -d | wc -l | tr -d ' ') job(s) ran twice across the crash"

done_testing
