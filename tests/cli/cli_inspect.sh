# cli_inspect.sh: the operator commands, black box: stats, show, cancel,
# clear, prune, listen and dashboard; exit codes, output, and the rows they
# leave behind. JSON output is checked by PostgreSQL itself.
. "$(dirname "$0")/../lib.sh"
set -e
TMP=$(mktemp -d)
LISTENER=
cleanup() {
    [ -n "$LISTENER" ] && kill "$LISTENER" 2>/dev/null
    rm -rf "$TMP" "$T_OUT" "$T_ERR"
}
trap cleanup EXIT

expect_exit 0 "install" "$PGQ" install

max_width() { printf '%s\n' "$1" | awk '{ if (length($0) > m) m = length($0) } END { print m + 0 }'; }
dump() {
    sql "SELECT coalesce(string_agg(t, E'\n' ORDER BY t), '') FROM (
           SELECT 'q ' || q::text AS t FROM pgqueuer q
           UNION ALL SELECT 'l ' || l::text FROM pgqueuer_log l
           UNION ALL SELECT 's ' || s::text FROM pgqueuer_statistics s) x"
}
# json_get JSON PATH...: a value out of JSON text, extracted by PostgreSQL.
json_get() {
    local doc=$1; shift
    local path; path=$(printf "'%s'," "$@"); path=${path%,}
    sql "SELECT \$j\$$doc\$j\$::jsonb #>> ARRAY[$path]"
}
new_job() { "$PGQ" queue "$@"; }
# wait_until "what" SQL-CONDITION: polls the database for up to 10 seconds.
wait_until() {
    local deadline=$((SECONDS + 10))
    until [ "$(sql "SELECT ($2)::int")" = 1 ]; do
        [ $SECONDS -ge $deadline ] && { t_result 1 "$1" "timed out waiting for: $2"; return; }
        sleep 0.1
    done
    t_result 0 "$1"
}
# wait_file "what" FILE REGEX: polls a file for a line for up to 10 seconds.
wait_file() {
    local deadline=$((SECONDS + 10))
    until grep -Eq -- "$3" "$2" 2>/dev/null; do
        [ $SECONDS -ge $deadline ] && { t_result 1 "$1" "no /$3/ in: $(cat "$2")"; return; }
        sleep 0.1
    done
    t_result 0 "$1"
}

# ---- Help ----------------------------------------------------------------------------
for cmd in stats show cancel clear prune listen dashboard; do
    expect_exit 0 "$cmd --help exits 0" "$PGQ" "$cmd" --help
    check_match "$cmd --help shows usage" "$OUT" "^Usage: pgq $cmd"
    check_eq "$cmd --help fits 80 columns" "$([ "$(max_width "$OUT")" -le 80 ] && echo yes)" yes
    check_eq "$cmd --help: nothing on stderr" "$ERR" ""
done

# ---- stats -------------------------------------------------------------------------------
expect_exit 0 "stats on an empty queue" "$PGQ" stats
check_match "says it is empty" "$OUT" "empty"
expect_exit 0 "stats --json on an empty queue" "$PGQ" stats --json
check_eq "an empty array" "$OUT" "[]"
for i in 1 2 3; do new_job mail "m$i" >/dev/null; done
new_job mail urgent --priority 9 >/dev/null
new_job 'sms "intl"' s >/dev/null
running=$(new_job mail r)
sql "UPDATE pgqueuer SET status = 'picked' WHERE id = $running"
expect_exit 0 "stats" "$PGQ" stats
check_match "a header" "$OUT" "^ENTRYPOINT +PRIORITY +STATUS +COUNT"
check_match "mail, priority 0, queued: 3" "$OUT" "^mail +0 +queued +3$"
check_match "mail, priority 0, picked: 1" "$OUT" "^mail +0 +picked +1$"
check_match "mail, priority 9, queued: 1" "$OUT" "^mail +9 +queued +1$"
check_match "a total" "$OUT" "^total +6$"
expect_exit 0 "stats --json" "$PGQ" stats --json
check_eq "JSON rows" "$(sql "SELECT string_agg(e->>'entrypoint' || '/' || (e->>'priority') || '/' ||
                                      (e->>'status') || '/' || (e->>'count'), ' ' ORDER BY ord)
                             FROM jsonb_array_elements(\$j\$$OUT\$j\$::jsonb) WITH ORDINALITY a(e, ord)")" \
    "mail/9/queued/1 mail/0/queued/3 mail/0/picked/1 sms \"intl\"/0/queued/1"
