import OpenAI, { AzureOpenAI } from "openai";

import { SseParser } from "../src/proxy/sse/sse-parser";
import { embeddingOf, OpenAiUpstream } from "./support/openai-upstream";

const API_KEY = "sk-test-upstream-key";

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- raw JSON bodies are checked key by key
type JsonBody = any;

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

function post(path: string, body: unknown): Promise<Response> {
  return fetch(`${upstream.origin}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

function eventsOf(text: string) {
  const parser = new SseParser();
  return [...parser.push(Buffer.from(text)), ...parser.end()];
}

describe("OpenAiUpstream embeddings", () => {
  it("returns float embeddings with usage", async () => {
    upstream.script({ usage: { prompt_tokens: 8, completion_tokens: 0 } });

    const result = await client.embeddings.create({
      model: "text-embedding-3-small",
      input: ["a", "b"],
      encoding_format: "float",
      dimensions: 4,
    });

    expect(result.object).toBe("list");
    expect(result.data).toHaveLength(2);
    expect(result.data[1].index).toBe(1);
    expect(result.data[0].embedding).toEqual(Array.from(embeddingOf("a", 4)));
    expect(result.usage).toEqual({ prompt_tokens: 8, total_tokens: 8 });
  });

  it("returns base64 embeddings the sdk decodes", async () => {
    const result = await client.embeddings.create({
      model: "text-embedding-3-small",
      input: "hello",
    });

    expect(upstream.requests[0].body.encoding_format).toBe("base64");
    expect(result.data[0].embedding).toEqual(
      Array.from(embeddingOf("hello", 8)),
    );
  });

  it("rejects missing input", async () => {
    const response = await post("/v1/embeddings", { model: "m" });
    const body = (await response.json()) as JsonBody;

    expect(response.status).toBe(400);
    expect(body.error.param).toBe("input");
  });
});

describe("OpenAiUpstream completions", () => {
  it("returns text completion with usage", async () => {
    upstream.script({ usage: { prompt_tokens: 5, completion_tokens: 3 } });

    const completion = await client.completions.create({
      model: "gpt-3.5-turbo-instruct",
      prompt: ["Say", "Do"],
      n: 2,
    });

    expect(completion.object).toBe("text_completion");
    expect(completion.id).toMatch(/^cmpl-/);
    expect(completion.choices).toHaveLength(4);
    expect(completion.choices[3].index).toBe(3);
    expect(completion.choices[0].text).toBe("Hello world!");
    expect(completion.usage?.total_tokens).toBe(8);
  });

  it("echoes prompt", async () => {
    const completion = await client.completions.create({
      model: "gpt-3.5-turbo-instruct",
      prompt: "Say: ",
      echo: true,
    });

    expect(completion.choices[0].text).toBe("Say: Hello world!");
  });

  it("streams chunks with requested usage", async () => {
    const stream = await client.completions.create({
      model: "gpt-3.5-turbo-instruct",
      prompt: "Say",
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks: OpenAI.Completion[] = [];
    for await (const chunk of stream) {
      chunks.push(chunk);
    }

    expect(chunks.map((chunk) => chunk.choices[0]?.text ?? "").join("")).toBe(
      "Hello world!",
    );
    expect(chunks.every((chunk) => chunk.object === "text_completion")).toBe(
      true,
    );
    expect(chunks.at(-2)?.choices[0].finish_reason).toBe("stop");
    expect(chunks.at(-1)?.choices).toEqual([]);
    expect(chunks.at(-1)?.usage?.prompt_tokens).toBe(12);
  });

  it("streams without usage unless requested", async () => {
    const response = await post("/v1/completions", {
      model: "m",
      prompt: "x",
      stream: true,
    });
    const text = await response.text();

    expect(text).not.toContain("usage");
    expect(text.endsWith("data: [DONE]\n\n")).toBe(true);
  });
});

describe("OpenAiUpstream responses", () => {
  const usage = {
    prompt_tokens: 3000,
    completion_tokens: 600,
    prompt_tokens_details: { cached_tokens: 2048 },
    completion_tokens_details: { reasoning_tokens: 448 },
  };

  it("returns response with usage", async () => {
    upstream.script({ usage, reasoningSummary: ["Thinking"] });

    const response = await client.responses.create({
      model: "gpt-5-mini",
      input: "Hi",
      instructions: "Be brief",
    });

    expect(response.object).toBe("response");
    expect(response.status).toBe("completed");
    expect(response.instructions).toBe("Be brief");
    expect(response.output_text).toBe("Hello world!");
    expect(response.output[0].type).toBe("reasoning");
    expect(response.usage).toEqual({
      input_tokens: 3000,
      input_tokens_details: { cached_tokens: 2048 },
      output_tokens: 600,
      output_tokens_details: { reasoning_tokens: 448 },
      total_tokens: 3600,
    });
  });

  it("streams typed events in order", async () => {
    upstream.script({
      usage,
      reasoningSummary: ["Think", "ing"],
      functionCall: { name: "lookup", arguments: ['{"q":', "1}"] },
    });

    const stream = await client.responses.create({
      model: "gpt-5-mini",
      input: "Hi",
      stream: true,
    });
    const events: OpenAI.Responses.ResponseStreamEvent[] = [];
    for await (const event of stream) {
      events.push(event);
    }

    const types = events.map((event) => event.type);
    expect(types.slice(0, 3)).toEqual([
      "response.created",
      "response.in_progress",
      "response.output_item.added",
    ]);
    expect(types).toContain("response.reasoning_summary_text.delta");
    expect(types).toContain("response.function_call_arguments.delta");
    expect(
      types.filter((t) => t === "response.output_text.delta"),
    ).toHaveLength(3);
    expect(types.at(-1)).toBe("response.completed");
    expect(events.map((event) => event.sequence_number)).toEqual(
      events.map((_event, index) => index),
    );
    const last = events.at(-1) as OpenAI.Responses.ResponseCompletedEvent;
    expect(last.response.usage?.output_tokens_details.reasoning_tokens).toBe(
      448,
    );
    expect(last.response.output).toHaveLength(3);
  });

  it("names each event in its event line", async () => {
    const response = await post("/v1/responses", {
      model: "m",
      input: "x",
      stream: true,
    });
    const events = eventsOf(await response.text());

    expect(events.length).toBeGreaterThan(5);
    for (const event of events) {
      expect(JSON.parse(event.data).type).toBe(event.event);
    }
    expect(events.some((event) => event.data === "[DONE]")).toBe(false);
  });

  it("ends incomplete at output limit", async () => {
    upstream.script({ responseStatus: "incomplete" });

    const stream = await client.responses.create({
      model: "gpt-5-mini",
      input: "Hi",
      max_output_tokens: 16,
      stream: true,
    });
    const events: OpenAI.Responses.ResponseStreamEvent[] = [];
    for await (const event of stream) {
      events.push(event);
    }

    const last = events.at(-1) as OpenAI.Responses.ResponseIncompleteEvent;
    expect(last.type).toBe("response.incomplete");
    expect(last.response.incomplete_details?.reason).toBe("max_output_tokens");
    expect(last.response.max_output_tokens).toBe(16);
    expect(last.response.usage?.input_tokens).toBe(12);
  });

  it("ends failed with error", async () => {
    upstream.script({
      responseStatus: "failed",
      error: { message: "model crashed", type: "server_error" },
    });

    const response = await post("/v1/responses", {
      model: "m",
      input: "x",
      stream: true,
    });
    const last = eventsOf(await response.text()).at(-1)!;

    expect(last.event).toBe("response.failed");
    expect(JSON.parse(last.data).response.error).toEqual({
      code: "server_error",
      message: "model crashed",
    });
  });

  it("sends error event mid-stream", async () => {
    upstream.script({
      errorEventAfter: 1,
      error: { message: "boom", type: "server_error", code: "server_error" },
    });

    const response = await post("/v1/responses", {
      model: "m",
      input: "x",
      stream: true,
    });
    const events = eventsOf(await response.text());
    const last = events.at(-1)!;

    expect(last.event).toBe("error");
    expect(JSON.parse(last.data)).toEqual({
      type: "error",
      code: "server_error",
      message: "boom",
      param: null,
      sequence_number: events.length - 1,
    });
    expect(
      events.filter((event) => event.event === "response.output_text.delta"),
    ).toHaveLength(1);
  });
});

describe("OpenAiUpstream provider paths", () => {
  it("serves azure deployment paths", async () => {
    const azure = new AzureOpenAI({
      endpoint: upstream.origin,
      apiKey: "azure-key-123",
      apiVersion: "2024-10-21",
      deployment: "my-deployment",
      maxRetries: 0,
    });

    const completion = await azure.chat.completions.create({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "Hi" }],
    });
    await azure.embeddings.create({ model: "e", input: "x" });

    expect(completion.choices[0].message.content).toBe("Hello world!");
    const [chat, embeddings] = upstream.requests;
    expect(chat.path).toBe(
      "/openai/deployments/my-deployment/chat/completions",
    );
    expect(chat.flavor).toBe("azure");
    expect(chat.deployment).toBe("my-deployment");
    expect(chat.apiVersion).toBe("2024-10-21");
    expect(chat.query).toEqual({ "api-version": "2024-10-21" });
    expect(chat.headers["api-key"]).toBe("azure-key-123");
    expect(embeddings.path).toBe(
      "/openai/deployments/my-deployment/embeddings",
    );
  });

  it("takes azure model from deployment", async () => {
    const response = await post(
      "/openai/deployments/dep-1/completions?api-version=2024-10-21",
      { prompt: "x" },
    );
    const body = (await response.json()) as JsonBody;

    expect(response.status).toBe(200);
    expect(body.model).toBe("dep-1");
  });

  it("rejects azure path without api-version", async () => {
    const response = await post("/openai/deployments/dep-1/embeddings", {
      input: "x",
    });

    expect(response.status).toBe(404);
    expect(upstream.requests[0].apiVersion).toBeNull();
  });

  it("serves azure responses path", async () => {
    const response = await post("/openai/responses?api-version=2025-04-01", {
      model: "m",
      input: "x",
    });

    expect(response.status).toBe(200);
    expect(upstream.requests[0].flavor).toBe("azure");
    expect(upstream.requests[0].deployment).toBeNull();
  });

  it("serves gemini prefix", async () => {
    const gemini = new OpenAI({
      apiKey: "gemini-key-123",
      baseURL: upstream.geminiBaseUrl,
      maxRetries: 0,
    });

    const completion = await gemini.chat.completions.create({
      model: "gemini-2.5-flash",
      messages: [{ role: "user", content: "Hi" }],
    });

    expect(completion.choices[0].message.content).toBe("Hello world!");
    expect(upstream.requests[0].path).toBe("/v1beta/openai/chat/completions");
    expect(upstream.requests[0].flavor).toBe("gemini");
    expect(upstream.requests[0].headers.authorization).toBe(
      "Bearer gemini-key-123",
    );
  });
});
