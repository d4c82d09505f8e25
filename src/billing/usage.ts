import { Nanos } from "./money";

/**
 * Token counts of one request in OpenAI's convention: `promptTokens` includes the cache-read and cache-write
 * tokens, and `completionTokens` includes the reasoning tokens.
 */
export interface TokenUsage {
  promptTokens: number;
  completionTokens: number;
  cacheReadTokens: number;
  /** All cache-write tokens, whatever their lifetime. */
  cacheWriteTokens: number;
  /** The part of `cacheWriteTokens` written with a one hour lifetime. */
  cacheWrite1hTokens: number;
  reasoningTokens: number;
}

export const NO_USAGE: Readonly<TokenUsage> = Object.freeze({
  promptTokens: 0,
  completionTokens: 0,
  cacheReadTokens: 0,
  cacheWriteTokens: 0,
  cacheWrite1hTokens: 0,
  reasoningTokens: 0,
});

/** Prices of one configured model, in nano-dollars per million tokens. */
export interface ModelPrices {
  inputPrice: Nanos;
  outputPrice: Nanos;
  cacheReadPrice: Nanos;
  cacheWritePrice: Nanos;
  cacheWrite1hPrice: Nanos;
  /** Null bills reasoning tokens at the output price. */
  reasoningPrice: Nanos | null;
}