expect_exit 2 "stats with an unknown option" "$PGQ" stats --yaml
check_match "says which" "$ERR" "^pgq stats: .*--yaml"

# ---- show ------------------------------------------------------------------------------------
printf 'ab\000\377\376cd' >"$TMP/bin"
bin=$(new_job blob --payload-file "$TMP/bin" --header k=v --dedupe-key dk-1 --priority 4)
expect_exit 0 "show a job with a binary payload" "$PGQ" show "$bin"
check_match "its id and status" "$OUT" "^job $bin: queued"
check_match "its entrypoint" "$OUT" "entrypoint +blob"
check_match "its priority" "$OUT" "priority +4"
check_match "its dedupe key" "$OUT" "dedupe key +dk-1"
check_match "its headers" "$OUT" 'headers +\{"k": "v"\}'
check_match "payload size and kind" "$OUT" "payload +7 bytes, binary \(hex\)"
check_match "payload hex" "$OUT" "^ +616200fffe6364$"
check_match "its history" "$OUT" "Z +queued"
expect_exit 0 "show --json" "$PGQ" show "$bin" --json
check_eq "JSON: status" "$(json_get "$OUT" job status)" queued
check_eq "JSON: payload hex, byte for byte" "$(json_get "$OUT" job payload hex)" \
    "$(sql "SELECT encode(payload, 'hex') FROM pgqueuer WHERE id = $bin")"
check_eq "JSON: payload size" "$(json_get "$OUT" job payload size)" 7
check_eq "JSON: headers as an object" "$(json_get "$OUT" job headers k)" v
check_eq "JSON: history" "$(json_get "$OUT" history 0 status)" queued

text=$(new_job greet "$(printf 'héllo\nworld')")
expect_exit 0 "show a job with a text payload" "$PGQ" show "$text"
check_match "shown as text" "$OUT" "payload +12 bytes, text:"
check_match "first line" "$OUT" "^    héllo$"
check_match "second line" "$OUT" "^    world$"
expect_exit 0 "show --json (text)" "$PGQ" show "$text" --json
check_eq "JSON: payload text" "$(json_get "$OUT" job payload text)" "$(printf 'héllo\nworld')"

long=$(new_job long "$(printf '%05000d' 7)")
expect_exit 0 "show a 5000-byte payload" "$PGQ" show "$long"
check_match "cut, saying how much is left" "$OUT" "\\.\\.\\. 904 more bytes"
expect_exit 0 "show --json of a 5000-byte payload" "$PGQ" show "$long" --json
check_eq "JSON shows it all" "$(json_get "$OUT" job payload text | wc -c)" 5001

# A job that failed (held), with its error record, as a worker writes it.
held=$(new_job charge card-1)
sql "WITH j AS (UPDATE pgqueuer SET status = 'failed' WHERE id = $held
                RETURNING id, priority, entrypoint)
     INSERT INTO pgqueuer_log (job_id, status, priority, entrypoint, traceback)
     SELECT id, 'picked'::pgqueuer_status, priority, entrypoint, NULL::jsonb FROM j
     UNION ALL
     SELECT id, 'failed', priority, entrypoint, jsonb_build_object('job_id', id,
         'timestamp', '2024-01-01T00:00:00.000000Z', 'exception_type', 'CardDeclined',
         'exception_message', 'insufficient funds',
         'traceback', E'File \"pay.c\", line 12\n  in charge()',
         'additional_context', jsonb_build_object('entrypoint', entrypoint,
                                                  'queue_manager_id', NULL))
     FROM j" >/dev/null
