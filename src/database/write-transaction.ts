import { Inject, Injectable, OnApplicationShutdown } from "@nestjs/common";
import { MikroORM } from "@mikro-orm/core";
import { EntityManager } from "@mikro-orm/knex";

import { APP_CONFIG } from "../config/config.module";
import { AppConfig } from "../config/config.schema";
import sqlite3 from "sqlite3";

import { isSqlite } from "./migration-runner";
import { WalSync } from "./wal-sync";

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

/** Whether a commit must reach the disk before it counts as done. */
export interface WriteOptions {
  /**
   * True waits for the configured `synchronous` level (FULL by default). False commits SQLite with
   * `synchronous=NORMAL`: the commit can be lost to a power failure until the next durable commit, which syncs
   * the write-ahead log up to and including it. PostgreSQL commits every transaction durably.
   */
  durable: boolean;
}

/** Most work items one group commit takes. */
const MAX_GROUP = 256;

interface QueuedWork {
  work: (tx: SqlTransaction) => Promise<unknown>;
  durable: boolean;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/**
 * Runs hand-written SQL in write transactions on a dedicated pooled connection, bypassing the unit of work.
 * On SQLite a transaction begins immediately, so it takes the write lock up front and the busy timeout
 * applies; on PostgreSQL it runs under READ COMMITTED and relies on conditional updates.
 *
 * The callbacks must not use the ORM's EntityManager: on SQLite the pool has one connection, which this holds.
 */
@Injectable()
export class WriteTransactionRunner implements OnApplicationShutdown {
  private readonly sqlite: boolean;
  private readonly fullSync: string;
  private readonly syncMode = new WeakMap<object, string>();
  /** Syncs the WAL for durable SQLite commits outside the write lock; null unless `synchronous` is FULL or EXTRA. */
  private readonly walSync: WalSync | null;
  private readonly sqlitePath: string | null;
  private readonly busyTimeoutMs: number;
  private readOnly: Promise<sqlite3.Database> | null = null;
  private readonly queue: QueuedWork[] = [];
  private flushing = false;

  constructor(
    private readonly orm: MikroORM,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.sqlite = isSqlite(orm);
    this.fullSync = config.database.synchronous;
    this.sqlitePath = this.sqlite ? config.database.sqlitePath : null;
    this.busyTimeoutMs = config.database.busyTimeoutMs;
    this.walSync =
      this.sqlite && this.fullSync !== "NORMAL"
        ? new WalSync(`${config.database.sqlitePath}-wal`)
        : null;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.walSync?.close();
    const readOnly = await this.readOnly;
    await new Promise<void>((resolve) =>
      readOnly ? readOnly.close(() => resolve()) : resolve(),
    );
  }

  /** Runs `work` in a transaction of its own. */
  async run<T>(
    work: (tx: SqlTransaction) => Promise<T>,
    options: WriteOptions = { durable: true },
  ): Promise<T> {
    const result = await this.withConnection(async (tx, connection) => {
      await this.begin(tx, connection, options.durable);
      try {
        const value = await work(tx);
        await tx.run("commit");
        return value;
      } catch (error) {
        await tx.run("rollback").catch(() => undefined);
        throw error;
      }
    });

    if (options.durable && this.walSync) {
      await this.walSync.sync();
    }
    return result;
  }

  /**
   * Runs `work` in a transaction shared with the other work queued meanwhile, so one commit (and one fsync)
   * serves them all: group commit. Each work item runs under its own savepoint, so its failure undoes only its
   * own statements and rejects only its own promise; the promise settles after the shared commit. A failed
   * commit rejects every item of the group. SQLite has a single writer, which makes grouping safe there; on
   * PostgreSQL, where concurrent transactions lock rows in their own order, each item gets its own transaction.
   */
  runGrouped<T>(
    work: (tx: SqlTransaction) => Promise<T>,
    options: WriteOptions,
  ): Promise<T> {
    if (!this.sqlite) {
      return this.run(work, options);
    }

    return new Promise<T>((resolve, reject) => {
      this.queue.push({
        work,
        durable: options.durable,
        resolve: resolve as (value: unknown) => void,
        reject,
      });
      if (!this.flushing) {
        this.flushing = true;
        setImmediate(() => void this.flushQueue());
      }
    });
  }

