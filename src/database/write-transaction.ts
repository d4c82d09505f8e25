import {
  Inject,
  Injectable,
  Logger,
  OnApplicationShutdown,
} from "@nestjs/common";
import { MikroORM } from "@mikro-orm/core";
import { EntityManager } from "@mikro-orm/knex";

import Database from "better-sqlite3";

import { APP_CONFIG } from "../config/config.module";
import { AppConfig } from "../config/config.schema";

import { isSqlite } from "./migration-runner";
import {
  PG_WAL_FLUSH_SQL,
  isPgFlushUnavailable,
  PgWalFlush,
} from "./pg-wal-flush";
import { WalCheckpointer } from "./wal-checkpointer";
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

/** A better-sqlite3 connection: every statement runs synchronously, in microseconds, on the calling thread. */
type SqliteConnection = Database.Database;

/** Observes each hand-written SQLite statement's duration, in milliseconds. */
export type StatementObserver = (sql: string, durationMs: number) => void;

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
   * `synchronous=NORMAL` and PostgreSQL with `synchronous_commit = off`: the commit can be lost to a power
   * failure until the next durable commit, which syncs the write-ahead log up to and including it.
   */
  durable: boolean;
}

/** Most work items one group commit takes. */
const MAX_GROUP = 256;

/** Pause between two attempts to take SQLite's write lock while another connection holds it, in milliseconds. */
const LOCK_RETRY_MS = 2;

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
  private readOnly: SqliteConnection | null = null;
  private readonly statements = new WeakMap<
    SqliteConnection,
    Map<string, Database.Statement>
  >();
  private observer: StatementObserver | null = null;
  /** Started with the first write, once migrations have created the file; SQLite only. */
  private checkpointer: WalCheckpointer | null = null;
  private readonly queue: QueuedWork[] = [];
  private flushing = false;
  /** Flushes PostgreSQL's WAL for durable commits made without waiting for it; null on SQLite. */
  private readonly pgFlush: PgWalFlush | null;
  /** Whether the server can run the flush, learnt from the first durable commit; null until then. */
  private pgFlushUsable: boolean | null = null;
  private readonly logger = new Logger(WriteTransactionRunner.name);

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
    this.pgFlush = this.sqlite
      ? null
      : new PgWalFlush(() =>
          this.withConnection(async (tx) => {
            await tx.all(PG_WAL_FLUSH_SQL);
          }),
        );
  }

  async onApplicationShutdown(): Promise<void> {
    await this.walSync?.close();
    await this.checkpointer?.close();
    this.readOnly?.close();
    this.readOnly = null;
  }

  /** Sets the function that receives the duration of every hand-written SQLite statement; one at a time. */
  observeStatements(observer: StatementObserver | null): void {
    this.observer = observer;
  }

  /**
   * Runs `work` in a transaction of its own. A durable transaction on PostgreSQL commits without waiting for the
   * WAL flush, so its row locks are free for the next transaction at once, and then waits for a shared flush.
   */
  async run<T>(
    work: (tx: SqlTransaction) => Promise<T>,
    options: WriteOptions = { durable: true },
  ): Promise<T> {
    if (options.durable && (await this.canFlushPgLater())) {
      const result = await this.transact(work, false);
      await this.flushPg();
      return result;
    }

    const result = await this.transact(work, options.durable);
    if (options.durable && this.walSync) {
      await this.walSync.sync();
    }
    return result;
  }

  /** Whether the database is PostgreSQL, where {@link commitAlone} runs server-side functions. */
  get postgres(): boolean {
    return !this.sqlite;
  }

  /**
   * PostgreSQL only: runs one statement outside any explicit transaction, so it commits on its own in one round
   * trip. This method fills the statement's first placeholder with whether it may commit without waiting for the
   * WAL flush, and the functions called this way set `synchronous_commit` from it. A durable call then waits for
   * the shared flush, as {@link run} does.
   */
  async commitAlone<T>(
    sql: string,
    params: SqlParam[],
    options: WriteOptions,
  ): Promise<T[]> {
    if (this.sqlite) {
      throw new Error("commitAlone runs on PostgreSQL only");
    }

    const flushLater = options.durable && (await this.canFlushPgLater());
    let rows: T[];
    try {
      rows = await this.withConnection((tx) =>
        tx.all<T>(sql, [!options.durable || flushLater, ...params]),
      );
    } catch (error) {
      // A statement that finds its work already done (a request already recorded) reports it as an error. That
      // earlier commit may still be waiting for its flush, so the caller waits for one too.
      if (flushLater) {
        await this.flushPg();
      }
      throw error;
    }
    if (flushLater) {
      await this.flushPg();
    }
    return rows;
  }

  /** Runs a shared WAL flush; a server that starts refusing the statement gets synchronous commits from then on. */
  private async flushPg(): Promise<void> {
    try {
      await this.pgFlush!.flush();
    } catch (error) {
      if (isPgFlushUnavailable(error)) {
        this.pgFlushUsable = false;
      }
      throw error;
    }
  }

  /**
   * Returns whether durable PostgreSQL commits can leave the WAL flush to {@link PgWalFlush}. The first call runs
   * one flush to find out. A server that rejects the statement gets synchronous commits, as before. An outage
   * throws, and the next call checks again.
   */
  private async canFlushPgLater(): Promise<boolean> {
    if (!this.pgFlush) {
      return false;
    }
    if (this.pgFlushUsable === null) {
      try {
        await this.pgFlush.flush();
        this.pgFlushUsable = true;
      } catch (error) {
        if (!isPgFlushUnavailable(error)) {
          throw error;
        }
        this.pgFlushUsable = false;
        this.logger.warn({
          msg: "the database refuses pg_logical_emit_message; durable writes commit synchronously and hold their row locks until the WAL is flushed",
          err: error,
        });
      }
    }
    return this.pgFlushUsable;
  }

  /** Runs `work` in a transaction and commits it; a durable commit on SQLite still needs {@link WalSync.sync}. */
  private async transact<T>(
    work: (tx: SqlTransaction) => Promise<T>,
    durable: boolean,
  ): Promise<T> {
    return this.withConnection(async (tx, connection) => {
      await this.begin(tx, connection, durable);
      try {
        const value = await work(tx);
        await tx.run("commit");
        return value;
      } catch (error) {
        await tx.run("rollback").catch(() => undefined);
        throw error;
      }
    });
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

    this.readOnly ??= new Database(this.sqlitePath!, {
      readonly: true,
      fileMustExist: true,
      timeout: this.busyTimeoutMs,
    });
    return this.sqliteTransaction(this.readOnly).all<T>(sql, params);
  }

  /**
   * Commits queued work group by group. A group's durable items wait for the WAL sync on their own, so the next
   * group commits while the disk syncs the last one: an admission never waits behind a settlement's fsync.
   */
  private async flushQueue(): Promise<void> {
    while (this.queue.length > 0) {
      const group = this.queue.splice(0, MAX_GROUP);
      const durable = group.some((item) => item.durable);
      const outcomes: { ok: boolean; value: unknown }[] = [];

      try {
        await this.transact(async (tx) => {
          // Alone in its group, an item needs no savepoint: its failure rolls back a transaction of its own.
          if (group.length === 1) {
            outcomes.push({ ok: true, value: await group[0].work(tx) });
            return;
          }
          for (const item of group) {
            outcomes.push(await runUnderSavepoint(tx, item.work));
          }
        }, durable);
      } catch (error) {
        group.forEach((item) => item.reject(error));
        continue;
      }

      const settle = (item: QueuedWork, index: number) => {
        const outcome = outcomes[index];
        if (outcome.ok) {
          item.resolve(outcome.value);
        } else {
          item.reject(outcome.value);
        }
      };
      group.forEach((item, index) => {
        if (!item.durable || !this.walSync) {
          settle(item, index);
        }
      });
      if (durable && this.walSync) {
        this.walSync.sync().then(
          () =>
            group.forEach((item, index) => item.durable && settle(item, index)),
          (error: unknown) =>
            group.forEach((item) => item.durable && item.reject(error)),
        );
      }
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
      // A commit that need not be durable returns before PostgreSQL flushes its WAL record; the next durable
      // commit flushes the WAL up to and past it, as on SQLite. One round trip carries both statements.
      await tx.run(
        durable ? "begin" : "begin; set local synchronous_commit = off",
      );
      return;
    }

    // With a WAL syncer every commit runs at NORMAL, and durable ones are synced after the lock is released.
    const wanted = this.walSync || !durable ? "NORMAL" : this.fullSync;
    if ((this.syncMode.get(connection) ?? this.fullSync) !== wanted) {
      await tx.run(`pragma synchronous = ${wanted}`);
      this.syncMode.set(connection, wanted);
    }
    await this.beginImmediate(connection as SqliteConnection);
  }

  /**
   * Takes SQLite's write lock. The driver waits for a lock on the calling thread, which would stall every request
   * of the process. So the busy timeout is off for this statement, and this method retries every few milliseconds
   * until `database.busyTimeoutMs` has passed, then fails with SQLITE_BUSY.
   */
  private async beginImmediate(connection: SqliteConnection): Promise<void> {
    const deadline = performance.now() + this.busyTimeoutMs;
    // Prepared once: `Database.pragma` would compile the statement on every call.
    this.prepared(connection, "pragma busy_timeout = 0").get();
    try {
      for (;;) {
        try {
          this.prepared(connection, "begin immediate").run();
          return;
        } catch (error) {
          const code = (error as { code?: unknown }).code;
          if (code !== "SQLITE_BUSY" || performance.now() >= deadline) {
            throw error;
          }
        }
        await new Promise((resolve) => setTimeout(resolve, LOCK_RETRY_MS));
      }
    } finally {
      this.prepared(
        connection,
        `pragma busy_timeout = ${this.busyTimeoutMs}`,
      ).get();
    }
  }

  /** Returns the connection's prepared statement for `sql`, preparing it on first use. */
  private prepared(
    connection: SqliteConnection,
    sql: string,
  ): Database.Statement {
    let cache = this.statements.get(connection);
    if (!cache) {
      cache = new Map();
      this.statements.set(connection, cache);
    }
    let statement = cache.get(sql);
    if (!statement) {
      statement = connection.prepare(sql);
      cache.set(sql, statement);
    }
    return statement;
  }

  private sqliteTransaction(connection: SqliteConnection): SqlTransaction {
    const timed = <T>(sql: string, execute: () => T): T => {
      const started = performance.now();
      try {
        return execute();
      } finally {
        this.observer?.(sql, performance.now() - started);
      }
    };

    return {
      time: (value: Date) => value.getTime(),
      forUpdate: "",
      all: async <T>(sql: string, params: SqlParam[] = []) =>
        timed(
          sql,
          () =>
            this.prepared(connection, sql).all(toDriverParams(params)) as T[],
        ),
      run: async (sql: string, params: SqlParam[] = []) =>
        timed(
          sql,
          () =>
            this.prepared(connection, sql).run(toDriverParams(params)).changes,
        ),
    };
  }

  private async withConnection<T>(
    work: (tx: SqlTransaction, connection: object) => Promise<T>,
  ): Promise<T> {
    const client = this.knexClient();
    const connection = (await client.acquireConnection()) as object;
    if (this.sqlite && !this.checkpointer) {
      // From here on the worker checkpoints, so no commit on this thread copies the WAL into the database.
      (connection as SqliteConnection).pragma("wal_autocheckpoint = 0");
      this.checkpointer = new WalCheckpointer(this.sqlitePath!);
    }
    const tx = this.sqlite
      ? this.sqliteTransaction(connection as SqliteConnection)
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

/** Converts parameters to what better-sqlite3 binds: bigints as decimal text, booleans as 0/1, dates as epoch ms. */
function toDriverParams(params: SqlParam[]): unknown[] {
  return params.map((value) => {
    if (typeof value === "bigint") {
      return value.toString();
    }
    if (typeof value === "boolean") {
      return value ? 1 : 0;
    }
    if (value instanceof Date) {
      return value.getTime();
    }
    return value;
  });
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
