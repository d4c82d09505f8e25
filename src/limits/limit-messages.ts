import type { ClientLimitName } from "../billing/accounting.service";

/**
 * Returns the error message for a request that a client limit rejected, with the wait in seconds. The proxy
 * sends it with status 429 and a `Retry-After` header of the same number of seconds.
 */
export function limitMessage(
  limit: ClientLimitName,
  retryAfterSeconds: number,
): string {
  const retry = `Retry after ${retryAfterSeconds} s.`;
  switch (limit) {
    case "requests_per_minute":
      return `This client reached its limit of requests per minute. ${retry}`;
    case "tokens_per_minute":
      return (
        "This request would exceed this client's limit of tokens per minute, counted as the prompt bound plus " +
        `max_tokens until the request finishes. ${retry} A request larger than the whole limit never fits: lower max_tokens.`
      );
    case "concurrent_requests":
      return `This client has as many requests in progress as its limit allows. ${retry}`;
    case "daily_budget":
      return (
        "This request could cost more than what is left of this client's daily budget, counting the worst case " +
        `of the requests in progress. ${retry} Lower max_tokens, or ask an operator to raise the budget.`
      );
    case "monthly_budget":
      return (
        "This request could cost more than what is left of this client's monthly budget, counting the worst case " +
        `of the requests in progress. ${retry} Lower max_tokens, or ask an operator to raise the budget.`
      );
  }
}

/** The error code the proxy sends with each limit, in OpenAI's error format. */
export function limitErrorCode(limit: ClientLimitName): string {
  return limit === "daily_budget" || limit === "monthly_budget"
    ? "budget_exceeded"
    : "rate_limit_exceeded";
}
