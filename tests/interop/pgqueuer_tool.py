"""pgqueuer_tool.py: drives the real PgQueuer library against the test database
for tests/cli/cli_interop.sh (connection from the PG* environment).

  verify                     PgQueuer's worker start-up check (verify_structure)
  enqueue EP N [PRIO]        enqueue N jobs (payload b"py-<i>"), print the ids
  work EP=BEHAVIOUR...       a QueueManager in drain mode; BEHAVIOUR is ok, fail
                             (raises, on_failure='hold'), slow (sleeps until
                             cancelled) or limN (ok after 2 s, concurrency_limit N)
  failed                     list_failed_jobs: "id entrypoint attempts" per line
  requeue ID...              requeue_jobs
  cancel ID...               mark_job_as_cancelled (PgQueuer's cancel)
  traceback ID               the newest traceback of the job in the log, parsed
                             by PgQueuer's TracebackRecord: "type|message"
"""
import asyncio
import sys
from datetime import timedelta

import asyncpg
from pgqueuer.adapters.drivers.asyncpg import AsyncpgDriver
from pgqueuer.core.qm import QueueManager
from pgqueuer.domain import models
from pgqueuer.domain.types import QueueExecutionMode
from pgqueuer.queries import Queries


async def main(argv):
    conn = await asyncpg.connect()
    try:
        driver = AsyncpgDriver(conn)
        q = Queries(driver)
        cmd, args = argv[0], argv[1:]
        if cmd == "verify":
            await QueueManager(q).verify_structure()
            print("verify_structure passed")
        elif cmd == "enqueue":
            ep, n = args[0], int(args[1])
            prio = int(args[2]) if len(args) > 2 else 0
            ids = await q.enqueue([ep] * n, [f"py-{i}".encode() for i in range(n)], [prio] * n)
            print("\n".join(str(i) for i in ids))
        elif cmd == "work":
            await work(q, args)
        elif cmd == "failed":
            for job in await q.list_failed_jobs(limit=1000):
                print(job.id, job.entrypoint, job.attempts)
        elif cmd == "requeue":
            await q.requeue_jobs([models.JobId(int(i)) for i in args])
        elif cmd == "cancel":
            await q.mark_job_as_cancelled([models.JobId(int(i)) for i in args])
        elif cmd == "traceback":
            raw = await conn.fetchval(
                "SELECT traceback FROM pgqueuer_log WHERE job_id = $1 AND traceback IS NOT NULL "
                "ORDER BY id DESC LIMIT 1", int(args[0]))
            rec = models.TracebackRecord.model_validate_json(raw)
            print(f"{rec.exception_type}|{rec.exception_message}")
        else:
            raise SystemExit(f"unknown command {cmd}")
    finally:
        await conn.close()


async def work(q, specs):
    qm = QueueManager(q)
    for spec in specs:
        ep, behaviour = spec.split("=", 1)
        register(qm, ep, behaviour)
    await qm.run(dequeue_timeout=timedelta(seconds=1), batch_size=2,
                 mode=QueueExecutionMode.drain, heartbeat_timeout=timedelta(seconds=30),
                 log_aggregation_interval=timedelta(0))


def register(qm, ep, behaviour):
    if behaviour == "ok":
        @qm.entrypoint(ep)
        async def ok(job):
            pass
    elif behaviour == "fail":
        @qm.entrypoint(ep, on_failure="hold")
        async def fail(job):
            raise ValueError(f"python refused {job.payload!r}")
    elif behaviour == "slow":
        @qm.entrypoint(ep)
        async def slow(job):
            await asyncio.sleep(60)
    elif behaviour.startswith("lim"):
        @qm.entrypoint(ep, concurrency_limit=int(behaviour[3:]))
        async def lim(job):
            await asyncio.sleep(2)
    else:
        raise SystemExit(f"unknown behaviour {behaviour}")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
