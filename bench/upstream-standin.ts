import http from "node:http";
import type { AddressInfo } from "node:net";

/**
 * Benchmark upstream: answers OpenAI Chat Completions (`POST …/chat/completions`) and Anthropic Messages
 * (`POST …/messages`) in their documented wire formats, as JSON or as server-sent events, with the last chunk
 * carrying the usage. It binds to 127.0.0.1 only.
 *
 * The shape of an answer is chosen by the request's `model`: a model named in the profile table gets that
 * profile, any other model gets `instant`. Every stream is bounded by its profile's chunk count.
 */
export interface Profile {
  /** Wait before the response headers, in milliseconds. */
  delayMs: number;
  /** Wait between the headers and the first chunk of a stream, in milliseconds. */
  firstChunkMs: number;
  /** Content chunks per stream, at most {@link MAX_CHUNKS}. */
  chunks: number;
  /** Wait between two content chunks, in milliseconds. */
  chunkGapMs: number;
}

export const PROFILES: Record<string, Profile> = {
  instant: { delayMs: 0, firstChunkMs: 0, chunks: 5, chunkGapMs: 0 },
  // 50 ms to the first byte, then 20 chunks 10 ms apart: roughly what a hosted model does for a short answer.
  provider: { delayMs: 0, firstChunkMs: 50, chunks: 20, chunkGapMs: 10 },
};

const MAX_CHUNKS = 10_000;
/** Largest request body read, in bytes; a larger one is answered with 413. */
const MAX_BODY_BYTES = 1024 * 1024;
const PROMPT_TOKENS = 12;
const WORD = "tok";

interface ChatBody {
  model?: string;
  stream?: boolean;
}

const sleep = (ms: number) =>
  ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : null;

export function profileFor(model: string | undefined): Profile {
  const profile = PROFILES[model ?? ""] ?? PROFILES.instant;
  return { ...profile, chunks: Math.min(profile.chunks, MAX_CHUNKS) };
}

async function readBody(request: http.IncomingMessage): Promise<string> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const part of request) {
    size += (part as Buffer).length;
    if (size > MAX_BODY_BYTES) {
      throw new Error("request body too large");
    }
    parts.push(part as Buffer);
  }
  return Buffer.concat(parts).toString("utf8");
}

function openAiJson(model: string, profile: Profile): string {
  return JSON.stringify({
    id: "chatcmpl-bench",
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [
      {
        index: 0,
        message: {
          role: "assistant",
          content: Array(profile.chunks).fill(WORD).join(" "),
        },
        finish_reason: "stop",
      },
    ],
    usage: {
      prompt_tokens: PROMPT_TOKENS,
      completion_tokens: profile.chunks,
      total_tokens: PROMPT_TOKENS + profile.chunks,
    },
  });
}

function anthropicJson(model: string, profile: Profile): string {
  return JSON.stringify({
    id: "msg_bench",
    type: "message",
    role: "assistant",
    model,
    content: [
      { type: "text", text: Array(profile.chunks).fill(WORD).join(" ") },
    ],
    stop_reason: "end_turn",
    stop_sequence: null,
    usage: { input_tokens: PROMPT_TOKENS, output_tokens: profile.chunks },
  });
}

/** Writes one SSE event and waits for the socket to drain if it is full. */
async function writeEvent(
  response: http.ServerResponse,
  text: string,
): Promise<void> {
  if (!response.write(text)) {
    await new Promise((resolve) => response.once("drain", resolve));
  }
}

