import { request } from "undici";

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
      body: (await response.body.json()) as Record<string, unknown>,
    };
  }

  it("reports live", async () => {
    const response = await get("/health/live");

    expect(response.status).toBe(200);
    expect(response.body.status).toBe("ok");
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
});
