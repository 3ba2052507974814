# cli_failed.sh: the held-job commands, black box (docs/design.md §6, the seed):
# list-failed / failed, requeue-failed / requeue, mark-failed.
. "$(dirname "$0")/../lib.sh"
set -e

expect_exit 0 "install" "$PGQ" install

# queued EP [PRIORITY] [PAYLOAD_HEX] [DEDUPE_KEY]: a new queued job; prints its id.
queued() {
    local key=${4:+"'$4'"}
    sql "INSERT INTO pgqueuer (priority, status, entrypoint, payload, dedupe_key)
         VALUES (${2:-0}, 'queued', '$1', decode('${3:-7b7d}', 'hex'), ${key:-NULL})
         RETURNING id" | head -1
}
# picked EP: a job a worker is running; prints its id.
picked() {
    sql "INSERT INTO pgqueuer (priority, status, entrypoint, payload, queue_manager_id)
         VALUES (0, 'picked', '$1', 'x', '11111111-1111-4111-8111-111111111111')
         RETURNING id" | head -1
}
# worker_fails ID TYPE MESSAGE: what a worker writes when a held entrypoint's
# handler fails for good (the row stays, a `failed` log row holds the error).
worker_fails() {
    sql "WITH j AS (UPDATE pgqueuer SET status = 'failed', queue_manager_id = NULL
                    WHERE id = $1 RETURNING id, priority, entrypoint)
         INSERT INTO pgqueuer_log (job_id, status, priority, entrypoint, traceback)
         SELECT id, 'failed', priority, entrypoint, jsonb_build_object('job_id', id,
             'timestamp', '2024-01-01T00:00:00.000000Z', 'exception_type', '$2',
             'exception_message', \$m\$$3\$m\$, 'traceback', 'Traceback...',
             'additional_context', jsonb_build_object('entrypoint', entrypoint,
                                                      'queue_manager_id', NULL))
         FROM j"
}
status_of() { sql "SELECT coalesce((SELECT status::text FROM pgqueuer WHERE id = $1), 'gone')"; }
# Everything a command could change, as one string.
dump() {
    sql "SELECT coalesce(string_agg(t, E'\n' ORDER BY t), '') FROM (
           SELECT 'q ' || q::text AS t FROM pgqueuer q
           UNION ALL SELECT 'l ' || l::text FROM pgqueuer_log l) s"
}
max_width() { printf '%s\n' "$1" | awk '{ if (length($0) > m) m = length($0) } END { print m + 0 }'; }

# ---- Help -----------------------------------------------------------------------
for cmd in list-failed failed requeue-failed requeue mark-failed; do
    expect_exit 0 "$cmd --help exits 0" "$PGQ" "$cmd" --help
    check_match "$cmd --help shows usage" "$OUT" "^Usage: pgq "
    check_eq "$cmd --help fits 80 columns" "$([ "$(max_width "$OUT")" -le 80 ] && echo yes)" yes
done

# ---- Empty ------------------------------------------------------------------------
expect_exit 0 "list-failed with no held job" "$PGQ" list-failed
check_eq "says so" "$OUT" "No failed jobs."
expect_exit 0 "list-failed --json with no held job" "$PGQ" list-failed --json
check_eq "an empty array" "$OUT" "[]"

# ---- The seed's example workflow, seed spelling ---------------------------------------
ids=()
for i in 1 2 3 4 5 6; do ids+=("$(queued payment_processing "$i")"); done
worker_fails "${ids[0]}" ValueError "card declined"
worker_fails "${ids[1]}" TimeoutError "gateway timed out after 30s"
worker_fails "${ids[2]}" ValueError "amount missing"
expect_exit 0 "mark-failed --job-ids \"4,5,6\"" \
    "$PGQ" mark-failed --job-ids "${ids[3]},${ids[4]},${ids[5]}"
