import { spawn } from "node:child_process";
import { createHmac } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";

import sqlite3 from "sqlite3";

import { KeyRing } from "../src/crypto/key-ring";
import { loadSecretMaterial } from "../src/crypto/secrets-file";
import { OpenAiUpstream } from "./support/openai-upstream";
import { ProxyHarness } from "./support/proxy-harness";
import { TEST_DIALECT } from "./support/test-database";

/**
 * Runs the command-line tool as its own process through ts-node, the way an
 * operator runs it, against a SQLite database, secrets file and spool folder in
 * a temporary folder. The tests share that folder and run in order, so later
 * tests rely on the clients, providers and balances that earlier ones created.
 */

const ROOT = join(__dirname, "..");

/**
 * Each run starts ts-node and compiles the tool, so a test with several runs
 * needs more than Jest's 30-second default.
 */
const CLI_TIMEOUT_MS = 60_000;

/**
 * Keys with fixed text, so the checks for leaked fragments cannot match by
 * chance.
 */
const STDIN_KEY = "sk-test-Zq9Xw2Vb7Nc4Mk8Lj3Hg5Fd1Sa6Pe0RtQ7zK";
const ENV_KEY = "sk-env-Hy6Tu3Ko9Pl2Mn5Bv8Cx1Zs4Wq7Er0Ty3UiW2xJ";

/**
 * Variables from the test runner's environment that would point the tool at
 * other files or keys.
 */
const INHERITED_SETTINGS = [
  "DATABASE_URL",
  "LLM_PROXY_CONFIG",
  "LLM_PROXY_MASTER_KEYS",
  "LLM_PROXY_TOKEN_PEPPER",
  "LLM_PROXY_DEMO",
  "HOST",
  "PORT",
  "SQLITE_PATH",
  "SQLITE_SYNCHRONOUS",
  "SECRETS_FILE",
  "SPOOL_DIR",
];

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /**
   * The process's argv as the kernel shows it to other users, or null where
   * /proc is missing.
   */
  commandLine: string | null;
}

interface ProviderRow {
  id: number;
  api_key_ciphertext: Buffer;
  api_key_nonce: Buffer;
  api_key_key_id: string;
}

interface LedgerRow {
  kind: string;
  amount: string;
  balance_after: string;
  actor: string;
  note: string | null;
}

