import {
  anthropicErrorBody,
  anthropicErrorEvent,
  anthropicStatusFor,
  anthropicTypeFor,
  anthropicUpstreamHttpError,
  openAiTypeFor,
  parseAnthropicError,
} from "./anthropic-errors";

const KEY = "sk-ant-api03-secret-provider-key";

describe("parseAnthropicError", () => {
  it("reads the documented body", () => {
    const body =
      '{"type":"error","error":{"type":"not_found_error","message":"The requested resource could not be found."},"request_id":"req_011CSHoEeqs5C35K2UUqR7Fy"}';

    expect(parseAnthropicError(body, KEY)).toEqual({
      type: "not_found_error",
      message: "The requested resource could not be found.",
    });
  });

  it("scrubs the provider key", () => {
    const body = JSON.stringify({
      type: "error",
      error: {
        type: "authentication_error",
        message: `invalid x-api-key ${KEY}`,
      },
    });

    expect(parseAnthropicError(body, KEY)?.message).toBe(
      "invalid x-api-key [redacted]",
    );
  });

  it("scrubs a key written with escapes", () => {
    const escaped = KEY.replace(/-/g, "\\u002d");
    const body = `{"type":"error","error":{"type":"api_error","message":"key ${escaped}"}}`;

    expect(parseAnthropicError(body, KEY)?.message).toBe("key [redacted]");
  });

  it.each([
    ["not JSON", "<html>"],
    ["no error", "{}"],
    ["bad type", '{"error":{"type":1,"message":"m"}}'],
  ])("returns null for %s", (_case, body) => {
    expect(parseAnthropicError(body, KEY)).toBeNull();
  });
});

describe("error type mapping", () => {
  it.each([
    ["invalid_request_error", 400],
    ["authentication_error", 401],
    ["billing_error", 402],
    ["permission_error", 403],
    ["not_found_error", 404],
    ["request_too_large", 413],
    ["rate_limit_error", 429],
    ["api_error", 500],
    ["timeout_error", 504],
    ["overloaded_error", 529],
  ])("%s has status %d", (type, status) => {
    expect(anthropicStatusFor(type)).toBe(status);
    expect(anthropicTypeFor(openAiTypeFor(type, status), status)).toBe(type);
  });

  it.each([
    ["invalid_request_error", 400, "invalid_request_error"],
    ["invalid_request_error", 404, "not_found_error"],
    ["authentication_error", 401, "authentication_error"],
    ["permission_error", 403, "permission_error"],
    ["insufficient_quota", 402, "billing_error"],
    ["rate_limit_error", 429, "rate_limit_error"],
    ["invalid_request_error", 413, "request_too_large"],
    ["service_unavailable_error", 503, "overloaded_error"],
    ["upstream_error", 502, "api_error"],
    ["server_error", 500, "api_error"],
    ["timeout_error", 504, "timeout_error"],
    ["invalid_request_error", 409, "invalid_request_error"],
    ["invalid_request_error", 499, "invalid_request_error"],
    ["something_new", 503, "api_error"],
  ])("maps %s with %d to %s", (openAiType, status, expected) => {
    expect(anthropicTypeFor(openAiType, status)).toBe(expected);
  });

  it.each([
    ["overloaded_error", "service_unavailable_error"],
    ["billing_error", "insufficient_quota"],
    ["api_error", "server_error"],
    ["request_too_large", "invalid_request_error"],
  ])("maps %s back to %s", (type, expected) => {
    expect(openAiTypeFor(type, 500)).toBe(expected);
  });
});

describe("anthropicErrorBody", () => {
  it("writes the Anthropic shape", () => {
    expect(
      anthropicErrorBody(429, "rate_limit_error", "Slow down", "req_1"),
    ).toEqual({
      type: "error",
      error: { type: "rate_limit_error", message: "Slow down" },
      request_id: "req_1",
    });
  });

  it("maps the proxy's own types", () => {
    const body = anthropicErrorBody(402, "insufficient_quota", "No credit") as {
      error: { type: string };
    };

    expect(body.error.type).toBe("billing_error");
  });

  it("derives the type from the status", () => {
    const body = anthropicErrorBody(529, null, "Overloaded") as {
      error: { type: string };
    };

    expect(body.error.type).toBe("overloaded_error");
  });

  it("frames a stream error event", () => {
    expect(anthropicErrorEvent("overloaded_error", "Overloaded")).toBe(
      'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n',
    );
  });
});

describe("anthropicUpstreamHttpError", () => {
  const body = (type: string, message: string) =>
    JSON.stringify({ type: "error", error: { type, message } });

  it("passes caller errors on", () => {
    const error = anthropicUpstreamHttpError(
      400,
      body("invalid_request_error", "max_tokens: Field required"),
      {},
      "anthropic",
      KEY,
    );

    expect(error.status).toBe(400);
    expect(error.type).toBe("invalid_request_error");
    expect(error.message).toBe("max_tokens: Field required");
  });

  it("hides a rejected provider key", () => {
    const error = anthropicUpstreamHttpError(
      401,
      body("authentication_error", `invalid x-api-key ${KEY}`),
      {},
      "anthropic",
      KEY,
    );

    expect(error.status).toBe(502);
    expect(error.code).toBe("upstream_auth_failed");
    expect(error.message).not.toContain(KEY);
  });

  it("keeps retry-after on 429", () => {
    const error = anthropicUpstreamHttpError(
      429,
      body(
        "rate_limit_error",
        "Number of request tokens has exceeded your per-minute rate limit",
      ),
      {
        "retry-after": "17",
        "anthropic-ratelimit-tokens-reset": "2026-01-01T00:00:00Z",
      },
      "anthropic",
      KEY,
    );

    expect(error.status).toBe(429);
    expect(error.headers).toEqual({
      "retry-after": "17",
      "anthropic-ratelimit-tokens-reset": "2026-01-01T00:00:00Z",
    });
  });

  it("turns 529 into a retryable 503", () => {
    const error = anthropicUpstreamHttpError(
      529,
      body("overloaded_error", "Overloaded"),
      {},
      "anthropic",
      KEY,
    );

    expect(error.status).toBe(503);
    expect(error.type).toBe("service_unavailable_error");
    expect(anthropicTypeFor(error.type, error.status)).toBe("overloaded_error");
  });

  it("turns 500 into 502", () => {
    const error = anthropicUpstreamHttpError(
      500,
      body("api_error", "Internal"),
      {},
      "anthropic",
      KEY,
    );

    expect(error.status).toBe(502);
    expect(error.message).toContain("Internal");
  });
});
