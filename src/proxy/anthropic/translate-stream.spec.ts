/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-return -- parsed JSON is checked key by key */
import { ServerResponse } from "node:http";

import {
  bodyOf,
  CACHED_STREAM,
  Capture,
  OPENAI_TEXT_STREAM,
  OPENAI_TOOL_STREAM,
  TOOL_STREAM,
} from "../../../test/support/anthropic-fixtures";
import { SseParser } from "../sse/sse-parser";
import {
  AnthropicToChatStreamRelay,
  ChatToAnthropicStreamRelay,
} from "./translate-stream";

const KEY = "sk-provider-secret-key-1234";

function eventsOf(text: string) {
  const parser = new SseParser();
  return [...parser.push(Buffer.from(text)), ...parser.end()];
}

/** Parses the JSON of every `data:` event except `[DONE]`. */
function chunksOf(text: string): any[] {
  return eventsOf(text)
    .filter((event) => event.data !== "[DONE]")
    .map((event) => JSON.parse(event.data));
}

function toChat(
  capture: Capture,
  includeUsage: boolean,
  signal = new AbortController().signal,
) {
  return new AnthropicToChatStreamRelay(
    capture as unknown as ServerResponse,
    signal,
    KEY,
    {
      publicModel: "claude-public",
      requestId: "req-1",
      includeUsage,
      countOutput: (text) => text.length,
    },
  );
}

function toAnthropic(capture: Capture) {
  return new ChatToAnthropicStreamRelay(
    capture as unknown as ServerResponse,
    new AbortController().signal,
    KEY,
    {
      publicModel: "gpt-public",
      requestId: "req-2",
      countOutput: (text) => text.length,
    },
  );
}

