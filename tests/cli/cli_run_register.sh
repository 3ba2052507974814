# cli_run_register.sh: registering an entrypoint twice is an error that
# names the entrypoint (not "the schema is already installed"), and the
# plug-in example of docs/worker.md runs as written.
. "$(dirname "$0")/../lib.sh"
set -e
PLUGIN="$PGQ_BUILD/examples/plugin_example.so"
expect_exit 0 "install" "$PGQ" install

# The docs example, word for word, in drain mode so it ends.
doc_cmd=$(grep -o 'pgq run build/examples/plugin_example.so -- --entrypoints [a-z,]*' \
          "$PGQ_ROOT/docs/worker.md" | head -1)
check_eq "docs/worker.md still shows the example" "$doc_cmd" \
    "pgq run build/examples/plugin_example.so -- --entrypoints hello,fail"
"$PGQ" queue hello '{}' >/dev/null
expect_exit 0 "the docs example runs (drained)" \
    "$PGQ" run "$PLUGIN" --mode drain -- --entrypoints hello,fail
check_match "it served hello" "$ERR" "entrypoint=hello succeeded"
check_nomatch "no schema error" "$ERR" "already installed"
check_eq "the job ran" "$(sql "SELECT count(*) FROM pgqueuer_log WHERE status = 'successful'")" 1

# A name given twice: exit 1 and a message naming it.
expect_exit 1 "a duplicate entrypoint fails" \
    "$PGQ" run "$PLUGIN" --mode drain -- --entrypoints extra,extra
check_match "the plug-in's message names the entrypoint" "$ERR" \
    "plugin_example: cannot register: entrypoint 'extra' is already registered"
check_match "pgq run's message names it too" "$ERR" \
    "pgq_plugin_setup\(\) returned 1: entrypoint 'extra' is already registered"
check_nomatch "not the schema's error" "$ERR" "schema"

# --exec for a name the plug-in registers: a usage error naming it.
expect_exit 2 "--exec of a plug-in's entrypoint" \
    "$PGQ" run "$PLUGIN" --exec hello=true --mode drain
check_match "names the entrypoint" "$ERR" "the plug-in already registers 'hello'"
done_testing
