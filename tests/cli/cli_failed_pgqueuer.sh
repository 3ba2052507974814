# cli_failed_pgqueuer.sh: PgQueuer's spellings of the held-job commands
# behave as PgQueuer's: `failed` lists newest first, 25 by default
# (-n/--limit), --json; `requeue ID...` exits 0 and counts, also for ids
# that are not held; while the seed's list-failed and requeue-failed keep
# their order and per-id reports.
. "$(dirname "$0")/../lib.sh"
set -e

pyjson() { printf '%s' "$OUT" | python3 -c "import json,sys; d=json.load(sys.stdin); r=($1); print(r)"; }
expect_exit 0 "install" "$PGQ" install

# 30 held jobs whose failures happened a minute apart, id 1 the oldest.
sql "WITH j AS (INSERT INTO pgqueuer (priority, status, entrypoint, payload, updated)
                SELECT 0, 'failed', 'pay', 'x', now() - (31 - g) * interval '1 minute'
                FROM generate_series(1, 30) g RETURNING id, updated)
     INSERT INTO pgqueuer_log (job_id, status, priority, entrypoint, created, traceback)
     SELECT id, 'failed', 0, 'pay', updated,
            jsonb_build_object('exception_type', 'E', 'exception_message', 'boom ' || id)
     FROM j" >/dev/null
ids=($(sql "SELECT id FROM pgqueuer ORDER BY id"))
newest=${ids[29]} oldest=${ids[0]}

expect_exit 0 "failed --json" "$PGQ" failed --json
check_eq "failed lists 25 by default" "$(pyjson 'len(d)')" 25
check_eq "failed lists newest first" "$(pyjson 'd[0]["id"], d[-1]["id"]')" "($newest, ${ids[5]})"
check_eq "failed --json fields" "$(pyjson '",".join(d[0].keys())')" \
    "id,entrypoint,priority,attempts,created,failed_at,payload_bytes,error"
expect_exit 0 "failed -n 3" "$PGQ" failed -n 3 --json
check_eq "failed -n 3" "$(pyjson '[r["id"] for r in d]')" "[$newest, ${ids[28]}, ${ids[27]}]"
expect_exit 0 "failed --limit 0 lists all" "$PGQ" failed --limit 0 --json
check_eq "failed --limit 0" "$(pyjson 'len(d)')" 30
expect_exit 0 "failed --oldest" "$PGQ" failed --oldest -n 1 --json
check_eq "failed --oldest" "$(pyjson 'd[0]["id"]')" "$oldest"
expect_exit 0 "failed table" "$PGQ" failed
check_match "the table's first row is the newest" "$(printf '%s\n' "$OUT" | sed -n 2p)" "^ *$newest +pay "
check_match "the total says more exist" "$OUT" "^showing 25 of 30 failed jobs"
expect_exit 2 "failed --limit -1" "$PGQ" failed --limit -1
check_match "names the option and range" "$ERR" "--limit '-1' is not a number from 0 to 1000000000"

# The seed's list-failed keeps oldest first and every job.
expect_exit 0 "list-failed --json" "$PGQ" list-failed --json
check_eq "list-failed: all, oldest first" "$(pyjson 'len(d), d[0]["id"]')" "(30, $oldest)"

# requeue ID...: a count, exit 0, ids not held left alone.
q=$(sql "INSERT INTO pgqueuer (priority, status, entrypoint) VALUES (0, 'queued', 'pay') RETURNING id" | head -1)
expect_exit 0 "requeue of held, queued and unknown ids exits 0" \
    "$PGQ" requeue "$oldest" "$q" 999999
check_eq "requeue counts as PgQueuer" "$OUT" "Re-queued 1 of 3 jobs."
check_eq "the held one is queued again" "$(sql "SELECT status FROM pgqueuer WHERE id = $oldest")" queued
check_eq "the queued one is untouched" "$(sql "SELECT attempts || status::text FROM pgqueuer WHERE id = $q")" 0queued
expect_exit 0 "requeue of an unknown id only" "$PGQ" requeue 424242
check_eq "counts zero" "$OUT" "Re-queued 0 of 1 job."
expect_exit 2 "requeue with a bad id" "$PGQ" requeue 12x
expect_exit 2 "requeue without ids" "$PGQ" requeue

# The seed's requeue-failed still reports each id and exits 1.
expect_exit 1 "requeue-failed of a job not held" "$PGQ" requeue-failed --job-ids "$q"
check_match "says why" "$OUT" "^not re-queued $q: not failed \(it is queued\)$"
expect_exit 0 "requeue --help" "$PGQ" requeue --help
check_match "requeue --help says exit 0 for ids not held" "$OUT" "exit status is 0 for them too"
expect_exit 0 "failed --help" "$PGQ" failed --help
check_match "failed --help says 25 newest" "$OUT" "newest failure first"
done_testing
