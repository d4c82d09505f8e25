import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";

import { Clock } from "../src/maintenance/clock";
import { JobOutcome } from "../src/maintenance/entities/job-run.entity";
import { RetentionArchive } from "../src/maintenance/retention/retention-archive";
import {
  DAY_MS,
  driftOf,
  jobSettings,
  meter,
  one,
  runJob,
  SeedTarget,
  seedTarget,
} from "./maintenance-fixtures";
import { ProxyHarness } from "./support/proxy-harness";

/** State that retention must not change: the rollups, the ledger, the balances and the client totals. */
async function keptState(proxy: ProxyHarness, target: SeedTarget) {
  const rollups = await one<{ requests: number; cost: string }>(
    proxy,
    "select sum(requests) as requests, cast(sum(cost) as text) as cost from usage_daily",
  );
  const ledger = await one<{ entries: number; total: string }>(
    proxy,
    "select count(*) as entries, cast(sum(amount) as text) as total from balance_transactions",
  );
  const snapshot = await proxy.snapshot(target.providerId, target.clientId);
  return {
    rollupRequests: rollups.requests,
    rollupCost: rollups.cost,
    ledgerEntries: ledger.entries,
    ledgerTotal: ledger.total,
    balance: snapshot.balance,
    reserved: snapshot.reserved,
    clientRequests: snapshot.clientRequests,
    clientCost: snapshot.clientCost,
  };
}

async function requestIds(proxy: ProxyHarness, prefix: string) {
  const rows = await proxy.query<{ request_id: string }>(
    "select request_id from llm_requests where request_id like ? order by request_id",
    [`${prefix}%`],
  );
  return rows.map((row) => row.request_id);
}

/** Seeds `old` requests 100 days back and `recent` ones a day back, one hour apart. */
async function seedAges(
  proxy: ProxyHarness,
  target: SeedTarget,
  counts: { old: number; recent: number },
) {
  const now = Date.now();
  for (let index = 0; index < counts.old; index++) {
    await meter(proxy, target, {
      requestId: `old-${String(index).padStart(3, "0")}`,
      createdAt: new Date(now - 100 * DAY_MS + index * 3_600_000),
      cost: BigInt(1_000 + index),
    });
  }
  for (let index = 0; index < counts.recent; index++) {
    await meter(proxy, target, {
      requestId: `recent-${String(index).padStart(3, "0")}`,
      createdAt: new Date(now - DAY_MS + index * 3_600_000),
      cost: BigInt(2_000 + index),
    });
  }
}

describe("retention", () => {
  let proxy: ProxyHarness;
  let target: SeedTarget;
  let before: Awaited<ReturnType<typeof keptState>>;
  let report: Awaited<ReturnType<typeof runJob>>;

  beforeAll(async () => {
    proxy = await ProxyHarness.start({
      maintenance: { retentionBatchSize: 2, jobs: jobSettings() },
    });
    target = await seedTarget(proxy);
    await seedAges(proxy, target, { old: 5, recent: 3 });
    // A reservation admitted 100 days ago and still pending: only the sweeper may close it.
    await proxy.accounting.admit({
      requestId: "old-pending",
      providerId: target.providerId,
      clientId: target.clientId,
      prepaid: true,
      worstCase: 500n,
      worstCaseTokens: 100,
      countsRequest: true,
    });
    await proxy.query(
      "update credit_reservations set created_at = ? where request_id = 'old-pending'",
      [
        proxy.databaseUrl
          ? new Date(Date.now() - 100 * DAY_MS)
          : Date.now() - 100 * DAY_MS,
      ],
    );
    before = await keptState(proxy, target);

    report = await runJob(proxy, "retention");
  });

  afterAll(async () => {
    await proxy.stop();
  });

  it("deletes requests past the window", async () => {
    expect(await requestIds(proxy, "old-")).toEqual([]);
  });

  it("keeps requests inside the window", async () => {
    expect(await requestIds(proxy, "recent-")).toEqual([
      "recent-000",
      "recent-001",
      "recent-002",
    ]);
  });

  it("deletes settled reservations past the window", async () => {
    const rows = await proxy.query(
      "select request_id from credit_reservations where request_id like 'old-0%'",
    );
    expect(rows).toEqual([]);
  });

  it("keeps pending and recent reservations", async () => {
    const rows = await proxy.query<{ request_id: string }>(
      "select request_id from credit_reservations order by request_id",
    );
    expect(rows.map((row) => row.request_id)).toEqual([
      "old-pending",
      "recent-000",
      "recent-001",
      "recent-002",
    ]);
  });

  it("keeps rollups, ledger and totals", async () => {
    expect(await keptState(proxy, target)).toEqual(before);
  });

  it("records the run", async () => {
    const run = await one<{ outcome: string; rows_affected: number }>(
      proxy,
      "select outcome, rows_affected from job_runs where id = ?",
      [report.runId],
    );
    expect(run.outcome).toBe(JobOutcome.Succeeded);
    expect(run.rows_affected).toBe(10);
    expect(report.complete).toBe(true);
  });

  it("leaves totals reconciled", async () => {
    const reconcile = await runJob(proxy, "reconcile");

    expect(driftOf(reconcile)).toEqual([]);
  });

  it("follows the injected clock", async () => {
    const moved = new Date(Date.now() + 92 * DAY_MS);
    jest.spyOn(proxy.app.get(Clock), "now").mockReturnValue(moved);

    const later = await runJob(proxy, "retention");
    jest.restoreAllMocks();

    expect(later.detail.cutoff).toBe(
      new Date(moved.getTime() - 90 * DAY_MS).toISOString(),
    );
    expect(await requestIds(proxy, "recent-")).toEqual([]);
  });
});

