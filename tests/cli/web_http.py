"""web_http.py: the console over plain HTTP (run by cli_web.sh)."""
import os
import sys
import tempfile
import time

from prometheus_client.parser import text_string_to_metric_families

import web_lib
from web_lib import Server, check, sql, pgq, wait_until

web_lib._n = int(sys.argv[1]) if len(sys.argv) > 1 else 0


def dump():
    return sql("SELECT coalesce(string_agg(t, E'\\n' ORDER BY t), '') FROM ("
               "SELECT 'q ' || q::text AS t FROM pgqueuer q "
               "UNION ALL SELECT 'l ' || l::text FROM pgqueuer_log l) s")


def hold(ep, payload_hex, message):
    """A job held as failed the way a worker holds it; returns its id."""
    return int(sql(
        "WITH j AS (INSERT INTO pgqueuer (priority, status, entrypoint, payload) "
        "VALUES (0, 'failed', '%s', decode('%s', 'hex')) RETURNING id, priority, entrypoint) "
        "INSERT INTO pgqueuer_log (job_id, status, priority, entrypoint, traceback) "
        "SELECT id, 'failed', priority, entrypoint, jsonb_build_object('exception_type', "
        "'ValueError', 'exception_message', $m$%s$m$, 'traceback', 'Traceback...') FROM j "
        "RETURNING job_id" % (ep, payload_hex, message)).splitlines()[0])


# ---- data: queued jobs of two entrypoints, held jobs, a picked job, log rows ----
for i in range(5):
    pgq("queue", "mail", '{"n": %d}' % i)
for i in range(3):
    pgq("queue", "pay", '{"n": %d}' % i)
held = [hold("pay", "7b7d", "card declined"), hold("mail", "00ff", "<b>smtp</b> down")]
sql("UPDATE pgqueuer SET status = 'picked', queue_manager_id = "
    "'11111111-1111-4111-8111-111111111111' WHERE id = (SELECT min(id) FROM pgqueuer "
    "WHERE entrypoint = 'mail' AND status = 'queued')")
sql("INSERT INTO pgqueuer_log (job_id, status, priority, entrypoint) "
    "SELECT g, 'successful', 0, 'mail' FROM generate_series(1000, 1011) g")

