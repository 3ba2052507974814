# cli_queue.sh: `pgq queue`, black box: ids printed, rows and log rows
# written, priority/delay/headers/dedupe, payload bytes round-tripping (NUL,
# non-UTF-8, large), --stdin through the bulk path (100,000 lines, bounded
# memory), and every bad input exiting 2 with the database unchanged.
. "$(dirname "$0")/../lib.sh"
set -e
TMP=$(mktemp -d)
trap 'rm -rf "$TMP" "$T_OUT" "$T_ERR"' EXIT

expect_exit 0 "install" "$PGQ" install

# Everything a command could change, as one string.
dump() {
    sql "SELECT coalesce(string_agg(t, E'\n' ORDER BY t), '') FROM (
           SELECT 'q ' || (q.id, q.priority, q.status, q.entrypoint, q.dedupe_key, md5(q.payload),
                            q.headers, q.execute_after, q.attempts)::text AS t FROM pgqueuer q
           UNION ALL SELECT 'l ' || l::text FROM pgqueuer_log l) s"
}
max_width() { printf '%s\n' "$1" | awk '{ if (length($0) > m) m = length($0) } END { print m + 0 }'; }
hex_of_file() { od -An -tx1 -v "$1" | tr -d ' \n'; }

# ---- Help --------------------------------------------------------------------------
expect_exit 0 "queue --help exits 0" "$PGQ" queue --help
check_match "queue --help shows usage" "$OUT" "^Usage: pgq queue"
check_eq "queue --help fits 80 columns" "$([ "$(max_width "$OUT")" -le 80 ] && echo yes)" yes
check_eq "queue --help writes nothing to stderr" "$ERR" ""

# ---- One job -----------------------------------------------------------------------
expect_exit 0 "queue ENTRYPOINT PAYLOAD" "$PGQ" queue send_email hello
id=$OUT
check_match "prints the new id" "$id" '^[0-9]+$'
check_eq "the row" "$(sql "SELECT entrypoint, convert_from(payload, 'UTF8'), priority,
                              status, attempts, headers IS NULL, dedupe_key IS NULL,
                              queue_manager_id IS NULL
                       FROM pgqueuer WHERE id = $id")" "send_email|hello|0|queued|0|t|t|t"
check_eq "eligible at once" "$(sql "SELECT execute_after <= now() FROM pgqueuer WHERE id = $id")" t
check_eq "one queued log row" "$(sql "SELECT string_agg(status || ',' || entrypoint || ',' ||
                                        priority, ' ') FROM pgqueuer_log WHERE job_id = $id")" \
    "queued,send_email,0"

expect_exit 0 "queue without a payload" "$PGQ" queue ping
check_eq "the payload is NULL" "$(sql "SELECT payload IS NULL FROM pgqueuer WHERE id = $OUT")" t

expect_exit 0 "entrypoint of any characters is allowed" "$PGQ" queue 'weird ep/ü "x"' p
check_eq "stored verbatim" "$(sql "SELECT entrypoint FROM pgqueuer WHERE id = $OUT")" 'weird ep/ü "x"'

expect_exit 0 "--priority, --delay, --header" "$PGQ" queue report body --priority -7 \
    --delay 1h30m --header tenant=acme --header 'trace=a b=c' --header=empty=
id=$OUT
check_eq "priority" "$(sql "SELECT priority FROM pgqueuer WHERE id = $id")" -7
check_eq "delay of 5400s" "$(sql "SELECT round(extract(epoch FROM execute_after - created))
                                  FROM pgqueuer WHERE id = $id")" 5400
check_eq "headers are a JSON object of strings" \
    "$(sql "SELECT headers = '{\"tenant\": \"acme\", \"trace\": \"a b=c\", \"empty\": \"\"}'::jsonb
            FROM pgqueuer WHERE id = $id")" t
expect_exit 0 "--delay 250ms" "$PGQ" queue quick x --delay=250ms
check_eq "sub-second delay" "$(sql "SELECT round(extract(epoch FROM execute_after - created) * 1000)
                                   FROM pgqueuer WHERE id = $OUT")" 250

# ---- Priority order as a worker would see it ------------------------------------------
for p in 1 9 5; do "$PGQ" queue ordered "p$p" --priority $p >/dev/null; done
check_eq "higher priority first" "$(sql "SELECT string_agg(convert_from(payload, 'UTF8'), ','
                                         ORDER BY priority DESC, id) FROM pgqueuer
                                         WHERE entrypoint = 'ordered'")" "p9,p5,p1"

# ---- Dedupe ---------------------------------------------------------------------------
expect_exit 0 "first job with a dedupe key" "$PGQ" queue sync one --dedupe-key acct-42
first=$OUT
before=$(dump)
expect_exit 1 "the same key again: exit 1 (raise is the default)" "$PGQ" queue sync two \
    --dedupe-key acct-42
