import { ServerResponse } from "node:http";

import { providerBody, runRelay } from "../../../test/support/relay-harness";
import { SseParser } from "../sse/sse-parser";
import { ResponsesStreamRelay } from "./responses-stream-relay";

const KEY = "sk-provider-secret-123456";

const USAGE = {
  input_tokens: 3000,
  input_tokens_details: { cached_tokens: 2048 },
  output_tokens: 600,
  output_tokens_details: { reasoning_tokens: 448 },
  total_tokens: 3600,
};

let sequence = 0;

/** Frames one Responses API event as OpenAI does: `event:` line, `data:` with the same `type`. */
function event(type: string, fields: Record<string, unknown> = {}): string {
  const data = { type, sequence_number: sequence++, ...fields };
  return `event: ${type}\ndata: ${JSON.stringify(data)}\n\n`;
}

function response(status: string, usage: unknown, extra = {}) {
  return {
    response: {
      id: "resp_1",
      object: "response",
      status,
      usage,
      output: [],
      ...extra,
    },
  };
}

/** The events of one reply: a reasoning summary, a function call's arguments and a text message. */
function body(terminal: string[]): string[] {
  sequence = 0;
  return [
    event("response.created", response("in_progress", null)),
    event("response.in_progress", response("in_progress", null)),
    event("response.reasoning_summary_text.delta", {
      item_id: "rs_1",
      output_index: 0,
      summary_index: 0,
      delta: "Think ",
    }),
    event("response.output_item.added", {
      output_index: 1,
      item: { type: "function_call", id: "fc_1", name: "lookup" },
    }),
    event("response.function_call_arguments.delta", {
      item_id: "fc_1",
      output_index: 1,
      delta: '{"q":1}',
    }),
    event("response.output_text.delta", {
      item_id: "msg_1",
      output_index: 2,
      content_index: 0,
      delta: "Hello",
    }),
    event("response.output_text.done", {
      item_id: "msg_1",
      output_index: 2,
      content_index: 0,
      text: "Hello",
    }),
    ...terminal,
  ];
}

function relay(client: ServerResponse, signal: AbortSignal) {
  return new ResponsesStreamRelay(client, signal, KEY);
}

function typesOf(received: string): string[] {
  const parser = new SseParser();
  return [...parser.push(Buffer.from(received)), ...parser.end()].map(
    (parsed) => parsed.event ?? "",
  );
}

describe("ResponsesStreamRelay", () => {
  it("relays completed stream with usage", async () => {
    const pieces = body([
      event("response.completed", response("completed", USAGE)),
    ]);

    const { outcome, received } = await runRelay(relay, providerBody(pieces));

    expect(received).toBe(pieces.join(""));
    expect(received).not.toContain("[DONE]");
    expect(outcome.finished).toBe(true);
    expect(outcome.errorClass).toBeNull();
    expect(outcome.usage).toEqual({
      promptTokens: 3000,
      completionTokens: 600,
      cacheReadTokens: 2048,
      cacheWriteTokens: 0,
      cacheWrite1hTokens: 0,
      reasoningTokens: 448,
    });
    expect(outcome.outputText).toBe('Think lookup{"q":1}Hello');
    expect(outcome.sawOutput).toBe(true);
    expect(outcome.firstOutputAt).not.toBeNull();
  });

  it("finishes incomplete stream with usage", async () => {
    const pieces = body([
      event(
        "response.incomplete",
        response("incomplete", USAGE, {
          incomplete_details: { reason: "max_output_tokens" },
        }),
      ),
    ]);

    const { outcome, received } = await runRelay(relay, providerBody(pieces));

    expect(typesOf(received).at(-1)).toBe("response.incomplete");
    expect(outcome.finished).toBe(true);
    expect(outcome.errorClass).toBeNull();
    expect(outcome.usage?.completionTokens).toBe(600);
  });

  it("charges failed stream and scrubs key", async () => {
    const pieces = body([
      event(
        "response.failed",
        response("failed", USAGE, {
          error: { code: "server_error", message: `bad key ${KEY}` },
        }),
      ),
    ]);

    const { outcome, received } = await runRelay(relay, providerBody(pieces));

    expect(received).not.toContain(KEY);
    expect(received).toContain("bad key [redacted]");
    expect(typesOf(received).at(-1)).toBe("response.failed");
    expect(outcome.finished).toBe(false);
    expect(outcome.errorClass).toBe("response_failed");
    expect(outcome.usage?.promptTokens).toBe(3000);
  });

  it("passes on scrubbed error event", async () => {
    sequence = 0;
    const pieces = [
      event("response.created", response("in_progress", null)),
      event("response.output_text.delta", { delta: "Hi" }),
      event("error", {
        code: "server_error",
        message: `The key ${KEY} failed`,
        param: null,
      }),
    ];

    const { outcome, received } = await runRelay(relay, providerBody(pieces));

    expect(received).not.toContain(KEY);
    expect(received).toContain("The key [redacted] failed");
    expect(typesOf(received)).toEqual([
      "response.created",
      "response.output_text.delta",
      "error",
    ]);
    expect(outcome.finished).toBe(false);
    expect(outcome.errorClass).toBe("upstream_error_event");
    expect(outcome.usage).toBeNull();
  });

  it("reads usage of failed event after error", async () => {
    const pieces = body([
      event("error", { code: "server_error", message: "boom", param: null }),
      event("response.failed", response("failed", USAGE)),
    ]);

    const { outcome } = await runRelay(relay, providerBody(pieces));

    expect(outcome.errorClass).toBe("upstream_error_event");
    expect(outcome.usage?.reasoningTokens).toBe(448);
  });

  it("ignores events after terminal event", async () => {
    const pieces = body([
      event("response.completed", response("completed", USAGE)),
      event("response.output_text.delta", { delta: "late" }),
    ]);

    const { outcome, received } = await runRelay(relay, providerBody(pieces));

    expect(received).not.toContain("late");
    expect(outcome.outputText).not.toContain("late");
    expect(outcome.finished).toBe(true);
  });

  it("skips comments and keep-alives", async () => {
    const pieces = body([
      ": ping\n\n",
      "data: \n\n",
      event("response.completed", response("completed", USAGE)),
    ]);

    const { outcome, received } = await runRelay(relay, providerBody(pieces));

    expect(received).not.toContain("ping");
    expect(received).not.toContain("data: \n");
    expect(outcome.finished).toBe(true);
  });

  it("marks stream without terminal event", async () => {
    const { outcome } = await runRelay(relay, providerBody(body([])));

    expect(outcome.finished).toBe(false);
    expect(outcome.errorClass).toBe("upstream_stream_broken");
    expect(outcome.usage).toBeNull();
    expect(outcome.sawOutput).toBe(true);
  });

  it("marks broken body", async () => {
    const { outcome } = await runRelay(
      relay,
      providerBody(body([]), { failWith: new Error("socket hang up") }),
    );

    expect(outcome.errorClass).toBe("upstream_stream_broken");
    expect(outcome.outputText).toBe('Think lookup{"q":1}Hello');
  });

  it("notices client hang-up", async () => {
    const { outcome } = await runRelay(
      relay,
      providerBody(body([]), { waitBeforeEachMs: 30 }),
      { hangUpAfter: "response.in_progress" },
    );

    expect(outcome.finished).toBe(false);
    expect(outcome.errorClass).toBe("client_closed");
  });
});
