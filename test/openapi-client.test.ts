import OpenAI from "openai";

import { UserRole } from "../src/auth/entities/user.entity";
import { UsersService } from "../src/auth/users.service";
import { OpenAiUpstream } from "./support/openai-upstream";
import { OpenApiClient } from "./support/openapi-client";
import { ProxyHarness } from "./support/proxy-harness";

/**
 * An integrator's view: a client that uses only the OpenAPI document signs in, sets up a provider, a model and
 * a client, issues a token, and reads the usage the official OpenAI SDK caused with that token. Every response
 * is checked against the document's schema for its status.
 */
describe("OpenAPI client", () => {
  let upstream: OpenAiUpstream;
  let proxy: ProxyHarness;
  let api: OpenApiClient;

  beforeAll(async () => {
    upstream = await OpenAiUpstream.start();
    proxy = await ProxyHarness.start();
    await proxy.app.get(UsersService).create({
      username: "integrator",
      password: "correct horse battery staple",
      role: UserRole.Admin,
    });
    api = await OpenApiClient.fromDocument(
      proxy.baseUrl,
      `${proxy.baseUrl}/docs/json`,
    );
  });

  afterAll(async () => {
    await proxy.stop();
    await upstream.stop();
  });

  it("creates a client, issues a token and reads its usage", async () => {
    const login = await api.call("login", {
      body: {
        username: "integrator",
        password: "correct horse battery staple",
      },
    });
    expect(login.status).toBe(200);
    api.bearer = login.body.token;

    const provider = await api.call("createProvider", {
      body: {
        name: "openai",
        baseUrl: upstream.baseUrl,
        apiKey: "sk-integrator-key",
        billingMode: "prepaid",
      },
    });
    expect(provider.status).toBe(201);
    const topUp = await api.call("topUpProvider", {
      path: { providerId: provider.body.id },
      body: { amount: "20.00", note: "first invoice" },
    });
    expect(topUp.body.balanceAfter).toBe("20.000000000");
    const model = await api.call("createModel", {
      body: {
        providerId: provider.body.id,
        publicName: "gpt-4o-mini",
        inputPrice: "0.15",
        outputPrice: "0.60",
      },
    });
    expect(model.status).toBe(201);

    const client = await api.call("createClient", {
      body: { name: "billing-service", allowedModels: ["gpt-4o-mini"] },
    });
    expect(client.status).toBe(201);
    const issued = await api.call("issueClientToken", {
      path: { clientId: client.body.id },
      body: { name: "production" },
    });
    expect(issued.status).toBe(201);

    const openai = new OpenAI({
      apiKey: issued.body.token,
      baseURL: `${proxy.baseUrl}/v1`,
      maxRetries: 0,
    });
    upstream.script({ usage: { prompt_tokens: 1000, completion_tokens: 500 } });
    const answer = await openai.chat.completions.create({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "Hello" }],
    });
    expect(answer.choices[0].message.content).toBe("Hello world!");
    upstream.script({
      content: ["Str", "eamed"],
      usage: { prompt_tokens: 2000, completion_tokens: 100 },
    });
    const stream = await openai.chat.completions.create({
      model: "gpt-4o-mini",
      stream: true,
      messages: [{ role: "user", content: "Stream please" }],
    });
    let streamed = "";
    for await (const chunk of stream) {
      streamed += chunk.choices[0]?.delta?.content ?? "";
    }
    expect(streamed).toBe("Streamed");
    await proxy.settled();

    // 3000 input × 0.15 + 600 output × 0.60 = 810 USD per million tokens → 0.00081 USD.
    const today = await api.call("getTodayUsage", {
      query: { clientId: client.body.id },
    });
    expect(today.status).toBe(200);
    expect(today.body).toMatchObject({
      requests: 2,
      promptTokens: 3000,
      completionTokens: 600,
      cost: "0.000810000",
    });

    const day = new Date().toISOString().slice(0, 10);
    const daily = await api.call("getDailyUsage", {
      query: { from: day, to: day, groupBy: "client,model" },
    });
    expect(daily.body.items).toEqual([
      expect.objectContaining({
        day,
        clientId: client.body.id,
        clientName: "billing-service",
        model: "gpt-4o-mini",
        requests: 2,
        cost: "0.000810000",
      }),
    ]);

    const requests = await api.call("listRequests", {
      query: { clientId: client.body.id },
    });
    expect(
      requests.body.items.map((row: { streamed: boolean }) => row.streamed),
    ).toEqual([true, false]);
    expect(requests.body.items[0].tokenId).toBe(issued.body.id);

    const fetched = await api.call("getClient", {
      path: { clientId: client.body.id },
    });
    expect(fetched.body.totals).toMatchObject({
      requests: 2,
      cost: "0.000810000",
    });
    const provided = await api.call("getProvider", {
      path: { providerId: provider.body.id },
    });
    expect(provided.body.creditBalance).toBe("19.999190000");
  });

  it("gets documented errors back", async () => {
    const missing = await api.call("getClient", { path: { clientId: 424242 } });
    expect(missing.status).toBe(404);

    api.bearer = null;
    const anonymous = await api.call("listClients");
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.error.code).toBe("missing_session");
  });
});