describe("AnthropicToChatStreamRelay", () => {
  it("writes chat chunks ending in DONE", async () => {
    const capture = new Capture();
    const outcome = await toChat(capture, false).run(bodyOf(CACHED_STREAM, 11));
    const chunks = chunksOf(capture.text);

    expect(outcome.finished).toBe(true);
    expect(capture.text.endsWith("data: [DONE]\n\n")).toBe(true);
    expect(
      chunks.every((chunk) => chunk.object === "chat.completion.chunk"),
    ).toBe(true);
    expect(chunks.every((chunk) => chunk.model === "claude-public")).toBe(true);
    expect(chunks.every((chunk) => !("usage" in chunk))).toBe(true);
    expect(chunks[0].choices[0].delta).toEqual({
      role: "assistant",
      content: "",
    });
    expect(chunks[1].choices[0].delta).toEqual({ content: "Hel" });
    expect(chunks.at(-1).choices[0]).toMatchObject({
      delta: {},
      finish_reason: "stop",
    });
  });

  it("adds a usage chunk on request", async () => {
    const capture = new Capture();
    await toChat(capture, true).run(bodyOf(CACHED_STREAM));
    const chunks = chunksOf(capture.text);

    expect(chunks.slice(0, -1).every((chunk) => chunk.usage === null)).toBe(
      true,
    );
    expect(chunks.at(-1)).toMatchObject({
      choices: [],
      usage: {
        prompt_tokens: 10_840,
        completion_tokens: 310,
        total_tokens: 11_150,
        prompt_tokens_details: {
          cached_tokens: 9000,
          cache_write_tokens: 1800,
        },
      },
    });
  });

  it("meters the Anthropic usage", async () => {
    const outcome = await toChat(new Capture(), false).run(
      bodyOf(CACHED_STREAM),
    );

    expect(outcome.usage).toEqual({
      promptTokens: 10_840,
      completionTokens: 310,
      cacheReadTokens: 9000,
      cacheWriteTokens: 1800,
      cacheWrite1hTokens: 0,
      reasoningTokens: 0,
    });
  });

  it("streams tool calls", async () => {
    const capture = new Capture();
    const outcome = await toChat(capture, false).run(bodyOf(TOOL_STREAM, 13));
    const calls = chunksOf(capture.text).flatMap(
      (chunk) => chunk.choices[0]?.delta?.tool_calls ?? [],
    );

    expect(calls[0]).toEqual({
      index: 0,
      id: "toolu_01NRLabsLyVHZPKxbKvkfSMn",
      type: "function",
      function: { name: "get_weather", arguments: "" },
    });
    expect(
      calls
        .slice(1)
        .every((call: any) => call.index === 0 && call.id === undefined),
    ).toBe(true);
    expect(calls.map((call: any) => call.function.arguments).join("")).toBe(
      '{"location": "Paris"}',
    );
    expect(chunksOf(capture.text).at(-1).choices[0].finish_reason).toBe(
      "tool_calls",
    );
    expect(outcome.usage?.completionTokens).toBe(65);
  });

  it("turns an error event into an OpenAI error", async () => {
    const cut = CACHED_STREAM.indexOf("event: content_block_stop");
    const stream =
      CACHED_STREAM.slice(0, cut) +
      `event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded ${KEY}"}}\n\n`;
    const capture = new Capture();
    const outcome = await toChat(capture, true).run(bodyOf(stream));

    expect(outcome.errorClass).toBe("upstream_error_event");
    expect(capture.text).not.toContain(KEY);
    expect(capture.text).not.toContain("[DONE]");
    expect(chunksOf(capture.text).at(-1)).toEqual({
      error: {
        message: "Overloaded [redacted]",
        type: "service_unavailable_error",
        param: null,
        code: "overloaded_error",
      },
    });
  });

  it("reports a stream without message_stop", async () => {
    const cut = CACHED_STREAM.indexOf("event: content_block_stop");
    const capture = new Capture();
    const outcome = await toChat(capture, true).run(
      bodyOf(CACHED_STREAM.slice(0, cut)),
    );

    expect(outcome.finished).toBe(false);
    expect(outcome.errorClass).toBe("upstream_stream_broken");
    expect(outcome.outputEstimated).toBe(true);
    expect(outcome.usage?.promptTokens).toBe(10_840);
    expect(capture.text).not.toContain("[DONE]");
  });

  it("reports a client hang-up", async () => {
    const controller = new AbortController();
    async function* body(): AsyncGenerator<Buffer> {
      yield Buffer.from(CACHED_STREAM.slice(0, 600));
      controller.abort(new Error("client closed the connection"));
      throw new Error("aborted");
    }
    const outcome = await toChat(new Capture(), false, controller.signal).run(
      body(),
    );

    expect(outcome.errorClass).toBe("client_closed");
  });
});