// The tool is exercised against a SQLite file, whose contents the test reads directly; the PostgreSQL run of
// the suite covers the same services through the other tests.
(TEST_DIALECT === "sqlite" ? describe : describe.skip)(
  "command-line tool",
  () => {
    let folder: string;
    let upstream: OpenAiUpstream;

    const databaseFile = () => join(folder, "proxy.sqlite");
    const secretsFile = () => join(folder, "secrets.json");

    beforeAll(async () => {
      // The file names match testConfig, so a ProxyHarness can reopen the folder.
      folder = mkdtempSync(join(tmpdir(), "llm-proxy-cli-"));
      upstream = await OpenAiUpstream.start();
    });

    afterAll(async () => {
      await upstream.stop();
      rmSync(folder, { recursive: true, force: true });
    });

    /**
     * Runs the tool with `args`, writing `input` to its standard input, and waits
     * for it to exit.
     */
    async function runCli(
      args: string[],
      options: { input?: string; env?: Record<string, string> } = {},
    ): Promise<CliResult> {
      const env: Record<string, string | undefined> = { ...process.env };
      for (const name of INHERITED_SETTINGS) {
        delete env[name];
      }
      Object.assign(env, {
        TS_NODE_PROJECT: "tsconfig.json",
        SQLITE_PATH: databaseFile(),
        SECRETS_FILE: secretsFile(),
        SPOOL_DIR: join(folder, "spool"),
        ...options.env,
      });

      const child = spawn(
        process.execPath,
        ["-r", "ts-node/register/transpile-only", "src/cli/main.ts", ...args],
        { cwd: ROOT, env, stdio: ["pipe", "pipe", "pipe"] },
      );
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (data: Buffer) => (stdout += data.toString()));
      child.stderr.on("data", (data: Buffer) => (stderr += data.toString()));
      const exited = new Promise<number | null>((resolve, reject) => {
        child.once("error", reject);
        child.once("close", resolve);
      });

      // The tool reads standard input only after start-up, so its argv can be
      // read while it still waits.
      const commandLine = await readCommandLine(child.pid!);
      child.stdin.end(options.input ?? "");

      return { code: await exited, stdout, stderr, commandLine };
    }

    /** Runs a read-only query on the tool's database with the sqlite3 driver. */
    async function query<T>(sql: string, params: unknown[] = []): Promise<T[]> {
      const db = await new Promise<sqlite3.Database>((resolve, reject) => {
        const opened = new sqlite3.Database(
          databaseFile(),
          sqlite3.OPEN_READONLY,
          (error) => (error ? reject(error) : resolve(opened)),
        );
      });
      try {
        return await new Promise<T[]>((resolve, reject) =>
          db.all(sql, params, (error, rows) =>
            error ? reject(error) : resolve(rows as T[]),
          ),
        );
      } finally {
        await new Promise<void>((resolve) => db.close(() => resolve()));
      }
    }

    async function ledgerOf(provider: string): Promise<LedgerRow[]> {
      return query<LedgerRow>(
        `select t.kind, cast(t.amount as text) as amount,
         cast(t.balance_after as text) as balance_after, t.actor, t.note
       from balance_transactions t join providers p on p.id = t.provider_id
       where p.name = ? order by t.id`,
        [provider],
      );
    }

    async function balanceOf(provider: string): Promise<string> {
      const [row] = await query<{ balance: string }>(
        `select cast(credit_balance as text) as balance
       from providers where name = ?`,
        [provider],
      );
      return row.balance;
    }

    async function providerRow(name: string): Promise<ProviderRow> {
      const [row] = await query<ProviderRow>(
        `select id, api_key_ciphertext, api_key_nonce, api_key_key_id
       from providers where name = ?`,
        [name],
      );
      return row;
    }

    /**
     * Opens a provider's sealed key with a key ring built from the secrets file,
     * as the proxy does at start-up.
     */
    async function openKey(row: ProviderRow): Promise<string> {
      const ring = await KeyRing.create(
        loadSecretMaterial({ file: secretsFile() }).masterKeys,
      );
      return ring.open(
        {
          ciphertext: row.api_key_ciphertext,
          nonce: row.api_key_nonce,
          keyId: row.api_key_key_id,
        },
        `provider:${row.id}`,
      );
    }

    /**
     * Returns every value in a table: text as is, and blobs both as bytes and as
     * UTF-8 text.
     */
    async function cellsOf(table: string): Promise<(string | Buffer)[]> {
      const rows = await query<Record<string, unknown>>(
        `select * from ${table}`,
      );
      return rows.flatMap((row) =>
        Object.values(row).flatMap((value) =>
          Buffer.isBuffer(value)
            ? [value, value.toString("utf8")]
            : [String(value)],
        ),
      );
    }

    /**
     * Checks that `secret` is in no cell of `table`, in clear text or as raw
     * bytes.
     */
    async function expectNotStored(
      table: string,
      secret: string,
    ): Promise<void> {
      for (const cell of await cellsOf(table)) {
        expect(cell.includes(secret)).toBe(false);
      }
    }

    /**
     * Checks that output shows no five consecutive characters of `key`, so at
     * most its last four.
     */
    function expectOnlyLastFour(result: CliResult, key: string): void {
      const output = result.stdout + result.stderr;
      for (let start = 0; start + 5 <= key.length; start++) {
        expect(output).not.toContain(key.slice(start, start + 5));
      }
      if (result.commandLine !== null) {
        expect(result.commandLine).not.toContain(key);
      }
    }

    it(
      "creates and lists clients",
      async () => {
        const created = await runCli(["client", "create", "acme"]);

        expect(created.code).toBe(0);
        expect(created.stdout).toMatch(/^created client acme \(id \d+\)\n$/);

        const rows = await query<{ status: string }>(
          "select status from clients where name = 'acme'",
        );
        expect(rows).toEqual([{ status: "active" }]);

        const listed = await runCli(["client", "list"]);

        expect(listed.code).toBe(0);
        const line = listed.stdout
          .split("\n")
          .find((row) => row.includes("\tacme\t"));
        expect(line).toMatch(/^\d+\tacme\tactive\t/);
        expect(line).toContain(
          "requests=0\tprompt=0\tcompletion=0\tcost=0.000000000 USD",
        );
      },
      CLI_TIMEOUT_MS,
    );

    let tokenId: number;

    it(
      "prints token once, stores HMAC",
      async () => {
        const result = await runCli([
          "token",
          "create",
          "acme",
          "--name",
          "ci",
        ]);
        const token = result.stdout.trim();

        expect(result.code).toBe(0);
        // lpx_ + 43 Base62 body characters + 6 Base62 checksum characters.
        expect(token).toMatch(/^lpx_[0-9A-Za-z]{49}$/);
        expect(result.stdout).toBe(`${token}\n`);
        expect(result.stderr).toContain(`${token.slice(0, 12)}...`);
        expect(result.stderr).not.toContain(token);

        const [row] = await query<{
          id: number;
          token_hash: string;
          display_prefix: string;
        }>(
          `select id, token_hash, display_prefix
         from client_tokens where name = 'ci'`,
        );
        tokenId = row.id;
        const pepper = Buffer.from(
          (
            JSON.parse(readFileSync(secretsFile(), "utf8")) as {
              tokenPepper: string;
            }
          ).tokenPepper,
          "base64",
        );

        expect(row.token_hash).toBe(
          createHmac("sha256", pepper).update(token).digest("hex"),
        );
        expect(row.display_prefix).toBe(token.slice(0, 12));
        // Neither the token nor its secret part after the display prefix is
        // stored.
        await expectNotStored("client_tokens", token);
        await expectNotStored("client_tokens", token.slice(12));
        await expectNotStored("audit_entries", token);
      },
      CLI_TIMEOUT_MS,
    );

    it(
      "reads provider key from stdin",
      async () => {
        const result = await runCli(
          [
            "provider",
            "create",
            "openai",
            "--base-url",
            upstream.baseUrl,
            "--billing",
            "prepaid",
          ],
          { input: `${STDIN_KEY}\n` },
        );

        expect(result.code).toBe(0);
        expect(result.stdout).toContain("prepaid, key ...Q7zK)");
        expectOnlyLastFour(result, STDIN_KEY);
        await expectNotStored("providers", STDIN_KEY);
        await expectNotStored("audit_entries", STDIN_KEY);

        const [row] = await query<{ last4: string }>(
          "select api_key_last4 as last4 from providers where name = 'openai'",
        );
        expect(row.last4).toBe("Q7zK");
        expect(await openKey(await providerRow("openai"))).toBe(STDIN_KEY);
      },
      CLI_TIMEOUT_MS,
    );

    it(
      "reads provider key from environment",
      async () => {
        const result = await runCli(
          [
            "provider",
            "create",
            "backup",
            "--base-url",
            "http://127.0.0.1:9/v1",
            "--api-key-env",
            "BACKUP_API_KEY",
          ],
          { env: { BACKUP_API_KEY: ENV_KEY } },
        );

        expect(result.code).toBe(0);
        expect(result.stdout).toContain("postpaid, key ...W2xJ)");
        expectOnlyLastFour(result, ENV_KEY);
        await expectNotStored("providers", ENV_KEY);
        await expectNotStored("audit_entries", ENV_KEY);
        expect(await openKey(await providerRow("backup"))).toBe(ENV_KEY);

        const listed = await runCli(["provider", "list"]);

        expect(listed.stdout).toContain("key=...W2xJ");
        expectOnlyLastFour(listed, ENV_KEY);
        expectOnlyLastFour(listed, STDIN_KEY);
      },
      CLI_TIMEOUT_MS,
    );

    it(
      "rejects empty stdin key",
      async () => {
        const result = await runCli(
          [
            "provider",
            "create",
            "empty",
            "--base-url",
            "http://127.0.0.1:9/v1",
          ],
          { input: "\n" },
        );

        expect(result.code).toBe(1);
        expect(result.stderr).toContain("No API key given on standard input");
        expect(
          await query("select id from providers where name = 'empty'"),
        ).toEqual([]);
      },
      CLI_TIMEOUT_MS,
    );

    it(
      "stores model prices in nano-dollars",
      async () => {
        const result = await runCli([
          "model",
          "add",
          "openai",
          "gpt-4o-mini",
          "--input",
          "2.50",
          "--output",
          "10",
          "--cache-read",
          "1.25",
          "--cache-write",
          "3.125",
          "--cache-write-1h",
          "5",
          "--reasoning",
          "0.000001",
          "--max-output",
          "1000",
          "--context-window",
          "128000",
        ]);

        expect(result.code).toBe(0);
        expect(result.stdout).toMatch(/^model gpt-4o-mini added to openai/);

        const [model] = await query<Record<string, string | number>>(
          `select upstream_name, max_output_tokens, context_window,
           cast(input_price as text) as input,
           cast(output_price as text) as output,
           cast(cache_read_price as text) as cache_read,
           cast(cache_write_price as text) as cache_write,
           cast(cache_write_1h_price as text) as cache_write_1h,
           cast(reasoning_price as text) as reasoning
         from model_configs where public_name = 'gpt-4o-mini'`,
        );
        // USD × 1,000,000,000 nano-dollars per USD.
        expect(model.input).toBe("2500000000"); // 2.50
        expect(model.output).toBe("10000000000"); // 10
        expect(model.cache_read).toBe("1250000000"); // 1.25
        expect(model.cache_write).toBe("3125000000"); // 3.125
        expect(model.cache_write_1h).toBe("5000000000"); // 5
        expect(model.reasoning).toBe("1000"); // 0.000001
        expect(model.max_output_tokens).toBe(1000);
        expect(model.context_window).toBe(128_000);
        expect(model.upstream_name).toBe("gpt-4o-mini");
      },
      CLI_TIMEOUT_MS,
    );

    it(
      "rejects malformed model price",
      async () => {
        const result = await runCli([
          "model",
          "add",
          "openai",
          "bad-price",
          "--input",
          "2,50",
          "--output",
          "10",
        ]);

        expect(result.code).not.toBe(0);
        expect(result.stderr).toContain('"2,50" is not a decimal USD amount');
        expect(
          await query(
            "select id from model_configs where public_name = 'bad-price'",
          ),
        ).toEqual([]);
      },
      CLI_TIMEOUT_MS,
    );

    const actor = `cli:${userInfo().username}`;

    it(
      "records top-up in ledger",
      async () => {
        const result = await runCli([
          "provider",
          "topup",
          "openai",
          "25.00",
          "--note",
          "invoice 7",
        ]);

        expect(result.code).toBe(0);
        expect(result.stdout).toBe(
          "balance of openai is now 25.000000000 USD\n",
        );
        // 25.00 USD = 25 × 1,000,000,000 = 25,000,000,000 nUSD.
        expect(await ledgerOf("openai")).toEqual([
          {
            kind: "topup",
            amount: "25000000000",
            balance_after: "25000000000",
            actor,
            note: "invoice 7",
          },
        ]);
        expect(await balanceOf("openai")).toBe("25000000000");
      },
      CLI_TIMEOUT_MS,
    );

    it(
      "records adjustment in ledger",
      async () => {
        const result = await runCli([
          "provider",
          "adjust",
          "openai",
          "-1.25",
          "--note",
          "refund of a failed batch",
        ]);

        expect(result.code).toBe(0);
        // 25,000,000,000 - 1,250,000,000 = 23,750,000,000 nUSD.
        expect(result.stdout).toBe(
          "balance of openai is now 23.750000000 USD\n",
        );
        const ledger = await ledgerOf("openai");
        expect(ledger).toHaveLength(2);
        expect(ledger[1]).toEqual({
          kind: "adjustment",
          amount: "-1250000000",
          balance_after: "23750000000",
          actor,
          note: "refund of a failed batch",
        });
        expect(await balanceOf("openai")).toBe("23750000000");
      },
      CLI_TIMEOUT_MS,
    );

    it(
      "rejects adjustment below zero",
      async () => {
        const result = await runCli([
          "provider",
          "adjust",
          "openai",
          "-30",
          "--note",
          "too much",
        ]);

        expect(result.code).toBe(1);
        expect(result.stderr).toMatch(
          /^error: The adjustment would leave .* USD, less than/m,
        );
        expect(result.stdout).toBe("");
        expect(await ledgerOf("openai")).toHaveLength(2);
        expect(await balanceOf("openai")).toBe("23750000000");
      },
      CLI_TIMEOUT_MS,
    );

    it.each([
      ["1.2.3", '"1.2.3" is not a decimal USD amount'],
      ["-5", '"-5" is not a decimal USD amount'],
      ["1e3", '"1e3" is not a decimal USD amount'],
      ["0.0000000001", '"0.0000000001" is not a decimal USD amount'],
      ["0", "The amount must not be zero"],
    ])(
      "rejects top-up amount %p",
      async (amount, message) => {
        const result = await runCli(["provider", "topup", "openai", amount]);

        expect(result.code).toBe(1);
        expect(result.stderr).toContain(message);
        expect(await ledgerOf("openai")).toHaveLength(2);
        expect(await balanceOf("openai")).toBe("23750000000");
      },
      CLI_TIMEOUT_MS,
    );

    it(
      "rejects top-up beyond int64",
      async () => {
        const created = await runCli(
          [
            "provider",
            "create",
            "reserve",
            "--base-url",
            "http://127.0.0.1:9/v1",
            "--billing",
            "prepaid",
            "--api-key-env",
            "RESERVE_API_KEY",
          ],
          { env: { RESERVE_API_KEY: "sk-reserve-0000" } },
        );
        expect(created.code).toBe(0);

        // 99,999,999,999 USD is 99,999,999,999,000,000,000 nUSD, above the signed
        // 64-bit maximum of 9,223,372,036,854,775,807 nUSD that a money column
        // can store.
        const result = await runCli([
          "provider",
          "topup",
          "reserve",
          "99999999999",
        ]);

        expect(result.code).toBe(1);
        expect(await balanceOf("reserve")).toBe("0");
        expect(await ledgerOf("reserve")).toEqual([]);
      },
      CLI_TIMEOUT_MS,
    );

    it(
      "revokes token",
      async () => {
        const revoked = await runCli(["token", "revoke", String(tokenId)]);

        expect(revoked.code).toBe(0);
        expect(revoked.stdout).toBe(`token ${tokenId} revoked\n`);
        const [row] = await query<{ revoked_at: number | null }>(
          "select revoked_at from client_tokens where id = ?",
          [tokenId],
        );
        expect(row.revoked_at).not.toBeNull();

        const again = await runCli(["token", "revoke", String(tokenId)]);

        expect(again.stdout).toBe(`token ${tokenId} was already revoked\n`);

        const listed = await runCli(["token", "list", "acme"]);

        expect(listed.stdout).toMatch(
          new RegExp(
            `^${tokenId}\\tlpx_\\w{8}\\.\\.\\.\\tci\\trevoked\\t`,
            "m",
          ),
        );
      },
      CLI_TIMEOUT_MS,
    );

    it(
      "rotates master key",
      async () => {
        const before = await Promise.all(
          ["openai", "backup", "reserve"].map(providerRow),
        );
        const oldKeyId = loadSecretMaterial({ file: secretsFile() })
          .masterKeys[0].id;

        const result = await runCli(["keys", "rotate"]);

        expect(result.code).toBe(0);
        const newKeyIds = loadSecretMaterial({
          file: secretsFile(),
        }).masterKeys.map((key) => key.id);
        expect(newKeyIds).toHaveLength(2);
        expect(newKeyIds[1]).toBe(oldKeyId);
        expect(result.stdout).toBe(
          `re-encrypted 3 provider keys under master key ${newKeyIds[0]}\n`,
        );
        expectOnlyLastFour(result, STDIN_KEY);
        expectOnlyLastFour(result, ENV_KEY);

        const after = await Promise.all(
          ["openai", "backup", "reserve"].map(providerRow),
        );
        for (const [index, row] of after.entries()) {
          expect(row.api_key_key_id).toBe(newKeyIds[0]);
          expect(row.api_key_key_id).not.toBe(before[index].api_key_key_id);
          expect(
            row.api_key_ciphertext.equals(before[index].api_key_ciphertext),
          ).toBe(false);
        }
        expect(await openKey(after[0])).toBe(STDIN_KEY);
        expect(await openKey(after[1])).toBe(ENV_KEY);
        await expectNotStored("providers", STDIN_KEY);
      },
      CLI_TIMEOUT_MS,
    );

    it(
      "audits changes under the system user",
      async () => {
        const entries = await query<{ actor: string; action: string }>(
          "select actor, action from audit_entries order by id",
        );
        const actions = new Set(entries.map((entry) => entry.action));

        expect(entries.length).toBeGreaterThan(0);
        expect(entries.every((entry) => /^cli:.+/.test(entry.actor))).toBe(
          true,
        );
        for (const action of [
          "client.create",
          "client_token.issue",
          "client_token.revoke",
          "provider.create",
          "provider.topup",
          "provider.adjustment",
          "model.create",
        ]) {
          expect({ action, audited: actions.has(action) }).toEqual({
            action,
            audited: true,
          });
        }
        await expectNotStored("audit_entries", STDIN_KEY);
        await expectNotStored("audit_entries", ENV_KEY);
      },
      CLI_TIMEOUT_MS,
    );

    it(
      "proxy uses rotated key",
      async () => {
        const proxy = await ProxyHarness.start(
          {},
          { folder, databaseUrl: null },
        );
        try {
          const { token } = await proxy.seedClient();
          const completion = await proxy.openai(token).chat.completions.create({
            model: "gpt-4o-mini",
            messages: [{ role: "user", content: "hi" }],
          });

          expect(completion.choices[0].message.content).toBe("Hello world!");
          expect(upstream.requests.at(-1)?.headers.authorization).toBe(
            `Bearer ${STDIN_KEY}`,
          );
        } finally {
          await proxy.stop({ keepFiles: true });
        }
      },
      CLI_TIMEOUT_MS,
    );

    it(
      "running proxy survives rotation",
      async () => {
        // A proxy started before the rotation has only the old key ring in
        // memory. It must still reach the provider afterwards, because replicas
        // are not all restarted at the same moment.
        const proxy = await ProxyHarness.start(
          {},
          { folder, databaseUrl: null },
        );
        try {
          const { token } = await proxy.seedClient();
          const client = proxy.openai(token);
          const ask = () =>
            client.chat.completions.create({
              model: "gpt-4o-mini",
              messages: [{ role: "user", content: "hi" }],
            });
          await ask();

          const rotated = await runCli(["keys", "rotate"]);
          expect(rotated.code).toBe(0);

          const completion = await ask();
          expect(completion.choices[0].message.content).toBe("Hello world!");
        } finally {
          await proxy.stop({ keepFiles: true });
        }
      },
      CLI_TIMEOUT_MS,
    );
  },
);

/**
 * Returns the command line of a process from /proc, waiting until the process
 * has replaced the forked image with node, or null on systems without /proc.
 */
async function readCommandLine(pid: number): Promise<string | null> {
  const file = `/proc/${pid}/cmdline`;
  if (!existsSync(file)) {
    return null;
  }
  for (let attempt = 0; attempt < 100; attempt++) {
    const text = readFileSync(file, "utf8").replaceAll("\0", " ");
    if (text.includes("src/cli/main.ts")) {
      return text;
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`process ${pid} did not start the tool within 1 second`);
}
