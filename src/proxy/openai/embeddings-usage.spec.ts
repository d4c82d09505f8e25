import { NO_USAGE } from "../../billing/usage";
import { parseEmbeddingsUsage } from "./embeddings-usage";

describe("parseEmbeddingsUsage", () => {
  it("reads prompt tokens", () => {
    expect(parseEmbeddingsUsage({ prompt_tokens: 8, total_tokens: 8 })).toEqual(
      { ...NO_USAGE, promptTokens: 8 },
    );
  });

  it.each([
    ["null", null],
    ["missing count", { total_tokens: 8 }],
    ["negative count", { prompt_tokens: -1 }],
    ["fractional count", { prompt_tokens: 1.5 }],
    ["text count", { prompt_tokens: "8" }],
    ["count over 2^31-1", { prompt_tokens: 2 ** 31 }],
  ])("rejects %s", (_name, usage) => {
    expect(parseEmbeddingsUsage(usage)).toBeNull();
  });
});
