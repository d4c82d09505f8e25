import OpenAI from "openai";

import { TokenEstimator } from "../src/proxy/token-estimator.service";
import { OpenAiUpstream } from "./support/openai-upstream";
import { ProxyHarness } from "./support/proxy-harness";

/**
 * The official OpenAI SDK calls legacy `POST /v1/completions` on the running proxy, which forwards to a stand-in
 * replaying OpenAI's wire format. Prices: input 2.50, output 10.00, cached input 1.25 USD per million tokens, so
 * a token costs 2,500, 10,000 and 1,250 nano-dollars.
 */
describe("completions", () => {
  let upstream: OpenAiUpstream;
  let proxy: ProxyHarness;
  let providerId: number;
  let clientId: number;
  let token: string;
  const estimator = new TokenEstimator();

  beforeAll(async () => {
    upstream = await OpenAiUpstream.start();
    proxy = await ProxyHarness.start();
    ({ providerId } = await proxy.seedProvider({
      baseUrl: upstream.baseUrl,
      model: "gpt-3.5-turbo-instruct",
      upstreamName: "gpt-3.5-turbo-instruct-0914",
      billing: "prepaid" as never,
      balance: "1.00",
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
      `select endpoint, status, error_class, streamed, prompt_tokens, completion_tokens, cache_read_tokens,
         usage_estimated, cast(cost as text) as cost
       from llm_requests where request_id = ?`,
      [requestId],
    );
    expect(rows).toHaveLength(1);
    return rows[0];
  }

  function lastSent() {
    return upstream.requests[upstream.requests.length - 1];
  }

  it("meters a completion with cached tokens", async () => {
    upstream.script({
      usage: {
        prompt_tokens: 1200,
        completion_tokens: 16,
        prompt_tokens_details: { cached_tokens: 1024 },
      },
    });
    const before = await proxy.snapshot(providerId, clientId);

    const { data, response } = await proxy
      .openai(token)
      .completions.create({ model: "gpt-3.5-turbo-instruct", prompt: "Say" })
      .withResponse();

    expect(data.object).toBe("text_completion");
    expect(data.choices[0].text).toBe("Hello world!");
    expect(lastSent().body).toEqual({
      model: "gpt-3.5-turbo-instruct-0914",
      prompt: "Say",
    });
    const record = await recordOf(response.headers.get("x-request-id")!);
    expect(record.endpoint).toBe("completions");
    expect(record.status).toBe("completed");
    expect(record.prompt_tokens).toBe(1200);
    expect(record.cache_read_tokens).toBe(1024);
    expect(record.completion_tokens).toBe(16);
    expect(Number(record.usage_estimated)).toBe(0);
    // 176 uncached × 2,500 + 1,024 cached × 1,250 + 16 × 10,000 = 440,000 + 1,280,000 + 160,000.
    expect(record.cost).toBe("1880000");

    const after = await proxy.snapshot(providerId, clientId);
    expect(before.balance - after.balance).toBe(1_880_000n);
    expect(after.reserved).toBe(0n);
    expect(after.clientCost - before.clientCost).toBe(1_880_000n);
  });

  it("streams usage the client requested", async () => {
    upstream.script({
      content: ["One", " two"],
      usage: { prompt_tokens: 40, completion_tokens: 7 },
    });
    const requestId = `cmpl-usage-${Date.now()}`;

    const stream = await proxy.openai(token, { requestId }).completions.create({
      model: "gpt-3.5-turbo-instruct",
      prompt: "Count",
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.text ?? "";
      usage = chunk.usage ?? usage;
    }

    expect(text).toBe("One two");
    expect(usage?.completion_tokens).toBe(7);
    const record = await recordOf(requestId);
    expect(Number(record.streamed)).toBe(1);
    expect(record.prompt_tokens).toBe(40);
    expect(record.completion_tokens).toBe(7);
    // 40 × 2,500 + 7 × 10,000.
    expect(record.cost).toBe("170000");
  });

  it("hides usage from a client that did not request it", async () => {
    upstream.script({ usage: { prompt_tokens: 30, completion_tokens: 3 } });
    const requestId = `cmpl-hidden-${Date.now()}`;

    const stream = await proxy.openai(token, { requestId }).completions.create({
      model: "gpt-3.5-turbo-instruct",
      prompt: "x",
      stream: true,
    });
    const chunks: OpenAI.Completion[] = [];
    for await (const chunk of stream) {
      chunks.push(chunk);
    }

    expect(lastSent().body.stream_options).toEqual({ include_usage: true });
    expect(chunks.some((chunk) => chunk.usage)).toBe(false);
    expect(chunks.every((chunk) => chunk.choices.length > 0)).toBe(true);
    const record = await recordOf(requestId);
    expect(record.prompt_tokens).toBe(30);
    expect(record.completion_tokens).toBe(3);
    expect(Number(record.usage_estimated)).toBe(0);
    expect(record.cost).toBe("105000");
  });

  it("estimates a stream that ends without usage", async () => {
    upstream.script({ usage: null, content: ["Estimated", " reply"] });
    const requestId = `cmpl-estimated-${Date.now()}`;
    const prompt = "Write a short greeting";

    const stream = await proxy.openai(token, { requestId }).completions.create({
      model: "gpt-3.5-turbo-instruct",
      prompt,
      stream: true,
    });
    for await (const chunk of stream) {
      expect(chunk.object).toBe("text_completion");
    }

    const promptTokens = estimator.countText(prompt);
    const completionTokens = estimator.countText("Estimated reply");
    const record = await recordOf(requestId);
    expect(record.status).toBe("completed");
    expect(Number(record.usage_estimated)).toBe(1);
    expect(record.prompt_tokens).toBe(promptTokens);
    expect(record.completion_tokens).toBe(completionTokens);
    expect(record.cost).toBe(
      String(promptTokens * 2500 + completionTokens * 10_000),
    );
  });

  it("caps the estimate of a broken stream at max_tokens", async () => {
    upstream.script({
      content: ["many words here", " and more words", " and even more"],
      dieAfterEvents: 2,
    });
    const requestId = `cmpl-broken-${Date.now()}`;

    const stream = await proxy.openai(token, { requestId }).completions.create({
      model: "gpt-3.5-turbo-instruct",
      prompt: "x",
      max_tokens: 2,
      stream: true,
    });
    const failure = await (async () => {
      for await (const chunk of stream) {
        expect(chunk.choices.length).toBeGreaterThan(0);
      }
    })().catch((caught: unknown) => caught);

    expect(failure).toMatchObject({ code: "upstream_stream_broken" });
    const record = await recordOf(requestId);
    expect(record.status).toBe("incomplete");
    expect(record.error_class).toBe("upstream_stream_broken");
    expect(Number(record.usage_estimated)).toBe(1);
    expect(record.completion_tokens).toBe(2);
    expect(record.prompt_tokens).toBe(1);
    expect(record.cost).toBe(String(1 * 2500 + 2 * 10_000));
  });

  it("holds credit for every best_of candidate", async () => {
    const sent = upstream.requests.length;

    const error = await proxy
      .openai(token)
      .completions.create({
        model: "gpt-3.5-turbo-instruct",
        prompt: ["a", "b"],
        max_tokens: 5000,
        best_of: 10,
      })
      .catch((caught: unknown) => caught);

    // 5,000 × 10 candidates × 2 prompts = 100,000 output tokens × 10,000 nano-dollars = 1.00 USD; with the
    // input, more than the 1.00 USD of credit the provider started with.
    expect(error).toMatchObject({ status: 402, code: "insufficient_credit" });
    expect(upstream.requests.length).toBe(sent);
  });

  it("rejects streamed best_of", async () => {
    const error = await proxy
      .openai(token)
      .completions.create({
        model: "gpt-3.5-turbo-instruct",
        prompt: "x",
        best_of: 2,
        stream: true,
      })
      .catch((caught: unknown) => caught);

    expect(error).toMatchObject({ status: 400, param: "best_of" });
  });
});
