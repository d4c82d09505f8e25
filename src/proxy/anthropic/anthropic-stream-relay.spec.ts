import { ServerResponse } from "node:http";

import { SHUTDOWN_REASON } from "../in-flight.service";
import { SseParser } from "../sse/sse-parser";
import {
  bodyOf,
  CACHED_STREAM,
  Capture,
  TOOL_STREAM,
} from "../../../test/support/anthropic-fixtures";
import { AnthropicStreamRelay } from "./anthropic-stream-relay";

const KEY = "sk-ant-api03-secret-provider-key";

function relayFor(capture: Capture, signal = new AbortController().signal) {
  return new AnthropicStreamRelay(
    capture as unknown as ServerResponse,
    signal,
    KEY,
    { countOutput: (text) => text.length },
  );
}

function eventsOf(text: string) {
  const parser = new SseParser();
  return [...parser.push(Buffer.from(text)), ...parser.end()];
}

describe("AnthropicStreamRelay", () => {
  it("relays the documented stream", async () => {
    const capture = new Capture();
    const outcome = await relayFor(capture).run(bodyOf(CACHED_STREAM));

    expect(outcome.finished).toBe(true);
    expect(outcome.errorClass).toBeNull();
    expect(capture.text).toBe(CACHED_STREAM);
  });

  it("reads cache reads and 5-minute writes", async () => {
    const outcome = await relayFor(new Capture()).run(bodyOf(CACHED_STREAM));

    expect(outcome.usage).toEqual({
      promptTokens: 40 + 1800 + 9000,
      completionTokens: 310,
      cacheReadTokens: 9000,
      cacheWriteTokens: 1800,
      cacheWrite1hTokens: 0,
      reasoningTokens: 0,
    });
    expect(outcome.outputEstimated).toBe(false);
    expect(outcome.outputText).toBe("Hel");
  });

  it("reads 1-hour cache writes", async () => {
    const stream = CACHED_STREAM.replace(
      '"cache_creation":{"ephemeral_5m_input_tokens":1800,"ephemeral_1h_input_tokens":0}',
      '"cache_creation":{"ephemeral_5m_input_tokens":800,"ephemeral_1h_input_tokens":1000}',
    );
    const outcome = await relayFor(new Capture()).run(bodyOf(stream));

    expect(outcome.usage?.cacheWriteTokens).toBe(1800);
    expect(outcome.usage?.cacheWrite1hTokens).toBe(1000);
  });

  it("replaces cumulative output", async () => {
    const stream = CACHED_STREAM.replace(
      'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":310}}\n\n',
      'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":null,"stop_sequence":null},"usage":{"output_tokens":200}}\n\n' +
        'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":310}}\n\n',
    );
    const outcome = await relayFor(new Capture()).run(bodyOf(stream));

    expect(outcome.usage?.completionTokens).toBe(310);
  });

  it("takes later input figures", async () => {
    const stream = CACHED_STREAM.replace(
      '"usage":{"output_tokens":310}',
      '"usage":{"output_tokens":310,"input_tokens":50,"cache_read_input_tokens":9100,"cache_creation_input_tokens":null}',
    );
    const outcome = await relayFor(new Capture()).run(bodyOf(stream));

    expect(outcome.usage?.promptTokens).toBe(50 + 9100 + 1800);
    expect(outcome.usage?.cacheReadTokens).toBe(9100);
    expect(outcome.usage?.cacheWriteTokens).toBe(1800);
  });

  it("collects tool input as output", async () => {
    const capture = new Capture();
    const outcome = await relayFor(capture).run(bodyOf(TOOL_STREAM, 7));

    expect(outcome.finished).toBe(true);
    expect(outcome.usage?.promptTokens).toBe(377);
    expect(outcome.usage?.completionTokens).toBe(65);
    expect(outcome.outputText).toContain('{"location": "Paris"}');
    expect(outcome.outputText).toContain("get_weather");
    expect(capture.text).toBe(TOOL_STREAM);
  });

  it("reframes CRLF and comments", async () => {
    const noisy = `: keep-alive\r\n\r\n${CACHED_STREAM.replace(/\n/g, "\r\n")}`;
    const capture = new Capture();
    const outcome = await relayFor(capture).run(bodyOf(noisy, 5));

    expect(outcome.finished).toBe(true);
    expect(capture.text).toBe(CACHED_STREAM);
  });

  it("passes an error event scrubbed", async () => {
    const cut = CACHED_STREAM.indexOf("event: content_block_stop");
    const stream =
      CACHED_STREAM.slice(0, cut) +
      `event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded for ${KEY}"}}\n\n`;
    const capture = new Capture();
    const outcome = await relayFor(capture).run(bodyOf(stream));

    expect(outcome.finished).toBe(false);
    expect(outcome.errorClass).toBe("upstream_error_event");
    expect(outcome.sawOutput).toBe(true);
    expect(capture.text).not.toContain(KEY);
    const last = eventsOf(capture.text).at(-1)!;
    expect(last.event).toBe("error");
    expect(JSON.parse(last.data)).toEqual({
      type: "error",
      error: { type: "overloaded_error", message: "Overloaded for [redacted]" },
    });
  });

  it("estimates output of a stream without message_stop", async () => {
    const cut = CACHED_STREAM.indexOf("event: content_block_stop");
    const outcome = await relayFor(new Capture()).run(
      bodyOf(CACHED_STREAM.slice(0, cut)),
    );

    expect(outcome.finished).toBe(false);
    expect(outcome.errorClass).toBe("upstream_stream_broken");
    expect(outcome.usage?.promptTokens).toBe(10_840);
    expect(outcome.usage?.completionTokens).toBe("Hel".length);
    expect(outcome.outputEstimated).toBe(true);
  });

  it("keeps reported output when message_stop is missing", async () => {
    const stream = CACHED_STREAM.replace(
      'event: message_stop\ndata: {"type":"message_stop"}\n\n',
      "",
    );
    const outcome = await relayFor(new Capture()).run(bodyOf(stream));

    expect(outcome.finished).toBe(false);
    expect(outcome.errorClass).toBe("upstream_stream_broken");
    expect(outcome.usage?.completionTokens).toBe(310);
    expect(outcome.outputEstimated).toBe(false);
  });

  it("reports a broken body", async () => {
    const failure = Object.assign(new Error("other side closed"), {
      code: "UND_ERR_SOCKET",
    });
    const outcome = await relayFor(new Capture()).run(
      bodyOf(CACHED_STREAM.slice(0, 600), undefined, failure),
    );

    expect(outcome.errorClass).toBe("upstream_stream_broken");
    expect(outcome.usage?.promptTokens).toBe(10_840);
  });

  it("reports a client hang-up", async () => {
    const controller = new AbortController();
    const capture = new Capture();
    async function* body(): AsyncGenerator<Buffer> {
      yield Buffer.from(CACHED_STREAM.slice(0, 600));
      controller.abort(new Error("client closed the connection"));
      throw new Error("aborted");
    }
    const outcome = await relayFor(capture, controller.signal).run(body());

    expect(outcome.errorClass).toBe("client_closed");
  });

  it("reports a shutdown", async () => {
    const controller = new AbortController();
    async function* body(): AsyncGenerator<Buffer> {
      yield Buffer.from(CACHED_STREAM.slice(0, 600));
      controller.abort(new Error(SHUTDOWN_REASON));
      throw new Error("aborted");
    }
    const outcome = await relayFor(new Capture(), controller.signal).run(
      body(),
    );

    expect(outcome.errorClass).toBe("shutdown");
  });

  it("ignores events after message_stop", async () => {
    const capture = new Capture();
    const outcome = await relayFor(capture).run(
      bodyOf(`${CACHED_STREAM}event: ping\ndata: {"type": "ping"}\n\n`),
    );

    expect(outcome.finished).toBe(true);
    expect(capture.text).toBe(CACHED_STREAM);
  });
});
