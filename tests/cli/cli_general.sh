# cli_general.sh: conventions every command shares (docs/design.md §7): help and
# version, usage errors, name validation before connecting, and the message
# for an unreachable database.
. "$(dirname "$0")/../lib.sh"

# longest LINE...: the width of the longest line of its argument.
longest() { printf '%s\n' "$1" | awk '{ if (length($0) > m) m = length($0) } END { print m + 0 }'; }

expect_exit 0 "pgq --help" "$PGQ" --help
help=$OUT
check_match "prints usage to stdout" "$help" "^Usage: pgq "
check_eq "nothing on stderr" "$ERR" ""
check_match "no line over 80 columns (longest $(longest "$help"))" "$(longest "$help")" '^([0-7]?[0-9]|80)$'
expect_exit 0 "pgq -h" "$PGQ" -h
check_eq "pgq -h prints the same help" "$OUT" "$help"

expect_exit 0 "pgq --version" "$PGQ" --version
check_match "prints the version to stdout" "$OUT" '^pgq [0-9]+\.[0-9]+\.[0-9]+'

# Every command listed by `pgq --help` has its own help.
commands=$(printf '%s\n' "$help" | awk '/^Commands:/ { f = 1; next } f && /^$/ { exit } f && /^  [a-z]/ { print $1 }')
check_match "pgq --help lists the schema commands" "$(echo $commands)" 'install uninstall upgrade verify durability autovac sql'
for cmd in $commands; do
    expect_exit 0 "pgq $cmd --help" "$PGQ" "$cmd" --help
    check_match "pgq $cmd --help prints usage to stdout" "$OUT" "Usage: pgq"
    check_eq "pgq $cmd --help writes nothing to stderr" "$ERR" ""
    check_match "pgq $cmd --help: no line over 80 columns (longest $(longest "$OUT"))" \
        "$(longest "$OUT")" '^([0-7]?[0-9]|80)$'
    # Help needs no database and wins over a bad prefix.
    expect_exit 0 "pgq $cmd -h without a database" env PGHOST=/nonexistent PGQUEUER_PREFIX='x;y' "$PGQ" "$cmd" -h
done

# Unknown commands and options: exit 2, pointing to --help.
expect_exit 2 "unknown command" "$PGQ" frobnicate
check_match "names it" "$ERR" "unknown command 'frobnicate'"
check_match "points to --help" "$ERR" "pgq --help"
expect_exit 2 "unknown global option" "$PGQ" --frobnicate
check_match "points to --help" "$ERR" "pgq --help"
expect_exit 2 "missing value of a global option" "$PGQ" install --dsn
for cmd in install uninstall upgrade verify durability autovac; do
    expect_exit 2 "unknown option of $cmd" env PGHOST=/nonexistent "$PGQ" "$cmd" --frobnicate
    check_match "$cmd points to its --help" "$ERR" "pgq $cmd --help"
done
expect_exit 2 "no command at all" "$PGQ"

# Invalid names are refused before connecting: with PGHOST pointing nowhere a
# connection attempt would exit 1, so exit 2 proves nothing was tried.
for cmd in install uninstall upgrade verify "durability durable" autovac "sql install" stats; do
    expect_exit 2 "pgq --prefix 'x;drop table t' $cmd" env PGHOST=/nonexistent PGCONNECT_TIMEOUT=2 \
        "$PGQ" --prefix 'x;drop table t' $cmd
    check_match "says the prefix is invalid" "$ERR" "invalid prefix 'x;drop table t'"
    check_nomatch "without trying to connect" "$ERR" "connect"
    expect_exit 2 "pgq --schema 'x;drop table t' $cmd" env PGHOST=/nonexistent PGCONNECT_TIMEOUT=2 \
        "$PGQ" --schema 'x;drop table t' $cmd
    check_match "says the schema is invalid" "$ERR" "invalid schema 'x;drop table t'"
done
expect_exit 2 "PGQUEUER_PREFIX is validated too" env PGHOST=/nonexistent PGQUEUER_PREFIX='bad-name' "$PGQ" verify
expect_exit 2 "PGQUEUER_SCHEMA is validated too" env PGHOST=/nonexistent PGQUEUER_SCHEMA='1s' "$PGQ" install
expect_exit 2 "--prefix=VALUE form" env PGHOST=/nonexistent "$PGQ" install --prefix='a b'
check_eq "the database is untouched" "$(sql "SELECT count(*) FROM pg_class WHERE relname LIKE '%pgqueuer%'")" 0

# An unreachable database: exit 1, naming host and port, with a hint.
expect_exit 1 "unreachable TCP server" env PGHOST=127.0.0.1 PGPORT=1 PGCONNECT_TIMEOUT=3 "$PGQ" verify
check_match "names host and port" "$ERR" "127\.0\.0\.1 port 1"
check_match "suggests pgq local start or PGHOST" "$ERR" "pgq local start"
check_match "mentions PGHOST" "$ERR" "PGHOST"
expect_exit 1 "unreachable socket directory" env PGHOST=/nonexistent/dir PGPORT=5499 "$PGQ" install
check_match "names the socket directory and port" "$ERR" "/nonexistent/dir port 5499"
check_match "with the hint" "$ERR" "pgq local start"
expect_exit 1 "unreachable server given by --dsn" env -u PGHOST "$PGQ" --dsn "host=127.0.0.1 port=1 connect_timeout=3" uninstall
check_match "names host and port from the DSN" "$ERR" "127\.0\.0\.1 port 1"

done_testing
