import { TokenUsage } from "../../billing/usage";

/**
 * The largest token count one request may report. Token columns are 32-bit on PostgreSQL, and no model reads
 * or writes two billion tokens in one call, so a larger count is a broken report, not usage.
 */
export const MAX_REPORTED_TOKENS = 2 ** 31 - 1;

/**
 * Reads an OpenAI `usage` object (Chat Completions' CompletionUsage) into the proxy's counts, or null when the
 * report cannot be billed from: `prompt_tokens` and `completion_tokens` must both be whole numbers from 0 to
 * {@link MAX_REPORTED_TOKENS}, so the caller estimates instead of billing a broken report as zero. Detail
 * counters that are missing, null or invalid count as zero; DeepSeek's `prompt_cache_hit_tokens` stands in for
 * `cached_tokens` when that is absent.
 */
export function parseOpenAiUsage(usage: unknown): TokenUsage | null {
  if (typeof usage !== "object" || usage === null) {
    return null;
  }

  const root = usage as Record<string, unknown>;
  if (!isCount(root.prompt_tokens) || !isCount(root.completion_tokens)) {
    return null;
  }

  const promptDetails = objectAt(root, "prompt_tokens_details");
  const completionDetails = objectAt(root, "completion_tokens_details");
  const promptTokens = root.prompt_tokens;
  const completionTokens = root.completion_tokens;

  const cacheReadTokens = Math.min(
    promptTokens,
    count(promptDetails.cached_tokens ?? root.prompt_cache_hit_tokens),
  );

  return {
    promptTokens,
    completionTokens,
    cacheReadTokens,
    cacheWriteTokens: Math.min(
      promptTokens - cacheReadTokens,
      count(promptDetails.cache_write_tokens),
    ),
    cacheWrite1hTokens: 0,
    reasoningTokens: Math.min(
      completionTokens,
      count(completionDetails.reasoning_tokens),
    ),
  };
}

export function objectAt(
  root: Record<string, unknown>,
  key: string,
): Record<string, unknown> {
  const value = root[key];
  return typeof value === "object" && value !== null
    ? (value as Record<string, unknown>)
    : {};
}

export function isCount(value: unknown): value is number {
  return (
    typeof value === "number" &&
    Number.isInteger(value) &&
    value >= 0 &&
    value <= MAX_REPORTED_TOKENS
  );
}

/** A detail counter; anything but a valid count (null, missing, negative, fractional, text) counts as zero. */
export function count(value: unknown): number {
  return isCount(value) ? value : 0;
}
