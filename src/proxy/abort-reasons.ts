import { SHUTDOWN_REASON } from "./in-flight.service";

/** Message of the abort reason a call receives when its provider exceeds the total or first-token timeout. */
export const UPSTREAM_TIMEOUT_REASON = "provider timed out";

/** Tells why a call was aborted, by the reason it was aborted with: shutdown, a provider timeout, or the client leaving. */
export function abortClass(signal: AbortSignal): string {
  const reason = signal.reason as { message?: unknown } | undefined;
  if (reason?.message === SHUTDOWN_REASON) {
    return "shutdown";
  }
  if (reason?.message === UPSTREAM_TIMEOUT_REASON) {
    return "upstream_timeout";
  }
  return "client_closed";
}

/** Classifies a failure while reading a provider's body that was not an abort. */
export function classifyBodyError(error: unknown): string {
  const code = (error as { code?: unknown })?.code;
  return code === "UND_ERR_BODY_TIMEOUT"
    ? "upstream_timeout"
    : "upstream_stream_broken";
}