describe("ChatToAnthropicStreamRelay", () => {
  it("writes the Anthropic event sequence", async () => {
    const capture = new Capture();
    const outcome = await toAnthropic(capture).run(
      bodyOf(OPENAI_TEXT_STREAM, 9),
    );
    const events = eventsOf(capture.text);

    expect(outcome.finished).toBe(true);
    expect(events.map((event) => event.event)).toEqual([
      "message_start",
      "content_block_start",
      "content_block_delta",
      "content_block_delta",
      "content_block_stop",
      "message_delta",
      "message_stop",
    ]);
    for (const event of events) {
      expect(JSON.parse(event.data).type).toBe(event.event);
    }
    const start = JSON.parse(events[0].data);
    expect(start.message).toMatchObject({
      role: "assistant",
      model: "gpt-public",
      content: [],
    });
    expect(JSON.parse(events[2].data).delta).toEqual({
      type: "text_delta",
      text: "Hel",
    });
  });

  it("ends with stop reason and usage", async () => {
    const capture = new Capture();
    const outcome = await toAnthropic(capture).run(bodyOf(OPENAI_TEXT_STREAM));
    const delta = JSON.parse(eventsOf(capture.text).at(-2)!.data);

    expect(delta.delta).toEqual({
      stop_reason: "end_turn",
      stop_sequence: null,
    });
    expect(delta.usage).toEqual({
      input_tokens: 220,
      cache_read_input_tokens: 1280,
      cache_creation_input_tokens: 0,
      output_tokens: 40,
    });
    expect(outcome.usage).toMatchObject({
      promptTokens: 1500,
      cacheReadTokens: 1280,
      completionTokens: 40,
    });
  });

  it("turns tool calls into tool_use blocks", async () => {
    const capture = new Capture();
    await toAnthropic(capture).run(bodyOf(OPENAI_TOOL_STREAM, 17));
    const events = eventsOf(capture.text).map((event) =>
      JSON.parse(event.data),
    );

    const starts = events.filter(
      (event) => event.type === "content_block_start",
    );
    expect(starts.map((event) => [event.index, event.content_block])).toEqual([
      [0, { type: "text", text: "" }],
      [1, { type: "tool_use", id: "call_1", name: "get_weather", input: {} }],
      [2, { type: "tool_use", id: "call_2", name: "get_time", input: {} }],
    ]);
    const json = (index: number) =>
      events
        .filter(
          (event) =>
            event.type === "content_block_delta" && event.index === index,
        )
        .map((event) => event.delta.partial_json)
        .join("");
    expect(JSON.parse(json(1))).toEqual({ city: "Paris" });
    expect(JSON.parse(json(2))).toEqual({});
    const stops = events
      .filter((event) => event.type === "content_block_stop")
      .map((event) => event.index);
    expect(stops).toEqual([0, 1, 2]);
    expect(
      events.find((event) => event.type === "message_delta").delta.stop_reason,
    ).toBe("tool_use");
  });

  it("finishes a stream without DONE after a finish reason", async () => {
    const capture = new Capture();
    const outcome = await toAnthropic(capture).run(
      bodyOf(OPENAI_TEXT_STREAM.replace("data: [DONE]\n\n", "")),
    );

    expect(outcome.finished).toBe(true);
    expect(eventsOf(capture.text).at(-1)!.event).toBe("message_stop");
  });

  it("estimates output when no usage came", async () => {
    const withoutUsage = OPENAI_TEXT_STREAM.split("\n\n")
      .filter((event) => !event.includes('"choices":[]'))
      .join("\n\n");
    const capture = new Capture();
    const outcome = await toAnthropic(capture).run(bodyOf(withoutUsage));
    const delta = JSON.parse(eventsOf(capture.text).at(-2)!.data);

    expect(outcome.usage).toBeNull();
    expect(delta.usage).toEqual({ output_tokens: "Hello".length });
  });

  it("turns an error chunk into an error event", async () => {
    const lines = OPENAI_TEXT_STREAM.split("\n\n");
    const stream =
      lines.slice(0, 2).join("\n\n") +
      `\n\ndata: {"error":{"message":"The server had an error ${KEY}","type":"server_error","param":null,"code":null}}\n\ndata: [DONE]\n\n`;
    const capture = new Capture();
    const outcome = await toAnthropic(capture).run(bodyOf(stream));
    const last = eventsOf(capture.text).at(-1)!;

    expect(outcome.errorClass).toBe("upstream_error_event");
    expect(last.event).toBe("error");
    expect(JSON.parse(last.data)).toEqual({
      type: "error",
      error: {
        type: "api_error",
        message: "The server had an error [redacted]",
      },
    });
    expect(capture.text).not.toContain("message_stop");
  });

  it("reports a stream cut before its finish reason", async () => {
    const lines = OPENAI_TEXT_STREAM.split("\n\n");
    const outcome = await toAnthropic(new Capture()).run(
      bodyOf(lines.slice(0, 3).join("\n\n") + "\n\n"),
    );

    expect(outcome.finished).toBe(false);
    expect(outcome.errorClass).toBe("upstream_stream_broken");
    expect(outcome.outputText).toBe("Hello");
  });
});
