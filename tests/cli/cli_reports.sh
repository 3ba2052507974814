# cli_reports.sh: the report commands (stale, workers, backlog, size,
# throughput, log, jobs, tables), black box: table and --json output with
# PgQueuer's field names, [] when empty, paging, PGQUEUER_TABLEFMT, and
# every bad option refused with exit 2 before connecting.
. "$(dirname "$0")/../lib.sh"
set -e

# pyjson 'EXPR' reads $OUT as JSON into `d` and prints EXPR.
pyjson() { printf '%s' "$OUT" | python3 -c "import json,sys; d=json.load(sys.stdin); r=($1); print(r)"; }

expect_exit 0 "install" "$PGQ" install

# Empty: every report prints [] with --json and a header with (no rows).
for cmd in stale workers backlog size throughput log jobs; do
    expect_exit 0 "$cmd --json on an empty queue" "$PGQ" "$cmd" --json
    check_eq "$cmd --json is [] when empty" "$OUT" "[]"
    expect_exit 0 "$cmd table on an empty queue" "$PGQ" "$cmd"
    check_match "$cmd says there is no row" "$OUT" '^\(no rows\)$'
done

QA=00000000-0000-0000-0000-0000000000aa
QB=00000000-0000-0000-0000-0000000000bb
sql "INSERT INTO pgqueuer (priority, status, entrypoint, queue_manager_id, heartbeat, created)
     VALUES (1, 'picked', 'mail', '$QA', now() - interval '1 hour', now() - interval '2 hours'),
            (2, 'picked', E'sms\nline', '$QA', now() - interval '10 minutes', now()),
            (3, 'picked', 'sms', '$QB', now(), now())" >/dev/null
sql "INSERT INTO pgqueuer (priority, status, entrypoint, created)
     SELECT g % 3, 'queued', 'mail', now() - g * interval '1 minute' FROM generate_series(1, 40) g" >/dev/null
sql "INSERT INTO pgqueuer (priority, status, entrypoint) VALUES (0, 'failed', 'sms')" >/dev/null

# stale: PgQueuer's fields, default threshold 300 s.
expect_exit 0 "stale --json" "$PGQ" stale --json
check_eq "stale finds the two old heartbeats" "$(pyjson 'len(d)')" 2
check_eq "stale carries PgQueuer's fields" "$(pyjson '",".join(d[0].keys())')" \
    "id,priority,queue_manager_id,created,updated,heartbeat,execute_after,status,entrypoint,seconds_since_heartbeat"
check_eq "stale: oldest heartbeat first" "$(pyjson 'd[0]["entrypoint"]')" mail
check_eq "stale: seconds_since_heartbeat is a number" \
    "$(pyjson 'isinstance(d[0]["seconds_since_heartbeat"], float) and d[0]["seconds_since_heartbeat"] >= 3599')" True
check_eq "stale: id is a number" "$(pyjson 'type(d[0]["id"]).__name__')" int
expect_exit 0 "stale --threshold 20m" "$PGQ" stale --threshold 20m --json
check_eq "stale --threshold 20m finds one" "$(pyjson 'len(d)')" 1
expect_exit 0 "stale --threshold 0" "$PGQ" stale --threshold 0 --json
check_eq "stale --threshold 0 lists every running job" "$(pyjson 'len(d)')" 3
expect_exit 0 "stale table" "$PGQ" stale
check_match "stale table has a header" "$OUT" '^ *id +priority +queue_manager_id'
check_match "stale table shows times in UTC without T" "$OUT" ' [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2} '
check_nomatch "a newline in a value does not break the table" "$OUT" '^line'
check_eq "stale table: header, rule, two rows" "$(printf '%s\n' "$OUT" | wc -l)" 4

# workers
expect_exit 0 "workers --json" "$PGQ" workers --json
check_eq "workers: one row per queue_manager_id" "$(pyjson 'len(d)')" 2
check_eq "workers carries PgQueuer's fields" "$(pyjson '",".join(d[0].keys())')" \
    "queue_manager_id,active_jobs,oldest_heartbeat,newest_heartbeat,entrypoints"
check_eq "workers: active_jobs and entrypoints" \
    "$(pyjson 'd[0]["queue_manager_id"], d[0]["active_jobs"], d[0]["entrypoints"]')" \
    "('$QA', 2, ['mail', 'sms\\nline'])"

