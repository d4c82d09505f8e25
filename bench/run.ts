import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";

import { format } from "prettier";

import {
  CallShape,
  LoadClient,
  median,
  percentile,
  RunResult,
  runClosedLoop,
  runFixedRate,
  runSequential,
  Target,
} from "./load";
import { LlmProxyTarget, PROVIDER_KEY } from "./llm-proxy-target";
import {
  memoryOf,
  Started,
  startPinned,
  startStandIn,
  stop,
} from "./processes";
import { measureRetention, RetentionReport } from "./retention";
import { Report, REPORT_PATH, ScenarioRow, writePage } from "./report";

/**
 * The benchmark: starts the upstream stand-in, the floor, llm-proxy on SQLite and on PostgreSQL, and the Portkey
 * gateway, drives the same load through each in turn, checks llm-proxy's accounting after every run, and writes
 * BENCHMARKS.md. Targets are pinned to core 0; this process (the load generator) and the stand-in run on core 1.
 * `BENCH_QUICK=1` runs every scenario briefly, to check the script.
 */
const QUICK = process.env.BENCH_QUICK === "1";
const ROOT = join(__dirname, "..");
const TARGET_CORE = 0;
const LOAD_CORE = 1;
const PORTKEY_VERSION = "1.15.2";
const ADMIN_URL =
  process.env.BENCH_POSTGRES_URL ??
  "postgres://postgres@127.0.0.1:5432/postgres";

const SETTINGS = QUICK
  ? {
      rounds: 3,
      perRound: 100,
      warmup: 200,
      saturationMs: 3_000,
      rateMs: 3_000,
      rates: [50],
      contentionMs: 3_000,
      retentionRows: 100_000,
    }
  : {
      rounds: 7,
      perRound: 300,
      warmup: 500,
      saturationMs: 10_000,
      rateMs: 8_000,
      rates: [50, 100],
      contentionMs: 8_000,
      retentionRows: 1_000_000,
    };
const CONNECTIONS = 32;
const CONTENTION_CLIENTS = 8;
const CONTENTION_CONNECTIONS = 64;

interface NamedTarget {
  target: Target;
  kind: "direct" | "floor" | "llm-proxy" | "peer";
  process: Started | null;
  proxy: LlmProxyTarget | null;
  peakSampleMiB: number;
}

const JSON_SHAPE: CallShape = { stream: false, maxTokens: 64 };
const STREAM_SHAPE: CallShape = { stream: true, maxTokens: 64 };

function log(message: string): void {
  process.stderr.write(
    `[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`,
  );
}

