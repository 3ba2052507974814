# cli_failover.sh: the primary dies mid-drain and its streaming replica is
# promoted; workers connected with a multi-host DSN
# (host=A,B target_session_attrs=read-write) follow the new primary.
#
# Two private clusters of their own (initdb, pg_basebackup -R), unix sockets
# in two folders, synchronous replication (synchronous_standby_names = '*'),
# so every commit the workers or the producer saw acknowledged is on the
# replica. The jobs: N_FREE that run at once, then N_HOLD whose handler blocks
# on a lock the test holds, so at the crash the workers' threads all run held
# jobs and the rest are provably still queued. The test then stops the
# primary in immediate mode, waits until both workers have been turned away
# by the replica while it is still a standby, promotes it, waits until both
# workers are connected to it, and only then releases the handlers.
# Checked on the new primary: nothing queued or picked is left, every job
# has exactly one terminal log row, every job ran, and a job that ran twice
# was one the old primary had picked when it died (running, or prefetched:
# the claims of the worker commit asynchronously, so the last ones may not
# have reached the replica, and such a job is queued there again).
. "$(dirname "$0")/../lib.sh"
set -e
TMP=$(mktemp -d /tmp/pgqfo.XXXXXX)
echo "# $TMP"
chmod 755 "$TMP"
trap 'kill -9 $(jobs -p) 2>/dev/null || true; stop_all; [ -n "${KEEP:-}" ] || rm -rf "$TMP"; rm -f "$T_OUT" "$T_ERR"' EXIT
N_FREE=${PGQ_TEST_FREE:-60}
N_HOLD=${PGQ_TEST_HOLD:-140}
N=$((N_FREE + N_HOLD))
THREADS=4

BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
if [ -z "$BIN" ] || [ ! -x "$BIN/pg_basebackup" ]; then
    echo "ok 1 # SKIP no PostgreSQL server binaries under /usr/lib/postgresql"
    echo "1..1"
    exit 0
fi

# PostgreSQL refuses to run as root: as root, the clusters belong to the
# postgres user (as in `pgq local`).
as_server() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
stop_all() {
    for d in a b; do
        [ -f "$TMP/$d/data/postmaster.pid" ] &&
            as_server "$BIN/pg_ctl" -D "$TMP/$d/data" -m immediate stop >/dev/null 2>&1
    done
    return 0
}
on() { # on a|b SQL: runs SQL on cluster a or b
    PGHOST="$TMP/$1" PGPORT=5432 PGUSER=postgres PGDATABASE=postgres sql "$2"
}
wait_on() { # wait_on a|b SQL [SECONDS]
    PGHOST="$TMP/$1" PGPORT=5432 PGUSER=postgres PGDATABASE=postgres wait_sql "$2" "${3:-60}"
}
# wait_for SECONDS COMMAND...: until COMMAND succeeds; false if it never did.
wait_for() {
    local end=$(( $(date +%s) + $1 ))
    shift
    until "$@"; do
        [ "$(date +%s)" -ge "$end" ] && return 1
        sleep 0.05
    done
}

mkdir "$TMP/a" "$TMP/b"
[ "$(id -u)" = 0 ] && chown postgres: "$TMP/a" "$TMP/b"
as_server "$BIN/initdb" -D "$TMP/a/data" -A trust -U postgres --no-sync >/dev/null
cat >>"$TMP/a/data/postgresql.conf" <<EOF
listen_addresses = ''
unix_socket_directories = '$TMP/a'
port = 5432
fsync = off
shared_buffers = 32MB
max_connections = 40
synchronous_standby_names = '*'
log_min_messages = warning
EOF
as_server "$BIN/pg_ctl" -D "$TMP/a/data" -l "$TMP/a/log" -w start >/dev/null
as_server "$BIN/pg_basebackup" -h "$TMP/a" -p 5432 -U postgres -D "$TMP/b/data" -R \
    -X stream -c fast --no-sync
