import { Agent, request } from "undici";

import { BillingMode } from "../src/providers/entities/provider.entity";
import { BalanceTransactionKind } from "../src/billing/entities/balance-transaction.entity";
import { OpenAiUpstream } from "./support/openai-upstream";
import { ProxyHarness } from "./support/proxy-harness";

/**
 * Fifty requests race for a prepaid balance that covers ten reservations. The balance must never go below
 * zero, every served request must be recorded once, every refused one must get a clear error, and the ledger
 * must add up to the balance.
 */
describe("prepaid race", () => {
  let upstream: OpenAiUpstream;
  let proxy: ProxyHarness;
  let agent: Agent;

  beforeAll(async () => {
    upstream = await OpenAiUpstream.start();
    proxy = await ProxyHarness.start();
    agent = new Agent({ connections: 64 });
  });

  afterAll(async () => {
    await agent.close();
    await proxy.stop();
    await upstream.stop();
  });

  const body = JSON.stringify({
    model: "gpt-4o-mini",
    max_tokens: 200,
    messages: [{ role: "user", content: "race" }],
  });

  function send(token: string, requestId: string) {
    return request(`${proxy.baseUrl}/v1/chat/completions`, {
      method: "POST",
      dispatcher: agent,
      headers: {
        "content-type": "application/json",
        authorization: `Bearer ${token}`,
        "x-request-id": requestId,
      },
      body,
    }).then(async (response) => ({
      status: response.statusCode,
      body: (await response.body.json()) as { error: { code: string } },
    }));
  }

  /** Sends one slow request and reads the amount its reservation holds while it is in flight. */
  async function reservationPerRequest(token: string): Promise<bigint> {
    upstream.script({
      delayMs: 300,
      usage: { prompt_tokens: 5, completion_tokens: 3 },
    });
    const probe = send(token, "probe");
    let amount: string | undefined;
    for (let attempt = 0; attempt < 50 && amount === undefined; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      const rows = await proxy.query<{ amount: string }>(
        "select cast(amount as text) as amount from credit_reservations where request_id = 'probe'",
      );
      amount = rows[0]?.amount;
    }
    expect((await probe).status).toBe(200);
    return BigInt(amount!);
  }

  it("never overdraws the last credit", async () => {
    const { providerId } = await proxy.seedProvider({
      baseUrl: upstream.baseUrl,
      billing: BillingMode.Prepaid,
      balance: "1.00",
    });
    const { clientId, token } = await proxy.seedClient();
    const hold = await reservationPerRequest(token);

    const { balance } = await proxy.snapshot(providerId, clientId);
    await proxy.providers.changeBalance({
      providerId,
      amount: hold * 10n - balance,
      kind: BalanceTransactionKind.Adjustment,
      actor: "test",
      note: "leave exactly ten reservations of credit",
    });
    const start = await proxy.snapshot(providerId, clientId);
    expect(start.balance).toBe(hold * 10n);

    // Every answer takes two seconds, so all fifty admissions are decided while the first ten still hold
    // their credit, however slow the machine.
    upstream.setDefault({
      delayMs: 2000,
      usage: { prompt_tokens: 5, completion_tokens: 3 },
    });
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, index) => send(token, `race-${index}`)),
    );
    upstream.setDefault({});

    const served = results.filter((result) => result.status === 200);
    const refused = results.filter((result) => result.status !== 200);
    expect(served).toHaveLength(10);
    expect(refused).toHaveLength(40);
    for (const result of refused) {
      expect(result.status).toBe(402);
      expect(result.body.error.code).toBe("insufficient_credit");
    }

    const end = await proxy.snapshot(providerId, clientId);
    const [rows] = await proxy.query<{ n: number; cost: string }>(
      "select count(*) as n, cast(sum(cost) as text) as cost from llm_requests where request_id like 'race-%'",
    );
    const [ledger] = await proxy.query<{ total: string }>(
      "select cast(sum(amount) as text) as total from balance_transactions where provider_id = ?",
      [providerId],
    );
    const [pending] = await proxy.query<{ n: number }>(
      "select count(*) as n from credit_reservations where status = 'pending'",
    );

    expect(end.balance >= 0n).toBe(true);
    expect(rows.n).toBe(10);
    expect(end.balance).toBe(start.balance - BigInt(rows.cost));
    expect(BigInt(ledger.total)).toBe(end.balance);
    expect(end.reserved).toBe(0n);
    expect(pending.n).toBe(0);
    expect(end.clientRequests - start.clientRequests).toBe(10);
  });
});
