import http from "node:http";
import type { AddressInfo } from "node:net";

import { StreamRelay } from "../../src/proxy/endpoint";
import { RelayOutcome } from "../../src/proxy/openai/chat-stream-relay";

/** What a relay wrote to a real HTTP client, and the outcome it returned. */
export interface RelayRun {
  outcome: RelayOutcome;
  /** Body text the client received. */
  received: string;
}

/**
 * Runs a relay inside a real HTTP server on 127.0.0.1 and reads its output with a real client. `body` creates the
 * provider body from the call's signal. With `hangUpAfter`, the client closes the connection once it has
 * received that text, and the signal is aborted as the pipeline does when a client leaves.
 */
export async function runRelay(
  createRelay: (
    client: http.ServerResponse,
    signal: AbortSignal,
  ) => StreamRelay,
  body: (signal: AbortSignal) => AsyncIterable<Buffer>,
  options: { hangUpAfter?: string } = {},
): Promise<RelayRun> {
  let resolveOutcome: (outcome: RelayOutcome) => void = () => {};
  const outcome = new Promise<RelayOutcome>((resolve) => {
    resolveOutcome = resolve;
  });

  const server = http.createServer((_req, res) => {
    const controller = new AbortController();
    res.once("close", () => {
      if (!res.writableFinished) {
        controller.abort(new Error("client closed the connection"));
      }
    });
    res.writeHead(200, { "content-type": "text/event-stream" });
    res.flushHeaders();

    void createRelay(res, controller.signal)
      .run(body(controller.signal))
      .then((result) => {
        res.end();
        resolveOutcome(result);
      });
  });
  await new Promise<void>((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve()),
  );

  try {
    const port = (server.address() as AddressInfo).port;
    const received = await readBody(port, options.hangUpAfter);
    return { outcome: await outcome, received };
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

function readBody(port: number, hangUpAfter?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: "127.0.0.1", port, path: "/" }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (piece: string) => {
        text += piece;
        if (hangUpAfter !== undefined && text.includes(hangUpAfter)) {
          req.destroy();
          resolve(text);
        }
      });
      res.on("end", () => resolve(text));
      res.on("error", reject);
    });
    req.on("error", (error) => {
      if (!req.destroyed) {
        reject(error);
      }
    });
  });
}

/**
 * Returns a provider body that yields each piece on its own turn of the event loop, then ends or fails. Like an
 * HTTP client's body, it throws the abort reason once the call's signal is aborted.
 */
export function providerBody(
  pieces: string[],
  options: { failWith?: Error; waitBeforeEachMs?: number } = {},
): (signal: AbortSignal) => AsyncIterable<Buffer> {
  return (signal) => bodyPieces(pieces, signal, options);
}

async function* bodyPieces(
  pieces: string[],
  signal: AbortSignal,
  options: { failWith?: Error; waitBeforeEachMs?: number },
): AsyncIterable<Buffer> {
  for (const piece of pieces) {
    await new Promise((resolve) =>
      setTimeout(resolve, options.waitBeforeEachMs ?? 0),
    );
    signal.throwIfAborted();
    yield Buffer.from(piece, "utf8");
  }
  if (options.failWith) {
    throw options.failWith;
  }
}

/** Splits SSE text into its `data:` payloads, in order. */
export function dataLines(received: string): string[] {
  return received
    .split("\n")
    .filter((line) => line.startsWith("data: "))
    .map((line) => line.slice("data: ".length));
}
