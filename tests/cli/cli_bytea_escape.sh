# cli_bytea_escape.sh: every path that reads payloads works on a database
# whose sessions print bytea in the escape format (ALTER DATABASE ... SET
# bytea_output = escape): the worker's claim, show, list-failed, a re-queue
# with a new payload, and jobs enqueued in bulk. Payloads hold bytes the
# escape format writes as octal (NUL, 0xff, newline), backslashes, and
# plain text.
. "$(dirname "$0")/../lib.sh"
set -e
TMP=$(mktemp -d)
trap 'rm -rf "$TMP" "$T_OUT" "$T_ERR"' EXIT

expect_exit 0 "install" "$PGQ" install
sql "ALTER DATABASE \"$(sql "SELECT current_database()")\" SET bytea_output = escape" >/dev/null
check_eq "new sessions print bytea escaped" "$(sql "SELECT '\\x5c00ff'::bytea")" '\\\000\377'

printf 'bin\000ary\377 \\ back\\slash\nline two' >"$TMP/p1"
printf 'plain text' >"$TMP/p2"
: >"$TMP/empty"
id1=$("$PGQ" queue echo --payload-file "$TMP/p1")
id2=$("$PGQ" queue echo --payload-file "$TMP/p2")
id3=$("$PGQ" queue echo --payload-file "$TMP/empty")
printf 'bulk \\ one\nbulk two\n' | "$PGQ" queue echo --stdin >/dev/null

# show: the payload as hex with its size (binary) or as text.
expect_exit 0 "show a binary payload" "$PGQ" show "$id1"
check_match "show gives its size" "$OUT" "$(wc -c <"$TMP/p1") bytes"
expect_exit 0 "show --json a text payload" "$PGQ" show "$id2" --json
check_match "show --json has the text" "$OUT" '"plain text"'

# The worker's claim: each command gets its payload byte for byte.
expect_exit 0 "a drain runs every job" "$PGQ" run --mode drain --log-level warn \
    --exec "echo=cat >\"$TMP/out.\$PGQ_JOB_ID\""
check_eq "nothing left" "$(sql "SELECT count(*) FROM pgqueuer")" 0
check_eq "every job succeeded" "$(sql "SELECT count(*) FROM pgqueuer_log WHERE status = 'successful'")" 5
check_eq "binary payload intact" "$(cmp "$TMP/p1" "$TMP/out.$id1" && echo same)" same
check_eq "text payload intact" "$(cmp "$TMP/p2" "$TMP/out.$id2" && echo same)" same
check_eq "empty payload intact" "$(cmp "$TMP/empty" "$TMP/out.$id3" && echo same)" same
bulk=$(for f in $(ls "$TMP"/out.* | sort -t. -k2 -n | tail -2); do cat "$f"; echo '|'; done)
check_eq "bulk payloads intact" "$(printf '%s' "$bulk" | tr -d '\n')" 'bulk \ one|bulk two|'

# list-failed and a re-queue with a new payload, on a held job.
idf=$("$PGQ" queue held --payload-file "$TMP/p1")
expect_exit 0 "a held failure" "$PGQ" run --mode drain --log-level error --hold held --exec "held=false"
expect_exit 0 "list-failed" "$PGQ" list-failed
check_match "lists the job with its payload size" "$OUT" "$idf.*$(wc -c <"$TMP/p1")"
expect_exit 0 "list-failed --json" "$PGQ" list-failed --json
check_match "lists it as JSON" "$OUT" "\"id\": ?$idf"
printf 'new\000payload\\' >"$TMP/p3"
expect_exit 0 "requeue-failed with a new payload" "$PGQ" requeue-failed --job-ids "$idf" --payload-file "$TMP/p3"
expect_exit 0 "the re-queued job runs" "$PGQ" run --mode drain --log-level warn \
    --exec "held=cat >\"$TMP/out.held\""
check_eq "with the new payload, byte for byte" "$(cmp "$TMP/p3" "$TMP/out.held" && echo same)" same

done_testing