  /** Encodes a timestamp as the ORM stores it on this dialect. */
  time(value: Date): SqlParam {
    return this.sqlite ? value.getTime() : value;
  }

  /**
   * Runs a single read outside any explicit transaction. On SQLite it uses a read-only connection of its own,
   * which in WAL mode sees every committed write and never waits for the writer.
   */
  async read<T>(sql: string, params: SqlParam[] = []): Promise<T[]> {
    if (!this.sqlite) {
      return this.withConnection((tx) => tx.all<T>(sql, params));
    }

    this.readOnly ??= openReadOnly(this.sqlitePath!, this.busyTimeoutMs);
    const connection = (await this.readOnly) as unknown as SqliteConnection;
    return sqliteTransaction(connection).all<T>(sql, params);
  }

  private async flushQueue(): Promise<void> {
    while (this.queue.length > 0) {
      const group = this.queue.splice(0, MAX_GROUP);
      const outcomes: { ok: boolean; value: unknown }[] = [];

      try {
        await this.run(
          async (tx) => {
            for (const item of group) {
              outcomes.push(await runUnderSavepoint(tx, item.work));
            }
          },
          { durable: group.some((item) => item.durable) },
        );
      } catch (error) {
        group.forEach((item) => item.reject(error));
        continue;
      }

      group.forEach((item, index) => {
        const outcome = outcomes[index];
        if (outcome.ok) {
          item.resolve(outcome.value);
        } else {
          item.reject(outcome.value);
        }
      });
    }
    this.flushing = false;
  }

  /** Opens the transaction, first switching SQLite's `synchronous` level when this commit needs another one. */
  private async begin(
    tx: SqlTransaction,
    connection: object,
    durable: boolean,
  ): Promise<void> {
    if (!this.sqlite) {
      await tx.run("begin");
      return;
    }

    // With a WAL syncer every commit runs at NORMAL, and durable ones are synced after the lock is released.
    const wanted = this.walSync || !durable ? "NORMAL" : this.fullSync;
    if ((this.syncMode.get(connection) ?? this.fullSync) !== wanted) {
      await tx.run(`pragma synchronous = ${wanted}`);
      this.syncMode.set(connection, wanted);
    }
    await tx.run("begin immediate");
  }

  private async withConnection<T>(
    work: (tx: SqlTransaction, connection: object) => Promise<T>,
  ): Promise<T> {
    const client = this.knexClient();
    const connection = (await client.acquireConnection()) as object;
    const tx = this.sqlite
      ? sqliteTransaction(connection as SqliteConnection)
      : pgTransaction(connection as PgConnection);

    try {
      return await work(tx, connection);
    } finally {
      await client.releaseConnection(connection);
    }
  }

  private knexClient(): KnexClient {
    const knex = (this.orm.em as EntityManager).getConnection().getKnex();
    return knex.client as KnexClient;
  }
}

/** Opens a read-only connection to the SQLite file, waiting for locks as long as the writer does. */
function openReadOnly(
  path: string,
  busyTimeoutMs: number,
): Promise<sqlite3.Database> {
  return new Promise((resolve, reject) => {
    const db = new sqlite3.Database(path, sqlite3.OPEN_READONLY, (error) => {
      if (error) {
        reject(error);
        return;
      }
      db.configure("busyTimeout", busyTimeoutMs);
      resolve(db);
    });
  });
}

/** Runs one work item of a group; its failure is rolled back to the savepoint and returned, not thrown. */
async function runUnderSavepoint(
  tx: SqlTransaction,
  work: (tx: SqlTransaction) => Promise<unknown>,
): Promise<{ ok: boolean; value: unknown }> {
  await tx.run("savepoint grouped_item");
  try {
    const value = await work(tx);
    await tx.run("release grouped_item");
    return { ok: true, value };
  } catch (error) {
    await tx.run("rollback to grouped_item");
    await tx.run("release grouped_item");
    return { ok: false, value: error };
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
