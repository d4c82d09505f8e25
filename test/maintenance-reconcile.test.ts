import { utcDay } from "../src/billing/accounting.store";
import { RequestStatus } from "../src/billing/entities/llm-request.entity";
import { MetricsService } from "../src/metrics/metrics.service";
import { BillingMode } from "../src/providers/entities/provider.entity";
import {
  DAY_MS,
  driftOf,
  jobSettings,
  meter,
  one,
  repairsOf,
  runJob,
  SeedTarget,
  seedTarget,
} from "./maintenance-fixtures";
import { OpenAiUpstream } from "./support/openai-upstream";
import { ProxyHarness } from "./support/proxy-harness";

const yesterday = () => new Date(Date.now() - DAY_MS);

/** Meters three requests yesterday (one failed, one estimated) and one today. */
async function seedUsage(proxy: ProxyHarness, target: SeedTarget, tag: string) {
  const day = yesterday();
  await meter(proxy, target, {
    requestId: `${tag}-a`,
    createdAt: day,
    cost: 1_500n,
    usage: { cacheReadTokens: 40, reasoningTokens: 5 },
  });
  await meter(proxy, target, {
    requestId: `${tag}-b`,
    createdAt: new Date(day.getTime() + 1_000),
    cost: 700n,
    status: RequestStatus.Failed,
  });
  await meter(proxy, target, {
    requestId: `${tag}-c`,
    createdAt: new Date(day.getTime() + 2_000),
    cost: 900n,
    estimated: true,
    usage: { cacheWriteTokens: 12 },
  });
  await meter(proxy, target, {
    requestId: `${tag}-d`,
    createdAt: new Date(),
    cost: 300n,
  });
}

/** Sum of the client's request rows, read on the test's own connection. */
async function detailSums(proxy: ProxyHarness, clientId: number) {
  return one<{ requests: number; cost: string; prompt: number }>(
    proxy,
    `select count(*) as requests, cast(sum(cost) as text) as cost, sum(prompt_tokens) as prompt
     from llm_requests where client_id = ?`,
    [clientId],
  );
}

async function clientTotals(proxy: ProxyHarness, clientId: number) {
  return one<{ requests: number; cost: string; prompt: number }>(
    proxy,
    `select total_requests as requests, cast(total_cost as text) as cost, total_prompt_tokens as prompt
     from clients where id = ?`,
    [clientId],
  );
}

async function driftCounted(proxy: ProxyHarness, check: string) {
  const metric = proxy.app
    .get(MetricsService)
    .registry.getSingleMetric("llmp_reconciliation_drift_total");
  const values = (await metric!.get()).values;
  return values.find((value) => value.labels.check === check)?.value ?? 0;
}

describe("reconciliation reporting", () => {
  let proxy: ProxyHarness;
  let target: SeedTarget;

  beforeAll(async () => {
    proxy = await ProxyHarness.start({
      maintenance: { repairDrift: false, jobs: jobSettings() },
    });
    target = await seedTarget(proxy);
    await seedUsage(proxy, target, "report");
  });

  afterAll(async () => {
    await proxy.stop();
  });

  it("finds no drift after metering", async () => {
    const report = await runJob(proxy, "reconcile");

    expect(driftOf(report)).toEqual([]);
    expect(report.complete).toBe(true);
  });

  it("reports a changed client total", async () => {
    const { cost } = await clientTotals(proxy, target.clientId);
    await proxy.query(
      "update clients set total_cost = total_cost + 7 where id = ?",
      [target.clientId],
    );
    const countedBefore = await driftCounted(proxy, "client_totals");

    const report = await runJob(proxy, "reconcile");

    expect(driftOf(report)).toEqual([
      {
        check: "client_totals",
        key: { clientId: target.clientId },
        fields: [
          {
            field: "total_cost",
            stored: (BigInt(cost) + 7n).toString(),
            expected: cost,
          },
        ],
      },
    ]);
    expect(await driftCounted(proxy, "client_totals")).toBe(countedBefore + 1);
  });

  it("leaves drift unrepaired by default", async () => {
    const { cost } = await detailSums(proxy, target.clientId);

    const totals = await clientTotals(proxy, target.clientId);

    expect(totals.cost).toBe((BigInt(cost) + 7n).toString());
  });
});

