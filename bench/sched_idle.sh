#!/usr/bin/env bash
# sched_idle.sh: the CPU a worker spends with 1,000 registered schedules of
# which none is due (docs/benchmarks.md, "Scheduler"). Starts two workers on
# the database the PG* variables name (installed): one with the schedules
# (1,000 distinct "M H 1 1 *" expressions: next due on January 1st) and one
# without, then reads both processes' CPU ticks (utime + stime, from
# /proc/PID/stat) over SECONDS (default 60).
# With DUE=1 one more schedule fires every second, so the first worker
# claims (one statement over its 1,001 schedules) and runs `true` each second.
# Usage: [DUE=1] bench/sched_idle.sh [SECONDS]    (PGQ: the pgq binary)
set -euo pipefail
PGQ=${PGQ:-build/cli/pgq}
secs=${1:-60}
args=()
n=0
for h in $(seq 0 23); do
    for m in $(seq 0 59); do
        [ $n -ge 1000 ] && break 2
        args+=(--schedule "yearly=$m $h 1 1 *")
        n=$((n + 1))
    done
done
[ "${DUE:-0}" = 1 ] && args+=(--schedule 'yearly=* * * * * *')
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
"$PGQ" run --log-level warn --exec yearly=true "${args[@]}" &
with=$!
"$PGQ" run --log-level warn --exec yearly=true &
without=$!
server() { psql -XAtc "SELECT pid FROM pg_stat_activity WHERE application_name = 'pgq scheduler'"; }
trap 'kill $with $without 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
    [ "$(psql -XAtc "SELECT count(*) FROM pgqueuer_schedules WHERE entrypoint = 'yearly'")" -ge 1000 ] && break
    sleep 0.1
done
sleep 2 # past start-up
spid=$(server)
a0=$(ticks $with) b0=$(ticks $without) s0=$(ticks "$spid")
sleep "$secs"
a1=$(ticks $with) b1=$(ticks $without) s1=$(ticks "$spid")
hz=$(getconf CLK_TCK)
echo "schedules registered: $(psql -XAtc "SELECT count(*) FROM pgqueuer_schedules")"
echo "worker with 1,000 schedules:  $((a1 - a0)) ticks (1/$hz s) in ${secs}s"
echo "worker without schedules:     $((b1 - b0)) ticks (1/$hz s) in ${secs}s"
echo "the scheduler's server process: $((s1 - s0)) ticks (1/$hz s) in ${secs}s"
