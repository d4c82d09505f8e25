import { randomUUID } from "node:crypto";
import { IncomingMessage } from "node:http";

/**
 * Accepted caller-chosen request ids: 1 to 120 characters that are safe in a file name and a log line. The stored
 * column holds 128, which leaves room for the `~N` suffix of failover attempts.
 */
const REQUEST_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,119}$/;

export const REQUEST_ID_HEADER = "x-request-id";

/** Set on the raw request when the caller sent an X-Request-Id that is not acceptable. */
export const REJECTED_REQUEST_ID = Symbol("rejectedRequestId");

type RawRequest = IncomingMessage & { [REJECTED_REQUEST_ID]?: string };

/**
 * Chooses the id of an incoming request: the caller's X-Request-Id when it is acceptable, else a new one. The id
 * tags every log line and is the idempotency key of the request's accounting record.
 */
export function assignRequestId(request: IncomingMessage): string {
  const header = request.headers[REQUEST_ID_HEADER];
  const value = Array.isArray(header) ? header[0] : header;

  if (value !== undefined && REQUEST_ID.test(value)) {
    return value;
  }
  if (value !== undefined) {
    (request as RawRequest)[REJECTED_REQUEST_ID] = value;
  }

  return `req_${randomUUID().replace(/-/g, "")}`;
}

/** Returns the unacceptable X-Request-Id the caller sent, if any. */
export function rejectedRequestId(
  request: IncomingMessage,
): string | undefined {
  return (request as RawRequest)[REJECTED_REQUEST_ID];
}