expect_exit 0 "show a held job" "$PGQ" show "$held"
check_match "status failed" "$OUT" "^job $held: failed"
check_match "the exception type and message" "$OUT" "error: CardDeclined: insufficient funds"
check_match "the traceback, line 1" "$OUT" '^ +File "pay.c", line 12$'
check_match "the traceback, line 2" "$OUT" "^ +in charge\(\)$"
check_match "the context" "$OUT" 'context: \{"entrypoint": ?"charge"'
check_eq "history in order" "$(printf '%s\n' "$OUT" | grep -Eo 'Z +(queued|picked|failed)' |
                               awk '{print $2}' | paste -sd,)" "queued,picked,failed"
expect_exit 0 "show --json of a held job" "$PGQ" show "$held" --json
check_eq "JSON: the error record" "$(json_get "$OUT" history 2 error exception_type)" CardDeclined
check_eq "JSON: the traceback" "$(json_get "$OUT" history 2 error traceback)" \
    "$(printf 'File "pay.c", line 12\n  in charge()')"

# A finished job is only in the log.
"$PGQ" cancel "$text" >/dev/null
expect_exit 0 "show a finished job" "$PGQ" show "$text"
check_match "says it is no longer queued" "$OUT" "^job $text: not in the queue.*canceled"
check_match "shows its history" "$OUT" "Z +canceled"
expect_exit 0 "show --json of a finished job" "$PGQ" show "$text" --json
check_eq "JSON: job is null" "$(sql "SELECT (\$j\$$OUT\$j\$::jsonb -> 'job') = 'null'::jsonb")" t
check_eq "JSON: two log rows" "$(sql "SELECT jsonb_array_length(\$j\$$OUT\$j\$::jsonb -> 'history')")" 2

expect_exit 1 "show an unknown id" "$PGQ" show 987654
check_match "no job N" "$ERR" "no job 987654"
check_eq "nothing on stdout" "$OUT" ""
for bad in x -3 0 1.5 99999999999999999999 ""; do
    expect_exit 2 "show '$bad' is a usage error" "$PGQ" show "$bad"
    check_match "show '$bad': clear message" "$ERR" "^pgq show: "
done
expect_exit 2 "show with no id" "$PGQ" show
expect_exit 2 "show with two ids" "$PGQ" show 1 2

# ---- cancel --------------------------------------------------------------------------------
a=$(new_job c_ep a) b=$(new_job c_ep b) c=$(new_job c_ep c)
sql "UPDATE pgqueuer SET status = 'picked' WHERE id = $b"
before=$(dump)
for bad in "x" "-1" "0" "1,2" "99999999999999999999"; do
    expect_exit 2 "cancel '$bad' is a usage error" "$PGQ" cancel "$a" "$bad"
    check_match "cancel '$bad': clear message" "$ERR" "^pgq cancel: "
done
expect_exit 2 "cancel with no ids" "$PGQ" cancel
check_eq "nothing changed by refused cancels" "$(dump)" "$before"

expect_exit 0 "cancel a queued and a picked job" "$PGQ" cancel "$a" "$b"
check_match "reports the queued one" "$OUT" "^canceled $a"
check_match "reports the picked one" "$OUT" "^canceled $b \(was picked\)"
check_eq "queued row gone" "$(sql "SELECT count(*) FROM pgqueuer WHERE id = $a")" 0
# PgQueuer 2.3's shape: the running job keeps its row until its worker records the outcome.
check_eq "picked row kept, cancel requested" "$(sql "SELECT status || ':' || cancel_requested FROM pgqueuer WHERE id = $b")" "picked:true"
check_eq "logged canceled (the queued one)" "$(sql "SELECT count(*) FROM pgqueuer_log WHERE job_id IN ($a, $b)
                                   AND status = 'canceled'")" 1
sql "DELETE FROM pgqueuer WHERE id = $b"
expect_exit 1 "cancel with an unknown id: exit 1" "$PGQ" cancel "$c" 555555 "$a"
check_match "names the unknown id" "$ERR" "555555"
check_match "names the already-cancelled id" "$ERR" "no job $a "
check_match "still cancels the known one" "$OUT" "^canceled $c"
check_eq "its row is gone" "$(sql "SELECT count(*) FROM pgqueuer WHERE id = $c")" 0

