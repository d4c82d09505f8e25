import { ServerResponse } from "node:http";

import { scrubSecret } from "../openai/upstream-errors";

/**
 * Wraps a client's response so that every text written to it has `secret` replaced, whatever relay writes it:
 * a provider that echoes its own key inside generated content must not hand it to the client. Relays write
 * whole SSE events, so a key is never split across two writes. Everything else reaches the response unchanged.
 */
export function scrubbingClient(
  client: ServerResponse,
  secret: string,
): ServerResponse {
  return new Proxy(client, {
    get(target, property) {
      if (property === "write") {
        return (chunk: unknown, ...rest: unknown[]) =>
          (target.write as (...args: unknown[]) => boolean)(
            typeof chunk === "string" ? scrubSecret(chunk, secret) : chunk,
            ...rest,
          );
      }

      const value: unknown = Reflect.get(target, property, target);
      return typeof value === "function"
        ? (value as (...args: unknown[]) => unknown).bind(target)
        : value;
    },
  });
}
