import { readFileSync } from "node:fs";
import { join } from "node:path";

import { request } from "undici";

import { ProxyHarness } from "./support/proxy-harness";

/** The offline demo: a seeded client whose token is in a private file, and a stand-in that odd input cannot crash. */
describe("demo mode", () => {
  let proxy: ProxyHarness;
  let token: string;

  beforeAll(async () => {
    proxy = await ProxyHarness.start({ demo: { enabled: true } });
    token = readFileSync(join(proxy.folder, "demo-token.txt"), "utf8").trim();
  });

  afterAll(async () => {
    await proxy.stop();
  });

  interface DemoAnswer {
    choices: { message: { content: string } }[];
    usage: { completion_tokens: number };
  }

  async function chat(body: object) {
    const response = await request(`${proxy.baseUrl}/v1/chat/completions`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        authorization: `Bearer ${token}`,
      },
      body: JSON.stringify(body),
    });
    return {
      status: response.statusCode,
      body: (await response.body.json()) as DemoAnswer,
    };
  }

  it("answers and meters a request", async () => {
    const response = await chat({
      model: "demo-model",
      messages: [{ role: "user", content: "hello there" }],
    });

    expect(response.status).toBe(200);
    expect(response.body.choices[0].message.content).toContain(
      "You said: hello there",
    );
    await proxy.settled();
    const [row] = await proxy.query<{ cost: string }>(
      "select cast(cost as text) as cost from llm_requests",
    );
    expect(BigInt(row.cost) > 0n).toBe(true);
  });

  it("limits the demo client to the demo model", async () => {
    const [client] = await proxy.query<{ allowed_models: unknown }>(
      "select allowed_models from clients where name = 'demo-client'",
    );
    const allowed: unknown =
      typeof client.allowed_models === "string"
        ? JSON.parse(client.allowed_models)
        : client.allowed_models;

    expect(allowed).toEqual(["demo-model"]);
  });

  it("stops at the request's max_tokens", async () => {
    const response = await chat({
      model: "demo-model",
      max_tokens: 3,
      messages: [{ role: "user", content: "a long message" }],
    });

    expect(response.body.usage.completion_tokens).toBe(3);
  });

  it("survives content it cannot read", async () => {
    const odd = await chat({
      model: "demo-model",
      messages: [{ role: "user", content: { toString: 1 } }],
    });
    const next = await chat({
      model: "demo-model",
      messages: [{ role: "user", content: "still here?" }],
    });

    expect(odd.status).toBe(200);
    expect(next.status).toBe(200);
  });
});
