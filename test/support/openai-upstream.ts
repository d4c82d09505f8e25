import { randomBytes } from "node:crypto";
import http from "node:http";
import type { AddressInfo, Socket } from "node:net";

/**
 * Token counts as OpenAI reports them in `usage`. Missing details are sent as
 * zero counts.
 */
export interface UpstreamUsage {
  prompt_tokens: number;
  completion_tokens: number;
  /** Defaults to prompt_tokens + completion_tokens. */
  total_tokens?: number;
  prompt_tokens_details?: {
    cached_tokens?: number;
    cache_write_tokens?: number;
  } | null;
  completion_tokens_details?: { reasoning_tokens?: number } | null;
}

/** Content of an OpenAI error object. Absent `code` and `param` become null. */
export interface UpstreamError {
  message: string;
  type: string;
  code?: string | null;
  param?: string | null;
}

/**
 * Behaviour of the stand-in for one chat completion request. Every field is
 * optional, and the defaults give a normal three-delta reply with usage.
 *
 * The fault fields (`dieAfterEvents`, `errorEventAfter`, `hangAfterEvents`)
 * count content chunks, the chunks that carry `delta.content`. The first
 * content chunk is preceded by the `role: "assistant"` chunk, so 0 means that
 * only the response headers were sent. A count above the number of content
 * elements acts after the last one, before the `finish_reason` chunk.
 */
export interface ChatScript {
  /** HTTP status. Any status other than 200 returns an OpenAI error body. */
  status?: number;
  /**
   * Error body for a non-200 status, and the error object of the
   * `errorEventAfter` event.
   */
  error?: UpstreamError;
  /** Extra response headers, such as `retry-after`. */
  headers?: Record<string, string>;
  /**
   * Raw body sent with `status` (default 200) and a JSON content type instead of what the script would write,
   * for bodies the stand-in cannot produce by serializing: broken JSON, `\uXXXX` escapes. Either mode.
   */
  rawBody?: string;
  /** Ends a complete stream (finish reason and usage sent) without `data: [DONE]`, as some providers do. */
  omitDone?: boolean;
  /** Reply text, one delta per element. Default ["Hello", " world", "!"]. */
  content?: string[];
  /**
   * Usage to report. null makes the upstream report no usage at all, neither in
   * JSON nor in the stream.
   */
  usage?: UpstreamUsage | null;
  /** Wait in milliseconds before the response headers. */
  delayMs?: number;
  /** Wait in milliseconds between stream events, keep-alives included. */
  chunkGapMs?: number;
  /**
   * Writes the stream body in pieces of this many bytes, splitting lines,
   * events and UTF-8 characters. The stand-in yields to the event loop between
   * pieces, but TCP may still merge pieces before the reader sees them.
   */
  splitBytes?: number;
  /** Ends stream lines with `\r\n` in place of `\n`. */
  crlf?: boolean;
  /**
   * Adds `: ping` comment lines, a comment line inside the finish event, and
   * one data-only keep-alive (`data: ` with an empty payload) after the first
   * content chunk. openai-node 6.49 fails to parse that empty payload as JSON,
   * so only a client that skips empty data can read such a stream.
   */
  keepAliveComments?: boolean;
  /**
   * Destroys the socket after this many content chunks, with no usage chunk and
   * no `[DONE]`.
   */
  dieAfterEvents?: number;
  /**
   * After this many content chunks, sends an event with a top-level `error`
   * object, then `data: [DONE]`.
   */
  errorEventAfter?: number;
  /**
   * After this many content chunks, stops writing but keeps the socket open
   * until the client or `stop()` closes.
   */
  hangAfterEvents?: number;
}

/** One request as the stand-in received it. */
export interface RecordedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  /**
   * Parsed JSON, the raw text when it is not JSON, or undefined when the body
   * was empty.
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary JSON bodies by key
  body: any;
}

const DEFAULT_CONTENT = ["Hello", " world", "!"];
const DEFAULT_USAGE: UpstreamUsage = {
  prompt_tokens: 12,
  completion_tokens: 3,
};
const DEFAULT_MODELS = ["gpt-4o-mini", "gpt-4o"];
const MODEL_CREATED = 1715367049;
const DEFAULT_ABORT_WAIT_MS = 5000;

/** Request fields the stand-in reads, as checked by validateChatRequest. */
interface ChatRequestBody {
  model: string;
  messages: unknown[];
  stream?: unknown;
  stream_options?: { include_usage?: unknown } | null;
}

