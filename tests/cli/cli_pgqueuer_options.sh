# cli_pgqueuer_options.sh: PgQueuer's options outside `run`, black box:
# queue --on-conflict update_priority and dashboard --json.
. "$(dirname "$0")/../lib.sh"
set -e
pyjson() { printf '%s' "$OUT" | python3 -c "import json,sys; d=json.load(sys.stdin); r=($1); print(r)"; }
expect_exit 0 "install" "$PGQ" install

# ---- queue --on-conflict update_priority ---------------------------------------------
expect_exit 0 "a job with a dedupe key" "$PGQ" queue mail '{}' --dedupe-key k --priority 1
first=$OUT
expect_exit 0 "update_priority on a conflict" \
    "$PGQ" queue mail '{"again": 1}' --dedupe-key k --priority 5 --on-conflict update_priority
check_eq "prints the existing job's id" "$OUT" "$first"
check_eq "its priority is raised" "$(sql "SELECT priority FROM pgqueuer WHERE id = $first")" 5
check_eq "its payload is kept" "$(sql "SELECT convert_from(payload, 'UTF8') FROM pgqueuer WHERE id = $first")" '{}'
expect_exit 0 "a lower priority" "$PGQ" queue mail --dedupe-key k --priority 2 --on-conflict update_priority
check_eq "keeps the greater" "$(sql "SELECT priority FROM pgqueuer WHERE id = $first")" 5
check_eq "one job, one log row" "$(sql "SELECT count(*) || '/' || (SELECT count(*) FROM pgqueuer_log) FROM pgqueuer")" 1/1
expect_exit 0 "no conflict: a new job" "$PGQ" queue mail --dedupe-key other --on-conflict update_priority
check_match "a new id" "$OUT" '^[0-9]+$'
check_eq "a different id" "$([ "$OUT" != "$first" ] && echo yes)" yes
expect_exit 1 "raise still fails" "$PGQ" queue mail --dedupe-key k
expect_exit 2 "an unknown mode" "$PGQ" --dsn "host=/nonexistent port=1" queue mail --dedupe-key k --on-conflict replace
check_match "names the modes" "$ERR" "--on-conflict 'replace': expected raise, skip or update_priority"
expect_exit 0 "queue --help" "$PGQ" queue --help
check_match "queue --help names update_priority" "$OUT" "update_priority"

# ---- dashboard --json -----------------------------------------------------------------
expect_exit 0 "dashboard --json" "$PGQ" dashboard --json
check_eq "one array" "$(pyjson 'type(d).__name__')" list
check_eq "the queued rows are counted" \
    "$(pyjson '[(r["entrypoint"], r["status"], r["count_window"]) for r in d]')" "[('mail', 'queued', 2)]"
check_eq "dashboard --json fields" "$(pyjson '",".join(d[0].keys())')" \
    "entrypoint,status,count_10s,count_60s,count_window,window_seconds,rate_per_second"
expect_exit 0 "dashboard --json -n 2" "$PGQ" dashboard --json -n 2 -i 0.1
check_eq "two arrays, one per line" "$(printf '%s\n' "$OUT" | python3 -c 'import json,sys; print(sum(1 for l in sys.stdin if isinstance(json.loads(l), list)))')" 2
sql "TRUNCATE pgqueuer_log, pgqueuer_statistics" >/dev/null
expect_exit 0 "dashboard --json with nothing logged" "$PGQ" dashboard --json
check_eq "is []" "$OUT" "[]"
expect_exit 0 "dashboard --help" "$PGQ" dashboard --help
check_match "dashboard --help names --json" "$OUT" "--json"
done_testing
