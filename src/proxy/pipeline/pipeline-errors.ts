import { ClientLimitName } from "../../billing/accounting.service";
import { ProxyError } from "../../common/proxy-error";
import { limitErrorCode, limitMessage } from "../../limits/limit-messages";

/** Why a request found no provider: the name is unknown, or no provider serving it speaks this endpoint. */
export function noRouteError(
  model: string,
  endpoint: string,
  servedElsewhere: boolean,
): ProxyError {
  if (servedElsewhere) {
    return new ProxyError(
      `No provider serving the model '${model}' supports the ${endpoint} endpoint.`,
      {
        status: 400,
        type: "invalid_request_error",
        code: "unsupported_endpoint",
        param: "model",
      },
    );
  }
  return new ProxyError(
    `The model '${model}' does not exist or no provider serves it.`,
    {
      status: 404,
      type: "invalid_request_error",
      code: "model_not_found",
      param: "model",
    },
  );
}

/** Builds the error for a model whose providers all rest after repeated failures; `until` is the first probe time. */
export function restingError(model: string, until: number): ProxyError {
  const seconds = Math.max(1, Math.ceil((until - Date.now()) / 1000));
  return new ProxyError(
    `Every provider serving '${model}' failed repeatedly and is resting. Retry in ${seconds} s.`,
    {
      status: 503,
      type: "service_unavailable_error",
      code: "providers_unavailable",
      headers: { "retry-after": String(seconds) },
      logLevel: "warn",
    },
  );
}

export function admissionError(
  reason:
    "accounting_unavailable" | "insufficient_credit" | "duplicate_request_id",
  subject = "",
): ProxyError {
  switch (reason) {
    case "accounting_unavailable":
      return new ProxyError(
        "The accounting database is unavailable, so the request was not forwarded and nothing was charged. Retry shortly.",
        {
          status: 503,
          type: "service_unavailable_error",
          code: "accounting_unavailable",
          logLevel: "error",
        },
      );
    case "insufficient_credit":
      return new ProxyError(
        `The provider serving '${subject}' has too little prepaid credit left for this request. ` +
          "Lower max_tokens or ask an operator to top up the provider.",
        {
          status: 402,
          type: "insufficient_quota",
          code: "insufficient_credit",
          logLevel: "warn",
        },
      );
    case "duplicate_request_id":
      return new ProxyError(
        `The request id '${subject}' was already used. Answers are not stored, so send a new X-Request-Id.`,
        {
          status: 409,
          type: "invalid_request_error",
          code: "duplicate_request_id",
          logLevel: "warn",
        },
      );
  }
}

/** Builds the 429 for a request a client limit rejected, with Retry-After and the client's rate-limit headers. */
export function limitError(
  limit: ClientLimitName,
  retryAfterSeconds: number,
  rateLimitHeaders: Record<string, string>,
): ProxyError {
  return new ProxyError(limitMessage(limit, retryAfterSeconds), {
    status: 429,
    type: "rate_limit_error",
    code: limitErrorCode(limit),
    headers: { ...rateLimitHeaders, "retry-after": String(retryAfterSeconds) },
    logLevel: "warn",
  });
}

/** Builds the error for a provider that timed out. */
export function timeoutError(): ProxyError {
  return new ProxyError("The provider did not answer in time.", {
    status: 504,
    type: "timeout_error",
    code: "upstream_timeout",
    logLevel: "warn",
  });
}