/**
 * Raised inside a response handler when its connection closed, to stop writing.
 */
class ConnectionClosedError extends Error {}

/**
 * Lifetime of one response: whether its connection closed and who closed it.
 */
interface ResponseState {
  closed: Promise<void>;
  isClosed: boolean;
  /**
   * True when the stand-in destroyed the socket itself (`dieAfterEvents`), so
   * it is no client abort.
   */
  destroyedByUpstream: boolean;
}

/**
 * Stand-in for the OpenAI Chat Completions API on 127.0.0.1, for end-to-end
 * tests. It writes OpenAI's wire format: `chat.completion.chunk` objects,
 * `"usage": null` on every chunk when `stream_options.include_usage` is true,
 * the trailing `choices: []` usage chunk, `data: [DONE]`, and
 * `{"error": {message, type, param, code}}` error bodies. Scripts make it
 * misbehave in the ways real upstreams do.
 */
export class OpenAiUpstream {
  /** Model ids served by `GET /v1/models`. */
  models: string[] = [...DEFAULT_MODELS];

  readonly requests: RecordedRequest[] = [];

  private readonly server = http.createServer();
  private readonly sockets = new Set<Socket>();
  private readonly scriptQueue: ChatScript[] = [];
  private defaultScript: ChatScript = {};
  private port = 0;
  private stopping = false;
  private clientAbortCount = 0;
  private openResponseCount = 0;
  private readonly abortWaiters: Array<{ count: number; resolve: () => void }> =
    [];

  private constructor() {
    this.server.on("connection", (socket: Socket) => {
      this.sockets.add(socket);
      socket.on("close", () => this.sockets.delete(socket));
    });

    this.server.on(
      "request",
      (req: http.IncomingMessage, res: http.ServerResponse) => {
        this.handleRequest(req, res).catch((error: unknown) =>
          this.failResponse(res, error),
        );
      },
    );
  }

  /** Starts a stand-in on 127.0.0.1 with a free port. */
  static async start(): Promise<OpenAiUpstream> {
    const upstream = new OpenAiUpstream();
    await new Promise<void>((resolve, reject) => {
      upstream.server.once("error", reject);
      upstream.server.listen(0, "127.0.0.1", () => {
        upstream.server.off("error", reject);
        resolve();
      });
    });

    upstream.port = (upstream.server.address() as AddressInfo).port;
    return upstream;
  }

