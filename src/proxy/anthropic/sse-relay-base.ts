import { ServerResponse } from "node:http";

import { abortClass, classifyBodyError } from "../abort-reasons";
import { StreamRelay } from "../endpoint";
import { RelayOutcome } from "../openai/chat-stream-relay";
import { SseEvent, SseParser } from "../sse/sse-parser";

/**
 * A relay's outcome with one fact more: whether `usage.completionTokens` is an estimate. An Anthropic stream that
 * broke off before its `message_delta` reported only a placeholder output count in `message_start`. The relay
 * then raises that count to its estimate of the text seen, and settlement should record the usage as estimated.
 */
export interface MeteredRelayOutcome extends RelayOutcome {
  outputEstimated: boolean;
}

/** Counts the tokens of generated text, for output the provider did not report. */
export type OutputCounter = (text: string) => number;

/**
 * The reading half of every relay in this folder: feeds the provider's bytes through an SSE parser, hands each
 * event to {@link handle}, writes to the client with back-pressure, and turns a client hang-up or a broken body
 * into the outcome's `errorClass`. Subclasses decide what each event means and what the client receives.
 */
export abstract class SseRelayBase implements StreamRelay {
  private readonly parser = new SseParser();
  private readonly output: string[] = [];
  protected readonly outcome: MeteredRelayOutcome = {
    finished: false,
    usage: null,
    outputText: "",
    sawOutput: false,
    firstOutputAt: null,
    errorClass: null,
    outputEstimated: false,
  };

  constructor(
    protected readonly client: ServerResponse,
    protected readonly signal: AbortSignal,
    /** The provider key, scrubbed from error events before they are passed on. */
    protected readonly providerKey: string,
  ) {}

  /** Reads the provider's body to its end, or until the client leaves or the body fails. Never throws. */
  async run(body: AsyncIterable<Buffer>): Promise<MeteredRelayOutcome> {
    try {
      for await (const chunk of body) {
        // Reading on after the last event lets the connection return to the pool instead of being torn down.
        for (const event of this.parser.push(chunk)) {
          await this.handle(event);
        }
      }
      for (const event of this.parser.end()) {
        await this.handle(event);
      }
      if (!this.outcome.finished && this.outcome.errorClass === null) {
        await this.endOfBody();
      }
    } catch (error) {
      this.outcome.errorClass ??= this.signal.aborted
        ? abortClass(this.signal)
        : classifyBodyError(error);
    }

    this.outcome.outputText = this.output.join("");
    this.settleUsage(this.outcome.outputText);
    return this.outcome;
  }

  /** Acts on one event of the provider's stream. */
  protected abstract handle(event: SseEvent): Promise<void>;

  /** Called when the body ended with neither a terminal event nor an error; may mark the stream finished. */
  protected abstract endOfBody(): Promise<void>;

  /** Sets the outcome's final usage once the body is read; `outputText` is all generated text seen. */
  protected abstract settleUsage(outputText: string): void;

  /** Records generated text for estimates, and the time of the first output. */
  protected collect(...values: unknown[]): void {
    for (const value of values) {
      if (typeof value !== "string" || value.length === 0) {
        continue;
      }
      this.output.push(value);
      if (!this.outcome.sawOutput) {
        this.outcome.sawOutput = true;
        this.outcome.firstOutputAt = performance.now();
      }
    }
  }

  /** Returns all generated text recorded so far. */
  protected collectedText(): string {
    return this.output.join("");
  }

  /** Writes to the client, waiting while its socket buffer is full; gives up once the client is gone. */
  protected async write(text: string | null): Promise<void> {
    if (text === null || this.client.destroyed || this.signal.aborted) {
      return;
    }
    if (this.client.write(text)) {
      return;
    }

    await new Promise<void>((resolve) => {
      const done = () => {
        this.client.off("drain", done);
        this.client.off("close", done);
        this.signal.removeEventListener("abort", done);
        resolve();
      };
      this.client.once("drain", done);
      this.client.once("close", done);
      this.signal.addEventListener("abort", done, { once: true });
    });
  }
}

/** Parses an event's JSON object; empty or non-JSON payloads (keep-alives from some gateways) yield null. */
export function parseEventData(data: string): Record<string, unknown> | null {
  if (data.trim() === "") {
    return null;
  }
  try {
    const value: unknown = JSON.parse(data);
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

/** Frames one Anthropic-style event: an `event:` line naming it, then its JSON. */
export function namedEvent(name: string, data: unknown): string {
  const text = typeof data === "string" ? data : JSON.stringify(data);
  return `event: ${name}\ndata: ${text}\n\n`;
}

/** Frames one OpenAI-style event: a `data:` line only. */
export function dataEvent(data: unknown): string {
  const text = typeof data === "string" ? data : JSON.stringify(data);
  return `data: ${text}\n\n`;
}
