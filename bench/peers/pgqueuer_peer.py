"""pgqueuer_peer.py: PgQueuer as a peer of bench/run, through its own benchmark.

  PY pgqueuer_peer.py BENCHMARK_PY drain|throughput [--jobs N] [--seconds S]
                      [--dequeue N] [--batch N] [--enqueue N] [--enqueue-batch N]

Runs PgQueuer's tools/benchmark.py (from its release archive) as a module:
its command line needs a newer typer than Debian's, and Debian's uvloop has
no uvloop.run, so this gives uvloop a run() that calls asyncio.run with
uvloop's event loop policy and calls the benchmark's main() itself. Options
left out keep the benchmark's own defaults (5 dequeue tasks, batches of 10,
one producer of batches of 10). Connection: the PG* variables. Prints one
JSON line in bench/run's shape.
"""
import argparse
import asyncio
import importlib.util
import io
import json
import os
import sys
import tempfile
from contextlib import redirect_stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("benchmark_py")
    ap.add_argument("strategy", choices=["drain", "throughput"])
    ap.add_argument("--jobs", type=int, default=50000)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--dequeue", type=int, default=5)
    ap.add_argument("--batch", type=int, default=10)
    ap.add_argument("--enqueue", type=int, default=1)
    ap.add_argument("--enqueue-batch", type=int, default=10)
    a = ap.parse_args()

    import uvloop
    if not hasattr(uvloop, "run"):
        def run(coro):
            asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
            return asyncio.run(coro)
        uvloop.run = run
    # The benchmark imports pgqueuer from its source tree's root.
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(a.benchmark_py))))
    spec = importlib.util.spec_from_file_location("pgqueuer_benchmark", a.benchmark_py)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # its dataclasses look their module up
    spec.loader.exec_module(mod)
    # Its throughput mode reads the consumers' progress bar only once they
    # have all returned; when they are still busy after its grace period
    # (5 s) it cancels them and reports 0 jobs. So read the bar at the
    # moment the timer stops the run, as its own figure would.
    bars, at_stop = [], {}
    make_bar = mod.job_progress_bar

    def job_progress_bar(*args, **kw):
        bar = make_bar(*args, **kw)
        bars.append(bar)
        return bar

    mod.job_progress_bar = job_progress_bar
    shutdown = mod.ThroughputStrategy.graceful_shutdown

    def graceful_shutdown(self):
        if bars and not at_stop:
            d = bars[0].format_dict
            at_stop.update(n=d.get("n", 0), elapsed=d.get("elapsed", 0))
        shutdown(self)

    mod.ThroughputStrategy.graceful_shutdown = graceful_shutdown
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "result.json")
        noise = io.StringIO()  # its settings table and progress bar
        with redirect_stdout(noise):
            mod.main(driver=mod.DriverEnum.apg, timer=a.seconds, dequeue=a.dequeue,
                     dequeue_batch_size=a.batch, enqueue=a.enqueue,
                     enqueue_batch_size=a.enqueue_batch, jobs=a.jobs,
                     output_json=mod.Path(out),
                     strategy=mod.StrategyEnum(a.strategy))
        with open(out) as f:
            r = json.load(f)
    elapsed = r["elapsed"]
    if isinstance(elapsed, str):  # pydantic's ISO 8601 duration, PT12.3S
        import re
        m = re.match(r"P(?:T(?:(\d+)H)?(?:(\d+)M)?(?:([\d.]+)S)?)?$", elapsed)
        elapsed = (int(m.group(1) or 0) * 3600 + int(m.group(2) or 0) * 60
                   + float(m.group(3) or 0)) if m else 0.0
    if a.strategy == "throughput" and at_stop.get("elapsed"):
        r["steps"], elapsed = at_stop["n"], float(at_stop["elapsed"])
        r["rate"] = at_stop["n"] / elapsed
    print(json.dumps({"system": "pgqueuer", "mode": a.strategy, "variant":
                      f"{a.dequeue} tasks", "batch": a.batch, "jobs": int(r["steps"]),
                      "seconds": float(elapsed), "jobs_per_s": float(r["rate"]),
                      "backlog_left": r.get("queued")}), flush=True)


if __name__ == "__main__":
    main()
