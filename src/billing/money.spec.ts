import { costOf, formatUsd, parseUsd } from "./money";

/** Largest value of a signed 64-bit column, in nano-dollars. */
const INT64_MAX = 9_223_372_036_854_775_807n;

describe("costOf", () => {
  it("returns zero for no parts", () => {
    expect(costOf([])).toBe(0n);
  });

  it("divides by one million once", () => {
    // 1,000 tokens at 2.50 USD per million:
    // 1,000 × 2,500,000,000 / 1,000,000 = 2,500,000 nUSD.
    const cost = costOf([{ tokens: 1_000, pricePerMillion: 2_500_000_000n }]);

    expect(cost).toBe(2_500_000n);
  });

  it("rounds the sum, not each part", () => {
    // Each part is 1 × 200,000 / 1,000,000 = 0.2 nUSD, which alone rounds down
    // to 0. The sum is 600,000 / 1,000,000 = 0.6 nUSD, which rounds up to 1.
    const part = { tokens: 1, pricePerMillion: 200_000n };

    expect(costOf([part])).toBe(0n);
    expect(costOf([part, part, part])).toBe(1n);
  });

  it("rounds exact halves up", () => {
    // 1 × 500,000 / 1,000,000 = 0.5 nUSD → 1.
    // 1 × 2,500,000 / 1,000,000 = 2.5 nUSD → 3 (half-even gives 2).
    // 5 × 300,000 / 1,000,000 = 1.5 nUSD → 2.
    expect(costOf([{ tokens: 1, pricePerMillion: 500_000n }])).toBe(1n);
    expect(costOf([{ tokens: 1, pricePerMillion: 2_500_000n }])).toBe(3n);
    expect(costOf([{ tokens: 5, pricePerMillion: 300_000n }])).toBe(2n);
  });

  it("rounds just below half down", () => {
    // 1 × 499,999 / 1,000,000 = 0.499999 nUSD → 0.
    // 3 × 1,499,999 / 1,000,000 = 4.499997 nUSD → 4.
    expect(costOf([{ tokens: 1, pricePerMillion: 499_999n }])).toBe(0n);
    expect(costOf([{ tokens: 3, pricePerMillion: 1_499_999n }])).toBe(4n);
  });

  it("stays exact for large counts", () => {
    // At 1,000,000 nUSD per million each token costs 1 nUSD, so (2^53 - 1) + 2
    // tokens cost 2^53 + 1 = 9,007,199,254,740,993 nUSD. A double cannot hold
    // that value and would round it to ...992.
    const tokens = Number.MAX_SAFE_INTEGER;
    const cost = costOf([
      { tokens, pricePerMillion: 1_000_000n },
      { tokens: 2, pricePerMillion: 1_000_000n },
    ]);

    expect(cost).toBe(9_007_199_254_740_993n);
  });

  it("rejects negative token counts", () => {
    expect(() => costOf([{ tokens: -1, pricePerMillion: 1n }])).toThrow(
      RangeError,
    );
  });

  it("rejects fractional token counts", () => {
    expect(() => costOf([{ tokens: 1.5, pricePerMillion: 1n }])).toThrow(
      "token count must be a non-negative integer, got 1.5",
    );
  });

  it("rejects non-finite token counts", () => {
    for (const tokens of [NaN, Infinity, Number.MAX_SAFE_INTEGER + 1]) {
      expect(() => costOf([{ tokens, pricePerMillion: 1n }])).toThrow(
        RangeError,
      );
    }
  });
});

describe("parseUsd", () => {
  it.each([
    ["0", 0n],
    ["10", 10_000_000_000n],
    ["2.50", 2_500_000_000n],
    ["2.5", 2_500_000_000n],
    ["0.000075", 75_000n],
    ["0.000000001", 1n],
    ["3.125", 3_125_000_000n],
    ["007.10", 7_100_000_000n],
    // 9,223,372,036.854775807 USD is the signed 64-bit maximum in nano-dollars.
    ["9223372036.854775807", INT64_MAX],
  ])("parses %p", (text, expected) => {
    expect(parseUsd(text)).toBe(expected);
  });

  it("ignores surrounding whitespace", () => {
    expect(parseUsd(" 1.5\n")).toBe(1_500_000_000n);
  });

  it.each([
    ["negative", "-5"],
    ["negative zero", "-0"],
    ["explicit plus sign", "+5"],
    ["ten decimals", "1.0000000001"],
    ["exponent", "1e3"],
    ["exponent with fraction", "2.5E-3"],
    ["empty", ""],
    ["only whitespace", "   "],
    ["space inside", "1 000"],
    ["space after point", "1. 5"],
    ["two points", "1.2.3"],
    ["leading point", ".5"],
    ["trailing point", "5."],
    ["comma decimal", "2,50"],
    ["hex", "0x10"],
    ["word", "NaN"],
    ["currency sign", "$5"],
    ["thirteen whole digits", "1000000000000"],
  ])("rejects %s", (_case, text) => {
    expect(() => parseUsd(text)).toThrow(RangeError);
  });

  it("names the input when rejecting", () => {
    expect(() => parseUsd("1.2.3")).toThrow('"1.2.3" is not a decimal USD');
  });

  it("rejects amounts beyond int64", () => {
    // 9,223,372,037 USD is 9,223,372,037,000,000,000 nUSD, above INT64_MAX =
    // 9,223,372,036,854,775,807, so a money column cannot store it.
    expect(() => parseUsd("9223372037")).toThrow(RangeError);
  });
});

describe("formatUsd", () => {
  it("formats zero with nine decimals", () => {
    expect(formatUsd(0n)).toBe("0.000000000");
  });

  it("formats whole and fractional amounts", () => {
    expect(formatUsd(1_500_000_000n)).toBe("1.500000000");
    expect(formatUsd(1n)).toBe("0.000000001");
    expect(formatUsd(75_000n)).toBe("0.000075000");
  });

  it("formats negative amounts", () => {
    expect(formatUsd(-1n)).toBe("-0.000000001");
    expect(formatUsd(-1_250_000_000n)).toBe("-1.250000000");
  });

  it("keeps values beyond 2^53 exact", () => {
    // 2^53 + 1 = 9,007,199,254,740,993 nUSD, which a double rounds to ...992.
    expect(formatUsd(9_007_199_254_740_993n)).toBe("9007199.254740993");
    expect(formatUsd(INT64_MAX)).toBe("9223372036.854775807");
    expect(formatUsd(-INT64_MAX - 1n)).toBe("-9223372036.854775808");
  });

  it("round-trips through parseUsd", () => {
    for (const text of ["0.000000001", "2.500000000", "9007199.254740993"]) {
      expect(formatUsd(parseUsd(text))).toBe(text);
    }
  });
});
