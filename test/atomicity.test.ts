import { BillingMode } from "../src/providers/entities/provider.entity";
import { OpenAiUpstream } from "./support/openai-upstream";
import { ProxyHarness } from "./support/proxy-harness";
import { TEST_DIALECT } from "./support/test-database";

/** Makes every insert into the daily rollup fail, the last statement of the accounting transaction. */
async function refuseRollupInserts(proxy: ProxyHarness): Promise<void> {
  if (TEST_DIALECT === "sqlite") {
    await proxy.query(
      "create trigger fail_rollup before insert on usage_daily begin select raise(abort, 'rollup refused'); end",
    );
    return;
  }
  await proxy.query(
    "create function fail_rollup() returns trigger language plpgsql as $$ begin raise exception 'rollup refused'; end $$",
  );
  await proxy.query(
    "create trigger fail_rollup before insert on usage_daily for each row execute function fail_rollup()",
  );
}

async function allowRollupInserts(proxy: ProxyHarness): Promise<void> {
  await proxy.query(
    TEST_DIALECT === "sqlite"
      ? "drop trigger fail_rollup"
      : "drop trigger fail_rollup on usage_daily",
  );
}

/**
 * The request row, client totals, daily rollup and prepaid debit are one transaction: when its last statement
 * fails, none of the others stay, and the spooled record later writes all of them.
 */
describe("accounting transaction", () => {
  let upstream: OpenAiUpstream;
  let proxy: ProxyHarness;

  beforeAll(async () => {
    upstream = await OpenAiUpstream.start();
    proxy = await ProxyHarness.start({ billing: { spoolRetryMs: 3_600_000 } });
  });

  afterAll(async () => {
    await proxy.stop();
    await upstream.stop();
  });

  it("writes all of a record or none of it", async () => {
    const { providerId } = await proxy.seedProvider({
      baseUrl: upstream.baseUrl,
      billing: BillingMode.Prepaid,
      balance: "2.00",
    });
    const { clientId, token } = await proxy.seedClient();
    const before = await proxy.snapshot(providerId, clientId);
    await refuseRollupInserts(proxy);

    upstream.script({ usage: { prompt_tokens: 400, completion_tokens: 40 } });
    const answer = await proxy
      .openai(token, { requestId: "all-or-nothing" })
      .chat.completions.create({
        model: "gpt-4o-mini",
        messages: [{ role: "user", content: "hi" }],
      });

    expect(answer.choices[0].message.content).toBe("Hello world!");
    const during = await proxy.snapshot(providerId, clientId);
    expect(during.requestRows).toBe(before.requestRows);
    expect(during.balance).toBe(before.balance);
    expect(during.clientRequests).toBe(before.clientRequests);
    expect(during.ledgerRows).toBe(before.ledgerRows);
    expect(during.reserved > 0n).toBe(true);

    await allowRollupInserts(proxy);
    await proxy.accounting.replaySpool();

    const after = await proxy.snapshot(providerId, clientId);
    const [rollup] = await proxy.query<{ requests: number }>(
      "select requests from usage_daily where client_id = ?",
      [clientId],
    );
    // 400 × 2.50 + 40 × 10.00 = 1,400 USD per million → 1,400,000 nano-dollars.
    expect(before.balance - after.balance).toBe(1_400_000n);
    expect(after.requestRows - before.requestRows).toBe(1);
    expect(after.clientRequests - before.clientRequests).toBe(1);
    expect(after.ledgerRows - before.ledgerRows).toBe(1);
    expect(after.reserved).toBe(0n);
    expect(rollup.requests).toBe(1);
  });
});
