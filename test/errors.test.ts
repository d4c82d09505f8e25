import { request } from "undici";

import { OpenAiUpstream } from "./support/openai-upstream";
import { ProxyHarness } from "./support/proxy-harness";

interface ErrorBody {
  error: {
    message: string;
    type: string;
    param: string | null;
    code: string | null;
  };
}

/**
 * Every bad input gets OpenAI's error format with the right status, and leaves balances, totals, records and
 * the ledger as they were.
 */
describe("errors", () => {
  let upstream: OpenAiUpstream;
  let proxy: ProxyHarness;
  let providerId: number;
  let clientId: number;
  let token: string;

  beforeAll(async () => {
    upstream = await OpenAiUpstream.start();
    proxy = await ProxyHarness.start({
      server: { bodyLimitBytes: 64 * 1024 },
      proxy: { headersTimeoutMs: 500 },
    });
    ({ providerId } = await proxy.seedProvider({
      baseUrl: upstream.baseUrl,
      billing: "prepaid" as never,
      balance: "10.00",
    }));
    await proxy.seedProvider({
      baseUrl: upstream.baseUrl,
      model: "other-model",
    });
    ({ clientId, token } = await proxy.seedClient({ models: ["gpt-4o-mini"] }));
  });

  afterAll(async () => {
    await proxy.stop();
    await upstream.stop();
  });

  async function post(
    body: string | object,
    headers: Record<string, string> = {},
  ) {
    const response = await request(`${proxy.baseUrl}/v1/chat/completions`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        authorization: `Bearer ${token}`,
        ...headers,
      },
      body: typeof body === "string" ? body : JSON.stringify(body),
    });
    const text = await response.body.text();
    return {
      status: response.statusCode,
      headers: response.headers,
      body: JSON.parse(text) as ErrorBody,
    };
  }

  const chat = {
    model: "gpt-4o-mini",
    messages: [{ role: "user", content: "hi" }],
  };

  /** Runs a call and checks that nothing in the accounting changed. */
  async function expectNothingMoved(call: () => Promise<unknown>) {
    const before = await proxy.snapshot(providerId, clientId);
    await call();
    const after = await proxy.snapshot(providerId, clientId);
    expect(after).toEqual(before);
  }

  it.each([
    ["no token", undefined, "missing_api_key"],
    ["a malformed token", "Bearer not-a-token", "invalid_api_key"],
    [
      "a token with a bad checksum",
      () => `Bearer ${token.slice(0, -1)}${token.endsWith("A") ? "B" : "A"}`,
      "invalid_api_key",
    ],
    ["a well-formed unknown token", "unknown", "invalid_api_key"],
  ])("rejects %s with 401", async (_name, header, code) => {
    let authorization: string | undefined;
    if (typeof header === "function") {
      authorization = header();
    } else if (header === "unknown") {
      const other = await ProxyHarness.start();
      authorization = `Bearer ${(await other.seedClient()).token}`;
      await other.stop();
    } else {
      authorization = header;
    }

    await expectNothingMoved(async () => {
      const response = await request(`${proxy.baseUrl}/v1/chat/completions`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          ...(authorization ? { authorization } : {}),
        },
        body: JSON.stringify(chat),
      });
      const body = (await response.body.json()) as ErrorBody;

      expect(response.statusCode).toBe(401);
      expect(body.error.code).toBe(code);
      expect(body.error.type).toBe("authentication_error");
    });
  });

  it("rejects an expired token", async () => {
    const expired = await proxy.clients.issueToken(
      clientId,
      "old",
      new Date(Date.now() - 1000),
    );

    await expectNothingMoved(async () => {
      const response = await post(chat, {
        authorization: `Bearer ${expired.token}`,
      });
      expect(response.status).toBe(401);
      expect(response.body.error.code).toBe("token_expired");
    });
  });

  it("rejects a revoked token from the next request on", async () => {
    const issued = await proxy.clients.issueToken(clientId, "soon revoked");
    const first = await post(chat, { authorization: `Bearer ${issued.token}` });
    expect(first.status).toBe(200);

    await proxy.clients.revokeToken(issued.id);

    await expectNothingMoved(async () => {
      const response = await post(chat, {
        authorization: `Bearer ${issued.token}`,
      });
      expect(response.status).toBe(401);
      expect(response.body.error.code).toBe("token_revoked");
    });
  });

  it("rejects a model that no provider serves", async () => {
    await expectNothingMoved(async () => {
      const response = await post({ ...chat, model: "no-such-model" });
      expect(response.status).toBe(404);
      expect(response.body.error.code).toBe("model_not_found");
      expect(response.body.error.param).toBe("model");
    });
  });

  it("rejects a model the client may not use", async () => {
    await expectNothingMoved(async () => {
      const response = await post({ ...chat, model: "other-model" });
      expect(response.status).toBe(403);
      expect(response.body.error.code).toBe("model_not_allowed");
    });
  });

  it("rejects malformed JSON", async () => {
    await expectNothingMoved(async () => {
      const response = await post('{"model": "gpt-4o-mini", "messages": [');
      expect(response.status).toBe(400);
      expect(response.body.error.type).toBe("invalid_request_error");
      expect(response.body.error.code).toBe("invalid_json");
    });
  });

  it("rejects a body over the limit", async () => {
    const huge = {
      ...chat,
      messages: [{ role: "user", content: "x".repeat(100 * 1024) }],
    };

    await expectNothingMoved(async () => {
      const response = await post(huge);
      expect(response.status).toBe(413);
      expect(response.body.error.code).toBe("request_too_large");
    });
  });

  it.each([
    ["no messages", { model: "gpt-4o-mini", messages: [] }, "messages"],
    ["no model", { messages: [{ role: "user", content: "hi" }] }, "model"],
    ["a non-boolean stream", { ...chat, stream: "yes" }, "stream"],
    [
      "stream_options without stream",
      { ...chat, stream_options: { include_usage: true } },
      "stream_options",
    ],
  ])("rejects a request with %s", async (_name, body, param) => {
    await expectNothingMoved(async () => {
      const response = await post(body);
      expect(response.status).toBe(400);
      expect(response.body.error.param).toBe(param);
    });
  });

  it("rejects an unusable X-Request-Id", async () => {
    await expectNothingMoved(async () => {
      const response = await post(chat, { "x-request-id": "../../etc/passwd" });
      expect(response.status).toBe(400);
      expect(response.body.error.code).toBe("invalid_request_id");
    });
  });

  it("rejects a reused request id without charging twice", async () => {
    const first = await post(chat, { "x-request-id": "reused-id-1" });
    expect(first.status).toBe(200);

    await expectNothingMoved(async () => {
      const second = await post(chat, { "x-request-id": "reused-id-1" });
      expect(second.status).toBe(409);
      expect(second.body.error.code).toBe("duplicate_request_id");
    });
  });

  it("rejects a request the prepaid credit cannot cover", async () => {
    await expectNothingMoved(async () => {
      const response = await post({ ...chat, max_tokens: 10_000_000 });
      expect(response.status).toBe(402);
      expect(response.body.error.code).toBe("insufficient_credit");
    });
  });

  it("records an upstream 500 as failed at no cost", async () => {
    upstream.script({
      status: 500,
      error: { message: "The server had an error", type: "server_error" },
    });
    const before = await proxy.snapshot(providerId, clientId);

    const response = await post(chat, { "x-request-id": "upstream-500" });

    expect(response.status).toBe(502);
    expect(response.body.error.code).toBe("upstream_server_error");
    const [row] = await proxy.query<{
      status: string;
      error_class: string;
      cost: number;
    }>(
      "select status, error_class, cost from llm_requests where request_id = 'upstream-500'",
    );
    expect(row.status).toBe("failed");
    expect(row.error_class).toBe("upstream_500");
    expect(row.cost).toBe(0);
    const after = await proxy.snapshot(providerId, clientId);
    expect(after.balance).toBe(before.balance);
    expect(after.reserved).toBe(0n);
    expect(after.clientCost).toBe(before.clientCost);
  });

  it("passes a provider 429 on with its Retry-After", async () => {
    upstream.script({
      status: 429,
      error: {
        message: "Rate limit reached",
        type: "requests",
        code: "rate_limit_exceeded",
      },
      headers: { "retry-after": "7" },
    });

    const response = await post(chat);

    expect(response.status).toBe(429);
    expect(response.headers["retry-after"]).toBe("7");
    expect(response.body.error.code).toBe("rate_limit_exceeded");
  });

  it("hides a provider 401 behind a 502", async () => {
    upstream.script({
      status: 401,
      error: {
        message: "Incorrect API key provided",
        type: "invalid_request_error",
        code: "invalid_api_key",
      },
    });

    const response = await post(chat);

    expect(response.status).toBe(502);
    expect(response.body.error.code).toBe("upstream_auth_failed");
  });

  it("times out a provider that does not answer", async () => {
    upstream.script({ delayMs: 2000 });
    const before = await proxy.snapshot(providerId, clientId);

    const response = await post(chat, { "x-request-id": "upstream-timeout" });

    expect(response.status).toBe(504);
    expect(response.body.error.code).toBe("upstream_timeout");
    const after = await proxy.snapshot(providerId, clientId);
    expect(after.balance).toBe(before.balance);
    expect(after.reserved).toBe(0n);
  });

  it("voids the hold when the provider is unreachable", async () => {
    const dead = await OpenAiUpstream.start();
    const deadUrl = dead.baseUrl;
    await dead.stop();
    const { providerId: deadProvider } = await proxy.seedProvider({
      baseUrl: deadUrl,
      model: "dead-model",
      billing: "prepaid" as never,
      balance: "1.00",
    });
    const client = await proxy.seedClient();

    const response = await post(
      { ...chat, model: "dead-model" },
      { authorization: `Bearer ${client.token}` },
    );

    expect(response.status).toBe(502);
    expect(response.body.error.code).toBe("upstream_unreachable");
    const after = await proxy.snapshot(deadProvider, client.clientId);
    expect(after.balance).toBe(1_000_000_000n);
    expect(after.reserved).toBe(0n);
    expect(after.clientRequests).toBe(0);
  });

  it("removes the provider key from relayed errors", async () => {
    const [provider] = await proxy.query<{ id: number }>(
      "select id from providers where id = ?",
      [providerId],
    );
    const key = await proxy.providers.openApiKey(
      (await proxy.providers.list()).find(
        (candidate) => candidate.id === provider.id,
      )!,
    );
    upstream.script({
      status: 400,
      error: {
        message: `Incorrect API key provided: Bearer ${key}`,
        type: "invalid_request_error",
      },
    });

    const response = await post(chat);

    expect(response.status).toBe(400);
    expect(JSON.stringify(response.body)).not.toContain(key);
    expect(response.body.error.message).toContain("[redacted]");
  });

  async function providerKey(): Promise<string> {
    const provider = (await proxy.providers.list()).find(
      (candidate) => candidate.id === providerId,
    )!;
    return proxy.providers.openApiKey(provider);
  }

  it("removes the provider key written with JSON escapes", async () => {
    const key = await providerKey();
    const escaped = [...key]
      .map((char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`)
      .join("");
    upstream.script({
      status: 400,
      rawBody: `{"error":{"message":"Incorrect API key provided: ${escaped}","type":"invalid_request_error"}}`,
    });

    const response = await post(chat);

    expect(response.status).toBe(400);
    expect(JSON.stringify(response.body)).not.toContain(key);
    expect(response.body.error.message).toContain("[redacted]");
  });

  it("removes the provider key from a successful answer", async () => {
    const key = await providerKey();
    upstream.script({ content: [`Your key is ${key}.`] });

    const response = await post(chat);

    expect(response.status).toBe(200);
    expect(JSON.stringify(response.body)).not.toContain(key);
    expect(JSON.stringify(response.body)).toContain("Your key is [redacted].");
  });

  it("removes the provider key from streamed content", async () => {
    const key = await providerKey();
    upstream.script({ content: ["Your key is ", key, "."] });

    const response = await request(`${proxy.baseUrl}/v1/chat/completions`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        authorization: `Bearer ${token}`,
      },
      body: JSON.stringify({ ...chat, stream: true }),
    });
    const text = await response.body.text();

    expect(response.statusCode).toBe(200);
    expect(text).not.toContain(key);
    expect(text).toContain("[redacted]");
    expect(text).toContain("data: [DONE]");
  });

  it("removes the provider key from error events in a stream", async () => {
    const key = await providerKey();
    upstream.script({
      errorEventAfter: 1,
      error: { message: `quota of ${key} exceeded`, type: "server_error" },
    });

    const response = await request(`${proxy.baseUrl}/v1/chat/completions`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        authorization: `Bearer ${token}`,
      },
      body: JSON.stringify({ ...chat, stream: true }),
    });
    const text = await response.body.text();

    expect(text).toContain("[redacted]");
    expect(text).not.toContain(key);
  });

  it("refuses a 200 answer that is not JSON and charges nothing", async () => {
    const before = await proxy.snapshot(providerId, clientId);
    upstream.script({ rawBody: "<html>gateway hiccup</html>" });

    const response = await post(chat);
    await proxy.settled();

    expect(response.status).toBe(502);
    expect(response.body.error.code).toBe("upstream_invalid_response");
    expect(JSON.stringify(response.body)).not.toContain("hiccup");
    const after = await proxy.snapshot(providerId, clientId);
    expect(after.balance).toBe(before.balance);
    expect(after.reserved).toBe(0n);
    const [record] = await proxy.query<{ status: string; cost: unknown }>(
      "select status, cost from llm_requests where request_id = ?",
      [response.headers["x-request-id"]],
    );
    expect(record.status).toBe("failed");
    expect(String(record.cost)).toBe("0");
  });

  it.each([
    [
      "an output limit beyond 32 bits",
      { ...chat, max_tokens: 9_007_199_254_740_991 },
      400,
    ],
    [
      "deeply nested content",
      `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"extra":${"[".repeat(5000)}${"]".repeat(5000)}}`,
      400,
    ],
  ] as [string, string | object, number][])(
    "rejects %s",
    async (_name, body, status) => {
      await expectNothingMoved(async () => {
        const response = await post(body);
        expect(response.status).toBe(status);
        expect(response.body.error.type).toBe("invalid_request_error");
      });
    },
  );

  it.each([
    ["text/plain", { "content-type": "text/plain" }],
    ["a gzip-encoded body", { "content-encoding": "gzip" }],
    ["a UTF-16 body", { "content-type": "application/json; charset=utf-16" }],
  ])("rejects %s with 415", async (_name, headers) => {
    await expectNothingMoved(async () => {
      const response = await post(chat, headers);
      expect(response.status).toBe(415);
      expect(response.body.error.code).toBe("unsupported_media_type");
    });
  });

  it("accepts JSON with a __proto__ key and drops that key", async () => {
    const response = await post(
      `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"__proto__":{"polluted":true}}`,
    );

    expect(response.status).toBe(200);
    const forwarded = upstream.requests.at(-1)?.body as Record<string, unknown>;
    expect(Object.keys(forwarded)).not.toContain("__proto__");
  });

  it("rejects an empty body as invalid JSON", async () => {
    const response = await post("");

    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe("invalid_json");
  });

  it("lets a request id be retried after the provider was unreachable", async () => {
    const dead = await OpenAiUpstream.start();
    const deadUrl = dead.baseUrl;
    await dead.stop();
    await proxy.seedProvider({ baseUrl: deadUrl, model: "gone-model" });
    const client = await proxy.seedClient();
    const headers = {
      "x-request-id": "retry-after-unreachable",
      authorization: `Bearer ${client.token}`,
    };

    const first = await post({ ...chat, model: "gone-model" }, headers);
    const second = await post({ ...chat, model: "gone-model" }, headers);

    expect(first.status).toBe(502);
    expect(second.status).toBe(502);
    expect(second.body.error.code).toBe("upstream_unreachable");
  });
});
