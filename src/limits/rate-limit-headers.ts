import type { RateLimitSnapshot } from "../billing/accounting.service";

/**
 * Builds OpenAI's rate-limit response headers from an admission snapshot: `x-ratelimit-limit-requests`,
 * `x-ratelimit-remaining-requests` and `x-ratelimit-reset-requests`, and the same three for tokens. A limit the
 * client does not have gets no headers. Resets are durations in OpenAI's format, such as `1s` or `1m0s`.
 */
export function rateLimitHeaders(
  snapshot: RateLimitSnapshot,
): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const kind of ["requests", "tokens"] as const) {
    const state = snapshot[kind];
    if (!state) {
      continue;
    }

    headers[`x-ratelimit-limit-${kind}`] = String(state.limit);
    headers[`x-ratelimit-remaining-${kind}`] = String(
      Math.max(0, state.remaining),
    );
    headers[`x-ratelimit-reset-${kind}`] = formatDuration(state.resetSeconds);
  }
  return headers;
}

/** Formats whole seconds as a Go-style duration (`45s`, `1m0s`, `2h3m4s`), as OpenAI's reset headers are. */
export function formatDuration(seconds: number): string {
  const total = Math.max(0, Math.ceil(seconds));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const rest = total % 60;
  if (hours > 0) {
    return `${hours}h${minutes}m${rest}s`;
  }
  if (minutes > 0) {
    return `${minutes}m${rest}s`;
  }
  return `${rest}s`;
}
