/*
 * Reading provider bodies: the first chunk within a timeout, whole JSON bodies up to a cap, and the errors that
 * transport failures become.
 */
import { ProxyError } from "../../common/proxy-error";
import { abortClass } from "../abort-reasons";
import { SseParser } from "../sse/sse-parser";
import { upstreamFailure } from "../openai/upstream-errors";
import { UpstreamResponse } from "../upstream/upstream-client.service";
import { timeoutError } from "./pipeline-errors";

/** Largest upstream JSON body read into memory, in bytes. */
export const MAX_UPSTREAM_JSON_BYTES = 64 * 1024 * 1024;

/** Messages of the error event that ends a stream the provider or the proxy cut short. */
export const STREAM_ERRORS: Record<string, string> = {
  upstream_stream_broken: "The provider's stream ended before it was complete.",
  upstream_timeout:
    "The provider stopped sending data and the stream timed out.",
  shutdown:
    "The proxy is shutting down and ended the stream before it was complete.",
};

/** What reading the start of a provider's stream gave, within the first-token timeout. */
export type FirstEvent =
  | { kind: "event"; chunks: Buffer[] }
  | { kind: "end" }
  | { kind: "timeout" }
  | { kind: "error"; error: unknown };

/**
 * Reads a provider's SSE body until its first event with data, for up to `timeoutMs`. Comments, keep-alives
 * and half an event do not count, so a provider that only pings, or breaks off mid-event, can still be failed
 * over. Returns the chunks read, to be relayed first.
 */
export async function firstEvent(
  body: AsyncIterator<Buffer>,
  timeoutMs: number,
): Promise<FirstEvent> {
  const parser = new SseParser();
  const chunks: Buffer[] = [];
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), timeoutMs);
  });

  try {
    for (;;) {
      const read = await Promise.race([body.next(), timeout]);
      if (read === "timeout") {
        return { kind: "timeout" };
      }
      if (read.done) {
        return { kind: "end" };
      }

      chunks.push(read.value);
      if (parser.push(read.value).some((event) => event.data !== "")) {
        return { kind: "event", chunks };
      }
    }
  } catch (error) {
    return { kind: "error", error };
  } finally {
    clearTimeout(timer);
  }
}

/** Yields `first`, then the rest of the body. */
export async function* prepend(
  first: Buffer[],
  rest: AsyncIterator<Buffer>,
): AsyncIterable<Buffer> {
  yield* first;
  for (;;) {
    const next = await rest.next();
    if (next.done) {
      return;
    }
    yield next.value;
  }
}

/** Reads a whole body as UTF-8 text; throws when it is larger than `maxBytes`. */
export async function readCapped(
  response: UpstreamResponse,
  maxBytes: number,
): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response.body) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) {
      throw new Error(`upstream body exceeds ${maxBytes} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** Classifies a transport failure: a timeout, or a lost or refused connection. */
export function classifyTransportError(error: unknown): string {
  const code = (error as { code?: unknown })?.code;
  if (code === "UND_ERR_HEADERS_TIMEOUT" || code === "UND_ERR_BODY_TIMEOUT") {
    return "upstream_timeout";
  }
  return "upstream_connection";
}

/** The client-facing error of a transport failure, telling a provider timeout from a lost connection. */
export function transportError(
  error: unknown,
  signal: AbortSignal,
): ProxyError {
  if (
    (signal.aborted && abortClass(signal) === "upstream_timeout") ||
    classifyTransportError(error) === "upstream_timeout"
  ) {
    return timeoutError();
  }
  return upstreamFailure(error, new AbortController().signal);
}
