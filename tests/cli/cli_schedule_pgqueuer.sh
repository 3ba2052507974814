# cli_schedule_pgqueuer.sh: pgq's scheduler and the real PgQueuer 1.3.2's
# SchedulerManager registered for the same expression and entrypoint share
# one pgqueuer_schedules row and run each fire once between them. A pgq
# worker runs, PgQueuer joins, pgq stops and comes back; a test
# trigger (schedule_claims.sql) records every claim with the fire it took.
# Needs PgQueuer 1.3.2 and its environment maker at
# $PGQ_ROOT/../shared/thirdparty (or $PGQ_THIRDPARTY); skipped when absent.
. "$(dirname "$0")/../lib.sh"
set -e
TMP=$(mktemp -d)
chmod 755 "$TMP"
trap 'kill -9 $(jobs -p) 2>/dev/null || true; rm -rf "$TMP" "$T_OUT" "$T_ERR"' EXIT
HERE=$(cd "$(dirname "$0")" && pwd)
THIRD="${PGQ_THIRDPARTY:-${PGQ_ROOT:-$HERE/../..}/../shared/thirdparty}"
if [ ! -x "$THIRD/pgqueuer-env" ] || [ ! -f "$THIRD/pgqueuer-1.3.2.tar.gz" ]; then
    echo "# SKIP: PgQueuer 1.3.2 is not at $THIRD (pgqueuer-env and"
    echo "# pgqueuer-1.3.2.tar.gz); put them there to run this interoperability test"
    t_result 0 "skipped: no PgQueuer 1.3.2"
    done_testing
    exit 0
fi
PY=$("$THIRD/pgqueuer-env" "${PGQ_BUILD:-/tmp}/pgqueuer-env" 2>"$TMP/env.err") || {
    echo "# SKIP: pgqueuer-env could not make PgQueuer's environment:"
    sed 's/^/#   /' "$TMP/env.err"
    t_result 0 "skipped: PgQueuer's environment is unavailable"
    done_testing
    exit 0
}
stop() { kill -TERM "$@" 2>/dev/null || true; for p in "$@"; do wait "$p" 2>/dev/null || true; done; }
count() { sql "SELECT count(*) FROM claims WHERE $1"; }

expect_exit 0 "install" "$PGQ" install
psql -X -q -v ON_ERROR_STOP=1 -f "$HERE/schedule_claims.sql" >/dev/null
: >"$TMP/runs"
# Every two seconds, spelled oddly on purpose: both must store croniter's
# text, "* * * * * */2". Not every second: PgQueuer 1.3.2 computes the time to
# the next fire on its side and adds it to the server's now() truncated to
# the second, so a claim made a few milliseconds after a fire can set
# next_run back to the fire it claimed, which then runs twice (its 2.0
# release fixed every-second schedules). It wakes a second after a fire,
# which with every-second fires is right on the next one.
EXPR='*  * * * *  */2'

# pgq first; PgQueuer joins (it registers the same row, ON CONFLICT DO
# NOTHING); pgq stops so PgQueuer runs some fires alone; pgq comes back.
"$PGQ" run --log-level warn --exec "shared={ cat; echo; } >> $TMP/runs" \
    --schedule "shared=$EXPR" 2>>"$TMP/w.err" &
w=$!
wait_sql "SELECT count(*) >= 2 FROM claims WHERE app = 'pgq scheduler'" 30 || true
"$PY" "$HERE/pgqueuer_scheduler.py" "$EXPR" shared "$TMP/runs" 2>"$TMP/py.err" &
py=$!
wait_sql "SELECT count(*) > 0 FROM pg_stat_activity WHERE application_name = 'pgqueuer'" 60 || true
before=$(count "app = 'pgq scheduler'")
wait_sql "SELECT count(*) >= $before + 3 FROM claims WHERE app = 'pgq scheduler'" 30 || true
stop "$w"
wait_sql "SELECT count(*) >= 2 FROM claims WHERE app = 'pgqueuer'" 60 || true
check_eq "PgQueuer claims fires of the shared row" \
    "$([ "$(count "app = 'pgqueuer'")" -ge 2 ] && echo yes)" yes
"$PGQ" run --log-level warn --exec "shared={ cat; echo; } >> $TMP/runs" \
    --schedule "shared=$EXPR" 2>>"$TMP/w.err" &
w=$!
before=$(count "app = 'pgq scheduler'")
wait_sql "SELECT count(*) >= $before + 3 FROM claims WHERE app = 'pgq scheduler'" 30 || true
stop "$py" "$w"

check_eq "one row for the pair, with croniter's text" \
    "$(sql "SELECT count(*) || ' ' || min(expression) FROM pgqueuer_schedules")" "1 * * * * * */2"
check_eq "pgq claimed fires" "$([ "$(count "app = 'pgq scheduler'")" -ge 8 ] && echo yes)" yes
check_eq "pgq's claims always move next_run past the fire they take" \
    "$(count "app = 'pgq scheduler' AND next_run <= fire")" 0
# PgQueuer 1.3.2 adds a time-to-next-fire computed on its side to the
# server's now(): when the two are apart (a slow first statement), its
# claim sets next_run back to the fire it took, and that fire is due again.
# Only such fires may be claimed twice.
repeats=$(sql "SELECT count(*) FROM (SELECT fire FROM claims GROUP BY fire HAVING count(*) > 1) d
               WHERE NOT EXISTS (SELECT 1 FROM claims c WHERE c.app = 'pgqueuer'
                                 AND c.next_run = d.fire AND c.at >= d.fire)")
check_eq "each fire was claimed once between them (but PgQueuer's own repeats)" "$repeats" 0
echo "# $(count "app = 'pgqueuer' AND next_run <= fire") PgQueuer claim(s) set next_run back to their fire"
[ "$repeats" = 0 ] || sql "SELECT at, fire, next_run, app FROM claims ORDER BY at" | sed 's/^/#   /'
check_eq "no take-overs" "$(count "takeover")" 0
check_eq "one run per claim" "$(grep -c . "$TMP/runs")" "$(count "true")"
check_eq "PgQueuer ran its claims" "$(grep -c '"runner": "pgqueuer"' "$TMP/runs")" \
    "$(count "app = 'pgqueuer'")"
check_eq "no fire skipped while pgq ran (one claim per two seconds)" \
    "$(sql "SELECT extract(epoch FROM max(fire) - min(fire))::int / 2 + 1 = count(DISTINCT fire)
            FROM claims")" t
check_eq "PgQueuer logged no error" "$(grep -ci 'error\|traceback' "$TMP/py.err" || true)" 0
check_eq "pgq logged no error" "$(cat "$TMP/w.err")" ""
check_eq "the schedule is left queued" "$(sql "SELECT status FROM pgqueuer_schedules")" queued
done_testing
