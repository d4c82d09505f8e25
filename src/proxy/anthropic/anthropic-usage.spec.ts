import { NO_USAGE } from "../../billing/usage";
import { MAX_REPORTED_TOKENS } from "../openai/openai-usage";
import {
  mergeAnthropicUsage,
  parseAnthropicUsage,
  toAnthropicUsage,
} from "./anthropic-usage";

/** The non-streamed usage object of the Messages API reference, cache reads and 5-minute writes included. */
const DOCUMENTED_USAGE = {
  input_tokens: 40,
  output_tokens: 310,
  cache_creation_input_tokens: 1800,
  cache_read_input_tokens: 9000,
  service_tier: "standard",
  cache_creation: {
    ephemeral_5m_input_tokens: 1800,
    ephemeral_1h_input_tokens: 0,
  },
  server_tool_use: { web_search_requests: 0, web_fetch_requests: 0 },
  output_tokens_details: { thinking_tokens: 190 },
};

describe("parseAnthropicUsage", () => {
  it("totals input with cache reads and writes", () => {
    expect(parseAnthropicUsage(DOCUMENTED_USAGE)).toEqual({
      promptTokens: 40 + 1800 + 9000,
      completionTokens: 310,
      cacheReadTokens: 9000,
      cacheWriteTokens: 1800,
      cacheWrite1hTokens: 0,
      reasoningTokens: 0,
    });
  });

  it("reads one-hour writes from the breakdown", () => {
    const usage = parseAnthropicUsage({
      input_tokens: 10,
      output_tokens: 5,
      cache_creation_input_tokens: 3000,
      cache_read_input_tokens: 0,
      cache_creation: {
        ephemeral_5m_input_tokens: 1000,
        ephemeral_1h_input_tokens: 2000,
      },
    });

    expect(usage?.cacheWriteTokens).toBe(3000);
    expect(usage?.cacheWrite1hTokens).toBe(2000);
    expect(usage?.promptTokens).toBe(3010);
  });

  it("bills writes without breakdown at the fallback lifetime", () => {
    const usage = {
      input_tokens: 1,
      output_tokens: 2,
      cache_creation_input_tokens: 500,
    };

    expect(parseAnthropicUsage(usage)?.cacheWrite1hTokens).toBe(0);
    expect(parseAnthropicUsage(usage, "1h")?.cacheWrite1hTokens).toBe(500);
  });

  it("caps one-hour writes at all writes", () => {
    const usage = parseAnthropicUsage({
      input_tokens: 1,
      output_tokens: 1,
      cache_creation_input_tokens: 100,
      cache_creation: { ephemeral_1h_input_tokens: 900 },
    });

    expect(usage?.cacheWrite1hTokens).toBe(100);
  });

  it("reads an old reply without cache fields", () => {
    expect(parseAnthropicUsage({ input_tokens: 12, output_tokens: 3 })).toEqual(
      {
        ...NO_USAGE,
        promptTokens: 12,
        completionTokens: 3,
      },
    );
  });

  it("treats null cache counters as zero", () => {
    const usage = parseAnthropicUsage({
      input_tokens: 12,
      output_tokens: 3,
      cache_creation_input_tokens: null,
      cache_read_input_tokens: null,
      cache_creation: null,
    });

    expect(usage?.promptTokens).toBe(12);
    expect(usage?.cacheReadTokens).toBe(0);
    expect(usage?.cacheWriteTokens).toBe(0);
  });

  it.each([
    ["missing input", { output_tokens: 3 }],
    ["missing output", { input_tokens: 3 }],
    ["negative input", { input_tokens: -1, output_tokens: 3 }],
    ["fractional output", { input_tokens: 1, output_tokens: 2.5 }],
    ["text count", { input_tokens: "12", output_tokens: 3 }],
    [
      "huge output",
      { input_tokens: 1, output_tokens: MAX_REPORTED_TOKENS + 1 },
    ],
    [
      "total input too large",
      {
        input_tokens: MAX_REPORTED_TOKENS,
        output_tokens: 1,
        cache_read_input_tokens: 1,
      },
    ],
    ["null", null],
    ["a string", "usage"],
  ])("rejects %s", (_case, usage) => {
    expect(parseAnthropicUsage(usage)).toBeNull();
  });

  it("ignores invalid cache counters", () => {
    const usage = parseAnthropicUsage({
      input_tokens: 5,
      output_tokens: 1,
      cache_read_input_tokens: -7,
      cache_creation_input_tokens: 1.5,
    });

    expect(usage?.promptTokens).toBe(5);
  });
});

describe("mergeAnthropicUsage", () => {
  it("replaces counters with later totals", () => {
    const start = mergeAnthropicUsage(null, {
      input_tokens: 40,
      output_tokens: 1,
      cache_read_input_tokens: 9000,
      cache_creation: {
        ephemeral_5m_input_tokens: 10,
        ephemeral_1h_input_tokens: 0,
      },
    });
    const first = mergeAnthropicUsage(start, { output_tokens: 100 });
    const last = mergeAnthropicUsage(first, {
      output_tokens: 310,
      input_tokens: 45,
      cache_read_input_tokens: null,
    });

    expect(last).toEqual({
      input_tokens: 45,
      output_tokens: 310,
      cache_read_input_tokens: 9000,
      cache_creation: {
        ephemeral_5m_input_tokens: 10,
        ephemeral_1h_input_tokens: 0,
      },
    });
  });

  it("keeps usage when the update is missing", () => {
    const start = { input_tokens: 1, output_tokens: 1 };

    expect(mergeAnthropicUsage(start, undefined)).toBe(start);
  });
});

describe("toAnthropicUsage", () => {
  it("splits total input into its parts", () => {
    const usage = toAnthropicUsage({
      promptTokens: 10_000,
      completionTokens: 500,
      cacheReadTokens: 8_000,
      cacheWriteTokens: 1_000,
      cacheWrite1hTokens: 0,
      reasoningTokens: 300,
    });

    expect(usage).toEqual({
      input_tokens: 1_000,
      cache_read_input_tokens: 8_000,
      cache_creation_input_tokens: 1_000,
      cache_creation: {
        ephemeral_5m_input_tokens: 1_000,
        ephemeral_1h_input_tokens: 0,
      },
      output_tokens: 500,
    });
  });

  it("round-trips through parseAnthropicUsage", () => {
    const counts = {
      promptTokens: 3_000,
      completionTokens: 20,
      cacheReadTokens: 1_000,
      cacheWriteTokens: 1_500,
      cacheWrite1hTokens: 500,
      reasoningTokens: 0,
    };

    expect(parseAnthropicUsage(toAnthropicUsage(counts))).toEqual(counts);
  });
});
