# cli_schedule.sh: cron schedules in workers (pgq run --schedule) and
# `pgq schedules`, black box against a real PostgreSQL: bad input refused at
# start (exit 2, one line naming the field, nothing written); three workers
# with one every-second schedule run each fire exactly once and skip none; a
# worker down across three fires runs one catch-up run; a runner killed
# mid-run is taken over by another after the heartbeat timeout; enqueue
# mode; listing (table, --json with PgQueuer's field names, [] when empty)
# and --remove. Claims are counted by fire time with a test trigger
# (schedule_claims.sql) that records every claim of a schedule row.
. "$(dirname "$0")/../lib.sh"
set -e
TMP=$(mktemp -d)
chmod 755 "$TMP"
cleanup() {
    kill -9 $(jobs -p) 2>/dev/null || true
    # The slow commands of a SIGKILLed worker outlive it: end their groups.
    [ -f "$TMP/pgids" ] && while read -r g; do kill -9 -- "-$g" 2>/dev/null || true; done <"$TMP/pgids"
    rm -rf "$TMP" "$T_OUT" "$T_ERR"
}
trap cleanup EXIT
HERE=$(cd "$(dirname "$0")" && pwd)
max_width() { printf '%s\n' "$1" | awk '{ if (length($0) > m) m = length($0) } END { print m + 0 }'; }
lines() { printf '%s\n' "$1" | grep -c . || true; }
worker() { exec "$PGQ" run --log-level warn --heartbeat-timeout 3s --shutdown-grace 2s "$@"; }
stop() { kill -TERM "$@" 2>/dev/null || true; for p in "$@"; do wait "$p" 2>/dev/null || true; done; }
# Fire times (epoch seconds) of the claims of an entrypoint, in order.
claim_count() { sql "SELECT count(*) FROM claims WHERE entrypoint = '$1'"; }

expect_exit 0 "install" "$PGQ" install
psql -X -q -v ON_ERROR_STOP=1 -f "$HERE/schedule_claims.sql" >/dev/null

# ---- Help ----------------------------------------------------------------------------
expect_exit 0 "schedules --help exits 0" "$PGQ" schedules --help
check_match "schedules --help shows usage" "$OUT" "^Usage: pgq schedules"
check_eq "schedules --help fits 80 columns" "$([ "$(max_width "$OUT")" -le 80 ] && echo yes)" yes
for opt in --json --remove --next --count; do
    check_match "schedules --help documents $opt" "$OUT" -- "$opt"
done
run "$PGQ" run --help
check_match "run --help documents --schedule" "$OUT" "--schedule EP=CRON"
check_match "run --help documents --schedule-enqueue" "$OUT" "--schedule-enqueue EP=CRON"
run "$PGQ" --help
check_match "pgq --help lists schedules" "$OUT" "^  schedules "

# ---- Bad input: exit 2 at start, one line naming the field, nothing written -----------
bad() { # "what" "field regex" ARGS...
    local what=$1 want=$2
    shift 2
    expect_exit 2 "$what: exit 2" "$PGQ" run --exec tick=true "$@"
    check_match "$what: names the problem" "$(printf '%s\n' "$ERR" | head -1)" "^pgq run: .*$want"
    check_eq "$what: nothing on stdout" "$OUT" ""
}
bad "minute out of range" "minute field '61'" --schedule 'tick=61 * * * *'
bad "bad hour step" "hour field '\*/x'" --schedule 'tick=0 */x * * *'
bad "unknown month name" "month field 'foo'" --schedule 'tick=0 0 1 foo *'
bad "weekday #6" "day-of-week field 'mon#6'" --schedule 'tick=0 0 * * mon#6'
bad "mixed weekday forms" "day-of-week field 'mon#2,fri'" --schedule 'tick=0 0 * * mon#2,fri'
bad "seconds out of range" "second field '60'" --schedule 'tick=* * * * * 60'
bad "four fields" "has 4 fields" --schedule 'tick=* * * *'
bad "seven fields" "has 7 fields" --schedule 'tick=* * * * * * *'
bad "random R" "minute field 'r'" --schedule 'tick=R * * * *'
bad "never fires (Feb 31)" "'0 0 31 2 \*' never fires" --schedule 'tick=0 0 31 2 *'
bad "never fires (Apr 31)" "never fires" --schedule-enqueue 'tick=0 0 31 4 *'
bad "unknown entrypoint" "no handler is registered for entrypoint 'nope'" --schedule 'nope=* * * * *'
bad "no expression" "expected ENTRYPOINT=CRON" --schedule 'tick'
bad "same schedule twice" "already scheduled" --schedule 'tick=@hourly' --schedule 'tick=0 * * * *'
check_eq "nothing was written to pgqueuer_schedules" "$(sql "SELECT count(*) FROM pgqueuer_schedules")" 0
expect_exit 0 "schedules --json with none" "$PGQ" schedules --json
check_eq "schedules --json with none prints []" "$OUT" "[]"
expect_exit 0 "schedules with none" "$PGQ" schedules
check_eq "schedules with none says so" "$OUT" "no schedules"
expect_exit 2 "schedules --next with a bad expression" "$PGQ" schedules --next '0 0 * * 8'
check_match "schedules --next names the field" "$ERR" "day-of-week field '8'"
expect_exit 2 "schedules --next never firing" "$PGQ" schedules --next '0 0 30 2 *'
expect_exit 2 "schedules --count 0" "$PGQ" schedules --next '@daily' --count 0
expect_exit 2 "schedules --remove ''" "$PGQ" schedules --remove ''
expect_exit 0 "schedules --next @daily" "$PGQ" schedules --next '@DAILY' --count 2
check_eq "--next prints the stored text and two fires" "$(lines "$OUT")" 3
check_eq "--next normalises like croniter" "$(printf '%s\n' "$OUT" | head -1)" "expression: 0 0 * * *"
check_match "--next fires at midnight UTC" "$(printf '%s\n' "$OUT" | sed -n 2p)" "T00:00:00"

