import { spawn } from "node:child_process";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";

import { Browser } from "./support/browser";
import { OidcTestProvider } from "./support/oidc-test-provider";
import { ProxyHarness } from "./support/proxy-harness";
import { ServerProcess, serverEnv } from "./support/server-process";
import { dropPostgresDatabase } from "./support/test-database";

/**
 * Admin sign-in in the real entry point and the command-line tool, each its own process as an operator runs
 * them: the first administrator from the environment, the `users` commands, and that no response or log line
 * shows a password, a session token or the OpenID Connect client secret.
 */

const ROOT = join(__dirname, "..");
const ADMIN_PASSWORD = "root-Pw-7Hq2Lx9Vb4Nc";
const CLIENT_SECRET = "oidc-client-secret-Kz8Wm3Qp6Ys1";
const PROCESS_TIMEOUT_MS = 120_000;

type Target = { folder: string; databaseUrl: string | null };

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Creates a migrated, empty database and folder, as a fresh install has them. */
async function freshTarget(): Promise<Target> {
  const seeding = await ProxyHarness.start();
  const target = { folder: seeding.folder, databaseUrl: seeding.databaseUrl };
  await seeding.stop({ keepFiles: true });
  return target;
}

async function removeTarget(target: Target | undefined): Promise<void> {
  if (!target) {
    return;
  }
  rmSync(target.folder, { recursive: true, force: true });
  if (target.databaseUrl) {
    await dropPostgresDatabase(target.databaseUrl);
  }
}

/** Sends a request and keeps its whole response, headers included, as text for the leak checks. */
async function send(
  url: string,
  init: RequestInit & { json?: unknown } = {},
): Promise<{ status: number; text: string; raw: string; requestId: string }> {
  const headers = new Headers(init.headers);
  if (init.json !== undefined) {
    headers.set("content-type", "application/json");
  }
  const response = await fetch(url, {
    ...init,
    headers,
    body: init.json === undefined ? init.body : JSON.stringify(init.json),
    redirect: "manual",
  });
  const text = await response.text();
  const headerText = [...response.headers.entries()]
    .map(([name, value]) => `${name}: ${value}`)
    .join("\n");
  return {
    status: response.status,
    text,
    raw: `${headerText}\n\n${text}`,
    requestId: response.headers.get("x-request-id") ?? "",
  };
}