check_eq "mark-failed reports each id" "$OUT" "marked failed ${ids[3]}
marked failed ${ids[4]}
marked failed ${ids[5]}
3 of 3 jobs marked failed"
check_eq "held rows" "$(sql "SELECT count(*) FROM pgqueuer WHERE status = 'failed'")" 6
check_eq "hand-marked record" \
    "$(sql "SELECT traceback->>'exception_type' || '/' || (traceback->>'exception_message')
            FROM pgqueuer_log WHERE job_id = ${ids[4]} AND status = 'failed'")" \
    "MarkedFailed/marked failed by hand"

expect_exit 0 "list-failed" "$PGQ" list-failed
check_match "header" "$OUT" "^ *id +entrypoint +priority +attempts +created +failed at +payload bytes +last error$"
check_match "job 1 with its error" "$OUT" "^ *${ids[0]} +payment_processing +1 +0 +[0-9-]+ [0-9:]+ +[0-9-]+ [0-9:]+ +2 +card declined$"
check_match "job 2 with its error" "$OUT" "^ *${ids[1]} +payment_processing .* gateway timed out after 30s$"
check_match "hand-marked job" "$OUT" "^ *${ids[5]} +payment_processing .* marked failed by hand$"
check_match "total line" "$OUT" "^6 failed jobs$"
check_eq "one line per job" "$(printf '%s\n' "$OUT" | grep -c payment_processing)" 6

expect_exit 0 "requeue-failed --job-ids \"1,2,3\"" \
    "$PGQ" requeue-failed --job-ids "${ids[0]},${ids[1]},${ids[2]}"
check_eq "requeue reports each id" "$OUT" "re-queued ${ids[0]}
re-queued ${ids[1]}
re-queued ${ids[2]}
3 of 3 jobs re-queued"
check_eq "rows are queued, due, attempts 0" \
    "$(sql "SELECT count(*) FROM pgqueuer WHERE id IN (${ids[0]},${ids[1]},${ids[2]})
            AND status = 'queued' AND attempts = 0 AND execute_after <= now()
            AND queue_manager_id IS NULL")" 3
check_eq "a queued log row each" \
    "$(sql "SELECT count(*) FROM pgqueuer_log WHERE status = 'queued'
            AND job_id IN (${ids[0]},${ids[1]},${ids[2]})")" 3

# ---- PgQueuer's spellings (cli_failed_pgqueuer.sh tests them in depth) --------------
expect_exit 0 "failed -n 2" "$PGQ" failed -n 2
check_eq "two rows" "$(printf '%s\n' "$OUT" | grep -c payment_processing)" 2
check_match "total says more exist" "$OUT" "^showing 2 of 3 failed jobs"
expect_exit 0 "requeue ID ID (duplicate acted on once)" \
    "$PGQ" requeue "${ids[3]}" "${ids[4]}" "${ids[4]}"
check_eq "two re-queued, counted as PgQueuer does" "$OUT" "Re-queued 2 of 2 jobs."
expect_exit 0 "--job-ids=LIST form" "$PGQ" requeue-failed "--job-ids=${ids[5]}"
expect_exit 0 "nothing left" "$PGQ" failed
check_eq "nothing left says so" "$OUT" "No failed jobs."

# ---- Partial results: exit 1, the rest still acted on ----------------------------------
q=$(queued emails)
f=$(queued emails)
"$PGQ" mark-failed --job-ids "$f" >/dev/null
expect_exit 1 "mark-failed with a held and a missing id" \
    "$PGQ" mark-failed --job-ids "$f,999999,$q"
check_eq "reports each" "$OUT" "marked failed $q
not marked failed $f: already failed
not marked failed 999999: no such job
1 of 3 jobs marked failed"
check_eq "the queued one was marked" "$(status_of "$q")" failed
"$PGQ" requeue-failed --job-ids "$q" >/dev/null
expect_exit 1 "requeue-failed of a queued, a missing and a held id" \
    "$PGQ" requeue-failed --job-ids "999999,$q,$f"
