# cli_run_ranges.sh: the worker's option ranges (exit 2 naming the option,
# before connecting: nothing claimed), --max-concurrent-tasks as a hard cap
# on the jobs a worker holds (sampled from the database while it drains),
# --threads, and durations that are decimal only.
. "$(dirname "$0")/../lib.sh"
set -e
TMP=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$TMP" "$T_OUT" "$T_ERR"' EXIT

expect_exit 0 "install" "$PGQ" install
"$PGQ" queue a x >/dev/null

bad() { # "what" OPTION ARGS...: exit 2, one line naming OPTION, nothing claimed
    local what=$1 opt=$2
    shift 2
    expect_exit 2 "$what: exit 2" "$PGQ" run --mode drain "$@"
    check_match "$what: names $opt" "$(printf '%s\n' "$ERR" | head -1)" "^pgq run: $opt"
}

# ---- Item 6: heartbeats the worker cannot honour ----------------------------------------------
bad "--heartbeat-timeout 20ms" --heartbeat-timeout --exec a=true --heartbeat-timeout 20ms
bad "--heartbeat-timeout 1ms" --heartbeat-timeout --exec a=true --heartbeat-timeout 1ms
bad "--heartbeat-timeout 0.5" --heartbeat-timeout --exec a=true --heartbeat-timeout 0.5
check_match "and the range is given" "$ERR" "1s to below"
bad "--retry-timer a=500ms" --retry-timer --exec a=true --retry-timer a=500ms

# ---- Item 7: values PostgreSQL cannot represent, or the library would refuse ----------------------
bad "--retry-timer a=3000000d" --retry-timer --exec a=true --retry-timer a=3000000d
bad "--rate a=1e-13" --rate --exec a=true --rate a=1e-13
bad "--rate a=0.0000000001" --rate --exec a=true --rate a=0.0000000001
bad "--rate a=0x10" --rate --exec a=true --rate a=0x10
bad "--rate a=inf" --rate --exec a=true --rate a=inf
for v in 2000000000 999999999999; do # between the library's 1e9 and the parser's 1e12
    bad "--heartbeat-timeout $v" --heartbeat-timeout --exec a=true --heartbeat-timeout $v
    bad "--dequeue-timeout $v" --dequeue-timeout --exec a=true --dequeue-timeout $v
    bad "--shutdown-grace $v" --shutdown-grace --exec a=true --shutdown-grace $v
    bad "--exec-timeout $v" --exec-timeout --exec a=true --exec-timeout $v
    bad "--backoff $v" --backoff --exec a=true --max-attempts a=2 --backoff 1s,$v
done
bad "--backoff 10m (above the default max)" --backoff --exec a=true --max-attempts a=2 --backoff 10m
check_match "and says how to raise MAX" "$ERR" "INITIAL,MAX"
bad "--dequeue-timeout 0x10" --dequeue-timeout --exec a=true --dequeue-timeout 0x10
bad "--heartbeat-timeout 1e3" --heartbeat-timeout --exec a=true --heartbeat-timeout 1e3
bad "--shutdown-grace 0x10s" --shutdown-grace --exec a=true --shutdown-grace 0x10s

# ---- Issue 12: the cap ------------------------------------------------------------------------------
bad "--max-concurrent-tasks 2 --batch-size 5" --max-concurrent-tasks --exec a=true \
    --max-concurrent-tasks 2 --batch-size 5
check_match "and says twice the batch" "$ERR" "twice the batch size \(2 x 5 = 10\)"
bad "--max-concurrent-tasks below 2 x the default batch" --max-concurrent-tasks --exec a=true \
    --max-concurrent-tasks 19
bad "--max-concurrent-tasks negative" --max-concurrent-tasks --exec a=true --max-concurrent-tasks -1
bad "--threads 0" --threads --exec a=true --threads 0
bad "--threads 4097" --threads --exec a=true --threads 4097
check_eq "nothing was claimed" "$(sql "SELECT count(*) FROM pgqueuer_log WHERE status <> 'queued'")" 0