# ---- clear ---------------------------------------------------------------------------------
sql "DELETE FROM pgqueuer" >/dev/null
new_job x 1 >/dev/null; new_job x 2 >/dev/null; new_job y 1 >/dev/null; new_job z 1 >/dev/null
xr=$(new_job x running)
sql "UPDATE pgqueuer SET status = 'picked' WHERE id = $xr"
xf=$(new_job x held)
sql "UPDATE pgqueuer SET status = 'failed' WHERE id = $xf"
before=$(dump)
expect_exit 2 "clear with nothing to clear" "$PGQ" clear
check_match "says what is needed" "$ERR" "^pgq clear: .*--entrypoint.*--all"
expect_exit 2 "clear --entrypoint and --all" "$PGQ" clear --entrypoint x --all
expect_exit 2 "clear --entrypoint ''" "$PGQ" clear --entrypoint ""
expect_exit 2 "clear --entrypoint without a value" "$PGQ" clear --entrypoint
expect_exit 2 "clear with a stray argument" "$PGQ" clear x
check_eq "nothing changed by refused clears" "$(dump)" "$before"
expect_exit 0 "clear --entrypoint x --entrypoint=y" "$PGQ" clear --entrypoint x --entrypoint=y
check_eq "says how many" "$OUT" "deleted 4 jobs"
check_eq "left: the running x job and z" "$(sql "SELECT string_agg(entrypoint || ':' || status, ','
                                                 ORDER BY entrypoint) FROM pgqueuer")" "x:picked,z:queued"
check_eq "logged deleted" "$(sql "SELECT count(*) FROM pgqueuer_log WHERE status = 'deleted'")" 4
expect_exit 0 "clear --all" "$PGQ" clear --all
check_eq "says how many (all)" "$OUT" "deleted 1 jobs"
check_eq "only the running job is left" "$(sql "SELECT id FROM pgqueuer")" "$xr"

# ---- prune ---------------------------------------------------------------------------------
sql "INSERT INTO pgqueuer_log (job_id, status, priority, entrypoint, created)
     VALUES (900001, 'successful', 0, 'old', now() - interval '8 days'),
            (900002, 'exception', 0, 'old', now() - interval '8 days'),
            ($xr, 'queued', 0, 'x', now() - interval '8 days')" >/dev/null
sql "INSERT INTO pgqueuer_statistics (created, count, priority, status, entrypoint)
     VALUES (now() - interval '8 days', 3, 0, 'successful', 'old')" >/dev/null
before=$(dump)
expect_exit 2 "prune without --older-than" "$PGQ" prune
expect_exit 2 "prune --older-than 7x" "$PGQ" prune --older-than 7x
expect_exit 2 "prune --older-than -7d" "$PGQ" prune --older-than -7d
expect_exit 2 "prune with a stray argument" "$PGQ" prune 7d
check_eq "nothing changed by refused prunes" "$(dump)" "$before"
logs_before=$(sql "SELECT count(*) FROM pgqueuer_log")
expect_exit 0 "prune --older-than 7d" "$PGQ" prune --older-than 7d
check_eq "reports the counts" "$OUT" "deleted 2 log rows and 1 statistics rows"
check_eq "old log rows of finished jobs gone" "$(sql "SELECT count(*) FROM pgqueuer_log WHERE entrypoint = 'old'")" 0
check_eq "a queued job keeps its history" "$(sql "SELECT count(*) FROM pgqueuer_log WHERE job_id = $xr")" 2
check_eq "recent log rows kept" "$(sql "SELECT count(*) FROM pgqueuer_log")" $((logs_before - 2))
check_eq "old statistics gone" "$(sql "SELECT count(*) FROM pgqueuer_statistics WHERE entrypoint = 'old'")" 0

# ---- listen --------------------------------------------------------------------------------
"$PGQ" listen >"$TMP/listen.out" 2>"$TMP/listen.err" &
LISTENER=$!
wait_file "listen says it is listening" "$TMP/listen.err" "listening on channel ch_pgqueuer"
lid=$(new_job heard hi)
"$PGQ" cancel "$lid" >/dev/null
wait_file "prints the insert" "$TMP/listen.out" '"operation":"insert"'
wait_file "prints the cancellation" "$TMP/listen.out" '"type":"cancellation_event"'
cancel_line=$(grep cancellation_event "$TMP/listen.out" | head -1)
check_eq "cancellation_event ids" "$(json_get "$cancel_line" ids 0)" "$lid"
check_match "sent_at is UTC ISO-8601" "$(json_get "$cancel_line" sent_at)" '^[0-9-]{10}T[0-9:.]+Z$'
check_eq "every line is one JSON object" "$(while IFS= read -r l; do
        sql "SELECT jsonb_typeof(\$j\$$l\$j\$::jsonb)"; done <"$TMP/listen.out" | sort -u)" object
