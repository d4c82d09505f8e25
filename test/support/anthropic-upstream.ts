import { randomBytes } from "node:crypto";
import http from "node:http";
import type { AddressInfo, Socket } from "node:net";

/** Token counts as Anthropic reports them in `usage`. */
export interface AnthropicWireUsage {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens?: number | null;
  cache_read_input_tokens?: number | null;
  cache_creation?: {
    ephemeral_5m_input_tokens: number;
    ephemeral_1h_input_tokens: number;
  } | null;
  output_tokens_details?: { thinking_tokens: number } | null;
}

/** Content of an Anthropic error object. */
export interface AnthropicWireError {
  type: string;
  message: string;
}

/** A `tool_use` block in the stand-in's reply. */
export interface ScriptedToolUse {
  /** Default: a fresh `toolu_` id. */
  id?: string;
  name: string;
  input: Record<string, unknown>;
  /**
   * `partial_json` fragments streamed for the input, which must join to its JSON. Default: the JSON cut in
   * two, after an empty first fragment as Anthropic sends it.
   */
  fragments?: string[];
}

/**
 * Behaviour of the stand-in for one `POST /v1/messages`. Every field is optional, and the defaults give a
 * three-delta text reply with usage.
 *
 * The fault fields (`dieAfterEvents`, `errorEventAfter`, `hangAfterEvents`) count SSE events written,
 * `message_start` and `ping` included, so 0 means that only the response headers were sent. A count past the
 * last event acts before `message_stop`.
 */
export interface MessagesScript {
  /** HTTP status. Any status other than 200 returns an Anthropic error body. */
  status?: number;
  /** Error body for a non-200 status, and the error of the `errorEventAfter` event. */
  error?: AnthropicWireError;
  /** Extra response headers. A 429 gets `retry-after: 7` unless set here. */
  headers?: Record<string, string>;
  /** Raw body sent with `status` (default 200) and a JSON content type, in either mode. */
  rawBody?: string;
  /** Text, one `text_delta` per element. Default ["Hello", " there", "!"]. Empty: no text block. */
  content?: string[];
  /** Thinking text, one `thinking_delta` per element, in a thinking block before the text. */
  thinking?: string[];
  /** Tool calls, each a `tool_use` block after the text. */
  toolUses?: ScriptedToolUse[];
  /** Default `tool_use` when the script has tool calls, else `end_turn`. */
  stopReason?: string;
  /** Usage of the reply; streams send the input side in `message_start` and output in `message_delta`. */
  usage?: AnthropicWireUsage;
  /**
   * Usage objects of the stream's `message_delta` events, in order, for streams with several cumulative
   * snapshots or late input figures. Default: one event with `usage.output_tokens`. The stop reason goes on the
   * last one.
   */
  messageDeltaUsages?: Record<string, unknown>[];
  /** Ends the stream after `message_delta`, without `message_stop`, and closes the body cleanly. */
  omitMessageStop?: boolean;
  /** Wait in milliseconds before the response headers. */
  delayMs?: number;
  /** Wait in milliseconds between stream events. */
  chunkGapMs?: number;
  /** Writes the stream body in pieces of this many bytes, splitting lines, events and UTF-8 characters. */
  splitBytes?: number;
  /** Ends stream lines with `\r\n` in place of `\n`. */
  crlf?: boolean;
  /** Destroys the socket after this many events. */
  dieAfterEvents?: number;
  /** After this many events, sends an `error` event and ends the body. */
  errorEventAfter?: number;
  /** After this many events, stops writing but keeps the socket open until the client or `stop()` closes. */
  hangAfterEvents?: number;
}

