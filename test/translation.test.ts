/* eslint-disable @typescript-eslint/no-explicit-any -- parsed JSON is checked key by key */
import Anthropic from "@anthropic-ai/sdk";

import {
  BillingMode,
  ProviderKind,
} from "../src/providers/entities/provider.entity";
import {
  OPENAI_TEXT_STREAM,
  OPENAI_TOOL_STREAM,
} from "./support/anthropic-fixtures";
import { AnthropicUpstream } from "./support/anthropic-upstream";
import { OpenAiUpstream } from "./support/openai-upstream";
import { ProxyHarness } from "./support/proxy-harness";

/**
 * The official clients talk to the proxy in one format while the provider speaks the other: the OpenAI SDK
 * against an Anthropic stand-in through `/v1/chat/completions`, and the Anthropic SDK against an OpenAI stand-in
 * through `/v1/messages`. Prices, USD per million tokens: input 3.00, output 15.00, cache read 0.30, 5-minute
 * cache write 3.75, 1-hour cache write 6.00. A token at P USD per million costs P × 1,000 nano-dollars.
 */
describe("translation", () => {
  let anthropicUpstream: AnthropicUpstream;
  let openAiUpstream: OpenAiUpstream;
  let proxy: ProxyHarness;
  let anthropicKey: string;
  let token: string;

  const prices = {
    input: "3.00",
    output: "15.00",
    cacheRead: "0.30",
    cacheWrite: "3.75",
    cacheWrite1h: "6.00",
  };

  beforeAll(async () => {
    anthropicUpstream = await AnthropicUpstream.start();
    openAiUpstream = await OpenAiUpstream.start();
    proxy = await ProxyHarness.start();
    ({ apiKey: anthropicKey } = await proxy.seedProvider({
      kind: ProviderKind.Anthropic,
      baseUrl: anthropicUpstream.baseUrl,
      model: "claude-via-chat",
      upstreamName: "claude-sonnet-4-5",
      billing: BillingMode.Prepaid,
      balance: "100.00",
      maxOutputTokens: 2048,
      prices,
    }));
    await proxy.seedProvider({
      baseUrl: openAiUpstream.baseUrl,
      model: "gpt-via-messages",
      upstreamName: "gpt-4o",
      prices,
    });
    ({ token } = await proxy.seedClient());
  });

  afterAll(async () => {
    await proxy.stop();
    await anthropicUpstream.stop();
    await openAiUpstream.stop();
  });

  function anthropic(): Anthropic {
    return new Anthropic({
      apiKey: token,
      baseURL: proxy.baseUrl,
      maxRetries: 0,
    });
  }

  async function recordOf(requestId: string) {
    await proxy.settled();
    const rows = await proxy.query<Record<string, unknown>>(
      `select status, error_class, endpoint, prompt_tokens, completion_tokens, cache_read_tokens,
         cache_write_tokens, usage_estimated, cast(cost as text) as cost
       from llm_requests where request_id = ?`,
      [requestId],
    );
    expect(rows).toHaveLength(1);
    return rows[0];
  }

  describe("OpenAI client, Anthropic provider", () => {
    it("translates a request and its answer", async () => {
      anthropicUpstream.script({
        usage: {
          input_tokens: 40,
          output_tokens: 310,
          cache_creation_input_tokens: 1800,
          cache_read_input_tokens: 9000,
          cache_creation: {
            ephemeral_5m_input_tokens: 0,
            ephemeral_1h_input_tokens: 1800,
          },
        },
      });

      const { data, response } = await proxy
        .openai(token)
        .chat.completions.create({
          model: "claude-via-chat",
          messages: [
            { role: "system", content: "Be brief." },
            { role: "user", content: "Say hello" },
          ],
          stop: ["END"],
        })
        .withResponse();
      const requestId = response.headers.get("x-request-id")!;

      expect(data.object).toBe("chat.completion");
      expect(data.model).toBe("claude-via-chat");
      expect(data.choices[0].message.content).toBe("Hello there!");
      expect(data.choices[0].finish_reason).toBe("stop");
      expect(data.usage?.prompt_tokens).toBe(10_840);
      expect(data.usage?.prompt_tokens_details?.cached_tokens).toBe(9000);

      const sent = anthropicUpstream.requests.at(-1)!;
      expect(sent.url).toBe("/v1/messages");
      expect(sent.headers["x-api-key"]).toBe(anthropicKey);
      expect(sent.headers["anthropic-version"]).toBe("2023-06-01");
      expect(sent.body).toEqual({
        model: "claude-sonnet-4-5",
        max_tokens: 2048,
        system: [{ type: "text", text: "Be brief." }],
        messages: [
          { role: "user", content: [{ type: "text", text: "Say hello" }] },
        ],
        stop_sequences: ["END"],
      });

      const record = await recordOf(requestId);
      expect(record.endpoint).toBe("chat.completions");
      expect(record.prompt_tokens).toBe(10_840);
      expect(record.cache_write_tokens).toBe(1800);
      // 40 × 3.00 + 1800 × 6.00 + 9000 × 0.30 + 310 × 15.00 = 18,270 USD per million.
      expect(record.cost).toBe("18270000");
    });

    it("streams chunks with usage", async () => {
      anthropicUpstream.script({
        usage: { input_tokens: 20, output_tokens: 6 },
        splitBytes: 11,
      });

      const stream = await proxy.openai(token).chat.completions.create({
        model: "claude-via-chat",
        messages: [{ role: "user", content: "Say hello" }],
        stream: true,
        stream_options: { include_usage: true },
      });
      let text = "";
      let usage: unknown = null;
      let finish: string | null = null;
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta?.content ?? "";
        finish = chunk.choices[0]?.finish_reason ?? finish;
        usage = chunk.usage ?? usage;
      }

      expect(text).toBe("Hello there!");
      expect(finish).toBe("stop");
      expect(usage).toMatchObject({
        prompt_tokens: 20,
        completion_tokens: 6,
        total_tokens: 26,
      });
      expect(anthropicUpstream.requests.at(-1)!.body.stream).toBe(true);
    });

    it("streams a tool call", async () => {
      anthropicUpstream.script({
        content: [],
        toolUses: [
          {
            id: "toolu_1",
            name: "get_weather",
            input: { city: "Paris" },
          },
        ],
      });

      const stream = await proxy.openai(token).chat.completions.create({
        model: "claude-via-chat",
        messages: [{ role: "user", content: "Weather in Paris?" }],
        tools: [
          {
            type: "function",
            function: {
              name: "get_weather",
              parameters: {
                type: "object",
                properties: { city: { type: "string" } },
              },
            },
          },
        ],
        stream: true,
      });
      const calls = new Map<
        number,
        { id?: string; name?: string; args: string }
      >();
      let finish: string | null = null;
      for await (const chunk of stream) {
        for (const call of chunk.choices[0]?.delta?.tool_calls ?? []) {
          const entry = calls.get(call.index) ?? { args: "" };
          entry.id ??= call.id;
          entry.name ??= call.function?.name;
          entry.args += call.function?.arguments ?? "";
          calls.set(call.index, entry);
        }
        finish = chunk.choices[0]?.finish_reason ?? finish;
      }

      expect(calls.get(0)).toEqual({
        id: "toolu_1",
        name: "get_weather",
        args: '{"city":"Paris"}',
      });
      expect(finish).toBe("tool_calls");
      expect(anthropicUpstream.requests.at(-1)!.body.tools).toEqual([
        {
          name: "get_weather",
          input_schema: {
            type: "object",
            properties: { city: { type: "string" } },
          },
        },
      ]);
    });

    it("ends a stream at an error event", async () => {
      anthropicUpstream.script({
        errorEventAfter: 4,
        error: { type: "overloaded_error", message: "Overloaded" },
      });

      const stream = await proxy.openai(token).chat.completions.create({
        model: "claude-via-chat",
        messages: [{ role: "user", content: "Say hello" }],
        stream: true,
      });
      const read = async () => {
        for await (const chunk of stream) {
          void chunk;
        }
      };

      await expect(read()).rejects.toThrow(/Overloaded/);
    });

    it("rejects n above 1", async () => {
      const error = await proxy
        .openai(token)
        .chat.completions.create({
          model: "claude-via-chat",
          messages: [{ role: "user", content: "Say hello" }],
          n: 2,
        })
        .catch((caught: unknown) => caught);

      expect((error as { status?: number }).status).toBe(400);
      expect((error as { param?: string }).param).toBe("n");
    });
  });

  describe("Anthropic client, OpenAI provider", () => {
    it("translates a request and its answer", async () => {
      openAiUpstream.script({
        usage: {
          prompt_tokens: 1500,
          completion_tokens: 220,
          prompt_tokens_details: { cached_tokens: 1280 },
        },
      });

      const { data, response } = await anthropic()
        .messages.create({
          model: "gpt-via-messages",
          max_tokens: 300,
          system: "Be brief.",
          stop_sequences: ["END"],
          messages: [{ role: "user", content: "Say hello" }],
        })
        .withResponse();
      const requestId = response.headers.get("x-request-id")!;

      expect(data.type).toBe("message");
      expect(data.model).toBe("gpt-via-messages");
      expect(data.content).toEqual([{ type: "text", text: "Hello world!" }]);
      expect(data.stop_reason).toBe("end_turn");
      expect(data.usage).toMatchObject({
        input_tokens: 220,
        cache_read_input_tokens: 1280,
        output_tokens: 220,
      });

      const sent = openAiUpstream.requests.at(-1)!;
      expect(sent.headers.authorization).toMatch(/^Bearer /);
      expect(sent.body).toEqual({
        model: "gpt-4o",
        messages: [
          { role: "system", content: "Be brief." },
          { role: "user", content: "Say hello" },
        ],
        max_completion_tokens: 300,
        stop: ["END"],
      });

      const record = await recordOf(requestId);
      expect(record.endpoint).toBe("messages");
      expect(record.prompt_tokens).toBe(1500);
      expect(record.cache_read_tokens).toBe(1280);
      // 220 × 3.00 + 1280 × 0.30 + 220 × 15.00 = 4,344 USD per million.
      expect(record.cost).toBe("4344000");
    });

    it("streams Anthropic events", async () => {
      openAiUpstream.script({
        usage: { prompt_tokens: 30, completion_tokens: 3 },
        splitBytes: 13,
      });

      const stream = anthropic().messages.stream({
        model: "gpt-via-messages",
        max_tokens: 300,
        messages: [{ role: "user", content: "Say hello" }],
      });
      const types: string[] = [];
      stream.on("streamEvent", (event) => types.push(event.type));
      const message = await stream.finalMessage();

      expect(types[0]).toBe("message_start");
      expect(types.at(-1)).toBe("message_stop");
      expect(message.content).toEqual([{ type: "text", text: "Hello world!" }]);
      expect(message.stop_reason).toBe("end_turn");
      expect(message.usage.input_tokens).toBe(30);
      expect(message.usage.output_tokens).toBe(3);
      expect(openAiUpstream.requests.at(-1)!.body.stream_options).toEqual({
        include_usage: true,
      });
    });

    it("streams tool calls as tool_use blocks", async () => {
      openAiUpstream.script({
        rawBody: OPENAI_TOOL_STREAM,
        headers: { "content-type": "text/event-stream" },
      });

      const message = await anthropic()
        .messages.stream({
          model: "gpt-via-messages",
          max_tokens: 300,
          messages: [{ role: "user", content: "Weather and time in Paris?" }],
          tools: [
            { name: "get_weather", input_schema: { type: "object" } },
            { name: "get_time", input_schema: { type: "object" } },
          ],
        })
        .finalMessage();

      expect(message.stop_reason).toBe("tool_use");
      expect(message.content).toEqual([
        { type: "text", text: "Checking." },
        {
          type: "tool_use",
          id: "call_1",
          name: "get_weather",
          input: { city: "Paris" },
        },
        { type: "tool_use", id: "call_2", name: "get_time", input: {} },
      ]);
    });

    it("round-trips tool results", async () => {
      await anthropic().messages.create({
        model: "gpt-via-messages",
        max_tokens: 300,
        messages: [
          { role: "user", content: "Weather in Paris?" },
          {
            role: "assistant",
            content: [
              {
                type: "tool_use",
                id: "toolu_1",
                name: "get_weather",
                input: { city: "Paris" },
              },
            ],
          },
          {
            role: "user",
            content: [
              { type: "tool_result", tool_use_id: "toolu_1", content: "18 C" },
            ],
          },
        ],
      });

      expect(openAiUpstream.requests.at(-1)!.body.messages).toEqual([
        { role: "user", content: "Weather in Paris?" },
        {
          role: "assistant",
          content: null,
          tool_calls: [
            {
              id: "toolu_1",
              type: "function",
              function: { name: "get_weather", arguments: '{"city":"Paris"}' },
            },
          ],
        },
        { role: "tool", tool_call_id: "toolu_1", content: "18 C" },
      ]);
    });

    it("estimates a stream without usage", async () => {
      openAiUpstream.script({
        rawBody: OPENAI_TEXT_STREAM.split("\n\n")
          .filter((event) => !event.includes('"choices":[]'))
          .join("\n\n"),
        headers: { "content-type": "text/event-stream" },
      });

      const stream = anthropic().messages.stream({
        model: "gpt-via-messages",
        max_tokens: 300,
        messages: [{ role: "user", content: "Say hello" }],
      });
      const message = await stream.finalMessage();
      const requestId = (await stream.withResponse()).response.headers.get(
        "x-request-id",
      )!;

      expect(message.content).toEqual([{ type: "text", text: "Hello" }]);
      const record = await recordOf(requestId);
      expect(record.status).toBe("completed");
      expect(Number(record.usage_estimated)).toBe(1);
      expect(record.completion_tokens).toBe(1);
      expect(Number(record.prompt_tokens)).toBeGreaterThan(0);
    });

    it("answers count_tokens locally", async () => {
      const before = openAiUpstream.requests.length;

      const counted = await anthropic().messages.countTokens({
        model: "gpt-via-messages",
        messages: [{ role: "user", content: "Say hello" }],
      });

      expect(counted.input_tokens).toBeGreaterThan(0);
      expect(openAiUpstream.requests.length).toBe(before);
    });

    it("rejects server tools", async () => {
      const error = await anthropic()
        .messages.create({
          model: "gpt-via-messages",
          max_tokens: 300,
          messages: [{ role: "user", content: "Search" }],
          tools: [{ type: "web_search_20250305", name: "web_search" }],
        })
        .catch((caught: unknown) => caught);

      expect(error).toBeInstanceOf(Anthropic.BadRequestError);
      const rejected = error as InstanceType<typeof Anthropic.BadRequestError>;
      expect((rejected.error as any).error.type).toBe("invalid_request_error");
    });
  });
});
