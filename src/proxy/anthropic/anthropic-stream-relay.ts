import { ServerResponse } from "node:http";

import { scrubSecretDeep } from "../openai/upstream-errors";
import { SseEvent } from "../sse/sse-parser";
import { AnthropicStreamMeter, deltaText } from "./anthropic-stream-meter";
import { CacheTtl } from "./messages-request";
import {
  namedEvent,
  OutputCounter,
  parseEventData,
  SseRelayBase,
} from "./sse-relay-base";

/** Options of {@link AnthropicStreamRelay}. */
export interface AnthropicRelayOptions {
  /** Lifetime to bill cache writes at when the stream gives no per-lifetime breakdown. */
  cacheTtl?: CacheTtl;
  /** Counts output tokens of the text seen when the stream broke off before reporting them. */
  countOutput?: OutputCounter;
}

/**
 * Relays an Anthropic Messages stream from a provider to an Anthropic client, event by event. Each event is
 * framed anew (`event:` line, then `data:`), so split reads, comments and the provider's line endings never
 * reach the client. The stream is finished at `message_stop`; an `error` event is terminal and passed on with the
 * provider key scrubbed. Usage comes from `message_start` and the cumulative totals of `message_delta`.
 */
export class AnthropicStreamRelay extends SseRelayBase {
  private readonly meter: AnthropicStreamMeter;

  constructor(
    client: ServerResponse,
    signal: AbortSignal,
    providerKey: string,
    private readonly options: AnthropicRelayOptions = {},
  ) {
    super(client, signal, providerKey);
    this.meter = new AnthropicStreamMeter(options.cacheTtl);
  }

  protected async handle(event: SseEvent): Promise<void> {
    if (this.outcome.finished || this.outcome.errorClass !== null) {
      return;
    }

    const data = parseEventData(event.data);
    if (data === null) {
      return;
    }
    const name = event.event ?? stringOr(data.type, "message");

    if (name === "error" || data.type === "error") {
      this.outcome.errorClass = "upstream_error_event";
      await this.write(
        namedEvent("error", scrubSecretDeep(data, this.providerKey)),
      );
      return;
    }

    this.meter.observe(data);
    this.collectOutput(data);
    await this.write(namedEvent(name, singleLine(event.data, data)));

    if (data.type === "message_stop") {
      this.outcome.finished = true;
    }
  }

  protected async endOfBody(): Promise<void> {
    this.outcome.errorClass = "upstream_stream_broken";
  }

  protected settleUsage(outputText: string): void {
    const { usage, outputEstimated } = this.meter.result(
      outputText,
      this.options.countOutput,
    );
    this.outcome.usage = usage;
    this.outcome.outputEstimated = outputEstimated;
  }

  private collectOutput(data: Record<string, unknown>): void {
    if (data.type === "content_block_delta") {
      this.collect(...deltaText(data));
    } else if (data.type === "content_block_start") {
      const block = data.content_block as Record<string, unknown> | undefined;
      this.collect(block?.text, block?.thinking, block?.name);
    }
  }
}

/** The event's JSON as the provider wrote it, or re-serialized when it spans several `data:` lines. */
function singleLine(text: string, parsed: unknown): string {
  return /[\r\n]/.test(text) ? JSON.stringify(parsed) : text.trim();
}

function stringOr(value: unknown, fallback: string): string {
  return typeof value === "string" && value !== "" ? value : fallback;
}