# The copy starts as a standby of a (primary_conninfo, standby.signal); once
# promoted it waits for no standby of its own.
cat >>"$TMP/b/data/postgresql.conf" <<EOF
unix_socket_directories = '$TMP/b'
synchronous_standby_names = ''
EOF
as_server "$BIN/pg_ctl" -D "$TMP/b/data" -l "$TMP/b/log" -w start >/dev/null
wait_on a "SELECT count(*) = 1 FROM pg_stat_replication WHERE sync_state = 'sync'"
check_eq "b streams from a synchronously" "$(on a "SELECT sync_state FROM pg_stat_replication")" sync
check_eq "b is a standby" "$(on b "SELECT pg_is_in_recovery()")" t

DSN_A="host=$TMP/a port=5432 user=postgres dbname=postgres"
DSN="host=$TMP/a,$TMP/b port=5432 user=postgres dbname=postgres target_session_attrs=read-write"
# The second worker and the producer name the standby first and leave
# target_session_attrs out: pgq asks for a writable server by default.
DSN2="host=$TMP/b,$TMP/a port=5432 user=postgres dbname=postgres"
expect_exit 0 "install on the primary" "$PGQ" --dsn "$DSN_A" install
{ yes free | head -n "$N_FREE"; yes hold | head -n "$N_HOLD"; } |
    "$PGQ" --dsn "$DSN2" queue f --stdin >/dev/null
check_eq "the jobs are queued" "$(on a "SELECT count(*) FROM pgqueuer")" "$N"

# The handler records each start and end; a `hold` job waits for a shared
# lock on the gate, which the test holds exclusively until it releases them.
cat >"$TMP/handler.sh" <<EOF
#!/bin/sh
payload=\$(cat)
echo "\$PGQ_JOB_ID" >>"$TMP/started"
[ "\$payload" = hold ] && flock -s "$TMP/gate" true
echo "\$PGQ_JOB_ID" >>"$TMP/ran"
EOF
chmod +x "$TMP/handler.sh"
: >"$TMP/started"
: >"$TMP/ran"
exec 9>"$TMP/gate"
flock -x 9

# Batch size 1 and 4 tasks: each worker holds at most 4 jobs (at most one
# more if it prefetched). The workers do not inherit the gate's descriptor.
for i in 1 2; do
    dsn=$DSN; [ $i = 2 ] && dsn=$DSN2
    "$PGQ" --dsn "$dsn" run --mode drain --log-level debug --batch-size 1 \
        --max-concurrent-tasks $THREADS --exec f="$TMP/handler.sh" \
        2>"$TMP/w$i.err" 9>&- &
    eval "worker$i=\$!"
done
held_running() { [ "$(awk -v f="$N_FREE" '$1 > f' "$TMP/started" | wc -l)" -ge $((2 * THREADS)) ]; }
wait_on a "SELECT count(*) = $N_FREE FROM pgqueuer_log WHERE status = 'successful'"
wait_for 60 held_running
check_eq "every free job ran on the primary" "$(sort -un "$TMP/ran" | wc -l)" "$N_FREE"
check_eq "every handler thread runs a held job" \
    "$(awk -v f="$N_FREE" '$1 > f' "$TMP/started" | wc -l)" $((2 * THREADS))
check_eq "jobs are still queued when the primary dies" \
    "$(on a "SELECT count(*) > 0 FROM pgqueuer WHERE status = 'queued'")" t

# The jobs picked at the switch: only these may run twice.
on a "SELECT id FROM pgqueuer WHERE status = 'picked' ORDER BY id" >"$TMP/picked"
as_server "$BIN/pg_ctl" -D "$TMP/a/data" -m immediate stop >/dev/null
turned_away() { grep -q 'reconnect attempt .*read-only' "$TMP/w1.err" &&
                grep -q 'reconnect attempt .*read-only' "$TMP/w2.err"; }
