import { ProviderKind } from "../src/providers/entities/provider.entity";
import { OpenAiUpstream } from "./support/openai-upstream";
import { ProxyHarness } from "./support/proxy-harness";

/**
 * Azure OpenAI and Gemini providers behind the OpenAI-format endpoints: the proxy sends Azure's deployment URLs,
 * `api-version` and `api-key` header, and Gemini's `/v1beta/openai` base URL with a Bearer key, to a stand-in that
 * records what it received. Prices: input 2.50, output 10.00 USD per million tokens (2,500 and 10,000
 * nano-dollars a token).
 */
describe("provider kinds", () => {
  let upstream: OpenAiUpstream;
  let proxy: ProxyHarness;
  let azureKey: string;
  let geminiKey: string;
  let token: string;

  beforeAll(async () => {
    upstream = await OpenAiUpstream.start();
    proxy = await ProxyHarness.start();

    const azure = await proxy.seedProvider({
      kind: ProviderKind.Azure,
      name: "azure-eu",
      baseUrl: upstream.origin,
      apiVersion: "2024-10-21",
      model: "azure-chat",
      upstreamName: "chat-deployment",
    });
    azureKey = azure.apiKey;
    await proxy.seedModel(azure.providerId, {
      model: "azure-embed",
      upstreamName: "embed-deployment",
    });

    const gemini = await proxy.seedProvider({
      kind: ProviderKind.Gemini,
      name: "gemini",
      baseUrl: upstream.geminiBaseUrl,
      model: "gemini-chat",
      upstreamName: "gemini-2.5-flash",
    });
    geminiKey = gemini.apiKey;
    await proxy.seedModel(gemini.providerId, {
      model: "gemini-embed",
      upstreamName: "gemini-embedding-001",
    });

    ({ token } = await proxy.seedClient());
  });

  afterAll(async () => {
    await proxy.stop();
    await upstream.stop();
  });

  async function recordOf(requestId: string) {
    await proxy.settled();

    const rows = await proxy.query<Record<string, unknown>>(
      `select endpoint, status, prompt_tokens, completion_tokens, cast(cost as text) as cost
       from llm_requests where request_id = ?`,
      [requestId],
    );
    expect(rows).toHaveLength(1);
    return rows[0];
  }

  function lastSent() {
    return upstream.requests[upstream.requests.length - 1];
  }

  it("sends azure chat to the deployment", async () => {
    upstream.script({ usage: { prompt_tokens: 20, completion_tokens: 4 } });

    const { data, response } = await proxy
      .openai(token)
      .chat.completions.create({
        model: "azure-chat",
        messages: [{ role: "user", content: "Hi" }],
      })
      .withResponse();

    expect(data.choices[0].message.content).toBe("Hello world!");
    const sent = lastSent();
    expect(sent.path).toBe(
      "/openai/deployments/chat-deployment/chat/completions",
    );
    expect(sent.apiVersion).toBe("2024-10-21");
    expect(sent.headers["api-key"]).toBe(azureKey);
    expect(sent.headers.authorization).toBeUndefined();
    expect(JSON.stringify(sent.headers)).not.toContain(token);
    const record = await recordOf(response.headers.get("x-request-id")!);
    expect(record.endpoint).toBe("chat.completions");
    expect(record.cost).toBe(String(20 * 2500 + 4 * 10_000));
  });

  it("sends azure embeddings to the deployment", async () => {
    upstream.script({ usage: { prompt_tokens: 6, completion_tokens: 0 } });

    const { response } = await proxy
      .openai(token)
      .embeddings.create({
        model: "azure-embed",
        input: "vector me",
        encoding_format: "float",
      })
      .withResponse();

    const sent = lastSent();
    expect(sent.path).toBe("/openai/deployments/embed-deployment/embeddings");
    expect(sent.query).toEqual({ "api-version": "2024-10-21" });
    expect(sent.headers["api-key"]).toBe(azureKey);
    const record = await recordOf(response.headers.get("x-request-id")!);
    expect(record.endpoint).toBe("embeddings");
    expect(record.prompt_tokens).toBe(6);
    expect(record.cost).toBe(String(6 * 2500));
  });

  it("sends gemini chat under its prefix", async () => {
    upstream.script({ usage: { prompt_tokens: 11, completion_tokens: 3 } });

    const { response } = await proxy
      .openai(token)
      .chat.completions.create({
        model: "gemini-chat",
        messages: [{ role: "user", content: "Hi" }],
      })
      .withResponse();

    const sent = lastSent();
    expect(sent.path).toBe("/v1beta/openai/chat/completions");
    expect(sent.headers.authorization).toBe(`Bearer ${geminiKey}`);
    expect(sent.body.model).toBe("gemini-2.5-flash");
    const record = await recordOf(response.headers.get("x-request-id")!);
    expect(record.cost).toBe(String(11 * 2500 + 3 * 10_000));
  });

  it("sends gemini embeddings under its prefix", async () => {
    upstream.script({ usage: { prompt_tokens: 9, completion_tokens: 0 } });

    const { response } = await proxy
      .openai(token)
      .embeddings.create({
        model: "gemini-embed",
        input: ["a", "b"],
        encoding_format: "float",
      })
      .withResponse();

    const sent = lastSent();
    expect(sent.path).toBe("/v1beta/openai/embeddings");
    expect(sent.headers.authorization).toBe(`Bearer ${geminiKey}`);
    expect(sent.body.model).toBe("gemini-embedding-001");
    const record = await recordOf(response.headers.get("x-request-id")!);
    expect(record.prompt_tokens).toBe(9);
    expect(record.cost).toBe(String(9 * 2500));
  });

  it("rejects responses on gemini", async () => {
    const sent = upstream.requests.length;

    const error = await proxy
      .openai(token)
      .responses.create({ model: "gemini-chat", input: "x" })
      .catch((caught: unknown) => caught);

    expect(error).toMatchObject({
      status: 400,
      code: "unsupported_endpoint",
      param: "model",
    });
    expect(upstream.requests.length).toBe(sent);
  });

  it("sends azure responses to the resource path", async () => {
    upstream.script({ usage: { prompt_tokens: 7, completion_tokens: 2 } });

    const { data } = await proxy
      .openai(token)
      .responses.create({ model: "azure-chat", input: "x" })
      .withResponse();

    expect(data.output_text).toBe("Hello world!");
    const sent = lastSent();
    expect(sent.path).toBe("/openai/responses");
    expect(sent.apiVersion).toBe("2024-10-21");
    expect(sent.body.model).toBe("chat-deployment");
  });
});
