import { TokenEstimator } from "../src/proxy/token-estimator.service";
import { embeddingOf, OpenAiUpstream } from "./support/openai-upstream";
import { ProxyHarness } from "./support/proxy-harness";

/**
 * The official OpenAI SDK calls `POST /v1/embeddings` on the running proxy, which forwards to a stand-in replaying
 * OpenAI's wire format. Embeddings are priced at 0.10 USD per million input tokens (100 nano-dollars a token) and
 * generate no output, so every cost below is the prompt tokens times 100.
 */
describe("embeddings", () => {
  let upstream: OpenAiUpstream;
  let proxy: ProxyHarness;
  let providerId: number;
  let apiKey: string;
  let clientId: number;
  let token: string;

  beforeAll(async () => {
    upstream = await OpenAiUpstream.start();
    proxy = await ProxyHarness.start();
    ({ providerId, apiKey } = await proxy.seedProvider({
      baseUrl: upstream.baseUrl,
      model: "text-embedding-3-small",
      upstreamName: "text-embedding-3-small-upstream",
      billing: "prepaid" as never,
      balance: "10.00",
      prices: { input: "0.10", output: "0", cacheRead: "0.10" },
      maxOutputTokens: null,
    }));
    ({ clientId, token } = await proxy.seedClient());
  });

  afterAll(async () => {
    await proxy.stop();
    await upstream.stop();
  });

  async function recordOf(requestId: string) {
    await proxy.settled();

    const rows = await proxy.query<Record<string, unknown>>(
      `select endpoint, status, error_class, streamed, prompt_tokens, completion_tokens, usage_estimated,
         cast(cost as text) as cost, model
       from llm_requests where request_id = ?`,
      [requestId],
    );
    expect(rows).toHaveLength(1);
    return rows[0];
  }

  it("meters float embeddings", async () => {
    upstream.script({ usage: { prompt_tokens: 1000, completion_tokens: 0 } });
    const before = await proxy.snapshot(providerId, clientId);

    const { data, response } = await proxy
      .openai(token)
      .embeddings.create({
        model: "text-embedding-3-small",
        input: ["first", "second"],
        encoding_format: "float",
        dimensions: 4,
      })
      .withResponse();

    expect(data.data).toHaveLength(2);
    expect(data.data[1].embedding).toEqual(
      Array.from(embeddingOf("second", 4)),
    );
    expect(data.usage.prompt_tokens).toBe(1000);
    const record = await recordOf(response.headers.get("x-request-id")!);
    expect(record.endpoint).toBe("embeddings");
    expect(record.status).toBe("completed");
    expect(record.prompt_tokens).toBe(1000);
    expect(record.completion_tokens).toBe(0);
    expect(Number(record.usage_estimated)).toBe(0);
    expect(Number(record.streamed)).toBe(0);
    // 1,000 tokens × 0.10 USD per million = 0.0001 USD = 100,000 nano-dollars.
    expect(record.cost).toBe("100000");

    const after = await proxy.snapshot(providerId, clientId);
    expect(before.balance - after.balance).toBe(100_000n);
    expect(after.reserved).toBe(0n);
    expect(after.clientPrompt - before.clientPrompt).toBe(1000);
    expect(after.clientCost - before.clientCost).toBe(100_000n);
  });

  it("forwards body with provider model and key", async () => {
    await proxy.openai(token).embeddings.create({
      model: "text-embedding-3-small",
      input: [[1, 2, 3]],
      encoding_format: "float",
      user: "user-7",
    });

    const sent = upstream.requests[upstream.requests.length - 1];
    expect(sent.path).toBe("/v1/embeddings");
    expect(sent.headers.authorization).toBe(`Bearer ${apiKey}`);
    expect(JSON.stringify(sent.headers)).not.toContain(token);
    expect(sent.body).toEqual({
      model: "text-embedding-3-small-upstream",
      input: [[1, 2, 3]],
      encoding_format: "float",
      user: "user-7",
    });
  });

  it("passes base64 embeddings the sdk decodes", async () => {
    upstream.script({ usage: { prompt_tokens: 3, completion_tokens: 0 } });

    const { data, response } = await proxy
      .openai(token)
      .embeddings.create({ model: "text-embedding-3-small", input: "hello" })
      .withResponse();

    expect(upstream.requests[upstream.requests.length - 1].body).toMatchObject({
      encoding_format: "base64",
    });
    expect(data.data[0].embedding).toEqual(Array.from(embeddingOf("hello", 8)));
    const record = await recordOf(response.headers.get("x-request-id")!);
    expect(record.prompt_tokens).toBe(3);
    expect(record.cost).toBe("300");
  });

  it("estimates usage the provider omits", async () => {
    upstream.script({ usage: null });
    const input = ["The quick brown fox", "jumps over the lazy dog"];
    const estimator = new TokenEstimator();
    const expected =
      estimator.countText(input[0]) + estimator.countText(input[1]);

    const { response } = await proxy
      .openai(token)
      .embeddings.create({
        model: "text-embedding-3-small",
        input,
        encoding_format: "float",
      })
      .withResponse();

    const record = await recordOf(response.headers.get("x-request-id")!);
    expect(Number(record.usage_estimated)).toBe(1);
    expect(record.prompt_tokens).toBe(expected);
    expect(record.completion_tokens).toBe(0);
    expect(record.cost).toBe(String(expected * 100));
  });

  it("counts token ids exactly when estimating", async () => {
    upstream.script({ usage: null });

    const { response } = await proxy
      .openai(token)
      .embeddings.create({
        model: "text-embedding-3-small",
        input: [
          [10, 20, 30],
          [40, 50],
        ],
        encoding_format: "float",
      })
      .withResponse();

    const record = await recordOf(response.headers.get("x-request-id")!);
    expect(record.prompt_tokens).toBe(5);
    expect(record.cost).toBe("500");
  });

  it("rejects invalid input without forwarding", async () => {
    const sent = upstream.requests.length;
    const before = await proxy.snapshot(providerId, clientId);

    const error = await proxy
      .openai(token)
      .embeddings.create({ model: "text-embedding-3-small", input: "" })
      .catch((caught: unknown) => caught);

    expect(error).toMatchObject({
      status: 400,
      code: "invalid_value",
      param: "input",
    });
    expect(upstream.requests.length).toBe(sent);
    const after = await proxy.snapshot(providerId, clientId);
    expect(after.requestRows).toBe(before.requestRows);
  });
});
