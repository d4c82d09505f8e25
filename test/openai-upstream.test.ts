import http from "node:http";

import OpenAI from "openai";

import { SseEvent, SseParser } from "../src/proxy/sse/sse-parser";
import { OpenAiUpstream } from "./support/openai-upstream";

const API_KEY = "sk-test-upstream-key";
const MODEL = "gpt-4o-mini";
const MESSAGES = [{ role: "user" as const, content: "Say hello" }];

let upstream: OpenAiUpstream;
let client: OpenAI;

beforeEach(async () => {
  upstream = await OpenAiUpstream.start();
  client = new OpenAI({
    apiKey: API_KEY,
    baseURL: upstream.baseUrl,
    maxRetries: 0,
  });
});

afterEach(async () => {
  await upstream.stop();
});

function postChat(body: unknown, signal?: AbortSignal): Promise<Response> {
  return fetch(`${upstream.baseUrl}/chat/completions`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      authorization: `Bearer ${API_KEY}`,
    },
    body: JSON.stringify(body),
    signal,
  });
}

type Chunk = OpenAI.ChatCompletionChunk;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- raw JSON bodies are checked key by key
type JsonBody = any;

async function readJson(response: Response): Promise<JsonBody> {
  return JSON.parse(await response.text());
}

function parseSse(body: string): SseEvent[] {
  const parser = new SseParser();
  return [...parser.push(new TextEncoder().encode(body)), ...parser.end()];
}

/**
 * Parses the JSON events of a chat stream, skipping empty keep-alives and
 * `[DONE]`.
 */
function dataObjects(events: SseEvent[]): Chunk[] {
  return events
    .filter((event) => event.data !== "" && event.data !== "[DONE]")
    .map((event) => JSON.parse(event.data) as Chunk);
}

/**
 * Streams a chat completion through the SDK and returns every chunk it yields.
 */
async function streamChunks(
  params: Partial<OpenAI.ChatCompletionCreateParamsStreaming> = {},
): Promise<Chunk[]> {
  const stream = await client.chat.completions.create({
    model: MODEL,
    messages: MESSAGES,
    stream: true,
    ...params,
  });
  const chunks: Chunk[] = [];
  for await (const chunk of stream) {
    chunks.push(chunk);
  }
  return chunks;
}

function textOf(chunks: Chunk[]): string {
  return chunks.map((chunk) => chunk.choices[0]?.delta?.content ?? "").join("");
}

/**
 * Sends a raw streaming request and returns each body piece as the HTTP client
 * received it.
 */
function readPieces(body: unknown): Promise<Buffer[]> {
  const url = new URL(`${upstream.baseUrl}/chat/completions`);
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: "POST", headers: { "content-type": "application/json" } },
      (res) => {
        const pieces: Buffer[] = [];
        res.on("data", (piece: Buffer) => pieces.push(piece));
        res.on("end", () => resolve(pieces));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(JSON.stringify(body));
  });
}