/** One request as the stand-in received it. */
export interface RecordedRequest {
  method: string;
  /** Path and query as received, e.g. `/v1/messages`. */
  url: string;
  headers: http.IncomingHttpHeaders;
  /** Parsed JSON, the raw text when it is not JSON, or undefined when the body was empty. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary JSON bodies by key
  body: any;
}

const DEFAULT_CONTENT = ["Hello", " there", "!"];
const DEFAULT_USAGE: AnthropicWireUsage = {
  input_tokens: 11,
  output_tokens: 6,
};
/** Placeholder output count Anthropic puts in `message_start`. */
const START_OUTPUT_TOKENS = 1;
const DEFAULT_ABORT_WAIT_MS = 5000;

/** Anthropic's error type for each status it documents. */
const ERROR_TYPES: Record<number, string> = {
  400: "invalid_request_error",
  401: "authentication_error",
  402: "billing_error",
  403: "permission_error",
  404: "not_found_error",
  413: "request_too_large",
  429: "rate_limit_error",
  500: "api_error",
  504: "timeout_error",
  529: "overloaded_error",
};

/** Raised inside a response handler when its connection closed, to stop writing. */
class ConnectionClosedError extends Error {}

interface ResponseState {
  closed: Promise<void>;
  isClosed: boolean;
  /** True when the stand-in destroyed the socket itself, so it is no client abort. */
  destroyedByUpstream: boolean;
}

/**
 * Stand-in for Anthropic's Messages API on 127.0.0.1, for end-to-end tests. It writes Anthropic's wire format:
 * `event:` lines with JSON whose `type` repeats the name, `message_start` to `message_stop` with a `ping`,
 * cumulative usage on `message_delta`, `{"type":"error","error":{type,message}}` bodies and `error` events.
 * It serves `/v1/messages` and `/v1/messages/count_tokens`, and the same paths without `/v1` for base URLs
 * that end in `/v1`. It accepts any API key and records every request with its headers.
 */
export class AnthropicUpstream {
  readonly requests: RecordedRequest[] = [];
  /** `input_tokens` returned by `count_tokens`; null derives a count from the body's length. */
  countTokensResult: number | null = null;

  private readonly server = http.createServer();
  private readonly sockets = new Set<Socket>();
  private readonly scriptQueue: MessagesScript[] = [];
  private defaultScript: MessagesScript = {};
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
        this.handleRequest(req, res).catch((error: unknown) => {
          console.error("AnthropicUpstream: request handler failed", error);
          if (!res.headersSent) {
            res.writeHead(500);
          }
          res.end();
        });
      },
    );
  }

  /** Starts a stand-in on 127.0.0.1 with a free port. */
  static async start(): Promise<AnthropicUpstream> {
    const upstream = new AnthropicUpstream();
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

  /** Base URL without `/v1`, as the Anthropic SDK's `baseURL` expects it. */
  get rootUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Base URL including `/v1`, as a provider row stores it. */
  get baseUrl(): string {
    return `${this.rootUrl}/v1`;
  }

  /** Queues a script for the next Messages request; the default script runs when the queue is empty. */
  script(next: MessagesScript): void {
    this.scriptQueue.push(next);
  }

  /** Replaces the script used when the queue is empty. */
  setDefault(script: MessagesScript): void {
    this.defaultScript = script;
  }

  /** Returns the number of Messages responses still being written or held open. */
  openResponses(): number {
    return this.openResponseCount;
  }

  /** Number of responses whose client closed the connection before the response was complete. */
  get clientAborts(): number {
    return this.clientAbortCount;
  }

  /** Resolves once `count` responses in total have been closed early by their client. */
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

    const path = new URL(url, "http://127.0.0.1").pathname.replace(
      /^\/v1(?=\/)/,
      "",
    );
    const headerError = checkHeaders(req.headers);
    if (method === "POST" && headerError !== null) {
      sendError(res, headerError.status, headerError.error);
      return;
    }

    if (method === "POST" && path === "/messages") {
      await this.handleMessages(res, body);
      return;
    }
    if (method === "POST" && path === "/messages/count_tokens") {
      this.handleCountTokens(res, body);
      return;
    }

    sendError(res, 404, {
      type: "not_found_error",
      message: "Not Found",
    });
  }

  private handleCountTokens(res: http.ServerResponse, body: unknown): void {
    const invalid = validateBody(body, false);
    if (invalid !== null) {
      sendError(res, 400, invalid);
      return;
    }

    const { system, messages, tools } = body as Record<string, unknown>;
    const counted =
      this.countTokensResult ??
      Math.ceil(JSON.stringify([system, messages, tools]).length / 4);
    sendJson(res, 200, { input_tokens: counted });
  }

  private async handleMessages(
    res: http.ServerResponse,
    body: unknown,
  ): Promise<void> {
    const invalid = validateBody(body, true);
    if (invalid !== null) {
      sendError(res, 400, invalid);
      return;
    }
    const request = body as { model: string; stream?: unknown };
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
        sendError(res, status, script.error ?? defaultError(status), {
          ...(status === 429 ? { "retry-after": "7" } : {}),
          ...script.headers,
        });
        return;
      }

      const reply = new ReplyBuilder(request.model, script);
      if (request.stream === true) {
        await this.stream(res, reply, script, state);
      } else {
        await replyJson(res, reply, script, state);
      }
    } catch (error) {
      if (!(error instanceof ConnectionClosedError)) {
        throw error;
      }
    }
  }

  private async stream(
    res: http.ServerResponse,
    reply: ReplyBuilder,
    script: MessagesScript,
    state: ResponseState,
  ): Promise<void> {
    res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      "request-id": requestId(),
      ...script.headers,
    });
    res.flushHeaders();

    const writer = new EventWriter(res, state, script);
    const events = reply.streamEvents();
    const last = events.length - 1;

    for (let sent = 0; sent < events.length; sent++) {
      if (await this.applyFault(writer, script, sent, last, state)) {
        return;
      }
      const [name, data] = events[sent];
      if (name === "message_stop" && script.omitMessageStop) {
        break;
      }
      await writer.event(name, data);
    }
    res.end();
  }

  /**
   * Acts on the script's fault once `sent` events are out; a count past `last` (the index of `message_stop`)
   * acts just before it. Returns true when the response is over.
   */
  private async applyFault(
    writer: EventWriter,
    script: MessagesScript,
    sent: number,
    last: number,
    state: ResponseState,
  ): Promise<boolean> {
    const triggersNow = (after: number | undefined) =>
      after !== undefined && Math.min(after, last) === sent;

    if (triggersNow(script.dieAfterEvents)) {
      await writer.pauseBeforeEvent();
      state.destroyedByUpstream = true;
      writer.destroy();
      return true;
    }
    if (triggersNow(script.errorEventAfter)) {
      const error = script.error ?? defaultError(529);
      await writer.event("error", { type: "error", error });
      writer.end();
      return true;
    }
    if (triggersNow(script.hangAfterEvents)) {
      await writer.pauseBeforeEvent();
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
      this.clientAbortCount++;
      for (let i = this.abortWaiters.length - 1; i >= 0; i--) {
        if (this.abortWaiters[i].count <= this.clientAbortCount) {
          this.abortWaiters[i].resolve();
          this.abortWaiters.splice(i, 1);
        }
      }
    });
    return state;
  }
}

