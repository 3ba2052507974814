# cli_escapes.sh: text from the database or from a job (entrypoints, error
# messages, stderr) never reaches the terminal with control characters in
# it: `pgq show`, the worker's text log and list-failed show them as spaces,
# so an OSC sequence cannot retitle the terminal nor an ESC or CSI rewrite
# the screen.
. "$(dirname "$0")/../lib.sh"
set -e
TMP=$(mktemp -d)
trap 'rm -rf "$TMP" "$T_OUT" "$T_ERR"' EXIT

# has_controls FILE: the C0 controls but newline, DEL, and UTF-8 C1 controls.
has_controls() {
    LC_ALL=C grep -c $'[\x01-\x09\x0b-\x1f\x7f]\|\xc2[\x80-\x9f]' "$1" || true
}

expect_exit 0 "install" "$PGQ" install
EP=$'ep\x1b]0;title\x07x'
ERRTEXT='\033]0;title\007boom\302\2332J'
expect_exit 0 "queue a job whose entrypoint holds an OSC sequence" "$PGQ" queue "$EP" '{"a": 1}'
ID=$(sql "SELECT max(id) FROM pgqueuer")
"$PGQ" run --mode drain --hold "$EP" --exec "$EP=printf '$ERRTEXT' >&2; exit 1" \
    2>"$TMP/worker.log" || true
check_eq "the job failed and is held" "$(sql "SELECT status FROM pgqueuer WHERE id = $ID")" failed
check_match "the worker's log names the job's entrypoint" "$(cat "$TMP/worker.log")" \
    'entrypoint=ep ]0;title x failed'
check_match "and its error" "$(cat "$TMP/worker.log")" ']0;title boom 2J'
check_eq "the worker's text log has no control characters" "$(has_controls "$TMP/worker.log")" 0

"$PGQ" show "$ID" >"$TMP/show.txt"
check_match "show prints the entrypoint" "$(cat "$TMP/show.txt")" 'entrypoint +ep ]0;title x$'
check_match "show prints the error" "$(cat "$TMP/show.txt")" 'error: CommandFailed: .*]0;title boom 2J'
check_eq "show has no control characters" "$(has_controls "$TMP/show.txt")" 0
"$PGQ" list-failed >"$TMP/list.txt"
check_eq "list-failed has none either" "$(has_controls "$TMP/list.txt")" 0

# The JSON forms escape them instead.
"$PGQ" show "$ID" --json >"$TMP/show.json"
check_eq "show --json keeps the entrypoint, escaped" \
    "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["job"]["entrypoint"] == sys.argv[2])' "$TMP/show.json" "$EP")" True
check_eq "show --json has no raw C0 control characters" \
    "$(LC_ALL=C grep -c $'[\x01-\x09\x0b-\x1f\x7f]' "$TMP/show.json" || true)" 0
"$PGQ" run --mode drain --log-format json --exec "$EP=true" 2>"$TMP/worker.json" </dev/null || true
check_eq "the worker's JSON log has no raw control characters" "$(has_controls "$TMP/worker.json")" 0
done_testing
