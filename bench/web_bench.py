#!/usr/bin/env python3
"""web_bench.py: latency of every page of a running `pgq web` under
concurrent clients, and the server's memory. Not a test: a measurement for
docs/benchmarks.md.

Usage: web_bench.py PORT PID JOB_ID [CLIENTS [REQUESTS_PER_CLIENT]]

For each path, CLIENTS threads each send REQUESTS_PER_CLIENT GETs (a new
connection each), all at once; prints p50, p99 and max per path, then the
server's VmRSS and VmHWM (peak) from /proc/PID/status.
"""
import http.client
import sys
import threading
import time

port, pid, job = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
clients = int(sys.argv[4]) if len(sys.argv) > 4 else 50
per = int(sys.argv[5]) if len(sys.argv) > 5 else 10
paths = ["/", "/api/overview", "/metrics", "/healthz", "/failed", "/failed?entrypoint=ep4",
         "/queue", "/queue?status=failed", "/queue?status=queued&entrypoint=ep5&before=500000",
         "/workers", "/schedules", "/system", "/job/%d" % job]


def one(path, out, errors):
    for _ in range(per):
        t0 = time.perf_counter()
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            c.request("GET", path)
            r = c.getresponse()
            r.read()
            c.close()
            if r.status != 200:
                errors.append(r.status)
        except OSError as e:
            errors.append(str(e))
        out.append(time.perf_counter() - t0)


def mem():
    fields = {}
    for line in open("/proc/%d/status" % pid):
        k, _, v = line.partition(":")
        fields[k] = v.strip()
    return fields.get("VmRSS"), fields.get("VmHWM")


print("%-52s %6s %8s %8s %8s" % ("path (%d clients x %d requests)" % (clients, per), "errors",
                                  "p50 ms", "p99 ms", "max ms"))
for path in paths:
    lat, errors = [], []
    threads = [threading.Thread(target=one, args=(path, lat, errors)) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lat.sort()
    p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000
    print("%-52s %6d %8.1f %8.1f %8.1f" % (path, len(errors), p(0.5), p(0.99), lat[-1] * 1000))
    sys.stdout.flush()
rss, hwm = mem()
print("server RSS %s, peak %s" % (rss, hwm))
