import { spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";

import { jobSettings, meter, seedTarget } from "./maintenance-fixtures";
import { ProxyHarness } from "./support/proxy-harness";
import { dropPostgresDatabase } from "./support/test-database";

/**
 * The maintenance commands of the command-line tool, run as their own processes through ts-node against the
 * database of a stopped proxy, as an operator runs them. The tests run in order: the list shows the run that
 * the first test started.
 */

const ROOT = join(__dirname, "..");

/** Each run starts ts-node and compiles the tool, which takes several seconds. */
const CLI_TIMEOUT_MS = 60_000;

/** Settings from the test runner's environment that would point the tool elsewhere. */
const INHERITED_SETTINGS = [
  "DATABASE_URL",
  "LLM_PROXY_CONFIG",
  "SQLITE_PATH",
  "SECRETS_FILE",
  "SPOOL_DIR",
];

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

describe("maintenance commands", () => {
  let target: { folder: string; databaseUrl: string | null };

  beforeAll(async () => {
    const proxy = await ProxyHarness.start({
      maintenance: { jobs: jobSettings() },
    });
    await meter(proxy, await seedTarget(proxy), {
      requestId: "cli-seeded",
      createdAt: new Date(),
      cost: 1_000n,
    });
    target = { folder: proxy.folder, databaseUrl: proxy.databaseUrl };
    await proxy.stop({ keepFiles: true });
  }, CLI_TIMEOUT_MS);

  afterAll(async () => {
    rmSync(target.folder, { recursive: true, force: true });
    if (target.databaseUrl) {
      await dropPostgresDatabase(target.databaseUrl);
    }
  });

  async function runCli(args: string[]): Promise<CliResult> {
    const env: Record<string, string | undefined> = { ...process.env };
    for (const name of INHERITED_SETTINGS) {
      delete env[name];
    }
    Object.assign(env, {
      TS_NODE_PROJECT: "tsconfig.json",
      SQLITE_PATH: join(target.folder, "proxy.sqlite"),
      SECRETS_FILE: join(target.folder, "secrets.json"),
      SPOOL_DIR: join(target.folder, "spool"),
      ...(target.databaseUrl ? { DATABASE_URL: target.databaseUrl } : {}),
    });

    const child = spawn(
      process.execPath,
      ["-r", "ts-node/register/transpile-only", "src/cli/main.ts", ...args],
      { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (data: Buffer) => (stdout += data.toString()));
    child.stderr.on("data", (data: Buffer) => (stderr += data.toString()));
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once("error", reject);
      child.once("close", resolve);
    });

    return { code, stdout, stderr };
  }

  it(
    "runs a job by hand",
    async () => {
      const result = await runCli(["jobs", "run", "reconcile"]);

      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(
        /^job reconcile run \d+: succeeded, complete, 0 rows affected$/m,
      );
    },
    CLI_TIMEOUT_MS,
  );

  it(
    "lists jobs with their last run",
    async () => {
      const result = await runCli(["jobs", "list"]);

      const reconcile = result.stdout
        .split("\n")
        .find((line) => line.startsWith("reconcile\t"));
      expect(result.code).toBe(0);
      expect(reconcile).toMatch(/\tlease free\t/);
      expect(reconcile).toMatch(/: succeeded, 0 rows$/);
    },
    CLI_TIMEOUT_MS,
  );

  it(
    "prints database health as JSON",
    async () => {
      const result = await runCli(["db", "health", "--json"]);

      const report = JSON.parse(result.stdout) as {
        tables: { table: string; rows: number }[];
      };
      const requests = report.tables.find(
        (table) => table.table === "llm_requests",
      );
      expect(result.code).toBe(0);
      expect(requests?.rows).toBe(1);
    },
    CLI_TIMEOUT_MS,
  );

  it(
    "rejects an unknown job",
    async () => {
      const result = await runCli(["jobs", "run", "vacuum"]);

      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(
        /value 'vacuum' is invalid for argument 'name'/,
      );
    },
    CLI_TIMEOUT_MS,
  );
});