  /** Base URL including `/v1`, as the OpenAI SDK's `baseURL` expects it. */
  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}/v1`;
  }

  /**
   * Queues a script for the next chat request. Queued scripts run in FIFO
   * order, and the default script runs when the queue is empty.
   */
  script(next: ChatScript): void {
    this.scriptQueue.push(next);
  }

  /** Replaces the script used when the queue is empty. */
  setDefault(script: ChatScript): void {
    this.defaultScript = script;
  }

  /**
   * Returns the number of open client connections, hung and idle keep-alive
   * ones included. Clients may keep idle connections or open new ones at will
   * (undici's fetch in Node 20 opened a fresh idle connection right after an
   * aborted request), so hang-up checks should prefer {@link openResponses} or
   * {@link waitForClientAbort}.
   */
  activeSockets(): number {
    return this.sockets.size;
  }

  /**
   * Returns the number of chat responses still being written or held open, hung
   * streams included.
   */
  openResponses(): number {
    return this.openResponseCount;
  }

  /**
   * Number of responses whose client closed the connection before the response
   * was complete.
   */
  get clientAborts(): number {
    return this.clientAbortCount;
  }

  /**
   * Resolves once `count` responses in total have been closed early by their
   * client, counting since start, so a close that happened before the call also
   * counts. Rejects after `timeoutMs` milliseconds.
   */
  waitForClientAbort(
    count = 1,
    timeoutMs = DEFAULT_ABORT_WAIT_MS,
  ): Promise<void> {
    if (this.clientAbortCount >= count) {
      return Promise.resolve();
    }

    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(
          new Error(
            `timed out after ${timeoutMs} ms waiting for ${count} client aborts, saw ${this.clientAbortCount}`,
          ),
        );
      }, timeoutMs);
      this.abortWaiters.push({
        count,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }

  /** Closes the listener and every connection, including hung streams. */
  async stop(): Promise<void> {
    this.stopping = true;
    const closed = new Promise<void>((resolve) =>
      this.server.close(() => resolve()),
    );
    for (const socket of this.sockets) {
      socket.destroy();
    }
    await closed;
  }

  private async handleRequest(
    req: http.IncomingMessage,
    res: http.ServerResponse,
  ): Promise<void> {
    const rawBody = await readBody(req);
    const body = parseBody(rawBody);
    const method = req.method ?? "GET";
    const url = req.url ?? "/";
    this.requests.push({ method, url, headers: req.headers, body });

    const path = new URL(url, "http://127.0.0.1").pathname;
    if (method === "POST" && path === "/v1/chat/completions") {
      await this.handleChat(res, body);
      return;
    }
    if (method === "GET" && path === "/v1/models") {
      sendModels(res, this.models);
      return;
    }

    sendError(res, 404, {
      message: `Invalid URL (${method} ${path})`,
      type: "invalid_request_error",
    });
  }

  private async handleChat(
    res: http.ServerResponse,
    body: unknown,
  ): Promise<void> {
    const invalid = validateChatRequest(body);
    if (invalid) {
      sendError(res, 400, invalid);
      return;
    }
    const request = body as ChatRequestBody;

    const script = this.scriptQueue.shift() ?? this.defaultScript;
    const state = this.trackResponse(res);

    try {
      await sleepUnlessClosed(script.delayMs ?? 0, state);

      const status = script.status ?? 200;
      if (script.rawBody !== undefined) {
        res.writeHead(status, {
          "content-type": "application/json",
          "content-length": Buffer.byteLength(script.rawBody),
          ...script.headers,
        });
        res.end(script.rawBody);
        return;
      }
      if (status !== 200) {
        const error = script.error ?? defaultError(status, request.model);
        sendError(res, status, error, script.headers);
        return;
      }

      if (request.stream === true) {
        await this.streamChat(res, request, script, state);
      } else {
        await replyNonStreamed(res, request, script, state);
      }
    } catch (error) {
      if (!(error instanceof ConnectionClosedError)) {
        throw error;
      }
    }
  }

  private async streamChat(
    res: http.ServerResponse,
    request: ChatRequestBody,
    script: ChatScript,
    state: ResponseState,
  ): Promise<void> {
    const content = script.content ?? DEFAULT_CONTENT;
    const chunks = new ChunkBuilder(
      request.model,
      script,
      request.stream_options?.include_usage === true,
    );
    const writer = new FrameWriter(res, state, script);

    res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      "x-request-id": requestId(),
      ...script.headers,
    });
    res.flushHeaders();

    if (script.keepAliveComments) {
      await writer.comment("ping");
    }

    let roleSent = false;
    for (let sent = 0; sent <= content.length; sent++) {
      if (
        await this.applyFault(
          writer,
          chunks,
          script,
          sent,
          content.length,
          state,
        )
      ) {
        return;
      }
      if (!roleSent) {
        await writer.data(
          chunks.delta({ role: "assistant", content: "", refusal: null }, null),
        );
        roleSent = true;
      }
      if (sent === content.length) {
        break;
      }

      await writer.data(chunks.delta({ content: content[sent] }, null));
      if (script.keepAliveComments) {
        await writer.comment("ping");
        if (sent === 0) {
          await writer.emptyData();
        }
      }
    }

    const finish = chunks.delta({}, "stop");
    await (script.keepAliveComments
      ? writer.dataAfterComment(finish, "ping")
      : writer.data(finish));
    const usageChunk = chunks.usageChunk();
    if (usageChunk) {
      await writer.data(usageChunk);
    }
    if (!script.omitDone) {
      await writer.done();
    }
    res.end();
  }

  /**
   * Acts on the script's fault once `sent` content chunks are out. Returns true
   * when the response is over.
   */
  private async applyFault(
    writer: FrameWriter,
    chunks: ChunkBuilder,
    script: ChatScript,
    sent: number,
    contentCount: number,
    state: ResponseState,
  ): Promise<boolean> {
    const triggersNow = (after: number | undefined) =>
      after !== undefined && Math.min(after, contentCount) === sent;

    if (triggersNow(script.dieAfterEvents)) {
      await writer.pauseBeforeFrame();
      state.destroyedByUpstream = true;
      writer.destroy();
      return true;
    }

    if (triggersNow(script.errorEventAfter)) {
      await writer.data(chunks.errorEvent(script.error));
      await writer.done();
      writer.end();
      return true;
    }

    if (triggersNow(script.hangAfterEvents)) {
      await writer.pauseBeforeFrame();
      await state.closed;
      return true;
    }

    return false;
  }

  private trackResponse(res: http.ServerResponse): ResponseState {
    this.openResponseCount++;
    let markClosed = () => {};
    const state: ResponseState = {
      closed: new Promise<void>((resolve) => (markClosed = resolve)),
      isClosed: false,
      destroyedByUpstream: false,
    };

    res.on("close", () => {
      state.isClosed = true;
      this.openResponseCount--;
      markClosed();
      if (res.writableFinished || state.destroyedByUpstream || this.stopping) {
        return;
      }

      this.recordClientAbort();
    });
    return state;
  }

  private recordClientAbort(): void {
    this.clientAbortCount++;
    for (let i = this.abortWaiters.length - 1; i >= 0; i--) {
      if (this.abortWaiters[i].count <= this.clientAbortCount) {
        this.abortWaiters[i].resolve();
        this.abortWaiters.splice(i, 1);
      }
    }
  }

  private failResponse(res: http.ServerResponse, error: unknown): void {
    console.error("OpenAiUpstream: request handler failed", error);
    if (res.headersSent) {
      res.destroy();
      return;
    }

    const message = error instanceof Error ? error.message : String(error);
    sendError(res, 500, {
      message: `stand-in failed: ${message}`,
      type: "server_error",
    });
  }
}

/**
 * Builds the chunk objects of one streamed completion, which share id, created
 * and model as OpenAI's chunks do.
 */
class ChunkBuilder {
  private readonly id = completionId();
  private readonly created = Math.floor(Date.now() / 1000);
  private readonly fingerprint = systemFingerprint();
  private readonly usage: Record<string, unknown> | null;

  constructor(
    private readonly model: string,
    script: ChatScript,
    private readonly includeUsage: boolean,
  ) {
    this.usage =
      script.usage === null ? null : toWireUsage(script.usage ?? DEFAULT_USAGE);
  }

  delta(
    delta: Record<string, unknown>,
    finishReason: string | null,
  ): Record<string, unknown> {
    return this.chunk(
      [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
      null,
    );
  }

  /**
   * Returns the trailing `choices: []` chunk, or null when the request did not
   * set include_usage or the script's usage is null.
   */
  usageChunk(): Record<string, unknown> | null {
    if (!this.includeUsage || this.usage === null) {
      return null;
    }
    return this.chunk([], this.usage);
  }

  errorEvent(error: UpstreamError | undefined): Record<string, unknown> {
    return toWireError(error ?? defaultError(500, this.model));
  }

  private chunk(
    choices: unknown[],
    usage: Record<string, unknown> | null,
  ): Record<string, unknown> {
    const chunk: Record<string, unknown> = {
      id: this.id,
      object: "chat.completion.chunk",
      created: this.created,
      model: this.model,
      service_tier: "default",
      system_fingerprint: this.fingerprint,
      choices,
    };

    // With include_usage every chunk carries the key, null except on the usage
    // chunk. A script with usage null imitates a server that ignores
    // include_usage, so its chunks have no usage key at all.
    if (this.includeUsage && this.usage !== null) {
      chunk.usage = usage;
    }
    chunk.obfuscation = randomBytes(4).toString("hex");
    return chunk;
  }
}

/**
 * Writes SSE frames with the script's line endings, gaps and byte splits.
 * Throws ConnectionClosedError once the connection has closed.
 */
class FrameWriter {
  private readonly eol: string;
  private framesWritten = 0;

  constructor(
    private readonly res: http.ServerResponse,
    private readonly state: ResponseState,
    private readonly script: ChatScript,
  ) {
    this.eol = script.crlf ? "\r\n" : "\n";
  }

  data(payload: Record<string, unknown>): Promise<void> {
    return this.frame(`data: ${JSON.stringify(payload)}${this.eol}${this.eol}`);
  }

  dataAfterComment(
    payload: Record<string, unknown>,
    comment: string,
  ): Promise<void> {
    return this.frame(
      `: ${comment}${this.eol}data: ${JSON.stringify(payload)}${this.eol}${this.eol}`,
    );
  }

  comment(text: string): Promise<void> {
    return this.frame(`: ${text}${this.eol}${this.eol}`);
  }

  emptyData(): Promise<void> {
    return this.frame(`data: ${this.eol}${this.eol}`);
  }

  done(): Promise<void> {
    return this.frame(`data: [DONE]${this.eol}${this.eol}`);
  }

  end(): void {
    this.res.end();
  }

  destroy(): void {
    this.res.socket?.destroy();
  }

  /**
   * Waits the script's gap before every frame but the first. Faults call it
   * too, because they take the place of a frame.
   */
  async pauseBeforeFrame(): Promise<void> {
    if (this.framesWritten > 0) {
      await sleepUnlessClosed(this.script.chunkGapMs ?? 0, this.state);
    }
  }

  private async frame(text: string): Promise<void> {
    await this.pauseBeforeFrame();
    this.framesWritten++;

    const bytes = Buffer.from(text, "utf8");
    const pieceSize = this.script.splitBytes ?? bytes.length;
    if (!Number.isInteger(pieceSize) || pieceSize < 1) {
      throw new RangeError(
        `splitBytes must be a positive integer, got ${pieceSize}`,
      );
    }

    for (let offset = 0; offset < bytes.length; offset += pieceSize) {
      await this.write(bytes.subarray(offset, offset + pieceSize));
      if (this.script.splitBytes !== undefined) {
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    }
  }

  /**
   * Writes and waits until the bytes reached the socket, so a later destroy
   * cannot discard them.
   */
  private async write(bytes: Buffer): Promise<void> {
    if (this.state.isClosed) {
      throw new ConnectionClosedError();
    }

    const flushed = new Promise<void>((resolve) => {
      this.res.write(bytes, () => resolve());
    });
    await Promise.race([flushed, this.state.closed]);

    if (this.state.isClosed) {
      throw new ConnectionClosedError();
    }
  }
}

async function replyNonStreamed(
  res: http.ServerResponse,
  request: ChatRequestBody,
  script: ChatScript,
  state: ResponseState,
): Promise<void> {
  // A non-streamed reply has no events, so the fault fields act before the
  // response headers.
  if (script.dieAfterEvents !== undefined) {
    state.destroyedByUpstream = true;
    res.socket?.destroy();
    return;
  }
  if (script.hangAfterEvents !== undefined) {
    await state.closed;
    return;
  }

  const completion: Record<string, unknown> = {
    id: completionId(),
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model: request.model,
    choices: [
      {
        index: 0,
        message: {
          role: "assistant",
          content: (script.content ?? DEFAULT_CONTENT).join(""),
          refusal: null,
          annotations: [],
        },
        logprobs: null,
        finish_reason: "stop",
      },
    ],
  };
  if (script.usage !== null) {
    completion.usage = toWireUsage(script.usage ?? DEFAULT_USAGE);
  }
  completion.service_tier = "default";
  completion.system_fingerprint = systemFingerprint();

  sendJson(res, 200, completion, script.headers);
}

/**
 * Returns the error OpenAI sends for an invalid request body, or null when the
 * body is acceptable.
 */
function validateChatRequest(parsed: unknown): UpstreamError | null {
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    return {
      message:
        "We could not parse the JSON body of your request. The OpenAI API expects a JSON payload.",
      type: "invalid_request_error",
    };
  }
  const body = parsed as Record<string, unknown>;

  if (typeof body.model !== "string" || body.model === "") {
    return {
      message: "you must provide a model parameter",
      type: "invalid_request_error",
    };
  }

  if (!Array.isArray(body.messages)) {
    return {
      message: "Missing required parameter: 'messages'.",
      type: "invalid_request_error",
      param: "messages",
      code: "missing_required_parameter",
    };
  }
  if (body.messages.length === 0) {
    return {
      message:
        "Invalid 'messages': empty array. Expected an array with minimum length 1.",
      type: "invalid_request_error",
      param: "messages",
      code: "empty_array",
    };
  }

  if (
    body.stream_options !== undefined &&
    body.stream_options !== null &&
    body.stream !== true
  ) {
    return {
      message:
        "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
      type: "invalid_request_error",
      param: "stream_options",
    };
  }

  return null;
}

/**
 * Returns an OpenAI-style error for `status`. Types and codes follow OpenAI's
 * error codes for these statuses, and the messages only approximate its
 * wording.
 */
function defaultError(status: number, model: string): UpstreamError {
  switch (status) {
    case 401:
      return {
        message: "Incorrect API key provided.",
        type: "invalid_request_error",
        code: "invalid_api_key",
      };
    case 403:
      return {
        message: "Country, region, or territory not supported",
        type: "request_forbidden",
        code: "unsupported_country_region_territory",
      };
    case 404:
      return {
        message: `The model \`${model}\` does not exist or you do not have access to it.`,
        type: "invalid_request_error",
        code: "model_not_found",
      };
    case 429:
      return {
        message: `Rate limit reached for ${model} on requests per min (RPM): Limit 3, Used 3, Requested 1.`,
        type: "requests",
        code: "rate_limit_exceeded",
      };
    case 503:
      return {
        message: "The server is overloaded. Please try again later.",
        type: "service_unavailable_error",
        code: "server_is_overloaded",
      };
  }

  if (status >= 500) {
    return {
      message:
        "The server had an error while processing your request. Sorry about that!",
      type: "server_error",
    };
  }
  return {
    message: `Request failed with status ${status}.`,
    type: "invalid_request_error",
  };
}

