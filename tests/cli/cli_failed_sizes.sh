# cli_failed_sizes.sh: list-failed shows each held job's payload size
# without reading the payloads (octet_length in SQL): the sizes, NULL and
# empty payloads, NUL bytes and large stored (TOASTed) ones included, are
# the same in the table and in --json as the database's own count.
. "$(dirname "$0")/../lib.sh"
set -e
expect_exit 0 "install" "$PGQ" install
sql "INSERT INTO pgqueuer (priority, status, entrypoint, payload) VALUES
       (0, 'failed', 'sz', NULL),
       (0, 'failed', 'sz', ''::bytea),
       (0, 'failed', 'sz', '\\x00ff000a41'::bytea),
       (0, 'failed', 'sz', convert_to(repeat('abc', 400000), 'UTF8')),
       (0, 'failed', 'sz', (SELECT string_agg(sha256(int4send(i)), ''::bytea)
                            FROM generate_series(1, 40000) i))" >/dev/null
want=$(sql "SELECT string_agg(id || ' ' || coalesce(octet_length(payload), 0), ',' ORDER BY id)
            FROM pgqueuer WHERE entrypoint = 'sz'")
check_match "the payloads include a large one" "$want" ' 1200000,.* 1280000$'

expect_exit 0 "list-failed" "$PGQ" list-failed --entrypoint sz
got=$(printf '%s\n' "$OUT" | awk '$2 == "sz" { print $1 " " $9 }' | paste -sd,)
check_eq "the table's payload bytes are the database's sizes" "$got" "$want"

expect_exit 0 "list-failed --json" "$PGQ" list-failed --json --entrypoint sz
got=$(printf '%s' "$OUT" | python3 -c '
import json, sys
print(",".join("%d %d" % (r["id"], r["payload_bytes"]) for r in json.load(sys.stdin)))')
check_eq "so are the JSON payload_bytes (0 for NULL, as before)" "$got" "$want"
done_testing
