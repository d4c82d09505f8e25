import { priceUsage, worstCaseCost } from "./pricing";
import { ModelPrices, NO_USAGE, TokenUsage } from "./usage";

/** USD per million tokens as nano-dollars: 2.50 USD is 2,500,000,000 nUSD. */
const PRICES: ModelPrices = {
  inputPrice: 2_500_000_000n,
  outputPrice: 10_000_000_000n,
  cacheReadPrice: 1_250_000_000n,
  cacheWritePrice: 3_125_000_000n,
  cacheWrite1hPrice: 5_000_000_000n,
  reasoningPrice: 20_000_000_000n,
};

const NO_REASONING_PRICE: ModelPrices = { ...PRICES, reasoningPrice: null };

function usage(counts: Partial<TokenUsage>): TokenUsage {
  return { ...NO_USAGE, ...counts };
}

describe("priceUsage", () => {
  it("prices uncached input", () => {
    // 1,000 × 2,500,000,000 / 1,000,000 = 2,500,000 nUSD.
    expect(priceUsage(usage({ promptTokens: 1_000 }), PRICES)).toBe(2_500_000n);
  });

  it("prices output", () => {
    // 500 × 10,000,000,000 / 1,000,000 = 5,000,000 nUSD.
    expect(priceUsage(usage({ completionTokens: 500 }), PRICES)).toBe(
      5_000_000n,
    );
  });

  it("prices cached input apart", () => {
    // uncached 600 × 2,500,000,000 = 1,500,000,000,000
    // cached   400 × 1,250,000,000 =   500,000,000,000
    // sum 2,000,000,000,000 / 1,000,000 = 2,000,000 nUSD.
    const cached = usage({ promptTokens: 1_000, cacheReadTokens: 400 });

    expect(priceUsage(cached, PRICES)).toBe(2_000_000n);
  });

  it("prices cache writes apart", () => {
    // uncached 700 × 2,500,000,000 = 1,750,000,000,000
    // written  300 × 3,125,000,000 =   937,500,000,000
    // sum 2,687,500,000,000 / 1,000,000 = 2,687,500 nUSD.
    const written = usage({ promptTokens: 1_000, cacheWriteTokens: 300 });

    expect(priceUsage(written, PRICES)).toBe(2_687_500n);
  });

  it("prices one-hour writes apart", () => {
    // uncached   700 × 2,500,000,000 = 1,750,000,000,000
    // 5 minutes  200 × 3,125,000,000 =   625,000,000,000
    // 1 hour     100 × 5,000,000,000 =   500,000,000,000
    // sum 2,875,000,000,000 / 1,000,000 = 2,875,000 nUSD.
    const written = usage({
      promptTokens: 1_000,
      cacheWriteTokens: 300,
      cacheWrite1hTokens: 100,
    });

    expect(priceUsage(written, PRICES)).toBe(2_875_000n);
  });

  it("prices reasoning apart when priced", () => {
    // output    300 × 10,000,000,000 = 3,000,000,000,000
    // reasoning 200 × 20,000,000,000 = 4,000,000,000,000
    // sum 7,000,000,000,000 / 1,000,000 = 7,000,000 nUSD.
    const reasoned = usage({ completionTokens: 500, reasoningTokens: 200 });

    expect(priceUsage(reasoned, PRICES)).toBe(7_000_000n);
  });

  it("prices reasoning as output otherwise", () => {
    // 500 × 10,000,000,000 / 1,000,000 = 5,000,000 nUSD. The 200 reasoning
    // tokens are part of the 500, so none is billed apart.
    const reasoned = usage({ completionTokens: 500, reasoningTokens: 200 });

    expect(priceUsage(reasoned, NO_REASONING_PRICE)).toBe(5_000_000n);
  });

  it("prices every kind together", () => {
    // uncached  300 × 2,500,000,000  =   750,000,000,000
    // cached    400 × 1,250,000,000  =   500,000,000,000
    // 5 minutes 200 × 3,125,000,000  =   625,000,000,000
    // 1 hour    100 × 5,000,000,000  =   500,000,000,000
    // output    300 × 10,000,000,000 = 3,000,000,000,000
    // reasoning 200 × 20,000,000,000 = 4,000,000,000,000
    // sum 9,375,000,000,000 / 1,000,000 = 9,375,000 nUSD.
    const full = usage({
      promptTokens: 1_000,
      cacheReadTokens: 400,
      cacheWriteTokens: 300,
      cacheWrite1hTokens: 100,
      completionTokens: 500,
      reasoningTokens: 200,
    });

    expect(priceUsage(full, PRICES)).toBe(9_375_000n);
  });

  it("rounds the total once", () => {
    // 1 input and 1 output token at 1,700,000 nUSD per million:
    // 3,400,000 / 1,000,000 = 3.4 → 3 nUSD.
    // Rounding each part (1.7 → 2) would give 4.
    const prices: ModelPrices = {
      ...NO_REASONING_PRICE,
      inputPrice: 1_700_000n,
      outputPrice: 1_700_000n,
    };
    const tiny = usage({ promptTokens: 1, completionTokens: 1 });

    expect(priceUsage(tiny, prices)).toBe(3n);
  });

  it("returns zero for no usage", () => {
    expect(priceUsage(NO_USAGE, PRICES)).toBe(0n);
  });

  it("clamps reasoning to completion", () => {
    // Only the 100 completion tokens are billed:
    // 100 × 20,000,000,000 / 1,000,000 = 2,000,000 nUSD.
    const overReported = usage({ completionTokens: 100, reasoningTokens: 150 });

    expect(priceUsage(overReported, PRICES)).toBe(2_000_000n);
  });

  it("ignores reasoning above completion unpriced", () => {
    // 100 × 10,000,000,000 / 1,000,000 = 1,000,000 nUSD.
    const overReported = usage({ completionTokens: 100, reasoningTokens: 150 });

    expect(priceUsage(overReported, NO_REASONING_PRICE)).toBe(1_000_000n);
  });

  it("clamps cache reads to prompt", () => {
    // The prompt has 100 tokens, so at most 100 can be cache reads:
    // 100 × 1,250,000,000 / 1,000,000 = 125,000 nUSD.
    const overReported = usage({ promptTokens: 100, cacheReadTokens: 150 });

    expect(priceUsage(overReported, PRICES)).toBe(125_000n);
  });

  it("clamps one-hour writes to writes", () => {
    // One-hour writes are part of the 10 cache writes, so at most 10 of them:
    // uncached 90 × 2,500,000,000 = 225,000,000,000
    // 1 hour   10 × 5,000,000,000 =  50,000,000,000
    // sum 275,000,000,000 / 1,000,000 = 275,000 nUSD.
    const overReported = usage({
      promptTokens: 100,
      cacheWriteTokens: 10,
      cacheWrite1hTokens: 50,
    });

    expect(priceUsage(overReported, PRICES)).toBe(275_000n);
  });

  it("bills cache reads plus writes within prompt", () => {
    // Reads and writes each fit the 100-token prompt but together exceed it.
    // Whichever way they are clamped, no more than 100 input tokens may be
    // billed, so the cost is at most 100 tokens at the highest input price
    // (1-hour writes are free here):
    // 100 × 3,125,000,000 / 1,000,000 = 312,500 nUSD.
    const prices: ModelPrices = { ...PRICES, cacheWrite1hPrice: 0n };
    const overReported = usage({
      promptTokens: 100,
      cacheReadTokens: 100,
      cacheWriteTokens: 100,
    });

    expect(priceUsage(overReported, prices)).toBeLessThanOrEqual(312_500n);
  });
});