check_match "names the key" "$ERR" "acct-42"
check_eq "nothing on stdout" "$OUT" ""
check_eq "nothing inserted" "$(dump)" "$before"
expect_exit 1 "--on-conflict raise" "$PGQ" queue sync two --dedupe-key acct-42 --on-conflict raise
check_eq "nothing inserted (raise)" "$(dump)" "$before"
expect_exit 0 "--on-conflict skip: exit 0" "$PGQ" queue sync two --dedupe-key acct-42 \
    --on-conflict skip
check_match "reported as skipped" "$OUT" "skipped.*acct-42"
check_eq "nothing inserted (skip)" "$(dump)" "$before"
sql "UPDATE pgqueuer SET status = 'picked' WHERE id = $first"
expect_exit 1 "a picked job still holds its key" "$PGQ" queue sync three --dedupe-key acct-42
sql "DELETE FROM pgqueuer WHERE id = $first"
expect_exit 0 "the key is free once the job is gone" "$PGQ" queue sync four --dedupe-key acct-42
check_eq "stored with its key" "$(sql "SELECT dedupe_key FROM pgqueuer WHERE id = $OUT")" acct-42

# ---- Payload bytes -----------------------------------------------------------------------
printf 'a\000b\377\376\000\200tail\n' >"$TMP/binary"
expect_exit 0 "--payload-file with NUL and non-UTF-8 bytes" "$PGQ" queue blob --payload-file "$TMP/binary"
check_eq "round-trips byte for byte" "$(sql "SELECT encode(payload, 'hex') FROM pgqueuer WHERE id = $OUT")" \
    "$(hex_of_file "$TMP/binary")"
head -c 3000000 /dev/urandom >"$TMP/large"
expect_exit 0 "a 3 MB random payload" "$PGQ" queue blob --payload-file "$TMP/large"
check_eq "round-trips (md5)" "$(sql "SELECT md5(payload) FROM pgqueuer WHERE id = $OUT")" \
    "$(md5sum <"$TMP/large" | cut -d' ' -f1)"
: >"$TMP/empty"
expect_exit 0 "an empty payload file" "$PGQ" queue blob --payload-file "$TMP/empty"
check_eq "an empty, not NULL, payload" "$(sql "SELECT length(payload) FROM pgqueuer WHERE id = $OUT")" 0
run "$PGQ" queue blob --payload-file - <"$TMP/binary"
check_eq "--payload-file - reads stdin" "$(sql "SELECT encode(payload, 'hex') FROM pgqueuer
                                               WHERE id = ${OUT:-0}")" "$(hex_of_file "$TMP/binary")"
expect_exit 0 "a payload that looks like an option after --" "$PGQ" queue dash -- --not-an-option
check_eq "stored" "$(sql "SELECT convert_from(payload, 'UTF8') FROM pgqueuer WHERE id = $OUT")" "--not-an-option"

# ---- Bad input: exit 2, clear message, nothing changed -------------------------------------
mkdir "$TMP/dir"
printf 'x' >"$TMP/unreadable"; chmod 000 "$TMP/unreadable"
before=$(dump)
bad() { # what ARGS...
    local what=$1; shift
    expect_exit 2 "refused: $what" "$PGQ" queue "$@" </dev/null
    check_match "one clear line: $what" "$(printf '%s\n' "$ERR" | head -1)" "^pgq queue: .+"
    check_eq "nothing on stdout: $what" "$OUT" ""
}
bad "no entrypoint"
bad "empty entrypoint" ""
bad "empty entrypoint with --stdin" "" --stdin
bad "malformed duration" ep x --delay 5x
bad "negative duration" ep x --delay -5s
bad "duration with a space" ep x --delay "1h 30m"
bad "--delay without a value" ep x --delay
bad "non-numeric priority" ep x --priority high
bad "priority over int32" ep x --priority 2147483648
bad "fractional priority" ep x --priority 1.5
bad "missing payload file" ep --payload-file "$TMP/nope"
bad "payload file is a directory" ep --payload-file "$TMP/dir"
if [ "$(id -u)" != 0 ]; then bad "unreadable payload file" ep --payload-file "$TMP/unreadable"; fi
bad "PAYLOAD and --payload-file" ep x --payload-file "$TMP/binary"
bad "header without =" ep x --header novalue
bad "header without a name" ep x --header =v
bad "a header given twice" ep x --header a=1 --header a=2
bad "unknown --on-conflict" ep x --dedupe-key k --on-conflict ignore
bad "empty dedupe key" ep x --dedupe-key ""
bad "unknown option" ep x --colour
bad "extra argument" ep x y
bad "--stdin with a PAYLOAD" ep x --stdin
bad "--stdin with --dedupe-key" ep --stdin --dedupe-key k
check_eq "the database is unchanged after every refusal" "$(dump)" "$before"
chmod 600 "$TMP/unreadable"

