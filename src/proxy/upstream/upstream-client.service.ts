import {
  Inject,
  Injectable,
  Logger,
  OnApplicationShutdown,
} from "@nestjs/common";
import { Dispatcher, errors, Pool } from "undici";

import { APP_CONFIG } from "../../config/config.module";
import { AppConfig } from "../../config/config.schema";

export interface UpstreamCall {
  baseUrl: string;
  /** Path below the base URL, e.g. `/chat/completions`. */
  path: string;
  method: "GET" | "POST";
  headers: Record<string, string>;
  body?: string;
  signal: AbortSignal;
  /** Time to open a connection, in milliseconds; defaults to `proxy.connectTimeoutMs`. */
  connectTimeoutMs?: number;
  /** Time until the response headers arrive, in milliseconds; defaults to `proxy.headersTimeoutMs`. */
  headersTimeoutMs?: number;
}

export type UpstreamResponse = Dispatcher.ResponseData;

/** Codes of connection failures that happen before a request is sent, so the provider never saw it. */
const NOT_SENT_CODES = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "UND_ERR_CONNECT_TIMEOUT",
]);

/** Whether an error from {@link UpstreamClient.send} means the request never reached the provider. */
export function neverReachedProvider(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  return typeof code === "string" && NOT_SENT_CODES.has(code);
}

/** Whether an error is undici's timeout waiting for response headers or for the next body chunk. */
export function isUpstreamTimeout(error: unknown): boolean {
  return (
    error instanceof errors.HeadersTimeoutError ||
    error instanceof errors.BodyTimeoutError
  );
}

/**
 * Sends requests to providers over one keep-alive connection pool per origin. Responses are not decompressed,
 * so the proxy asks for identity encoding.
 */
@Injectable()
export class UpstreamClient implements OnApplicationShutdown {
  private readonly logger = new Logger(UpstreamClient.name);
  private readonly pools = new Map<string, Pool>();

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  async send(call: UpstreamCall): Promise<UpstreamResponse> {
    const url = new URL(call.baseUrl);
    const pool = this.poolFor(
      url.origin,
      call.connectTimeoutMs ?? this.config.proxy.connectTimeoutMs,
    );

    return pool.request({
      path: `${url.pathname.replace(/\/+$/, "")}${call.path}`,
      method: call.method,
      headers: { ...call.headers, "accept-encoding": "identity" },
      body: call.body,
      signal: call.signal,
      headersTimeout:
        call.headersTimeoutMs ?? this.config.proxy.headersTimeoutMs,
      bodyTimeout: this.config.proxy.bodyIdleTimeoutMs,
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all([...this.pools.values()].map((pool) => pool.close()));
    this.pools.clear();
  }

  /** One pool per origin and connect timeout, since undici sets the connect timeout per pool. */
  private poolFor(origin: string, connectTimeoutMs: number): Pool {
    const key = `${connectTimeoutMs} ${origin}`;
    let pool = this.pools.get(key);
    if (!pool) {
      pool = new Pool(origin, {
        connections: this.config.proxy.connectionsPerProvider,
        connectTimeout: connectTimeoutMs,
        keepAliveTimeout: 30_000,
      });
      this.pools.set(key, pool);
      this.logger.log({
        msg: "opened upstream connection pool",
        origin,
        connectTimeoutMs,
      });
    }
    return pool;
  }
}