async function main(): Promise<void> {
  const started = Date.now();
  const work = mkdtempSync(join(os.tmpdir(), "llmp-bench-"));
  const report: Report = {
    quick: QUICK,
    machine: machineFacts(),
    settings: {
      ...SETTINGS,
      connections: CONNECTIONS,
      contentionClients: CONTENTION_CLIENTS,
      contentionConnections: CONTENTION_CONNECTIONS,
    },
    sequential: [],
    saturation: [],
    provider: [],
    contention: [],
    memory: [],
    parity: [],
    retention: null,
    durationS: 0,
  };
  const targets: NamedTarget[] = [];

  try {
    log(`working in ${work}`);
    const standIn = await startStandIn(LOAD_CORE, join(work, "standin.log"));
    const upstream = `http://127.0.0.1:${standIn.port}`;
    const bearer = { authorization: `Bearer ${PROVIDER_KEY}` };

    targets.push({
      target: {
        name: "stand-in direct",
        url: upstream,
        headerSets: [bearer],
        model: "instant",
      },
      kind: "direct",
      process: null,
      proxy: null,
      peakSampleMiB: 0,
    });

    log("starting the floor");
    const floor = await startPinned(
      TARGET_CORE,
      [
        "-r",
        "ts-node/register/transpile-only",
        join(__dirname, "floor-server.ts"),
      ],
      {
        cwd: ROOT,
        env: { UPSTREAM_URL: upstream },
        logPath: join(work, "floor.log"),
        ready: /"listening":(\d+)/,
      },
    );
    targets.push({
      target: {
        name: "Fastify + undici floor",
        url: `http://127.0.0.1:${floor.port}`,
        headerSets: [bearer],
        model: "instant",
      },
      kind: "floor",
      process: floor,
      proxy: null,
      peakSampleMiB: 0,
    });

    for (const dialect of ["sqlite", "postgresql"] as const) {
      log(`seeding llm-proxy on ${dialect}`);
      const proxy = await LlmProxyTarget.create(
        dialect,
        join(work, `llmp-${dialect}`),
        standIn.port,
        CONTENTION_CLIENTS,
        ADMIN_URL,
      );
      const server = await proxy.start(TARGET_CORE);
      targets.push({
        target: {
          name: `llm-proxy (${dialect === "sqlite" ? "SQLite" : "PostgreSQL"})`,
          url: `http://127.0.0.1:${server.port}`,
          headerSets: [{ authorization: `Bearer ${proxy.tokens[0]}` }],
          model: "bench-instant",
        },
        kind: "llm-proxy",
        process: server,
        proxy,
        peakSampleMiB: 0,
      });
    }

    log(`installing @portkey-ai/gateway@${PORTKEY_VERSION}`);
    const portkeyDir = join(work, "portkey");
    execFileSync(
      "npm",
      [
        "install",
        "--prefix",
        portkeyDir,
        "--no-audit",
        "--no-fund",
        "--loglevel=error",
        `@portkey-ai/gateway@${PORTKEY_VERSION}`,
      ],
      {
        stdio: ["ignore", "ignore", "inherit"],
      },
    );
    const portkeyPort = 18_000 + Math.floor(Math.random() * 2_000);
    const portkey = await startPinned(
      TARGET_CORE,
      [
        "-r",
        join(__dirname, "portkey-compat.js"),
        join(
          portkeyDir,
          "node_modules/@portkey-ai/gateway/build/start-server.js",
        ),
        `--port=${portkeyPort}`,
        "--headless",
      ],
      {
        cwd: portkeyDir,
        env: { NODE_ENV: "production" },
        logPath: join(work, "portkey.log"),
        ready: /Ready for connections|running at/,
      },
    );
    portkey.port = portkeyPort;
    targets.push({
      target: {
        name: `Portkey gateway ${PORTKEY_VERSION}`,
        url: `http://127.0.0.1:${portkeyPort}`,
        headerSets: [
          {
            ...bearer,
            "x-portkey-provider": "openai",
            "x-portkey-custom-host": `${upstream}/v1`,
          },
        ],
        model: "instant",
      },
      kind: "peer",
      process: portkey,
      proxy: null,
      peakSampleMiB: 0,
    });

    await sequentialScenario(targets, report);
    for (const shape of [JSON_SHAPE, STREAM_SHAPE]) {
      await saturationScenario(targets, shape, report);
    }
    for (const rate of SETTINGS.rates) {
      await providerScenario(targets, rate, report);
    }
    await contentionScenario(targets, report);

    for (const named of targets) {
      if (named.process) {
        const memory = memoryOf(named.process.child.pid!);
        report.memory.push({
          target: named.target.name,
          kind: named.kind,
          peakMiB: memory.peakMiB,
          sampledMiB: named.peakSampleMiB,
        });
      }
    }

    for (const named of targets) {
      await stop(named.process);
      await named.proxy?.dispose();
    }
    targets.length = 0;

    log(`retention on ${SETTINGS.retentionRows} request rows`);
    report.retention = await measureRetention(
      join(work, "retention"),
      standIn.port,
      SETTINGS.retentionRows,
      TARGET_CORE,
    ).catch((error: unknown): RetentionReport => ({
      error: error instanceof Error ? error.message : String(error),
    }));
    await stop(standIn);
  } finally {
    for (const named of targets) {
      await stop(named.process).catch(() => undefined);
      await named.proxy?.dispose().catch(() => undefined);
    }
  }

  report.durationS = Math.round((Date.now() - started) / 1000);
  await writePage(report);
  // The raw numbers stay beside the page, so `npm run bench:render` can write the page again after the notes change.
  writeFileSync(
    REPORT_PATH,
    await format(
      JSON.stringify(report, (_key, value: unknown) =>
        typeof value === "bigint" ? value.toString() : value,
      ),
      { parser: "json" },
    ),
  );
  log(
    `wrote BENCHMARKS.md in ${report.durationS} s; raw numbers in ${REPORT_PATH}`,
  );
  if (process.env.BENCH_KEEP !== "1") {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Runs `work` on a target and, when it is llm-proxy, checks accounting parity after it. */
async function measured(
  named: NamedTarget,
  scenario: string,
  report: Report,
  work: () => Promise<RunResult>,
): Promise<RunResult> {
  await named.proxy?.beginRun();
  const sampler = named.process ? sampleMemory(named) : null;
  const result = await work();
  sampler?.stop();
  if (named.proxy) {
    const parity = await named.proxy.checkParity(result.ok);
    report.parity.push({ target: named.target.name, scenario, ...parity });
    log(`  parity ${parity.exact ? "exact" : "BROKEN"}: ${parity.detail}`);
  }
  return result;
}

function sampleMemory(named: NamedTarget): { stop(): void } {
  const timer = setInterval(() => {
    try {
      named.peakSampleMiB = Math.max(
        named.peakSampleMiB,
        memoryOf(named.process!.child.pid!).rssMiB,
      );
    } catch {
      // The process may have exited; the run reports that.
    }
  }, 250);
  return { stop: () => clearInterval(timer) };
}

function row(
  named: NamedTarget,
  result: RunResult,
  extra: Partial<ScenarioRow> = {},
): ScenarioRow {
  const latencies = result.samples.map((sample) => sample.latencyMs);
  const ttfb = result.samples.map((sample) => sample.ttfbMs);
  return {
    target: named.target.name,
    kind: named.kind,
    ok: result.ok,
    failures: result.failures,
    rps: (result.ok * 1000) / result.elapsedMs,
    p50: median(latencies),
    p99: percentile(latencies, 0.99),
    ttfbP50: median(ttfb),
    ttfbP99: percentile(ttfb, 0.99),
    ...extra,
  };
}

/** One call at a time; each round runs every target in turn, and the table reports the median of round medians. */
async function sequentialScenario(
  targets: NamedTarget[],
  report: Report,
): Promise<void> {
  log("sequential added latency");
  const clients = targets.map(
    (named) => new LoadClient(named.target, 1, JSON_SHAPE),
  );
  const medians = targets.map(() => [] as number[]);
  const p99s = targets.map(() => [] as number[]);
  const totals: { ok: number; failures: Record<string, number> }[] =
    targets.map(() => ({ ok: 0, failures: {} }));

  for (const [index, named] of targets.entries()) {
    await measured(named, "sequential warm-up", report, () =>
      runSequential(clients[index], SETTINGS.warmup),
    );
  }
  for (let round = 0; round < SETTINGS.rounds; round += 1) {
    for (const [index, named] of targets.entries()) {
      const result = await measured(
        named,
        `sequential round ${round + 1}`,
        report,
        () => runSequential(clients[index], SETTINGS.perRound),
      );
      const latencies = result.samples.map((sample) => sample.latencyMs);
      medians[index].push(median(latencies));
      p99s[index].push(percentile(latencies, 0.99));
      totals[index].ok += result.ok;
      for (const [key, count] of Object.entries(result.failures)) {
        totals[index].failures[key] =
          (totals[index].failures[key] ?? 0) + count;
      }
    }
  }
  await Promise.all(clients.map((client) => client.close()));

  for (const [index, named] of targets.entries()) {
    report.sequential.push({
      target: named.target.name,
      kind: named.kind,
      ok: totals[index].ok,
      failures: totals[index].failures,
      rps: 0,
      p50: median(medians[index]),
      p99: median(p99s[index]),
      ttfbP50: Number.NaN,
      ttfbP99: Number.NaN,
    });
    log(
      `  ${named.target.name}: p50 ${median(medians[index]).toFixed(3)} ms, p99 ${median(p99s[index]).toFixed(3)} ms`,
    );
  }
}

/** As many calls as 32 connections carry, one target at a time. */
async function saturationScenario(
  targets: NamedTarget[],
  shape: CallShape,
  report: Report,
): Promise<void> {
  const label = shape.stream ? "streaming" : "non-streaming";
  log(`saturation, ${CONNECTIONS} connections, ${label}`);
  for (const named of targets) {
    const client = new LoadClient(named.target, CONNECTIONS, shape);
    await measured(named, `saturation ${label} warm-up`, report, () =>
      runClosedLoop(client, CONNECTIONS, 1_000),
    );
    const result = await measured(named, `saturation ${label}`, report, () =>
      runClosedLoop(client, CONNECTIONS, SETTINGS.saturationMs),
    );
    await client.close();
    report.saturation.push(row(named, result, { stream: shape.stream }));
    log(
      `  ${named.target.name}: ${((result.ok * 1000) / result.elapsedMs).toFixed(0)} rps, failures ${JSON.stringify(result.failures)}`,
    );
  }
}

/** Streams from a provider-like upstream (50 ms to the first byte, 20 chunks 10 ms apart) at a fixed rate. */
async function providerScenario(
  targets: NamedTarget[],
  rate: number,
  report: Report,
): Promise<void> {
  log(
    `provider-like upstream at ${rate} requests/s over ${CONNECTIONS} connections`,
  );
  for (const named of targets) {
    const target = {
      ...named.target,
      model: named.target.model.replace("instant", "provider"),
    };
    const client = new LoadClient(target, CONNECTIONS, STREAM_SHAPE);
    const result = await measured(
      named,
      `provider-like ${rate}/s`,
      report,
      () => runFixedRate(client, rate, SETTINGS.rateMs),
    );
    await client.close();
    report.provider.push(row(named, result, { rate }));
    log(
      `  ${named.target.name}: p50 ${median(result.samples.map((s) => s.latencyMs)).toFixed(1)} ms`,
    );
  }
}

/** Many clients, each with its own token, on one prepaid provider, over 64 connections. */
async function contentionScenario(
  targets: NamedTarget[],
  report: Report,
): Promise<void> {
  log(
    `contention: ${CONTENTION_CLIENTS} clients on one prepaid provider, ${CONTENTION_CONNECTIONS} connections`,
  );
  for (const named of targets) {
    if (named.kind === "direct") {
      continue;
    }
    const headerSets = named.proxy
      ? named.proxy.tokens.map((token) => ({
          authorization: `Bearer ${token}`,
        }))
      : named.target.headerSets;
    const client = new LoadClient(
      { ...named.target, headerSets },
      CONTENTION_CONNECTIONS,
      JSON_SHAPE,
    );
    const result = await measured(named, "contention", report, () =>
      runClosedLoop(client, CONTENTION_CONNECTIONS, SETTINGS.contentionMs),
    );
    await client.close();
    report.contention.push(row(named, result));
    log(
      `  ${named.target.name}: ${((result.ok * 1000) / result.elapsedMs).toFixed(0)} rps`,
    );
  }
}

function machineFacts(): Report["machine"] {
  const packages = JSON.parse(
    readFileSync(join(ROOT, "package.json"), "utf8"),
  ) as { dependencies: Record<string, string> };
  const installed = (name: string) => {
    try {
      return (
        JSON.parse(
          readFileSync(
            join(ROOT, "node_modules", name, "package.json"),
            "utf8",
          ),
        ) as { version: string }
      ).version;
    } catch {
      return "not installed";
    }
  };
  return {
    cores: os.cpus().length,
    cpu: os.cpus()[0]?.model ?? "unknown",
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    packages: Object.fromEntries(
      [
        "fastify",
        "undici",
        "@mikro-orm/core",
        "@mikro-orm/better-sqlite",
        "@mikro-orm/sqlite",
        "better-sqlite3",
        "sqlite3",
        "pg",
      ]
        .filter(
          (name) =>
            name in packages.dependencies ||
            name === "better-sqlite3" ||
            name === "sqlite3",
        )
        .map((name) => [name, installed(name)]),
    ),
    portkey: PORTKEY_VERSION,
    postgres: "",
  };
}

main().catch((error: unknown) => {
  log(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exit(1);
});
