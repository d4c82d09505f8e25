import OpenAI from "openai";

import { OpenAiUpstream, UpstreamUsage } from "./support/openai-upstream";
import { ProxyHarness } from "./support/proxy-harness";

/**
 * The official OpenAI SDK talks to the running proxy, which forwards to a stand-in replaying OpenAI's wire
 * format; every test checks the answer and the record. Prices: input 2.50, output 10.00, cached input 1.25 USD
 * per million tokens, so costs below are worked out by hand in nano-dollars.
 */
describe("chat completions", () => {
  let upstream: OpenAiUpstream;
  let proxy: ProxyHarness;
  let providerId: number;
  let apiKey: string;
  let clientId: number;
  let token: string;

  beforeAll(async () => {
    upstream = await OpenAiUpstream.start();
    proxy = await ProxyHarness.start();
    ({ providerId, apiKey } = await proxy.seedProvider({
      baseUrl: upstream.baseUrl,
      upstreamName: "gpt-4o-mini-2024-07-18",
      billing: "prepaid" as never,
      balance: "100.00",
    }));
    ({ clientId, token } = await proxy.seedClient());
  });

  afterAll(async () => {
    await proxy.stop();
    await upstream.stop();
  });

  async function recordOf(requestId: string) {
    await proxy.settled();

    const rows = await proxy.query<Record<string, unknown>>(
      `select status, error_class, streamed, prompt_tokens, completion_tokens, cache_read_tokens, reasoning_tokens,
         usage_estimated, cast(cost as text) as cost, model, client_id, provider_id
       from llm_requests where request_id = ?`,
      [requestId],
    );
    expect(rows).toHaveLength(1);
    return rows[0];
  }

  it("answers and meters a plain request", async () => {
    upstream.script({ usage: { prompt_tokens: 1500, completion_tokens: 220 } });
    const before = await proxy.snapshot(providerId, clientId);

    const { data, response } = await proxy
      .openai(token)
      .chat.completions.create({
        model: "gpt-4o-mini",
        messages: [{ role: "user", content: "Say hello" }],
      })
      .withResponse();
    const requestId = response.headers.get("x-request-id")!;

    expect(data.choices[0].message.content).toBe("Hello world!");
    expect(requestId).toMatch(/^req_/);
    const record = await recordOf(requestId);
    expect(record.status).toBe("completed");
    expect(record.prompt_tokens).toBe(1500);
    expect(record.completion_tokens).toBe(220);
    expect(record.usage_estimated).toBe(0);
    // 1500 × 2.50 + 220 × 10.00 = 5950 USD per million → 5,950,000 nano-dollars.
    expect(record.cost).toBe("5950000");

    const after = await proxy.snapshot(providerId, clientId);
    expect(before.balance - after.balance).toBe(5_950_000n);
    expect(after.reserved).toBe(0n);
    expect(after.clientRequests - before.clientRequests).toBe(1);
    expect(after.clientCost - before.clientCost).toBe(5_950_000n);
  });

  it("sends the provider key and model, never the client token", async () => {
    await proxy.openai(token).chat.completions.create({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "hi" }],
    });

    const sent = upstream.requests[upstream.requests.length - 1];
    expect(sent.headers.authorization).toBe(`Bearer ${apiKey}`);
    expect(JSON.stringify(sent.headers)).not.toContain(token);
    expect(sent.body.model).toBe("gpt-4o-mini-2024-07-18");
  });

  it("prices cached and reasoning tokens", async () => {
    upstream.script({
      usage: {
        prompt_tokens: 10_000,
        completion_tokens: 500,
        prompt_tokens_details: { cached_tokens: 8_000 },
        completion_tokens_details: { reasoning_tokens: 300 },
      },
    });

    const { response } = await proxy
      .openai(token)
      .chat.completions.create({
        model: "gpt-4o-mini",
        messages: [{ role: "user", content: "think" }],
      })
      .withResponse();

    const record = await recordOf(response.headers.get("x-request-id")!);
    expect(record.cache_read_tokens).toBe(8000);
    expect(record.reasoning_tokens).toBe(300);
    // 2,000 uncached × 2.50 + 8,000 cached × 1.25 + 500 output × 10.00 = 5,000 + 10,000 + 5,000 = 20,000 per million.
    expect(record.cost).toBe("20000000");
  });

  it("streams and meters from the final usage chunk", async () => {
    upstream.script({
      content: ["Stre", "amed ", "text"],
      usage: {
        prompt_tokens: 40,
        completion_tokens: 7,
        prompt_tokens_details: { cached_tokens: 16 },
      },
    });
    const requestId = `stream-${Date.now()}`;

    const stream = await proxy
      .openai(token, { requestId })
      .chat.completions.create({
        model: "gpt-4o-mini",
        stream: true,
        stream_options: { include_usage: true },
        messages: [{ role: "user", content: "stream please" }],
      });
    let text = "";
    let usage: OpenAI.CompletionUsage | null | undefined = null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? "";
      usage = chunk.usage ?? usage;
    }

    expect(text).toBe("Streamed text");
    expect(usage?.prompt_tokens).toBe(40);
    const record = await recordOf(requestId);
    expect(record.streamed).toBe(1);
    expect(record.prompt_tokens).toBe(40);
    expect(record.completion_tokens).toBe(7);
    expect(record.cache_read_tokens).toBe(16);
    // 24 × 2.50 + 16 × 1.25 + 7 × 10.00 = 60 + 20 + 70 = 150 per million.
    expect(record.cost).toBe("150000");
  });

  it("asks for stream usage but hides it from a client that did not", async () => {
    upstream.script({ usage: { prompt_tokens: 30, completion_tokens: 3 } });
    const requestId = `hidden-usage-${Date.now()}`;

    const stream = await proxy
      .openai(token, { requestId })
      .chat.completions.create({
        model: "gpt-4o-mini",
        stream: true,
        messages: [{ role: "user", content: "x" }],
      });
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const chunk of stream) {
      chunks.push(chunk);
    }

    expect(
      upstream.requests[upstream.requests.length - 1].body.stream_options,
    ).toEqual({ include_usage: true });
    expect(chunks.some((chunk) => chunk.usage)).toBe(false);
    expect(chunks.every((chunk) => chunk.choices.length > 0)).toBe(true);
    const record = await recordOf(requestId);
    expect(record.prompt_tokens).toBe(30);
    expect(record.usage_estimated).toBe(0);
  });

  it("reassembles events split mid-line with CRLF and keep-alives", async () => {
    upstream.script({
      content: ["你好", "🌍 ", "wörld"],
      splitBytes: 1,
      crlf: true,
      keepAliveComments: true,
      usage: { prompt_tokens: 9, completion_tokens: 4 },
    });
    const requestId = `split-${Date.now()}`;

    const stream = await proxy
      .openai(token, { requestId })
      .chat.completions.create({
        model: "gpt-4o-mini",
        stream: true,
        messages: [{ role: "user", content: "x" }],
      });
    let text = "";
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? "";
    }

    expect(text).toBe("你好🌍 wörld");
    const record = await recordOf(requestId);
    expect(record.status).toBe("completed");
    expect(record.prompt_tokens).toBe(9);
    expect(record.completion_tokens).toBe(4);
    // 9 × 2.50 + 4 × 10.00 = 62.5 per million → 62,500 nano-dollars.
    expect(record.cost).toBe("62500");
  });

  it("estimates usage with a tokenizer when the provider reports none", async () => {
    upstream.script({ usage: null, content: ["Hello", " world", "!"] });

    const { response } = await proxy
      .openai(token)
      .chat.completions.create({
        model: "gpt-4o-mini",
        messages: [{ role: "user", content: "Say hello" }],
      })
      .withResponse();

    const record = await recordOf(response.headers.get("x-request-id")!);
    expect(record.usage_estimated).toBe(1);
    // o200k_base: "user\nSay hello" is 4 tokens, plus 3 for the message and 3 for the reply; "Hello world!" is 3.
    expect(record.prompt_tokens).toBe(10);
    expect(record.completion_tokens).toBe(3);
  });

  it("estimates stream usage when the provider sends no usage chunk", async () => {
    upstream.script({ usage: null, content: ["Hello", " world", "!"] });
    const requestId = `no-usage-stream-${Date.now()}`;

    const stream = await proxy
      .openai(token, { requestId })
      .chat.completions.create({
        model: "gpt-4o-mini",
        stream: true,
        messages: [{ role: "user", content: "Say hello" }],
      });
    for await (const chunk of stream) {
      void chunk;
    }

    const record = await recordOf(requestId);
    expect(record.status).toBe("completed");
    expect(record.usage_estimated).toBe(1);
    expect(record.prompt_tokens).toBe(10);
    expect(record.completion_tokens).toBe(3);
  });

  it.each([
    ["empty", {}],
    ["textual", { prompt_tokens: "12", completion_tokens: "3" }],
    ["too large", { prompt_tokens: 3_000_000_000, completion_tokens: 3 }],
  ])(
    "estimates instead of billing %s usage as reported",
    async (_case, usage) => {
      upstream.script({
        usage: usage as unknown as UpstreamUsage,
        content: ["Hello", " world", "!"],
      });

      const { response } = await proxy
        .openai(token)
        .chat.completions.create({
          model: "gpt-4o-mini",
          messages: [{ role: "user", content: "Say hello" }],
        })
        .withResponse();

      const record = await recordOf(response.headers.get("x-request-id")!);
      expect(record.status).toBe("completed");
      expect(record.usage_estimated).toBe(1);
      expect(record.prompt_tokens).toBe(10);
      expect(record.completion_tokens).toBe(3);
    },
  );

  it("caps an estimate at the output limit it held credit for", async () => {
    upstream.script({
      usage: null,
      content: Array.from({ length: 50 }, (_, i) => `word${i} `),
    });
    const requestId = `capped-estimate-${Date.now()}`;

    const stream = await proxy
      .openai(token, { requestId })
      .chat.completions.create({
        model: "gpt-4o-mini",
        stream: true,
        max_tokens: 5,
        messages: [{ role: "user", content: "Count" }],
      });
    for await (const chunk of stream) {
      void chunk;
    }

    const record = await recordOf(requestId);
    expect(record.usage_estimated).toBe(1);
    expect(record.completion_tokens).toBe(5);
  });

  it("keeps the rollup and client totals equal to the rows", async () => {
    const [rows] = await proxy.query<{
      n: number;
      cost: string;
      prompt: number;
    }>(
      "select count(*) as n, cast(sum(cost) as text) as cost, sum(prompt_tokens) as prompt from llm_requests where client_id = ?",
      [clientId],
    );
    const [rollup] = await proxy.query<{
      n: number;
      cost: string;
      prompt: number;
    }>(
      "select sum(requests) as n, cast(sum(cost) as text) as cost, sum(prompt_tokens) as prompt from usage_daily where client_id = ?",
      [clientId],
    );
    const after = await proxy.snapshot(providerId, clientId);

    expect(rollup.n).toBe(rows.n);
    expect(rollup.cost).toBe(rows.cost);
    expect(rollup.prompt).toBe(rows.prompt);
    expect(after.clientRequests).toBe(rows.n);
    expect(after.clientCost.toString()).toBe(rows.cost);
  });

  it("keeps the ledger equal to the balance", async () => {
    const [ledger] = await proxy.query<{ total: string }>(
      "select cast(sum(amount) as text) as total from balance_transactions where provider_id = ?",
      [providerId],
    );
    const after = await proxy.snapshot(providerId, clientId);

    expect(BigInt(ledger.total)).toBe(after.balance);
  });

  it("records when a token was last used", async () => {
    const rows = await proxy.query<{ last_used_at: number | null }>(
      "select last_used_at from client_tokens where client_id = ?",
      [clientId],
    );

    expect(rows).toHaveLength(1);
    expect(rows[0].last_used_at).not.toBeNull();
    expect(Date.now() - Number(rows[0].last_used_at)).toBeLessThan(60_000);
  });

  it("lists the configured models", async () => {
    const models = await proxy.openai(token).models.list();

    expect(models.data.map((model) => model.id)).toEqual(["gpt-4o-mini"]);
    expect(Math.abs(models.data[0].created - Date.now() / 1000)).toBeLessThan(
      3600,
    );
  });
});
