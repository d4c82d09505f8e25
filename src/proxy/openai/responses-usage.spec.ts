import { NO_USAGE } from "../../billing/usage";
import { parseResponsesUsage } from "./responses-usage";

describe("parseResponsesUsage", () => {
  it("reads full usage", () => {
    const usage = parseResponsesUsage({
      input_tokens: 3000,
      input_tokens_details: { cached_tokens: 2048, cache_write_tokens: 100 },
      output_tokens: 600,
      output_tokens_details: { reasoning_tokens: 448 },
      total_tokens: 3600,
    });

    expect(usage).toEqual({
      promptTokens: 3000,
      completionTokens: 600,
      cacheReadTokens: 2048,
      cacheWriteTokens: 100,
      cacheWrite1hTokens: 0,
      reasoningTokens: 448,
    });
  });

  it("treats missing or null details as zero", () => {
    expect(
      parseResponsesUsage({
        input_tokens: 10,
        output_tokens: 4,
        input_tokens_details: null,
      }),
    ).toEqual({ ...NO_USAGE, promptTokens: 10, completionTokens: 4 });
  });

  it("caps details at their totals", () => {
    const usage = parseResponsesUsage({
      input_tokens: 10,
      input_tokens_details: { cached_tokens: 50, cache_write_tokens: 5 },
      output_tokens: 4,
      output_tokens_details: { reasoning_tokens: 9 },
    });

    expect(usage?.cacheReadTokens).toBe(10);
    expect(usage?.cacheWriteTokens).toBe(0);
    expect(usage?.reasoningTokens).toBe(4);
  });

  it("ignores invalid details", () => {
    const usage = parseResponsesUsage({
      input_tokens: 10,
      input_tokens_details: { cached_tokens: -3 },
      output_tokens: 4,
      output_tokens_details: { reasoning_tokens: "2" },
    });

    expect(usage?.cacheReadTokens).toBe(0);
    expect(usage?.reasoningTokens).toBe(0);
  });

  it.each([
    ["null", null],
    ["chat-style usage", { prompt_tokens: 1, completion_tokens: 2 }],
    ["missing output", { input_tokens: 1 }],
    ["negative input", { input_tokens: -1, output_tokens: 2 }],
    ["fractional output", { input_tokens: 1, output_tokens: 2.5 }],
    ["count over 2^31-1", { input_tokens: 2 ** 31, output_tokens: 2 }],
  ])("rejects %s", (_name, usage) => {
    expect(parseResponsesUsage(usage)).toBeNull();
  });
});