# ---- Three workers, one every-second schedule: each fire exactly once -------------------
: >"$TMP/ticks"
tick="tick={ cat; echo; } >> $TMP/ticks"
pids=()
for _ in 1 2 3; do
    worker --exec "$tick" --schedule 'tick=* * * * * *' 2>>"$TMP/w.err" &
    pids+=($!)
done
wait_sql "SELECT count(*) >= 12 FROM claims WHERE entrypoint = 'tick'" 60 || true
stop "${pids[@]}"
n=$(claim_count tick)
check_eq "three workers: at least 12 fires claimed" "$([ "$n" -ge 12 ] && echo yes)" yes
check_eq "three workers: each fire claimed once" \
    "$(sql "SELECT count(*) = count(DISTINCT fire) FROM claims WHERE entrypoint = 'tick'")" t
check_eq "three workers: no fire skipped (consecutive seconds)" \
    "$(sql "SELECT extract(epoch FROM max(fire) - min(fire))::int + 1 = count(*)
            FROM claims WHERE entrypoint = 'tick'")" t
check_eq "three workers: no take-over" \
    "$(sql "SELECT count(*) FROM claims WHERE entrypoint = 'tick' AND takeover")" 0
fires=$(grep -o '"fire_time": "[^"]*"' "$TMP/ticks" | sort)
check_eq "three workers: one run per claim" "$(lines "$fires")" "$n"
check_eq "three workers: each fire_time ran once" "$(printf '%s\n' "$fires" | uniq -d)" ""
check_eq "three workers: next_run is the next fire after the last claimed" \
    "$(sql "SELECT s.next_run = (SELECT max(next_run) FROM claims WHERE entrypoint = 'tick')
            FROM pgqueuer_schedules s WHERE entrypoint = 'tick'")" t
check_eq "three workers: left queued with a last run" \
    "$(sql "SELECT status || ',' || (last_run IS NOT NULL) FROM pgqueuer_schedules
            WHERE entrypoint = 'tick'")" "queued,true"
check_eq "three workers: no errors logged" "$(cat "$TMP/w.err")" ""

# ---- A worker down across three fires runs one catch-up run -----------------------------
: >"$TMP/catch"
catch="catch={ cat; echo; } >> $TMP/catch"
worker --exec "$catch" --schedule 'catch=* * * * * *' 2>>"$TMP/w.err" &
w=$!
wait_sql "SELECT count(*) >= 2 FROM claims WHERE entrypoint = 'catch'" 30 || true
stop $w
down=$(sql "SELECT extract(epoch FROM next_run)::bigint FROM pgqueuer_schedules WHERE entrypoint = 'catch'")
wait_sql "SELECT now() >= to_timestamp($down + 3) FROM pgqueuer_schedules LIMIT 1" 30
worker --exec "$catch" --schedule 'catch=* * * * * *' 2>>"$TMP/w.err" &
w=$!
wait_sql "SELECT count(*) >= 2 FROM claims WHERE entrypoint = 'catch' AND fire >= to_timestamp($down)" 30 || true
stop $w
check_eq "catch-up: the missed fires ran once, as one run" \
    "$(sql "SELECT count(*) FROM claims WHERE entrypoint = 'catch'
            AND fire >= to_timestamp($down) AND fire < to_timestamp($down + 3)")" 1
check_eq "catch-up: that run's fire time is the first missed fire" \
    "$(grep -c "\"fire_time\": \"$(date -u -d "@$down" +%Y-%m-%dT%H:%M:%SZ)\"" "$TMP/catch")" 1
check_eq "catch-up: then back on time (the next claim is a later fire)" \
    "$(sql "SELECT count(*) >= 1 FROM claims WHERE entrypoint = 'catch' AND fire >= to_timestamp($down + 3)")" t