kill -TERM "$LISTENER"
set +e; wait "$LISTENER"; rc=$?; set -e
LISTENER=
check_eq "SIGTERM stops it with exit 0" "$rc" 0

"$PGQ" listen --channel my_chan >"$TMP/custom.out" 2>"$TMP/custom.err" &
LISTENER=$!
wait_file "listen --channel" "$TMP/custom.err" "listening on channel my_chan"
sql "NOTIFY my_chan, 'plain text'" >/dev/null
sql "SELECT pg_notify('my_chan', '{\"a\": [1, 2]}')" >/dev/null
wait_file "a JSON payload is printed compact" "$TMP/custom.out" '^\{"a":\[1,2\]\}$'
check_eq "a non-JSON payload is wrapped" "$(head -1 "$TMP/custom.out")" \
    '{"channel":"my_chan","payload":"plain text"}'
kill -INT "$LISTENER"
set +e; wait "$LISTENER"; rc=$?; set -e
LISTENER=
check_eq "SIGINT stops it with exit 0" "$rc" 0
expect_exit 2 "listen --channel without a value" "$PGQ" listen --channel
expect_exit 2 "listen with a stray argument" "$PGQ" listen now

# ---- dashboard ------------------------------------------------------------------------------
sql "DELETE FROM pgqueuer_log; DELETE FROM pgqueuer_statistics" >/dev/null
for i in 1 2 3; do new_job dash_ep "$i" >/dev/null; done
d1=$(new_job dash_ep four)
"$PGQ" cancel "$d1" >/dev/null
expect_exit 0 "dashboard on a pipe prints once" timeout 10 "$PGQ" dashboard
check_eq "one table" "$(printf '%s\n' "$OUT" | grep -c '^ENTRYPOINT')" 1
check_match "queued count" "$OUT" "^dash_ep +queued +4 +4 +4 "
check_match "canceled count" "$OUT" "^dash_ep +canceled +1 +1 +1 "
check_eq "no terminal escapes on a pipe" "$(printf '%s' "$OUT" | grep -c $'\033' || true)" 0
check_eq "the roll-up happened" "$(sql "SELECT count(*) FROM pgqueuer_log WHERE NOT aggregated")" 0
check_eq "statistics hold the counts" "$(sql "SELECT sum(count) FROM pgqueuer_statistics
                                              WHERE entrypoint = 'dash_ep'")" 5
expect_exit 0 "dashboard -n 3 -i 0.1" timeout 10 "$PGQ" dashboard -n 3 -i 0.1
check_eq "three tables" "$(printf '%s\n' "$OUT" | grep -c '^ENTRYPOINT')" 3
check_eq "counts not doubled by repeated roll-ups" \
    "$(printf '%s\n' "$OUT" | grep -E '^dash_ep +queued' | awk '{print $5}' | sort -u)" 4
expect_exit 0 "dashboard --window 1s after a pause" sh -c "sleep 1.2; \"\$0\" dashboard --window 1s" "$PGQ"
check_match "nothing in a one-second window" "$OUT" "no jobs logged"
for bad in "-i 0" "-i x" "-n 0" "-n -2" "--window 0" "--bogus"; do
    # shellcheck disable=SC2086
    expect_exit 2 "dashboard $bad is a usage error" "$PGQ" dashboard $bad
done

# ---- no schema ------------------------------------------------------------------------------
"$PGQ" uninstall >/dev/null 2>&1 || sql "DROP TABLE pgqueuer, pgqueuer_log, pgqueuer_statistics CASCADE"
expect_exit 1 "stats without the schema" "$PGQ" stats
check_match "says to install" "$ERR" "pgq install"

done_testing
