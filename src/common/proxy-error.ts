import { HttpStatus } from "@nestjs/common";

/** OpenAI's error `type` values used by the proxy. */
export type OpenAiErrorType =
  | "invalid_request_error"
  | "authentication_error"
  | "permission_error"
  | "not_found_error"
  | "insufficient_quota"
  | "rate_limit_error"
  | "server_error"
  | "service_unavailable_error"
  | "upstream_error"
  | "timeout_error";

export interface ProxyErrorOptions {
  status: number;
  type: OpenAiErrorType;
  /** Stable machine-readable code, e.g. `invalid_api_key`. */
  code: string;
  param?: string | null;
  /** Log level the global filter uses for this error. */
  logLevel?: "warn" | "log" | "error" | "debug";
  headers?: Record<string, string>;
}

/**
 * A failure of a `/v1` call, answered in OpenAI's error format by the global filter. The message is shown to the
 * caller, so it never contains secrets or internals.
 */
export class ProxyError extends Error {
  readonly status: number;
  readonly type: OpenAiErrorType;
  readonly code: string;
  readonly param: string | null;
  readonly logLevel: "warn" | "log" | "error" | "debug";
  readonly headers: Record<string, string>;

  constructor(message: string, options: ProxyErrorOptions) {
    super(message);
    this.status = options.status;
    this.type = options.type;
    this.code = options.code;
    this.param = options.param ?? null;
    this.logLevel = options.logLevel ?? "debug";
    this.headers = options.headers ?? {};
  }

  toBody() {
    return {
      error: {
        message: this.message,
        type: this.type,
        param: this.param,
        code: this.code,
      },
    };
  }

  /** The same error in Anthropic's format, for clients of `/v1/messages`. */
  toAnthropicBody() {
    return {
      type: "error",
      error: { type: anthropicErrorType(this.status), message: this.message },
    };
  }
}

/** Anthropic's error type for an HTTP status, as its API documents them; other 4xx are `invalid_request_error`. */
export function anthropicErrorType(status: number): string {
  switch (status) {
    case 401:
      return "authentication_error";
    case 402:
      return "billing_error";
    case 403:
      return "permission_error";
    case 404:
      return "not_found_error";
    case 413:
      return "request_too_large";
    case 429:
      return "rate_limit_error";
    case 504:
      return "timeout_error";
    case 529:
    case 503:
      return "overloaded_error";
    default:
      return status >= 500 ? "api_error" : "invalid_request_error";
  }
}

/** Which error format a path's callers expect: Anthropic's on the Messages API, OpenAI's on the other proxy routes. */
export function errorDialect(url: string): "anthropic" | "openai" | "nest" {
  if (url.startsWith("/v1/messages")) {
    return "anthropic";
  }
  return url.startsWith("/v1/") || url.startsWith("/api/") ? "openai" : "nest";
}

export const invalidRequest = (
  message: string,
  code: string,
  param: string | null = null,
) =>
  new ProxyError(message, {
    status: HttpStatus.BAD_REQUEST,
    type: "invalid_request_error",
    code,
    param,
  });

export const unauthorized = (message: string, code = "invalid_api_key") =>
  new ProxyError(message, {
    status: HttpStatus.UNAUTHORIZED,
    type: "authentication_error",
    code,
  });
