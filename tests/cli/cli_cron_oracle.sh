# cli_cron_oracle.sh: pgq's cron expressions against croniter, the Python
# library PgQueuer's scheduler computes next_run with (Debian's
# python3-croniter): generated expressions (lists, ranges, steps, names, L,
# #N, six fields, aliases, odd case and spacing, invalid ones) and edge
# cases (Feb 29, month and year ends, never-firing dates) must be accepted
# or refused alike, normalise to the text PgQueuer stores, and give the
# same next 1,000 fire times. PGQ_CRON_ORACLE_COUNT sets how many
# generated expressions (default 300, about 20 s of croniter on one
# core; the figures for 3,000 are in docs/scheduler.md).
. "$(dirname "$0")/../lib.sh"
set -e
HELPER="$PGQ_BUILD/tests/cron_next"
PY=
for p in python3 /usr/bin/python3; do
    if command -v "$p" >/dev/null && "$p" -c 'import croniter' 2>/dev/null; then PY=$p; break; fi
done
if [ -z "$PY" ]; then
    echo "# SKIP: python3-croniter is not installed (apt-get install python3-croniter;"
    echo "# scripts/setup installs it)"
    t_result 0 "skipped: no croniter"
    done_testing
    exit 0
fi
run "$PY" "$(dirname "$0")/cron_oracle.py" "$HELPER" "${PGQ_CRON_ORACLE_COUNT:-300}"
printf '%s\n' "$OUT" | sed 's/^/# /'
check_eq "croniter agrees with pgq on every expression (exit 0)" "$RC" 0
check_match "the summary reports no mismatch" "$OUT" ", 0 mismatches$"
check_match "expressions that fire were compared" "$OUT" "[0-9]{3,} firing"
done_testing
