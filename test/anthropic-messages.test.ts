/* eslint-disable @typescript-eslint/no-explicit-any -- parsed JSON is checked key by key */
import Anthropic from "@anthropic-ai/sdk";

import {
  BillingMode,
  ProviderKind,
} from "../src/providers/entities/provider.entity";
import { AnthropicUpstream } from "./support/anthropic-upstream";
import { ProxyHarness } from "./support/proxy-harness";

/**
 * The official Anthropic SDK talks to the running proxy's `/v1/messages`, which passes the call through to a
 * stand-in replaying Anthropic's wire format. Prices, USD per million tokens: input 3.00, output 15.00, cache
 * read 0.30, 5-minute cache write 3.75, 1-hour cache write 6.00. A token at P USD per million costs P × 1,000
 * nano-dollars, and the costs below are worked out by hand from that.
 */
describe("anthropic messages", () => {
  let upstream: AnthropicUpstream;
  let proxy: ProxyHarness;
  let providerId: number;
  let apiKey: string;
  let clientId: number;
  let token: string;

  beforeAll(async () => {
    upstream = await AnthropicUpstream.start();
    proxy = await ProxyHarness.start();
    ({ providerId, apiKey } = await proxy.seedProvider({
      kind: ProviderKind.Anthropic,
      baseUrl: upstream.baseUrl,
      model: "claude-public",
      upstreamName: "claude-sonnet-4-5",
      billing: BillingMode.Prepaid,
      balance: "100.00",
      prices: {
        input: "3.00",
        output: "15.00",
        cacheRead: "0.30",
        cacheWrite: "3.75",
        cacheWrite1h: "6.00",
      },
    }));
    ({ clientId, token } = await proxy.seedClient());
  });

  afterAll(async () => {
    await proxy.stop();
    await upstream.stop();
  });

  function anthropic(headers: Record<string, string> = {}): Anthropic {
    return new Anthropic({
      apiKey: token,
      baseURL: proxy.baseUrl,
      maxRetries: 0,
      defaultHeaders: headers,
    });
  }

  async function recordOf(requestId: string) {
    await proxy.settled();
    const rows = await proxy.query<Record<string, unknown>>(
      `select status, error_class, endpoint, streamed, prompt_tokens, completion_tokens, cache_read_tokens,
         cache_write_tokens, usage_estimated, cast(cost as text) as cost
       from llm_requests where request_id = ?`,
      [requestId],
    );
    expect(rows).toHaveLength(1);
    return rows[0];
  }

  const prompt = {
    model: "claude-public",
    max_tokens: 1024,
    messages: [{ role: "user" as const, content: "Say hello" }],
  };

  it("meters cache reads and 5-minute writes", async () => {
    upstream.script({
      usage: {
        input_tokens: 40,
        output_tokens: 310,
        cache_creation_input_tokens: 1800,
        cache_read_input_tokens: 9000,
        cache_creation: {
          ephemeral_5m_input_tokens: 1800,
          ephemeral_1h_input_tokens: 0,
        },
      },
    });
    const before = await proxy.snapshot(providerId, clientId);

    const { data, response } = await anthropic()
      .messages.create(prompt)
      .withResponse();
    const requestId = response.headers.get("x-request-id")!;

    expect(data.content).toEqual([{ type: "text", text: "Hello there!" }]);
    expect(data.usage.cache_read_input_tokens).toBe(9000);
    const record = await recordOf(requestId);
    expect(record.status).toBe("completed");
    expect(record.endpoint).toBe("messages");
    expect(record.prompt_tokens).toBe(10_840);
    expect(record.completion_tokens).toBe(310);
    expect(record.cache_read_tokens).toBe(9000);
    expect(record.cache_write_tokens).toBe(1800);
    expect(Number(record.usage_estimated)).toBe(0);
    // 40 × 3.00 + 1800 × 3.75 + 9000 × 0.30 + 310 × 15.00 = 14,220 USD per million.
    expect(record.cost).toBe("14220000");

    const after = await proxy.snapshot(providerId, clientId);
    expect(before.balance - after.balance).toBe(14_220_000n);
    expect(after.reserved).toBe(0n);
  });

  it("sends the provider key and client headers upstream", async () => {
    await anthropic({
      "anthropic-version": "2024-01-01",
      "anthropic-beta": "prompt-caching-2024-07-31",
    }).messages.create(prompt);
    const sent = upstream.requests.at(-1)!;

    expect(sent.url).toBe("/v1/messages");
    expect(sent.headers["x-api-key"]).toBe(apiKey);
    expect(sent.headers["anthropic-version"]).toBe("2024-01-01");
    expect(sent.headers["anthropic-beta"]).toBe("prompt-caching-2024-07-31");
    expect(JSON.stringify(sent.headers)).not.toContain(token);
    expect(sent.body.model).toBe("claude-sonnet-4-5");
    expect(sent.body.max_tokens).toBe(1024);
  });

  it("sends the default version", async () => {
    const response = await fetch(`${proxy.baseUrl}/v1/messages`, {
      method: "POST",
      headers: { "x-api-key": token, "content-type": "application/json" },
      body: JSON.stringify(prompt),
    });

    expect(response.status).toBe(200);
    expect(upstream.requests.at(-1)!.headers["anthropic-version"]).toBe(
      "2023-06-01",
    );
  });

  it("meters 1-hour writes in a stream", async () => {
    upstream.script({
      usage: {
        input_tokens: 10,
        output_tokens: 50,
        cache_creation_input_tokens: 3000,
        cache_creation: {
          ephemeral_5m_input_tokens: 1000,
          ephemeral_1h_input_tokens: 2000,
        },
      },
      splitBytes: 17,
    });

    const stream = anthropic().messages.stream(prompt);
    const message = await stream.finalMessage();
    const requestId = (await stream.withResponse()).response.headers.get(
      "x-request-id",
    )!;

    expect(message.content).toEqual([{ type: "text", text: "Hello there!" }]);
    expect(message.usage.output_tokens).toBe(50);
    const record = await recordOf(requestId);
    expect(record.status).toBe("completed");
    expect(Number(record.streamed)).toBe(1);
    expect(record.prompt_tokens).toBe(3010);
    expect(record.cache_write_tokens).toBe(3000);
    // 10 × 3.00 + 1000 × 3.75 + 2000 × 6.00 + 50 × 15.00 = 16,530 USD per million.
    expect(record.cost).toBe("16530000");
  });

  it("replaces cumulative stream usage", async () => {
    upstream.script({
      usage: { input_tokens: 10, output_tokens: 50 },
      messageDeltaUsages: [
        { output_tokens: 20 },
        { output_tokens: 50, input_tokens: 12 },
      ],
    });

    const stream = anthropic().messages.stream(prompt);
    await stream.finalMessage();
    const requestId = (await stream.withResponse()).response.headers.get(
      "x-request-id",
    )!;

    const record = await recordOf(requestId);
    expect(record.completion_tokens).toBe(50);
    expect(record.prompt_tokens).toBe(12);
    // 12 × 3.00 + 50 × 15.00 = 786 USD per million.
    expect(record.cost).toBe("786000");
  });

  it("streams a tool call", async () => {
    upstream.script({
      content: ["Checking."],
      toolUses: [{ name: "get_weather", input: { city: "Paris" } }],
      usage: { input_tokens: 377, output_tokens: 65 },
    });

    const message = await anthropic()
      .messages.stream({
        ...prompt,
        tools: [
          {
            name: "get_weather",
            input_schema: {
              type: "object",
              properties: { city: { type: "string" } },
            },
          },
        ],
      })
      .finalMessage();

    expect(message.stop_reason).toBe("tool_use");
    expect(message.content[1]).toMatchObject({
      type: "tool_use",
      name: "get_weather",
      input: { city: "Paris" },
    });
  });

  it("streams thinking with its signature", async () => {
    upstream.script({
      thinking: ["Two words ", "are enough."],
      usage: {
        input_tokens: 30,
        output_tokens: 90,
        output_tokens_details: { thinking_tokens: 60 },
      },
    });

    const stream = anthropic().messages.stream({
      ...prompt,
      thinking: { type: "enabled", budget_tokens: 1024 },
    });
    const message = await stream.finalMessage();
    const requestId = (await stream.withResponse()).response.headers.get(
      "x-request-id",
    )!;

    expect(message.content[0]).toMatchObject({
      type: "thinking",
      thinking: "Two words are enough.",
    });
    expect((message.content[0] as { signature: string }).signature).not.toBe(
      "",
    );
    const record = await recordOf(requestId);
    expect(record.completion_tokens).toBe(90);
    // Thinking is billed as output: 30 × 3.00 + 90 × 15.00 = 1,440 USD per million.
    expect(record.cost).toBe("1440000");
  });

  it("passes a mid-stream error event on", async () => {
    upstream.script({
      errorEventAfter: 4,
      error: { type: "overloaded_error", message: "Overloaded" },
    });
    const stream = anthropic().messages.stream(prompt);

    await expect(stream.finalMessage()).rejects.toThrow(/Overloaded/);
    const requestId = (await stream.withResponse()).response.headers.get(
      "x-request-id",
    )!;
    const record = await recordOf(requestId);
    expect(record.status).toBe("incomplete");
    expect(record.error_class).toBe("upstream_error_event");
    expect(record.prompt_tokens).toBe(11);
    expect(Number(record.completion_tokens)).toBeGreaterThanOrEqual(1);
  });

  it("charges a stream that breaks before usage", async () => {
    upstream.script({ dieAfterEvents: 5 });
    const stream = anthropic().messages.stream(prompt);

    await expect(stream.finalMessage()).rejects.toThrow();
    const requestId = (await stream.withResponse()).response.headers.get(
      "x-request-id",
    )!;
    const record = await recordOf(requestId);
    expect(record.status).toBe("incomplete");
    expect(record.error_class).toBe("upstream_stream_broken");
    // message_start reported 11 input tokens; "Hello there" is 2 tokens by the local tokenizer.
    expect(record.prompt_tokens).toBe(11);
    expect(record.completion_tokens).toBe(2);
    // 11 × 3.00 + 2 × 15.00 = 63 USD per million.
    expect(record.cost).toBe("63000");
  });

  it("records a client hang-up", async () => {
    upstream.script({ hangAfterEvents: 4 });
    const aborts = upstream.clientAborts;
    const stream = anthropic().messages.stream(prompt);
    const requestId = (await stream.withResponse()).response.headers.get(
      "x-request-id",
    )!;

    await new Promise<void>((resolve) => stream.on("text", () => resolve()));
    stream.abort();
    await upstream.waitForClientAbort(aborts + 1);

    const record = await recordOf(requestId);
    expect(record.status).toBe("incomplete");
    expect(record.error_class).toBe("client_closed");
    expect(record.prompt_tokens).toBe(11);
    expect(record.completion_tokens).toBe(1);
  });

  it("answers 429 with retry-after", async () => {
    upstream.script({ status: 429 });

    const error = await anthropic()
      .messages.create(prompt)
      .catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(Anthropic.RateLimitError);
    const rateLimited = error as InstanceType<typeof Anthropic.RateLimitError>;
    expect(rateLimited.status).toBe(429);
    expect(rateLimited.headers?.get("retry-after")).toBe("7");
    expect((rateLimited.error as any).error.type).toBe("rate_limit_error");
  });

  it("answers an overload as a retryable overload", async () => {
    upstream.script({ status: 529 });

    const error = await anthropic()
      .messages.create(prompt)
      .catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(Anthropic.APIError);
    const failed = error as InstanceType<typeof Anthropic.APIError>;
    expect(failed.status).toBe(503);
    expect((failed.error as any).error.type).toBe("overloaded_error");
    expect((failed.error as any).error.message).toContain("overloaded");
  });

  it("rejects an invalid request in Anthropic's format", async () => {
    const before = upstream.requests.length;

    const error = await anthropic()
      .messages.create({ ...prompt, max_tokens: 0 })
      .catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(Anthropic.BadRequestError);
    const rejected = error as InstanceType<typeof Anthropic.BadRequestError>;
    expect((rejected.error as any).type).toBe("error");
    expect((rejected.error as any).error.type).toBe("invalid_request_error");
    expect(upstream.requests.length).toBe(before);
  });

  it("forwards count_tokens", async () => {
    upstream.countTokensResult = 2095;

    const counted = await anthropic().messages.countTokens({
      model: "claude-public",
      messages: prompt.messages,
    });

    expect(counted.input_tokens).toBe(2095);
    const sent = upstream.requests.at(-1)!;
    expect(sent.url).toBe("/v1/messages/count_tokens");
    expect(sent.body.model).toBe("claude-sonnet-4-5");
    expect(sent.headers["x-api-key"]).toBe(apiKey);
    await proxy.settled();
    const [row] = await proxy.query<{ n: number; cost: string }>(
      "select count(*) as n, cast(sum(cost) as text) as cost from llm_requests where endpoint = ?",
      ["messages.count_tokens"],
    );
    expect(Number(row.n)).toBe(1);
    expect(row.cost).toBe("0");
  });

  it("serves a base URL without /v1", async () => {
    const root = await AnthropicUpstream.start();
    await proxy.seedProvider({
      kind: ProviderKind.Anthropic,
      baseUrl: root.rootUrl,
      model: "claude-root",
    });

    try {
      const message = await anthropic().messages.create({
        ...prompt,
        model: "claude-root",
      });

      expect(message.content).toEqual([{ type: "text", text: "Hello there!" }]);
      expect(root.requests.at(-1)!.url).toBe("/messages");
    } finally {
      await root.stop();
    }
  });
});