function toWireError(error: UpstreamError): { error: Record<string, unknown> } {
  return {
    error: {
      message: error.message,
      type: error.type,
      param: error.param ?? null,
      code: error.code ?? null,
    },
  };
}

/**
 * Converts script usage to OpenAI's `CompletionUsage`, filling unset
 * detail counters with 0 as OpenAI's replies do.
 */
function toWireUsage(usage: UpstreamUsage): Record<string, unknown> {
  const wire: Record<string, unknown> = {
    prompt_tokens: usage.prompt_tokens,
    completion_tokens: usage.completion_tokens,
    total_tokens:
      usage.total_tokens ?? usage.prompt_tokens + usage.completion_tokens,
  };

  wire.prompt_tokens_details =
    usage.prompt_tokens_details === null
      ? null
      : { cached_tokens: 0, audio_tokens: 0, ...usage.prompt_tokens_details };

  wire.completion_tokens_details =
    usage.completion_tokens_details === null
      ? null
      : {
          reasoning_tokens: 0,
          audio_tokens: 0,
          accepted_prediction_tokens: 0,
          rejected_prediction_tokens: 0,
          ...usage.completion_tokens_details,
        };

  return wire;
}

function sendModels(res: http.ServerResponse, models: string[]): void {
  sendJson(res, 200, {
    object: "list",
    data: models.map((id) => ({
      id,
      object: "model",
      created: MODEL_CREATED,
      owned_by: "system",
    })),
  });
}

