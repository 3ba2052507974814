#!/usr/bin/env python3
"""cron_oracle.py: compares pgq's cron expressions with croniter's.

Usage: cron_oracle.py HELPER [COUNT] [SEED]

Generates COUNT random expressions (lists, ranges, steps, names, L, #N,
six fields, aliases, odd spacing and case, and invalid ones) plus fixed edge
cases, and checks for each, against croniter (the library PgQueuer's
scheduler uses):
  - pgq accepts exactly what croniter accepts (R and H, which need a random
    source or a hash id, are left out: pgq refuses them on purpose);
  - the normalised text equals " ".join(croniter(expr).expressions), i.e.
    lower case, alias expanded, split on white space (what PgQueuer stores);
  - the next 1,000 fire times from a random start (and edge starts: Feb 29,
    month ends, year ends) are equal; croniter finding none means pgq
    reports "never".
HELPER is tests/cron_next (reads START, COUNT, EXPRESSION lines).
Prints the first mismatches and a summary; exits 1 on any mismatch.
"""
import multiprocessing
import random
import subprocess
import sys
from datetime import datetime, timezone

from croniter import croniter

FIRES = 1000
RANGES = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 7), (0, 59)]
MONTHS = "jan feb mar apr may jun jul aug sep oct nov dec".split()
DAYS = "sun mon tue wed thu fri sat".split()
ALIASES = ["@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight",
           "@hourly", "@HOURLY"]


def value(rng, f, lo, hi):
    if f == 3 and rng.random() < 0.3:
        return rng.choice(MONTHS)
    if f == 4 and rng.random() < 0.3:
        return rng.choice(DAYS)
    return str(rng.randint(lo, hi))


def element(rng, f, wild):
    lo, hi = RANGES[f]
    if wild:  # sometimes step outside the range, to reach the error paths
        lo, hi = lo - 1, hi + 2
    r = rng.random()
    if r < 0.25:
        return value(rng, f, lo, hi)
    if r < 0.45:
        a, b = sorted([rng.randint(lo, hi), rng.randint(lo, hi)])
        if f in (3, 4) and rng.random() < 0.3:
            names = MONTHS if f == 3 else DAYS
            a, b = sorted(rng.sample(range(len(names)), 2))
            return "%s-%s" % (names[a], names[b])
        s = "%d-%d" % (a, b)
        return s + ("/%d" % rng.randint(1, 20) if rng.random() < 0.4 else "")
    if r < 0.6:
        return "*/%d" % rng.randint(1 if not wild else 0, 25)
    if r < 0.7:
        return "%d/%d" % (rng.randint(lo, hi), rng.randint(1, 15))
    if f == 2 and r < 0.8:
        return rng.choice(["l", "L", "15-l", "l"])
    if f == 4 and r < 0.85:
        return "%s#%d" % (value(rng, 4, 0, 7), rng.randint(1, 5 if not wild else 6))
    if f == 4 and r < 0.9:
        return "L%d" % rng.randint(0, 7)
    return "*"


def field(rng, f, wild):
    r = rng.random()
    if r < 0.3:
        return "*"
    n = 1 if r < 0.7 else rng.randint(2, 4)
    return ",".join(element(rng, f, wild) for _ in range(n))


def expression(rng):
    if rng.random() < 0.03:
        return rng.choice(ALIASES)
    wild = rng.random() < 0.15
    n = 6 if rng.random() < 0.3 else 5
    if wild and rng.random() < 0.1:
        n = rng.choice([4, 7])
    fields = [field(rng, f if f < 6 else 5, wild) for f in range(n)]
    # Restricting both day fields more often exercises the "or".
    if len(fields) >= 5 and rng.random() < 0.2:
        fields[2] = element(rng, 2, False)
        fields[4] = element(rng, 4, False)
    sep = "  " if rng.random() < 0.05 else (" \t" if rng.random() < 0.03 else " ")
    s = sep.join(fields)
    if rng.random() < 0.1:
        s = s.upper()
    return s


EDGES = [
    "0 0 29 2 *", "0 0 L 2 *", "0 0 30 2 *", "0 0 31 2 *", "0 0 31 * *", "0 0 L * *",
    "0 0 1,30 * *", "0 0 1,31 * *", "59 23 L * *", "0 12 29 2 mon", "0 0 * * 1#5",
    "0 0 * * 5#5", "0 0 * * L5", "0 0 * * l0", "0 0 * * sun#1,sat#5", "0 0 13 * fri",
    "0 0 1-31 * mon", "* * * * 7", "0 0 * * 7 0", "0 0 * * 0,7 0", "0 0 0 * * *",
    "*/15 * * * * */20", "0 0 1 jan-mar,oct *", "0 0 * * mon-fri", "0 0 * * 5-0",
    "0 0 * * sat-sun", "0 9-17/2 * * 1-5", "30 2 * * *", "* * * * * *", "@yearly",
    "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly", "0 0 31 4,6 *",
    "0 0 L 2 * 30", "1,2,3 * * * *", "0 0 15,l * *", "0 0 * 2 1#5",
]


