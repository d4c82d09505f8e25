import { TokenUsage } from "../../billing/usage";
import { mergeAnthropicUsage, parseAnthropicUsage } from "./anthropic-usage";
import { CacheTtl } from "./messages-request";
import { OutputCounter } from "./sse-relay-base";

/** Usage of an Anthropic stream as far as it was read. */
export interface StreamUsage {
  usage: TokenUsage | null;
  /** True when the output count is not the provider's final figure (see `MeteredRelayOutcome`). */
  outputEstimated: boolean;
}

/**
 * Follows the usage of an Anthropic Messages stream: the input and cache counters of `message_start`, then the
 * cumulative totals of each `message_delta`, which replace what came before and are never added.
 */
export class AnthropicStreamMeter {
  private raw: Record<string, unknown> | null = null;
  private outputReported = false;

  constructor(private readonly fallbackTtl: CacheTtl = "5m") {}

  /** Reads the usage of one parsed stream event, if it carries any. */
  observe(event: Record<string, unknown>): void {
    if (event.type === "message_start") {
      const message = event.message as { usage?: unknown } | undefined;
      this.raw = mergeAnthropicUsage(null, message?.usage);
      return;
    }

    if (event.type === "message_delta") {
      const usage = event.usage as Record<string, unknown> | undefined;
      this.raw = mergeAnthropicUsage(this.raw, usage);
      if (typeof usage?.output_tokens === "number") {
        this.outputReported = true;
      }
    }
  }

  /**
   * The usage to bill. When no `message_delta` reported output, `message_start` holds only a placeholder output
   * count, so the count becomes the larger of that and `countOutput(outputText)` and is flagged as estimated.
   */
  result(outputText: string, countOutput?: OutputCounter): StreamUsage {
    const usage = parseAnthropicUsage(this.raw, this.fallbackTtl);
    if (usage === null || this.outputReported) {
      return { usage, outputEstimated: false };
    }

    const counted = countOutput ? countOutput(outputText) : 0;
    return {
      usage: {
        ...usage,
        completionTokens: Math.max(usage.completionTokens, counted),
      },
      outputEstimated: true,
    };
  }

  /** The merged raw usage object, in Anthropic's form, or null before `message_start`. */
  rawUsage(): Record<string, unknown> | null {
    return this.raw;
  }
}

/** Generated text carried by a `content_block_delta`: text, thinking and tool-input fragments. */
export function deltaText(event: Record<string, unknown>): string[] {
  const delta = event.delta as Record<string, unknown> | undefined;
  if (typeof delta !== "object" || delta === null) {
    return [];
  }

  const values = [delta.text, delta.thinking, delta.partial_json];
  return values.filter(
    (value): value is string => typeof value === "string" && value.length > 0,
  );
}