function sendError(
  res: http.ServerResponse,
  status: number,
  error: UpstreamError,
  headers: Record<string, string> = {},
): void {
  sendJson(res, status, toWireError(error), headers);
}

function sendJson(
  res: http.ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
    "x-request-id": requestId(),
    ...headers,
  });
  res.end(text);
}

async function readBody(req: http.IncomingMessage): Promise<string> {
  const parts: Buffer[] = [];
  for await (const part of req) {
    parts.push(part as Buffer);
  }
  return Buffer.concat(parts).toString("utf8");
}

function parseBody(text: string): unknown {
  if (text === "") {
    return undefined;
  }
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * Waits `ms` milliseconds, or less when the connection closes first, so no
 * timer outlives the response.
 */
async function sleepUnlessClosed(
  ms: number,
  state: ResponseState,
): Promise<void> {
  if (ms > 0) {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      new Promise<void>((resolve) => (timer = setTimeout(resolve, ms))),
      state.closed,
    ]);
    clearTimeout(timer);
  }
  if (state.isClosed) {
    throw new ConnectionClosedError();
  }
}

function completionId(): string {
  return `chatcmpl-${randomBytes(15).toString("base64url")}`;
}

function requestId(): string {
  return `req_${randomBytes(16).toString("hex")}`;
}

function systemFingerprint(): string {
  return `fp_${randomBytes(5).toString("hex")}`;
}
