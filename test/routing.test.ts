import http from "node:http";
import { AddressInfo } from "node:net";

import OpenAI from "openai";

import { BillingMode } from "../src/providers/entities/provider.entity";
import { OpenAiUpstream } from "./support/openai-upstream";
import { ProxyHarness } from "./support/proxy-harness";

/**
 * Failover across the providers that serve one public name: the client gets one good answer, every attempt
 * that reached a provider is recorded, and only attempts that cost money are charged. Two stand-ins play the
 * primary and the backup provider; each test seeds its own pair under its own model name.
 */
describe("routing and failover", () => {
  let primary: OpenAiUpstream;
  let backup: OpenAiUpstream;
  let proxy: ProxyHarness;
  let openai: OpenAI;
  let clientId: number;
  let token: string;

  beforeAll(async () => {
    primary = await OpenAiUpstream.start();
    backup = await OpenAiUpstream.start();
    proxy = await ProxyHarness.start({
      routing: {
        maxAttempts: 3,
        backoffBaseMs: 10,
        backoffMaxMs: 50,
        maxRetryAfterMs: 2_000,
        breakerFailureThreshold: 3,
        breakerCooldownMs: 400,
      },
    });
    ({ clientId, token } = await proxy.seedClient());
    openai = proxy.openai(token);
  });

  afterAll(async () => {
    await proxy.stop();
    await primary.stop();
    await backup.stop();
  });

  /**
   * A provider that accepts every request with status 200 and then misbehaves in a way the scripted stand-in
   * cannot: it only pings, breaks off in the middle of its first event, or never finishes a JSON body.
   */
  async function misbehaving(
    mode: "ping-forever" | "half-event" | "stalled-json",
  ): Promise<{ baseUrl: string; close: () => Promise<void> }> {
    const timers: NodeJS.Timeout[] = [];
    const server = http.createServer((request, response) => {
      request.resume();
      if (mode === "stalled-json") {
        response.writeHead(200, { "content-type": "application/json" });
        response.write('{"id": "chatcmpl-1", ');
        return;
      }

      response.writeHead(200, { "content-type": "text/event-stream" });
      if (mode === "half-event") {
        response.write('data: {"id": "chatcmpl-1", "choices": [');
        setTimeout(() => response.destroy(), 20);
        return;
      }
      timers.push(setInterval(() => response.write(": ping\n\n"), 50));
    });
    await new Promise<void>((resolve) =>
      server.listen(0, "127.0.0.1", resolve),
    );
    const { port } = server.address() as AddressInfo;

    return {
      baseUrl: `http://127.0.0.1:${port}/v1`,
      close: async () => {
        timers.forEach(clearInterval);
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      },
    };
  }

  async function misbehavingThenBackup(
    model: string,
    mode: Parameters<typeof misbehaving>[0],
  ) {
    const bad = await misbehaving(mode);
    const first = await proxy.seedProvider({
      baseUrl: bad.baseUrl,
      model,
      upstreamName: "gpt-4o-mini",
      priority: 0,
      firstTokenTimeoutMs: 300,
    });
    const second = await proxy.seedProvider({
      baseUrl: backup.baseUrl,
      model,
      upstreamName: "gpt-4o-mini",
      priority: 1,
    });
    return { bad, primaryId: first.providerId, backupId: second.providerId };
  }

  async function streamText(model: string, requestId: string) {
    const stream = await openai.chat.completions.create(
      { model, messages: [{ role: "user", content: "hi" }], stream: true },
      { headers: { "x-request-id": requestId } },
    );
    let text = "";
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? "";
    }
    return text;
  }

  /** Seeds a primary (priority 0) and a backup (priority 1) provider for `model`. */
  async function twoRoutes(
    model: string,
    primaryOptions: Partial<Parameters<ProxyHarness["seedProvider"]>[0]> = {},
  ) {
    const first = await proxy.seedProvider({
      baseUrl: primary.baseUrl,
      model,
      upstreamName: "gpt-4o-mini",
      priority: 0,
      ...primaryOptions,
    });
    const second = await proxy.seedProvider({
      baseUrl: backup.baseUrl,
      model,
      upstreamName: "gpt-4o-mini",
      priority: 1,
    });
    return { primaryId: first.providerId, backupId: second.providerId };
  }

  async function ask(model: string, requestId: string) {
    return openai.chat.completions
      .create(
        { model, messages: [{ role: "user", content: "hi" }], max_tokens: 50 },
        { headers: { "x-request-id": requestId } },
      )
      .withResponse();
  }

  async function attemptsOf(requestId: string) {
    await proxy.settled();
    return proxy.query<{
      request_id: string;
      provider_id: number;
      status: string;
      error_class: string | null;
      upstream_status: number | null;
      cost: string;
    }>(
      `select request_id, provider_id, status, error_class, upstream_status, cast(cost as text) as cost
       from llm_requests where request_id = ? or request_id like ? order by id`,
      [requestId, `${requestId}~%`],
    );
  }

  // 10 prompt tokens at 2.50 USD/M plus 4 completion tokens at 10 USD/M, in nano-dollars.
  const USAGE = { prompt_tokens: 10, completion_tokens: 4 };
  const COST = "65000";

  it("fails over on a 500", async () => {
    const { primaryId, backupId } = await twoRoutes("route-500");
    primary.script({
      status: 500,
      error: { message: "internal", type: "server_error" },
    });
    backup.script({ usage: USAGE });

    const { data, response } = await ask("route-500", "fo-500");

    expect(data.choices[0].message.content).toBe("Hello world!");
    expect(response.headers.get("x-request-id")).toBe("fo-500");
    expect(response.headers.get("x-llm-proxy-attempt-id")).toBe("fo-500~2");
    expect(await attemptsOf("fo-500")).toEqual([
      {
        request_id: "fo-500",
        provider_id: primaryId,
        status: "failed",
        error_class: "upstream_500",
        upstream_status: 500,
        cost: "0",
      },
      {
        request_id: "fo-500~2",
        provider_id: backupId,
        status: "completed",
        error_class: null,
        upstream_status: 200,
        cost: COST,
      },
    ]);
  });

  it("fails over on a first-token timeout", async () => {
    const { primaryId, backupId } = await twoRoutes("route-slow", {
      firstTokenTimeoutMs: 200,
    });
    primary.script({ delayMs: 2_000 });
    backup.script({ usage: USAGE });

    const started = Date.now();
    const { data } = await ask("route-slow", "fo-slow");

    expect(data.choices[0].message.content).toBe("Hello world!");
    expect(Date.now() - started).toBeLessThan(2_000);
    const attempts = await attemptsOf("fo-slow");
    expect(attempts.map((row) => [row.provider_id, row.error_class])).toEqual([
      [primaryId, "upstream_timeout"],
      [backupId, null],
    ]);
    expect(attempts.map((row) => row.cost)).toEqual(["0", COST]);
  });

  it("fails over a silent stream", async () => {
    const { primaryId, backupId } = await twoRoutes("route-mute", {
      firstTokenTimeoutMs: 300,
    });
    primary.script({ hangAfterEvents: 0 });
    backup.script({ usage: USAGE });

    const stream = await openai.chat.completions.create(
      {
        model: "route-mute",
        messages: [{ role: "user", content: "hi" }],
        stream: true,
      },
      { headers: { "x-request-id": "fo-mute" } },
    );
    let text = "";
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? "";
    }

    expect(text).toBe("Hello world!");
    const attempts = await attemptsOf("fo-mute");
    expect(
      attempts.map((row) => [row.provider_id, row.status, row.cost]),
    ).toEqual([
      [primaryId, "failed", "0"],
      [backupId, "completed", COST],
    ]);
  });

  it("fails over a stream that only pings", async () => {
    const { bad, primaryId, backupId } = await misbehavingThenBackup(
      "route-pings",
      "ping-forever",
    );
    backup.script({ usage: USAGE });

    try {
      expect(await streamText("route-pings", "fo-pings")).toBe("Hello world!");
    } finally {
      await bad.close();
    }
    const attempts = await attemptsOf("fo-pings");
    expect(attempts.map((row) => [row.provider_id, row.error_class])).toEqual([
      [primaryId, "upstream_timeout"],
      [backupId, null],
    ]);
    expect(attempts[0].cost).toBe("0");
  });

  it("fails over a broken first event", async () => {
    const { bad, primaryId, backupId } = await misbehavingThenBackup(
      "route-half",
      "half-event",
    );
    backup.script({ usage: USAGE });

    try {
      expect(await streamText("route-half", "fo-half")).toBe("Hello world!");
    } finally {
      await bad.close();
    }
    const attempts = await attemptsOf("fo-half");
    expect(attempts.map((row) => [row.provider_id, row.status])).toEqual([
      [primaryId, "failed"],
      [backupId, "completed"],
    ]);
  });

  it("fails over a stalled JSON body", async () => {
    const { bad, primaryId, backupId } = await misbehavingThenBackup(
      "route-stall",
      "stalled-json",
    );
    backup.script({ usage: USAGE });

    try {
      const { data } = await ask("route-stall", "fo-stall");
      expect(data.choices[0].message.content).toBe("Hello world!");
    } finally {
      await bad.close();
    }
    const attempts = await attemptsOf("fo-stall");
    expect(attempts.map((row) => [row.provider_id, row.error_class])).toEqual([
      [primaryId, "upstream_timeout"],
      [backupId, null],
    ]);
  });

  it("rests a provider after 429 Retry-After", async () => {
    const { primaryId, backupId } = await twoRoutes("route-429");
    primary.script({
      status: 429,
      headers: { "retry-after": "30" },
      error: { message: "slow down", type: "rate_limit_error" },
    });
    backup.setDefault({ usage: USAGE });

    await ask("route-429", "fo-429-a");
    const primaryCalls = primary.requests.length;
    await ask("route-429", "fo-429-b");

    expect(primary.requests.length).toBe(primaryCalls);
    expect(
      (await attemptsOf("fo-429-a")).map((row) => [
        row.provider_id,
        row.upstream_status,
      ]),
    ).toEqual([
      [primaryId, 429],
      [backupId, 200],
    ]);
    expect(
      (await attemptsOf("fo-429-b")).map((row) => row.provider_id),
    ).toEqual([backupId]);
    backup.setDefault({});
  });

  it("waits Retry-After on the only provider", async () => {
    await proxy.seedProvider({
      baseUrl: primary.baseUrl,
      model: "route-alone",
      upstreamName: "gpt-4o-mini",
    });
    primary.script({
      status: 429,
      headers: { "retry-after": "1" },
      error: { message: "slow down", type: "rate_limit_error" },
    });
    primary.script({ usage: USAGE });

    const started = Date.now();
    const { data } = await ask("route-alone", "retry-alone");

    expect(data.choices[0].message.content).toBe("Hello world!");
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
    expect(
      (await attemptsOf("retry-alone")).map((row) => row.upstream_status),
    ).toEqual([429, 200]);
  });

  it("keeps a rejected request on its provider", async () => {
    await twoRoutes("route-400");
    primary.script({
      status: 400,
      error: {
        message: "bad temperature",
        type: "invalid_request_error",
        param: "temperature",
      },
    });
    const backupCalls = backup.requests.length;

    await expect(ask("route-400", "no-fo-400")).rejects.toMatchObject({
      status: 400,
    });
    expect(backup.requests.length).toBe(backupCalls);
    expect(await attemptsOf("no-fo-400")).toHaveLength(1);
  });

  it("records every attempt when all fail", async () => {
    const { primaryId, backupId } = await twoRoutes("route-down");
    for (const upstream of [primary, backup, primary]) {
      upstream.script({
        status: 503,
        error: { message: "unavailable", type: "server_error" },
      });
    }

    await expect(ask("route-down", "all-down")).rejects.toMatchObject({
      status: 502,
    });
    expect(
      (await attemptsOf("all-down")).map((row) => [row.provider_id, row.cost]),
    ).toEqual([
      [primaryId, "0"],
      [backupId, "0"],
      [primaryId, "0"],
    ]);
  });

  it("opens and probes the circuit", async () => {
    const { primaryId, backupId } = await twoRoutes("route-breaker");
    backup.setDefault({ usage: USAGE });
    for (let i = 0; i < 3; i += 1) {
      primary.script({
        status: 500,
        error: { message: "internal", type: "server_error" },
      });
      await ask("route-breaker", `breaker-${i}`);
    }

    const primaryCalls = primary.requests.length;
    await ask("route-breaker", "breaker-open");
    expect(primary.requests.length).toBe(primaryCalls);
    expect(
      (await attemptsOf("breaker-open")).map((row) => row.provider_id),
    ).toEqual([backupId]);

    await new Promise((resolve) => setTimeout(resolve, 500));
    primary.script({ usage: USAGE });
    await ask("route-breaker", "breaker-probe");
    expect(
      (await attemptsOf("breaker-probe")).map((row) => row.provider_id),
    ).toEqual([primaryId]);
    backup.setDefault({});
  });

  it("fails over when prepaid credit runs out", async () => {
    // 50 output tokens at 10 USD/M hold 0.0005 USD each, so 0.002 USD of credit admits a few at a time.
    const { primaryId, backupId } = await twoRoutes("route-credit", {
      billing: BillingMode.Prepaid,
      balance: "0.002",
    });
    primary.setDefault({ usage: USAGE, delayMs: 100 });
    backup.setDefault({ usage: USAGE });
    const before = await proxy.snapshot(primaryId, clientId);

    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => ask("route-credit", `burst-${i}`)),
    );

    expect(
      answers.every(
        ({ data }) => data.choices[0].message.content === "Hello world!",
      ),
    ).toBe(true);
    await proxy.settled();
    const rows = await proxy.query<{
      provider_id: number;
      status: string;
      cost: string;
    }>(
      "select provider_id, status, cast(cost as text) as cost from llm_requests where request_id like 'burst-%'",
    );
    const onPrimary = rows.filter((row) => row.provider_id === primaryId);
    const onBackup = rows.filter((row) => row.provider_id === backupId);
    expect(rows.every((row) => row.status === "completed")).toBe(true);
    expect(onPrimary.length + onBackup.length).toBe(20);
    expect(onPrimary.length).toBeGreaterThan(0);
    expect(onBackup.length).toBeGreaterThan(0);

    const after = await proxy.snapshot(primaryId, clientId);
    expect(after.reserved).toBe(0n);
    expect(after.balance).toBe(
      before.balance - BigInt(onPrimary.length) * BigInt(COST),
    );
    expect(after.balance >= 0n).toBe(true);
    primary.setDefault({});
    backup.setDefault({});
  });

  it("keeps client totals equal to records", async () => {
    await proxy.settled();
    const [totals] = await proxy.query<{ requests: number; cost: string }>(
      "select total_requests as requests, cast(total_cost as text) as cost from clients where id = ?",
      [clientId],
    );
    const [records] = await proxy.query<{ requests: number; cost: string }>(
      "select count(*) as requests, cast(coalesce(sum(cost), 0) as text) as cost from llm_requests where client_id = ?",
      [clientId],
    );

    expect(Number(totals.requests)).toBe(Number(records.requests));
    expect(totals.cost).toBe(records.cost);
  });
});
