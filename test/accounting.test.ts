import { AccountingStore } from "../src/billing/accounting.store";
import { RequestStatus } from "../src/billing/entities/llm-request.entity";
import { RequestRecord } from "../src/billing/request-record";
import { ReservationSweeper } from "../src/billing/reservation-sweeper.service";
import { NO_USAGE } from "../src/billing/usage";
import { MetricsService } from "../src/metrics/metrics.service";
import { BillingMode } from "../src/providers/entities/provider.entity";
import { ProxyHarness } from "./support/proxy-harness";

/** The accounting transaction on its own: idempotent settlement, capped debits and the reservation sweeper. */
describe("accounting", () => {
  let proxy: ProxyHarness;
  let sut: AccountingStore;
  let providerId: number;
  let modelConfigId: number;
  let clientId: number;
  let tokenId: number;

  beforeAll(async () => {
    proxy = await ProxyHarness.start();
    sut = proxy.app.get(AccountingStore);
    ({ providerId, modelConfigId } = await proxy.seedProvider({
      baseUrl: "http://127.0.0.1:9/v1",
      billing: BillingMode.Prepaid,
      balance: "1.00",
    }));
    ({ clientId, tokenId } = await proxy.seedClient());
  });

  afterAll(async () => {
    await proxy.stop();
  });

  function record(requestId: string, cost: bigint): RequestRecord {
    return {
      requestId,
      clientId,
      tokenId,
      providerId,
      modelConfigId,
      model: "gpt-4o-mini",
      endpoint: "chat.completions",
      status: RequestStatus.Completed,
      errorClass: null,
      upstreamStatus: 200,
      streamed: false,
      usage: { ...NO_USAGE, promptTokens: 10, completionTokens: 5 },
      usageEstimated: false,
      cost,
      prepaid: true,
      latencyMs: 12,
      ttftMs: 10,
      createdAt: new Date(),
    };
  }

  async function admit(
    requestId: string,
    amount: bigint,
    expiresAt = new Date(Date.now() + 60_000),
    holdClientLimits?: boolean,
  ) {
    const admission = await sut.admit({
      requestId,
      providerId,
      clientId,
      amount,
      prepaid: true,
      worstCase: amount,
      worstCaseTokens: 100,
      countsRequest: true,
      expiresAt,
      now: new Date(),
      holdClientLimits,
    });
    return admission.outcome;
  }

  /** Reads how many PostgreSQL batches failed as a whole and were retried one request at a time. */
  async function batchesRetried(): Promise<number> {
    const metrics = await proxy.app.get(MetricsService).render();
    const counts = [
      ...metrics.matchAll(
        /^llmp_accounting_batches_retried_total\{.*\} (\d+)$/gm,
      ),
    ];
    return counts.reduce((sum, match) => sum + Number(match[1]), 0);
  }

  /** Admits as the proxy admits a client without limits: in a batch with the admissions of the same moment. */
  const admitUnlimited = (requestId: string, amount: bigint) =>
    admit(requestId, amount, new Date(Date.now() + 60_000), false);

  it("settles a replayed record once", async () => {
    expect(await admit("replayed", 1_000_000n)).toBe("admitted");
    const before = await proxy.snapshot(providerId, clientId);

    const results = await Promise.all([
      sut.settle(record("replayed", 400_000n)),
      sut.settle(record("replayed", 400_000n)),
      sut.settle(record("replayed", 400_000n)),
    ]);
    const outcomes = results.map((result) => result.outcome);

    const after = await proxy.snapshot(providerId, clientId);
    expect(outcomes.filter((outcome) => outcome === "recorded")).toHaveLength(
      1,
    );
    expect(outcomes.filter((outcome) => outcome === "duplicate")).toHaveLength(
      2,
    );
    expect(before.balance - after.balance).toBe(400_000n);
    expect(before.reserved - after.reserved).toBe(1_000_000n);
    expect(after.requestRows - before.requestRows).toBe(1);
    expect(after.clientRequests - before.clientRequests).toBe(1);
  });

  it("caps a debit at the credit nobody holds", async () => {
    const { balance } = await proxy.snapshot(providerId, clientId);
    expect(await admit("held-by-other", balance - 100n)).toBe("admitted");
    expect(await admit("overrun", 100n)).toBe("admitted");

    const result = await sut.settle(record("overrun", 5_000n));
    expect(result.shortfall).toBe(4_900n);

    const after = await proxy.snapshot(providerId, clientId);
    const [row] = await proxy.query<{ cost: string; shortfall: string }>(
      "select cast(cost as text) as cost, cast(credit_shortfall as text) as shortfall from llm_requests where request_id = 'overrun'",
    );
    expect(after.balance).toBe(balance - 100n);
    expect(after.reserved).toBe(balance - 100n);
    expect(row.cost).toBe("5000");
    expect(row.shortfall).toBe("4900");

    await sut.void("held-by-other", new Date());
  });

  it("refuses an admission once the credit is held", async () => {
    const { balance, reserved } = await proxy.snapshot(providerId, clientId);
    const free = balance - reserved;

    expect(await admit("takes-all", free)).toBe("admitted");
    expect(await admit("one-more", 1n)).toBe("insufficient_credit");
    await sut.void("takes-all", new Date());
    expect(await admit("one-more", 1n)).toBe("admitted");
    await sut.void("one-more", new Date());
  });

  it("sweeps expired reservations back to available credit", async () => {
    const before = await proxy.snapshot(providerId, clientId);
    expect(await admit("abandoned", 250n, new Date(Date.now() - 1))).toBe(
      "admitted",
    );
    expect(
      (await proxy.snapshot(providerId, clientId)).reserved - before.reserved,
    ).toBe(250n);

    const voided = await proxy.app.get(ReservationSweeper).sweep(new Date());

    const after = await proxy.snapshot(providerId, clientId);
    const [row] = await proxy.query<{ status: string }>(
      "select status from credit_reservations where request_id = 'abandoned'",
    );
    expect(voided).toBe(1);
    expect(row.status).toBe("voided");
    expect(after.reserved).toBe(before.reserved);
    expect(after.balance).toBe(before.balance);
  });

  it("records a late settlement after its reservation was swept", async () => {
    expect(await admit("late", 300n, new Date(Date.now() - 1))).toBe(
      "admitted",
    );
    await proxy.app.get(ReservationSweeper).sweep(new Date());
    const before = await proxy.snapshot(providerId, clientId);

    expect((await sut.settle(record("late", 200n))).outcome).toBe("recorded");

    const after = await proxy.snapshot(providerId, clientId);
    expect(before.balance - after.balance).toBe(200n);
    expect(after.reserved).toBe(before.reserved);
  });

  it("never debits a postpaid provider", async () => {
    const postpaid = await proxy.seedProvider({
      baseUrl: "http://127.0.0.1:9/v1",
      model: "postpaid-model",
    });
    const before = await proxy.snapshot(postpaid.providerId, clientId);
    await sut.admit({
      requestId: "postpaid",
      providerId: postpaid.providerId,
      clientId,
      amount: 0n,
      prepaid: false,
      worstCase: 10_000n,
      worstCaseTokens: 100,
      countsRequest: true,
      expiresAt: new Date(Date.now() + 60_000),
      now: new Date(),
    });

    await sut.settle({
      ...record("postpaid", 7_000n),
      providerId: postpaid.providerId,
      prepaid: false,
    });

    const after = await proxy.snapshot(postpaid.providerId, clientId);
    expect(after.balance).toBe(before.balance);
    expect(after.ledgerRows).toBe(before.ledgerRows);
    expect(after.clientCost - before.clientCost).toBe(7_000n);
  });

  it("admits racing requests up to credit", async () => {
    const before = await proxy.snapshot(providerId, clientId);
    const amount = (before.balance - before.reserved) / 3n;

    const outcomes = await Promise.all(
      ["race-1", "race-2", "race-3", "race-4", "race-5"].map((id) =>
        admitUnlimited(id, amount),
      ),
    );

    const after = await proxy.snapshot(providerId, clientId);
    expect(outcomes.filter((outcome) => outcome === "admitted")).toHaveLength(
      3,
    );
    expect(
      outcomes.filter((outcome) => outcome === "insufficient_credit"),
    ).toHaveLength(2);
    expect(after.reserved - before.reserved).toBe(3n * amount);

    const pending = await proxy.query<{ request_id: string }>(
      "select request_id from credit_reservations where request_id like 'race-%' and status = 'pending'",
    );
    expect(pending).toHaveLength(3);
    for (const { request_id } of pending) {
      await sut.void(request_id, new Date());
    }
  });

  it("admits a doubled request id once", async () => {
    const before = await proxy.snapshot(providerId, clientId);

    const outcomes = await Promise.all([
      admitUnlimited("twice", 500n),
      admitUnlimited("twice", 500n),
    ]);

    const after = await proxy.snapshot(providerId, clientId);
    expect(outcomes.sort()).toEqual(["admitted", "duplicate_request_id"]);
    expect(after.reserved - before.reserved).toBe(500n);
    expect(await sut.void("twice", new Date())).toBe(true);
  });

  it("settles a batch with per-record outcomes", async () => {
    const ids = ["together-1", "together-2", "together-3", "together-4"];
    for (const id of ids) {
      expect(await admitUnlimited(id, 1_000n)).toBe("admitted");
    }
    expect((await sut.settle(record("together-1", 100n))).outcome).toBe(
      "recorded",
    );
    const before = await proxy.snapshot(providerId, clientId);

    const results = await Promise.all([
      sut.settle(record("together-1", 100n)),
      sut.settle(record("together-2", 200n)),
      sut.settle(record("together-3", 300n)),
      sut.settle(record("together-3", 300n)),
      sut.settle(record("together-4", 400n)),
    ]);

    const after = await proxy.snapshot(providerId, clientId);
    expect(results).toEqual([
      { outcome: "duplicate", shortfall: 0n },
      { outcome: "recorded", shortfall: 0n },
      { outcome: "recorded", shortfall: 0n },
      { outcome: "duplicate", shortfall: 0n },
      { outcome: "recorded", shortfall: 0n },
    ]);
    expect(before.balance - after.balance).toBe(900n);
    expect(before.reserved - after.reserved).toBe(3_000n);
    expect(after.requestRows - before.requestRows).toBe(3);
    expect(after.ledgerRows - before.ledgerRows).toBe(3);
    expect(after.clientRequests - before.clientRequests).toBe(3);
    expect(after.clientCost - before.clientCost).toBe(900n);
  });

  it("isolates a failing record in a batch", async () => {
    const ids = ["mixed-1", "mixed-bad", "mixed-2"];
    for (const id of ids) {
      expect(await admitUnlimited(id, 1_000n)).toBe("admitted");
    }
    const before = await proxy.snapshot(providerId, clientId);
    const retriedBefore = await batchesRetried();
    const bad = record("mixed-bad", 500n);
    bad.usage = { ...bad.usage, promptTokens: -1 };

    const results = await Promise.allSettled([
      sut.settle(record("mixed-1", 100n)),
      sut.settle(bad),
      sut.settle(record("mixed-2", 200n)),
    ]);

    const after = await proxy.snapshot(providerId, clientId);
    expect(results.map((result) => result.status)).toEqual([
      "fulfilled",
      "rejected",
      "fulfilled",
    ]);
    expect(before.balance - after.balance).toBe(300n);
    expect(before.reserved - after.reserved).toBe(2_000n);
    expect(after.requestRows - before.requestRows).toBe(2);
    const [left] = await proxy.query<{ status: string }>(
      "select status from credit_reservations where request_id = 'mixed-bad'",
    );
    expect(left.status).toBe("pending");
    // SQLite isolates the record with a savepoint inside its group commit; PostgreSQL retries the batch per record.
    expect(await batchesRetried()).toBe(
      retriedBefore + (proxy.databaseUrl ? 1 : 0),
    );
    expect(await sut.void("mixed-bad", new Date())).toBe(true);
  });

  it("settles crossing batches without deadlock", async () => {
    const other = await proxy.seedProvider({
      baseUrl: "http://127.0.0.1:9/v1",
      model: "crossing-model",
      billing: BillingMode.Prepaid,
      balance: "1.00",
    });
    const otherClient = await proxy.seedClient();
    const mine = await proxy.snapshot(providerId, clientId);
    const retriedBefore = await batchesRetried();
    const theirs = await proxy.snapshot(other.providerId, otherClient.clientId);

    // Neighbouring records alternate providers and clients, so two batches sent together meet the same rows in
    // opposite orders unless the batches lock them in one order.
    const records = Array.from({ length: 256 }, (_, index) => {
      const crossed = index % 2 === (Math.floor(index / 64) % 2 === 0 ? 0 : 1);
      return {
        ...record(`crossing-${index}`, 10n),
        ...(crossed
          ? {
              providerId: other.providerId,
              modelConfigId: other.modelConfigId,
              model: "crossing-model",
              clientId: otherClient.clientId,
              tokenId: otherClient.tokenId,
            }
          : {}),
      };
    });
    const results = await Promise.all(records.map((r) => sut.settle(r)));

    const mineAfter = await proxy.snapshot(providerId, clientId);
    const theirsAfter = await proxy.snapshot(
      other.providerId,
      otherClient.clientId,
    );
    expect(results.every((result) => result.outcome === "recorded")).toBe(true);
    expect(mine.balance - mineAfter.balance).toBe(1_280n);
    expect(theirs.balance - theirsAfter.balance).toBe(1_280n);
    expect(mineAfter.clientRequests - mine.clientRequests).toBe(128);
    expect(theirsAfter.clientRequests - theirs.clientRequests).toBe(128);
    expect(await batchesRetried()).toBe(retriedBefore);
  });

  it("renews holds beside a settlement batch", async () => {
    const retriedBefore = await batchesRetried();

    // Renewal takes the rows in request id order; the batch lists them in the opposite order. A deadlock between
    // the two shows up only in some rounds, so there are several.
    for (let round = 0; round < 5; round++) {
      const ids = Array.from(
        { length: 64 },
        (_, index) => `renewed-${round}-${String(index).padStart(2, "0")}`,
      );
      await Promise.all(ids.map((id) => admitUnlimited(id, 100n)));

      const [renewed, ...settled] = await Promise.all([
        sut.renew(ids, new Date(Date.now() + 60_000)),
        ...[...ids].reverse().map((id) => sut.settle(record(id, 10n))),
      ]);

      expect(typeof renewed).toBe("number");
      expect(settled.every((result) => result.outcome === "recorded")).toBe(
        true,
      );
    }
    expect(await batchesRetried()).toBe(retriedBefore);
  });

  it("admits a reused id during its settlement", async () => {
    expect(await admitUnlimited("reused-live", 1_000n)).toBe("admitted");
    const before = await proxy.snapshot(providerId, clientId);
    const retriedBefore = await batchesRetried();

    const [settled, ...admissions] = await Promise.all([
      sut.settle(record("reused-live", 400n)),
      admitUnlimited("reused-live", 1_000n),
      admitUnlimited("reused-live", 1_000n),
      admitUnlimited("other-live", 1_000n),
    ]);

    const after = await proxy.snapshot(providerId, clientId);
    expect(settled.outcome).toBe("recorded");
    expect(admissions).toEqual([
      "duplicate_request_id",
      "duplicate_request_id",
      "admitted",
    ]);
    expect(before.balance - after.balance).toBe(400n);
    expect(after.reserved - before.reserved).toBe(0n);
    expect(await batchesRetried()).toBe(retriedBefore);
    expect(await sut.void("other-live", new Date())).toBe(true);
  });
});