# ---- --stdin --------------------------------------------------------------------------------
before_jobs=$(sql "SELECT count(*) FROM pgqueuer")
seq 1 100000 >"$TMP/lines"
run "$PGQ" queue numbers --stdin --priority 3 --header src=seq <"$TMP/lines"
check_eq "--stdin with 100,000 lines exits 0" "$RC" 0
check_eq "prints the count" "$OUT" "queued 100000 jobs"
check_eq "no progress noise when stderr is not a terminal" "$ERR" ""
check_eq "100,000 rows, one per line, in input order" \
    "$(sql "SELECT count(*), count(*) FILTER (WHERE line <> rn) FROM (
              SELECT convert_from(payload, 'UTF8')::bigint AS line, row_number() OVER (ORDER BY id) AS rn
              FROM pgqueuer WHERE entrypoint = 'numbers') s")" "100000|0"
check_eq "options apply to every line" \
    "$(sql "SELECT count(*) FROM pgqueuer WHERE entrypoint = 'numbers' AND priority = 3
            AND headers = '{\"src\": \"seq\"}' AND status = 'queued'")" 100000
check_eq "100,000 queued log rows" \
    "$(sql "SELECT count(*) FROM pgqueuer_log WHERE entrypoint = 'numbers' AND status = 'queued'")" 100000
check_eq "nothing else inserted" "$(sql "SELECT count(*) FROM pgqueuer")" $((before_jobs + 100000))

printf 'one\n\nthree\000x\377\nlast-without-newline' >"$TMP/mixed"
expect_exit 0 "--stdin with empty, binary and unterminated lines" "$PGQ" queue mixed --stdin <"$TMP/mixed"
check_eq "counts every line" "$OUT" "queued 4 jobs"
check_eq "each line's bytes, newline removed" \
    "$(sql "SELECT string_agg(encode(payload, 'hex'), ',' ORDER BY id) FROM pgqueuer WHERE entrypoint = 'mixed'")" \
    "6f6e65,,74687265650078ff,6c6173742d776974686f75742d6e65776c696e65"
expect_exit 0 "--stdin with no input" "$PGQ" queue nothing --stdin </dev/null
check_eq "zero jobs" "$OUT" "queued 0 jobs"

# Streaming: 200 MB of input through a process whose peak memory stays far
# below it. (ASan's quarantine would otherwise hold freed chunks.)
export ASAN_OPTIONS="${ASAN_OPTIONS:-}:quarantine_size_mb=16"
awk 'BEGIN { s = sprintf("%4000s", ""); gsub(/ /, "z", s); for (i = 0; i < 50000; i++) print i s }' |
    /usr/bin/time -f '%M' -o "$TMP/rss" "$PGQ" queue wide --stdin >"$TMP/wide.out" 2>"$TMP/wide.err" || true
check_eq "200 MB of lines enqueued" "$(cat "$TMP/wide.out")" "queued 50000 jobs"
rss_kb=$(tail -1 "$TMP/rss")
check_eq "peak memory under 100 MB while reading 200 MB (${rss_kb} kB)" \
    "$([ "${rss_kb:-999999999}" -lt 102400 ] && echo yes)" yes
check_eq "stored whole" "$(sql "SELECT count(*), min(length(payload)), max(length(payload)) FROM pgqueuer
                              WHERE entrypoint = 'wide'")" "50000|4001|4005"

# A failure part-way leaves nothing behind: a closed connection mid-stream.
sql "DELETE FROM pgqueuer WHERE entrypoint IN ('numbers', 'wide')"
# The input pauses until the test has cut the connection (not for a fixed
# time the test might overrun on a busy machine, letting the input end).
{ seq 1 20000; until [ -e "$TMP/cut.go" ]; do sleep 0.05; done; seq 1 10; } |
    "$PGQ" queue cut_off --stdin >"$TMP/cut.out" 2>"$TMP/cut.err" &
qpid=$!
deadline=$((SECONDS + 20))
until [ "$(sql "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
                AND application_name = 'pgq' AND xact_start IS NOT NULL")" != 0 ] ||
      [ $SECONDS -ge $deadline ]; do sleep 0.1; done
sql "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database()
     AND application_name = 'pgq' AND pid <> pg_backend_pid()" >/dev/null
touch "$TMP/cut.go"
set +e; wait $qpid; rc=$?; set -e
check_eq "a lost connection mid-stream exits 1" "$rc" 1
check_match "and says why" "$(cat "$TMP/cut.err")" "^pgq: "
check_eq "and nothing of it was enqueued" "$(sql "SELECT count(*) FROM pgqueuer WHERE entrypoint = 'cut_off'")" 0

done_testing
