import OpenAI from "openai";

import { TokenEstimator } from "../src/proxy/token-estimator.service";
import { OpenAiUpstream, UpstreamUsage } from "./support/openai-upstream";
import { ProxyHarness } from "./support/proxy-harness";

type StreamEvent = OpenAI.Responses.ResponseStreamEvent;

/**
 * The official OpenAI SDK calls `POST /v1/responses` on the running proxy, which forwards to a stand-in replaying
 * the Responses API's wire format. Prices per token: input 2,500, cached input 1,250, output 10,000 and reasoning
 * 20,000 nano-dollars (2.50, 1.25, 10.00 and 20.00 USD per million).
 */
describe("responses", () => {
  let upstream: OpenAiUpstream;
  let proxy: ProxyHarness;
  let providerId: number;
  let apiKey: string;
  let clientId: number;
  let token: string;
  const estimator = new TokenEstimator();

  const USAGE: UpstreamUsage = {
    prompt_tokens: 3000,
    completion_tokens: 600,
    prompt_tokens_details: { cached_tokens: 2048 },
    completion_tokens_details: { reasoning_tokens: 448 },
  };
  // 952 uncached × 2,500 + 2,048 cached × 1,250 + 152 output × 10,000 + 448 reasoning × 20,000.
  const USAGE_COST = 952 * 2500 + 2048 * 1250 + 152 * 10_000 + 448 * 20_000;

  beforeAll(async () => {
    upstream = await OpenAiUpstream.start();
    proxy = await ProxyHarness.start();
    ({ providerId, apiKey } = await proxy.seedProvider({
      baseUrl: upstream.baseUrl,
      model: "gpt-5-mini",
      upstreamName: "gpt-5-mini-2025-08-07",
      billing: "prepaid" as never,
      balance: "100.00",
      prices: { reasoning: "20.00" },
      maxOutputTokens: 4000,
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
         reasoning_tokens, usage_estimated, cast(cost as text) as cost
       from llm_requests where request_id = ?`,
      [requestId],
    );
    expect(rows).toHaveLength(1);
    return rows[0];
  }

  async function streamEvents(
    requestId: string,
    params: Partial<OpenAI.Responses.ResponseCreateParamsStreaming> = {},
  ): Promise<StreamEvent[]> {
    const stream = await proxy.openai(token, { requestId }).responses.create({
      model: "gpt-5-mini",
      input: "Hello there",
      stream: true,
      ...params,
    });
    const events: StreamEvent[] = [];
    for await (const event of stream) {
      events.push(event);
    }
    return events;
  }

  function expectUsageRecorded(record: Record<string, unknown>) {
    expect(record.prompt_tokens).toBe(3000);
    expect(record.cache_read_tokens).toBe(2048);
    expect(record.completion_tokens).toBe(600);
    expect(record.reasoning_tokens).toBe(448);
    expect(Number(record.usage_estimated)).toBe(0);
    expect(record.cost).toBe(String(USAGE_COST));
  }

  it("meters cached and reasoning tokens", async () => {
    upstream.script({ usage: USAGE, reasoningSummary: ["Thinking"] });
    const before = await proxy.snapshot(providerId, clientId);

    const { data, response } = await proxy
      .openai(token)
      .responses.create({
        model: "gpt-5-mini",
        input: [{ role: "user", content: "Hello" }],
        instructions: "Be brief",
        reasoning: { effort: "low", summary: "auto" },
      })
      .withResponse();

    expect(data.output_text).toBe("Hello world!");
    expect(data.usage?.output_tokens_details.reasoning_tokens).toBe(448);
    const sent = upstream.requests[upstream.requests.length - 1];
    expect(sent.path).toBe("/v1/responses");
    expect(sent.headers.authorization).toBe(`Bearer ${apiKey}`);
    expect(sent.body.model).toBe("gpt-5-mini-2025-08-07");
    expect(sent.body.reasoning).toEqual({ effort: "low", summary: "auto" });
    const record = await recordOf(response.headers.get("x-request-id")!);
    expect(record.endpoint).toBe("responses");
    expect(record.status).toBe("completed");
    expectUsageRecorded(record);

    const after = await proxy.snapshot(providerId, clientId);
    expect(before.balance - after.balance).toBe(BigInt(USAGE_COST));
    expect(after.reserved).toBe(0n);
    expect(after.clientCost - before.clientCost).toBe(BigInt(USAGE_COST));
  });

  it("streams typed events and meters the completed event", async () => {
    upstream.script({
      usage: USAGE,
      reasoningSummary: ["Let me ", "think"],
      functionCall: { name: "lookup", arguments: ['{"city":', '"Oslo"}'] },
    });
    const requestId = `resp-stream-${Date.now()}`;

    const events = await streamEvents(requestId);

    const types = events.map((event) => event.type);
    expect(types[0]).toBe("response.created");
    expect(types).toContain("response.reasoning_summary_text.delta");
    expect(types).toContain("response.function_call_arguments.delta");
    expect(types.at(-1)).toBe("response.completed");
    expect(events.map((event) => event.sequence_number)).toEqual(
      events.map((_event, index) => index),
    );
    const record = await recordOf(requestId);
    expect(Number(record.streamed)).toBe(1);
    expect(record.status).toBe("completed");
    expectUsageRecorded(record);
  });

  it("charges a stream that ends incomplete", async () => {
    upstream.script({
      usage: {
        prompt_tokens: 50,
        completion_tokens: 16,
        completion_tokens_details: { reasoning_tokens: 10 },
      },
      responseStatus: "incomplete",
    });
    const requestId = `resp-incomplete-${Date.now()}`;

    const events = await streamEvents(requestId, { max_output_tokens: 16 });

    const last = events.at(-1) as OpenAI.Responses.ResponseIncompleteEvent;
    expect(last.type).toBe("response.incomplete");
    expect(last.response.incomplete_details?.reason).toBe("max_output_tokens");
    const record = await recordOf(requestId);
    expect(record.status).toBe("completed");
    expect(record.error_class).toBeNull();
    expect(record.prompt_tokens).toBe(50);
    expect(record.completion_tokens).toBe(16);
    expect(record.reasoning_tokens).toBe(10);
    expect(Number(record.usage_estimated)).toBe(0);
    // 50 × 2,500 + 6 output × 10,000 + 10 reasoning × 20,000.
    expect(record.cost).toBe("385000");
  });

  it("charges reported usage of a failed stream", async () => {
    upstream.script({
      usage: { prompt_tokens: 80, completion_tokens: 5 },
      responseStatus: "failed",
      error: { message: "The model crashed", type: "server_error" },
    });
    const requestId = `resp-failed-${Date.now()}`;

    const events = await streamEvents(requestId);

    const last = events.at(-1) as OpenAI.Responses.ResponseFailedEvent;
    expect(last.type).toBe("response.failed");
    expect(last.response.error?.message).toBe("The model crashed");
    const record = await recordOf(requestId);
    expect(record.status).toBe("incomplete");
    expect(record.error_class).toBe("response_failed");
    expect(record.prompt_tokens).toBe(80);
    expect(record.completion_tokens).toBe(5);
    expect(Number(record.usage_estimated)).toBe(0);
    expect(record.cost).toBe(String(80 * 2500 + 5 * 10_000));
  });

  it("estimates a stream cut by an error event", async () => {
    upstream.script({
      content: ["Partial", " answer", " lost"],
      errorEventAfter: 2,
      error: {
        message: `Upstream failure for key ${apiKey}`,
        type: "server_error",
        code: "server_error",
      },
    });
    const requestId = `resp-error-${Date.now()}`;
    const input = "Tell me something";

    const events = await streamEvents(requestId, { input });

    const last = events.at(-1) as OpenAI.Responses.ResponseErrorEvent;
    expect(last.type).toBe("error");
    expect(last.message).toBe("Upstream failure for key [redacted]");
    const record = await recordOf(requestId);
    expect(record.status).toBe("incomplete");
    expect(record.error_class).toBe("upstream_error_event");
    expect(Number(record.usage_estimated)).toBe(1);
    const promptTokens = estimator.countText(input);
    const completionTokens = estimator.countText("Partial answer");
    expect(record.prompt_tokens).toBe(promptTokens);
    expect(record.completion_tokens).toBe(completionTokens);
    expect(record.cost).toBe(
      String(promptTokens * 2500 + completionTokens * 10_000),
    );
  });

  it("estimates a stream that breaks without usage", async () => {
    upstream.script({
      content: ["Broken", " off", " here"],
      dieAfterEvents: 1,
    });
    const requestId = `resp-broken-${Date.now()}`;
    const input = "Say something long";

    const events = await streamEvents(requestId, { input });

    const last = events.at(-1) as OpenAI.Responses.ResponseErrorEvent;
    expect(last.type).toBe("error");
    expect(last.code).toBe("upstream_stream_broken");
    const record = await recordOf(requestId);
    expect(record.status).toBe("incomplete");
    expect(record.error_class).toBe("upstream_stream_broken");
    expect(Number(record.usage_estimated)).toBe(1);
    const promptTokens = estimator.countText(input);
    const completionTokens = estimator.countText("Broken");
    expect(record.prompt_tokens).toBe(promptTokens);
    expect(record.completion_tokens).toBe(completionTokens);
    expect(record.cost).toBe(
      String(promptTokens * 2500 + completionTokens * 10_000),
    );
  });

  it("rejects background without stream", async () => {
    const sent = upstream.requests.length;

    const error = await proxy
      .openai(token)
      .responses.create({ model: "gpt-5-mini", input: "x", background: true })
      .catch((caught: unknown) => caught);

    expect(error).toMatchObject({ status: 400, param: "background" });
    expect(upstream.requests.length).toBe(sent);
  });
});