describe("reconciliation repair", () => {
  let proxy: ProxyHarness;
  let target: SeedTarget;

  beforeAll(async () => {
    proxy = await ProxyHarness.start({
      maintenance: { repairDrift: true, jobs: jobSettings() },
    });
    target = await seedTarget(proxy);
    await seedUsage(proxy, target, "repair");
  });

  afterAll(async () => {
    await proxy.stop();
  });

  it("sets totals from rollups", async () => {
    const before = await clientTotals(proxy, target.clientId);
    await proxy.query(
      "update clients set total_requests = total_requests + 2, total_prompt_tokens = 1 where id = ?",
      [target.clientId],
    );

    const report = await runJob(proxy, "reconcile");

    const after = await clientTotals(proxy, target.clientId);
    expect(after).toEqual(before);
    expect(repairsOf(report).map((repair) => repair.check)).toEqual([
      "client_totals",
    ]);
    expect(repairsOf(report)[0].before.total_requests).toBe(
      String(before.requests + 2),
    );
    expect(repairsOf(report)[0].after.total_requests).toBe(
      String(before.requests),
    );
    expect(report.rowsAffected).toBe(1);
  });

  it("sets a rollup from request rows", async () => {
    const day = utcDay(yesterday());
    await proxy.query(
      "update usage_daily set cost = cost + 3, failed_requests = 0 where day = ? and client_id = ?",
      [day, target.clientId],
    );

    const report = await runJob(proxy, "reconcile");

    const rollup = await one<{ cost: string; failed: number }>(
      proxy,
      "select cast(cost as text) as cost, failed_requests as failed from usage_daily where day = ? and client_id = ?",
      [day, target.clientId],
    );
    const detail = await one<{ cost: string; failed: number }>(
      proxy,
      `select cast(sum(cost) as text) as cost, sum(case when status <> 'completed' then 1 else 0 end) as failed
       from llm_requests where client_id = ? and request_id in ('repair-a', 'repair-b', 'repair-c')`,
      [target.clientId],
    );
    // The rollup is repaired first, so the totals agree with it again and need no repair of their own.
    expect(repairsOf(report).map((repair) => repair.check)).toEqual([
      "rollups",
    ]);
    expect(rollup).toEqual(detail);
  });

  it("restores a deleted rollup", async () => {
    const day = utcDay(yesterday());
    const before = await one<{ requests: number; cost: string }>(
      proxy,
      "select requests, cast(cost as text) as cost from usage_daily where day = ? and client_id = ?",
      [day, target.clientId],
    );
    await proxy.query(
      "delete from usage_daily where day = ? and client_id = ?",
      [day, target.clientId],
    );

    await runJob(proxy, "reconcile");

    const after = await one<{ requests: number; cost: string }>(
      proxy,
      "select requests, cast(cost as text) as cost from usage_daily where day = ? and client_id = ?",
      [day, target.clientId],
    );
    expect(after).toEqual(before);
  });

  it("sets reserved from pending reservations", async () => {
    await proxy.accounting.admit({
      requestId: "repair-held",
      providerId: target.providerId,
      clientId: target.clientId,
      prepaid: true,
      worstCase: 4_000n,
      worstCaseTokens: 100,
      countsRequest: true,
    });
    await proxy.query(
      "update providers set credit_reserved = credit_reserved + 25 where id = ?",
      [target.providerId],
    );

    const report = await runJob(proxy, "reconcile");

    const { reserved } = await proxy.snapshot(
      target.providerId,
      target.clientId,
    );
    expect(reserved).toBe(4_000n);
    expect(repairsOf(report)).toEqual([
      {
        check: "provider_reserved",
        key: { providerId: target.providerId },
        before: { credit_reserved: "4025" },
        after: { credit_reserved: "4000" },
      },
    ]);
  });

  it("reports but keeps a changed balance", async () => {
    const { balance } = await proxy.snapshot(
      target.providerId,
      target.clientId,
    );
    await proxy.query(
      "update providers set credit_balance = credit_balance + 11 where id = ?",
      [target.providerId],
    );

    const report = await runJob(proxy, "reconcile");

    const after = await proxy.snapshot(target.providerId, target.clientId);
    expect(driftOf(report)).toEqual([
      {
        check: "provider_balance",
        key: { providerId: target.providerId },
        fields: [
          {
            field: "credit_balance",
            stored: (balance + 11n).toString(),
            expected: balance.toString(),
          },
        ],
      },
    ]);
    expect(repairsOf(report)).toEqual([]);
    expect(after.balance).toBe(balance + 11n);
  });
});

describe("reconciliation during metering", () => {
  let proxy: ProxyHarness;
  let upstream: OpenAiUpstream;
  let target: SeedTarget;
  let token: string;

  beforeAll(async () => {
    upstream = await OpenAiUpstream.start();
    proxy = await ProxyHarness.start({
      maintenance: { repairDrift: true, jobs: jobSettings() },
    });
    const { providerId, modelConfigId } = await proxy.seedProvider({
      baseUrl: upstream.baseUrl,
      billing: BillingMode.Prepaid,
      balance: "50.00",
    });
    const client = await proxy.seedClient();
    token = client.token;
    target = {
      providerId,
      modelConfigId,
      clientId: client.clientId,
      tokenId: client.tokenId,
      prepaid: true,
    };
  });

  afterAll(async () => {
    await proxy.stop();
    await upstream.stop();
  });

  it("reports no false drift", async () => {
    upstream.setDefault({
      delayMs: 20,
      usage: { prompt_tokens: 12, completion_tokens: 7 },
    });
    const openai = proxy.openai(token);
    let metering = true;

    const traffic = (async () => {
      let sent = 0;
      const deadline = Date.now() + 15_000;
      while (metering && sent < 200 && Date.now() < deadline) {
        await Promise.all(
          Array.from({ length: 8 }, () =>
            openai.chat.completions.create({
              model: "gpt-4o-mini",
              messages: [{ role: "user", content: "meter me" }],
            }),
          ),
        );
        sent += 8;
      }
      return sent;
    })();
    const lateRecords = (async () => {
      // Records that arrive late for yesterday, as spooled ones do, race with the rollup check of that day.
      for (let index = 0; index < 20 && metering; index++) {
        await meter(proxy, target, {
          requestId: `late-${index}`,
          createdAt: new Date(yesterday().getTime() + index),
          cost: BigInt(100 + index),
        });
      }
    })();

    const drift: unknown[] = [];
    const repairs: unknown[] = [];
    for (let run = 0; run < 6; run++) {
      const report = await runJob(proxy, "reconcile");
      drift.push(...driftOf(report));
      repairs.push(...repairsOf(report));
    }
    metering = false;
    const sent = await traffic;
    await lateRecords;
    await proxy.settled();
    upstream.setDefault({});

    const final = await runJob(proxy, "reconcile");
    const totals = await clientTotals(proxy, target.clientId);
    const detail = await detailSums(proxy, target.clientId);
    expect(sent).toBeGreaterThan(0);
    expect(drift).toEqual([]);
    expect(repairs).toEqual([]);
    expect(driftOf(final)).toEqual([]);
    expect(totals).toEqual(detail);
  }, 60_000);
});