# backlog
expect_exit 0 "backlog --json" "$PGQ" backlog --json
check_eq "backlog carries PgQueuer's fields" "$(pyjson '",".join(d[0].keys())')" \
    "entrypoint,queued_count,oldest_created,oldest_age_seconds,avg_age_seconds"
check_eq "backlog counts queued jobs only" "$(pyjson 'len(d), d[0]["entrypoint"], d[0]["queued_count"]')" \
    "(1, 'mail', 40)"
check_eq "backlog ages" "$(pyjson 'd[0]["oldest_age_seconds"] >= 2400 and 1150 < d[0]["avg_age_seconds"] < 1400')" True

# size
expect_exit 0 "size --json" "$PGQ" size --json
check_eq "size fields" "$(pyjson '",".join(d[0].keys())')" "count,entrypoint,priority,status"
check_eq "size counts every row" "$(pyjson 'sum(r["count"] for r in d)')" 44
expect_exit 0 "size --status failed" "$PGQ" size --status failed --json
check_eq "size --status failed" "$(pyjson '[(r["entrypoint"], r["count"]) for r in d]')" "[('sms', 1)]"

# throughput over the log
sql "INSERT INTO pgqueuer_log (created, job_id, status, priority, entrypoint)
     SELECT now() - g * interval '1 second', g, 'successful'::pgqueuer_status, 0, 'mail' FROM generate_series(1, 30) g
     UNION ALL SELECT now() - interval '3 hours', g, 'exception', 0, 'mail' FROM generate_series(1, 5) g" >/dev/null
expect_exit 0 "throughput --json" "$PGQ" throughput --json
check_eq "throughput fields" "$(pyjson '",".join(d[0].keys())')" \
    "bucket_start,bucket_seconds,entrypoint,status,count,per_second"
check_eq "throughput: the last hour holds the 30 recent rows" "$(pyjson 'sum(r["count"] for r in d)')" 30
expect_exit 0 "throughput --window 4h --bucket 1h" "$PGQ" throughput --window 4h --bucket 1h --json
check_eq "throughput --window 4h sees the old failures" \
    "$(pyjson 'sum(r["count"] for r in d if r["status"] == "exception"), d[0]["bucket_seconds"]')" "(5, 3600)"

# log: newest first, filters, paging
expect_exit 0 "log --json" "$PGQ" log --json
check_eq "log: 25 rows by default" "$(pyjson 'len(d)')" 25
check_eq "log fields" "$(pyjson '",".join(d[0].keys())')" \
    "id,created,job_id,status,priority,entrypoint,traceback,aggregated"
check_eq "log: newest first" "$(pyjson 'd[0]["id"] > d[1]["id"]')" True
expect_exit 0 "log --job-id 3" "$PGQ" log --job-id 3 --json
check_eq "log --job-id 3" "$(pyjson 'sorted(r["status"] for r in d)')" "['exception', 'successful']"
expect_exit 0 "log --status exception" "$PGQ" log --status exception -n 2 --json
check_eq "log --status exception -n 2" "$(pyjson 'len(d), {r["status"] for r in d}')" "(2, {'exception'})"
expect_exit 0 "log --since 1h" "$PGQ" log --since 1h --status exception --json
check_eq "log --since 1h leaves the old rows out" "$OUT" "[]"
expect_exit 0 "log table" "$PGQ" log -n 10
check_match "log table says how to get the next page" "$OUT" '^next page: pgq log --before-id [0-9]+'
next=$(printf '%s\n' "$OUT" | sed -n 's/^next page: pgq log --before-id \([0-9]*\).*/\1/p')
expect_exit 0 "log --before-id" "$PGQ" log -n 10 --before-id "$next" --json
check_eq "log --before-id gives the older page" "$(pyjson 'max(r["id"] for r in d) < '"$next"' and len(d) == 10')" True
first=$(pyjson 'd[0]["id"]')
expect_exit 0 "log --after-id" "$PGQ" log -n 10 --after-id "$first" --json
check_eq "log --after-id gives the page just above" "$(pyjson 'd[-1]["id"] == '"$first"' + 1')" True

# jobs
expect_exit 0 "jobs --json" "$PGQ" jobs --json
check_eq "jobs: 25 newest" "$(pyjson 'len(d), d[0]["id"] > d[-1]["id"]')" "(25, True)"
check_eq "jobs fields" "$(pyjson '",".join(d[0].keys())')" \
    "id,priority,queue_manager_id,created,updated,heartbeat,execute_after,status,entrypoint,dedupe_key,attempts,payload_bytes,headers"
