import { IncomingMessage, ServerResponse } from "node:http";

import { FastifyBaseLogger } from "fastify";
import pino, { Logger } from "pino";

import { AppConfig } from "../config/config.schema";

/** Log keys whose values are replaced before a line is written, wherever they appear one level down. */
const REDACTED_PATHS = [
  "req.headers.authorization",
  'req.headers["x-api-key"]',
  "req.headers.cookie",
  "*.authorization",
  "*.apiKey",
  "*.api_key",
  "*.token",
  "*.password",
  "*.secret",
];

/** The probes that orchestrators call every few seconds; their requests are not logged. */
const HEALTH_PROBES = new Set(["/health/live", "/health/ready"]);

/** Bytes of log lines gathered before a write, and the longest a line waits for one, in milliseconds. */
const LOG_BUFFER_BYTES = 4096;
const LOG_FLUSH_MS = 200;

/**
 * Creates the process's root logger: JSON lines on standard output, secret-looking keys redacted. Lines are written
 * asynchronously, so a request does not wait for the write, and gathered up to 4 KiB or 200 ms per system call,
 * because one write per line cost a tenth of a millisecond of the request's core. pino flushes what is buffered
 * when the process exits; a process killed outright loses at most the last 200 ms of lines.
 */
export function createRootLogger(config: AppConfig): Logger {
  return pino(
    {
      level: config.logging.level,
      redact: { paths: REDACTED_PATHS, censor: "[redacted]" },
      // Fastify's own error lines pass the whole request and reply; only these fields of them are logged.
      serializers: {
        req: (request: { method?: string; url?: string }) => ({
          method: request.method,
          url: request.url?.split("?")[0],
        }),
        res: (response: { statusCode?: number }) => ({
          statusCode: response.statusCode,
        }),
      },
    },
    pino.destination({
      dest: 1,
      sync: false,
      minLength: LOG_BUFFER_BYTES,
      periodicFlush: LOG_FLUSH_MS,
    }),
  );
}

/**
 * Logs one line per request once its response has ended, or once the connection closed before it could. The line
 * goes through the request's logger, Fastify's child of the root, which carries the request id. It contains the
 * method, the path without the query string (which may carry a token sent in the wrong place), the status and the
 * duration. The liveness and readiness probes are not logged. Statuses from 500 log at error, from 400 at warn.
 */
export function logWhenFinished(
  log: FastifyBaseLogger,
  request: IncomingMessage,
  response: ServerResponse,
): void {
  const path = (request.url ?? "").split("?")[0];
  if (HEALTH_PROBES.has(path)) {
    return;
  }

  const started = performance.now();
  response.once("close", () => {
    const responseTime = Math.round(performance.now() - started);
    const req = { method: request.method, url: path };
    if (!response.writableFinished) {
      // A status that was never sent is not logged as if it had been.
      const entry = response.headersSent
        ? { req, res: { statusCode: response.statusCode }, responseTime }
        : { req, responseTime };
      log.warn(entry, "request aborted before the response ended");
      return;
    }

    const entry = {
      req,
      res: { statusCode: response.statusCode },
      responseTime,
    };
    if (response.statusCode >= 500) {
      log.error(entry, "request completed");
    } else if (response.statusCode >= 400) {
      log.warn(entry, "request completed");
    } else {
      log.info(entry, "request completed");
    }
  });
}
