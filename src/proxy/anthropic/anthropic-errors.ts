import { IncomingHttpHeaders } from "node:http";

import { OpenAiErrorType, ProxyError } from "../../common/proxy-error";
import {
  CALLER_ERRORS,
  scrubSecretDeep,
  upstreamHttpError,
} from "../openai/upstream-errors";

/** Anthropic's `error.type` values, as its API and SDK list them. */
export type AnthropicErrorType =
  | "invalid_request_error"
  | "authentication_error"
  | "billing_error"
  | "permission_error"
  | "not_found_error"
  | "request_too_large"
  | "rate_limit_error"
  | "api_error"
  | "timeout_error"
  | "overloaded_error";

/** The HTTP status Anthropic sends with each error type. */
const STATUS_OF_TYPE: Record<AnthropicErrorType, number> = {
  invalid_request_error: 400,
  authentication_error: 401,
  billing_error: 402,
  permission_error: 403,
  not_found_error: 404,
  request_too_large: 413,
  rate_limit_error: 429,
  api_error: 500,
  timeout_error: 504,
  overloaded_error: 529,
};

/** Statuses that name one Anthropic error type whatever the proxy's own type says. */
const TYPE_OF_STATUS: Record<number, AnthropicErrorType> = {
  401: "authentication_error",
  402: "billing_error",
  403: "permission_error",
  404: "not_found_error",
  413: "request_too_large",
  429: "rate_limit_error",
  504: "timeout_error",
  529: "overloaded_error",
};

const ANTHROPIC_TYPE_OF_OPENAI: Record<OpenAiErrorType, AnthropicErrorType> = {
  invalid_request_error: "invalid_request_error",
  authentication_error: "authentication_error",
  permission_error: "permission_error",
  not_found_error: "not_found_error",
  insufficient_quota: "billing_error",
  rate_limit_error: "rate_limit_error",
  server_error: "api_error",
  service_unavailable_error: "overloaded_error",
  upstream_error: "api_error",
  timeout_error: "timeout_error",
};

const OPENAI_TYPE_OF_ANTHROPIC: Record<AnthropicErrorType, OpenAiErrorType> = {
  invalid_request_error: "invalid_request_error",
  authentication_error: "authentication_error",
  billing_error: "insufficient_quota",
  permission_error: "permission_error",
  not_found_error: "not_found_error",
  request_too_large: "invalid_request_error",
  rate_limit_error: "rate_limit_error",
  api_error: "server_error",
  timeout_error: "timeout_error",
  overloaded_error: "service_unavailable_error",
};

/** The fields of an Anthropic error body. */
export interface AnthropicErrorFields {
  type: string;
  message: string;
}

function isAnthropicType(value: string): value is AnthropicErrorType {
  return Object.hasOwn(STATUS_OF_TYPE, value);
}

/**
 * The Anthropic error type for an error the proxy raised with an OpenAI `type`. A status that Anthropic reserves
 * for one type (401, 402, 403, 404, 413, 429, 504, 529) decides; otherwise the OpenAI type does, and a 5xx
 * falls back to `api_error`.
 */
export function anthropicTypeFor(
  openAiType: string,
  status: number,
): AnthropicErrorType {
  const byStatus = TYPE_OF_STATUS[status];
  if (byStatus !== undefined) {
    return byStatus;
  }

  const byType = ANTHROPIC_TYPE_OF_OPENAI[openAiType as OpenAiErrorType];
  if (byType !== undefined) {
    return byType;
  }

  return status >= 500 ? "api_error" : "invalid_request_error";
}

/** The proxy's OpenAI error type for an Anthropic error type; unknown types go by their status. */
export function openAiTypeFor(
  anthropicType: string,
  status: number,
): OpenAiErrorType {
  if (isAnthropicType(anthropicType)) {
    return OPENAI_TYPE_OF_ANTHROPIC[anthropicType];
  }
  return status >= 500 ? "server_error" : "invalid_request_error";
}

/** The status Anthropic sends with an error type, e.g. 529 for `overloaded_error`; 500 for unknown types. */
export function anthropicStatusFor(anthropicType: string): number {
  return isAnthropicType(anthropicType) ? STATUS_OF_TYPE[anthropicType] : 500;
}

/**
 * Builds an Anthropic error body, `{"type":"error","error":{"type","message"}}`, for an error sent to a client
 * of `/v1/messages`. `type` may be an OpenAI type, which is mapped with {@link anthropicTypeFor}; null picks the
 * type from the status alone.
 */
export function anthropicErrorBody(
  status: number,
  type: string | null,
  message: string,
  requestId?: string,
): Record<string, unknown> {
  const anthropicType =
    type !== null && isAnthropicType(type) && !(status in TYPE_OF_STATUS)
      ? type
      : anthropicTypeFor(type ?? "", status);
  const body: Record<string, unknown> = {
    type: "error",
    error: { type: anthropicType, message },
  };
  if (requestId !== undefined) {
    body.request_id = requestId;
  }
  return body;
}

/** An SSE `error` event in Anthropic's stream format, ending a stream that broke after its 200 header. */
export function anthropicErrorEvent(
  type: AnthropicErrorType,
  message: string,
): string {
  const data = JSON.stringify({ type: "error", error: { type, message } });
  return `event: error\ndata: ${data}\n\n`;
}

/**
 * Reads an Anthropic error body (`{"type":"error","error":{"type","message"}}`) with the provider key scrubbed
 * from every string, or null when the text is not such a body.
 */
export function parseAnthropicError(
  bodyText: string,
  providerKey: string,
): AnthropicErrorFields | null {
  let parsed: unknown;
  try {
    parsed = scrubSecretDeep(JSON.parse(bodyText), providerKey);
  } catch {
    return null;
  }

  const error = (parsed as { error?: unknown } | null)?.error;
  if (typeof error !== "object" || error === null) {
    return null;
  }
  const fields = error as Record<string, unknown>;
  if (typeof fields.type !== "string" || typeof fields.message !== "string") {
    return null;
  }
  return { type: fields.type, message: fields.message };
}

/**
 * Maps an Anthropic provider's error response to the error the client receives, with the policy every provider
 * kind shares; only the body is read in Anthropic's format, and its error type becomes the code of a passed-on
 * caller error.
 */
export function anthropicUpstreamHttpError(
  status: number,
  bodyText: string,
  headers: IncomingHttpHeaders,
  providerName: string,
  providerKey: string,
): ProxyError {
  return upstreamHttpError(
    status,
    bodyText,
    headers,
    providerName,
    providerKey,
    (text, key) => {
      const upstream = parseAnthropicError(text, key);
      return {
        message: upstream?.message,
        type: openAiTypeFor(upstream?.type ?? "", status),
        code: CALLER_ERRORS.has(status) ? upstream?.type : undefined,
        overloaded: upstream?.type === "overloaded_error",
      };
    },
  );
}
