import { IncomingHttpHeaders } from "node:http";

import { OpenAiErrorType, ProxyError } from "../../common/proxy-error";
import {
  isUpstreamTimeout,
  neverReachedProvider,
} from "../upstream/upstream-client.service";

/** Provider statuses whose error is about the caller's request, so it is passed on as it came. */
export const CALLER_ERRORS = new Set([400, 404, 409, 413, 422]);

/** Rate-limit headers, OpenAI's and Anthropic's, copied from a provider's 429 so clients can wait as long as it says. */
const RETRY_HEADERS = [
  "retry-after",
  "retry-after-ms",
  "x-ratelimit-reset-requests",
  "x-ratelimit-reset-tokens",
  "anthropic-ratelimit-requests-reset",
  "anthropic-ratelimit-tokens-reset",
  "anthropic-ratelimit-input-tokens-reset",
  "anthropic-ratelimit-output-tokens-reset",
];

/** Shortest secret scrubbed from provider messages; shorter values would match ordinary text. */
const MIN_SCRUBBED_LENGTH = 8;

/**
 * Replaces every occurrence of a secret (the provider key the proxy sent) in text from a provider, since some
 * providers quote the key they rejected and their errors are passed on to the client.
 */
export function scrubSecret(text: string, secret: string): string {
  if (secret.length < MIN_SCRUBBED_LENGTH || !text.includes(secret)) {
    return text;
  }
  return text.split(secret).join("[redacted]");
}

/**
 * {@link scrubSecret} for every string in a parsed JSON value. Scrubbing after parsing also catches a secret
 * that the provider wrote with `\uXXXX` escapes, which the raw text does not show.
 */
export function scrubSecretDeep(value: unknown, secret: string): unknown {
  if (typeof value === "string") {
    return scrubSecret(value, secret);
  }
  if (Array.isArray(value)) {
    return value.map((item) => scrubSecretDeep(item, secret));
  }
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [
        scrubSecret(key, secret),
        scrubSecretDeep(item, secret),
      ]),
    );
  }
  return value;
}

/** The fields of a provider's error body that the client-facing error uses, read with the provider key scrubbed. */
export interface ProviderErrorFields {
  message?: string;
  type?: string;
  code?: string;
  param?: string;
  /** The provider says it is overloaded (Anthropic's `overloaded_error`), which is worth retrying later. */
  overloaded?: boolean;
}

/** Reads an error body in a provider's own format; `status` lets a format derive the type from it. */
export type ProviderErrorParser = (
  bodyText: string,
  providerKey: string,
  status: number,
) => ProviderErrorFields | null;

/**
 * Maps a provider's error response to the error the client receives, whatever the provider's format: errors
 * about the request pass on as they came, a rejected provider key becomes a 502 that names the provider, a 429
 * keeps its retry headers, an overload (529) becomes a retryable 503, and other failures become a 502.
 */
export function upstreamHttpError(
  status: number,
  bodyText: string,
  headers: IncomingHttpHeaders,
  providerName: string,
  providerKey: string,
  parse: ProviderErrorParser = parseOpenAiError,
): ProxyError {
  const upstream = parse(bodyText, providerKey, status);

  if (CALLER_ERRORS.has(status)) {
    return new ProxyError(
      upstream?.message ??
        `The provider rejected the request (HTTP ${status}).`,
      {
        status,
        type:
          (upstream?.type as OpenAiErrorType | undefined) ??
          "invalid_request_error",
        code: upstream?.code ?? "upstream_rejected",
        param: upstream?.param ?? null,
      },
    );
  }

  if (status === 401 || status === 403) {
    return new ProxyError(
      `The provider '${providerName}' rejected the proxy's credentials (HTTP ${status}). ` +
        "An operator must check the provider's API key.",
      {
        status: 502,
        type: "upstream_error",
        code: "upstream_auth_failed",
        logLevel: "error",
      },
    );
  }

  if (status === 429) {
    return new ProxyError(
      upstream?.message ??
        "The provider is rate limiting requests. Retry later.",
      {
        status: 429,
        type: "rate_limit_error",
        code: upstream?.code ?? "rate_limit_exceeded",
        headers: copyHeaders(headers, RETRY_HEADERS),
        logLevel: "warn",
      },
    );
  }

  if (status === 529 || upstream?.overloaded === true) {
    return new ProxyError(
      `The provider '${providerName}' is overloaded. Retry later.`,
      {
        status: 503,
        type: "service_unavailable_error",
        code: "upstream_overloaded",
        headers: copyHeaders(headers, ["retry-after"]),
        logLevel: "warn",
      },
    );
  }

  return new ProxyError(
    `The provider '${providerName}' failed (HTTP ${status})${upstream?.message ? `: ${upstream.message}` : "."}`,
    {
      status: 502,
      type: "upstream_error",
      code: "upstream_server_error",
      logLevel: "warn",
    },
  );
}

/** Maps a transport failure (no usable response) to the error the client receives. */
export function upstreamFailure(
  error: unknown,
  signal: AbortSignal,
): ProxyError {
  if (signal.aborted) {
    return new ProxyError(
      "The request was cancelled before the provider answered.",
      {
        status: 499,
        type: "invalid_request_error",
        code: "request_cancelled",
      },
    );
  }
  if (isUpstreamTimeout(error)) {
    return new ProxyError("The provider did not answer in time.", {
      status: 504,
      type: "timeout_error",
      code: "upstream_timeout",
      logLevel: "warn",
    });
  }
  if (neverReachedProvider(error)) {
    return new ProxyError(
      "The provider could not be reached. Nothing was charged.",
      {
        status: 502,
        type: "upstream_error",
        code: "upstream_unreachable",
        logLevel: "warn",
      },
    );
  }

  return new ProxyError(
    "The connection to the provider failed before its answer was complete.",
    {
      status: 502,
      type: "upstream_error",
      code: "upstream_connection_failed",
      logLevel: "warn",
    },
  );
}

/** The fields of an OpenAI error body, with the provider key scrubbed from each. */
function parseOpenAiError(
  text: string,
  providerKey: string,
): ProviderErrorFields | null {
  try {
    const parsed = scrubSecretDeep(JSON.parse(text), providerKey) as {
      error?: Record<string, unknown>;
    };
    const error = parsed.error;
    if (typeof error !== "object" || error === null) {
      return null;
    }
    return {
      message: typeof error.message === "string" ? error.message : undefined,
      type: typeof error.type === "string" ? error.type : undefined,
      code: typeof error.code === "string" ? error.code : undefined,
      param: typeof error.param === "string" ? error.param : undefined,
    };
  } catch {
    return null;
  }
}

function copyHeaders(
  headers: IncomingHttpHeaders,
  names: string[],
): Record<string, string> {
  const copied: Record<string, string> = {};
  for (const name of names) {
    const value = headers[name];
    if (typeof value === "string") {
      copied[name] = value;
    }
  }
  return copied;
}
