import { formatDuration, rateLimitHeaders } from "./rate-limit-headers";

describe("rateLimitHeaders", () => {
  it("omits limits the client does not have", () => {
    expect(
      rateLimitHeaders({
        tokens: { limit: 1000, remaining: 0, resetSeconds: 12 },
      }),
    ).toEqual({
      "x-ratelimit-limit-tokens": "1000",
      "x-ratelimit-remaining-tokens": "0",
      "x-ratelimit-reset-tokens": "12s",
    });
  });

  it("formats durations as OpenAI does", () => {
    expect(formatDuration(0)).toBe("0s");
    expect(formatDuration(59)).toBe("59s");
    expect(formatDuration(60)).toBe("1m0s");
    expect(formatDuration(3_725)).toBe("1h2m5s");
  });
});
