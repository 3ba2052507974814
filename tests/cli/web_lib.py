"""web_lib.py: helpers shared by the web console's tests: TAP output, psql,
starting `pgq web` on a free loopback port, and HTTP without any proxy."""
import http.client
import os
import re
import subprocess
import sys
import time

PGQ = os.environ["PGQ"]
_n = 0
_failed = 0


def check(ok, what, detail=""):
    global _n, _failed
    _n += 1
    print(("ok %d - %s" if ok else "not ok %d - %s") % (_n, what))
    if not ok:
        _failed += 1
        for line in str(detail).splitlines()[:20]:
            print("#   " + line)
    sys.stdout.flush()
    return ok


def done():
    print("1..%d" % _n)
    sys.exit(1 if _failed else 0)


def sql(q):
    return subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-At", "-c", q],
                          check=True, capture_output=True, text=True).stdout.strip()


def pgq(*args, stdin=None):
    return subprocess.run([PGQ, *args], capture_output=True, text=True, input=stdin)


class Server:
    """`pgq web ARGS` on 127.0.0.1 and a free port; stopped by stop()."""

    def __init__(self, *args, env=None):
        self.p = subprocess.Popen([PGQ, "web", "--listen", "127.0.0.1:0", *args],
                                  stderr=subprocess.PIPE, text=True,
                                  env={**os.environ, **(env or {})})
        line = self.p.stderr.readline()
        m = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        if not m:
            raise RuntimeError("pgq web did not start: " + line + self.p.stderr.read())
        self.port = int(m.group(1))
        self.base = "http://127.0.0.1:%d" % self.port

    def stop(self):
        self.p.terminate()
        return self.p.wait(timeout=30)

    def request(self, method, path, body=None, headers=None):
        """Returns (status, headers dict with lower-case names, body bytes)."""
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        finally:
            c.close()

    def get(self, path, headers=None):
        return self.request("GET", path, headers=headers)

    def csrf(self, headers=None):
        st, _, body = self.get("/failed", headers)
        m = re.search(rb'name="csrf" value="([0-9a-f]+)"', body)
        return m.group(1).decode() if m else None

    def post(self, path, form, headers=None):
        h = {"Content-Type": "application/x-www-form-urlencoded",
             "Origin": self.base, **(headers or {})}
        return self.request("POST", path, body=form, headers=h)


def wait_until(fn, seconds=30):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        v = fn()
        if v:
            return v
        time.sleep(0.05)
    return fn()
