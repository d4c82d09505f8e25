import { costOf, Nanos } from "./money";
import { ModelPrices, TokenUsage } from "./usage";

/**
 * Prices a request by the configured model. Cached and cache-written tokens are parts of the prompt, so only the
 * remainder is billed at the input price; reasoning tokens are part of the completion and are billed apart only
 * when the model has a reasoning price.
 */
export function priceUsage(usage: TokenUsage, prices: ModelPrices): Nanos {
  // Counts a provider reports inconsistently (more cached than prompt tokens) are clamped so that no token is
  // billed twice and the cost stays within worstCaseCost of the same totals.
  const cacheRead = Math.min(usage.cacheReadTokens, usage.promptTokens);
  const cacheWrite = Math.min(
    usage.cacheWriteTokens,
    usage.promptTokens - cacheRead,
  );
  const cacheWrite1h = Math.min(usage.cacheWrite1hTokens, cacheWrite);
  const cacheWrite5m = cacheWrite - cacheWrite1h;
  const uncachedInput = usage.promptTokens - cacheRead - cacheWrite;
  const reasoning =
    prices.reasoningPrice === null
      ? 0
      : Math.min(usage.reasoningTokens, usage.completionTokens);

  return costOf([
    { tokens: uncachedInput, pricePerMillion: prices.inputPrice },
    { tokens: cacheRead, pricePerMillion: prices.cacheReadPrice },
    { tokens: cacheWrite5m, pricePerMillion: prices.cacheWritePrice },
    { tokens: cacheWrite1h, pricePerMillion: prices.cacheWrite1hPrice },
    {
      tokens: usage.completionTokens - reasoning,
      pricePerMillion: prices.outputPrice,
    },
    { tokens: reasoning, pricePerMillion: prices.reasoningPrice ?? 0n },
  ]);
}

/**
 * The most a request can cost when its input has at most `inputTokens` tokens and its output at most
 * `outputTokens`: every input token at the dearest input-side price, every output token at the dearest
 * output-side price. Never less than {@link priceUsage} of any usage within those bounds.
 */
export function worstCaseCost(
  inputTokens: number,
  outputTokens: number,
  prices: ModelPrices,
): Nanos {
  const input = [
    prices.inputPrice,
    prices.cacheReadPrice,
    prices.cacheWritePrice,
    prices.cacheWrite1hPrice,
  ];
  const output = [prices.outputPrice, prices.reasoningPrice ?? 0n];

  return costOf([
    { tokens: inputTokens, pricePerMillion: maxOf(input) },
    { tokens: outputTokens, pricePerMillion: maxOf(output) },
  ]);
}

function maxOf(values: Nanos[]): Nanos {
  return values.reduce((max, value) => (value > max ? value : max), 0n);
}
