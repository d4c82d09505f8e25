import { createHash, randomBytes } from "node:crypto";
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
 * Behaviour of the stand-in for one request to any of its POST endpoints (chat completions, completions,
 * embeddings, responses). Every field is optional, and the defaults give a normal three-delta reply with usage.
 *
 * The fault fields (`dieAfterEvents`, `errorEventAfter`, `hangAfterEvents`)
 * count content chunks, the chunks that carry `delta.content` (chat), `text`
 * (completions) or the `response.output_text.delta` events (responses). In a
 * chat stream the first content chunk is preceded by the `role: "assistant"`
 * chunk, so 0 means that only the response headers were sent. In a Responses
 * stream, 0 acts after `response.in_progress` and any reasoning or function
 * call item. A count above the number of content elements acts after the last one,
 * before the `finish_reason` chunk or the end of the message.
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
   * Usage to report, in Chat Completions' shape; embeddings report its
   * `prompt_tokens`, and the Responses API its counts as `input_tokens`,
   * `output_tokens` and their details. null makes the upstream report no usage
   * at all, neither in JSON nor in the stream.
   */
  usage?: UpstreamUsage | null;
  /**
   * Responses API: how the response ends. `incomplete` stops at the output
   * limit (`incomplete_details.reason: "max_output_tokens"`), `failed` carries
   * `script.error` as the response's error. Default `completed`.
   */
  responseStatus?: "completed" | "incomplete" | "failed";
  /** Responses API: reasoning summary deltas, sent as a reasoning item before the message. */
  reasoningSummary?: string[];
  /** Responses API: a function call item sent before the message, its arguments in deltas. */
  functionCall?: { name: string; arguments: string[] };
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

/** The URL schemes the stand-in serves, after the provider kinds that use them. */
export type UpstreamFlavor = "openai" | "azure" | "gemini";

