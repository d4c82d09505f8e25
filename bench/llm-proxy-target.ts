import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

import { Client } from "pg";
import sqlite3 from "sqlite3";

import { runNode, Started, startPinned, stop } from "./processes";

/** The llm-proxy build to measure; `BENCH_DIST` names another build's `dist` folder, to compare two versions. */
export const DIST = process.env.BENCH_DIST ?? join(__dirname, "..", "dist");
/** Where the build runs from: the folder above `dist`, which holds its `config/default.yaml`. */
const ROOT = join(DIST, "..");
const CLI = join(DIST, "src", "cli", "main.js");
const MAIN = join(DIST, "src", "main.js");

/** The node options in the `start` script of the measured build's package.json, such as `--no-memory-reducer`. */
const START_OPTIONS = startOptions(join(ROOT, "package.json"));

function startOptions(packageJson: string): string[] {
  const scripts = (
    JSON.parse(readFileSync(packageJson, "utf8")) as {
      scripts?: Record<string, string>;
    }
  ).scripts;
  const start = /^node((?: --\S+)*) \S*main\.js$/.exec(scripts?.start ?? "");
  if (!start) {
    throw new Error(
      `${packageJson}: no "start" script of the form "node [--options] .../main.js"`,
    );
  }
  return start[1].split(" ").filter(Boolean);
}

/** Prepaid credit of the benchmark provider, in USD: enough that no run is refused for credit. */
const CREDIT_USD = "1000000";
export const PROVIDER_KEY = "sk-bench-upstream-key";

export type Dialect = "sqlite" | "postgresql";

/** Sum columns the parity check compares, as decimal strings so no bigint passes through a double. */
interface Snapshot {
  rows: number;
  cost: bigint;
  shortfall: bigint;
  balance: bigint;
}

export interface ParityResult {
  exact: boolean;
  detail: string;
}

/** One llm-proxy server on a fresh database, seeded through the CLI, and SQL access for the parity check. */
export class LlmProxyTarget {
  readonly tokens: string[] = [];
  server: Started | null = null;
  private pg: Client | null = null;
  private sqlite: sqlite3.Database | null = null;
  private snapshot: Snapshot | null = null;

  private constructor(
    readonly dialect: Dialect,
    readonly folder: string,
    readonly databaseUrl: string | null,
    private readonly adminUrl: string,
  ) {}

  /** Creates the database (a SQLite file, or a PostgreSQL database named `llmp_bench_*`) and seeds it. */
  static async create(
    dialect: Dialect,
    folder: string,
    upstreamPort: number,
    clients: number,
    adminUrl: string,
  ): Promise<LlmProxyTarget> {
    mkdirSync(folder, { recursive: true });
    let databaseUrl: string | null = null;
    if (dialect === "postgresql") {
      const name = `llmp_bench_${randomBytes(5).toString("hex")}`;
      await withClient(adminUrl, (admin) =>
        admin.query(`create database ${name}`),
      );
      const url = new URL(adminUrl);
      url.pathname = `/${name}`;
      databaseUrl = url.toString();
    }

    const target = new LlmProxyTarget(dialect, folder, databaseUrl, adminUrl);
    await target.seed(upstreamPort, clients);
    return target;
  }

  get env(): Record<string, string> {
    return {
      DATABASE_URL: this.databaseUrl ?? "",
      SQLITE_PATH: join(this.folder, "llm-proxy.sqlite"),
      SECRETS_FILE: join(this.folder, "secrets.json"),
      SPOOL_DIR: join(this.folder, "spool"),
      LOG_LEVEL: "info",
      BENCH_PROVIDER_KEY: PROVIDER_KEY,
    };
  }

  cli(args: string[]): Promise<string> {
    return runNode([CLI, ...args], { env: this.env, cwd: ROOT });
  }

  private async seed(upstreamPort: number, clients: number): Promise<void> {
    const base = `http://127.0.0.1:${upstreamPort}/v1`;
    await this.cli([
      "provider",
      "create",
      "bench",
      "--base-url",
      base,
      "--billing",
      "prepaid",
      "--api-key-env",
      "BENCH_PROVIDER_KEY",
    ]);
    for (const [name, upstream] of [
      ["bench-instant", "instant"],
      ["bench-provider", "provider"],
    ]) {
      await this.cli([
        "model",
        "add",
        "bench",
        name,
        "--upstream-name",
        upstream,
        "--input",
        "2.50",
        "--output",
        "10.00",
        "--max-output",
        "4096",
      ]);
    }
    await this.cli([
      "provider",
      "topup",
      "bench",
      CREDIT_USD,
      "--note",
      "benchmark credit",
    ]);

    for (let index = 1; index <= clients; index += 1) {
      await this.cli(["client", "create", `bench-${index}`]);
      const out = await this.cli([
        "token",
        "create",
        `bench-${index}`,
        "--name",
        "bench",
      ]);
      const token = /lpx_[A-Za-z0-9]+/.exec(out)?.[0];
      if (!token) {
        throw new Error("token create printed no token");
      }
      this.tokens.push(token);
    }
  }

