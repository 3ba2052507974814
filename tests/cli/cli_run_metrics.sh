# cli_run_metrics.sh: `pgq run --metrics ADDR:PORT` serves the worker's own
# counters, parsed by prometheus_client: jobs by outcome equal what the
# worker did (the log agrees), the handler histogram counted every run, the
# claim histogram every claim; bad --metrics values exit 2.
. "$(dirname "$0")/../lib.sh"
set -e
PY=/usr/bin/python3
if ! $PY -c 'import prometheus_client' 2>/dev/null; then
    echo "ok 1 # SKIP python3-prometheus-client is not installed"; echo "1..1"; exit 0
fi
expect_exit 0 "install" "$PGQ" install
expect_exit 2 "--metrics without a port" "$PGQ" run --exec a=true --metrics 127.0.0.1
expect_exit 2 "--metrics with a host name" "$PGQ" run --exec a=true --metrics localhost:9000
check_match "names the option" "$ERR" "--metrics"
PYTHONPATH="$(dirname "$0")" exec $PY - "$T_NUM" <<'PY'
import re, subprocess, sys, os, http.client
from prometheus_client.parser import text_string_to_metric_families
import web_lib
from web_lib import check, sql, pgq, wait_until
web_lib._n = int(sys.argv[1])
for i in range(6):
    pgq("queue", "ok", "{}")
for i in range(3):
    pgq("queue", "bad", "{}")
p = subprocess.Popen([web_lib.PGQ, "run", "--exec", "ok=true", "--exec", "bad=exit 3", "--hold", "bad",
                      "--metrics", "127.0.0.1:0", "--log-level", "warn"], stderr=subprocess.PIPE, text=True)
line = p.stderr.readline()
m = re.search(r"127\.0\.0\.1:(\d+)/metrics", line)
check(m is not None, "the worker prints where its metrics are", line)
port = int(m.group(1))
def get(path, method="GET"):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request(method, path)
    r = c.getresponse()
    return r.status, r.read().decode()
check(wait_until(lambda: sql("SELECT count(*) FROM pgqueuer WHERE status <> 'failed'") == "0"
                 and sql("SELECT count(*) FROM pgqueuer_log WHERE status IN ('successful', 'failed')") == "9", 60),
      "the worker ran every job")
def scrape():
    st, body = get("/metrics")
    fams = {f.name: f for f in text_string_to_metric_families(body)}
    jobs = {s.labels["outcome"]: s.value for s in fams["pgq_worker_jobs"].samples}
    return (fams, jobs) if jobs.get("successful") == 6 and jobs.get("failed") == 3 else None
got = wait_until(scrape, 30)
check(got is not None, "jobs by outcome: 6 successful, 3 failed (held)", get("/metrics")[1][:1500])
if got:
    fams, jobs = got
    check(jobs.get("exception") == 0 and jobs.get("retried") == 0 and jobs.get("canceled") == 0,
          "no other outcome counted", jobs)
    h = {s.name: s for s in fams["pgq_worker_handler_duration_seconds"].samples if not s.labels.get("le")}
    inf = [s.value for s in fams["pgq_worker_handler_duration_seconds"].samples if s.labels.get("le") == "+Inf"]
    check(h["pgq_worker_handler_duration_seconds_count"].value == 9 and inf == [9.0]
          and h["pgq_worker_handler_duration_seconds_sum"].value > 0,
          "the handler histogram counted 9 runs", h)
    c = {s.name: s.value for s in fams["pgq_worker_claim_duration_seconds"].samples if not s.labels.get("le")}
    check(c["pgq_worker_claim_duration_seconds_count"] >= 1, "claims were timed", c)
    check(fams["pgq_worker_reconnects"].samples[0].value == 0, "no reconnect")
st, body = get("/other")
check(st == 404, "other paths: 404", st)
st, body = get("/metrics", "POST")
check(st == 405, "POST: 405", st)
p.terminate()
check(p.wait(timeout=60) == 0, "the worker stops cleanly")
web_lib.done()
PY