/** Reads the argv of a process as /proc shows it to every user, once it runs the tool, or null without /proc. */
async function readCommandLine(pid: number): Promise<string | null> {
  const file = `/proc/${pid}/cmdline`;
  for (let attempt = 0; attempt < 200 && existsSync(file); attempt++) {
    const text = readFileSync(file, "utf8").replaceAll("\0", " ");
    if (text.includes("src/cli/main.ts")) {
      return text;
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return null;
}

/** Waits until the process has printed a line with this request id, so every earlier line is in too. */
async function waitForLogOf(
  server: ServerProcess,
  requestId: string,
): Promise<void> {
  for (let attempt = 0; attempt < 500; attempt++) {
    if (server.output.includes(requestId)) {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`no log line with request id ${requestId}`);
}

describe("admin sign-in in the server process", () => {
  let provider: OidcTestProvider;
  let target: Target;
  let server: ServerProcess | undefined;
  let port: number;
  let env: Record<string, string>;

  beforeAll(async () => {
    port = await freePort();
    const callbackUrl = `http://127.0.0.1:${port}/api/auth/oidc/callback`;
    provider = await OidcTestProvider.start({
      clientId: "llm-proxy",
      clientSecret: CLIENT_SECRET,
      redirectUri: callbackUrl,
    });
    target = await freshTarget();

    const configFile = join(target.folder, "auth.yaml");
    writeFileSync(
      configFile,
      JSON.stringify({
        auth: {
          oidc: {
            enabled: true,
            issuer: provider.issuer,
            clientId: "llm-proxy",
            redirectUrl: callbackUrl,
            scopes: ["openid", "profile", "groups"],
            roles: { viewer: ["finance"] },
          },
          trustedHeader: { enabled: true, proxies: ["10.0.0.0/8"] },
        },
      }),
    );
    env = {
      ...serverEnv(target, "spool"),
      PORT: String(port),
      LOG_LEVEL: "trace",
      LLM_PROXY_CONFIG: configFile,
      LLM_PROXY_ADMIN_USERNAME: "root",
      LLM_PROXY_ADMIN_PASSWORD: ADMIN_PASSWORD,
      LLM_PROXY_OIDC_CLIENT_SECRET: CLIENT_SECRET,
    };
    server = await ServerProcess.start(env);
  }, PROCESS_TIMEOUT_MS);

  afterAll(async () => {
    await server?.stop("SIGKILL");
    await provider?.stop();
    await removeTarget(target);
  });

  it("creates the first administrator from the environment", async () => {
    const response = await send(`${server!.baseUrl}/api/auth/login`, {
      method: "POST",
      json: { username: "root", password: ADMIN_PASSWORD },
    });

    expect(response.status).toBe(200);
    expect(JSON.parse(response.text)).toMatchObject({
      user: { username: "root", role: "admin" },
    });
  });

  it("shows no password, session token or client secret in responses and logs", async () => {
    const base = server!.baseUrl;
    const answers: string[] = [];
    const keep = (response: { raw: string }) => answers.push(response.raw);

    const signIn = await send(`${base}/api/auth/login`, {
      method: "POST",
      json: { username: "root", password: ADMIN_PASSWORD },
    });
    const token = (JSON.parse(signIn.text) as { token: string }).token;
    keep(
      await send(`${base}/api/auth/login`, {
        method: "POST",
        json: { username: "root", password: `${ADMIN_PASSWORD}-wrong` },
      }),
    );
    keep(
      await send(`${base}/api/auth/me`, {
        headers: { authorization: `Bearer ${token}` },
      }),
    );
    keep(
      await send(`${base}/api/auth/me`, {
        headers: {
          "x-forwarded-user": "intruder",
          "x-forwarded-groups": "finance",
        },
      }),
    );
    keep(
      await send(`${base}/api/users`, {
        headers: { cookie: `llmp_session=${token}` },
      }),
    );

    await provider.setAccount({
      sub: "u-77",
      preferred_username: "fiona",
      groups: ["finance"],
    });
    const browser = new Browser();
    const callback = await browser.followUntil(
      `${base}/api/auth/oidc/login`,
      `${base}/api/auth/oidc/callback`,
    );
    const ssoResponse = await browser.request(callback);
    const ssoToken = ((await ssoResponse.json()) as { token: string }).token;
    keep(
      await send(`${base}/api/auth/me`, {
        headers: { authorization: `Bearer ${ssoToken}` },
      }),
    );
    keep(
      await send(`${base}/api/auth/logout`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}` },
      }),
    );
    const last = await send(`${base}/api/auth/logout`, { method: "POST" });
    keep(last);

    await waitForLogOf(server!, last.requestId);
    const logs = server!.output;
    expect(logs).toContain("password sign-in refused");
    expect(logs).toContain(
      "identity headers ignored: the sender is not a trusted proxy",
    );
    expect(logs).toContain("admin session started");
    for (const secret of [ADMIN_PASSWORD, token, ssoToken, CLIENT_SECRET]) {
      expect(logs).not.toContain(secret);
      for (const answer of answers) {
        expect(answer).not.toContain(secret);
      }
    }
    expect(logs).not.toMatch(/lps_[\w-]{43}/);
    expect(logs).not.toContain(token.slice(4, 20));
  });

  it(
    "does not create the administrator again once users exist",
    async () => {
      await server!.stop();
      server = await ServerProcess.start({
        ...env,
        LLM_PROXY_ADMIN_PASSWORD: "another-Pw-3Jk8Rt1Yu6",
      });

      const old = await send(`${server.baseUrl}/api/auth/login`, {
        method: "POST",
        json: { username: "root", password: ADMIN_PASSWORD },
      });
      const changed = await send(`${server.baseUrl}/api/auth/login`, {
        method: "POST",
        json: { username: "root", password: "another-Pw-3Jk8Rt1Yu6" },
      });

      expect(old.status).toBe(200);
      expect(changed.status).toBe(401);
      expect(server.output).toContain(
        "initial administrator settings ignored: the database has users already",
      );
    },
    PROCESS_TIMEOUT_MS,
  );
});

describe("users commands of the command-line tool", () => {
  let target: Target;

  beforeAll(async () => {
    target = await freshTarget();
  });

  afterAll(async () => {
    await removeTarget(target);
  });

  /** Runs the tool with `args` and `input` on standard input; also returns its argv as other users see it. */
  async function runCli(
    args: string[],
    options: { input?: string; env?: Record<string, string> } = {},
  ): Promise<{
    code: number | null;
    stdout: string;
    stderr: string;
    commandLine: string | null;
  }> {
    const child = spawn(
      process.execPath,
      ["-r", "ts-node/register/transpile-only", "src/cli/main.ts", ...args],
      {
        cwd: ROOT,
        env: {
          PATH: process.env.PATH,
          TS_NODE_PROJECT: "tsconfig.json",
          ...serverEnv(target, "spool"),
          ...options.env,
        },
        stdio: ["pipe", "pipe", "pipe"],
      },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (data: Buffer) => (stdout += data.toString()));
    child.stderr.on("data", (data: Buffer) => (stderr += data.toString()));
    const exited = new Promise<number | null>((resolve, reject) => {
      child.once("error", reject);
      child.once("close", resolve);
    });

    const commandLine = await readCommandLine(child.pid!);
    child.stdin.end(options.input ?? "");
    return { code: await exited, stdout, stderr, commandLine };
  }

  it(
    "creates users with the password from standard input or a named variable",
    async () => {
      const fromStdin = await runCli(
        ["users", "create", "--username", "ada", "--role", "admin"],
        { input: `${ADMIN_PASSWORD}\n` },
      );
      const fromEnv = await runCli(
        [
          "users",
          "create",
          "--username",
          "otto",
          "--role",
          "operator",
          "--password-env",
          "OTTO_PASSWORD",
        ],
        { env: { OTTO_PASSWORD: "otto-Pw-5Ty8Ui2Op4" } },
      );
      const tooShort = await runCli(
        ["users", "create", "--username", "weak", "--role", "viewer"],
        { input: "short\n" },
      );

      expect(fromStdin).toMatchObject({ code: 0 });
      expect(fromStdin.stdout).toContain("created user ada");
      expect(fromEnv).toMatchObject({ code: 0 });
      expect(tooShort.code).toBe(1);
      expect(tooShort.stderr).toContain("12 to 1024 characters");
      expect(fromStdin.commandLine ?? "src/cli/main.ts").toContain(
        "src/cli/main.ts",
      );
      for (const run of [fromStdin, fromEnv, tooShort]) {
        expect(
          `${run.stdout}${run.stderr}${run.commandLine ?? ""}`,
        ).not.toMatch(/root-Pw|otto-Pw|short\b/);
      }
    },
    PROCESS_TIMEOUT_MS,
  );

  it(
    "lists users, sets a role and disables a user",
    async () => {
      const roleChange = await runCli(["users", "set-role", "otto", "viewer"]);
      const disable = await runCli(["users", "disable", "otto"]);
      const list = await runCli(["users", "list"]);
      const badRole = await runCli(["users", "set-role", "otto", "root"]);

      expect(roleChange).toMatchObject({ code: 0 });
      expect(disable).toMatchObject({ code: 0 });
      const lines = list.stdout.trim().split("\n");
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatch(/^\d+\tada\tadmin\tenabled\tpassword\t/);
      expect(lines[1]).toMatch(/^\d+\totto\tviewer\tdisabled\tpassword\t/);
      expect(badRole.code).toBe(1);
      expect(badRole.stderr).toContain("use one of admin, operator, viewer");
    },
    PROCESS_TIMEOUT_MS,
  );
});
