import { spawn } from "node:child_process";
import { join } from "node:path";

import sqlite3 from "sqlite3";

import { emptyResult, LoadClient, median, percentile, RunResult } from "./load";
import { DIST, LlmProxyTarget } from "./llm-proxy-target";

export type RetentionReport =
  | {
      rows: number;
      jobSeconds: number;
      jobOutput: string;
      lockWaitsMs: { p50: number; p99: number; max: number; samples: number };
      before: { p50: number; p99: number; max: number; calls: number };
      during: { p50: number; p99: number; max: number; calls: number };
    }
  | { error: string };

const DAY_MS = 86_400_000;
const BASELINE_MS = 5_000;

/**
 * Measures retention on a SQLite database with `rows` request rows older than the retention window: how long the
 * job holds the write lock at a time, seen by a probe that keeps asking for it, and how much a proxied call's
 * latency grows while the job runs (`jobs run retention` through the CLI, on the server's core).
 */
export async function measureRetention(
  folder: string,
  upstreamPort: number,
  rows: number,
  core: number,
): Promise<RetentionReport> {
  const proxy = await LlmProxyTarget.create(
    "sqlite",
    folder,
    upstreamPort,
    1,
    "",
  );
  try {
    await insertOldRows(proxy.env.SQLITE_PATH, rows);
    const server = await proxy.start(core);
    const client = new LoadClient(
      {
        name: "retention",
        url: `http://127.0.0.1:${server.port}`,
        headerSets: [{ authorization: `Bearer ${proxy.tokens[0]}` }],
        model: "bench-instant",
      },
      1,
      { stream: false, maxTokens: 64 },
    );

    await callUntil(client, emptyResult(), () => false, 300);
    const before = emptyResult();
    const baselineEnd = performance.now() + BASELINE_MS;
    await callUntil(client, before, () => performance.now() > baselineEnd);

    const jobStarted = performance.now();
    const job = runJob(proxy, core);
    let jobDone = false;
    const output = job.finally(() => {
      jobDone = true;
    });
    const during = emptyResult();
    const [jobOutput, lockWaits] = await Promise.all([
      output,
      probeLock(proxy.env.SQLITE_PATH, () => jobDone),
      callUntil(client, during, () => jobDone),
    ]);
    const jobSeconds = (performance.now() - jobStarted) / 1000;
    await client.close();

    return {
      rows,
      jobSeconds,
      jobOutput: summariseJob(jobOutput),
      lockWaitsMs: {
        p50: median(lockWaits),
        p99: percentile(lockWaits, 0.99),
        max: Math.max(...lockWaits),
        samples: lockWaits.length,
      },
      before: stats(before),
      during: stats(during),
    };
  } finally {
    await proxy.dispose();
  }
}

function stats(result: RunResult): {
  p50: number;
  p99: number;
  max: number;
  calls: number;
} {
  const latencies = result.samples.map((sample) => sample.latencyMs);
  return {
    p50: median(latencies),
    p99: percentile(latencies, 0.99),
    max: Math.max(...latencies),
    calls: result.ok,
  };
}

/** Sequential calls until `done()` or `limit` calls. */
async function callUntil(
  client: LoadClient,
  result: RunResult,
  done: () => boolean,
  limit = 1_000_000,
): Promise<void> {
  for (let index = 0; index < limit && !done(); index += 1) {
    await client.call(result);
  }
}

function runJob(proxy: LlmProxyTarget, core: number): Promise<string> {
  const child = spawn(
    "taskset",
    [
      "-c",
      String(core),
      process.execPath,
      join(DIST, "src", "cli", "main.js"),
      "jobs",
      "run",
      "retention",
    ],
    {
      cwd: join(DIST, ".."),
      env: { ...process.env, ...proxy.env, LOG_LEVEL: "warn" },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let output = "";
  child.stdout.on("data", (data: Buffer) => (output += data.toString()));
  child.stderr.on("data", (data: Buffer) => (output += data.toString()));
  return new Promise((resolve, reject) =>
    child.once("exit", (code) =>
      code === 0
        ? resolve(output)
        : reject(new Error(`retention job failed (${code}): ${output}`)),
    ),
  );
}

/** Inserts `rows` completed request rows dated 200 to 300 days ago, in one transaction. */
async function insertOldRows(path: string, rows: number): Promise<void> {
  const db = new sqlite3.Database(path);
  const oldest = Date.now() - 300 * DAY_MS;
  const step = Math.max(1, Math.floor((100 * DAY_MS) / rows));
  const sql = `
    with recursive seq(n) as (select 1 union all select n + 1 from seq where n < ${rows})
    insert into llm_requests (request_id, client_id, token_id, provider_id, model_config_id, model, endpoint, status,
      streamed, prompt_tokens, completion_tokens, usage_estimated, cost, latency_ms, ttft_ms, created_at)
    select 'old-' || n, 1, 1, 1, 1, 'bench-instant', 'chat.completions', 'completed', 0, 12, 5, 0, 80000, 3, 3,
      ${oldest} + n * ${step}
    from seq`;
  try {
    await new Promise<void>((resolve, reject) =>
      db.exec(`pragma journal_mode = wal; begin; ${sql}; commit`, (error) =>
        error ? reject(error) : resolve(),
      ),
    );
  } finally {
    await new Promise<void>((resolve) => db.close(() => resolve()));
  }
}

/**
 * Asks for the write lock every 2 ms (`begin immediate`, then an empty commit) until `done()`, and returns how
 * long each request waited, in milliseconds. The longest wait approaches the longest time the job held the lock.
 */
async function probeLock(path: string, done: () => boolean): Promise<number[]> {
  const db = new sqlite3.Database(path);
  db.configure("busyTimeout", 30_000);
  const run = (sql: string) =>
    new Promise<void>((resolve, reject) =>
      db.run(sql, (error) => (error ? reject(error) : resolve())),
    );
  const waits: number[] = [];
  try {
    while (!done()) {
      const started = performance.now();
      await run("begin immediate");
      waits.push(performance.now() - started);
      await run("commit");
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  } finally {
    await new Promise<void>((resolve) => db.close(() => resolve()));
  }
  return waits;
}

/** Picks the deleted row counts out of the CLI's JSON report of the run. */
function summariseJob(output: string): string {
  const requests = /"llm_requests":\s*(\d+)/.exec(output)?.[1];
  const reservations = /"credit_reservations":\s*(\d+)/.exec(output)?.[1];
  const complete = /"complete":\s*(true|false)/.exec(output)?.[1];
  return `deleted ${requests ?? "?"} request rows and ${reservations ?? "?"} reservations, complete: ${complete ?? "?"}`;
}