async function streamOpenAi(
  response: http.ServerResponse,
  model: string,
  profile: Profile,
): Promise<void> {
  const created = Math.floor(Date.now() / 1000);
  const chunk = (choices: unknown[], usage: unknown = null) =>
    `data: ${JSON.stringify({ id: "chatcmpl-bench", object: "chat.completion.chunk", created, model, choices, usage })}\n\n`;

  await sleep(profile.firstChunkMs);
  await writeEvent(
    response,
    chunk([{ index: 0, delta: { role: "assistant", content: "" } }]),
  );
  for (let index = 0; index < profile.chunks; index += 1) {
    if (index > 0) {
      await sleep(profile.chunkGapMs);
    }
    await writeEvent(
      response,
      chunk([
        { index: 0, delta: { content: index === 0 ? WORD : ` ${WORD}` } },
      ]),
    );
  }
  await writeEvent(
    response,
    chunk([{ index: 0, delta: {}, finish_reason: "stop" }]),
  );
  await writeEvent(
    response,
    chunk([], {
      prompt_tokens: PROMPT_TOKENS,
      completion_tokens: profile.chunks,
      total_tokens: PROMPT_TOKENS + profile.chunks,
    }),
  );
  response.end("data: [DONE]\n\n");
}

async function streamAnthropic(
  response: http.ServerResponse,
  model: string,
  profile: Profile,
): Promise<void> {
  const event = (type: string, data: Record<string, unknown>) =>
    `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;

  await sleep(profile.firstChunkMs);
  await writeEvent(
    response,
    event("message_start", {
      message: {
        id: "msg_bench",
        type: "message",
        role: "assistant",
        model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { input_tokens: PROMPT_TOKENS, output_tokens: 1 },
      },
    }),
  );
  await writeEvent(
    response,
    event("content_block_start", {
      index: 0,
      content_block: { type: "text", text: "" },
    }),
  );
  for (let index = 0; index < profile.chunks; index += 1) {
    if (index > 0) {
      await sleep(profile.chunkGapMs);
    }
    await writeEvent(
      response,
      event("content_block_delta", {
        index: 0,
        delta: { type: "text_delta", text: index === 0 ? WORD : ` ${WORD}` },
      }),
    );
  }
  await writeEvent(response, event("content_block_stop", { index: 0 }));
  await writeEvent(
    response,
    event("message_delta", {
      delta: { stop_reason: "end_turn", stop_sequence: null },
      usage: { output_tokens: profile.chunks },
    }),
  );
  response.end(event("message_stop", {}));
}

async function handle(
  request: http.IncomingMessage,
  response: http.ServerResponse,
): Promise<void> {
  const path = (request.url ?? "").split("?")[0];
  const anthropic = path.endsWith("/messages");
  if (
    request.method !== "POST" ||
    !(anthropic || path.endsWith("/chat/completions"))
  ) {
    response.writeHead(404, { "content-type": "application/json" });
    response.end(
      '{"error":{"message":"not found","type":"invalid_request_error"}}',
    );
    return;
  }

  let body: ChatBody;
  try {
    body = JSON.parse(await readBody(request)) as ChatBody;
  } catch {
    response.writeHead(400, { "content-type": "application/json" });
    response.end(
      '{"error":{"message":"invalid JSON body","type":"invalid_request_error"}}',
    );
    return;
  }

  const model = body.model ?? "unknown";
  const profile = profileFor(model);
  await sleep(profile.delayMs);

  if (body.stream !== true) {
    response.writeHead(200, { "content-type": "application/json" });
    response.end(
      anthropic ? anthropicJson(model, profile) : openAiJson(model, profile),
    );
    return;
  }

  response.writeHead(200, {
    "content-type": "text/event-stream",
    "cache-control": "no-cache",
  });
  await (anthropic
    ? streamAnthropic(response, model, profile)
    : streamOpenAi(response, model, profile));
}

/** Starts the stand-in on 127.0.0.1 and resolves with its port. */
export function startStandIn(
  port = 0,
): Promise<{ server: http.Server; port: number }> {
  const server = http.createServer((request, response) => {
    handle(request, response).catch(() => response.destroy());
  });
  server.keepAliveTimeout = 60_000;

  return new Promise((resolve) => {
    server.listen(port, "127.0.0.1", () =>
      resolve({ server, port: (server.address() as AddressInfo).port }),
    );
  });
}

if (require.main === module) {
  void startStandIn(Number(process.env.PORT ?? 0)).then(({ port }) => {
    process.stdout.write(`${JSON.stringify({ listening: port })}\n`);
  });
}