describe("worstCaseCost", () => {
  it("uses highest input and output prices", () => {
    // input  1,000 × 5,000,000,000 (max of 2.5, 1.25, 3.125, 5 USD)
    //        = 5,000,000,000,000
    // output 500 × 20,000,000,000 (max of 10, 20 USD)
    //        = 10,000,000,000,000
    // sum 15,000,000,000,000 / 1,000,000 = 15,000,000 nUSD.
    expect(worstCaseCost(1_000, 500, PRICES)).toBe(15_000_000n);
  });

  it("uses output price without reasoning price", () => {
    // 1,000 × 5,000,000,000 + 500 × 10,000,000,000 = 10,000,000,000,000
    // 10,000,000,000,000 / 1,000,000 = 10,000,000 nUSD.
    expect(worstCaseCost(1_000, 500, NO_REASONING_PRICE)).toBe(10_000_000n);
  });

  it("returns zero for zero bounds", () => {
    expect(worstCaseCost(0, 0, PRICES)).toBe(0n);
  });

  /**
   * Price sets in which each kind in turn has the highest price, plus odd
   * prices that exercise rounding.
   */
  const priceSets: [string, ModelPrices][] = [
    ["default", PRICES],
    ["no reasoning price", NO_REASONING_PRICE],
    [
      "cheap reasoning",
      { ...PRICES, reasoningPrice: 1_000_000_000n, outputPrice: 9n },
    ],
    [
      "dear cache read",
      {
        ...NO_REASONING_PRICE,
        cacheReadPrice: 7_000_000_000n,
        cacheWrite1hPrice: 0n,
      },
    ],
    [
      "rounding",
      {
        inputPrice: 333_333n,
        outputPrice: 777_777n,
        cacheReadPrice: 499_999n,
        cacheWritePrice: 500_001n,
        cacheWrite1hPrice: 123_457n,
        reasoningPrice: 999_999n,
      },
    ],
    [
      "free",
      {
        inputPrice: 0n,
        outputPrice: 0n,
        cacheReadPrice: 0n,
        cacheWritePrice: 0n,
        cacheWrite1hPrice: 0n,
        reasoningPrice: 0n,
      },
    ],
  ];

  it.each([
    [
      "all kinds",
      usage({
        promptTokens: 1_000,
        cacheReadTokens: 400,
        cacheWriteTokens: 300,
        cacheWrite1hTokens: 100,
        completionTokens: 500,
        reasoningTokens: 200,
      }),
    ],
    ["all cached", usage({ promptTokens: 800, cacheReadTokens: 800 })],
    [
      "all one-hour writes",
      usage({
        promptTokens: 800,
        cacheWriteTokens: 800,
        cacheWrite1hTokens: 800,
      }),
    ],
    ["all reasoning", usage({ completionTokens: 700, reasoningTokens: 700 })],
    [
      "reasoning above completion",
      usage({ completionTokens: 70, reasoningTokens: 700 }),
    ],
    ["one token each", usage({ promptTokens: 1, completionTokens: 1 })],
  ])("covers %s at bounds", (_case, actual) => {
    for (const [, prices] of priceSets) {
      const bound = worstCaseCost(
        actual.promptTokens,
        actual.completionTokens,
        prices,
      );

      expect(priceUsage(actual, prices)).toBeLessThanOrEqual(bound);
    }
  });

  it("covers every small consistent usage", () => {
    // Every usage whose parts fit their totals: reads + writes <= prompt,
    // one-hour writes <= writes, and reasoning up to one more than completion
    // (over-reported reasoning is clamped). The bounds are the usage's own
    // totals, the tightest bounds it is within.
    const violations: string[] = [];
    let checked = 0;
    for (const [name, prices] of priceSets) {
      for (let prompt = 0; prompt <= 4; prompt++) {
        for (let read = 0; read <= prompt; read++) {
          for (let write = 0; read + write <= prompt; write++) {
            for (let write1h = 0; write1h <= write; write1h++) {
              for (let completion = 0; completion <= 3; completion++) {
                for (
                  let reasoning = 0;
                  reasoning <= completion + 1;
                  reasoning++
                ) {
                  const actual = usage({
                    promptTokens: prompt,
                    completionTokens: completion,
                    cacheReadTokens: read,
                    cacheWriteTokens: write,
                    cacheWrite1hTokens: write1h,
                    reasoningTokens: reasoning,
                  });
                  const cost = priceUsage(actual, prices);
                  const bound = worstCaseCost(prompt, completion, prices);
                  if (cost > bound) {
                    const counts = JSON.stringify(actual);
                    violations.push(
                      `${name}: ${counts} costs ${cost} > ${bound}`,
                    );
                  }
                  checked++;
                }
              }
            }
          }
        }
      }
    }

    expect(violations).toEqual([]);
    // Per price set, the (read, write, write1h) triples for prompt 0..4 number
    // 1 + 4 + 10 + 20 + 35 = 70, and the (completion, reasoning) pairs for
    // completion 0..3 number 2 + 3 + 4 + 5 = 14, so 70 × 14 = 980.
    // Six price sets: 6 × 980 = 5,880.
    expect(checked).toBe(5_880);
  });
});