check_eq "re-queued listed first, then the others with reasons" "$OUT" "re-queued $f
not re-queued $q: not failed (it is queued)
not re-queued 999999: no such job
1 of 3 jobs re-queued"
expect_exit 1 "requeue-failed twice" "$PGQ" requeue-failed --job-ids "$f"
check_match "second time: not failed" "$OUT" "^not re-queued $f: not failed \(it is queued\)$"
expect_exit 0 "PgQueuer's requeue of a job not held exits 0" "$PGQ" requeue "$f"
check_eq "and counts it as not re-queued" "$OUT" "Re-queued 0 of 1 job."

# ---- Running jobs ------------------------------------------------------------------------
p=$(picked reports)
expect_exit 0 "mark-failed on a running job" "$PGQ" mark-failed --job-ids "$p" --reason "stuck on host 7"
check_eq "held, no longer owned by the worker" \
    "$(sql "SELECT status || '/' || coalesce(queue_manager_id::text, 'none') FROM pgqueuer WHERE id = $p")" \
    "failed/none"
check_eq "record names the worker and the reason" \
    "$(sql "SELECT (traceback->>'exception_message') || '/' ||
                   (traceback->'additional_context'->>'queue_manager_id')
            FROM pgqueuer_log WHERE job_id = $p AND status = 'failed'")" \
    "stuck on host 7/11111111-1111-4111-8111-111111111111"
expect_exit 1 "requeue-failed of a running job is refused" "$PGQ" requeue-failed --job-ids "$(picked reports)"
check_match "reason" "$OUT" "not failed \(it is picked\)"

# ---- Payload bytes, and the fix ----------------------------------------------------------
b=$(queued billing 0 00ff000a41)
worker_fails "$b" DecodeError "invalid byte 0xff at 1"
expect_exit 0 "list-failed --entrypoint billing" "$PGQ" list-failed --entrypoint billing
check_match "payload bytes counted with NULs" "$OUT" "^ *$b +billing .* 5 +invalid byte 0xff at 1$"
check_eq "only billing" "$(printf '%s\n' "$OUT" | grep -vc -e billing -e '^ *id ' -e 'failed job')" 0
tmp=$(mktemp)
printf '\000\376\377fixed\000' >"$tmp"
expect_exit 0 "requeue-failed --payload-file" "$PGQ" requeue-failed --job-ids "$b" --payload-file "$tmp"
check_eq "new payload byte for byte" "$(sql "SELECT encode(payload, 'hex') FROM pgqueuer WHERE id = $b")" \
    "00feff666978656400"
b2=$(queued billing 0 00)
"$PGQ" mark-failed --job-ids "$b2" >/dev/null
expect_exit 0 "requeue-failed --payload" "$PGQ" requeue-failed --job-ids "$b2" --payload '{"amount": 5}'
check_eq "payload replaced" "$(sql "SELECT convert_from(payload, 'UTF8') FROM pgqueuer WHERE id = $b2")" \
    '{"amount": 5}'
b3=$(queued billing 0 00ff00)
"$PGQ" mark-failed --job-ids "$b3" >/dev/null
expect_exit 0 "requeue keeps the payload untouched" "$PGQ" requeue "$b3"
check_eq "NUL and 0xff bytes kept" "$(sql "SELECT encode(payload, 'hex') FROM pgqueuer WHERE id = $b3")" "00ff00"
b4=$(queued billing 0 00)
"$PGQ" mark-failed --job-ids "$b4" >/dev/null
run sh -c "printf 'from\\000stdin' | \"\$0\" requeue \"\$1\" --payload-file -" "$PGQ" "$b4"
check_eq "requeue --payload-file - reads stdin" "$RC" 0
check_eq "stdin payload byte for byte" "$(sql "SELECT encode(payload, 'hex') FROM pgqueuer WHERE id = $b4")" \
    "66726f6d00737464696e"
