import { ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";

import { request } from "undici";

import { OpenAiUpstream } from "./support/openai-upstream";
import { ProxyHarness } from "./support/proxy-harness";

/**
 * Runs the real entry point as its own process, as an operator would, and reads everything it prints: JSON
 * lines with request ids, and never a client token, provider key or master key.
 */
describe("server process", () => {
  let upstream: OpenAiUpstream;
  let folder: string;
  let token: string;
  let apiKey: string;
  let child: ChildProcess;
  let output = "";
  let baseUrl: string;

  beforeAll(async () => {
    upstream = await OpenAiUpstream.start();
    const seeding = await ProxyHarness.start();
    ({ apiKey } = await seeding.seedProvider({
      baseUrl: upstream.baseUrl,
      apiKey: "sk-live-provider-secret-0123456789",
    }));
    ({ token } = await seeding.seedClient());
    folder = seeding.folder;
    await seeding.stop({ keepFiles: true });

    child = spawn(
      process.execPath,
      ["-r", "ts-node/register/transpile-only", "src/main.ts"],
      {
        cwd: join(__dirname, ".."),
        env: {
          ...process.env,
          TS_NODE_PROJECT: "tsconfig.json",
          PORT: "0",
          LOG_LEVEL: "debug",
          SQLITE_PATH: join(folder, "proxy.sqlite"),
          SECRETS_FILE: join(folder, "secrets.json"),
          SPOOL_DIR: join(folder, "spool"),
        },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    child.stdout!.on("data", (data: Buffer) => (output += data.toString()));
    child.stderr!.on("data", (data: Buffer) => (output += data.toString()));

    baseUrl = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`server did not start:\n${output}`)),
        60_000,
      );
      const poll = setInterval(() => {
        const match = /"msg":"llm-proxy listening","url":"([^"]+)"/.exec(
          output,
        );
        if (match) {
          clearInterval(poll);
          clearTimeout(timer);
          resolve(match[1]);
        }
      }, 50);
    });
  }, 90_000);

  afterAll(async () => {
    if (child.exitCode === null) {
      child.kill("SIGKILL");
    }
    await upstream.stop();
  });

  async function chat(authorization: string, stream = false) {
    const response = await request(`${baseUrl}/v1/chat/completions`, {
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
    expect(ok.statusCode).toBe(200);
    expect(streamed.statusCode).toBe(200);
    expect(rejected.statusCode).toBe(401);

    child.kill("SIGTERM");
    const code = await new Promise<number | null>((resolve) =>
      child.once("exit", resolve),
    );
    expect(code).toBe(0);

    const lines = output.split("\n").filter((line) => line.startsWith("{"));
    const entries = lines.map(
      (line) => JSON.parse(line) as Record<string, unknown>,
    );
    const requestLines = entries.filter((entry) => entry.req !== undefined);
    const requestId = String(ok.headers["x-request-id"]);
    const secrets = JSON.parse(
      readFileSync(join(folder, "secrets.json"), "utf8"),
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
