import { SchedulerRegistry } from "@nestjs/schedule";

import { Clock } from "../src/maintenance/clock";
import { DatabaseHealthService } from "../src/maintenance/database-health.service";
import { JobOutcome } from "../src/maintenance/entities/job-run.entity";
import { JobLeaseService } from "../src/maintenance/job-lease.service";
import { JobRunner } from "../src/maintenance/job-runner.service";
import { CRON_PREFIX } from "../src/maintenance/job-scheduler.service";
import { JobStatusService } from "../src/maintenance/job-status.service";
import { DriftFinder } from "../src/maintenance/reconciliation/drift-finder.service";
import {
  jobSettings,
  meter,
  one,
  runJob,
  seedTarget,
  timeParam,
} from "./maintenance-fixtures";
import { ProxyHarness } from "./support/proxy-harness";
import { onlyOn } from "./support/test-database";

const TTL_MS = 60_000;

describe("job leases", () => {
  let proxy: ProxyHarness;
  let leases: JobLeaseService;
  const now = new Date("2030-01-01T00:00:00Z");

  beforeAll(async () => {
    proxy = await ProxyHarness.start({ maintenance: { jobs: jobSettings() } });
    leases = proxy.app.get(JobLeaseService);
  });

  afterAll(async () => {
    await proxy.stop();
  });

  const take = (
    job: string,
    holder: string,
    at: Date,
    tick: Date | null = null,
  ) => leases.acquire({ job, holder, now: at, ttlMs: TTL_MS, tick });

  it("admits one holder at a time", async () => {
    const results = await Promise.all([
      take("one-holder", "a", now),
      take("one-holder", "b", now),
      take("one-holder", "c", now),
    ]);

    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it("is free again once released", async () => {
    await take("released", "a", now);
    await leases.release("released", "a", now);

    expect(await take("released", "b", now)).toBe(true);
  });

  it("is taken over once expired", async () => {
    await take("expired", "a", now);

    const early = await take(
      "expired",
      "b",
      new Date(now.getTime() + TTL_MS - 1),
    );
    const late = await take("expired", "b", new Date(now.getTime() + TTL_MS));
    expect(early).toBe(false);
    expect(late).toBe(true);
  });

  it("stays with a holder that renews", async () => {
    await take("renewed", "a", now);
    const renewed = await leases.renew(
      "renewed",
      "a",
      new Date(now.getTime() + TTL_MS - 1),
      TTL_MS,
    );

    const taken = await take("renewed", "b", new Date(now.getTime() + TTL_MS));
    expect(renewed).toBe(true);
    expect(taken).toBe(false);
  });

  it("reports a lost lease on renewal", async () => {
    await take("lost", "a", now);
    await take("lost", "b", new Date(now.getTime() + TTL_MS));

    expect(await leases.renew("lost", "a", now, TTL_MS)).toBe(false);
  });

  it("runs each tick once", async () => {
    const tick = new Date("2030-01-01T00:00:00Z");
    const next = new Date("2030-01-01T00:00:01Z");

    const first = await take("ticks", "a", now, tick);
    await leases.release("ticks", "a", now);
    const again = await take("ticks", "b", now, tick);
    const later = await take("ticks", "b", now, next);
    expect(first).toBe(true);
    expect(again).toBe(false);
    expect(later).toBe(true);
  });

  it("lets a manual run follow a tick", async () => {
    await take("manual", "a", now, new Date("2030-01-01T00:00:00Z"));
    await leases.release("manual", "a", now);

    expect(await take("manual", "b", now)).toBe(true);
  });
});

describe("job runner", () => {
  let proxy: ProxyHarness;

  beforeAll(async () => {
    proxy = await ProxyHarness.start({
      maintenance: { leaseTtlMs: 1_000, jobs: jobSettings() },
    });
  });

  afterEach(() => {
    jest.restoreAllMocks();
  });

  /** Makes the reconcile job's client check take `ms` before it runs. */
  function slowClientCheck(ms: number) {
    const original = DriftFinder.prototype.clientTotals;
    jest
      .spyOn(DriftFinder.prototype, "clientTotals")
      .mockImplementation(async function (this: DriftFinder) {
        await new Promise((resolve) => setTimeout(resolve, ms));
        return original.call(this);
      });
  }

  it("renews the lease while running", async () => {
    slowClientCheck(1_600);
    const running = runJob(proxy, "reconcile");
    await new Promise((resolve) => setTimeout(resolve, 1_200));

    const taken = await proxy.app.get(JobLeaseService).acquire({
      job: "reconcile",
      holder: "elsewhere",
      now: new Date(),
      ttlMs: 1_000,
      tick: null,
    });
    const report = await running;

    expect(taken).toBe(false);
    expect(report.complete).toBe(true);
  });

  it("stops when the lease is lost", async () => {
    slowClientCheck(1_000);
    const running = runJob(proxy, "reconcile");
    await new Promise((resolve) => setTimeout(resolve, 100));
    await proxy.query(
      "update job_leases set holder = 'elsewhere' where job = 'reconcile'",
    );

    const report = await running;
    await proxy.query(
      "update job_leases set holder = null where job = 'reconcile'",
    );

    expect(report.complete).toBe(false);
    expect(report.detail.stoppedBy).toBe(
      "the lease was lost to another process",
    );
  });

  afterAll(async () => {
    await proxy.stop();
  });

  it("skips a job another process holds", async () => {
    const clock = proxy.app.get(Clock);
    await proxy.app.get(JobLeaseService).acquire({
      job: "reconcile",
      holder: "elsewhere",
      now: clock.now(),
      ttlMs: TTL_MS,
      tick: null,
    });

    const report = await proxy.app
      .get(JobRunner)
      .run("reconcile", { tick: null });
    await proxy.query(
      "update job_leases set holder = null where job = 'reconcile'",
    );

    expect(report.status).toBe("skipped");
  });

  it("closes runs abandoned by a dead process", async () => {
    const started = new Date(Date.now() - 3_600_000);
    await proxy.query(
      "insert into job_runs (job, started_at, outcome, rows_affected) values ('analyze', ?, 'running', 0)",
      [timeParam(proxy, started)],
    );
    await proxy.query(
      `insert into job_leases (job, holder, expires_at) values ('analyze', 'dead-process', ?)
       on conflict (job) do update set holder = excluded.holder, expires_at = excluded.expires_at`,
      [timeParam(proxy, new Date(started.getTime() + TTL_MS))],
    );

    const report = await runJob(proxy, "analyze");

    const abandoned = await one<{ outcome: string; detail: string }>(
      proxy,
      "select outcome, detail from job_runs where job = 'analyze' and id < ? order by id desc",
      [report.runId],
    );
    expect(report.outcome).toBe(JobOutcome.Succeeded);
    expect(abandoned.outcome).toBe(JobOutcome.Failed);
    expect(JSON.parse(abandoned.detail).error).toMatch(/^abandoned/);
  });

  it("records a failed run and frees the lease", async () => {
    jest
      .spyOn(DriftFinder.prototype, "clientTotals")
      .mockRejectedValueOnce(new Error("connection reset"));

    const report = await runJob(proxy, "reconcile");

    const lease = await one<{ holder: string | null }>(
      proxy,
      "select holder from job_leases where job = 'reconcile'",
    );
    const run = await one<{ outcome: string; finished_at: number | null }>(
      proxy,
      "select outcome, finished_at from job_runs where id = ?",
      [report.runId],
    );
    expect(report.detail.error).toBe("connection reset");
    expect(run.outcome).toBe(JobOutcome.Failed);
    expect(run.finished_at).not.toBeNull();
    expect(lease.holder).toBeNull();
  });

  it("lists each job with its last run", async () => {
    const statuses = await proxy.app.get(JobStatusService).list();

    expect(statuses.map((status) => status.job)).toEqual([
      "retention",
      "analyze",
      "reconcile",
    ]);
    expect(statuses[1].lastRun?.outcome).toBe(JobOutcome.Succeeded);
  });
});

describe("analyze job", () => {
  let proxy: ProxyHarness;
  let report: Awaited<ReturnType<typeof runJob>>;

  beforeAll(async () => {
    proxy = await ProxyHarness.start({ maintenance: { jobs: jobSettings() } });
    // ANALYZE writes no statistics for an empty table.
    await meter(proxy, await seedTarget(proxy), {
      requestId: "analyzed",
      createdAt: new Date(),
      cost: 1_000n,
    });
    report = await runJob(proxy, "analyze");
  });

  afterAll(async () => {
    await proxy.stop();
  });

  it("completes", async () => {
    expect(report.outcome).toBe(JobOutcome.Succeeded);
    expect(report.complete).toBe(true);
  });

  onlyOn("sqlite")("checkpoints and skips incremental vacuum", async () => {
    expect(report.detail.walCheckpoint).toEqual(
      expect.objectContaining({ busy: expect.any(Number) }),
    );
    expect(report.detail.incrementalVacuum).toMatch(
      /^skipped: auto_vacuum is none/,
    );
  });

  onlyOn("sqlite")("leaves planner statistics", async () => {
    const rows = await proxy.query(
      "select tbl from sqlite_stat1 where tbl = 'llm_requests'",
    );

    expect(rows.length).toBeGreaterThan(0);
  });

  onlyOn("postgresql")("analyzes the project's tables", async () => {
    const [table] = await proxy.query<{ analyzed: number | null }>(
      "select last_analyze as analyzed from pg_stat_user_tables where relname = 'llm_requests'",
    );

    expect(report.detail.analyzed).toEqual(
      expect.arrayContaining(["llm_requests"]),
    );
    expect(table.analyzed).not.toBeNull();
  });

  it("is the last analyze in the health report", async () => {
    const run = await one<{ finished_at: number }>(
      proxy,
      "select finished_at from job_runs where id = ?",
      [report.runId],
    );

    const health = await proxy.app.get(DatabaseHealthService).report();

    expect(health.lastAnalyzeJobAt).toBe(
      new Date(run.finished_at).toISOString(),
    );
  });
});

describe("job schedule", () => {
  let first: ProxyHarness;
  let second: ProxyHarness;

  beforeAll(async () => {
    const everySecond = jobSettings({
      analyze: { enabled: true, cron: "* * * * * *" },
      reconcile: { enabled: true, cron: "* * * * * *" },
    });
    first = await ProxyHarness.start({ maintenance: { jobs: everySecond } });
    second = await ProxyHarness.start(
      { maintenance: { jobs: everySecond } },
      { folder: first.folder, databaseUrl: first.databaseUrl },
    );
  });

  afterAll(async () => {
    await second.stop({ keepFiles: true });
    await first.stop();
  });

  it("registers enabled jobs only", async () => {
    const names = [...first.app.get(SchedulerRegistry).getCronJobs().keys()];

    expect(names.sort()).toEqual([
      `${CRON_PREFIX}analyze`,
      `${CRON_PREFIX}reconcile`,
    ]);
  });

  it("runs each tick once across instances", async () => {
    const deadline = Date.now() + 10_000;
    let runs: { job: string; detail: string | null }[] = [];
    while (Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      runs = await first.query(
        "select job, detail from job_runs where outcome <> 'running' order by id",
      );
      const perJob = (job: string) =>
        runs.filter((run) => run.job === job).length;
      if (perJob("analyze") >= 4 && perJob("reconcile") >= 4) {
        break;
      }
    }
    for (const instance of [first, second]) {
      for (const job of instance.app
        .get(SchedulerRegistry)
        .getCronJobs()
        .values()) {
        void job.stop();
      }
    }

    for (const job of ["analyze", "reconcile"]) {
      const ticks = runs
        .filter((run) => run.job === job)
        .map((run) => JSON.parse(run.detail!).tick as string);
      expect(ticks.length).toBeGreaterThanOrEqual(4);
      expect(new Set(ticks).size).toBe(ticks.length);
    }
  }, 20_000);

  it("lets either instance run a job whose lease is free", async () => {
    // A tick of the test before may still be finishing: its run is recorded first and its lease released after.
    const deadline = Date.now() + 10_000;
    let leases = await first.query<{ holder: string | null }>(
      "select holder from job_leases where job = 'analyze'",
    );
    while (
      leases.some((lease) => lease.holder !== null) &&
      Date.now() < deadline
    ) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      leases = await first.query(
        "select holder from job_leases where job = 'analyze'",
      );
    }
    expect(leases.every((lease) => lease.holder === null)).toBe(true);

    // Which instance wins a scheduled tick is a race, so each one runs a job by hand while the lease is free.
    for (const instance of [first, second]) {
      const report = await instance.app
        .get(JobRunner)
        .run("analyze", { tick: null });
      expect(report.status).toBe("finished");
    }

    const runs = await first.query<{ detail: string }>(
      "select detail from job_runs where outcome <> 'running'",
    );
    const holders = new Set(
      runs.map((run) => JSON.parse(run.detail).holder as string),
    );
    expect(holders).toContain(first.app.get(JobRunner).holder);
    expect(holders).toContain(second.app.get(JobRunner).holder);
  });
});
