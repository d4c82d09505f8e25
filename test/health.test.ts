import { request } from "undici";

import { OpenAiUpstream } from "./support/openai-upstream";
import { ProxyHarness } from "./support/proxy-harness";

/** Liveness and readiness, including a provider key sealed under a master key the ring no longer has. */
describe("health", () => {
  let proxy: ProxyHarness;

  beforeAll(async () => {
    proxy = await ProxyHarness.start();
  });

  afterAll(async () => {
    await proxy.stop();
  });

  async function get(path: string) {
    const response = await request(`${proxy.baseUrl}${path}`);
    return {
      status: response.statusCode,
      headers: response.headers,
      body: (await response.body.json()) as Record<string, unknown>,
    };
  }

  it("reports live", async () => {
    const response = await get("/health/live");

    expect(response.status).toBe(200);
    expect(response.body.status).toBe("ok");
    expect(response.headers["x-request-id"]).toMatch(/^req_/);
  });

  it("reports ready with every check passing", async () => {
    const response = await get("/health/ready");

    expect(response.status).toBe(200);
    expect(response.body.ready).toBe(true);
  });

  it("fails readiness on a missing master key", async () => {
    const { providerId } = await proxy.seedProvider({
      baseUrl: "http://127.0.0.1:9/v1",
    });
    await proxy.query(
      "update providers set api_key_key_id = 'k-retired' where id = ?",
      [providerId],
    );

    const response = await get("/health/ready");

    expect(response.status).toBe(503);
    expect(JSON.stringify(response.body)).toContain("k-retired");
  });

  it("serves the OpenAPI document", async () => {
    const response = await get("/docs/json");

    expect(response.status).toBe(200);
    expect(Object.keys(response.body.paths as object)).toEqual(
      expect.arrayContaining([
        "/v1/chat/completions",
        "/v1/models",
        "/health/ready",
      ]),
    );
  });

  it("serves Prometheus metrics with pool and request series", async () => {
    const upstream = await OpenAiUpstream.start();
    await proxy.seedProvider({
      baseUrl: upstream.baseUrl,
      name: "metered",
      model: "metered-model",
    });
    const { token } = await proxy.seedClient();
    await proxy.openai(token).chat.completions.create({
      model: "metered-model",
      messages: [{ role: "user", content: "hi" }],
    });
    await proxy.settled();
    await upstream.stop();

    const response = await request(`${proxy.baseUrl}/metrics`);
    const text = await response.body.text();

    expect(response.statusCode).toBe(200);
    expect(response.headers["content-type"]).toContain("text/plain");
    expect(text).toContain(
      'llmp_requests_total{provider="metered",model="metered-model",status="completed"} 1',
    );
    expect(text).toContain(
      'llmp_tokens_total{provider="metered",model="metered-model",kind="prompt"} 12',
    );
    // 12 prompt tokens × 2.50 + 3 completion tokens × 10.00 = 60 USD per million → 60,000 nano-dollars.
    expect(text).toContain(
      'llmp_cost_nanodollars_total{provider="metered",model="metered-model"} 60000',
    );
    expect(text).toMatch(/llmp_db_pool_connections\{state="max"\} \d+/);
    expect(text).toContain("llmp_process_resident_memory_bytes");
  });
});