rm -f "$tmp"

# ---- Dedupe keys ---------------------------------------------------------------------------
k=$(queued sync 0 00 key-1)
"$PGQ" mark-failed --job-ids "$k" >/dev/null
k2=$(queued sync 0 00)
"$PGQ" mark-failed --job-ids "$k2" >/dev/null
active=$(queued sync 0 00 key-1)
expect_exit 1 "requeue with a dedupe key now taken" "$PGQ" requeue-failed --job-ids "$k,$k2"
check_eq "the other job moved, the conflict is reported" "$OUT" "re-queued $k2
not re-queued $k: its dedupe key is now taken by another active job
1 of 2 jobs re-queued"
check_eq "still held" "$(status_of "$k")" failed

# ---- By entrypoint, and all --------------------------------------------------------------
"$PGQ" mark-failed --job-ids "$(queued alpha),$(queued alpha),$(queued beta)" >/dev/null
expect_exit 0 "requeue-failed --entrypoint alpha --all" "$PGQ" requeue-failed --entrypoint alpha --all
check_eq "two alpha jobs" "$(printf '%s\n' "$OUT" | grep -c '^re-queued ')" 2
check_eq "beta still held" "$(sql "SELECT count(*) FROM pgqueuer WHERE entrypoint = 'beta' AND status = 'failed'")" 1
expect_exit 1 "requeue-failed --all (the dedupe conflict remains)" "$PGQ" requeue-failed --all
check_match "beta moved" "$OUT" "^re-queued [0-9]+$"
check_match "conflict reported" "$OUT" "^not re-queued $k: its dedupe key"
sql "DELETE FROM pgqueuer WHERE id = $active" >/dev/null
expect_exit 0 "requeue-failed --all once the key is free" "$PGQ" requeue-failed --all
expect_exit 0 "requeue-failed --all with nothing held" "$PGQ" requeue-failed --all
check_eq "says so" "$OUT" "No failed jobs to re-queue."

