import { NO_USAGE } from "../../billing/usage";
import { MAX_REPORTED_TOKENS, parseOpenAiUsage } from "./openai-usage";

describe("parseOpenAiUsage", () => {
  it("reads full usage", () => {
    const usage = parseOpenAiUsage({
      prompt_tokens: 1_200,
      completion_tokens: 300,
      total_tokens: 1_500,
      prompt_tokens_details: {
        cached_tokens: 1_024,
        cache_write_tokens: 100,
        audio_tokens: 0,
      },
      completion_tokens_details: {
        reasoning_tokens: 256,
        audio_tokens: 0,
        accepted_prediction_tokens: 0,
        rejected_prediction_tokens: 0,
      },
    });

    expect(usage).toEqual({
      promptTokens: 1_200,
      completionTokens: 300,
      cacheReadTokens: 1_024,
      cacheWriteTokens: 100,
      cacheWrite1hTokens: 0,
      reasoningTokens: 256,
    });
  });

  it("reads usage without details", () => {
    const usage = parseOpenAiUsage({ prompt_tokens: 12, completion_tokens: 3 });

    expect(usage).toEqual({
      ...NO_USAGE,
      promptTokens: 12,
      completionTokens: 3,
    });
  });

  it("treats null details as zero", () => {
    const usage = parseOpenAiUsage({
      prompt_tokens: 12,
      completion_tokens: 3,
      prompt_tokens_details: null,
      completion_tokens_details: null,
    });

    expect(usage).toEqual({
      ...NO_USAGE,
      promptTokens: 12,
      completionTokens: 3,
    });
  });

  it("treats null details as zero", () => {
    const usage = parseOpenAiUsage({
      prompt_tokens: 12,
      completion_tokens: 0,
      prompt_tokens_details: { cached_tokens: null },
      completion_tokens_details: { reasoning_tokens: null },
    });

    expect(usage).toEqual({ ...NO_USAGE, promptTokens: 12 });
  });

  it("returns null for a null main counter", () => {
    expect(
      parseOpenAiUsage({ prompt_tokens: 12, completion_tokens: null }),
    ).toBeNull();
  });

  it.each([
    ["missing", undefined],
    ["null", null],
    ["numeric", 42],
    ["string", "usage"],
  ])("returns null for %s usage", (_case, value) => {
    expect(parseOpenAiUsage(value)).toBeNull();
  });

  it("returns null for empty usage", () => {
    expect(parseOpenAiUsage({})).toBeNull();
  });

  it("returns null for another format's counters", () => {
    expect(parseOpenAiUsage({ input_tokens: 10, output_tokens: 5 })).toBeNull();
  });

  it("reads the largest count", () => {
    const usage = parseOpenAiUsage({
      prompt_tokens: MAX_REPORTED_TOKENS,
      completion_tokens: 0,
    });

    expect(usage?.promptTokens).toBe(MAX_REPORTED_TOKENS);
  });

  it("reads DeepSeek cache hits", () => {
    // DeepSeek reports prompt_cache_hit_tokens + prompt_cache_miss_tokens =
    // prompt_tokens (700 + 300 = 1,000).
    const usage = parseOpenAiUsage({
      prompt_tokens: 1_000,
      completion_tokens: 50,
      prompt_cache_hit_tokens: 700,
      prompt_cache_miss_tokens: 300,
    });

    expect(usage?.cacheReadTokens).toBe(700);
    expect(usage?.promptTokens).toBe(1_000);
  });

  it("prefers cached_tokens over DeepSeek", () => {
    const usage = parseOpenAiUsage({
      prompt_tokens: 1_000,
      completion_tokens: 50,
      prompt_tokens_details: { cached_tokens: 640 },
      prompt_cache_hit_tokens: 700,
    });

    expect(usage?.cacheReadTokens).toBe(640);
  });

  it("falls back to DeepSeek past null", () => {
    const usage = parseOpenAiUsage({
      prompt_tokens: 1_000,
      completion_tokens: 50,
      prompt_tokens_details: { cached_tokens: null },
      prompt_cache_hit_tokens: 700,
    });

    expect(usage?.cacheReadTokens).toBe(700);
  });

  it.each([
    ["negative", -5],
    ["fractional", 2.5],
    ["numeric string", "12"],
    ["NaN", NaN],
    ["Infinity", Infinity],
    ["over 32 bits", MAX_REPORTED_TOKENS + 1],
    ["unsafe", Number.MAX_SAFE_INTEGER + 1],
    ["boolean", true],
    ["object", { value: 12 }],
  ])("returns null for %s main counters", (_case, bad) => {
    expect(
      parseOpenAiUsage({ prompt_tokens: bad, completion_tokens: 3 }),
    ).toBeNull();
    expect(
      parseOpenAiUsage({ prompt_tokens: 3, completion_tokens: bad }),
    ).toBeNull();
  });

  it("treats invalid details as zero", () => {
    const usage = parseOpenAiUsage({
      prompt_tokens: 100,
      completion_tokens: 7,
      prompt_tokens_details: { cached_tokens: -1, cache_write_tokens: 20 },
      completion_tokens_details: { reasoning_tokens: 1.5 },
    });

    expect(usage).toEqual({
      ...NO_USAGE,
      promptTokens: 100,
      completionTokens: 7,
      cacheWriteTokens: 20,
    });
  });

  it("clamps cached to prompt", () => {
    const usage = parseOpenAiUsage({
      prompt_tokens: 100,
      completion_tokens: 10,
      prompt_tokens_details: { cached_tokens: 150 },
    });

    expect(usage?.cacheReadTokens).toBe(100);
  });

  it("clamps DeepSeek hits to prompt", () => {
    const usage = parseOpenAiUsage({
      prompt_tokens: 100,
      completion_tokens: 10,
      prompt_cache_hit_tokens: 150,
    });

    expect(usage?.cacheReadTokens).toBe(100);
  });

  it("clamps cache writes to prompt", () => {
    const usage = parseOpenAiUsage({
      prompt_tokens: 100,
      completion_tokens: 10,
      prompt_tokens_details: { cache_write_tokens: 150 },
    });

    expect(usage?.cacheWriteTokens).toBe(100);
  });

  it("clamps cached to a zero prompt", () => {
    const usage = parseOpenAiUsage({
      prompt_tokens: 0,
      completion_tokens: 10,
      prompt_tokens_details: { cached_tokens: 50 },
    });

    expect(usage?.cacheReadTokens).toBe(0);
  });

  it("clamps reasoning to completion", () => {
    const usage = parseOpenAiUsage({
      prompt_tokens: 100,
      completion_tokens: 10,
      completion_tokens_details: { reasoning_tokens: 64 },
    });

    expect(usage?.reasoningTokens).toBe(10);
  });

  it("keeps cache reads plus writes within prompt", () => {
    // Reads and writes are both parts of prompt_tokens, so together they cannot
    // exceed its 100 tokens.
    const usage = parseOpenAiUsage({
      prompt_tokens: 100,
      completion_tokens: 10,
      prompt_tokens_details: { cached_tokens: 80, cache_write_tokens: 80 },
    });

    expect(
      (usage?.cacheReadTokens ?? 0) + (usage?.cacheWriteTokens ?? 0),
    ).toBeLessThanOrEqual(100);
  });

  it("reports no one-hour writes", () => {
    const usage = parseOpenAiUsage({
      prompt_tokens: 100,
      completion_tokens: 10,
      prompt_tokens_details: { cache_write_tokens: 40 },
    });

    expect(usage?.cacheWrite1hTokens).toBe(0);
  });
});
