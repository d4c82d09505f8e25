import { Injectable } from "@nestjs/common";
import { MikroORM } from "@mikro-orm/core";
import { EntityManager } from "@mikro-orm/knex";

import { isSqlite } from "./migration-runner";

/** Positional parameters; bigints are sent as decimal strings so no driver rounds them through a double. */
export type SqlParam =
  string | number | bigint | boolean | null | Date | Buffer;

/** Statements of one write transaction. Placeholders are `?` on every dialect. */
export interface SqlTransaction {
  /** Runs a statement that returns rows (select, or insert/update ... returning). */
  all<T>(sql: string, params?: SqlParam[]): Promise<T[]>;
  /** Runs a statement and returns how many rows it changed. */
  run(sql: string, params?: SqlParam[]): Promise<number>;
  /** Encodes a timestamp as the ORM stores it: epoch milliseconds on SQLite, timestamptz on PostgreSQL. */
  time(value: Date): SqlParam;
  /** Row-lock suffix for a select that precedes an update of the same row; empty on SQLite. */
  readonly forUpdate: string;
}

interface SqliteConnection {
  run(
    sql: string,
    params: unknown[],
    callback: (this: { changes: number }, error: Error | null) => void,
  ): void;
  all(
    sql: string,
    params: unknown[],
    callback: (error: Error | null, rows: unknown[]) => void,
  ): void;
}

interface PgConnection {
  query(
    sql: string,
    params?: unknown[],
  ): Promise<{ rows: unknown[]; rowCount: number | null }>;
}

interface KnexClient {
  acquireConnection(): Promise<unknown>;
  releaseConnection(connection: unknown): Promise<void>;
}

/**
 * Runs hand-written SQL in one write transaction on a dedicated pooled connection, bypassing the unit of work.
 * On SQLite the transaction begins immediately, so it takes the write lock up front and the busy timeout
 * applies; on PostgreSQL it runs under READ COMMITTED and relies on conditional updates.
 *
 * The callback must not use the ORM's EntityManager: on SQLite the pool has one connection, which this holds.
 */
@Injectable()
export class WriteTransactionRunner {
  private readonly sqlite: boolean;

  constructor(private readonly orm: MikroORM) {
    this.sqlite = isSqlite(orm);
  }

  async run<T>(work: (tx: SqlTransaction) => Promise<T>): Promise<T> {
    const client = this.knexClient();
    const connection = await client.acquireConnection();
    const tx = this.sqlite
      ? sqliteTransaction(connection as SqliteConnection)
      : pgTransaction(connection as PgConnection);

    try {
      await tx.run(this.sqlite ? "begin immediate" : "begin");
      try {
        const result = await work(tx);
        await tx.run("commit");
        return result;
      } catch (error) {
        await tx.run("rollback").catch(() => undefined);
        throw error;
      }
    } finally {
      await client.releaseConnection(connection);
    }
  }

  /** Encodes a timestamp as the ORM stores it on this dialect. */
  time(value: Date): SqlParam {
    return this.sqlite ? value.getTime() : value;
  }

  /** Runs a single read outside any explicit transaction. */
  async read<T>(sql: string, params: SqlParam[] = []): Promise<T[]> {
    const client = this.knexClient();
    const connection = await client.acquireConnection();
    try {
      const tx = this.sqlite
        ? sqliteTransaction(connection as SqliteConnection)
        : pgTransaction(connection as PgConnection);
      return await tx.all<T>(sql, params);
    } finally {
      await client.releaseConnection(connection);
    }
  }

  private knexClient(): KnexClient {
    const knex = (this.orm.em as EntityManager).getConnection().getKnex();
    return knex.client as KnexClient;
  }
}

function toDriverParams(params: SqlParam[]): unknown[] {
  return params.map((value) => {
    if (typeof value === "bigint") {
      return value.toString();
    }
    if (typeof value === "boolean") {
      return value ? 1 : 0;
    }
    return value;
  });
}

function sqliteTransaction(connection: SqliteConnection): SqlTransaction {
  return {
    time: (value: Date) => value.getTime(),
    forUpdate: "",
    all: <T>(sql: string, params: SqlParam[] = []) =>
      new Promise<T[]>((resolve, reject) => {
        connection.all(sql, toDriverParams(params), (error, rows) =>
          error ? reject(error) : resolve(rows as T[]),
        );
      }),
    run: (sql: string, params: SqlParam[] = []) =>
      new Promise<number>((resolve, reject) => {
        connection.run(
          sql,
          toDriverParams(params),
          function (this: { changes: number }, error) {
            if (error) {
              reject(error);
            } else {
              resolve(this.changes);
            }
          },
        );
      }),
  };
}

function pgTransaction(connection: PgConnection): SqlTransaction {
  const numbered = (sql: string) => {
    let index = 0;
    return sql.replace(/\?/g, () => `$${++index}`);
  };

  return {
    time: (value: Date) => value,
    forUpdate: " for update",
    all: async <T>(sql: string, params: SqlParam[] = []) => {
      const result = await connection.query(numbered(sql), pgParams(params));
      return result.rows as T[];
    },
    run: async (sql: string, params: SqlParam[] = []) => {
      const result = await connection.query(numbered(sql), pgParams(params));
      return result.rowCount ?? 0;
    },
  };
}

function pgParams(params: SqlParam[]): unknown[] {
  return params.map((value) =>
    typeof value === "bigint" ? value.toString() : value,
  );
}

/**
 * Reads a timestamp column from a raw query: epoch milliseconds on SQLite, or on PostgreSQL the text that the
 * ORM's driver settings leave it as (`2026-12-04 13:46:39.161+00`).
 */
export function readTime(value: number | string | Date): Date {
  if (value instanceof Date) {
    return value;
  }
  if (typeof value === "number" || /^\d+$/.test(value)) {
    return new Date(Number(value));
  }

  const iso = value.replace(" ", "T").replace(/([+-]\d\d)$/, "$1:00");
  return new Date(iso);
}
