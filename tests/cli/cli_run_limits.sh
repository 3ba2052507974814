# cli_run_limits.sh: --concurrency-limit and --rate hold across two worker
# processes, checked from the database: a sampler inside PostgreSQL counts
# the picked rows every few milliseconds, and the log's `picked` rows are
# counted per sliding second.
. "$(dirname "$0")/../lib.sh"
set -e
TMP=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$TMP" "$T_OUT" "$T_ERR"' EXIT

expect_exit 0 "install" "$PGQ" install

two_workers() { # ARGS...: two drains at once; sets RC1, RC2, SECS
    local start=$(date +%s.%N)
    "$PGQ" run --mode drain --log-level warn "$@" 2>"$TMP/w1.err" &
    local p1=$!
    "$PGQ" run --mode drain --log-level warn "$@" 2>"$TMP/w2.err" &
    local p2=$!
    RC1=0 RC2=0
    wait $p1 || RC1=$?
    wait $p2 || RC2=$?
    SECS=$(echo "$(date +%s.%N) - $start" | bc)
}

# ---- Concurrency limit --------------------------------------------------------------------
seq 1 24 | "$PGQ" queue lim --stdin >/dev/null
seq 1 24 | "$PGQ" queue free --stdin >/dev/null
# The sampler runs in one psql session until no `lim` job is left; each
# statement of the loop sees the latest commits.
psql -X -q -At -c "
  DO \$\$
  DECLARE m int := 0; c int; n int := 0;
  BEGIN
    LOOP
      SELECT count(*) FILTER (WHERE status = 'picked'), count(*) INTO c, n
        FROM pgqueuer WHERE entrypoint = 'lim';
      m := greatest(m, c);
      EXIT WHEN n = 0;
      PERFORM pg_sleep(0.002);
    END LOOP;
    RAISE NOTICE 'max picked %', m;
  END \$\$" 2>"$TMP/sampler" &
sampler=$!
two_workers --concurrency-limit lim=3 --exec "lim=sleep 0.2" --exec "free=sleep 0.2"
wait $sampler
check_eq "both workers exit 0" "$RC1,$RC2" "0,0"
max=$(sed -n 's/.*max picked \([0-9]*\).*/\1/p' "$TMP/sampler")
echo "# concurrency limit 3: at most $max running at once (24 jobs of 0.2 s in ${SECS}s)"
check_eq "at most 3 lim jobs ran at once, fleet-wide" "$([ -n "$max" ] && [ "$max" -le 3 ] && echo yes)" yes
check_eq "and the limit was used" "$max" 3
check_eq "every job done" "$(sql "SELECT count(*) FROM pgqueuer_log WHERE status = 'successful'")" 48
check_eq "the unlimited entrypoint was not held back" \
    "$(sql "SELECT max(c) > 3 FROM (SELECT count(*) OVER (ORDER BY created RANGE BETWEEN
            interval '150 ms' PRECEDING AND CURRENT ROW) c FROM pgqueuer_log
            WHERE entrypoint = 'free' AND status = 'picked') s")" t

# ---- Rate ------------------------------------------------------------------------------------
sql "TRUNCATE pgqueuer_log" >/dev/null
seq 1 20 | "$PGQ" queue rated --stdin >/dev/null
two_workers --rate rated=5 --exec "rated=true"
check_eq "both workers exit 0" "$RC1,$RC2" "0,0"
worst=$(sql "SELECT max(c) FROM (SELECT count(*) OVER (ORDER BY created RANGE BETWEEN
             interval '999 ms' PRECEDING AND CURRENT ROW) c FROM pgqueuer_log
             WHERE entrypoint = 'rated' AND status = 'picked') s")
echo "# rate 5/s: at most $worst picks in any second; 20 jobs in ${SECS}s"
check_eq "at most 5 picks in any second, fleet-wide" "$([ "$worst" -le 5 ] && echo yes)" yes
check_eq "20 jobs at 5/s take at least 3 s" "$(echo "$SECS >= 3" | bc)" 1
check_eq "and not much more" "$(echo "$SECS < 8" | bc)" 1
check_eq "every job done" \
    "$(sql "SELECT count(*) FROM pgqueuer_log WHERE status = 'successful' AND entrypoint = 'rated'")" 20
check_eq "no errors logged" "$(cat "$TMP/w1.err" "$TMP/w2.err")" ""

done_testing
