# cli_secrets.sh: the database password stays secret. It is blanked in the
# worker's command line (every local user can read /proc/PID/cmdline),
# masked in libpq's errors about a malformed DSN, and not handed to --exec
# commands unless --exec-env-dsn asks for it.
. "$(dirname "$0")/../lib.sh"
set -e
TMP=$(mktemp -d)
trap 'kill -9 $(jobs -p) 2>/dev/null || true; rm -rf "$TMP" "$T_OUT" "$T_ERR"' EXIT
PW=s3cretPW42
expect_exit 0 "install" "$PGQ" install

# The local cluster lets this OS user in without a password (peer), so a
# DSN with a password still connects: libpq only sends it when asked.
URI="postgresql://postgres:$PW@/$PGDATABASE?host=$PGHOST&port=${PGPORT:-5432}"
KV="host='$PGHOST' dbname=$PGDATABASE user=postgres password=$PW"

# wait_file FILE: until it exists and is not empty (60 s at most).
wait_file() {
    local end=$(( $(date +%s) + 60 ))
    until [ -s "$1" ]; do
        [ "$(date +%s)" -ge "$end" ] && return 1
        sleep 0.05
    done
}

# worker_env DSN FILE [OPTIONS...]: runs a worker with DSN and the given
# options until its --exec job has written its environment to FILE; the
# worker's command line is left in FILE.cmdline.
worker_env() {
    local dsn=$1 file=$2
    shift 2
    "$PGQ" run --dsn "$dsn" "$@" --exec "envdump=env >$file.tmp; mv $file.tmp $file" \
        2>"$file.err" &
    local pid=$!
    "$PGQ" queue envdump >/dev/null
    wait_file "$file" || echo "no job ran: $(cat "$file.err")" >&2
    tr '\0' ' ' <"/proc/$pid/cmdline" >"$file.cmdline"
    kill -TERM "$pid"
    wait "$pid" || true
}

for form in URI KV; do
    dsn=${!form}
    PGPASSWORD=envPW77 PGQUEUER_DSN="$dsn" worker_env "$dsn" "$TMP/env.$form"
    check_match "$form: the worker ran the job" "$(cat "$TMP/env.$form")" '^PGQ_JOB_ID='
    check_match "$form: the worker's command line still shows the DSN" \
        "$(cat "$TMP/env.$form.cmdline")" "pgq run --dsn .*postgres"
    check_nomatch "$form: but not the password" "$(cat "$TMP/env.$form.cmdline")" "$PW"
    check_nomatch "$form: the job's environment has no PGPASSWORD, PGDSN, PGQUEUER_DSN" \
        "$(cat "$TMP/env.$form")" '^(PGPASSWORD|PGDSN|PGQUEUER_DSN)='
done

PGPASSWORD=envPW77 worker_env "$URI" "$TMP/env.pass" --exec-env-dsn
check_match "--exec-env-dsn: the job gets the worker's DSN as PGDSN" \
    "$(grep '^PGDSN=' "$TMP/env.pass")" "^PGDSN=postgresql://postgres:$PW@"
check_match "--exec-env-dsn: and PGPASSWORD" "$(grep '^PGPASSWORD=' "$TMP/env.pass")" \
    '^PGPASSWORD=envPW77$'
expect_exit 2 "--exec-env-dsn without --exec is a usage error" \
    "$PGQ" run --exec-env-dsn "$PGQ_BUILD/examples/plugin_example.so"

# libpq quotes the offending part of a malformed DSN in its error.
for bad in "postgresql://u:$PW@[::1/db" "postgresql://u:${PW}%zz@h/db" \
    "postgresql://u@h/db?password=${PW}%zz" "host=h password='$PW"; do
    run "$PGQ" --dsn "$bad" stats
    check_eq "stats with a malformed DSN fails (exit 1)" "$RC" 1
    check_nomatch "its error does not show the password ($bad)" "$ERR" "$PW"
    run "$PGQ" run --dsn "$bad" --exec "ep=true"
    check_nomatch "neither does the worker's ($bad)" "$ERR" "$PW"
done
run "$PGQ" --dsn "postgresql://u:${PW}%zz@h/db" stats
check_match "the password is shown as ***" "$ERR" 'token: "\*\*\*"'
done_testing