wait_for 60 turned_away || true
check_eq "both workers lost a and were turned away by the standby b" \
    "$(cat "$TMP/w1.err" "$TMP/w2.err" | grep -c 'reconnect attempt 1: .*read-only')" 2

t0=$(date +%s.%N)
as_server "$BIN/pg_ctl" -D "$TMP/b/data" -w promote >/dev/null
followed() { [ "$(grep -c 'reconnected to the database' "$TMP/w1.err" "$TMP/w2.err" |
                  awk -F: '{ s += ($2 > 0) } END { print s }')" = 2 ]; }
wait_for 60 followed || true
t1=$(date +%s.%N)
check_eq "both workers reconnected (to b, the only primary)" \
    "$(on b "SELECT count(DISTINCT application_name) || '/' || count(*) FROM pg_stat_activity
             WHERE application_name = 'pgq worker'")" "1/4"
echo "# promotion to both workers connected: $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') s;" \
     "$(grep -ho 'reconnected to the database after [0-9.]*s' "$TMP/w1.err" "$TMP/w2.err" |
        sed 's/.*after //' | tr '\n' ' ')(outage seen by each worker)"

flock -u 9
rc1=0; rc2=0
wait "$worker1" || rc1=$?
wait "$worker2" || rc2=$?
check_eq "both workers drain the queue on b (exit 0 0)" "$rc1 $rc2" "0 0"
check_eq "nothing is left in the queue" "$(on b "SELECT count(*) FROM pgqueuer")" 0
check_eq "every job has exactly one terminal log row" \
    "$(on b "SELECT count(*) || '/' || count(DISTINCT job_id) FROM pgqueuer_log
             WHERE status IN ('successful','exception','failed','canceled','deleted')")" "$N/$N"
check_eq "every job ran" "$(sort -un "$TMP/ran" | wc -l)" "$N"
sort -n "$TMP/ran" | uniq -d >"$TMP/twice"
check_eq "only jobs picked at the switch ran twice" \
    "$(comm -23 "$TMP/twice" "$TMP/picked" | tr '\n' ' ')" ""
echo "# $N jobs, $(wc -l <"$TMP/picked") picked at the switch, $(wc -l <"$TMP/twice") ran twice"

# A server that turns read-only under a worker connected with
# target_session_attrs=any (a fenced old primary, or a standby reached by
# mistake): the claims fail with SQLSTATE 25006, and retrying them on the
# same session would fail forever; the worker reconnects instead, and once
# new sessions may write again it drains. On the harness's own cluster:
# database-level settings reach only new sessions.
expect_exit 0 "install on the test cluster" "$PGQ" install
seq 1 5 | "$PGQ" queue ro --stdin >/dev/null
sql "ALTER DATABASE \"$PGDATABASE\" SET default_transaction_read_only = on"
: >"$TMP/ran3"
"$PGQ" --dsn "dbname=$PGDATABASE target_session_attrs=any" run --mode drain \
    --exec ro='echo "$PGQ_JOB_ID" >>'"$TMP/ran3" 2>"$TMP/w3.err" 9>&- &
worker3=$!
read_only_seen() { grep -q 'read-only transaction; reconnecting' "$TMP/w3.err"; }
wait_for 60 read_only_seen || true
check_eq "the worker reconnects when its server is read-only" \
    "$(grep -c 'read-only transaction; reconnecting' "$TMP/w3.err" | awk '{ print ($1 > 0) }')" 1
PGOPTIONS="-c default_transaction_read_only=off" \
    sql "ALTER DATABASE \"$PGDATABASE\" RESET default_transaction_read_only"
wait_sql "SELECT count(*) = 0 FROM pgqueuer" 60 || kill "$worker3" 2>/dev/null || true
rc3=0
wait "$worker3" || rc3=$?
check_eq "then drains the queue (exit 0)" "$rc3" 0
check_eq "every job ran once" "$(sort -n "$TMP/ran3" | tr '\n' ' ')" "1 2 3 4 5 "

done_testing
