import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";

import OpenAI from "openai";

import { AdmissionOutcome } from "../src/billing/accounting.service";
import { AccountingStore } from "../src/billing/accounting.store";
import { RequestStatus } from "../src/billing/entities/llm-request.entity";
import { RequestRecord } from "../src/billing/request-record";
import { ReservationSweeper } from "../src/billing/reservation-sweeper.service";
import { NO_USAGE } from "../src/billing/usage";
import { ClientLimits } from "../src/clients/clients.service";
import { apiAs, seedRoleSessions } from "./support/admin-api";
import { rateLimitHeaders } from "../src/limits/rate-limit-headers";
import { DriftFinder } from "../src/maintenance/reconciliation/drift-finder.service";
import { DriftRepairer } from "../src/maintenance/reconciliation/drift-repairer.service";
import { BillingMode } from "../src/providers/entities/provider.entity";
import { OpenAiUpstream } from "./support/openai-upstream";
import { ProxyHarness } from "./support/proxy-harness";

/** Budgets reset at midnight here, nine hours ahead of UTC and without daylight saving time. */
const TIME_ZONE = "Asia/Tokyo";

/** Local midnight of 2030-03-10 in Tokyo. */
const TOKYO_MIDNIGHT = new Date("2030-03-09T15:00:00Z");

/**
 * Client limits at the accounting level: each limit admits up to its value and rejects beyond it, holds are
 * released exactly once by settlement, void and the sweeper, and budgets reset on calendar boundaries of the
 * configured time zone. Time is passed in, never waited for.
 */
