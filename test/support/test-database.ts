import { randomBytes } from "node:crypto";
import { join } from "node:path";

import Database from "better-sqlite3";
import { Client, types } from "pg";

/**
 * Which database the suite runs on: SQLite by default, PostgreSQL when TEST_DATABASE=postgres. PostgreSQL tests
 * create a fresh database per proxy instance on the server named by TEST_POSTGRES_URL and drop it afterwards.
 */
export const TEST_DIALECT: "sqlite" | "postgresql" =
  process.env.TEST_DATABASE === "postgres" ? "postgresql" : "sqlite";

const ADMIN_URL =
  process.env.TEST_POSTGRES_URL ??
  "postgres://postgres@127.0.0.1:5432/postgres";

/** Runs a test only on the given dialect, so dialect-specific cases are skipped, and reported, elsewhere. */
export const onlyOn = (dialect: typeof TEST_DIALECT) =>
  TEST_DIALECT === dialect ? it : it.skip;

/** Creates an empty PostgreSQL database and returns its URL. */
export async function createPostgresDatabase(): Promise<string> {
  const name = `llmp_test_${randomBytes(6).toString("hex")}`;
  await withAdmin((admin) => admin.query(`create database ${name}`));

  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function dropPostgresDatabase(databaseUrl: string): Promise<void> {
  const name = new URL(databaseUrl).pathname.slice(1);
  await withAdmin((admin) =>
    admin.query(`drop database if exists ${name} with (force)`),
  );
}

async function withAdmin(
  work: (admin: Client) => Promise<unknown>,
): Promise<void> {
  const admin = new Client({ connectionString: ADMIN_URL });
  await admin.connect();
  try {
    await work(admin);
  } finally {
    await admin.end();
  }
}

/** PostgreSQL type ids whose values are read the way SQLite returns them. */
const INT8 = 20;
const NUMERIC = 1700;
const BOOL = 16;
const TIMESTAMP = 1114;
const TIMESTAMPTZ = 1184;

const wholeNumber = (text: string): number | string =>
  Number.isSafeInteger(Number(text)) ? Number(text) : text;

const epochMs = (text: string): number =>
  new Date(
    /[+-]\d\d(:\d\d)?$|Z$/.test(text)
      ? text.replace(" ", "T").replace(/([+-]\d\d)$/, "$1:00")
      : `${text.replace(" ", "T")}Z`,
  ).getTime();

/** Values as SQLite returns them, so assertions read the same on both dialects. */
const PG_TYPES = {
  getTypeParser: (
    oid: number,
    format?: "text" | "binary",
  ): ((text: string) => unknown) => {
    if (oid === INT8 || oid === NUMERIC) {
      return wholeNumber;
    }
    if (oid === BOOL) {
      return (text: string) => (text === "t" ? 1 : 0);
    }
    if (oid === TIMESTAMP || oid === TIMESTAMPTZ) {
      return epochMs;
    }
    return types.getTypeParser(oid, format ?? "text") as (
      text: string,
    ) => unknown;
  },
};

/**
 * A connection of the test's own to a proxy's database, independent of the proxy's pool, so it works before,
 * during and after the proxy runs. Placeholders are `?` on both dialects; integers, booleans and timestamps
 * come back as numbers on both.
 */
export class DatabaseReader {
  private constructor(
    private readonly sqlite: Database.Database | null,
    private readonly pg: Client | null,
  ) {}

  static async open(target: {
    folder: string;
    databaseUrl: string | null;
  }): Promise<DatabaseReader> {
    if (target.databaseUrl) {
      const pg = new Client({
        connectionString: target.databaseUrl,
        types: PG_TYPES,
      });
      await pg.connect();
      return new DatabaseReader(null, pg);
    }

    // The proxy's own driver: SQLite tracks locks between connections of one process inside the library, so a
    // second SQLite build in this process would not see the proxy's locks.
    const db = new Database(join(target.folder, "proxy.sqlite"), {
      timeout: 5000,
    });
    return new DatabaseReader(db, null);
  }

  async query<T>(sql: string, params: unknown[] = []): Promise<T[]> {
    if (this.pg) {
      let index = 0;
      const result = await this.pg.query(
        sql.replace(/\?/g, () => `$${++index}`),
        params,
      );
      return result.rows as T[];
    }

    const statement = this.sqlite!.prepare(sql);
    const values = params.map((value) =>
      typeof value === "boolean" ? Number(value) : value,
    );
    if (!statement.reader) {
      statement.run(values);
      return [];
    }
    return statement.all(values) as T[];
  }

  async close(): Promise<void> {
    if (this.pg) {
      await this.pg.end();
      return;
    }
    this.sqlite!.close();
  }
}