s = Server()
try:
    # ---- every page answers, with the security headers ----
    for path in ["/", "/failed", "/failed?entrypoint=pay", "/queue", "/queue?status=failed",
                 "/workers", "/schedules", "/system", "/job/%d" % held[0], "/metrics",
                 "/healthz", "/api/overview", "/static/app.js", "/static/style.css"]:
        st, h, body = s.get(path)
        check(st == 200, "GET %s: 200" % path, "%d %r" % (st, body[:300]))
        csp = h.get("content-security-policy", "")
        check("frame-ancestors 'none'" in csp and "script-src 'self'" in csp
              and "unsafe-inline" not in csp and h.get("x-content-type-options") == "nosniff",
              "GET %s: CSP without inline script, frame-ancestors none, nosniff" % path, h)
    st, h, body = s.request("HEAD", "/")
    check(st == 200 and body == b"", "HEAD / answers without a body", st)
    st, _, body = s.get("/healthz")
    check(body == b"ok\n", "/healthz says ok", body)

    # ---- bad input: nothing changes ----
    before = dump()
    token = s.csrf()
    check(token and len(token) == 64, "the pages carry a CSRF token", token)
    cases = [
        ("GET", "/nope", None, 404), ("GET", "/job/abc", None, 400),
        ("GET", "/job/0", None, 400), ("GET", "/job/99999999999999999999", None, 400),
        ("GET", "/job/%d/other" % held[0], None, 404), ("GET", "/job/987654", None, 404),
        ("GET", "/queue?status=bogus", None, 400), ("GET", "/queue?after=1x", None, 400),
        ("GET", "/queue?after=5&before=9", None, 400), ("GET", "/failed?entrypoint=%zz", None, 400),
        ("GET", "/queue?entrypoint=" + "x" * 3000, None, 414),
        ("PUT", "/", b"x", 405), ("DELETE", "/job/1", None, 405), ("POST", "/", b"", 405),
        ("GET", "/failed/action", None, 405), ("GET", "/job/%d/requeue" % held[0], None, 405),
    ]
    for method, path, body, want in cases:
        h = {"Content-Type": "application/x-www-form-urlencoded", "Origin": s.base}
        st, _, out = s.request(method, path, body=body, headers=h if body is not None else {})
        check(st == want, "%s %s: %d" % (method, path[:60], want), "%d %r" % (st, out[:200]))
    ids = "&".join("id=%d" % i for i in held)
    posts = [
        ("/failed/action", "action=requeue&" + ids, {}, 403, "no CSRF token"),
        ("/failed/action", "csrf=%s&action=requeue&%s" % ("0" * 64, ids), {}, 403, "a wrong token"),
        ("/failed/action", "csrf=%s&action=requeue&%s" % (token, ids), {"Origin": "http://evil.example"},
         403, "a cross-origin Origin"),
        ("/failed/action", "csrf=%s&action=requeue&%s" % (token, ids),
         {"Origin": None, "Referer": "http://evil.example/failed"}, 403, "a cross-origin Referer"),
        ("/failed/action", "csrf=%s&action=requeue&%s" % (token, ids), {"Sec-Fetch-Site": "cross-site"},
         403, "Sec-Fetch-Site cross-site"),
        ("/failed/action", "csrf=%s&action=explode&%s" % (token, ids), {}, 400, "an unknown action"),
        ("/failed/action", "csrf=%s&action=requeue&id=1x" % token, {}, 400, "a malformed id"),
        ("/failed/action", "csrf=%s&action=requeue&id=-3" % token, {}, 400, "a negative id"),
        ("/failed/action", "csrf=%s&action=requeue" % token, {}, 400, "no ids"),
        ("/failed/action", "csrf=%s&action=requeue&id=%%4" % token, {}, 400, "a broken escape"),
        ("/job/%d/requeue" % held[0], "csrf=%s&mode=hex&payload=abc" % token, {}, 400, "odd hex"),
        ("/job/%d/requeue" % held[0], "csrf=%s&mode=weird&payload=x" % token, {}, 400, "unknown mode"),
        ("/job/%d/requeue" % held[0], "csrf=%s&mode=text" % token, {}, 400, "no payload"),
        ("/failed/action", "csrf=%s&action=requeue&%s" % (token, "&".join(
            "id=%d" % i for i in range(1, 1100))), {}, 400, "more than 1000 ids"),
    ]
    for path, form, extra, want, what in posts:
        h = {"Content-Type": "application/x-www-form-urlencoded", "Origin": s.base}
        for k, v in extra.items():
            if v is None:
                h.pop(k, None)
            else:
                h[k] = v
        st, _, out = s.request("POST", path, body=form.encode(), headers=h)
        check(st == want, "POST %s with %s: %d" % (path, what, want), "%d %r" % (st, out[:300]))
    st, _, out = s.request("POST", "/failed/action", body=b"csrf=" + token.encode() + b"&action=requeue",
                           headers={"Content-Type": "text/plain", "Origin": s.base})
    check(st == 400, "POST with a non-form body: 400", st)
    import socket

    def raw(head, body_chunks):
        """Sends a request by hand (the server may answer before the body is
        all sent); returns the status line."""
        c = socket.create_connection(("127.0.0.1", s.port), timeout=30)
        try:
            c.sendall(head)
            for chunk in body_chunks:
                try:
                    c.sendall(chunk)
                except OSError:
                    break
            return c.makefile("rb").readline().decode()
        except OSError as e:
            return str(e)
        finally:
            c.close()
    head = ("POST /failed/action HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
            "application/x-www-form-urlencoded\r\n")
    line = raw((head + "Content-Length: %d\r\n\r\n" % (2 << 20)).encode(), [b"csrf=" + token.encode()])
    check(" 413 " in line, "POST announcing more than 1 MiB: 413", line)
    chunk = b"x" * 65536
    body = [b"%x\r\n" % len(chunk) + chunk + b"\r\n"] * 20 + [b"0\r\n\r\n"]
    line = raw((head + "Transfer-Encoding: chunked\r\n\r\n").encode(), body)
    check(" 413 " in line, "chunked POST growing past 1 MiB: 413", line)
    check(dump() == before, "none of these changed the database")

    # ---- actions: the CLI's per-id wording ----
    st, _, out = s.post("/failed/action", "csrf=%s&action=requeue&id=%d&id=987654" % (token, held[0]))
    text = out.decode()
    check(st == 200 and "re-queued %d</span>" % held[0] in text
          and "not re-queued 987654: no such job" in text and "1 of 2 jobs re-queued" in text,
          "re-queue reports each id in the CLI's words", text[-800:])
    check(sql("SELECT status FROM pgqueuer WHERE id = %d" % held[0]) == "queued",
          "the re-queued job is queued")
    st, _, out = s.post("/job/%d/requeue" % held[1], "csrf=%s&mode=hex&payload=%%5Cx 01 02 ff" % token)
    check(st == 200 and sql("SELECT encode(payload, 'hex') || ' ' || status FROM pgqueuer "
                            "WHERE id = %d" % held[1]) == "0102ff queued",
          "re-queue with a payload given as hex stores those bytes", out[-400:])
    st, _, out = s.post("/failed/action", "csrf=%s&action=mark-failed&id=%d,%d&reason=bad+data"
                        % (token, held[0], held[0] + 100000))
    text = out.decode()
    check("marked failed %d" % held[0] in text and "not marked failed %d: no such job"
          % (held[0] + 100000) in text, "mark-failed by id list, in the CLI's words", text[-600:])
    check(sql("SELECT traceback->>'exception_message' FROM pgqueuer_log WHERE job_id = %d "
              "ORDER BY id DESC LIMIT 1" % held[0]) == "bad data", "the reason is stored")

    # ---- /metrics equals SQL, once a snapshot newer than the last change is served ----
    settled = float(sql("SELECT extract(epoch FROM now())"))

    def scrape():
        st, h, body = s.get("/metrics")
        fams = {f.name: f for f in text_string_to_metric_families(body.decode())}
        ts = fams["pgq_snapshot_timestamp_seconds"].samples[0].value
        return fams if ts > settled else None
    fams = wait_until(scrape, 30)
    check(fams is not None, "a fresh snapshot is served within the cache time")

    def samples(name):
        return {tuple(sorted(s.labels.items())): s.value for s in fams[name].samples
                if s.name in (name, name + "_total")}
    depth = samples("pgq_queue_jobs")
    want = {(("entrypoint", e), ("status", st)): float(c) for e, st, c in
            (l.split("|") for l in sql("SELECT entrypoint, status, count(*) FROM pgqueuer "
                                       "GROUP BY 1, 2").splitlines())}
    check(depth == want, "queue depth by entrypoint and status equals SQL", "%r\n%r" % (depth, want))
    log = samples("pgq_log_entries")
    want = {(("entrypoint", e), ("status", st)): float(c) for e, st, c in
            (l.split("|") for l in sql("SELECT entrypoint, status, count(*) FROM pgqueuer_log "
                                       "GROUP BY 1, 2").splitlines())}
    check(log == want, "log rows by entrypoint and status equal SQL", "%r\n%r" % (log, want))
    failed = samples("pgq_failed_jobs")
    want = {(("entrypoint", e),): float(c) for e, c in
            (l.split("|") for l in sql("SELECT entrypoint, count(*) FROM pgqueuer WHERE "
                                       "status = 'failed' GROUP BY 1").splitlines())}
    check(failed == want, "held failed jobs equal SQL", "%r\n%r" % (failed, want))
    workers = samples("pgq_active_workers")[()]
    check(workers == float(sql("SELECT count(DISTINCT queue_manager_id) FROM pgqueuer "
                               "WHERE status = 'picked'")), "active workers equal SQL", workers)
    age = samples("pgq_oldest_queued_age_seconds")
    want_age = {(("entrypoint", e),): float(a) for e, a in
                (l.split("|") for l in sql(
                    "SELECT entrypoint, %f - extract(epoch FROM min(created)) "
                    "FROM pgqueuer WHERE status = 'queued' GROUP BY 1" %
                    samples("pgq_snapshot_timestamp_seconds")[()]).splitlines())}
    check(age.keys() == want_age.keys() and all(abs(age[k] - want_age[k]) < 0.01 for k in age),
          "oldest queued age equals SQL", "%r\n%r" % (age, want_age))
    check(samples("pgq_schema_ok")[()] == 1.0, "schema ok is 1")
