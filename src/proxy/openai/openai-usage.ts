import { TokenUsage } from "../../billing/usage";

/**
 * Reads an OpenAI `usage` object (Chat Completions' CompletionUsage) into the proxy's counts. Missing or null
 * counters are zero; DeepSeek's `prompt_cache_hit_tokens` stands in for `cached_tokens` when that is absent.
 */
export function parseOpenAiUsage(usage: unknown): TokenUsage | null {
  if (typeof usage !== "object" || usage === null) {
    return null;
  }

  const root = usage as Record<string, unknown>;
  const promptDetails = objectAt(root, "prompt_tokens_details");
  const completionDetails = objectAt(root, "completion_tokens_details");
  const promptTokens = count(root.prompt_tokens);
  const completionTokens = count(root.completion_tokens);

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

function objectAt(
  root: Record<string, unknown>,
  key: string,
): Record<string, unknown> {
  const value = root[key];
  return typeof value === "object" && value !== null
    ? (value as Record<string, unknown>)
    : {};
}

/** A non-negative whole counter; anything else (null, missing, negative, fractional, text) counts as zero. */
function count(value: unknown): number {
  return typeof value === "number" && Number.isSafeInteger(value) && value > 0
    ? value
    : 0;
}
