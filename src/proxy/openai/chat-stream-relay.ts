import { ServerResponse } from "node:http";

import { TokenUsage } from "../../billing/usage";
import { abortClass, classifyBodyError } from "../abort-reasons";
import { SseEvent, SseParser } from "../sse/sse-parser";
import { parseOpenAiUsage } from "./openai-usage";
import { scrubSecretDeep } from "./upstream-errors";

/** Outcome of a relayed stream, as the proxy saw it. */
export interface RelayOutcome {
  /**
   * True when the provider sent `[DONE]` with no error before it, or closed the body cleanly after a
   * `finish_reason`. Some OpenAI-compatible providers omit `[DONE]`, so the proxy then sends it to the client.
   */
  finished: boolean;
  /** The last usage snapshot the provider sent; usage values are cumulative, so later ones replace earlier. */
  usage: TokenUsage | null;
  /** Text of every delta (content, reasoning, refusals, tool arguments), for estimating unreported output. */
  outputText: string;
  sawOutput: boolean;
  /** `performance.now()` when the first output delta arrived. */
  firstOutputAt: number | null;
  /** Why the stream did not finish: `upstream_error_event`, `upstream_stream_broken`, `client_closed`, ... */
  errorClass: string | null;
  /**
   * True when `usage` holds reported input but estimated output, as when an Anthropic stream broke off after
   * `message_start` and before any `message_delta`; the record then says the usage is estimated.
   */
  outputEstimated?: boolean;
}

interface ChunkChoice {
  finish_reason?: unknown;
  delta?: {
    content?: unknown;
    reasoning_content?: unknown;
    reasoning?: unknown;
    refusal?: unknown;
    tool_calls?: { function?: { name?: unknown; arguments?: unknown } }[];
    function_call?: { name?: unknown; arguments?: unknown };
  };
}

export interface Chunk {
  choices?: ChunkChoice[];
  usage?: unknown;
  error?: unknown;
}

/**
 * Relays an OpenAI-format SSE stream from a provider to a client, event by event. Each event is framed anew, so
 * split reads, comments, keep-alives and the provider's line endings never reach the client. Usage and output
 * are recorded as they pass. When the client did not request usage, the usage the proxy requested for itself is
 * dropped.
 */
export class ChatStreamRelay {
  private readonly parser = new SseParser();
  protected readonly output: string[] = [];
  protected sawFinishReason = false;
  protected readonly outcome: RelayOutcome = {
    finished: false,
    usage: null,
    outputText: "",
    sawOutput: false,
    firstOutputAt: null,
    errorClass: null,
  };

  constructor(
    private readonly client: ServerResponse,
    private readonly clientWantsUsage: boolean,
    private readonly signal: AbortSignal,
    /** The provider key, scrubbed from error events before they are passed on. */
    private readonly providerKey: string,
  ) {}

  /** Reads the provider's body to its end, or until the client leaves or the body fails. */
  async run(body: AsyncIterable<Buffer>): Promise<RelayOutcome> {
    try {
      for await (const chunk of body) {
        // Reading on after [DONE] lets the connection return to the pool instead of being torn down.
        for (const event of this.parser.push(chunk)) {
          await this.handle(event);
        }
      }
      for (const event of this.parser.end()) {
        await this.handle(event);
      }
      if (!this.outcome.finished && this.outcome.errorClass === null) {
        await this.endWithoutDone();
      }
    } catch (error) {
      this.outcome.errorClass ??= this.signal.aborted
        ? abortClass(this.signal)
        : classifyBodyError(error);
    }

    this.outcome.outputText = this.output.join("");
    return this.outcome;
  }