# ---- A runner killed mid-run: another takes over after the heartbeat timeout ------------
: >"$TMP/slow"
slow="slow={ cat; echo \" runner=\$PPID\"; } >> $TMP/slow; echo \$\$ >> $TMP/pgids; sleep 60"
worker --exec "$slow" --schedule 'slow=* * * * * *' 2>>"$TMP/w.err" &
a=$!
worker --exec "$slow" --schedule 'slow=* * * * * *' 2>>"$TMP/w.err" &
b=$!
for _ in $(seq 1 300); do [ -s "$TMP/slow" ] && break; sleep 0.1; done
first=$(sed -n 's/.*runner=\([0-9]*\).*/\1/p' "$TMP/slow" | head -1)
check_match "take-over: one worker runs the slow schedule" "$first" "^($a|$b)$"
killed_at=$(sql "SELECT extract(epoch FROM now())")
kill -9 "$first"
for _ in $(seq 1 300); do [ "$(lines "$(cat "$TMP/slow")")" -ge 2 ] && break; sleep 0.1; done
second=$(sed -n 's/.*runner=\([0-9]*\).*/\1/p' "$TMP/slow" | sed -n 2p)
other=$([ "$first" = "$a" ] && echo "$b" || echo "$a")
check_eq "take-over: the other worker runs it next" "$second" "$other"
check_match "take-over: its payload says so" "$(sed -n 2p "$TMP/slow")" '"takeover": true'
check_eq "take-over: two claims, the second a take-over" \
    "$(sql "SELECT string_agg(takeover::text, ',' ORDER BY at) FROM claims WHERE entrypoint = 'slow'")" \
    "false,true"
check_eq "take-over: not before the heartbeat timeout (3 s) went by" \
    "$(sql "SELECT extract(epoch FROM at) >= $killed_at + 2 FROM claims
            WHERE entrypoint = 'slow' AND takeover")" t
stop "$other"
check_eq "take-over: the survivor stopped and released it" \
    "$(sql "SELECT status FROM pgqueuer_schedules WHERE entrypoint = 'slow'")" queued

# ---- Enqueue mode ------------------------------------------------------------------------
worker --exec other=true --schedule-enqueue 'made=* * * * * *' 2>>"$TMP/w.err" &
w=$!
wait_sql "SELECT count(*) >= 3 FROM pgqueuer WHERE entrypoint = 'made'" 30 || true
stop $w
check_eq "enqueue: one queued job per claimed fire" \
    "$(sql "SELECT (SELECT count(*) FROM pgqueuer WHERE entrypoint = 'made') =
                   (SELECT count(*) FROM claims WHERE entrypoint = 'made')")" t
check_eq "enqueue: each job carries a distinct fire time" \
    "$(sql "SELECT count(DISTINCT convert_from(payload, 'UTF8')::json->>'fire_time') = count(*)
            AND count(*) >= 3 FROM pgqueuer WHERE entrypoint = 'made'")" t
check_eq "enqueue: with a queued log row each" \
    "$(sql "SELECT count(*) >= 3 FROM pgqueuer_log WHERE entrypoint = 'made' AND status = 'queued'")" t

# ---- Listing and removal -------------------------------------------------------------------
expect_exit 0 "schedules lists" "$PGQ" schedules
check_eq "schedules: a header and four rows" "$(lines "$OUT")" 5
check_match "schedules: columns" "$(printf '%s\n' "$OUT" | head -1)" \
    "ID +EXPRESSION +ENTRYPOINT +STATUS +NEXT RUN \(UTC\) +LAST RUN \(UTC\)"
check_match "schedules: the tick row" "$OUT" "\* \* \* \* \* \* +tick +queued"
expect_exit 0 "schedules --json" "$PGQ" schedules --json
check_eq "schedules --json: PgQueuer's field names" \
    "$(printf '%s\n' "$OUT" | python3 -c 'import json, sys; print(",".join(json.load(sys.stdin)[0]))')" \
    "id,expression,heartbeat,created,updated,next_run,last_run,status,entrypoint"
check_eq "schedules --json: four schedules" \
    "$(printf '%s\n' "$OUT" | python3 -c 'import json, sys; print(len(json.load(sys.stdin)))')" 4
tick_id=$(sql "SELECT id FROM pgqueuer_schedules WHERE entrypoint = 'tick'")
expect_exit 0 "schedules --remove ID" "$PGQ" schedules --remove "$tick_id"
check_eq "schedules --remove ID says so" "$OUT" "removed 1 schedule(s)"
expect_exit 0 "schedules -r ENTRYPOINT" "$PGQ" schedules -r catch -r slow
check_eq "schedules -r ENTRYPOINT removes both" "$OUT" "removed 2 schedule(s)"
expect_exit 1 "schedules --remove of nothing" "$PGQ" schedules --remove nosuch
check_eq "one schedule is left" "$(sql "SELECT entrypoint FROM pgqueuer_schedules")" made

done_testing
