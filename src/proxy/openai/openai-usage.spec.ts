import { NO_USAGE } from "../../billing/usage";
import { parseOpenAiUsage } from "./openai-usage";

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

  it("treats null counters as zero", () => {
    const usage = parseOpenAiUsage({
      prompt_tokens: 12,
      completion_tokens: null,
      prompt_tokens_details: { cached_tokens: null },
      completion_tokens_details: { reasoning_tokens: null },
    });

    expect(usage).toEqual({ ...NO_USAGE, promptTokens: 12 });
  });

  it.each([
    ["missing", undefined],
    ["null", null],
    ["numeric", 42],
    ["string", "usage"],
  ])("returns null for %s usage", (_case, value) => {
    expect(parseOpenAiUsage(value)).toBeNull();
  });

  it("reads empty usage as zero", () => {
    expect(parseOpenAiUsage({})).toEqual(NO_USAGE);
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
    ["unsafe", Number.MAX_SAFE_INTEGER + 1],
    ["boolean", true],
    ["object", { value: 12 }],
  ])("treats %s counters as zero", (_case, bad) => {
    const usage = parseOpenAiUsage({
      prompt_tokens: bad,
      completion_tokens: bad,
      prompt_tokens_details: { cached_tokens: bad, cache_write_tokens: bad },
      completion_tokens_details: { reasoning_tokens: bad },
    });

    expect(usage).toEqual(NO_USAGE);
  });

  it("keeps valid counters beside invalid", () => {
    const usage = parseOpenAiUsage({
      prompt_tokens: 100,
      completion_tokens: "7",
      prompt_tokens_details: { cached_tokens: -1, cache_write_tokens: 20 },
      completion_tokens_details: { reasoning_tokens: 1.5 },
    });

    expect(usage).toEqual({
      ...NO_USAGE,
      promptTokens: 100,
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

  it("clamps cached to invalid prompt", () => {
    // An invalid prompt_tokens counts as 0, so no token can be a cache read.
    const usage = parseOpenAiUsage({
      prompt_tokens: "100",
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
