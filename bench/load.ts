import { Pool } from "undici";

/** A load target: its URL, the headers that authenticate a call, and the model to ask for. */
export interface Target {
  name: string;
  url: string;
  /** Headers for each call; several sets are used round-robin, one per client of the contention scenario. */
  headerSets: Record<string, string>[];
  /** The `model` sent in each body. */
  model: string;
}

export interface Sample {
  /** From sending the request to the last byte of the response, in milliseconds. */
  latencyMs: number;
  /** From sending the request to the first byte of the body, in milliseconds. */
  ttfbMs: number;
}

export interface RunResult {
  samples: Sample[];
  /** Responses with status 200 and a non-empty body read to its end. */
  ok: number;
  /** Failed calls by status code, or by the transport error's code. */
  failures: Record<string, number>;
  elapsedMs: number;
}

export interface CallShape {
  stream: boolean;
  maxTokens: number;
}

const PROMPT = "Say hello to the benchmark in a few words, please.";

function requestBody(target: Target, shape: CallShape): string {
  return JSON.stringify({
    model: target.model,
    messages: [{ role: "user", content: PROMPT }],
    max_tokens: shape.maxTokens,
    stream: shape.stream,
    ...(shape.stream ? { stream_options: { include_usage: true } } : {}),
  });
}

/** A connection pool to one target and the calls made through it. */
export class LoadClient {
  private readonly pool: Pool;
  private readonly body: string;
  private next = 0;

  constructor(
    private readonly target: Target,
    connections: number,
    shape: CallShape,
  ) {
    this.pool = new Pool(target.url, {
      connections,
      pipelining: 1,
      keepAliveTimeout: 60_000,
      headersTimeout: 60_000,
      bodyTimeout: 60_000,
    });
    this.body = requestBody(target, shape);
  }

  /** Sends one call and reads its whole response. Failures are counted in `result`, not thrown. */
  async call(result: RunResult): Promise<void> {
    const headers =
      this.target.headerSets[this.next % this.target.headerSets.length];
    this.next += 1;
    const started = performance.now();
    let ttfb = -1;

    try {
      const response = await this.pool.request({
        path: "/v1/chat/completions",
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: this.body,
      });
      let bytes = 0;
      for await (const chunk of response.body) {
        if (ttfb < 0) {
          ttfb = performance.now() - started;
        }
        bytes += (chunk as Buffer).length;
      }
      const latencyMs = performance.now() - started;

      if (response.statusCode === 200 && bytes > 0) {
        result.ok += 1;
        result.samples.push({ latencyMs, ttfbMs: ttfb < 0 ? latencyMs : ttfb });
      } else {
        const key = String(response.statusCode);
        result.failures[key] = (result.failures[key] ?? 0) + 1;
      }
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      const key = typeof code === "string" ? code : "error";
      result.failures[key] = (result.failures[key] ?? 0) + 1;
    }
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

export function emptyResult(): RunResult {
  return { samples: [], ok: 0, failures: {}, elapsedMs: 0 };
}

/** Sends `count` calls, one at a time. */
export async function runSequential(
  client: LoadClient,
  count: number,
): Promise<RunResult> {
  const result = emptyResult();
  const started = performance.now();
  for (let index = 0; index < count; index += 1) {
    await client.call(result);
  }
  result.elapsedMs = performance.now() - started;
  return result;
}

/** Runs `connections` callers, each sending its next call as soon as the last one is answered, for `durationMs`. */
export async function runClosedLoop(
  client: LoadClient,
  connections: number,
  durationMs: number,
): Promise<RunResult> {
  const result = emptyResult();
  const started = performance.now();
  const deadline = started + durationMs;

  const worker = async () => {
    while (performance.now() < deadline) {
      await client.call(result);
    }
  };
  await Promise.all(Array.from({ length: connections }, worker));
  result.elapsedMs = performance.now() - started;
  return result;
}

/**
 * Starts calls at a fixed rate for `durationMs`, whether or not earlier ones were answered (open loop), over the
 * client's pool; `rate × duration` calls in all.
 */
export async function runFixedRate(
  client: LoadClient,
  ratePerSecond: number,
  durationMs: number,
): Promise<RunResult> {
  const result = emptyResult();
  const total = Math.round((ratePerSecond * durationMs) / 1000);
  const interval = 1000 / ratePerSecond;
  const calls: Promise<void>[] = [];
  const started = performance.now();

  for (let index = 0; index < total; index += 1) {
    const due = started + index * interval;
    const wait = due - performance.now();
    if (wait > 1) {
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
    calls.push(client.call(result));
  }
  await Promise.all(calls);
  result.elapsedMs = performance.now() - started;
  return result;
}

export function percentile(values: number[], fraction: number): number {
  if (values.length === 0) {
    return Number.NaN;
  }
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(
    sorted.length - 1,
    Math.max(0, Math.ceil(fraction * sorted.length) - 1),
  );
  return sorted[index];
}

export function median(values: number[]): number {
  return percentile(values, 0.5);
}