describe("retention archive", () => {
  let proxy: ProxyHarness;
  let archiveDir: string;
  let oldRows: { request_id: string; cost: string; prompt_tokens: number }[];

  beforeAll(async () => {
    archiveDir = mkdtempSync(join(tmpdir(), "llm-proxy-archive-"));
    proxy = await ProxyHarness.start({
      maintenance: { retentionBatchSize: 2, archiveDir, jobs: jobSettings() },
    });
    const target = await seedTarget(proxy);
    await seedAges(proxy, target, { old: 5, recent: 2 });
    oldRows = await proxy.query(
      `select request_id, cast(cost as text) as cost, prompt_tokens from llm_requests
       where request_id like 'old-%' order by request_id`,
    );
  });

  afterAll(async () => {
    jest.restoreAllMocks();
    await proxy.stop();
    rmSync(archiveDir, { recursive: true, force: true });
  });

  /** Reads every archived line of every file, in file and line order. */
  function archived(): { table: string; row: Record<string, unknown> }[] {
    return readdirSync(archiveDir)
      .sort()
      .flatMap((name) =>
        gunzipSync(readFileSync(join(archiveDir, name)))
          .toString("utf8")
          .split("\n")
          .filter((line) => line.length > 0)
          .map(
            (line) =>
              JSON.parse(line) as {
                table: string;
                row: Record<string, unknown>;
              },
          ),
      );
  }

  it("archives before deleting after a failure", async () => {
    const append = RetentionArchive.prototype.append;
    let calls = 0;
    const spy = jest
      .spyOn(RetentionArchive.prototype, "append")
      .mockImplementation(function (this: RetentionArchive, table, rows) {
        calls += 1;
        if (calls === 2) {
          throw new Error("disk full");
        }
        append.call(this, table, rows);
      });

    const failed = await runJob(proxy, "retention");
    spy.mockRestore();

    const remaining = await proxy.query<{ request_id: string }>(
      "select request_id from llm_requests where request_id like 'old-%'",
    );
    const archivedIds = archived().map((line) => line.row.request_id);
    expect(failed.outcome).toBe(JobOutcome.Failed);
    expect(failed.detail.error).toBe("disk full");
    expect(failed.rowsAffected).toBe(2);
    expect(remaining).toHaveLength(3);
    expect(archivedIds).toEqual(["old-000", "old-001"]);
  });

  it("archives every deleted row once finished", async () => {
    const finished = await runJob(proxy, "retention");

    const requests = archived()
      .filter((line) => line.table === "llm_requests")
      .map((line) => ({
        request_id: line.row.request_id,
        cost: line.row.cost,
        prompt_tokens: line.row.prompt_tokens,
      }));
    expect(finished.complete).toBe(true);
    expect(requests).toEqual(oldRows);
    expect(await requestIds(proxy, "old-")).toEqual([]);
  });

  it("archives settled reservations", async () => {
    const reservations = archived()
      .filter((line) => line.table === "credit_reservations")
      .map((line) => line.row.request_id)
      .sort();

    expect(reservations).toEqual(oldRows.map((row) => row.request_id));
  });

  it("writes one file per run", async () => {
    expect(readdirSync(archiveDir)).toHaveLength(2);
  });
});

describe("retention stopped halfway", () => {
  let proxy: ProxyHarness;
  let target: SeedTarget;

  beforeAll(async () => {
    proxy = await ProxyHarness.start({
      maintenance: { retentionBatchSize: 2, jobs: jobSettings() },
    });
    target = await seedTarget(proxy);
    await seedAges(proxy, target, { old: 9, recent: 2 });
  });

  afterAll(async () => {
    await proxy.stop();
  });

  it("stops at the time budget", async () => {
    const stopped = await runJob(proxy, "retention", { timeBudgetMs: 1 });

    const remaining = await requestIds(proxy, "old-");
    expect(stopped.complete).toBe(false);
    expect(stopped.detail.stoppedBy).toBe("time budget of 1 ms spent");
    expect(stopped.rowsAffected).toBeGreaterThan(0);
    expect(remaining.length).toBeGreaterThan(0);
  });

  it("finishes on later runs", async () => {
    let complete = false;
    for (let attempt = 0; attempt < 20 && !complete; attempt++) {
      ({ complete } = await runJob(proxy, "retention", { timeBudgetMs: 1 }));
    }

    expect(complete).toBe(true);
    expect(await requestIds(proxy, "old-")).toEqual([]);
    expect(await requestIds(proxy, "recent-")).toHaveLength(2);
  });

  it("leaves a consistent database", async () => {
    const reconcile = await runJob(proxy, "reconcile");
    const snapshot = await proxy.snapshot(target.providerId, target.clientId);
    const ledger = await one<{ total: string }>(
      proxy,
      "select cast(sum(amount) as text) as total from balance_transactions where provider_id = ?",
      [target.providerId],
    );

    expect(driftOf(reconcile)).toEqual([]);
    expect(snapshot.balance).toBe(BigInt(ledger.total));
    expect(snapshot.clientRequests).toBe(11);
  });
});