describe("client limits", () => {
  let proxy: ProxyHarness;
  let providerId: number;
  let prepaidProviderId: number;
  let modelConfigId: number;
  let clientCount = 0;

  beforeAll(async () => {
    proxy = await ProxyHarness.start({ limits: { timeZone: TIME_ZONE } });
    ({ providerId, modelConfigId } = await proxy.seedProvider({
      baseUrl: "http://127.0.0.1:9/v1",
    }));
    ({ providerId: prepaidProviderId } = await proxy.seedProvider({
      baseUrl: "http://127.0.0.1:9/v1",
      billing: BillingMode.Prepaid,
      balance: "1.00",
      model: "prepaid-model",
    }));
  });

  afterAll(async () => {
    await proxy.stop();
  });

  async function newClient(limits: Partial<ClientLimits>) {
    clientCount += 1;
    const client = await proxy.clients.create(
      `limited-${clientCount}`,
      null,
      undefined,
      limits,
    );
    const issued = await proxy.clients.issueToken(client.id, "test");
    return { clientId: client.id, tokenId: issued.id };
  }

  function admit(
    clientId: number,
    requestId: string,
    options: {
      worstCase?: bigint;
      tokens?: number;
      countsRequest?: boolean;
      now?: Date;
      prepaid?: boolean;
    } = {},
  ): Promise<AdmissionOutcome> {
    return proxy.accounting.admit({
      requestId,
      providerId: options.prepaid ? prepaidProviderId : providerId,
      clientId,
      prepaid: options.prepaid ?? false,
      worstCase: options.worstCase ?? 1_000n,
      worstCaseTokens: options.tokens ?? 100,
      countsRequest: options.countsRequest ?? true,
      now: options.now,
    });
  }

  function record(
    target: { clientId: number; tokenId: number },
    requestId: string,
    cost: bigint,
    options: { tokens?: number; createdAt?: Date; prepaid?: boolean } = {},
  ): RequestRecord {
    const tokens = options.tokens ?? 60;
    return {
      requestId,
      clientId: target.clientId,
      tokenId: target.tokenId,
      providerId: options.prepaid ? prepaidProviderId : providerId,
      modelConfigId,
      model: "gpt-4o-mini",
      endpoint: "chat.completions",
      status: RequestStatus.Completed,
      errorClass: null,
      upstreamStatus: 200,
      streamed: false,
      usage: {
        ...NO_USAGE,
        promptTokens: tokens - Math.floor(tokens / 3),
        completionTokens: Math.floor(tokens / 3),
      },
      usageEstimated: false,
      cost,
      prepaid: options.prepaid ?? false,
      latencyMs: 5,
      ttftMs: 4,
      createdAt: options.createdAt ?? new Date(),
    };
  }

  async function counters(clientId: number) {
    const [row] = await proxy.query<Record<string, string | number | null>>(
      `select concurrent_requests, rate_window_requests, cast(rate_window_tokens as text) as rate_window_tokens,
         budget_day, cast(budget_day_spent as text) as day_spent, cast(budget_day_held as text) as day_held,
         budget_month, cast(budget_month_spent as text) as month_spent,
         cast(budget_month_held as text) as month_held, cast(total_cost as text) as total_cost
       from clients where id = ?`,
      [clientId],
    );
    return {
      concurrent: Number(row.concurrent_requests),
      windowRequests: Number(row.rate_window_requests),
      windowTokens: Number(row.rate_window_tokens),
      day: row.budget_day,
      daySpent: BigInt(row.day_spent ?? 0),
      dayHeld: BigInt(row.day_held ?? 0),
      month: row.budget_month,
      monthSpent: BigInt(row.month_spent ?? 0),
      monthHeld: BigInt(row.month_held ?? 0),
      totalCost: BigInt(row.total_cost ?? 0),
    };
  }

  function expectLimited(
    outcome: AdmissionOutcome,
    limit: string,
    retryAfterSeconds: number,
  ) {
    expect(outcome.outcome).toBe("limited");
    if (outcome.outcome === "limited") {
      expect(outcome.limit).toBe(limit);
      expect(outcome.retryAfterSeconds).toBe(retryAfterSeconds);
    }
  }

  it("admits requests per minute up to the limit", async () => {
    const { clientId } = await newClient({ requestsPerMinute: 3 });
    const now = new Date("2030-01-01T10:00:20Z");

    const outcomes = [];
    for (let index = 0; index < 3; index++) {
      outcomes.push(await admit(clientId, `rpm-${index}`, { now }));
    }
    const rejected = await admit(clientId, "rpm-3", { now });
    const failover = await admit(clientId, "rpm-failover", {
      now,
      countsRequest: false,
    });
    const nextMinute = await admit(clientId, "rpm-next", {
      now: new Date("2030-01-01T10:01:00Z"),
    });

    expect(outcomes.map((outcome) => outcome.outcome)).toEqual([
      "admitted",
      "admitted",
      "admitted",
    ]);
    expect(outcomes[2]).toEqual({
      outcome: "admitted",
      rateLimits: { requests: { limit: 3, remaining: 0, resetSeconds: 40 } },
    });
    expectLimited(rejected, "requests_per_minute", 40);
    expect(failover.outcome).toBe("admitted");
    expect(nextMinute.outcome).toBe("admitted");
    expect((await counters(clientId)).windowRequests).toBe(1);
  });

  it("holds tokens per minute until settlement", async () => {
    const target = await newClient({ tokensPerMinute: 1000 });
    const now = new Date();

    const first = await admit(target.clientId, "tpm-1", { tokens: 600, now });
    const rejected = await admit(target.clientId, "tpm-2", {
      tokens: 500,
      now,
    });
    await proxy.accounting.settle(
      record(target, "tpm-1", 10n, { tokens: 90, createdAt: now }),
    );
    const afterSettle = await counters(target.clientId);
    const second = await admit(target.clientId, "tpm-2", { tokens: 500, now });

    expect(first).toMatchObject({
      outcome: "admitted",
      rateLimits: { tokens: { limit: 1000, remaining: 400 } },
    });
    expect(rejected).toMatchObject({
      outcome: "limited",
      limit: "tokens_per_minute",
    });
    expect(afterSettle.windowTokens).toBe(90);
    expect(second.outcome).toBe("admitted");
    expect((await counters(target.clientId)).windowTokens).toBe(590);
  });

  it("limits concurrent requests", async () => {
    const { clientId } = await newClient({ maxConcurrentRequests: 2 });

    const first = await admit(clientId, "conc-1");
    const second = await admit(clientId, "conc-2");
    const third = await admit(clientId, "conc-3");
    await proxy.accounting.void("conc-1", providerId);
    const retried = await admit(clientId, "conc-3");

    expect(first.outcome).toBe("admitted");
    expect(second.outcome).toBe("admitted");
    expectLimited(third, "concurrent_requests", 1);
    expect(retried.outcome).toBe("admitted");
    expect((await counters(clientId)).concurrent).toBe(2);
  });

  it("lets at most the daily budget through a race", async () => {
    const worstCase = 7_000n;
    const target = await newClient({ dailyBudget: worstCase * 10n });

    const outcomes = await Promise.all(
      Array.from({ length: 50 }, (_, index) =>
        admit(target.clientId, `race-${index}`, { worstCase }),
      ),
    );
    const admitted = outcomes
      .map((outcome, index) => ({ outcome, index }))
      .filter(({ outcome }) => outcome.outcome === "admitted");
    const limited = outcomes.filter((outcome) => outcome.outcome === "limited");
    const held = await counters(target.clientId);

    expect(admitted).toHaveLength(10);
    expect(limited).toHaveLength(40);
    for (const outcome of limited) {
      expectLimited(outcome, "daily_budget", 1);
    }
    expect(held.dayHeld).toBe(worstCase * 10n);
    expect(held.monthHeld).toBe(worstCase * 10n);
    expect(held.concurrent).toBe(10);

    for (const { index } of admitted) {
      await proxy.accounting.settle(
        record(target, `race-${index}`, worstCase / 2n),
      );
    }
    const settled = await counters(target.clientId);
    const [records] = await proxy.query<{ cost: string }>(
      "select cast(sum(cost) as text) as cost from llm_requests where client_id = ?",
      [target.clientId],
    );

    expect(settled.dayHeld).toBe(0n);
    expect(settled.daySpent).toBe(worstCase * 5n);
    expect(settled.daySpent).toBe(BigInt(records.cost));
    expect(settled.totalCost).toBe(BigInt(records.cost));
    expect(settled.concurrent).toBe(0);
  });

  it("frees the hold at settlement and counts the cost", async () => {
    const target = await newClient({ monthlyBudget: 100_000n });

    const admitted = await admit(target.clientId, "settle-1", {
      worstCase: 40_000n,
      prepaid: true,
    });
    const during = await counters(target.clientId);
    const results = await Promise.all([
      proxy.accounting.settle(
        record(target, "settle-1", 12_345n, { prepaid: true }),
      ),
      proxy.accounting.settle(
        record(target, "settle-1", 12_345n, { prepaid: true }),
      ),
    ]);
    const after = await counters(target.clientId);

    expect(admitted.outcome).toBe("admitted");
    expect(during.monthHeld).toBe(40_000n);
    expect(during.dayHeld).toBe(40_000n);
    expect(during.concurrent).toBe(1);
    expect([...results].sort()).toEqual(["duplicate", "recorded"]);
    expect(after.monthHeld).toBe(0n);
    expect(after.dayHeld).toBe(0n);
    expect(after.monthSpent).toBe(12_345n);
    expect(after.daySpent).toBe(12_345n);
    expect(after.concurrent).toBe(0);
  });

  it("releases holds on void and sweep", async () => {
    const target = await newClient({
      dailyBudget: 10_000n,
      tokensPerMinute: 10_000,
    });
    const store = proxy.app.get(AccountingStore);

    await admit(target.clientId, "void-1", { worstCase: 3_000n, tokens: 400 });
    const expired = await store.admit({
      requestId: "swept-1",
      providerId,
      clientId: target.clientId,
      amount: 0n,
      prepaid: false,
      worstCase: 2_000n,
      worstCaseTokens: 300,
      countsRequest: true,
      expiresAt: new Date(Date.now() - 1),
      now: new Date(),
    });
    const held = await counters(target.clientId);

    await proxy.accounting.void("void-1", providerId);
    await proxy.accounting.void("void-1", providerId);
    const voided = await proxy.app.get(ReservationSweeper).sweep(new Date());
    const released = await counters(target.clientId);

    expect(expired.outcome).toBe("admitted");
    expect(held.dayHeld).toBe(5_000n);
    expect(held.concurrent).toBe(2);
    expect(voided).toBe(1);
    expect(released.dayHeld).toBe(0n);
    expect(released.monthHeld).toBe(0n);
    expect(released.concurrent).toBe(0);
    expect(released.windowTokens).toBe(0);
    expect(released.daySpent).toBe(0n);
  });

  it("resets the daily budget at midnight in the configured time zone", async () => {
    const target = await newClient({ dailyBudget: 2_000n });
    const beforeMidnight = new Date(TOKYO_MIDNIGHT.getTime() - 60_000);

    for (const requestId of ["tz-1", "tz-2"]) {
      await admit(target.clientId, requestId, { now: beforeMidnight });
      await proxy.accounting.settle(
        record(target, requestId, 1_000n, { createdAt: beforeMidnight }),
      );
    }
    const spent = await admit(target.clientId, "tz-3", {
      now: new Date(TOKYO_MIDNIGHT.getTime() - 30_000),
    });
    const afterMidnight = await admit(target.clientId, "tz-3", {
      now: TOKYO_MIDNIGHT,
    });
    await proxy.accounting.settle(
      record(target, "tz-3", 1_500n, { createdAt: TOKYO_MIDNIGHT }),
    );
    // UTC midnight falls at 09:00 in Tokyo, inside the same budget day.
    const utcMidnight = await admit(target.clientId, "tz-4", {
      now: new Date("2030-03-10T00:00:30Z"),
    });
    const state = await counters(target.clientId);

    expectLimited(spent, "daily_budget", 30);
    expect(afterMidnight.outcome).toBe("admitted");
    expectLimited(utcMidnight, "daily_budget", 15 * 3600 - 30);
    expect(state.day).toBe("2030-03-10");
    expect(state.daySpent).toBe(1_500n);
  });

  it("resets the monthly budget at the start of the month", async () => {
    const target = await newClient({ monthlyBudget: 1_000n });
    const lastHour = new Date("2030-03-31T14:00:00Z");

    await admit(target.clientId, "month-1", { now: lastHour });
    await proxy.accounting.settle(
      record(target, "month-1", 1_000n, { createdAt: lastHour }),
    );
    const spent = await admit(target.clientId, "month-2", { now: lastHour });
    const nextMonth = await admit(target.clientId, "month-2", {
      now: new Date("2030-03-31T15:00:00Z"),
    });

    expectLimited(spent, "monthly_budget", 3600);
    expect(nextMonth.outcome).toBe("admitted");
    expect((await counters(target.clientId)).month).toBe("2030-04");
  });

  it("leaves clients without limits unlimited", async () => {
    const { clientId } = await newClient({});

    const outcome = await admit(clientId, "free-1", { worstCase: 10n ** 15n });

    expect(outcome).toEqual({ outcome: "admitted", rateLimits: null });
  });

  it("builds OpenAI rate-limit headers", () => {
    const headers = rateLimitHeaders({
      requests: { limit: 60, remaining: 59, resetSeconds: 1 },
      tokens: { limit: 150000, remaining: 149000, resetSeconds: 60 },
    });

    expect(headers).toEqual({
      "x-ratelimit-limit-requests": "60",
      "x-ratelimit-remaining-requests": "59",
      "x-ratelimit-reset-requests": "1s",
      "x-ratelimit-limit-tokens": "150000",
      "x-ratelimit-remaining-tokens": "149000",
      "x-ratelimit-reset-tokens": "1m0s",
    });
  });

  it("reports no drift in the limit counters", async () => {
    const finder = proxy.app.get(DriftFinder);

    const drift = await finder.clientLimits(new Date());

    expect(drift).toEqual([]);
  });

  it("repairs drifted limit counters", async () => {
    const target = await newClient({ dailyBudget: 50_000n });
    await admit(target.clientId, "drift-1", { worstCase: 4_000n });
    await admit(target.clientId, "drift-2", { worstCase: 4_000n });
    await proxy.accounting.settle(record(target, "drift-1", 1_500n));
    const before = await counters(target.clientId);
    await proxy.query(
      `update clients set concurrent_requests = 5, budget_day_held = 1, budget_day_spent = budget_day_spent + 70
       where id = ?`,
      [target.clientId],
    );
    const finder = proxy.app.get(DriftFinder);
    const repairer = proxy.app.get(DriftRepairer);

    const drift = await finder.clientLimits(new Date());
    const holds = await repairer.repairClientHolds(target.clientId);
    const spend = await repairer.repairClientSpend(
      target.clientId,
      "day",
      String(before.day),
    );
    const after = await counters(target.clientId);

    expect(drift.map((entry) => entry.check)).toEqual([
      "client_holds",
      "client_spend",
    ]);
    expect(drift[0].fields.map((field) => field.field)).toEqual([
      "concurrent_requests",
      "budget_day_held",
    ]);
    expect(holds?.after).toEqual({
      concurrent_requests: "1",
      budget_day_held: "4000",
      budget_month_held: "4000",
    });
    expect(spend?.after).toEqual({ budget_day_spent: "1500" });
    expect(after).toEqual(before);
    expect(await finder.clientLimits(new Date())).toEqual([]);
  });
});