describe("OpenAiUpstream non-streamed", () => {
  it("returns completion with usage", async () => {
    const completion = await client.chat.completions.create({
      model: MODEL,
      messages: MESSAGES,
    });

    expect(completion.object).toBe("chat.completion");
    expect(completion.id).toMatch(/^chatcmpl-/);
    expect(completion.model).toBe(MODEL);
    expect(completion.choices).toHaveLength(1);
    expect(completion.choices[0].message.role).toBe("assistant");
    expect(completion.choices[0].message.content).toBe("Hello world!");
    expect(completion.choices[0].finish_reason).toBe("stop");
    expect(completion.usage?.prompt_tokens).toBe(12);
    expect(completion.usage?.completion_tokens).toBe(3);
    expect(completion.usage?.total_tokens).toBe(15);
    expect(completion.usage?.prompt_tokens_details?.cached_tokens).toBe(0);
    expect(completion.usage?.completion_tokens_details?.reasoning_tokens).toBe(
      0,
    );
  });

  it("echoes request model", async () => {
    const completion = await client.chat.completions.create({
      model: "my-custom-model",
      messages: MESSAGES,
    });

    expect(completion.model).toBe("my-custom-model");
  });

  it("records method, headers and body", async () => {
    await client.chat.completions.create({
      model: MODEL,
      messages: MESSAGES,
      max_completion_tokens: 5,
    });

    expect(upstream.requests).toHaveLength(1);
    const [request] = upstream.requests;
    expect(request.method).toBe("POST");
    expect(request.url).toBe("/v1/chat/completions");
    expect(request.headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(request.body.model).toBe(MODEL);
    expect(request.body.messages).toEqual(MESSAGES);
    expect(request.body.max_completion_tokens).toBe(5);
  });

  it("omits usage key when usage is null", async () => {
    upstream.script({ usage: null });

    const response = await postChat({ model: MODEL, messages: MESSAGES });
    const body = await readJson(response);

    expect(response.status).toBe(200);
    expect(body.choices[0].message.content).toBe("Hello world!");
    expect("usage" in body).toBe(false);
  });

  it("reports scripted usage details", async () => {
    upstream.script({
      content: ["Hi"],
      usage: {
        prompt_tokens: 1500,
        completion_tokens: 220,
        prompt_tokens_details: { cached_tokens: 1280, cache_write_tokens: 64 },
        completion_tokens_details: { reasoning_tokens: 128 },
      },
    });

    const completion = await client.chat.completions.create({
      model: MODEL,
      messages: MESSAGES,
    });

    expect(completion.choices[0].message.content).toBe("Hi");
    expect(completion.usage).toEqual({
      prompt_tokens: 1500,
      completion_tokens: 220,
      total_tokens: 1720,
      prompt_tokens_details: {
        cached_tokens: 1280,
        audio_tokens: 0,
        cache_write_tokens: 64,
      },
      completion_tokens_details: {
        reasoning_tokens: 128,
        audio_tokens: 0,
        accepted_prediction_tokens: 0,
        rejected_prediction_tokens: 0,
      },
    });
  });

  it("sends null usage details", async () => {
    upstream.script({
      usage: {
        prompt_tokens: 5,
        completion_tokens: 2,
        total_tokens: 9,
        prompt_tokens_details: null,
      },
    });

    const response = await postChat({ model: MODEL, messages: MESSAGES });
    const body = await readJson(response);

    expect(body.usage.total_tokens).toBe(9);
    expect(body.usage.prompt_tokens_details).toBeNull();
  });

  it("sets request id and scripted headers", async () => {
    upstream.script({ headers: { "x-ratelimit-remaining-requests": "42" } });

    const response = await postChat({ model: MODEL, messages: MESSAGES });
    await response.arrayBuffer();

    expect(response.headers.get("content-type")).toBe("application/json");
    expect(response.headers.get("x-request-id")).toMatch(/^req_[0-9a-f]{32}$/);
    expect(response.headers.get("x-ratelimit-remaining-requests")).toBe("42");
  });

  it("waits delayMs before headers", async () => {
    upstream.script({ delayMs: 300 });
    const startedAt = Date.now();

    await client.chat.completions.create({ model: MODEL, messages: MESSAGES });

    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(290);
  });
});

describe("OpenAiUpstream scripts", () => {
  it("uses queued scripts in order, then default", async () => {
    upstream.script({ content: ["first"] });
    upstream.script({ content: ["second"] });
    upstream.setDefault({ content: ["fallback"] });

    const replies: Array<string | null> = [];
    for (let i = 0; i < 4; i++) {
      const completion = await client.chat.completions.create({
        model: MODEL,
        messages: MESSAGES,
      });
      replies.push(completion.choices[0].message.content);
    }

    expect(replies).toEqual(["first", "second", "fallback", "fallback"]);
  });

  it("keeps script queued on invalid request", async () => {
    upstream.script({ content: ["scripted"] });

    const invalid = await postChat({ model: MODEL, messages: [] });
    await invalid.arrayBuffer();
    const completion = await client.chat.completions.create({
      model: MODEL,
      messages: MESSAGES,
    });

    expect(invalid.status).toBe(400);
    expect(completion.choices[0].message.content).toBe("scripted");
  });
});

describe("OpenAiUpstream errors", () => {
  it("returns OpenAI error body", async () => {
    upstream.script({ status: 401 });

    const response = await postChat({ model: MODEL, messages: MESSAGES });
    const body = await readJson(response);

    expect(response.status).toBe(401);
    expect(body).toEqual({
      error: {
        message: "Incorrect API key provided.",
        type: "invalid_request_error",
        param: null,
        code: "invalid_api_key",
      },
    });
  });

  it("sdk maps 429 with retry-after", async () => {
    upstream.script({ status: 429, headers: { "retry-after": "2" } });

    const failure = client.chat.completions.create({
      model: MODEL,
      messages: MESSAGES,
    });

    await expect(failure).rejects.toBeInstanceOf(OpenAI.RateLimitError);
    const error = (await failure.catch((e: unknown) => e)) as InstanceType<
      typeof OpenAI.APIError
    >;
    expect(error.status).toBe(429);
    expect(error.code).toBe("rate_limit_exceeded");
    expect(error.type).toBe("requests");
    expect(error.headers?.get("retry-after")).toBe("2");
  });

  it("sdk reads scripted error fields", async () => {
    upstream.script({
      status: 400,
      error: {
        message: "This model's maximum context length is 128000 tokens.",
        type: "invalid_request_error",
        param: "messages",
        code: "context_length_exceeded",
      },
    });

    const error = (await client.chat.completions
      .create({ model: MODEL, messages: MESSAGES })
      .catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;

    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect(error.status).toBe(400);
    expect(error.param).toBe("messages");
    expect(error.code).toBe("context_length_exceeded");
    expect(error.message).toContain("maximum context length");
  });

  it("rejects stream_options without stream", async () => {
    const error = (await client.chat.completions
      .create({
        model: MODEL,
        messages: MESSAGES,
        stream_options: { include_usage: true },
      })
      .catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;

    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect(error.type).toBe("invalid_request_error");
    expect(error.param).toBe("stream_options");
  });

  it("accepts null stream_options without stream", async () => {
    const completion = await client.chat.completions.create({
      model: MODEL,
      messages: MESSAGES,
      stream_options: null,
    });

    expect(completion.choices[0].message.content).toBe("Hello world!");
  });

  it("rejects missing model and messages", async () => {
    const noModel = await postChat({ messages: MESSAGES });
    const noMessages = await postChat({ model: MODEL });
    const notJson = await fetch(`${upstream.baseUrl}/chat/completions`, {
      method: "POST",
      body: "{oops",
    });

    expect(noModel.status).toBe(400);
    expect((await readJson(noModel)).error.message).toContain("model");
    expect(noMessages.status).toBe(400);
    expect((await readJson(noMessages)).error.param).toBe("messages");
    expect(notJson.status).toBe(400);
    expect((await readJson(notJson)).error.type).toBe("invalid_request_error");
    expect(upstream.requests[2].body).toBe("{oops");
  });

  it("returns 404 for unknown route", async () => {
    const response = await fetch(`${upstream.baseUrl}/audio/speech`, {
      method: "POST",
      body: "{}",
    });
    const body = await readJson(response);

    expect(response.status).toBe(404);
    expect(body.error.message).toBe("Invalid URL (POST /v1/audio/speech)");
    expect(body.error.param).toBeNull();
    expect(body.error.code).toBeNull();
  });
});

describe("OpenAiUpstream streaming", () => {
  it("sdk reads stream without usage", async () => {
    const chunks = await streamChunks();

    expect(textOf(chunks)).toBe("Hello world!");
    expect(chunks).toHaveLength(5);
    expect(chunks[0].choices[0].delta).toEqual({
      role: "assistant",
      content: "",
      refusal: null,
    });
    expect(chunks[4].choices[0].finish_reason).toBe("stop");
    expect(
      chunks.every((chunk) => chunk.object === "chat.completion.chunk"),
    ).toBe(true);
    expect(chunks.every((chunk) => chunk.model === MODEL)).toBe(true);
    expect(new Set(chunks.map((chunk) => chunk.id)).size).toBe(1);
    expect(chunks.some((chunk) => "usage" in chunk)).toBe(false);
  });

  it("sdk reads usage chunk with include_usage", async () => {
    const chunks = await streamChunks({
      stream_options: { include_usage: true },
    });
    const last = chunks[chunks.length - 1];

    expect(textOf(chunks)).toBe("Hello world!");
    expect(chunks).toHaveLength(6);
    expect(chunks.slice(0, -1).every((chunk) => chunk.usage === null)).toBe(
      true,
    );
    expect(last.choices).toEqual([]);
    expect(last.usage?.prompt_tokens).toBe(12);
    expect(last.usage?.completion_tokens).toBe(3);
    expect(last.usage?.total_tokens).toBe(15);
  });

  it("sends no usage when script usage is null", async () => {
    upstream.script({ usage: null });

    const chunks = await streamChunks({
      stream_options: { include_usage: true },
    });

    expect(textOf(chunks)).toBe("Hello world!");
    expect(chunks).toHaveLength(5);
    expect(chunks.some((chunk) => "usage" in chunk)).toBe(false);
    expect(chunks.some((chunk) => chunk.choices.length === 0)).toBe(false);
  });

  it("writes OpenAI wire framing", async () => {
    const response = await postChat({
      model: MODEL,
      messages: MESSAGES,
      stream: true,
      stream_options: { include_usage: true },
    });
    const body = await response.text();
    const frames = body.split("\n\n");

    expect(response.headers.get("content-type")).toBe(
      "text/event-stream; charset=utf-8",
    );
    expect(frames.pop()).toBe("");
    expect(frames).toHaveLength(7);
    expect(frames[frames.length - 1]).toBe("data: [DONE]");
    for (const frame of frames.slice(0, -1)) {
      expect(frame).toMatch(/^data: \{"id":"chatcmpl-[^\n]*\}$/);
    }
    expect(frames[1]).toMatch(
      /^data: \{"id":"[^"]+","object":"chat\.completion\.chunk","created":\d+,"model":"gpt-4o-mini",/,
    );
    expect(frames[1]).toContain(
      '"choices":[{"index":0,"delta":{"content":"Hello"},"logprobs":null,"finish_reason":null}],"usage":null',
    );
    expect(frames[5]).toContain(
      '"choices":[],"usage":{"prompt_tokens":12,"completion_tokens":3,"total_tokens":15,',
    );
  });

  it("waits chunkGapMs between events", async () => {
    upstream.script({ chunkGapMs: 50 });
    const startedAt = Date.now();

    const chunks = await streamChunks();

    expect(chunks).toHaveLength(5);
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(5 * 50 - 10);
  });

  it("sdk parses 1-byte split with CRLF", async () => {
    const content = ["你好", ", 世界 ", "😀👍🏽", " done"];
    upstream.script({ content, splitBytes: 1, crlf: true });

    const chunks = await streamChunks({
      stream_options: { include_usage: true },
    });

    expect(textOf(chunks)).toBe(content.join(""));
    expect(chunks).toHaveLength(content.length + 3);
    expect(chunks[chunks.length - 1].usage?.total_tokens).toBe(15);
  });

  it("writes CRLF line endings", async () => {
    upstream.script({ crlf: true, keepAliveComments: true });

    const response = await postChat({
      model: MODEL,
      messages: MESSAGES,
      stream: true,
    });
    const body = await response.text();

    expect(body).toContain("\r\n\r\n");
    expect(body.endsWith("data: [DONE]\r\n\r\n")).toBe(true);
    expect(/[^\r]\n/.test(body)).toBe(false);
  });

  it("delivers split pieces separately", async () => {
    upstream.script({ content: ["你好"], splitBytes: 3 });

    const pieces = await readPieces({
      model: MODEL,
      messages: MESSAGES,
      stream: true,
    });
    const body = Buffer.concat(pieces).toString("utf8");

    expect(pieces.length).toBeGreaterThan(body.split("\n\n").length);
    expect(
      Math.max(...pieces.map((piece) => piece.length)),
    ).toBeLessThanOrEqual(3);
    expect(textOf(dataObjects(parseSse(body)))).toBe("你好");
  });

  it("interleaves keep-alives", async () => {
    upstream.script({ keepAliveComments: true });

    const response = await postChat({
      model: MODEL,
      messages: MESSAGES,
      stream: true,
    });
    const body = await response.text();
    const events = parseSse(body);

    expect(body.startsWith(": ping\n\n")).toBe(true);
    expect(body).toContain('\n\n: ping\ndata: {"id"');
    expect(events.filter((event) => event.data === "")).toHaveLength(1);
    expect(events[events.length - 1].data).toBe("[DONE]");
    expect(textOf(dataObjects(events))).toBe("Hello world!");
  });
});

describe("OpenAiUpstream stream faults", () => {
  it("sdk throws on error event", async () => {
    upstream.script({
      errorEventAfter: 1,
      error: {
        message: "The server had an error while processing your request.",
        type: "server_error",
      },
    });
    const stream = await client.chat.completions.create({
      model: MODEL,
      messages: MESSAGES,
      stream: true,
    });
    const received: Chunk[] = [];

    const consume = async () => {
      for await (const chunk of stream) {
        received.push(chunk);
      }
    };

    await expect(consume()).rejects.toBeInstanceOf(OpenAI.APIError);
    expect(textOf(received)).toBe("Hello");
  });

  it("writes error event then DONE", async () => {
    upstream.script({ errorEventAfter: 2 });

    const response = await postChat({
      model: MODEL,
      messages: MESSAGES,
      stream: true,
    });
    const events = parseSse(await response.text());
    const errorEvent = JSON.parse(events[events.length - 2].data);

    expect(events).toHaveLength(5);
    expect(errorEvent).toEqual({
      error: {
        message:
          "The server had an error while processing your request. Sorry about that!",
        type: "server_error",
        param: null,
        code: null,
      },
    });
    expect(events[events.length - 1].data).toBe("[DONE]");
  });

  it("sdk throws when socket dies", async () => {
    upstream.script({ dieAfterEvents: 2, chunkGapMs: 20 });
    const stream = await client.chat.completions.create({
      model: MODEL,
      messages: MESSAGES,
      stream: true,
      stream_options: { include_usage: true },
    });
    const received: Chunk[] = [];

    const consume = async () => {
      for await (const chunk of stream) {
        received.push(chunk);
      }
    };

    await expect(consume()).rejects.toThrow();
    expect(textOf(received)).toBe("Hello world");
    expect(received.some((chunk) => chunk.usage)).toBe(false);
    expect(upstream.clientAborts).toBe(0);
  });

  it("sends headers only when dying at zero", async () => {
    upstream.script({ dieAfterEvents: 0 });

    const response = await postChat({
      model: MODEL,
      messages: MESSAGES,
      stream: true,
    });

    expect(response.status).toBe(200);
    await expect(response.text()).rejects.toThrow();
  });

  it("detects client abort on hung stream", async () => {
    upstream.script({ hangAfterEvents: 1 });
    const controller = new AbortController();
    const response = await postChat(
      { model: MODEL, messages: MESSAGES, stream: true },
      controller.signal,
    );
    const reader = response.body!.getReader();
    const parser = new SseParser();
    const events: SseEvent[] = [];

    while (events.length < 2) {
      const { value, done } = await reader.read();
      if (done) {
        break;
      }
      events.push(...parser.push(value));
    }
    expect(upstream.activeSockets()).toBe(1);
    expect(upstream.openResponses()).toBe(1);
    controller.abort();

    await upstream.waitForClientAbort();
    expect(upstream.clientAborts).toBe(1);
    expect(textOf(dataObjects(events))).toBe("Hello");
    expect(upstream.openResponses()).toBe(0);
  });

  it("detects client abort during delay", async () => {
    upstream.script({ delayMs: 10_000 });
    const controller = new AbortController();

    const pending = postChat(
      { model: MODEL, messages: MESSAGES },
      controller.signal,
    );
    await waitFor(() => upstream.requests.length === 1);
    controller.abort();

    await expect(pending).rejects.toThrow();
    await upstream.waitForClientAbort();
  });

  it("stop closes hung stream", async () => {
    upstream.script({ hangAfterEvents: 0 });
    const response = await postChat({
      model: MODEL,
      messages: MESSAGES,
      stream: true,
    });

    expect(response.status).toBe(200);
    const body = response.text();
    await upstream.stop();

    await expect(body).rejects.toThrow();
    expect(upstream.activeSockets()).toBe(0);
    expect(upstream.clientAborts).toBe(0);
  });

  it("times out waiting for abort", async () => {
    await expect(upstream.waitForClientAbort(1, 50)).rejects.toThrow(
      "timed out after 50 ms waiting for 1 client aborts, saw 0",
    );
  });

  it("hangs non-streamed request", async () => {
    upstream.script({ hangAfterEvents: 0 });

    const failure = client.chat.completions.create(
      { model: MODEL, messages: MESSAGES },
      { timeout: 200 },
    );

    await expect(failure).rejects.toBeInstanceOf(OpenAI.APIConnectionError);
    await upstream.waitForClientAbort();
  });
});

describe("OpenAiUpstream models", () => {
  it("lists models in OpenAI format", async () => {
    upstream.models = ["gpt-a", "gpt-b"];

    const models = [];
    for await (const model of client.models.list()) {
      models.push(model);
    }

    expect(models.map((model) => model.id)).toEqual(["gpt-a", "gpt-b"]);
    expect(models[0].object).toBe("model");
    expect(typeof models[0].created).toBe("number");
    expect(typeof models[0].owned_by).toBe("string");
  });

  it("returns list object", async () => {
    const response = await fetch(`${upstream.baseUrl}/models`);
    const body = await readJson(response);

    expect(body.object).toBe("list");
    expect(body.data.map((model: { id: string }) => model.id)).toEqual(
      upstream.models,
    );
  });
});

async function waitFor(
  condition: () => boolean,
  timeoutMs = 2000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) {
      throw new Error(`condition not met within ${timeoutMs} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
