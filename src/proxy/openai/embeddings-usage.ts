import { NO_USAGE, TokenUsage } from "../../billing/usage";
import { isCount } from "./openai-usage";

/**
 * Reads an embeddings `usage` object (`prompt_tokens`, `total_tokens`) into the proxy's counts, or null when
 * `prompt_tokens` is not a whole number from 0 to 2³¹ − 1, so the caller estimates instead of billing a broken
 * report as zero. Embeddings generate no output tokens.
 */
export function parseEmbeddingsUsage(usage: unknown): TokenUsage | null {
  if (typeof usage !== "object" || usage === null) {
    return null;
  }

  const promptTokens = (usage as Record<string, unknown>).prompt_tokens;
  if (!isCount(promptTokens)) {
    return null;
  }

  return { ...NO_USAGE, promptTokens };
}
