"""pgqueuer_scheduler.py: runs the real PgQueuer 1.3.2 SchedulerManager for
the interoperability test (cli_schedule_pgqueuer.sh).

Usage: python pgqueuer_scheduler.py EXPRESSION ENTRYPOINT OUTFILE
Registers one schedule and runs until SIGTERM; each run appends a JSON line
to OUTFILE. Connects with libpq's PG* variables (asyncpg reads them).

PgQueuer 1.3.2 needs croniter >= 5, whose croniter objects have an
`expressions` attribute (the expression lower-cased, alias expanded and
split); Debian 12 ships croniter 1.3.5 without it. The shim below adds it
the way croniter >= 2 computes it, so PgQueuer stores the same text.
"""
import asyncio
import json
import signal
import sys

import croniter as croniter_module

ALIASES = {"@midnight": "0 0 * * *", "@hourly": "0 * * * *", "@daily": "0 0 * * *",
           "@weekly": "0 0 * * 0", "@monthly": "0 0 1 * *", "@yearly": "0 0 1 1 *",
           "@annually": "0 0 1 1 *"}

if not hasattr(croniter_module.croniter("* * * * *"), "expressions"):
    _init = croniter_module.croniter.__init__

    def _init_with_expressions(self, expr_format, *args, **kwargs):
        _init(self, expr_format, *args, **kwargs)
        low = expr_format.lower()
        self.expressions = ALIASES.get(low, low).split()

    croniter_module.croniter.__init__ = _init_with_expressions

import asyncpg  # noqa: E402
from pgqueuer.core.sm import SchedulerManager  # noqa: E402
from pgqueuer.queries import Queries  # noqa: E402


async def main(expression, entrypoint, out):
    conn = await asyncpg.connect(server_settings={"application_name": "pgqueuer"})
    sm = SchedulerManager(Queries.from_asyncpg_connection(conn))

    @sm.schedule(entrypoint, expression)
    async def run(schedule):
        with open(out, "a") as f:
            f.write(json.dumps({"runner": "pgqueuer", "schedule_id": schedule.id,
                                "next_run": schedule.next_run.isoformat()}) + "\n")

    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, sm.shutdown.set)
    await sm.run()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
