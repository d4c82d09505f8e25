import {
  dataLines,
  providerBody,
  runRelay,
} from "../../../test/support/relay-harness";
import { CompletionsStreamRelay } from "./completions-stream-relay";

const KEY = "sk-provider-secret-123456";

function chunk(text: string | null, finishReason: string | null = null) {
  return {
    id: "cmpl-abc",
    object: "text_completion",
    created: 1760000000,
    model: "gpt-3.5-turbo-instruct",
    choices:
      text === null
        ? []
        : [{ text, index: 0, logprobs: null, finish_reason: finishReason }],
    usage: null,
  };
}

const USAGE = { prompt_tokens: 5, completion_tokens: 7, total_tokens: 12 };

function sse(...payloads: unknown[]): string[] {
  return payloads.map((payload) =>
    typeof payload === "string"
      ? `data: ${payload}\n\n`
      : `data: ${JSON.stringify(payload)}\n\n`,
  );
}

function relay(clientWantsUsage: boolean) {
  return (client: import("node:http").ServerResponse, signal: AbortSignal) =>
    new CompletionsStreamRelay(client, clientWantsUsage, signal, KEY);
}

describe("CompletionsStreamRelay", () => {
  const stream = sse(
    chunk("Hel"),
    chunk("lo"),
    chunk("", "stop"),
    { ...chunk(null), usage: USAGE },
    "[DONE]",
  );

  it("relays text and drops unrequested usage", async () => {
    const { outcome, received } = await runRelay(
      relay(false),
      providerBody(stream),
    );

    const lines = dataLines(received);
    expect(lines).toHaveLength(4);
    expect(lines[3]).toBe("[DONE]");
    expect(received).not.toContain("prompt_tokens");
    expect(JSON.parse(lines[0]).choices[0].text).toBe("Hel");
    expect(outcome.finished).toBe(true);
    expect(outcome.errorClass).toBeNull();
    expect(outcome.outputText).toBe("Hello");
    expect(outcome.sawOutput).toBe(true);
    expect(outcome.usage?.promptTokens).toBe(5);
    expect(outcome.usage?.completionTokens).toBe(7);
  });

  it("keeps requested usage chunk", async () => {
    const { outcome, received } = await runRelay(
      relay(true),
      providerBody(stream),
    );

    const lines = dataLines(received);
    expect(lines).toHaveLength(5);
    expect(JSON.parse(lines[3]).usage).toEqual(USAGE);
    expect(outcome.usage?.completionTokens).toBe(7);
  });

  it("adds done after finish without it", async () => {
    const { outcome, received } = await runRelay(
      relay(false),
      providerBody(stream.slice(0, 4)),
    );

    expect(dataLines(received).at(-1)).toBe("[DONE]");
    expect(outcome.finished).toBe(true);
  });

  it("scrubs key from error event", async () => {
    const error = {
      error: {
        message: `Key ${KEY} was rejected`,
        type: "server_error",
        param: null,
        code: null,
      },
    };
    const { outcome, received } = await runRelay(
      relay(false),
      providerBody(sse(chunk("Hi"), error, "[DONE]")),
    );

    expect(received).not.toContain(KEY);
    expect(received).toContain("Key [redacted] was rejected");
    expect(outcome.finished).toBe(false);
    expect(outcome.errorClass).toBe("upstream_error_event");
  });

  it("marks broken body after output", async () => {
    const { outcome } = await runRelay(
      relay(false),
      providerBody(sse(chunk("Hi")), { failWith: new Error("socket hang up") }),
    );

    expect(outcome.finished).toBe(false);
    expect(outcome.errorClass).toBe("upstream_stream_broken");
    expect(outcome.sawOutput).toBe(true);
    expect(outcome.outputText).toBe("Hi");
  });

  it("marks body ending without finish", async () => {
    const { outcome } = await runRelay(
      relay(false),
      providerBody(sse(chunk("Hi"))),
    );

    expect(outcome.finished).toBe(false);
    expect(outcome.errorClass).toBe("upstream_stream_broken");
  });

  it("notices client hang-up", async () => {
    const { outcome } = await runRelay(
      relay(false),
      providerBody(sse(chunk("first"), chunk("second"), chunk("third")), {
        waitBeforeEachMs: 50,
      }),
      { hangUpAfter: "first" },
    );

    expect(outcome.finished).toBe(false);
    expect(outcome.errorClass).toBe("client_closed");
    expect(outcome.sawOutput).toBe(true);
  });
});
