# cli_run_orphans.sh: the --exec commands of a SIGKILLed worker do not
# outlive it: their whole process group (a background child included) gets
# SIGTERM at once, then SIGKILL after a grace. A command that exits by
# itself reports its status as before.
. "$(dirname "$0")/../lib.sh"
set -e
TMP=$(mktemp -d)
GROUPS_=""
trap 'for g in $GROUPS_; do kill -KILL -- "-$g" 2>/dev/null || true; done; kill -KILL $(jobs -p) 2>/dev/null || true; rm -rf "$TMP" "$T_OUT" "$T_ERR"' EXIT

# A process that has exited, or is a zombie nobody reaped yet, is gone.
alive() { [ -e "/proc/$1" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }
wait_file() { for _ in $(seq 1 400); do [ -s "$1" ] && return 0; sleep 0.05; done; return 1; }

expect_exit 0 "install" "$PGQ" install
"$PGQ" queue sl >/dev/null
"$PGQ" queue ign >/dev/null

# sl: a shell that waits for a background sleep; ign: a command that
# ignores SIGTERM (it must get SIGKILL after the grace).
"$PGQ" run --log-level warn \
    --exec "sl=sleep 300 & echo \$! >\"$TMP/bg.pid\"; echo \$\$ >\"$TMP/sh.pid\"; wait" \
    --exec "ign=trap '' TERM; echo \$\$ >\"$TMP/ign.pid\"; sleep 300 & wait; sleep 300" \
    2>"$TMP/w.err" &
w=$!
check_eq "the commands started" "$(wait_file "$TMP/bg.pid" && wait_file "$TMP/sh.pid" && wait_file "$TMP/ign.pid" && echo yes)" yes
bg=$(cat "$TMP/bg.pid") sh=$(cat "$TMP/sh.pid") ign=$(cat "$TMP/ign.pid")
GROUPS_="$(ps -o pgid= -p "$bg" -p "$ign" | tr -d ' ' | sort -u | tr '\n' ' ')" # for the clean-up
check_eq "they run" "$(alive "$bg" && alive "$sh" && alive "$ign" && echo yes)" yes
kill -KILL $w
wait $w 2>/dev/null || true
gone() { # PID SECONDS
    local end=$(( $(date +%s) + $2 ))
    while alive "$1"; do [ "$(date +%s)" -ge "$end" ] && return 1; sleep 0.05; done
}
check_eq "the background sleep is stopped with its worker" "$(gone "$bg" 10 && echo yes)" yes
check_eq "and its shell" "$(gone "$sh" 10 && echo yes)" yes
check_eq "a command ignoring SIGTERM is killed after the grace" "$(gone "$ign" 20 && echo yes)" yes

# Exit statuses and signals still come through the guard.
sql "DELETE FROM pgqueuer; TRUNCATE pgqueuer_log" >/dev/null
"$PGQ" queue code >/dev/null
"$PGQ" queue sig >/dev/null
"$PGQ" queue ok >/dev/null
expect_exit 0 "a drain" "$PGQ" run --mode drain --log-level error \
    --exec "code=echo oops >&2; exit 3" --exec "sig=kill -SEGV \$\$" --exec "ok=cat >/dev/null"
check_eq "exit status kept" \
    "$(sql "SELECT traceback->>'exception_message' FROM pgqueuer_log WHERE entrypoint = 'code' AND status = 'exception'")" \
    "exit status 3: oops"
check_match "signal kept" \
    "$(sql "SELECT traceback->>'exception_message' FROM pgqueuer_log WHERE entrypoint = 'sig' AND status = 'exception'")" \
    "killed by signal 11"
check_eq "success kept" "$(sql "SELECT count(*) FROM pgqueuer_log WHERE entrypoint = 'ok' AND status = 'successful'")" 1

done_testing