  /**
   * Starts the built server (`dist/src/main.js`) pinned to `core`, with the node options of `npm start` and
   * `extraArgs`, so the benchmark measures the server as it is run.
   */
  async start(core: number, extraArgs: string[] = []): Promise<Started> {
    this.server = await startPinned(
      core,
      [...START_OPTIONS, ...extraArgs, MAIN],
      {
        cwd: ROOT,
        env: { ...this.env, PORT: "0" },
        logPath: join(this.folder, `server-${Date.now()}.log`),
        ready:
          /"msg":"llm-proxy listening","url":"http:\/\/127\.0\.0\.1:(\d+)"/,
      },
    );
    return this.server;
  }

  async stopServer(): Promise<void> {
    await stop(this.server);
    this.server = null;
  }

  /** Runs one read-only query; SQLite through a connection of its own, which WAL lets read beside the server. */
  async query<T>(sql: string): Promise<T[]> {
    if (this.dialect === "postgresql") {
      if (!this.pg) {
        this.pg = new Client({ connectionString: this.databaseUrl! });
        await this.pg.connect();
      }
      return (await this.pg.query(sql)).rows as T[];
    }

    this.sqlite ??= new sqlite3.Database(
      this.env.SQLITE_PATH,
      sqlite3.OPEN_READONLY,
    );
    const db = this.sqlite;
    return new Promise((resolve, reject) =>
      db.all(sql, (error, rows) =>
        error ? reject(error) : resolve(rows as T[]),
      ),
    );
  }

  private async takeSnapshot(): Promise<Snapshot> {
    const [requests] = await this.query<{
      rows: number | string;
      cost: string | null;
      shortfall: string | null;
    }>(
      `select count(*) as rows, cast(coalesce(sum(cost), 0) as text) as cost,
         cast(coalesce(sum(credit_shortfall), 0) as text) as shortfall from llm_requests`,
    );
    const [provider] = await this.query<{ balance: string }>(
      `select cast(credit_balance as text) as balance from providers where name = 'bench'`,
    );
    return {
      rows: Number(requests.rows),
      cost: BigInt(requests.cost ?? "0"),
      shortfall: BigInt(requests.shortfall ?? "0"),
      balance: BigInt(provider.balance),
    };
  }

  /** Remembers the totals before a run, for {@link checkParity}. */
  async beginRun(): Promise<void> {
    this.snapshot = await this.takeSnapshot();
  }

  /**
   * Checks a run's accounting: one new request row per successful response, the balance lower by exactly the
   * sum of the new rows' costs, and no reservation still pending or credit still reserved. Records are written
   * just after each answer, so the row count is polled for up to 30 s before the check.
   */
  async checkParity(successes: number): Promise<ParityResult> {
    const before = this.snapshot!;
    let after = await this.takeSnapshot();
    for (
      let attempt = 0;
      attempt < 300 && after.rows - before.rows < successes;
      attempt += 1
    ) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      after = await this.takeSnapshot();
    }
    const [pending] = await this.query<{ count: number | string }>(
      `select count(*) as count from credit_reservations where status = 'pending'`,
    );
    const [reserved] = await this.query<{ reserved: string }>(
      `select cast(credit_reserved as text) as reserved from providers where name = 'bench'`,
    );

    const rows = after.rows - before.rows;
    const cost = after.cost - before.cost;
    const shortfall = after.shortfall - before.shortfall;
    const drop = before.balance - after.balance;
    const exact =
      rows === successes &&
      drop === cost - shortfall &&
      shortfall === 0n &&
      Number(pending.count) === 0 &&
      BigInt(reserved.reserved) === 0n;
    return {
      exact,
      detail:
        `${rows} rows for ${successes} successes; balance −${drop} n$ for costs of ${cost} n$` +
        `${shortfall > 0n ? ` (shortfall ${shortfall})` : ""}; ${Number(pending.count)} pending, ${reserved.reserved} n$ reserved`,
    };
  }

  /** Stops the server, closes the connections and drops a PostgreSQL database. */
  async dispose(): Promise<void> {
    await this.stopServer();
    await this.pg?.end();
    this.pg = null;
    await new Promise<void>((resolve) =>
      this.sqlite ? this.sqlite.close(() => resolve()) : resolve(),
    );
    this.sqlite = null;
    if (this.databaseUrl) {
      const name = new URL(this.databaseUrl).pathname.slice(1);
      await withClient(this.adminUrl, (admin) =>
        admin.query(`drop database if exists ${name} with (force)`),
      );
    }
  }
}

async function withClient(
  url: string,
  work: (client: Client) => Promise<unknown>,
): Promise<void> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await work(client);
  } finally {
    await client.end();
  }
}