expect_exit 0 "jobs --status failed" "$PGQ" jobs --status failed --json
check_eq "jobs --status failed" "$(pyjson '[r["entrypoint"] for r in d]')" "['sms']"
expect_exit 0 "jobs --entrypoint mail -n 5" "$PGQ" jobs --entrypoint mail -n 5 --json
check_eq "jobs --entrypoint mail -n 5" "$(pyjson 'len(d), {r["entrypoint"] for r in d}')" "(5, {'mail'})"

# tables
expect_exit 0 "tables --json" "$PGQ" tables --json
check_eq "tables: the four tables" "$(pyjson '[r["table_name"] for r in d]')" \
    "['pgqueuer', 'pgqueuer_log', 'pgqueuer_statistics', 'pgqueuer_schedules']"
check_eq "tables fields" "$(pyjson '",".join(d[0].keys())')" \
    "table_name,persistence,estimated_rows,total_bytes,table_bytes,index_bytes,total_size"
"$PGQ" durability balanced >/dev/null
expect_exit 0 "tables after durability balanced" "$PGQ" tables --json
check_eq "tables shows persistence" "$(pyjson '[r["persistence"] for r in d]')" \
    "['logged', 'unlogged', 'unlogged', 'logged']"

# PGQUEUER_TABLEFMT
expect_exit 0 "PGQUEUER_TABLEFMT=grid" env PGQUEUER_TABLEFMT=grid "$PGQ" tables
check_match "grid draws boxes" "$OUT" '^\+-+\+'
check_match "grid underlines the header with =" "$OUT" '^\+=+\+'
expect_exit 0 "PGQUEUER_TABLEFMT=plain" env PGQUEUER_TABLEFMT=plain "$PGQ" size
check_nomatch "plain has no rules" "$OUT" '^-'
expect_exit 0 "PGQUEUER_TABLEFMT=pipe" env PGQUEUER_TABLEFMT=pipe "$PGQ" size
check_match "pipe is a Markdown table" "$OUT" '^\| count \| entrypoint'
expect_exit 2 "PGQUEUER_TABLEFMT=fancy_grid is refused" env PGQUEUER_TABLEFMT=fancy_grid "$PGQ" size
check_match "the message names the variable and the choices" "$ERR" "PGQUEUER_TABLEFMT 'fancy_grid' is not one of simple, plain, grid, pipe"
expect_exit 0 "--json ignores PGQUEUER_TABLEFMT" env PGQUEUER_TABLEFMT=fancy_grid "$PGQ" size --json

# Bad options: exit 2, one line naming the option, before connecting (a
# dead DSN proves nothing connected).
DEAD="host=/nonexistent port=1"
bad() { # what expected-message CMD...
    local what=$1 msg=$2; shift 2
    expect_exit 2 "$what" "$PGQ" --dsn "$DEAD" "$@"
    check_match "$what: names the option" "$ERR" "$msg"
    check_eq "$what: one line" "$(printf '%s\n' "$ERR" | wc -l)" 1
}
bad "stale --threshold -1" "--threshold '-1' is not a duration from 0 to 366d" stale --threshold -1
bad "stale --threshold 400d" "--threshold '400d'" stale --threshold 400d
bad "jobs --limit 0" "--limit '0' is not a number from 1 to 1000000" jobs --limit 0
bad "jobs -n x" "--limit 'x'" jobs -n x
bad "jobs --status done" "--status 'done' is not one of queued" jobs --status done
bad "jobs --entrypoint ''" "--entrypoint is empty" jobs --entrypoint ''
bad "jobs --before-id 0" "--before-id '0' is not a job id" jobs --before-id 0
bad "jobs --before-id and --after-id" "not both" jobs --before-id 5 --after-id 2
bad "log --job-id -3" "--job-id '-3'" log --job-id -3
bad "log --since 0" "--since '0' is not a duration from 1s to 366d" log --since 0
bad "throughput --bucket 0" "--bucket '0'" throughput --bucket 0
bad "throughput too many buckets" "at most 10000" throughput --window 2d --bucket 1s
bad "tables --limit" "unknown option '--limit'" tables --limit 3
bad "workers --status (not a workers option)" "unknown option '--status'" workers --status queued
bad "stale extra argument" "unexpected argument 'x'" stale x

# Help texts name every option.
for cmd in stale workers backlog size throughput log jobs tables; do
    expect_exit 0 "$cmd --help" "$PGQ" "$cmd" --help
    check_match "$cmd --help names --json" "$OUT" '--json'
done
done_testing
