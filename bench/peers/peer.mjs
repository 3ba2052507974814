// peer.mjs: the peers of bench/run, driven the same way as pgq_bench.
//
//   node peer.mjs SYSTEM ROLE [--jobs N] [--batch N] [--seconds S] [--warmup S]
//
// SYSTEM: graphile-worker or pg-boss. ROLE:
//   fill        enqueue --jobs no-op jobs in batches of --batch, then exit
//   drain       one worker process drains the queue; prints one JSON line
//   throughput  a producer process (ROLE produce) enqueues batches of --batch
//               flat out while this process works; prints one JSON line
//   produce     enqueue batches until SIGTERM, then print the count
// Connection: the PG* variables (PGHOST may be a unix socket folder).
//
// Each is configured for throughput as its own documentation recommends:
// graphile-worker with the "Performance" page's batching preset (local
// queue, batched completion, 24 concurrent jobs, pool of 25) and addJobs;
// pg-boss with batch fetching (batchSize 100), four local fetch loops
// (localConcurrency: 4 drained fastest of 1, 2, 4, 8 and 16 here), burst
// fetching while batches come back full, LISTEN/NOTIFY wake-ups and
// insert() for batches.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import pg from "pg";

const QUEUE = "bench";
const args = process.argv.slice(2);
const system = args[0];
const role = args[1];
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const jobs = opt("jobs", 100000);
const batch = opt("batch", 100);
const seconds = opt("seconds", 10);
const warmup = opt("warmup", 2);
// --defaults 1: the worker as installed, no options beyond the connection
// (graphile-worker: concurrency 1, no local queue, no batched completion;
// pg-boss: work() with its default batchSize 1 and 2 s polling).
const defaults = opt("defaults", 0) === 1;

const db = process.env.PGDATABASE || "postgres";
const conn = {
  host: process.env.PGHOST,
  port: Number(process.env.PGPORT || 5432),
  user: process.env.PGUSER || "postgres",
  database: db,
};
const connString = `postgres://${encodeURIComponent(conn.user)}@/${encodeURIComponent(db)}` +
  `?host=${encodeURIComponent(conn.host || "/var/run/postgresql")}&port=${conn.port}`;

const now = () => Number(process.hrtime.bigint()) / 1e9;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const silentLogger = () => {
  const log = () => {};
  return { error: console.error, warn: log, info: log, debug: log };
};

// ---- graphile-worker -------------------------------------------------------
async function gw() {
  const gwm = await import("graphile-worker");
  const preset = defaults ? { worker: { connectionString: connString } } : {
    worker: {
      connectionString: connString,
      concurrentJobs: 24,
      maxPoolSize: 25,
      localQueue: { size: 500 },
      completeJobBatchDelay: 0,
      failJobBatchDelay: 0,
      pollInterval: 2000,
    },
  };
  const logger = new gwm.Logger(() => (level, message) => {
    if (level === "error") console.error(message);
  });
  return {
    async migrate() {
      await gwm.runMigrations({ preset, logger });
    },
    async producer() {
      const utils = await gwm.makeWorkerUtils({ preset, logger });
      return {
        add: (n, base) =>
          utils.addJobs(Array.from({ length: n }, (_, i) => ({
            identifier: QUEUE, payload: { i: base + i } }))),
        close: () => utils.release(),
      };
    },
    async worker(onJob) {
      const runner = await gwm.run({
        preset, logger, noHandleSignals: true,
        taskList: { [QUEUE]: async () => onJob() },
      });
      return { stop: () => runner.stop() };
    },
    pendingSql: "SELECT count(*)::int AS n FROM graphile_worker.jobs",
    variant: defaults ? "defaults" : "batched",
    fetchBatch: defaults ? 1 : 500, // the local queue's fetch
  };
}

