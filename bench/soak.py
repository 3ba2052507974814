"""bench/run --soak MINUTES: steady state over time (imported by bench/run).

The queue's capacity is measured first (throughput mode in the soak's own
shape: two producers of 10-job statements flat out beside a worker at pgq
run's defaults, batch 10, 32 threads). Then, with the tables configured by
`pgq autovac` and no VACUUM of our own, one worker runs for the whole soak
while producers offer 70% of that capacity (--soak-fraction) (pgq_bench latency --keep
--interval 60), and the tables are sampled once a minute. Per minute:
jobs/s handled, p50/p99 enqueue-to-start latency of the jobs enqueued in
it, sizes of the queue and log tables and their indexes, dead tuples and
autovacuum runs. After each minute's sample the log is pruned to its last
five minutes (`pgq prune --older-than 5m`, as an operator's timer would). Writes soak.jsonl and soak.svg into the bench work folder
and prints a table.
"""
import json
import os
import threading
import time

SIZES_SQL = """
SELECT json_build_object(
  'queue_table_kb', pg_relation_size('pgqueuer') / 1024,
  'queue_index_kb', pg_indexes_size('pgqueuer') / 1024,
  'log_table_kb', pg_relation_size('pgqueuer_log') / 1024,
  'log_index_kb', pg_indexes_size('pgqueuer_log') / 1024,
  'queue_rows', (SELECT count(*) FROM pgqueuer),
  'queue_dead', (SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = 'pgqueuer'),
  'log_dead', (SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = 'pgqueuer_log'),
  'queue_autovacuums',
    (SELECT autovacuum_count FROM pg_stat_user_tables WHERE relname = 'pgqueuer'))
"""

RETENTION = "5m"

COLS = [("minute", "min", 0), ("jobs_per_s", "jobs/s", 0), ("p50_ms", "p50 ms", 2),
        ("p99_ms", "p99 ms", 2), ("queue_table_kb", "queue kB", 0),
        ("queue_index_kb", "q idx kB", 0), ("log_table_kb", "log kB", 0),
        ("log_index_kb", "log idx kB", 0), ("queue_dead", "q dead", 0),
        ("log_dead", "log dead", 0), ("queue_autovacuums", "q autovac", 0), ("prune_s", "prune s", 2)]


def soak(b, minutes, Failed, log):
    db = "bench_pgq"
    seconds = 60 if not b.args.smoke else 1
    b.fresh_db(db)
    b.run([b.pgq_bench, "reset"], db=db)
    b.run([b.pgq, "autovac"], db=db)
    # Capacity as the soak runs: producers and the worker at once, in the
    # soak's shape (two producers, statements of 10, worker at pgq run's
    # defaults). A drain alone (no producers sharing the two cores) promised
    # more than the worker sustained beside producers.
    out = b.run([b.pgq_bench, "throughput", "--json", "--batch", "10", "--producers", "2",
                 "--worker-batch", "10", "--threads", "32",
                 "--seconds", str(10 if not b.args.smoke else 1),
                 "--warmup", str(2 if not b.args.smoke else 0.5)], db=db)
    cap = [json.loads(l) for l in out.splitlines() if l.startswith("{")][-1]["jobs_per_s"]
    fraction = b.args.soak_fraction
    rate = max(10, int(cap * fraction))
    log(f"soak: capacity {cap:.0f} jobs/s (throughput, 2 producers of 10-job statements); "
        f"offering {rate}/s ({fraction:.0%}) for {minutes} minute(s)")
    b.run([b.pgq_bench, "reset"], db=db)
    # One worker and its producers for the whole soak (pgq_bench latency
    # --interval: a row per minute at the end), while this thread samples
    # the tables once a minute.
    samples, stop = {}, threading.Event()

    def sampler():
        t0 = time.monotonic()
        for m in range(1, minutes + 1):
            if stop.wait(max(0.0, t0 + m * seconds - time.monotonic())):
                return
            try:
                samples[m] = json.loads(b.psql(db, SIZES_SQL))
                # What an operator's timer would run: the log keeps
                # RETENTION of history (without it the log, and every
                # vacuum of it, grows for as long as the soak runs).
                t1 = time.monotonic()
                b.run([b.pgq, "prune", "--older-than", RETENTION], db=db)
                samples[m]["prune_s"] = round(time.monotonic() - t1, 2)
            except Failed as e:
                samples[m] = {"sample_failed": str(e)[-200:]}
            log(f"soak: minute {m}: " + " ".join(f"{k}={v}" for k, v in samples[m].items()))

    t = threading.Thread(target=sampler, daemon=True)
    t.start()
    per_minute = {}
    try:
        out = b.run([b.pgq_bench, "latency", "--json", "--keep", "--rate", str(rate),
                     "--seconds", str(minutes * seconds), "--interval", str(seconds),
                     "--batch", "10", "--worker-batch", "10", "--threads", "32",
                     "--producers", "2"], db=db)
        for line in out.splitlines():
            if line.startswith("{"):
                r = json.loads(line)
                per_minute[r.get("interval")] = r
    except Failed as e:
        b.failures.append(f"soak: {e}")
    stop.set()
    t.join()
    rows = []
    path = os.path.join(b.work, "soak.jsonl")
    with open(path, "w") as f:
        for m in range(1, minutes + 1):
            row = {"minute": m, "offered_per_s": rate, "capacity_per_s": round(cap)}
            r = per_minute.get(m, {})
            row.update({k: r[k] for k in ("jobs_per_s", "p50_ms", "p99_ms") if k in r})
            if r.get("backlog_left"):
                row["unhandled"] = r["backlog_left"]
            row.update(samples.get(m, {}))
            row = {k: (round(v, 3) if isinstance(v, float) else v) for k, v in row.items()}
            rows.append(row)
            f.write(json.dumps(row) + "\n")
    print(table(rows))
    first, last = rows[0], rows[-1]
    for k in ("jobs_per_s", "p99_ms"):
        if first.get(k) and last.get(k):
            print(f"last / first minute, {k}: {last[k] / first[k]:.2f}")
    svg = os.path.join(b.work, "soak.svg")
    with open(svg, "w") as f:
        f.write(plot(rows))
    log(f"soak: wrote {path} and {svg}")
    return rows


