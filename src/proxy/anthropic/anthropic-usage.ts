import { TokenUsage } from "../../billing/usage";
import { MAX_REPORTED_TOKENS } from "../openai/openai-usage";
import { CacheTtl } from "./messages-request";

/** Input-side counters of an Anthropic `usage` object, which a `message_delta` may repeat with new totals. */
const OVERWRITABLE_FIELDS = [
  "input_tokens",
  "output_tokens",
  "cache_creation_input_tokens",
  "cache_read_input_tokens",
  "cache_creation",
  "server_tool_use",
  "output_tokens_details",
  "service_tier",
] as const;

/**
 * Reads an Anthropic `usage` object into the proxy's counts, which follow OpenAI's convention: `promptTokens` is
 * the total input (`input_tokens` + cache reads + cache writes), because Anthropic's `input_tokens` excludes both.
 * Returns null when the report cannot be billed from: `input_tokens` and `output_tokens` must be whole numbers
 * from 0 to {@link MAX_REPORTED_TOKENS}, and so must the total input. Cache counters that are missing, null or
 * invalid count as zero.
 *
 * One-hour cache writes come from `cache_creation.ephemeral_1h_input_tokens`. When a reply has no
 * `cache_creation` breakdown, every write is billed at `fallbackTtl`, the lifetime the request asked for.
 * Thinking tokens are part of `output_tokens` and billed at the output price, so `reasoningTokens` is 0.
 */
export function parseAnthropicUsage(
  usage: unknown,
  fallbackTtl: CacheTtl = "5m",
): TokenUsage | null {
  if (typeof usage !== "object" || usage === null) {
    return null;
  }

  const root = usage as Record<string, unknown>;
  if (!isCount(root.input_tokens) || !isCount(root.output_tokens)) {
    return null;
  }

  const cacheReadTokens = count(root.cache_read_input_tokens);
  const cacheWriteTokens = count(root.cache_creation_input_tokens);
  const promptTokens = root.input_tokens + cacheReadTokens + cacheWriteTokens;
  if (promptTokens > MAX_REPORTED_TOKENS) {
    return null;
  }

  return {
    promptTokens,
    completionTokens: root.output_tokens,
    cacheReadTokens,
    cacheWriteTokens,
    cacheWrite1hTokens: oneHourWrites(root, cacheWriteTokens, fallbackTtl),
    reasoningTokens: 0,
  };
}

function oneHourWrites(
  root: Record<string, unknown>,
  cacheWriteTokens: number,
  fallbackTtl: CacheTtl,
): number {
  const breakdown = root.cache_creation;
  if (typeof breakdown !== "object" || breakdown === null) {
    return fallbackTtl === "1h" ? cacheWriteTokens : 0;
  }

  const oneHour = count(
    (breakdown as Record<string, unknown>).ephemeral_1h_input_tokens,
  );
  return Math.min(oneHour, cacheWriteTokens);
}

/**
 * Merges the `usage` of a `message_delta` into the usage gathered so far. Anthropic's stream counters are
 * cumulative totals, so each non-null field of the later report replaces the earlier value and nothing is added.
 * The `cache_creation` breakdown is only sent in `message_start` and stays as it was unless a delta repeats it.
 */
export function mergeAnthropicUsage(
  current: Record<string, unknown> | null,
  update: unknown,
): Record<string, unknown> | null {
  if (typeof update !== "object" || update === null) {
    return current;
  }

  const merged: Record<string, unknown> = { ...(current ?? {}) };
  const fields = update as Record<string, unknown>;
  for (const key of OVERWRITABLE_FIELDS) {
    if (fields[key] !== undefined && fields[key] !== null) {
      merged[key] = fields[key];
    }
  }
  return merged;
}

/**
 * Builds an Anthropic `usage` object from the proxy's counts, for answers translated from another provider.
 * `input_tokens` excludes cache reads and writes, as Anthropic reports it.
 */
export function toAnthropicUsage(usage: TokenUsage): Record<string, unknown> {
  const cacheRead = Math.min(usage.cacheReadTokens, usage.promptTokens);
  const cacheWrite = Math.min(
    usage.cacheWriteTokens,
    usage.promptTokens - cacheRead,
  );
  const cacheWrite1h = Math.min(usage.cacheWrite1hTokens, cacheWrite);

  return {
    input_tokens: usage.promptTokens - cacheRead - cacheWrite,
    cache_creation_input_tokens: cacheWrite,
    cache_read_input_tokens: cacheRead,
    cache_creation: {
      ephemeral_5m_input_tokens: cacheWrite - cacheWrite1h,
      ephemeral_1h_input_tokens: cacheWrite1h,
    },
    output_tokens: usage.completionTokens,
  };
}

function isCount(value: unknown): value is number {
  return (
    typeof value === "number" &&
    Number.isInteger(value) &&
    value >= 0 &&
    value <= MAX_REPORTED_TOKENS
  );
}

/** A cache counter; anything but a valid count (null, missing, negative, fractional, text) counts as zero. */
function count(value: unknown): number {
  return isCount(value) ? value : 0;
}
