# cli_web.sh: `pgq web` over HTTP, without a browser: options refused before
# listening, bad requests (404, 400, 405, 413, 414) changing nothing, the
# CSRF and same-origin rules, --read-only, --auth-file with a hash made by
# --hash-password, the security headers, /healthz, and /metrics parsed by
# prometheus_client with every number equal to a count taken with SQL.
# Debian's python3 has prometheus_client (python3-prometheus-client).
. "$(dirname "$0")/../lib.sh"
set -e
PY=/usr/bin/python3
if ! $PY -c 'import prometheus_client' 2>/dev/null; then
    echo "ok 1 # SKIP python3-prometheus-client is not installed"; echo "1..1"; exit 0
fi
expect_exit 0 "install" "$PGQ" install
expect_exit 2 "a non-loopback --listen without --auth-file is refused" \
    "$PGQ" web --listen 0.0.0.0:0
check_match "and says why" "$ERR" "not a loopback address: give --auth-file"
expect_exit 2 "a malformed --listen" "$PGQ" web --listen localhost:99999
expect_exit 2 "--threads 0" "$PGQ" web --threads 0
expect_exit 2 "--cache out of range" "$PGQ" web --cache 2h
echo "alice:secret" >"$T_OUT.auth"
expect_exit 2 "a plain-text password in the auth file is refused" \
    "$PGQ" web --listen 0.0.0.0:0 --auth-file "$T_OUT.auth"
expect_exit 2 "a missing auth file" "$PGQ" web --auth-file /nonexistent/auth
rm -f "$T_OUT.auth"
expect_exit 0 "--help" "$PGQ" web --help
PYTHONPATH="$(dirname "$0")" exec $PY "$(dirname "$0")/web_http.py" "$T_NUM"