# ---- --json ----------------------------------------------------------------------------------
long=$(printf 'E%.0s' $(seq 1 400))
j1=$(queued json_ep 3 00ff00ff)
worker_fails "$j1" RuntimeError "$long \"quoted\" and \\ back"
j2=$(sql "INSERT INTO pgqueuer (priority, status, entrypoint, payload)
          VALUES (0, 'failed', 'json_ep', NULL) RETURNING id" | head -1)
expect_exit 0 "list-failed --json" "$PGQ" list-failed --json --entrypoint json_ep
check_eq "valid JSON with exactly the keys" "$(printf '%s' "$OUT" | python3 -c '
import json, re, sys
rows = json.load(sys.stdin)
keys = {"id", "entrypoint", "priority", "attempts", "created", "failed_at",
        "payload_bytes", "error"}
iso = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
assert isinstance(rows, list) and len(rows) == 2, rows
for r in rows:
    assert set(r) == keys, sorted(r)
    assert iso.match(r["created"]) and iso.match(r["failed_at"]), r
print(rows[0]["id"], rows[0]["priority"], rows[0]["payload_bytes"], len(rows[0]["error"]),
      rows[0]["error"][-19:], rows[1]["id"], rows[1]["payload_bytes"], rows[1]["error"])
')" "$j1 3 4 420 \"quoted\" and \\ back $j2 0 None"
expect_exit 0 "the table cuts the same error to one line" "$PGQ" list-failed --entrypoint json_ep
check_match "cut with ..." "$OUT" "^ *$j1 .* EEEE+\.\.\.$"
check_eq "error column cut to fit COLUMNS" \
    "$(COLUMNS=150 "$PGQ" list-failed --entrypoint json_ep | awk -v id="$j1" '$1 == id { print length($0) }')" 150
check_match "no error stored shows -" "$OUT" "^ *$j2 +json_ep .* 0 +-$"
expect_exit 0 "list-failed --limit 1 --newest" "$PGQ" list-failed --limit 1 --newest --json --entrypoint json_ep
check_eq "one object" "$(printf '%s' "$OUT" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" 1

# ---- Bad input: exit 2, one line, nothing changed ----------------------------------------
"$PGQ" mark-failed --job-ids "$(queued bad)" >/dev/null
queued bad >/dev/null
before=$(dump)
bad() { # what CMD...
    local what=$1
    shift
    expect_exit 2 "$what: exit 2" "$PGQ" "$@"
    check_eq "$what: one line on stderr" "$(printf '%s\n' "$ERR" | wc -l)" 1
    check_match "$what: names the command" "$ERR" "^pgq $1: "
    check_eq "$what: nothing on stdout" "$OUT" ""
    check_eq "$what: database unchanged" "$(dump)" "$before"
}
bad "requeue-failed 1,x" requeue-failed --job-ids "1,x"
bad "requeue-failed empty list" requeue-failed --job-ids ""
bad "requeue-failed -3" requeue-failed --job-ids "-3"
bad "requeue-failed 1,,2" requeue-failed --job-ids "1,,2"
bad "requeue-failed beyond 64 bits" requeue-failed --job-ids "1,9223372036854775808"
bad "requeue-failed 0" requeue-failed --job-ids "0"
bad "requeue-failed spaces only" requeue-failed --job-ids " , "
bad "requeue-failed nothing selected" requeue-failed
bad "requeue-failed missing value" requeue-failed --job-ids
bad "requeue-failed unknown option" requeue-failed --bogus
bad "requeue-failed ids and --all" requeue-failed --job-ids 1 --all
bad "requeue-failed --entrypoint without --all" requeue-failed --entrypoint bad
bad "requeue-failed empty entrypoint" requeue-failed --entrypoint "" --all
bad "requeue-failed payload with two ids" requeue-failed --job-ids 1,2 --payload x
bad "requeue-failed payload with --all" requeue-failed --all --payload x
bad "requeue-failed both payloads" requeue-failed --job-ids 1 --payload x --payload-file /dev/null
bad "requeue-failed unreadable payload file" requeue-failed --job-ids 1 --payload-file /nonexistent/p
bad "requeue-failed ids twice" requeue-failed --job-ids 1 --job-ids 2
bad "requeue-failed positional id" requeue-failed 1
bad "requeue no ids" requeue
bad "requeue 1,x" requeue 1,x
bad "requeue -3" requeue -3
bad "requeue abc" requeue abc
bad "requeue overflow" requeue 99999999999999999999
bad "requeue ids both ways" requeue 1 --job-ids 2
bad "mark-failed nothing" mark-failed
bad "mark-failed 1,x" mark-failed --job-ids "1,x"
bad "mark-failed empty list" mark-failed --job-ids ""
bad "mark-failed -3" mark-failed --job-ids "-3"
bad "mark-failed 1,,2" mark-failed --job-ids "1,,2"
bad "mark-failed beyond 64 bits" mark-failed --job-ids 18446744073709551616
bad "mark-failed empty reason" mark-failed --job-ids 1 --reason ""
bad "mark-failed extra argument" mark-failed --job-ids 1 2
bad "mark-failed unknown option" mark-failed --job-ids 1 --force
bad "list-failed --limit x" list-failed --limit x
bad "list-failed --limit -1" list-failed --limit -1
bad "list-failed unknown option" list-failed --bogus
bad "list-failed extra argument" list-failed extra
bad "list-failed empty entrypoint" list-failed --entrypoint ""
bad "failed -n without a value" failed -n
bad "failed -n abc" failed -n abc

# ---- Connection and schema errors exit 1 ------------------------------------------------------
expect_exit 1 "no schema: exit 1" "$PGQ" --prefix nope_ list-failed
check_match "says to install" "$ERR" "pgq install"

done_testing
