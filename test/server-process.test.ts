import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";

import { request } from "undici";

import { OpenAiUpstream } from "./support/openai-upstream";
import { ProxyHarness } from "./support/proxy-harness";
import { ServerProcess, serverEnv } from "./support/server-process";
import { dropPostgresDatabase } from "./support/test-database";

/**
 * Runs the real entry point as its own process, as an operator would, and reads everything it prints: JSON
 * lines with request ids, and never a client token, provider key or master key.
 */
describe("server process", () => {
  let upstream: OpenAiUpstream;
  let target: { folder: string; databaseUrl: string | null };
  let token: string;
  let apiKey: string;
  let server: ServerProcess;

  beforeAll(async () => {
    upstream = await OpenAiUpstream.start();
    const seeding = await ProxyHarness.start();
    ({ apiKey } = await seeding.seedProvider({
      baseUrl: upstream.baseUrl,
      apiKey: "sk-live-provider-secret-0123456789",
    }));
    ({ token } = await seeding.seedClient());
    target = { folder: seeding.folder, databaseUrl: seeding.databaseUrl };
    await seeding.stop({ keepFiles: true });

    server = await ServerProcess.start({
      ...serverEnv(target, "spool"),
      LOG_LEVEL: "debug",
    });
  }, 90_000);

  afterAll(async () => {
    await server.stop("SIGKILL");
    await upstream.stop();
    rmSync(target.folder, { recursive: true, force: true });
    if (target.databaseUrl) {
      await dropPostgresDatabase(target.databaseUrl);
    }
  });

  async function chat(authorization: string, stream = false) {
    const response = await request(`${server.baseUrl}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization },
      body: JSON.stringify({
        model: "gpt-4o-mini",
        stream,
        messages: [{ role: "user", content: "hi" }],
      }),
    });
    await response.body.text();
    return response;
  }

  it("logs JSON with request ids and no secrets, and stops cleanly", async () => {
    const ok = await chat(`Bearer ${token}`);
    const streamed = await chat(`Bearer ${token}`, true);
    const rejected = await chat(`Bearer ${token.slice(0, -2)}xx`);
    const misplaced = await request(
      `${server.baseUrl}/v1/models?api_key=${token}`,
    );
    await misplaced.body.text();
    expect(misplaced.statusCode).toBe(401);
    expect(ok.statusCode).toBe(200);
    expect(streamed.statusCode).toBe(200);
    expect(rejected.statusCode).toBe(401);

    expect(await server.stop("SIGTERM")).toBe(0);

    const output = server.output;
    const entries = output
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const requestLines = entries.filter((entry) => entry.req !== undefined);
    const requestId = String(ok.headers["x-request-id"]);
    const secrets = JSON.parse(
      readFileSync(join(target.folder, "secrets.json"), "utf8"),
    ) as {
      masterKeys: { key: string }[];
      tokenPepper: string;
    };

    expect(requestLines.length).toBeGreaterThanOrEqual(3);
    expect(
      requestLines.every((entry) => typeof entry.requestId === "string"),
    ).toBe(true);
    expect(
      entries.some(
        (entry) =>
          entry.requestId === requestId && entry.msg === "request metered",
      ),
    ).toBe(true);
    expect(output).not.toContain(token);
    expect(output).not.toContain(token.slice(0, -2));
    expect(output).not.toContain(apiKey);
    expect(output).not.toContain(secrets.masterKeys[0].key);
    expect(output).not.toContain(secrets.tokenPepper);
    expect(output).toContain("in-flight requests drained");
  });
});