expect_exit 0 "run --help" "$PGQ" run --help
check_match "help documents --threads" "$OUT" "^ +--threads N"
check_match "help says the cap's default" "$OUT" "max\(100, 2 x batch size\)"
check_match "help gives the heartbeat minimum" "$OUT" "least 1s"

# The cap holds while a worker drains: a sampler inside PostgreSQL counts the
# picked rows every few milliseconds until the queue is empty.
sample_picked() { # OUTFILE: starts the sampler in the background; sets SAMPLER
    psql -X -q -At -c "
      DO \$\$
      DECLARE m int := 0; c int; n int := 0;
      BEGIN
        LOOP
          SELECT count(*) FILTER (WHERE status = 'picked'), count(*) INTO c, n FROM pgqueuer;
          m := greatest(m, c);
          EXIT WHEN n = 0;
          PERFORM pg_sleep(0.002);
        END LOOP;
        RAISE NOTICE 'max picked %', m;
      END \$\$" 2>"$1" &
    SAMPLER=$!
}
sql "DELETE FROM pgqueuer" >/dev/null
seq 1 200 | "$PGQ" queue capped --stdin >/dev/null
sample_picked "$TMP/s1"
expect_exit 0 "a drain with --max-concurrent-tasks 10 --batch-size 5 --threads 10" \
    "$PGQ" run --mode drain --log-level warn --max-concurrent-tasks 10 --batch-size 5 \
    --threads 10 --exec "capped=sleep 0.01"
wait $SAMPLER
max=$(sed -n 's/.*max picked \([0-9]*\).*/\1/p' "$TMP/s1")
echo "# cap 10, batch 5, 10 threads: at most $max picked at once"
check_eq "never more than 10 picked" "$([ -n "$max" ] && [ "$max" -le 10 ] && echo yes)" yes
check_eq "and the cap was reached" "$max" 10
check_eq "every job ran once" \
    "$(sql "SELECT count(*) FILTER (WHERE status = 'successful') || ',' || count(*) FILTER (WHERE status = 'picked') FROM pgqueuer_log")" \
    "200,200"

# The default cap (100 with batch 10) also bounds prefetch with many threads.
sql "TRUNCATE pgqueuer_log" >/dev/null
seq 1 600 | "$PGQ" queue capped --stdin >/dev/null
sample_picked "$TMP/s2"
expect_exit 0 "a drain with 200 threads and the default cap" \
    "$PGQ" run --mode drain --log-level warn --batch-size 50 --threads 200 --exec "capped=sleep 0.05"
wait $SAMPLER
max=$(sed -n 's/.*max picked \([0-9]*\).*/\1/p' "$TMP/s2")
echo "# default cap (max(100, 2 x 50) = 100), 200 threads: at most $max picked at once"
check_eq "never more than 100 picked" "$([ -n "$max" ] && [ "$max" -le 100 ] && echo yes)" yes

# 0: no cap (PgQueuer's spelling); prefetch is then bounded by threads + batch.
sql "TRUNCATE pgqueuer_log" >/dev/null
seq 1 50 | "$PGQ" queue capped --stdin >/dev/null
expect_exit 0 "--max-concurrent-tasks 0 runs without a cap" \
    "$PGQ" run --mode drain --log-level warn --max-concurrent-tasks 0 --exec "capped=true"
check_eq "every job ran" "$(sql "SELECT count(*) FROM pgqueuer_log WHERE status = 'successful'")" 50

# ---- dashboard ------------------------------------------------------------------------------------
expect_exit 2 "dashboard -i 1ms is refused" "$PGQ" dashboard -i 1ms
check_match "and names -i" "$ERR" "^pgq dashboard: -i"
expect_exit 2 "dashboard --window 999999999999 exits 2" "$PGQ" dashboard --window 999999999999
check_match "and names --window" "$ERR" "^pgq dashboard: --window"
expect_exit 2 "dashboard -i 0x10 is refused" "$PGQ" dashboard -i 0x10

done_testing