/** Builds one reply, streamed or not, from a script. */
class ReplyBuilder {
  readonly id = `msg_${randomBytes(12).toString("base64url")}`;
  private readonly content: string[];
  private readonly thinking: string[];
  private readonly toolUses: Required<ScriptedToolUse>[];
  private readonly usage: AnthropicWireUsage;
  private readonly stopReason: string;
  private events: Array<[string, Record<string, unknown>]> | null = null;

  constructor(
    private readonly model: string,
    private readonly script: MessagesScript,
  ) {
    this.content = script.content ?? DEFAULT_CONTENT;
    this.thinking = script.thinking ?? [];
    this.toolUses = (script.toolUses ?? []).map((tool) => {
      const json = JSON.stringify(tool.input);
      const cut = Math.floor(json.length / 2);
      return {
        id: tool.id ?? `toolu_${randomBytes(12).toString("base64url")}`,
        name: tool.name,
        input: tool.input,
        fragments: tool.fragments ?? ["", json.slice(0, cut), json.slice(cut)],
      };
    });
    this.usage = script.usage ?? DEFAULT_USAGE;
    this.stopReason =
      script.stopReason ?? (this.toolUses.length > 0 ? "tool_use" : "end_turn");
  }

  /** Builds the non-streamed `message` object. */
  message(): Record<string, unknown> {
    const content: Record<string, unknown>[] = [];
    if (this.thinking.length > 0) {
      content.push({
        type: "thinking",
        thinking: this.thinking.join(""),
        signature: signature(),
      });
    }
    if (this.content.length > 0) {
      content.push({ type: "text", text: this.content.join("") });
    }
    for (const tool of this.toolUses) {
      content.push({
        type: "tool_use",
        id: tool.id,
        name: tool.name,
        input: tool.input,
      });
    }

    return {
      id: this.id,
      type: "message",
      role: "assistant",
      model: this.model,
      content,
      stop_reason: this.stopReason,
      stop_sequence: null,
      usage: fullUsage(this.usage),
    };
  }