// ---- pg-boss ---------------------------------------------------------------
async function boss() {
  const { PgBoss } = await import("pg-boss");
  const make = async () => {
    const b = new PgBoss({
      connectionString: connString, max: 10, schedule: false, supervise: false,
      useListenNotify: true,
    });
    b.on("error", (e) => console.error("pg-boss:", e.message));
    await b.start();
    return b;
  };
  return {
    async migrate() {
      const b = await make();
      if (!(await b.getQueue(QUEUE)))
        await b.createQueue(QUEUE, { notify: true });
      await b.stop({ graceful: false, wait: true });
    },
    async producer() {
      const b = await make();
      return {
        add: (n, base) => b.insert(QUEUE, Array.from({ length: n }, (_, i) => ({
          data: { i: base + i } }))),
        close: () => b.stop({ graceful: false, wait: true }),
      };
    },
    async worker(onJob) {
      const b = await make();
      await b.work(QUEUE, defaults ? {} : {
        batchSize: 100, localConcurrency: 4, burstWhenBatchFull: true,
        pollingIntervalSeconds: 0.5,
      }, async (js) => { for (let k = 0; k < js.length; k++) onJob(); });
      return { stop: () => b.stop({ graceful: true, wait: true, timeout: 30000 }) };
    },
    variant: defaults ? "defaults" : "batchSize 100 x4",
    fetchBatch: defaults ? 1 : 100,
    pendingSql: "SELECT count(*)::int AS n FROM pgboss.job " +
      "WHERE name = 'bench' AND state IN ('created', 'retry', 'active')",
  };
}

// ---- roles -----------------------------------------------------------------
async function pending(client, sql) {
  return (await client.query(sql)).rows[0].n;
}

function usage() {
  const ru = process.resourceUsage();
  return { rss: ru.maxRSS, cpu: (ru.userCPUTime + ru.systemCPUTime) / 1e6 };
}

async function fill(sys) {
  await sys.migrate();
  const p = await sys.producer();
  for (let done = 0; done < jobs; done += batch)
    await p.add(Math.min(batch, jobs - done), done);
  await p.close();
}

async function drain(sys) {
  const client = new pg.Client(conn);
  await client.connect();
  const total = await pending(client, sys.pendingSql);
  let handled = 0, first = 0;
  const w = await sys.worker(() => {
    if (handled++ === 0) first = now();
  });
  // Completions are batched: the queue is empty once the last one commits.
  while (handled < total) await sleep(5);
  while (await pending(client, sys.pendingSql) > 0) await sleep(5);
  const end = now();
  await w.stop();
  await client.end();
  const u = usage();
  print({ mode: "drain", variant: sys.variant, batch: sys.fetchBatch, jobs: total, seconds: end - first,
    jobs_per_s: total / (end - first), peak_rss_kb: u.rss,
    client_cpu_s_per_100k: (u.cpu * 100000) / total });
}

async function produce(sys) {
  const p = await sys.producer();
  let count = 0, stop = false;
  process.on("SIGTERM", () => { stop = true; });
  while (!stop) {
    await p.add(batch, count);
    count += batch;
  }
  await p.close();
  process.stdout.write(`${count}\n`);
}

async function throughput(sys) {
  const client = new pg.Client(conn);
  await client.connect();
  let handled = 0;
  const w = await sys.worker(() => { handled++; });
  const self = fileURLToPath(import.meta.url);
  const child = spawn(process.execPath, [self, system, "produce", "--batch", String(batch)],
    { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  child.stdout.on("data", (d) => { out += d; });
  await sleep(warmup * 1000);
  const t0 = now(), h0 = handled;
  await sleep(seconds * 1000);
  const t1 = now(), h1 = handled;
  const exited = new Promise((r) => child.on("exit", r));
  child.kill("SIGTERM");
  await exited;
  const left = await pending(client, sys.pendingSql);
  await w.stop();
  await client.end();
  const u = usage();
  print({ mode: "throughput", variant: sys.variant, batch, jobs: h1 - h0, seconds: t1 - t0,
    jobs_per_s: (h1 - h0) / (t1 - t0), backlog_left: left,
    produced_total: Number(out.trim()) || 0, peak_rss_kb: u.rss });
}

function print(fields) {
  process.stdout.write(JSON.stringify({ system, ...fields }) + "\n");
}

async function main() {
  const sys = system === "graphile-worker" ? await gw()
    : system === "pg-boss" ? await boss() : null;
  if (!sys) throw new Error(`unknown system '${system}'`);
  const roles = { fill, drain, produce, throughput };
  if (!roles[role]) throw new Error(`unknown role '${role}'`);
  await roles[role](sys);
}

main().then(() => process.exit(0), (e) => {
  console.error(`peer.mjs ${system} ${role}: ${e.stack || e}`);
  process.exit(1);
});