def table(rows, markdown=False):
    head = [c[1] for c in COLS]
    body = [[("" if r.get(k) is None else f"{r[k]:,.{d}f}" if isinstance(r[k], float)
              else f"{r[k]:,}") for k, _, d in COLS] for r in rows]
    if markdown:
        return "\n".join(["| " + " | ".join(head) + " |", "|" + "---:|" * len(head)] +
                         ["| " + " | ".join(x) + " |" for x in body])
    w = [max(len(h), *(len(x[i]) for x in body)) for i, h in enumerate(head)]
    lines = ["  ".join(h.rjust(w[i]) for i, h in enumerate(head))]
    lines += ["  ".join(x[i].rjust(w[i]) for i in range(len(head))) for x in body]
    return "\n".join(lines)


def plot(rows):
    """Four small panels (jobs/s, p99 ms, table sizes kB, dead tuples) as SVG:
    no plotting library is needed."""
    panels = [("jobs/s", ["jobs_per_s"]), ("p50 / p99 ms", ["p50_ms", "p99_ms"]),
              ("size kB: queue, queue idx, log, log idx",
               ["queue_table_kb", "queue_index_kb", "log_table_kb", "log_index_kb"]),
              ("dead tuples: queue, log", ["queue_dead", "log_dead"])]
    colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"]
    W, H, pad = 420, 200, 40
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{2 * W}" height="{2 * H}" '
           'font-family="sans-serif" font-size="11">',
           f'<rect width="{2 * W}" height="{2 * H}" fill="white"/>']
    n = max(len(rows), 2)
    for p, (title, keys) in enumerate(panels):
        ox, oy = (p % 2) * W, (p // 2) * H
        vals = [r.get(k) or 0 for r in rows for k in keys]
        top = max(vals + [1]) * 1.1
        out.append(f'<text x="{ox + pad}" y="{oy + 14}">{title} (max {max(vals + [0]):,.1f})</text>')
        out.append(f'<line x1="{ox + pad}" y1="{oy + H - pad}" x2="{ox + W - 10}" '
                   f'y2="{oy + H - pad}" stroke="black"/>')
        out.append(f'<line x1="{ox + pad}" y1="{oy + 20}" x2="{ox + pad}" '
                   f'y2="{oy + H - pad}" stroke="black"/>')
        out.append(f'<text x="{ox + W - 60}" y="{oy + H - pad + 14}">minute {len(rows)}</text>')
        for j, k in enumerate(keys):
            out.append(f'<text x="{ox + W - 120}" y="{oy + 30 + 12 * j}" '
                       f'fill="{colors[j]}">{k}</text>')
            pts = " ".join(
                f"{ox + pad + i * (W - pad - 10) / (n - 1):.1f},"
                f"{oy + H - pad - (r.get(k) or 0) / top * (H - pad - 20):.1f}"
                for i, r in enumerate(rows))
            out.append(f'<polyline fill="none" stroke="{colors[j]}" stroke-width="1.5" '
                       f'points="{pts}"/>')
    out.append("</svg>")
    return "\n".join(out) + "\n"