finally:
    s.stop()

# ---- read-only: no forms, every POST refused ----
ro = Server("--read-only")
try:
    st, _, body = ro.get("/failed")
    check(b"<form method=\"post\"" not in body and b"read-only" in body,
          "read-only: the failed page has no action form")
    st, _, body = ro.get("/job/%d" % held[0])
    check(b"requeue-form" not in body and b"mark-one" not in body, "read-only: the job page neither")
    before = dump()
    st, _, body = ro.post("/failed/action", "csrf=x&action=requeue&id=%d" % held[0])
    check(st == 403 and dump() == before, "read-only: a POST is refused with 403", st)
finally:
    ro.stop()

# ---- the auth file: a hash made by --hash-password; nothing without it ----
r = pgq("web", "--hash-password", "alice", stdin="s3cret pass\n")
line = r.stdout.strip()
check(r.returncode == 0 and line.startswith("alice:$y$"), "--hash-password prints USER:yescrypt", line)
with tempfile.NamedTemporaryFile("w", suffix=".auth", delete=False) as f:
    f.write("# made by pgq web --hash-password\n" + line + "\n")
a = Server("--auth-file", f.name)
try:
    import base64
    good = {"Authorization": "Basic " + base64.b64encode(b"alice:s3cret pass").decode()}
    bad = {"Authorization": "Basic " + base64.b64encode(b"alice:wrong").decode()}
    paths = ["/", "/failed", "/queue", "/workers", "/schedules", "/system", "/metrics",
             "/healthz", "/api/overview", "/job/%d" % held[0], "/job/%d/payload" % held[0],
             "/static/app.js", "/static/style.css", "/nope"]
    for p in paths:
        st, h, body = a.get(p)
        check(st == 401 and "basic" in h.get("www-authenticate", "").lower() and b"queued" not in body
              and b"pgq_" not in body, "auth: %s without credentials: 401" % p, st)
        st, _, _ = a.get(p, bad)
        check(st == 401, "auth: %s with a wrong password: 401" % p, st)
    st, _, body = a.get("/metrics", good)
    check(st == 200 and b"pgq_queue_jobs" in body, "auth: /metrics with the password: 200", st)
    st, _, body = a.post("/failed/action", "action=requeue&id=1")
    check(st == 401, "auth: a POST without credentials: 401", st)
