import { once } from "node:events";
import {
  createServer,
  IncomingMessage,
  Server,
  ServerResponse,
} from "node:http";
import { AddressInfo } from "node:net";

/**
 * A local stand-in for an OpenAI-compatible provider, so the proxy can be tried offline. It answers every chat
 * completion by echoing the last user message, streamed or not, with OpenAI's response and usage format. Its
 * token counts are rough (one per word), which is fine because it costs nothing real. It stops at the
 * request's `max_tokens`, as a provider does.
 */
export class DemoUpstream {
  private constructor(private readonly server: Server) {}

  static async start(): Promise<DemoUpstream> {
    const server = createServer((request, response) => {
      handle(request, response).catch(() => {
        if (response.headersSent) {
          response.destroy();
          return;
        }
        sendJson(response, 400, {
          error: {
            message: "The demo stand-in could not read this request",
            type: "invalid_request_error",
            param: null,
            code: null,
          },
        });
      });
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    return new DemoUpstream(server);
  }

  get baseUrl(): string {
    const address = this.server.address() as AddressInfo;
    return `http://127.0.0.1:${address.port}/v1`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

async function handle(
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  if (request.method !== "POST" || request.url !== "/v1/chat/completions") {
    sendJson(response, 404, {
      error: {
        message: "Unknown route",
        type: "invalid_request_error",
        param: null,
        code: null,
      },
    });
    return;
  }

  const chunks: Buffer[] = [];
  for await (const chunk of request) {
    chunks.push(chunk as Buffer);
  }
  const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as {
    model: string;
    messages: { role?: unknown; content?: unknown }[];
    stream?: boolean;
    stream_options?: { include_usage?: boolean };
    max_tokens?: number;
    max_completion_tokens?: number;
  };

  const lastUser = [...body.messages]
    .reverse()
    .find((message) => message?.role === "user");
  const prompt =
    typeof lastUser?.content === "string" ? lastUser.content : "your message";
  const limit =
    body.max_completion_tokens ?? body.max_tokens ?? Number.MAX_SAFE_INTEGER;
  const words =
    `This is the llm-proxy demo stand-in, not a real model. You said: ${prompt}`
      .split(/\s+/)
      .filter(Boolean)
      .slice(0, limit);
  const promptWords = body.messages.reduce(
    (sum, message) =>
      sum +
      (typeof message?.content === "string"
        ? message.content.split(/\s+/).length
        : 1) +
      3,
    3,
  );
  const usage = {
    prompt_tokens: promptWords,
    completion_tokens: words.length,
    total_tokens: promptWords + words.length,
  };

  const id = `chatcmpl-demo${Date.now()}`;
  const created = Math.floor(Date.now() / 1000);

  if (body.stream !== true) {
    sendJson(response, 200, {
      id,
      object: "chat.completion",
      created,
      model: body.model,
      choices: [
        {
          index: 0,
          finish_reason: "stop",
          logprobs: null,
          message: {
            role: "assistant",
            content: words.join(" "),
            refusal: null,
          },
        },
      ],
      usage,
    });
    return;
  }

  response.writeHead(200, {
    "content-type": "text/event-stream",
    "cache-control": "no-cache",
  });
  const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) =>
    `data: ${JSON.stringify({ id, object: "chat.completion.chunk", created, model: body.model, choices, ...extra })}\n\n`;

  response.write(
    chunk([
      {
        index: 0,
        delta: { role: "assistant", content: "" },
        finish_reason: null,
      },
    ]),
  );
  for (const [index, word] of words.entries()) {
    response.write(
      chunk([
        {
          index: 0,
          delta: { content: index === 0 ? word : ` ${word}` },
          finish_reason: null,
        },
      ]),
    );
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  response.write(chunk([{ index: 0, delta: {}, finish_reason: "stop" }]));
  if (body.stream_options?.include_usage) {
    response.write(chunk([], { usage }));
  }
  response.end("data: [DONE]\n\n");
}

function sendJson(
  response: ServerResponse,
  status: number,
  body: unknown,
): void {
  response.writeHead(status, { "content-type": "application/json" });
  response.end(JSON.stringify(body));
}
