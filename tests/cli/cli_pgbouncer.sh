# cli_pgbouncer.sh: pgq behind PgBouncer. Workers connect through session
# pooling (LISTEN and their session settings need a server connection of
# their own); producers through transaction pooling, where each transaction
# may run on another server connection, so they send their statements
# unnamed (--no-prepare / PGQ_PREPARE=off). A PgBouncer of the test's own
# (config in a temp folder, unix socket only, auth_type trust) fronts the
# test cluster with three databases: `sess` (session pooling), `txn`
# (transaction pooling, 2 server connections for 8 concurrent producers)
# and `txn1` (transaction pooling, 1 server connection: there a second
# session deterministically finds the first one's prepared statement).
. "$(dirname "$0")/../lib.sh"
set -e
BOUNCER=$(command -v pgbouncer || { [ -x /usr/sbin/pgbouncer ] && echo /usr/sbin/pgbouncer; } || true)
if [ -z "$BOUNCER" ]; then
    echo "ok 1 # SKIP pgbouncer is not installed (Debian: apt-get install pgbouncer)"
    echo "1..1"
    exit 0
fi
TMP=$(mktemp -d /tmp/pgqpb.XXXXXX)
chmod 755 "$TMP"
trap 'kill -9 $(jobs -p) 2>/dev/null || true; rm -rf "$TMP" "$T_OUT" "$T_ERR"' EXIT
PRODUCERS=8
SINGLES=${PGQ_TEST_SINGLES:-15}
BULK=${PGQ_TEST_BULK:-100}
N=$((PRODUCERS * (SINGLES + BULK)))

# wait_for SECONDS COMMAND...: until COMMAND succeeds; false if it never did.
wait_for() {
    local end=$(( $(date +%s) + $1 ))
    shift
    until "$@"; do
        [ "$(date +%s)" -ge "$end" ] && return 1
        sleep 0.05
    done
}

user=${PGUSER:-postgres}
cat >"$TMP/pgbouncer.ini" <<EOF
[databases]
sess = host=$PGHOST port=$PGPORT dbname=$PGDATABASE pool_mode=session
txn = host=$PGHOST port=$PGPORT dbname=$PGDATABASE pool_mode=transaction pool_size=2
txn1 = host=$PGHOST port=$PGPORT dbname=$PGDATABASE pool_mode=transaction pool_size=1

[pgbouncer]
listen_addr =
listen_port = 6432
unix_socket_dir = $TMP
auth_type = trust
auth_file = $TMP/users.txt
pidfile = $TMP/pgbouncer.pid
logfile = $TMP/pgbouncer.log
pool_mode = session
default_pool_size = 20
max_client_conn = 200
EOF
echo "\"$user\" \"\"" >"$TMP/users.txt"
# PgBouncer refuses to run as root: then it runs as the server's user, who
# owns its folder.
if [ "$(id -u)" = 0 ]; then
    chown -R postgres: "$TMP"
    setpriv --reuid=postgres --regid=postgres --clear-groups "$BOUNCER" "$TMP/pgbouncer.ini" \
        >/dev/null 2>&1 &
else
    "$BOUNCER" "$TMP/pgbouncer.ini" >/dev/null 2>&1 &
fi
bouncer=$!
up() { psql -X -q -h "$TMP" -p 6432 -d sess -Atc "SELECT 1" >/dev/null 2>&1; }
wait_for 60 up || true
check_eq "pgbouncer is up" "$(psql -X -h "$TMP" -p 6432 -d sess -Atc "SELECT 1" 2>&1)" 1

SESS="host=$TMP port=6432 dbname=sess"
TXN="host=$TMP port=6432 dbname=txn"
TXN1="host=$TMP port=6432 dbname=txn1"
expect_exit 0 "install" "$PGQ" install

# Transaction pooling with prepared statements: the second session gets the
# server connection on which the first one prepared its enqueue.
expect_exit 0 "a first enqueue through transaction pooling" "$PGQ" --dsn "$TXN1" queue d one
expect_exit 1 "a second one, prepared, fails" "$PGQ" --dsn "$TXN1" queue d two
check_match "naming the pooler and the setting" "$ERR" \
    'transaction mode.*PGQ_PREPARE=off, pgq --no-prepare'