finally:
    a.stop()
    os.unlink(f.name)

# ---- /healthz: schema missing, database unreachable ----
sql("DROP DATABASE IF EXISTS %s_bare" % os.environ["PGDATABASE"])
sql("CREATE DATABASE %s_bare" % os.environ["PGDATABASE"])
b = Server(env={"PGDATABASE": os.environ["PGDATABASE"] + "_bare"})
try:
    st, _, body = b.get("/healthz")
    check(st == 503 and body.startswith(b"schema missing"), "/healthz without the schema: 503", body)
    st, _, body = b.get("/")
    check(st == 503, "the overview without the schema: 503 with the reason", body[-300:])
finally:
    b.stop()
sql("DROP DATABASE %s_bare" % os.environ["PGDATABASE"])
d = Server("--dsn", "host=/nonexistent-socket-dir dbname=x connect_timeout=2")
try:
    st, _, body = d.get("/healthz")
    check(st == 503 and body.startswith(b"database unreachable"), "/healthz without a database: 503", body)
    st, _, body = d.get("/metrics")
    fams = {f.name: f for f in text_string_to_metric_families(body.decode())}
    check(st == 200 and fams["pgq_up"].samples[0].value == 0, "/metrics without a database: pgq_up 0")
finally:
    check(d.stop() == 0, "the server stops cleanly on SIGTERM (exit 0)")
web_lib.done()
