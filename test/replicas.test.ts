import { rmSync } from "node:fs";

import { Agent, request } from "undici";

import { BalanceTransactionKind } from "../src/billing/entities/balance-transaction.entity";
import { BillingMode } from "../src/providers/entities/provider.entity";
import { OpenAiUpstream } from "./support/openai-upstream";
import { ProxyHarness } from "./support/proxy-harness";
import { ServerProcess, serverEnv } from "./support/server-process";
import { DatabaseReader, dropPostgresDatabase } from "./support/test-database";

/**
 * Two proxy processes share one database, as replicas behind a load balancer do. Requests racing through both
 * for the last prepaid credit must not overdraw it, and a token revoked anywhere is refused by both once their
 * token lookups (cached for `proxy.lookupCacheMs`) have expired.
 */
/** `proxy.lookupCacheMs` by default: how long a replica may reuse a token lookup, in milliseconds. */
const LOOKUP_CACHE_MS = 2_000;

describe("replicas", () => {
  let upstream: OpenAiUpstream;
  let target: { folder: string; databaseUrl: string | null };
  let replicas: ServerProcess[];
  let reader: DatabaseReader;
  let agent: Agent;
  let providerId: number;
  let clientId: number;
  let tokenId: number;
  let token: string;
  let hold: bigint;

  beforeAll(async () => {
    upstream = await OpenAiUpstream.start();
    agent = new Agent({ connections: 64 });

    const seeding = await ProxyHarness.start();
    ({ providerId } = await seeding.seedProvider({
      baseUrl: upstream.baseUrl,
      billing: BillingMode.Prepaid,
      balance: "1.00",
    }));
    ({ clientId, tokenId, token } = await seeding.seedClient());
    hold = await reservationPerRequest(seeding);
    const { balance } = await seeding.snapshot(providerId, clientId);
    await seeding.providers.changeBalance({
      providerId,
      amount: hold * 10n - balance,
      kind: BalanceTransactionKind.Adjustment,
      actor: "test",
      note: "leave exactly ten reservations of credit",
    });
    target = { folder: seeding.folder, databaseUrl: seeding.databaseUrl };
    await seeding.stop({ keepFiles: true });

    replicas = await Promise.all([
      ServerProcess.start(serverEnv(target, "spool-a")),
      ServerProcess.start(serverEnv(target, "spool-b")),
    ]);
    reader = await DatabaseReader.open(target);
  }, 120_000);

  afterAll(async () => {
    await Promise.all(replicas.map((replica) => replica.stop()));
    await reader.close();
    await agent.close();
    await upstream.stop();
    rmSync(target.folder, { recursive: true, force: true });
    if (target.databaseUrl) {
      await dropPostgresDatabase(target.databaseUrl);
    }
  });

  const body = JSON.stringify({
    model: "gpt-4o-mini",
    max_tokens: 200,
    messages: [{ role: "user", content: "race" }],
  });

  async function send(baseUrl: string, requestId: string) {
    const response = await request(`${baseUrl}/v1/chat/completions`, {
      method: "POST",
      dispatcher: agent,
      headers: {
        "content-type": "application/json",
        authorization: `Bearer ${token}`,
        "x-request-id": requestId,
      },
      body,
    });
    return {
      status: response.statusCode,
      body: (await response.body.json()) as { error?: { code: string } },
    };
  }

  /** Sends one slow request through the seeding instance and reads what its reservation holds in flight. */
  async function reservationPerRequest(seeding: ProxyHarness): Promise<bigint> {
    upstream.script({ delayMs: 300 });
    const probe = send(seeding.baseUrl, "probe");
    let amount: string | undefined;
    for (let attempt = 0; attempt < 50 && amount === undefined; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      const rows = await seeding.query<{ amount: string }>(
        "select cast(amount as text) as amount from credit_reservations where request_id = 'probe'",
      );
      amount = rows[0]?.amount;
    }
    expect((await probe).status).toBe(200);
    return BigInt(amount!);
  }

  /** Answers go out before their records are written, so wait until no reservation is pending. */
  async function waitUntilSettled(): Promise<void> {
    for (let attempt = 0; attempt < 200; attempt++) {
      const pending = await one<{ n: number }>(
        "select count(*) as n from credit_reservations where status = 'pending'",
      );
      if (pending.n === 0) {
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    throw new Error("reservations still pending after 5 s");
  }

  async function one<T>(sql: string, params: unknown[] = []): Promise<T> {
    const rows = await reader.query<T>(sql, params);
    return rows[0];
  }

  it("never overdraws credit shared by two replicas", async () => {
    // Every answer takes two seconds, so all fifty admissions are decided while the first ten still hold
    // their credit, however slow the machine.
    upstream.setDefault({
      delayMs: 2000,
      usage: { prompt_tokens: 5, completion_tokens: 3 },
    });
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, index) =>
        send(replicas[index % 2].baseUrl, `replica-race-${index}`),
      ),
    );
    upstream.setDefault({});

    await waitUntilSettled();
    const served = results.filter((result) => result.status === 200);
    const refused = results.filter((result) => result.status !== 200);
    expect(served).toHaveLength(10);
    expect(refused.every((result) => result.status === 402)).toBe(true);
    expect(
      refused.every(
        (result) => result.body.error?.code === "insufficient_credit",
      ),
    ).toBe(true);

    const provider = await one<{ balance: string; reserved: string }>(
      "select cast(credit_balance as text) as balance, cast(credit_reserved as text) as reserved from providers where id = ?",
      [providerId],
    );
    const rows = await one<{ n: number; cost: string }>(
      "select count(*) as n, cast(sum(cost) as text) as cost from llm_requests where request_id like 'replica-race-%'",
    );
    const ledger = await one<{ total: string }>(
      "select cast(sum(amount) as text) as total from balance_transactions where provider_id = ?",
      [providerId],
    );
    const pending = await one<{ n: number }>(
      "select count(*) as n from credit_reservations where status = 'pending'",
    );
    const totals = await one<{ requests: number; cost: string }>(
      "select total_requests as requests, cast(total_cost as text) as cost from clients where id = ?",
      [clientId],
    );
    const detail = await one<{ requests: number; cost: string }>(
      "select count(*) as requests, cast(sum(cost) as text) as cost from llm_requests where client_id = ?",
      [clientId],
    );
    const rollup = await one<{ requests: number; cost: string }>(
      "select sum(requests) as requests, cast(sum(cost) as text) as cost from usage_daily where client_id = ?",
      [clientId],
    );

    expect(BigInt(provider.balance) >= 0n).toBe(true);
    expect(rows.n).toBe(10);
    expect(BigInt(provider.balance)).toBe(hold * 10n - BigInt(rows.cost));
    expect(BigInt(ledger.total)).toBe(BigInt(provider.balance));
    expect(provider.reserved).toBe("0");
    expect(pending.n).toBe(0);
    expect(totals.requests).toBe(detail.requests);
    expect(totals.cost).toBe(detail.cost);
    expect(rollup.requests).toBe(detail.requests);
    expect(rollup.cost).toBe(detail.cost);
  });

  it("refuses a revoked token on every replica", async () => {
    await reader.query(`update client_tokens set revoked_at = ? where id = ?`, [
      target.databaseUrl ? new Date() : Date.now(),
      tokenId,
    ]);
    // The revocation was written behind the replicas' backs, so each may serve a cached lookup until it expires.
    await new Promise((resolve) => setTimeout(resolve, LOOKUP_CACHE_MS));

    const answers = await Promise.all(
      replicas.map((replica) =>
        send(replica.baseUrl, `after-revoke-${replica.baseUrl}`),
      ),
    );

    for (const answer of answers) {
      expect(answer.status).toBe(401);
      expect(answer.body.error?.code).toBe("token_revoked");
    }
  });
});
