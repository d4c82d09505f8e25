/**
 * Money is an integer count of nano-dollars (1 nUSD = 0.000000001 USD) held in a bigint, so amounts are exact and
 * a signed 64-bit column holds up to about 9.2 billion USD. Prices are nano-dollars per million tokens.
 *
 * Rounding rule, applied in exactly one place ({@link costOf}): a request's cost is the sum over its token kinds
 * of tokens × price per million, divided by 1,000,000 once, rounded half up to a whole nano-dollar.
 */
export type Nanos = bigint;

const NANOS_PER_USD = 1_000_000_000n;
const TOKENS_PER_PRICE_UNIT = 1_000_000n;
const USD_DECIMALS = 9;
const DECIMAL_USD = /^(\d{1,12})(?:\.(\d{1,9}))?$/;

/** Largest amount a signed 64-bit money column holds: about 9.22 billion USD. */
export const MAX_NANOS: Nanos = 9_223_372_036_854_775_807n;

/** One token kind of a request: how many tokens, at which price per million. */
export interface PricedTokens {
  tokens: number;
  pricePerMillion: Nanos;
}

/** Returns the cost of a request in nano-dollars under the rounding rule above. */
export function costOf(parts: PricedTokens[]): Nanos {
  let scaled = 0n;
  for (const part of parts) {
    if (!Number.isSafeInteger(part.tokens) || part.tokens < 0) {
      throw new RangeError(
        `token count must be a non-negative integer, got ${part.tokens}`,
      );
    }
    scaled += BigInt(part.tokens) * part.pricePerMillion;
  }

  return (scaled + TOKENS_PER_PRICE_UNIT / 2n) / TOKENS_PER_PRICE_UNIT;
}

/**
 * Parses a non-negative decimal USD string such as "2.50" or "0.000075" into nano-dollars without floating point.
 * More than nine decimals would need rounding, so they are rejected.
 */
export function parseUsd(text: string): Nanos {
  const match = DECIMAL_USD.exec(text.trim());
  if (!match) {
    throw new RangeError(
      `"${text}" is not a decimal USD amount with at most 9 decimals, such as 2.50`,
    );
  }

  const whole = BigInt(match[1]);
  const fraction = BigInt((match[2] ?? "").padEnd(USD_DECIMALS, "0"));
  const amount = whole * NANOS_PER_USD + fraction;
  if (amount > MAX_NANOS) {
    throw new RangeError(
      `"${text}" is more than the largest storable amount, ${formatUsd(MAX_NANOS)} USD`,
    );
  }

  return amount;
}

/** Formats nano-dollars as a decimal USD string with nine decimals, e.g. 1500000000n → "1.500000000". */
export function formatUsd(amount: Nanos): string {
  const sign = amount < 0n ? "-" : "";
  const magnitude = amount < 0n ? -amount : amount;
  const whole = magnitude / NANOS_PER_USD;
  const fraction = (magnitude % NANOS_PER_USD)
    .toString()
    .padStart(USD_DECIMALS, "0");

  return `${sign}${whole}.${fraction}`;
}