/**
 * Client limits through the proxy with the official OpenAI SDK: a rejected request gets 429 with Retry-After and
 * OpenAI's rate-limit headers, and fifty requests racing for a budget of ten spend at most the budget.
 */
describe("client limits through the proxy", () => {
  let upstream: OpenAiUpstream;
  let proxy: ProxyHarness;

  const actor = { userId: null, username: "test" };
  const messages = [{ role: "user" as const, content: "limit me" }];

  beforeAll(async () => {
    upstream = await OpenAiUpstream.start();
    proxy = await ProxyHarness.start();
    await proxy.seedProvider({ baseUrl: upstream.baseUrl });
  });

  afterAll(async () => {
    await proxy.stop();
    await upstream.stop();
  });

  async function limitedClient(limits: Partial<ClientLimits>) {
    const { clientId, token } = await proxy.seedClient();
    await proxy.clients.update(clientId, limits, actor);
    return { clientId, token };
  }

  it("leaves the row of a client without limits alone", async () => {
    const { clientId, token } = await proxy.seedClient();

    await proxy
      .openai(token, { requestId: "no-limits" })
      .chat.completions.create({ model: "gpt-4o-mini", messages });
    await proxy.settled();

    // Settlement still counts the day's spend, so a budget set later starts from what was spent.
    const [client] = await proxy.query<Record<string, string | null>>(
      `select cast(concurrent_requests as text) as concurrent, cast(rate_window_requests as text) as requests,
         cast(budget_day_held as text) as held from clients where id = ?`,
      [clientId],
    );
    expect(client.concurrent).toBe("0");
    expect(client.requests).toBe("0");
    expect(client.held).toBe("0");
    const [reservation] = await proxy.query<Record<string, string | null>>(
      "select budget_day, cast(budget_held as text) as held from credit_reservations where request_id = ?",
      ["no-limits"],
    );
    expect(reservation.budget_day).toBeNull();
    expect(reservation.held).toBe("0");
  });

  /** Waits for the next minute when less than ten seconds of this one are left, so three calls share a window. */
  async function awayFromMinuteEnd(): Promise<void> {
    const left = 60_000 - (Date.now() % 60_000);
    if (left < 10_000) {
      await new Promise((resolve) => setTimeout(resolve, left));
    }
  }

  it("answers 429 with Retry-After and rate-limit headers", async () => {
    const { token } = await limitedClient({
      requestsPerMinute: 2,
      tokensPerMinute: 1_000_000,
    });
    const openai = proxy.openai(token);
    await awayFromMinuteEnd();

    const first = await openai.chat.completions
      .create({ model: "gpt-4o-mini", max_tokens: 50, messages })
      .withResponse();
    const second = await openai.chat.completions
      .create({ model: "gpt-4o-mini", max_tokens: 50, messages })
      .withResponse();
    const error = (await openai.chat.completions
      .create({ model: "gpt-4o-mini", max_tokens: 50, messages })
      .catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;

    expect(first.response.headers.get("x-ratelimit-limit-requests")).toBe("2");
    expect(first.response.headers.get("x-ratelimit-remaining-requests")).toBe(
      "1",
    );
    expect(first.response.headers.get("x-ratelimit-reset-requests")).toMatch(
      // A window that opened this very second resets in a full minute, written 1m0s.
      /^(\d+s|1m0s)$/,
    );
    expect(first.response.headers.get("x-ratelimit-limit-tokens")).toBe(
      "1000000",
    );
    expect(second.response.headers.get("x-ratelimit-remaining-requests")).toBe(
      "0",
    );
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    expect(error.status).toBe(429);
    expect(error.code).toBe("rate_limit_exceeded");
    expect(Number(error.headers?.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(Number(error.headers?.get("retry-after"))).toBeLessThanOrEqual(60);
    expect(error.headers?.get("x-ratelimit-remaining-requests")).toBe("0");
    expect(error.headers?.get("x-ratelimit-limit-tokens")).toBe("1000000");
  });

  it("spends at most the budget when fifty requests race for ten", async () => {
    const { clientId, token } = await proxy.seedClient();
    const openai = proxy.openai(token);
    const body = { model: "gpt-4o-mini", max_tokens: 200, messages };
    // A client takes budget holds only once it has a limit, so a generous budget comes first.
    await proxy.clients.update(
      clientId,
      { dailyBudget: 1_000_000_000_000n },
      actor,
    );

    // One slow request shows the worst-case cost reserved against the budget while a request runs.
    upstream.script({
      delayMs: 300,
      usage: { prompt_tokens: 5, completion_tokens: 3 },
    });
    const probe = openai.chat.completions.create(body);
    let hold: bigint | undefined;
    for (let attempt = 0; attempt < 50 && hold === undefined; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      const [row] = await proxy.query<{ held: string }>(
        "select cast(budget_held as text) as held from credit_reservations where client_id = ? and status = 'pending'",
        [clientId],
      );
      hold = row ? BigInt(row.held) : undefined;
    }
    await probe;
    await proxy.settled();
    const [spentBefore] = await proxy.query<{ spent: string }>(
      "select cast(budget_day_spent as text) as spent from clients where id = ?",
      [clientId],
    );
    const budget = BigInt(spentBefore.spent) + hold! * 10n;
    await proxy.clients.update(clientId, { dailyBudget: budget }, actor);

    // Every response takes four seconds, so all fifty admissions are decided while the first ten are in flight,
    // even on a loaded machine.
    upstream.setDefault({
      delayMs: 4000,
      usage: { prompt_tokens: 5, completion_tokens: 3 },
    });
    const results = await Promise.all(
      Array.from({ length: 50 }, () =>
        openai.chat.completions.create(body).then(
          () => null,
          (error: unknown) => error as InstanceType<typeof OpenAI.APIError>,
        ),
      ),
    );
    upstream.setDefault({});
    await proxy.settled();

    const refused = results.filter((result) => result !== null);
    const [client] = await proxy.query<Record<string, string>>(
      `select cast(total_requests as text) as requests, cast(total_cost as text) as cost,
         cast(budget_day_spent as text) as spent, cast(budget_day_held as text) as held,
         cast(concurrent_requests as text) as concurrent
       from clients where id = ?`,
      [clientId],
    );
    const [records] = await proxy.query<{ n: number; cost: string }>(
      "select count(*) as n, cast(coalesce(sum(cost), 0) as text) as cost from llm_requests where client_id = ?",
      [clientId],
    );

    expect(results.length - refused.length).toBe(10);
    for (const error of refused) {
      expect(error.status).toBe(429);
      expect(error.code).toBe("budget_exceeded");
      expect(error.headers?.get("retry-after")).toBe("1");
    }
    expect(BigInt(client.spent) <= budget).toBe(true);
    expect(BigInt(client.spent)).toBe(BigInt(records.cost));
    expect(BigInt(client.cost)).toBe(BigInt(records.cost));
    expect(Number(client.requests)).toBe(records.n);
    expect(records.n).toBe(11);
    expect(client.held).toBe("0");
    expect(client.concurrent).toBe("0");
  }, 60_000);
});

/** Limits in the admin API: set on create, changed and cleared on update, shown on get and list, audited. */
describe("client limits in the admin API", () => {
  let proxy: ProxyHarness;
  let admin: ReturnType<typeof apiAs>;

  beforeAll(async () => {
    proxy = await ProxyHarness.start();
    admin = apiAs(proxy.baseUrl, (await seedRoleSessions(proxy)).admin);
  });

  afterAll(async () => {
    await proxy.stop();
  });

  it("creates, changes and clears limits", async () => {
    const created = await admin("POST", "/api/clients", {
      name: "metered-service",
      requestsPerMinute: 60,
      dailyBudget: "25.50",
    });
    const id = created.body.id;
    const updated = await admin("PATCH", `/api/clients/${id}`, {
      requestsPerMinute: null,
      tokensPerMinute: 150000,
      maxConcurrentRequests: 4,
      monthlyBudget: "500",
    });
    const fetched = await admin("GET", `/api/clients/${id}`);
    const listed = await admin("GET", "/api/clients");
    const [stored] = await proxy.query<{ daily: string; monthly: string }>(
      "select cast(daily_budget as text) as daily, cast(monthly_budget as text) as monthly from clients where id = ?",
      [id],
    );
    const [audit] = await proxy.query<{ before: unknown; after: unknown }>(
      "select before_value as before, after_value as after from audit_entries where action = 'client.update' and entity_id = ?",
      [String(id)],
    );
    const json = (value: unknown) =>
      (typeof value === "string" ? JSON.parse(value) : value) as Record<
        string,
        unknown
      >;

    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      requestsPerMinute: 60,
      tokensPerMinute: null,
      maxConcurrentRequests: null,
      dailyBudget: "25.500000000",
      monthlyBudget: null,
      limitUsage: { concurrentRequests: 0, daySpent: "0.000000000" },
    });
    expect(updated.status).toBe(200);
    const expected = {
      requestsPerMinute: null,
      tokensPerMinute: 150000,
      maxConcurrentRequests: 4,
      dailyBudget: "25.500000000",
      monthlyBudget: "500.000000000",
    };
    expect(updated.body).toMatchObject(expected);
    expect(fetched.body).toMatchObject(expected);
    expect(
      listed.body.items.find((item: { id: number }) => item.id === id),
    ).toMatchObject(expected);
    expect(stored).toEqual({ daily: "25500000000", monthly: "500000000000" });
    expect(json(audit.before)).toMatchObject({
      requestsPerMinute: 60,
      monthlyBudget: null,
    });
    expect(json(audit.after)).toMatchObject({
      requestsPerMinute: null,
      monthlyBudget: "500.000000000",
    });
  });

  it("rejects negative and fractional limits", async () => {
    const negative = await admin("POST", "/api/clients", {
      name: "bad-limits",
      maxConcurrentRequests: -1,
    });
    const fractional = await admin("POST", "/api/clients", {
      name: "bad-limits",
      requestsPerMinute: 1.5,
    });
    const budget = await admin("POST", "/api/clients", {
      name: "bad-limits",
      dailyBudget: "-3",
    });

    expect(negative.status).toBe(400);
    expect(negative.body.error.param).toBe("maxConcurrentRequests");
    expect(fractional.status).toBe(400);
    expect(fractional.body.error.param).toBe("requestsPerMinute");
    expect(budget.status).toBe(400);
    expect(budget.body.error.param).toBe("dailyBudget");
  });

  it("sets and clears limits from the command line", async () => {
    const run = (args: string[]) =>
      promisify(execFile)(
        process.execPath,
        ["-r", "ts-node/register/transpile-only", "src/cli/main.ts", ...args],
        {
          env: {
            PATH: process.env.PATH,
            TS_NODE_PROJECT: "tsconfig.json",
            DATABASE_URL:
              proxy.databaseUrl ?? join(proxy.folder, "proxy.sqlite"),
            SECRETS_FILE: join(proxy.folder, "secrets.json"),
            SPOOL_DIR: join(proxy.folder, "spool"),
          },
        },
      );

    const created = await run([
      "client",
      "create",
      "cli-capped",
      "--requests-per-minute",
      "10",
      "--daily-budget",
      "5",
    ]);
    const changed = await run([
      "client",
      "limits",
      "cli-capped",
      "--daily-budget",
      "none",
      "--max-concurrent",
      "3",
    ]);
    const [row] = await proxy.query<Record<string, unknown>>(
      `select requests_per_minute as rpm, max_concurrent_requests as concurrent, daily_budget as daily
       from clients where name = 'cli-capped'`,
    );

    expect(created.stdout).toMatch(/^created client cli-capped \(id \d+\)\n$/);
    expect(changed.stdout).toBe(
      "cli-capped\trequests-per-minute=10\ttokens-per-minute=-\tmax-concurrent=3\t" +
        "daily-budget=-\tmonthly-budget=-\n",
    );
    expect(row).toEqual({ rpm: 10, concurrent: 3, daily: null });
  }, 120_000);
});
