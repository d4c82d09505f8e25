import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { BillingMode } from "../src/providers/entities/provider.entity";
import { OpenAiUpstream } from "./support/openai-upstream";
import { ProxyHarness } from "./support/proxy-harness";
import { DatabaseWriteLock } from "./support/database-lock";

/**
 * The database is locked by another process while a request completes. The client still gets its answer, the
 * record waits durably in the spool, and it is written exactly once when the database returns, also across a
 * restart of the proxy.
 */
describe("database outage", () => {
  let upstream: OpenAiUpstream;

  beforeAll(async () => {
    upstream = await OpenAiUpstream.start();
  });

  afterAll(async () => {
    await upstream.stop();
  });

  const overrides = {
    database: { busyTimeoutMs: 200 },
    billing: { spoolRetryMs: 3_600_000 },
  };

  async function seed(proxy: ProxyHarness) {
    const provider = await proxy.seedProvider({
      baseUrl: upstream.baseUrl,
      billing: BillingMode.Prepaid,
      balance: "5.00",
    });
    const client = await proxy.seedClient();
    return { ...provider, ...client };
  }

  /** Sends a request whose answer arrives only after the test has locked the database. */
  async function completeWhileLocked(
    proxy: ProxyHarness,
    token: string,
    requestId: string,
  ) {
    upstream.script({
      delayMs: 400,
      usage: { prompt_tokens: 1000, completion_tokens: 100 },
    });
    const pending = proxy.openai(token, { requestId }).chat.completions.create({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "hi" }],
    });

    await new Promise((resolve) => setTimeout(resolve, 150));
    const lock = await DatabaseWriteLock.take(proxy);
    const answer = await pending;
    await proxy.settled();

    return { answer, lock };
  }

  const spooled = (proxy: ProxyHarness) =>
    readdirSync(join(proxy.folder, "spool")).filter((name) =>
      name.endsWith(".json"),
    );

  it("spools the record and writes it once later", async () => {
    const proxy = await ProxyHarness.start(overrides);
    const { providerId, clientId, token } = await seed(proxy);
    const before = await proxy.snapshot(providerId, clientId);

    const { answer, lock } = await completeWhileLocked(
      proxy,
      token,
      "while-locked",
    );

    expect(answer.choices[0].message.content).toBe("Hello world!");
    expect(spooled(proxy)).toEqual(["while-locked.json"]);

    await lock.release();
    await proxy.accounting.replaySpool();
    await proxy.accounting.replaySpool();

    const after = await proxy.snapshot(providerId, clientId);
    const rows = await proxy.query(
      "select * from llm_requests where request_id = 'while-locked'",
    );
    expect(rows).toHaveLength(1);
    expect(spooled(proxy)).toEqual([]);
    // 1000 × 2.50 + 100 × 10.00 = 3,500 USD per million → 3,500,000 nano-dollars, debited once.
    expect(before.balance - after.balance).toBe(3_500_000n);
    expect(after.reserved).toBe(0n);
    expect(after.clientRequests - before.clientRequests).toBe(1);

    await proxy.stop();
  });

  it("writes a spooled record after a restart", async () => {
    const first = await ProxyHarness.start(overrides);
    const { providerId, clientId, token } = await seed(first);
    const before = await first.snapshot(providerId, clientId);

    const { lock } = await completeWhileLocked(first, token, "across-restart");
    expect(spooled(first)).toEqual(["across-restart.json"]);
    await first.stop({ keepFiles: true });
    await lock.release();

    const second = await ProxyHarness.start(overrides, first);
    await second.accounting.replaySpool();

    const rows = await second.query(
      "select * from llm_requests where request_id = 'across-restart'",
    );
    const after = await second.snapshot(providerId, clientId);
    expect(rows).toHaveLength(1);
    expect(spooled(second)).toEqual([]);
    expect(before.balance - after.balance).toBe(3_500_000n);
    expect(after.reserved).toBe(0n);

    await second.stop();
  });

  it("moves a record the database rejects aside and writes the rest", async () => {
    const proxy = await ProxyHarness.start(overrides);
    const { clientId, token } = await seed(proxy);
    const { lock } = await completeWhileLocked(proxy, token, "behind-poison");
    await lock.release();
    const spool = join(proxy.folder, "spool");
    const good = JSON.parse(
      readFileSync(join(spool, "behind-poison.json"), "utf8"),
    ) as Record<string, unknown>;
    writeFileSync(
      join(spool, "0000-poison.json"),
      JSON.stringify({ ...good, requestId: "0000-poison", clientId: 999_999 }),
    );
    writeFileSync(join(spool, "0001-garbage.json"), "not json");

    await proxy.accounting.replaySpool();

    const rows = await proxy.query(
      "select * from llm_requests where request_id = 'behind-poison'",
    );
    const rejected = readdirSync(join(spool, "rejected")).sort();
    expect(rows).toHaveLength(1);
    expect(spooled(proxy)).toEqual([]);
    expect(rejected).toEqual([
      "0000-poison.json",
      "0000-poison.reason.txt",
      "0001-garbage.json",
      "0001-garbage.reason.txt",
    ]);
    expect((await proxy.snapshot(1, clientId)).clientRequests).toBe(1);

    await proxy.stop();
  });

  it("survives its spool folder being deleted", async () => {
    const proxy = await ProxyHarness.start(overrides);
    const { token } = await seed(proxy);
    rmSync(join(proxy.folder, "spool"), { recursive: true, force: true });

    await proxy.accounting.replaySpool();
    const { lock } = await completeWhileLocked(
      proxy,
      token,
      "after-spool-deleted",
    );

    expect(spooled(proxy)).toEqual(["after-spool-deleted.json"]);
    await lock.release();
    await proxy.accounting.replaySpool();
    const rows = await proxy.query(
      "select * from llm_requests where request_id = 'after-spool-deleted'",
    );
    expect(rows).toHaveLength(1);

    await proxy.stop();
  });
  it("keeps records in memory when the spool fails", async () => {
    const proxy = await ProxyHarness.start(overrides);
    const { token } = await seed(proxy);
    const spoolPath = join(proxy.folder, "spool");
    rmSync(spoolPath, { recursive: true, force: true });
    // A file where the folder should be: no process, root included, can create the spool folder.
    writeFileSync(spoolPath, "not a folder");

    const { lock } = await completeWhileLocked(proxy, token, "held-in-memory");
    await lock.release();

    const held = await readiness(proxy);
    expect(held.ready).toBe(false);
    expect(held.checks).toContainEqual(
      expect.objectContaining({ name: "accounting_records", ok: false }),
    );

    rmSync(spoolPath);
    await proxy.accounting.replaySpool();
    const rows = await proxy.query(
      "select * from llm_requests where request_id = 'held-in-memory'",
    );
    expect(rows).toHaveLength(1);
    expect((await readiness(proxy)).ready).toBe(true);

    await proxy.stop();
  });

  async function readiness(proxy: ProxyHarness) {
    const response = await fetch(`${proxy.baseUrl}/health/ready`);
    return (await response.json()) as {
      ready: boolean;
      checks: { name: string; ok: boolean }[];
    };
  }
});