def starts(rng):
    base = [datetime(2024, 2, 28, 23, 59, 30), datetime(2024, 2, 29, 12, 0, 0),
            datetime(2023, 12, 31, 23, 59, 59), datetime(2025, 1, 31, 0, 0, 0),
            datetime(2100, 2, 28, 0, 0, 0), datetime(2024, 4, 30, 23, 59, 0)]
    t = rng.choice(base) if rng.random() < 0.3 else datetime.fromtimestamp(
        rng.randint(946684800, 4102444800), tz=timezone.utc).replace(tzinfo=None)
    return int(t.replace(tzinfo=timezone.utc).timestamp())


def refused_on_purpose(expr):
    fields = expr.lower().split()
    return any(f[:1] in ("r", "h") for f in fields)


ALIAS_TEXT = {"@midnight": "0 0 * * *", "@hourly": "0 * * * *", "@daily": "0 0 * * *",
              "@weekly": "0 0 * * 0", "@monthly": "0 0 1 * *", "@yearly": "0 0 1 1 *",
              "@annually": "0 0 1 1 *"}


def normalised(expr):
    """croniter >= 2's `expressions`, which PgQueuer joins and stores."""
    low = expr.lower()
    return " ".join(ALIAS_TEXT.get(low, low).split())


def check(item):
    start, expr = item
    try:
        valid = croniter.is_valid(expr)
    except Exception:  # noqa: BLE001
        valid = False
    if not valid:
        return ("invalid", None, None)
    fires = []
    try:
        c = croniter(expr, datetime.fromtimestamp(start, tz=timezone.utc))
        while len(fires) < FIRES:
            fires.append(int(c.get_next(float)))
    except Exception:  # noqa: BLE001 - CroniterBadDateError, or past year 9999
        if not fires:
            return ("never", normalised(expr), None)
    return ("ok", normalised(expr), fires)


def main():
    helper = sys.argv[1]
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 20261207
    rng = random.Random(seed)
    items = []
    for e in EDGES:
        for _ in range(3):
            items.append((starts(rng), e))
    while len(items) < count + len(EDGES) * 3:
        e = expression(rng)
        if not refused_on_purpose(e):
            items.append((starts(rng), e))
    payload = "".join("%d\t%d\t%s\n" % (s, FIRES, e) for s, e in items)
    out = subprocess.run([helper], input=payload, capture_output=True, text=True,
                         check=True).stdout.splitlines()
    with multiprocessing.Pool() as pool:
        want = pool.map(check, items, chunksize=20)
    bad = 0
    kinds = {"ok": 0, "never": 0, "invalid": 0}
    fires = 0
    for (start, expr), line, (kind, text, times) in zip(items, out, want):
        got = line.split("\t")
        kinds[kind] += 1
        problem = None
        if got[0] != kind:
            problem = "pgq says %s, croniter %s" % (line[:200], kind)
        elif kind != "invalid" and got[1] != text:
            problem = "text %r, croniter's %r" % (got[1], text)
        elif kind == "ok":
            # croniter stops at year 9999 (Python's datetime): compare as far
            # as it got.
            mine = [int(x) for x in got[2].split()][:len(times)]
            fires += len(times)
            if mine != times:
                i = next((k for k in range(min(len(mine), len(times)))
                          if mine[k] != times[k]), min(len(mine), len(times)))
                fmt = lambda t: datetime.fromtimestamp(t, tz=timezone.utc).isoformat()  # noqa
                problem = "fire %d: pgq %s, croniter %s" % (
                    i, fmt(mine[i]) if i < len(mine) else "-",
                    fmt(times[i]) if i < len(times) else "-")
        if problem:
            bad += 1
            if bad <= 20:
                print("MISMATCH %r from %s: %s" % (
                    expr, datetime.fromtimestamp(start, tz=timezone.utc).isoformat(),
                    problem))
    print("%d expressions (%d firing, %d never firing, %d invalid), %d fire times "
          "compared, %d mismatches" % (len(items), kinds["ok"], kinds["never"],
                                       kinds["invalid"], fires, bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