  /** Builds every event of the stream, `message_start` to `message_stop`, with a `ping` after the first block starts. */
  streamEvents(): Array<[string, Record<string, unknown>]> {
    if (this.events !== null) {
      return this.events;
    }

    const startUsage: Record<string, unknown> = {
      ...fullUsage(this.usage),
      output_tokens: START_OUTPUT_TOKENS,
    };
    delete startUsage.output_tokens_details;
    const events: Array<[string, Record<string, unknown>]> = [
      [
        "message_start",
        {
          type: "message_start",
          message: {
            id: this.id,
            type: "message",
            role: "assistant",
            model: this.model,
            content: [],
            stop_reason: null,
            stop_sequence: null,
            usage: startUsage,
          },
        },
      ],
    ];

    let index = 0;
    const block = (
      start: Record<string, unknown>,
      deltas: Record<string, unknown>[],
    ) => {
      events.push([
        "content_block_start",
        { type: "content_block_start", index, content_block: start },
      ]);
      if (index === 0) {
        events.push(["ping", { type: "ping" }]);
      }
      for (const delta of deltas) {
        events.push([
          "content_block_delta",
          { type: "content_block_delta", index, delta },
        ]);
      }
      events.push([
        "content_block_stop",
        { type: "content_block_stop", index },
      ]);
      index++;
    };

    if (this.thinking.length > 0) {
      block({ type: "thinking", thinking: "", signature: "" }, [
        ...this.thinking.map((text) => ({
          type: "thinking_delta",
          thinking: text,
        })),
        { type: "signature_delta", signature: signature() },
      ]);
    }
    if (this.content.length > 0) {
      block(
        { type: "text", text: "" },
        this.content.map((text) => ({ type: "text_delta", text })),
      );
    }
    for (const tool of this.toolUses) {
      block(
        { type: "tool_use", id: tool.id, name: tool.name, input: {} },
        tool.fragments.map((fragment) => ({
          type: "input_json_delta",
          partial_json: fragment,
        })),
      );
    }

    const deltaUsages = this.script.messageDeltaUsages ?? [
      deltaUsage(this.usage),
    ];
    deltaUsages.forEach((usage, position) => {
      const isLast = position === deltaUsages.length - 1;
      events.push([
        "message_delta",
        {
          type: "message_delta",
          delta: {
            stop_reason: isLast ? this.stopReason : null,
            stop_sequence: null,
          },
          usage,
        },
      ]);
    });
    events.push(["message_stop", { type: "message_stop" }]);

    this.events = events;
    return events;
  }
}

/** Builds the usage object with every counter Anthropic sends today, absent ones filled with zero. */
function fullUsage(usage: AnthropicWireUsage): Record<string, unknown> {
  const written = usage.cache_creation_input_tokens ?? 0;
  return {
    input_tokens: usage.input_tokens,
    cache_creation_input_tokens:
      usage.cache_creation_input_tokens === null ? null : written,
    cache_read_input_tokens: usage.cache_read_input_tokens ?? 0,
    cache_creation:
      usage.cache_creation === null
        ? null
        : (usage.cache_creation ?? {
            ephemeral_5m_input_tokens: written,
            ephemeral_1h_input_tokens: 0,
          }),
    output_tokens: usage.output_tokens,
    service_tier: "standard",
    ...(usage.output_tokens_details
      ? { output_tokens_details: usage.output_tokens_details }
      : {}),
  };
}

/** Builds the usage of a final `message_delta`: cumulative output, plus thinking details when the script has them. */
function deltaUsage(usage: AnthropicWireUsage): Record<string, unknown> {
  const result: Record<string, unknown> = {
    output_tokens: usage.output_tokens,
  };
  if (usage.output_tokens_details) {
    result.output_tokens_details = usage.output_tokens_details;
  }
  return result;
}

/** Writes SSE events with the script's line endings, gaps and byte splits. */
class EventWriter {
  private readonly eol: string;
  private written = 0;

  constructor(
    private readonly res: http.ServerResponse,
    private readonly state: ResponseState,
    private readonly script: MessagesScript,
  ) {
    this.eol = script.crlf ? "\r\n" : "\n";
  }