expect_exit 0 "with --no-prepare it works" "$PGQ" --dsn "$TXN1" --no-prepare queue d three
PGQ_PREPARE=off expect_exit 0 "with PGQ_PREPARE=off too" "$PGQ" --dsn "$TXN1" queue d four
PGQ_PREPARE=maybe expect_exit 2 "PGQ_PREPARE must be on or off" "$PGQ" --dsn "$TXN1" queue d five
check_eq "three jobs enqueued" "$(sql "SELECT count(*) FROM pgqueuer WHERE entrypoint = 'd'")" 3

# Two workers through session pooling. The idle re-poll is an hour away, so
# after their first job only notifications (LISTEN through the pooler) wake
# them.
: >"$TMP/ran"
for i in 1 2; do
    "$PGQ" --dsn "$SESS" run --dequeue-timeout 1h --batch-size 5 \
        --exec e='echo "$PGQ_JOB_ID" >>'"$TMP/ran" --exec d=true 2>"$TMP/w$i.err" &
    eval "worker$i=\$!"
done
wait_sql "SELECT count(*) = 0 FROM pgqueuer WHERE entrypoint = 'd'"
check_eq "the workers ran the first jobs" \
    "$(sql "SELECT count(*) FROM pgqueuer_log WHERE entrypoint = 'd' AND status = 'successful'")" 3
wait_sql "SELECT count(*) = 2 FROM pg_stat_activity WHERE query LIKE 'LISTEN %' AND datname = current_database()"
check_eq "both listen through the pooler" \
    "$(sql "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'LISTEN %' AND datname = current_database()")" 2

# Producers through transaction pooling, concurrently: each enqueues jobs one
# by one (a session, a connection each) and then a bulk of BULK jobs.
producer() {
    local p=$1 i
    for i in $(seq 1 "$SINGLES"); do
        "$PGQ" --dsn "$TXN" --no-prepare queue e "p$p-$i" >/dev/null || return 1
    done
    seq 1 "$BULK" | PGQ_PREPARE=off "$PGQ" --dsn "$TXN" queue e --stdin >/dev/null || return 1
}
pids=()
for p in $(seq 1 $PRODUCERS); do
    producer "$p" 2>"$TMP/p$p.err" &
    pids+=($!)
done
failed=0
for pid in "${pids[@]}"; do wait "$pid" || failed=$((failed + 1)); done
check_eq "every producer succeeded" "$failed" 0
[ "$failed" = 0 ] || cat "$TMP"/p*.err | head -20 | sed 's/^/#   /'
wait_sql "SELECT count(*) = $N FROM pgqueuer_log WHERE entrypoint = 'e' AND status = 'successful'" 120 || true
kill -TERM "$worker1" "$worker2"
rc1=0; rc2=0
wait "$worker1" || rc1=$?
wait "$worker2" || rc2=$?
check_eq "the workers stop cleanly (exit 0 0)" "$rc1 $rc2" "0 0"
check_eq "every job was enqueued and succeeded once" \
    "$(sql "SELECT count(*) || '/' || count(DISTINCT job_id) FROM pgqueuer_log
            WHERE entrypoint = 'e' AND status = 'successful'")" "$N/$N"
check_eq "nothing is left in the queue" "$(sql "SELECT count(*) FROM pgqueuer")" 0
check_eq "every job ran once" "$(sort -n "$TMP/ran" | uniq | wc -l) $(wc -l <"$TMP/ran")" "$N $N"

# The producers' sessions shared the pool's two server connections.
clients=$(grep -c 'login attempt: db=txn ' "$TMP/pgbouncer.log" || true)
servers=$(grep -c 'txn/[^ ]* new connection to server' "$TMP/pgbouncer.log" || true)
check_eq "$clients producer sessions ran on at most 2 server connections" \
    "$([ "$clients" -ge $((PRODUCERS * (SINGLES + 1))) ] && [ "$servers" -le 2 ] && echo yes)" yes
echo "# $N jobs from $clients producer sessions over $servers server connection(s)"
kill "$bouncer"
wait "$bouncer" 2>/dev/null || true

done_testing