  private async handle(event: SseEvent): Promise<void> {
    if (this.outcome.finished) {
      return;
    }
    if (event.data === "[DONE]") {
      this.outcome.finished = this.outcome.errorClass === null;
      await this.write("data: [DONE]\n\n");
      return;
    }

    const chunk = parseChunk(event.data);
    if (chunk === null) {
      return;
    }

    if (chunk.error !== undefined || event.event === "error") {
      this.outcome.errorClass ??= "upstream_error_event";
      const safe = JSON.stringify(scrubSecretDeep(chunk, this.providerKey));
      await this.write(frame(event.event, safe));
      return;
    }

    this.collectOutput(chunk);
    await this.write(frame(event.event, this.clientView(chunk, event.data)));
  }

  /** Returns the data to send the client, or null to send nothing. */
  private clientView(chunk: Chunk, data: string): string | null {
    if (chunk.usage === undefined || chunk.usage === null) {
      return data;
    }

    this.outcome.usage = parseOpenAiUsage(chunk.usage) ?? this.outcome.usage;
    if (this.clientWantsUsage) {
      return data;
    }
    if (!Array.isArray(chunk.choices) || chunk.choices.length === 0) {
      return null;
    }

    const withoutUsage: Chunk = { ...chunk };
    delete withoutUsage.usage;
    return JSON.stringify(withoutUsage);
  }

  /** Ends a stream whose body closed without `[DONE]`: complete after a finish reason, else broken off. */
  private async endWithoutDone(): Promise<void> {
    if (!this.sawFinishReason) {
      this.outcome.errorClass = "upstream_stream_broken";
      return;
    }

    this.outcome.finished = true;
    await this.write("data: [DONE]\n\n");
  }

  protected collectOutput(chunk: Chunk): void {
    if (!Array.isArray(chunk.choices)) {
      return;
    }

    for (const choice of chunk.choices) {
      if (typeof choice?.finish_reason === "string") {
        this.sawFinishReason = true;
      }
      const delta = choice?.delta;
      if (!delta) {
        continue;
      }
      const before = this.output.length;
      pushText(
        this.output,
        delta.content,
        delta.reasoning_content,
        delta.reasoning,
        delta.refusal,
      );
      for (const call of delta.tool_calls ?? []) {
        pushText(this.output, call.function?.name, call.function?.arguments);
      }
      pushText(
        this.output,
        delta.function_call?.name,
        delta.function_call?.arguments,
      );

      if (this.output.length > before && !this.outcome.sawOutput) {
        this.outcome.sawOutput = true;
        this.outcome.firstOutputAt = performance.now();
      }
    }
  }

  /** Writes to the client, waiting while its socket buffer is full; gives up once the client is gone. */
  private write(text: string | null): Promise<void> {
    return writeToClient(this.client, this.signal, text);
  }
}

export function frame(
  eventName: string | undefined,
  data: string | null,
): string | null {
  if (data === null) {
    return null;
  }
  const prefix = eventName ? `event: ${eventName}\n` : "";
  return `${prefix}data: ${data}\n\n`;
}

/** Parses an event's JSON; empty or non-JSON payloads (keep-alives from some gateways) yield null. */
function parseChunk(data: string): Chunk | null {
  if (data.trim() === "") {
    return null;
  }
  try {
    const value: unknown = JSON.parse(data);
    return typeof value === "object" && value !== null ? value : null;
  } catch {
    return null;
  }
}

export function pushText(output: string[], ...values: unknown[]): void {
  for (const value of values) {
    if (typeof value === "string" && value.length > 0) {
      output.push(value);
    }
  }
}

/** Shared with the other relays, which import them from here. */
export { abortClass, classifyBodyError };

/** Writes to a client, waiting while its socket buffer is full; gives up once the client is gone or the call aborted. */
export async function writeToClient(
  client: ServerResponse,
  signal: AbortSignal,
  text: string | null,
): Promise<void> {
  if (text === null || client.destroyed || signal.aborted) {
    return;
  }
  if (client.write(text)) {
    return;
  }

  await new Promise<void>((resolve) => {
    const done = () => {
      client.off("drain", done);
      signal.removeEventListener("abort", done);
      resolve();
    };
    client.once("drain", done);
    signal.addEventListener("abort", done, { once: true });
  });
}