  /** Writes one event. `ping` keeps Anthropic's spacing, `{"type": "ping"}`. */
  event(name: string, data: Record<string, unknown>): Promise<void> {
    const json = name === "ping" ? '{"type": "ping"}' : JSON.stringify(data);
    return this.frame(
      `event: ${name}${this.eol}data: ${json}${this.eol}${this.eol}`,
    );
  }

  end(): void {
    this.res.end();
  }

  destroy(): void {
    this.res.socket?.destroy();
  }

  async pauseBeforeEvent(): Promise<void> {
    if (this.written > 0) {
      await sleepUnlessClosed(this.script.chunkGapMs ?? 0, this.state);
    }
  }

  private async frame(text: string): Promise<void> {
    await this.pauseBeforeEvent();
    this.written++;

    const bytes = Buffer.from(text, "utf8");
    const pieceSize = this.script.splitBytes ?? bytes.length;
    for (let offset = 0; offset < bytes.length; offset += pieceSize) {
      await this.write(bytes.subarray(offset, offset + pieceSize));
      if (this.script.splitBytes !== undefined) {
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    }
  }

  /** Writes and waits until the bytes reached the socket, so a later destroy cannot discard them. */
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

async function replyJson(
  res: http.ServerResponse,
  reply: ReplyBuilder,
  script: MessagesScript,
  state: ResponseState,
): Promise<void> {
  // A non-streamed reply has no events, so the fault fields act before the response headers.
  if (script.dieAfterEvents !== undefined) {
    state.destroyedByUpstream = true;
    res.socket?.destroy();
    return;
  }
  if (script.hangAfterEvents !== undefined) {
    await state.closed;
    return;
  }
  sendJson(res, 200, reply.message(), script.headers);
}

/** Returns the error Anthropic sends for missing headers, or null when they are acceptable. */
function checkHeaders(
  headers: http.IncomingHttpHeaders,
): { status: number; error: AnthropicWireError } | null {
  if (!headers["x-api-key"] && !headers.authorization) {
    return {
      status: 401,
      error: {
        type: "authentication_error",
        message: "x-api-key header is required",
      },
    };
  }
  if (!headers["anthropic-version"]) {
    return {
      status: 400,
      error: {
        type: "invalid_request_error",
        message: "anthropic-version: header is required",
      },
    };
  }
  return null;
}

/** Returns the error Anthropic sends for an invalid body, or null when the body is acceptable. */
function validateBody(
  parsed: unknown,
  needsMaxTokens: boolean,
): AnthropicWireError | null {
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    return {
      type: "invalid_request_error",
      message: "Request body must be a JSON object",
    };
  }
  const body = parsed as Record<string, unknown>;
  if (typeof body.model !== "string" || body.model === "") {
    return { type: "invalid_request_error", message: "model: Field required" };
  }
  if (needsMaxTokens && typeof body.max_tokens !== "number") {
    return {
      type: "invalid_request_error",
      message: "max_tokens: Field required",
    };
  }
  if (!Array.isArray(body.messages)) {
    return {
      type: "invalid_request_error",
      message: "messages: Field required",
    };
  }
  return null;
}

function defaultError(status: number): AnthropicWireError {
  const type =
    ERROR_TYPES[status] ??
    (status >= 500 ? "api_error" : "invalid_request_error");
  const messages: Record<string, string> = {
    rate_limit_error:
      "This request would exceed the rate limit for your organization of 50 input tokens per minute.",
    overloaded_error: "Overloaded",
    api_error: "Internal server error",
    not_found_error: "model: not found",
    authentication_error: "invalid x-api-key",
  };
  return {
    type,
    message: messages[type] ?? `Request failed with status ${status}.`,
  };
}

function sendError(
  res: http.ServerResponse,
  status: number,
  error: AnthropicWireError,
  headers: Record<string, string> = {},
): void {
  sendJson(
    res,
    status,
    { type: "error", error, request_id: requestId() },
    headers,
  );
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
    "request-id": requestId(),
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

/** Waits `ms` milliseconds, or less when the connection closes first, so no timer outlives the response. */
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

function requestId(): string {
  return `req_${randomBytes(12).toString("base64url")}`;
}

function signature(): string {
  return randomBytes(48).toString("base64");
}