/** One request as the stand-in received it. */
export interface RecordedRequest {
  method: string;
  /** Path and query as sent. */
  url: string;
  /** Path without the query. */
  path: string;
  /** Query parameters; a repeated name keeps its last value. */
  query: Record<string, string>;
  /**
   * Which URL scheme the path used: `/v1/...` (OpenAI), `/openai/...` (Azure)
   * or `/v1beta/openai/...` (Gemini). Null for an unknown path.
   */
  flavor: UpstreamFlavor | null;
  /** Azure deployment named in the path, else null. */
  deployment: string | null;
  /** Azure's `api-version` query parameter, else null. */
  apiVersion: string | null;
  /** Header names in lower case, as Node reports them; Azure's key is `headers["api-key"]`. */
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
   * Scheme, host and port alone: an Azure resource endpoint, under which the
   * stand-in serves `/openai/deployments/{deployment}/{operation}?api-version=...`,
   * `/openai/responses?api-version=...` and the v1 API at `/openai/v1/...`.
   */
  get origin(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Base URL of Gemini's OpenAI-compatible API, `/v1beta/openai`. */
  get geminiBaseUrl(): string {
    return `http://127.0.0.1:${this.port}/v1beta/openai`;
  }

  /**
   * Queues a script for the next valid POST request, whatever its operation.
   * Queued scripts run in FIFO order, and the default script runs when the
   * queue is empty.
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
   * Returns the number of scripted responses (any POST operation) still being
   * written or held open, hung streams included.
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
    const parsedUrl = new URL(url, "http://127.0.0.1");
    const path = parsedUrl.pathname;
    const route = routeOf(path);
    const apiVersion = parsedUrl.searchParams.get("api-version");
    this.requests.push({
      method,
      url,
      path,
      query: Object.fromEntries(parsedUrl.searchParams),
      flavor: route?.flavor ?? null,
      deployment: route?.deployment ?? null,
      apiVersion,
      headers: req.headers,
      body,
    });

    if (route?.flavor === "azure" && apiVersion === null && !route.v1) {
      sendJson(res, 404, {
        error: { code: "404", message: "Resource not found" },
      });
      return;
    }
    if (method === "POST" && route && route.operation !== "models") {
      await this.handleOperation(res, route, route.operation, body);
      return;
    }
    if (method === "GET" && route?.operation === "models") {
      sendModels(res, this.models);
      return;
    }

    sendError(res, 404, {
      message: `Invalid URL (${method} ${path})`,
      type: "invalid_request_error",
    });
  }

  /**
   * Replies to one POST to an API operation with the next script: its delay,
   * status, raw body, and then the operation's JSON or stream.
   */
  private async handleOperation(
    res: http.ServerResponse,
    route: Route,
    operation: Exclude<Operation, "models">,
    body: unknown,
  ): Promise<void> {
    const request = withDeploymentModel(body, route);
    const invalid = VALIDATORS[operation](request);
    if (invalid) {
      sendError(res, 400, invalid);
      return;
    }
    const model = (request as { model: string }).model;

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
        const error = script.error ?? defaultError(status, model);
        sendError(res, status, error, script.headers);
        return;
      }

      await this.answer(res, operation, request, script, state);
    } catch (error) {
      if (!(error instanceof ConnectionClosedError)) {
        throw error;
      }
    }
  }

  private async answer(
    res: http.ServerResponse,
    operation: Exclude<Operation, "models">,
    request: unknown,
    script: ChatScript,
    state: ResponseState,
  ): Promise<void> {
    const streamed = (request as { stream?: unknown }).stream === true;
    switch (operation) {
      case "chat/completions":
        return streamed
          ? this.streamChat(res, request as ChatRequestBody, script, state)
          : replyNonStreamed(res, request as ChatRequestBody, script, state);
      case "completions":
        return streamed
          ? this.streamCompletion(
              res,
              request as CompletionRequestBody,
              script,
              state,
            )
          : replyCompletion(
              res,
              request as CompletionRequestBody,
              script,
              state,
            );
      case "embeddings":
        return replyEmbeddings(
          res,
          request as EmbeddingsRequestBody,
          script,
          state,
        );
      case "responses":
        return streamed
          ? this.streamResponse(
              res,
              request as ResponsesRequestBody,
              script,
              state,
            )
          : replyResponse(res, request as ResponsesRequestBody, script, state);
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
    await startStream(res, writer, script);

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

    await endDataStream(res, writer, chunks, script, chunks.delta({}, "stop"));
  }

  /** Streams a legacy completion: `text_completion` chunks with `choices[].text`, then usage and `[DONE]`. */
  private async streamCompletion(
    res: http.ServerResponse,
    request: CompletionRequestBody,
    script: ChatScript,
    state: ResponseState,
  ): Promise<void> {
    const content = script.content ?? DEFAULT_CONTENT;
    const chunks = new ChunkBuilder(
      request.model,
      script,
      request.stream_options?.include_usage === true,
      "text_completion",
    );
    const writer = new FrameWriter(res, state, script);
    await startStream(res, writer, script);

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
      if (sent === content.length) {
        break;
      }

      await writer.data(chunks.text(content[sent], null));
      if (script.keepAliveComments) {
        await writer.comment("ping");
      }
    }

    await endDataStream(res, writer, chunks, script, chunks.text("", "stop"));
  }

  /**
   * Streams a Responses API reply as typed events: `response.created`,
   * `response.in_progress`, the reasoning and function call items the script
   * requests, the message item, and one terminal event for the script's status.
   */
  private async streamResponse(
    res: http.ServerResponse,
    request: ResponsesRequestBody,
    script: ChatScript,
    state: ResponseState,
  ): Promise<void> {
    const builder = new ResponseBuilder(request, script);
    const writer = new FrameWriter(res, state, script);
    const send = (type: string, fields: Record<string, unknown>) =>
      writer.event(type, builder.event(type, fields));
    await startStream(res, writer, script);

    await send("response.created", {
      response: builder.response("in_progress"),
    });
    await send("response.in_progress", {
      response: builder.response("in_progress"),
    });
    if (script.reasoningSummary) {
      await streamReasoningItem(send, builder, script.reasoningSummary);
    }
    if (script.functionCall) {
      await streamFunctionCallItem(send, builder, script.functionCall);
    }

    if (await this.streamMessageItem(writer, send, builder, script, state)) {
      return;
    }

    const status = script.responseStatus ?? "completed";
    await send(`response.${status}`, { response: builder.response(status) });
    res.end();
  }

  /** Streams the message item of a response. Returns true when a fault ended the response. */
  private async streamMessageItem(
    writer: FrameWriter,
    send: (type: string, fields: Record<string, unknown>) => Promise<void>,
    builder: ResponseBuilder,
    script: ChatScript,
    state: ResponseState,
  ): Promise<boolean> {
    const content = script.content ?? DEFAULT_CONTENT;
    const itemId = `msg_${randomBytes(24).toString("hex")}`;
    const outputIndex = builder.output.length;
    const at = { item_id: itemId, output_index: outputIndex, content_index: 0 };

    for (let sent = 0; sent <= content.length; sent++) {
      if (
        await this.applyResponseFault(
          writer,
          builder,
          script,
          sent,
          content.length,
          state,
        )
      ) {
        return true;
      }
      if (sent === 0) {
        await send("response.output_item.added", {
          output_index: outputIndex,
          item: builder.messageItem(itemId, "", "in_progress"),
        });
        await send("response.content_part.added", {
          ...at,
          part: outputText(""),
        });
      }
      if (sent === content.length) {
        break;
      }

      await send("response.output_text.delta", {
        ...at,
        delta: content[sent],
        logprobs: [],
        ...builder.obfuscation(),
      });
      if (script.keepAliveComments) {
        await writer.comment("ping");
      }
    }

    const text = content.join("");
    const item = builder.messageItem(
      itemId,
      text,
      script.responseStatus === "incomplete" ? "incomplete" : "completed",
    );
    await send("response.output_text.done", { ...at, text, logprobs: [] });
    await send("response.content_part.done", { ...at, part: outputText(text) });
    await send("response.output_item.done", {
      output_index: outputIndex,
      item,
    });
    builder.output.push(item);
    return false;
  }

  /**
   * Acts on the script's fault in a Responses stream once `sent` text deltas
   * are out: the error is an `error` event with no terminal event after it.
   * Returns true when the response is over.
   */
  private async applyResponseFault(
    writer: FrameWriter,
    builder: ResponseBuilder,
    script: ChatScript,
    sent: number,
    contentCount: number,
    state: ResponseState,
  ): Promise<boolean> {
    const triggersNow = (after: number | undefined) =>
      after !== undefined && Math.min(after, contentCount) === sent;

    if (triggersNow(script.errorEventAfter)) {
      const error = script.error ?? defaultError(500, builder.model);
      await writer.event(
        "error",
        builder.event("error", {
          code: error.code ?? "server_error",
          message: error.message,
          param: error.param ?? null,
        }),
      );
      writer.end();
      return true;
    }

    const chatFaults = { ...script, errorEventAfter: undefined };
    return this.applyFault(
      writer,
      new ChunkBuilder(builder.model, script, false),
      chatFaults,
      sent,
      contentCount,
      state,
    );
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
 * Builds the chunk objects of one streamed chat completion, or of a legacy
 * completion (`text_completion`), which share id, created and model as
 * OpenAI's chunks do.
 */
class ChunkBuilder {
  private readonly id: string;
  private readonly created = Math.floor(Date.now() / 1000);
  private readonly fingerprint = systemFingerprint();
  private readonly usage: Record<string, unknown> | null;

  constructor(
    private readonly model: string,
    script: ChatScript,
    private readonly includeUsage: boolean,
    private readonly object:
      "chat.completion.chunk" | "text_completion" = "chat.completion.chunk",
  ) {
    this.id =
      object === "text_completion" ? textCompletionId() : completionId();
    this.usage =
      script.usage === null ? null : toWireUsage(script.usage ?? DEFAULT_USAGE);
  }

  /** Returns a legacy completion chunk with one choice's text. */
  text(text: string, finishReason: string | null): Record<string, unknown> {
    return this.chunk(
      [{ text, index: 0, logprobs: null, finish_reason: finishReason }],
      null,
    );
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
    if (this.object === "text_completion") {
      return this.textCompletionChunk(choices, usage);
    }

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

  /** Legacy completion chunks have no `service_tier` or `obfuscation`, and `model` follows `choices`. */
  private textCompletionChunk(
    choices: unknown[],
    usage: Record<string, unknown> | null,
  ): Record<string, unknown> {
    const chunk: Record<string, unknown> = {
      id: this.id,
      object: "text_completion",
      created: this.created,
      choices,
      model: this.model,
      system_fingerprint: this.fingerprint,
    };
    if (this.includeUsage && this.usage !== null) {
      chunk.usage = usage;
    }
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

  /** Writes a named event as the Responses API frames it: `event:` line, then `data:`. */
  event(type: string, payload: Record<string, unknown>): Promise<void> {
    return this.frame(
      `event: ${type}${this.eol}data: ${JSON.stringify(payload)}${this.eol}${this.eol}`,
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

function textCompletionId(): string {
  return `cmpl-${randomBytes(15).toString("base64url")}`;
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

/** API operations the stand-in serves, as path suffixes after the base URL. */
type Operation =
  "chat/completions" | "completions" | "embeddings" | "responses" | "models";

const OPERATIONS = new Set<string>([
  "chat/completions",
  "completions",
  "embeddings",
  "responses",
  "models",
]);

/** Where a path points: which URL scheme, which operation, and Azure's deployment. */
interface Route {
  flavor: UpstreamFlavor;
  operation: Operation;
  deployment: string | null;
  /** Azure's v1 API (`/openai/v1/...`), which takes no `api-version`. */
  v1: boolean;
}

/**
 * Maps a path to its route: `/v1/{op}` (OpenAI), `/v1beta/openai/{op}`
 * (Gemini), `/openai/v1/{op}`, `/openai/deployments/{deployment}/{op}` and
 * `/openai/{op}` (Azure). Returns null for any other path.
 */
function routeOf(path: string): Route | null {
  const patterns: [RegExp, UpstreamFlavor, boolean][] = [
    [/^\/v1\/(.+)$/, "openai", false],
    [/^\/v1beta\/openai\/(.+)$/, "gemini", false],
    [/^\/openai\/v1\/(.+)$/, "azure", true],
    [/^\/openai\/deployments\/([^/]+)\/(.+)$/, "azure", false],
    [/^\/openai\/(.+)$/, "azure", false],
  ];

  for (const [pattern, flavor, v1] of patterns) {
    const match = pattern.exec(path);
    if (!match) {
      continue;
    }
    const deployment = match.length === 3 ? decodeURIComponent(match[1]) : null;
    const operation = match[match.length - 1];
    return OPERATIONS.has(operation)
      ? { flavor, operation: operation as Operation, deployment, v1 }
      : null;
  }
  return null;
}

/** Azure's dated API takes the model from the deployment, so a body may leave `model` out. */
function withDeploymentModel(body: unknown, route: Route): unknown {
  if (
    route.deployment === null ||
    typeof body !== "object" ||
    body === null ||
    Array.isArray(body) ||
    typeof (body as { model?: unknown }).model === "string"
  ) {
    return body;
  }
  return { ...body, model: route.deployment };
}

/** Request fields the stand-in reads from a legacy completion request. */
interface CompletionRequestBody {
  model: string;
  prompt: unknown;
  n?: number;
  echo?: boolean;
  stream?: unknown;
  stream_options?: { include_usage?: unknown } | null;
}

/** Request fields the stand-in reads from an embeddings request. */
interface EmbeddingsRequestBody {
  model: string;
  input: unknown;
  encoding_format?: string;
  dimensions?: number;
}

/** Request fields the stand-in reads, and echoes, from a Responses API request. */
interface ResponsesRequestBody {
  model: string;
  instructions?: string | null;
  max_output_tokens?: number | null;
  previous_response_id?: string | null;
  reasoning?: { effort?: string | null; summary?: string | null } | null;
  store?: boolean;
  background?: boolean;
  tools?: unknown[];
  metadata?: Record<string, string>;
  stream_options?: { include_obfuscation?: boolean } | null;
}

/** Checks every operation's body the way OpenAI does for the fields the stand-in reads. */
const VALIDATORS: Record<
  Exclude<Operation, "models">,
  (body: unknown) => UpstreamError | null
> = {
  "chat/completions": validateChatRequest,
  completions: (body) =>
    validateCommon(body, ["prompt"]) ?? validateStreamOptions(body),
  embeddings: (body) => validateCommon(body, ["input"]),
  responses: (body) => validateCommon(body, []) ?? validateStreamOptions(body),
};

function validateCommon(
  parsed: unknown,
  required: string[],
): UpstreamError | null {
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
  for (const name of required) {
    if (body[name] === undefined) {
      return {
        message: `Missing required parameter: '${name}'.`,
        type: "invalid_request_error",
        param: name,
        code: "missing_required_parameter",
      };
    }
  }
  return null;
}

function validateStreamOptions(parsed: unknown): UpstreamError | null {
  const body = parsed as Record<string, unknown>;
  if (body.stream_options != null && body.stream !== true) {
    return {
      message:
        "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
      type: "invalid_request_error",
      param: "stream_options",
    };
  }
  return null;
}

/** Writes an event stream's headers, and the opening keep-alive a script may ask for. */
async function startStream(
  res: http.ServerResponse,
  writer: FrameWriter,
  script: ChatScript,
): Promise<void> {
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
}

/** Ends a data-only stream: the finish chunk, the usage chunk if requested, `[DONE]` unless omitted. */
async function endDataStream(
  res: http.ServerResponse,
  writer: FrameWriter,
  chunks: ChunkBuilder,
  script: ChatScript,
  finish: Record<string, unknown>,
): Promise<void> {
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

/** Sends a legacy completion: `n` choices per prompt, with the prompt in front of the text when `echo` is set. */
async function replyCompletion(
  res: http.ServerResponse,
  request: CompletionRequestBody,
  script: ChatScript,
  state: ResponseState,
): Promise<void> {
  if (await faultBeforeHeaders(res, script, state)) {
    return;
  }

  const prompts =
    Array.isArray(request.prompt) &&
    request.prompt.some((item) => typeof item !== "number")
      ? (request.prompt as unknown[])
      : [request.prompt];
  const text = (script.content ?? DEFAULT_CONTENT).join("");
  const choices = prompts.flatMap((prompt) =>
    Array.from({ length: request.n ?? 1 }, () => ({
      text:
        request.echo === true && typeof prompt === "string"
          ? prompt + text
          : text,
      finish_reason: "stop",
      logprobs: null,
    })),
  );

  const completion: Record<string, unknown> = {
    id: textCompletionId(),
    object: "text_completion",
    created: Math.floor(Date.now() / 1000),
    model: request.model,
    choices: choices.map((choice, index) => ({ ...choice, index })),
    system_fingerprint: systemFingerprint(),
  };
  if (script.usage !== null) {
    completion.usage = toWireUsage(script.usage ?? DEFAULT_USAGE);
  }

  sendJson(res, 200, completion, script.headers);
}

/** Dimensions of the stand-in's embeddings when the request sets none. */
const DEFAULT_EMBEDDING_DIMENSIONS = 8;

/**
 * Sends embeddings of every input, derived from a hash of the input so equal inputs
 * get equal vectors. `base64` sends each vector as little-endian float32
 * bytes, as OpenAI does; `float` sends the same float32 values as numbers.
 */
async function replyEmbeddings(
  res: http.ServerResponse,
  request: EmbeddingsRequestBody,
  script: ChatScript,
  state: ResponseState,
): Promise<void> {
  if (await faultBeforeHeaders(res, script, state)) {
    return;
  }

  const inputs =
    Array.isArray(request.input) &&
    request.input.some((item) => typeof item !== "number")
      ? (request.input as unknown[])
      : [request.input];
  const dimensions = request.dimensions ?? DEFAULT_EMBEDDING_DIMENSIONS;

  const list: Record<string, unknown> = {
    object: "list",
    data: inputs.map((input, index) => {
      const vector = embeddingOf(input, dimensions);
      return {
        object: "embedding",
        index,
        embedding:
          request.encoding_format === "base64"
            ? Buffer.from(vector.buffer).toString("base64")
            : Array.from(vector),
      };
    }),
    model: request.model,
  };
  if (script.usage !== null) {
    const tokens = (script.usage ?? DEFAULT_USAGE).prompt_tokens;
    list.usage = { prompt_tokens: tokens, total_tokens: tokens };
  }

  sendJson(res, 200, list, script.headers);
}

/** Returns deterministic float32 values in [-1, 1) from a hash of the input. */
export function embeddingOf(input: unknown, dimensions: number): Float32Array {
  const vector = new Float32Array(dimensions);
  let seed = createHash("sha256").update(JSON.stringify(input)).digest();
  for (let i = 0; i < dimensions; i++) {
    if (i % 8 === 0 && i > 0) {
      seed = createHash("sha256").update(seed).digest();
    }
    vector[i] = seed.readInt32LE((i % 8) * 4) / 2 ** 31;
  }
  return vector;
}

/** Sends a non-streamed Responses API reply with the items and status the script requests. */
async function replyResponse(
  res: http.ServerResponse,
  request: ResponsesRequestBody,
  script: ChatScript,
  state: ResponseState,
): Promise<void> {
  if (await faultBeforeHeaders(res, script, state)) {
    return;
  }

  const builder = new ResponseBuilder(request, script);
  if (script.reasoningSummary) {
    builder.output.push(
      builder.reasoningItem(
        `rs_${randomBytes(24).toString("hex")}`,
        script.reasoningSummary.join(""),
      ),
    );
  }
  if (script.functionCall) {
    builder.output.push(
      builder.functionCallItem(
        `fc_${randomBytes(24).toString("hex")}`,
        script.functionCall.name,
        script.functionCall.arguments.join(""),
        "completed",
      ),
    );
  }
  const status = script.responseStatus ?? "completed";
  builder.output.push(
    builder.messageItem(
      `msg_${randomBytes(24).toString("hex")}`,
      (script.content ?? DEFAULT_CONTENT).join(""),
      status === "incomplete" ? "incomplete" : "completed",
    ),
  );

  sendJson(res, 200, builder.response(status), script.headers);
}

/**
 * Acts on the script's fault before the response headers, since a
 * non-streamed reply has no events. Returns true when the response is over.
 */
async function faultBeforeHeaders(
  res: http.ServerResponse,
  script: ChatScript,
  state: ResponseState,
): Promise<boolean> {
  if (script.dieAfterEvents !== undefined) {
    state.destroyedByUpstream = true;
    res.socket?.destroy();
    return true;
  }
  if (script.hangAfterEvents !== undefined) {
    await state.closed;
    return true;
  }
  return false;
}

type SendEvent = (
  type: string,
  fields: Record<string, unknown>,
) => Promise<void>;

/** Streams a reasoning item whose summary arrives in `deltas`. */
async function streamReasoningItem(
  send: SendEvent,
  builder: ResponseBuilder,
  deltas: string[],
): Promise<void> {
  const itemId = `rs_${randomBytes(24).toString("hex")}`;
  const outputIndex = builder.output.length;
  const at = { item_id: itemId, output_index: outputIndex, summary_index: 0 };
  const text = deltas.join("");

  await send("response.output_item.added", {
    output_index: outputIndex,
    item: { id: itemId, type: "reasoning", summary: [] },
  });
  await send("response.reasoning_summary_part.added", {
    ...at,
    part: { type: "summary_text", text: "" },
  });
  for (const delta of deltas) {
    await send("response.reasoning_summary_text.delta", { ...at, delta });
  }
  await send("response.reasoning_summary_text.done", { ...at, text });
  await send("response.reasoning_summary_part.done", {
    ...at,
    part: { type: "summary_text", text },
  });

  const item = builder.reasoningItem(itemId, text);
  await send("response.output_item.done", { output_index: outputIndex, item });
  builder.output.push(item);
}

/** Streams a function call item whose arguments arrive in deltas. */
async function streamFunctionCallItem(
  send: SendEvent,
  builder: ResponseBuilder,
  call: { name: string; arguments: string[] },
): Promise<void> {
  const itemId = `fc_${randomBytes(24).toString("hex")}`;
  const outputIndex = builder.output.length;
  const at = { item_id: itemId, output_index: outputIndex };
  const text = call.arguments.join("");

  await send("response.output_item.added", {
    output_index: outputIndex,
    item: builder.functionCallItem(itemId, call.name, "", "in_progress"),
  });
  for (const delta of call.arguments) {
    await send("response.function_call_arguments.delta", { ...at, delta });
  }
  await send("response.function_call_arguments.done", {
    ...at,
    arguments: text,
  });

  const item = builder.functionCallItem(itemId, call.name, text, "completed");
  await send("response.output_item.done", { output_index: outputIndex, item });
  builder.output.push(item);
}

function outputText(text: string): Record<string, unknown> {
  return { type: "output_text", annotations: [], logprobs: [], text };
}

/**
 * Builds the objects of one Responses API reply: the `response` object with
 * the request's settings echoed, its output items, and stream events numbered
 * by `sequence_number` from 0.
 */
class ResponseBuilder {
  readonly id = `resp_${randomBytes(24).toString("hex")}`;
  readonly createdAt = Math.floor(Date.now() / 1000);
  /** Output items finished so far, in output order. */
  readonly output: Record<string, unknown>[] = [];
  private sequence = 0;

  constructor(
    private readonly request: ResponsesRequestBody,
    private readonly script: ChatScript,
  ) {}

  get model(): string {
    return this.request.model;
  }

  event(
    type: string,
    fields: Record<string, unknown>,
  ): Record<string, unknown> {
    return { type, ...fields, sequence_number: this.sequence++ };
  }

  /** Returns the `obfuscation` padding of delta events, unless the request turned it off. */
  obfuscation(): Record<string, string> {
    return this.request.stream_options?.include_obfuscation === false
      ? {}
      : { obfuscation: randomBytes(6).toString("base64url") };
  }

  /** Returns the full response object; an in-progress one has no output and `usage: null`. */
  response(
    status: "in_progress" | "completed" | "incomplete" | "failed",
  ): Record<string, unknown> {
    const over = status !== "in_progress";
    const request = this.request;
    const error = this.script.error ?? defaultError(500, request.model);

    return {
      id: this.id,
      object: "response",
      created_at: this.createdAt,
      status,
      background: request.background ?? false,
      error:
        status === "failed"
          ? { code: error.code ?? "server_error", message: error.message }
          : null,
      incomplete_details:
        status === "incomplete" ? { reason: "max_output_tokens" } : null,
      instructions: request.instructions ?? null,
      max_output_tokens: request.max_output_tokens ?? null,
      model: request.model,
      output: over ? this.output : [],
      parallel_tool_calls: true,
      previous_response_id: request.previous_response_id ?? null,
      reasoning: {
        effort: request.reasoning?.effort ?? null,
        summary: request.reasoning?.summary ?? null,
      },
      service_tier: "default",
      store: request.store ?? true,
      temperature: 1.0,
      text: { format: { type: "text" } },
      tool_choice: "auto",
      tools: request.tools ?? [],
      top_p: 1.0,
      truncation: "disabled",
      usage: over ? this.usage() : null,
      user: null,
      metadata: request.metadata ?? {},
    };
  }

  messageItem(
    id: string,
    text: string,
    status: "in_progress" | "completed" | "incomplete",
  ): Record<string, unknown> {
    return {
      id,
      type: "message",
      status,
      content: status === "in_progress" ? [] : [outputText(text)],
      role: "assistant",
    };
  }

  reasoningItem(id: string, text: string): Record<string, unknown> {
    return { id, type: "reasoning", summary: [{ type: "summary_text", text }] };
  }

  functionCallItem(
    id: string,
    name: string,
    args: string,
    status: "in_progress" | "completed",
  ): Record<string, unknown> {
    return {
      id,
      type: "function_call",
      status,
      arguments: args,
      call_id: `call_${randomBytes(12).toString("base64url")}`,
      name,
    };
  }

  /** Returns the script's usage as `ResponseUsage`, or null when the script reports none. */
  private usage(): Record<string, unknown> | null {
    if (this.script.usage === null) {
      return null;
    }
    const usage = this.script.usage ?? DEFAULT_USAGE;
    const cacheWrite = usage.prompt_tokens_details?.cache_write_tokens;

    return {
      input_tokens: usage.prompt_tokens,
      input_tokens_details: {
        cached_tokens: usage.prompt_tokens_details?.cached_tokens ?? 0,
        ...(cacheWrite === undefined ? {} : { cache_write_tokens: cacheWrite }),
      },
      output_tokens: usage.completion_tokens,
      output_tokens_details: {
        reasoning_tokens:
          usage.completion_tokens_details?.reasoning_tokens ?? 0,
      },
      total_tokens:
        usage.total_tokens ?? usage.prompt_tokens + usage.completion_tokens,
    };
  }
}
