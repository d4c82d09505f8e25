import { TokenUsage } from "../../billing/usage";
import { count, isCount, objectAt } from "./openai-usage";

/**
 * Reads a Responses API `usage` object (ResponseUsage) into the proxy's counts, or null when the report cannot
 * be billed from: `input_tokens` and `output_tokens` must both be whole numbers from 0 to 2³¹ − 1. Cached and
 * cache-write tokens are parts of `input_tokens`, and reasoning tokens are part of `output_tokens`, so each
 * detail is capped at its total. Missing, null or invalid details count as zero.
 */
export function parseResponsesUsage(usage: unknown): TokenUsage | null {
  if (typeof usage !== "object" || usage === null) {
    return null;
  }

  const root = usage as Record<string, unknown>;
  if (!isCount(root.input_tokens) || !isCount(root.output_tokens)) {
    return null;
  }

  const inputDetails = objectAt(root, "input_tokens_details");
  const outputDetails = objectAt(root, "output_tokens_details");
  const promptTokens = root.input_tokens;
  const completionTokens = root.output_tokens;
  const cacheReadTokens = Math.min(
    promptTokens,
    count(inputDetails.cached_tokens),
  );

  return {
    promptTokens,
    completionTokens,
    cacheReadTokens,
    cacheWriteTokens: Math.min(
      promptTokens - cacheReadTokens,
      count(inputDetails.cache_write_tokens),
    ),
    cacheWrite1hTokens: 0,
    reasoningTokens: Math.min(
      completionTokens,
      count(outputDetails.reasoning_tokens),
    ),
  };
}
