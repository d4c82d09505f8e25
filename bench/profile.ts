import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";

import {
  CallShape,
  LoadClient,
  median,
  percentile,
  runClosedLoop,
  runFixedRate,
  runSequential,
  Target,
} from "./load";
import { Dialect, LlmProxyTarget, PROVIDER_KEY } from "./llm-proxy-target";
import { memoryOf, startStandIn, stop } from "./processes";

/**
 * Profiles llm-proxy alone: the stand-in, one llm-proxy server and one scenario, with the server under
 * `node --cpu-prof` when `PROFILE_CPU=1`. Runs the same load on the stand-in afterwards, prints what the proxy
 * added and where the profile went. The full comparison with the peer and the floor is `npm run bench`.
 *
 *   npm run bench:profile -- sqlite sequential
 *   PROFILE_CPU=1 npm run bench:profile -- postgresql saturation
 *
 * Scenarios: `sequential` (2,000 calls one at a time), `saturation` (32 connections for 10 s, non-streaming),
 * `stream` (the same, streaming), `provider` (50 ms upstream at `PROFILE_RATE` calls per second, 100 by default,
 * for 8 s). `PROFILE_BEFORE=saturation,stream` runs those scenarios first, unmeasured, and `PROFILE_PAUSE_MS`
 * waits that long after them, to reproduce the state a scenario meets in the full benchmark.
 */
const ADMIN_URL =
  process.env.BENCH_POSTGRES_URL ??
  "postgres://postgres@127.0.0.1:5432/postgres";
/** Calls per second of the `provider` scenario; `PROFILE_RATE` changes it. */
const RATE = Number(process.env.PROFILE_RATE ?? 100);
const SCENARIOS = ["sequential", "saturation", "stream", "provider"] as const;
type Scenario = (typeof SCENARIOS)[number];
const BEFORE = (process.env.PROFILE_BEFORE ?? "")
  .split(",")
  .filter(Boolean) as Scenario[];
const PAUSE_MS = Number(process.env.PROFILE_PAUSE_MS ?? 0);

async function main(): Promise<void> {
  const dialect = (process.argv[2] ?? "sqlite") as Dialect;
  const scenario = (process.argv[3] ?? "sequential") as Scenario;
  if (!["sqlite", "postgresql"].includes(dialect)) {
    throw new Error(`unknown dialect ${dialect}: sqlite or postgresql`);
  }
  for (const name of [scenario, ...BEFORE]) {
    if (!SCENARIOS.includes(name)) {
      throw new Error(
        `invalid scenario "${name}": expected one of ${SCENARIOS.join(", ")}`,
      );
    }
  }

  const work = mkdtempSync(join(os.tmpdir(), "llmp-profile-"));
  const standIn = await startStandIn(1, join(work, "standin.log"));
  const proxy = await LlmProxyTarget.create(
    dialect,
    join(work, "llmp"),
    standIn.port,
    8,
    ADMIN_URL,
  );
  const profileDir = join(work, "cpu");
  // PROFILE_NODE_ARGS passes more options to the server's node, V8 flags among them.
  const nodeArgs = [
    ...(process.env.PROFILE_CPU === "1"
      ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`]
      : []),
    ...(process.env.PROFILE_NODE_ARGS ?? "").split(" ").filter(Boolean),
  ];

  try {
    const server = await proxy.start(0, nodeArgs);
    const target: Target = {
      name: "llm-proxy",
      url: `http://127.0.0.1:${server.port}`,
      headerSets: proxy.tokens.map((token) => ({
        authorization: `Bearer ${token}`,
      })),
      model: proxyModel(scenario),
    };
    const direct: Target = {
      name: "stand-in direct",
      url: `http://127.0.0.1:${standIn.port}`,
      headerSets: [{ authorization: `Bearer ${PROVIDER_KEY}` }],
      model: scenario === "provider" ? "provider" : "instant",
    };
    const shapeOf = (name: Scenario): CallShape => ({
      stream: name === "stream" || name === "provider",
      maxTokens: 64,
    });
    const run = (load: LoadClient, name: Scenario) =>
      name === "sequential"
        ? runSequential(load, 2_000)
        : name === "provider"
          ? runFixedRate(load, RATE, 8_000)
          : runClosedLoop(load, 32, 10_000);

    for (const name of BEFORE) {
      const earlierLoad = new LoadClient(
        { ...target, model: proxyModel(name) },
        32,
        shapeOf(name),
      );
      await run(earlierLoad, name);
      await earlierLoad.close();
    }

    // Idle time lets the server's pools and V8 settle as they do between scenarios of the full benchmark.
    await new Promise((resolve) => setTimeout(resolve, PAUSE_MS));
    const shape = shapeOf(scenario);
    const client = new LoadClient(target, 32, shape);
    // A provider-like call takes a quarter of a second, so its warm-up is shorter.
    await runSequential(client, scenario === "provider" ? 100 : 500);

    await proxy.beginRun();
    const result = await run(client, scenario);
    await client.close();
    const parity = await proxy.checkParity(result.ok);

    // The same load on the stand-in alone, whose figures are subtracted to give what the proxy adds.
    const directClient = new LoadClient(direct, 32, shape);
    await runSequential(directClient, 200);
    const baseline = await run(directClient, scenario);
    await directClient.close();

    const latencies = result.samples.map((sample) => sample.latencyMs);
    const direct50 = median(baseline.samples.map((s) => s.latencyMs));
    const direct99 = percentile(
      baseline.samples.map((s) => s.latencyMs),
      0.99,
    );
    console.log(
      JSON.stringify({
        dialect,
        scenario,
        ok: result.ok,
        failures: result.failures,
        rps: Math.round(result.ok / (result.elapsedMs / 1000)),
        p50: median(latencies).toFixed(2),
        p99: percentile(latencies, 0.99).toFixed(2),
        addedP50: (median(latencies) - direct50).toFixed(2),
        addedP99: (percentile(latencies, 0.99) - direct99).toFixed(2),
        peakMiB: memoryOf(server.child.pid!).peakMiB,
        parity: parity.detail,
      }),
    );
  } finally {
    await proxy.stopServer();
    await proxy.dispose();
    await stop(standIn);
  }

  if (process.env.PROFILE_CPU === "1") {
    // Worker threads write profiles of their own; the main thread's is the largest.
    const [file] = readdirSync(profileDir)
      .map((name) => ({ name, size: statSync(join(profileDir, name)).size }))
      .sort((a, b) => b.size - a.size)
      .map((entry) => entry.name);
    console.log(
      `CPU profile: ${join(profileDir, file)} (open it in Chrome DevTools)`,
    );
  } else if (process.env.BENCH_KEEP === "1") {
    console.log(`kept ${work}`);
  } else {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Returns the seeded model that a scenario calls through llm-proxy: the 50 ms upstream or the instant one. */
function proxyModel(scenario: Scenario): string {
  return scenario === "provider" ? "bench-provider" : "bench-instant";
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
