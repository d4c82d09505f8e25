import { performance } from "node:perf_hooks";

import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnApplicationShutdown,
} from "@nestjs/common";
import { MikroORM } from "@mikro-orm/core";
import { EntityManager } from "@mikro-orm/knex";
import { Counter } from "prom-client";

import { APP_CONFIG } from "../config/config.module";
import { AppConfig } from "../config/config.schema";
import { isSqlite } from "../database/migration-runner";
import { MetricsService } from "../metrics/metrics.service";

/** Maximum length of a logged statement, in characters. */
const MAX_SQL_LENGTH = 1000;

/** At most this many slow statements are logged per minute; the rest are counted and summarised. */
const MAX_LINES_PER_MINUTE = 20;
const MINUTE_MS = 60_000;

/** Queries in flight are tracked by knex's query id; this bounds the map if a completion event never comes. */
const MAX_TRACKED_QUERIES = 10_000;

interface ProfiledConnection {
  on(event: "profile", listener: (sql: string, ms: number) => void): void;
  removeListener(
    event: "profile",
    listener: (sql: string, ms: number) => void,
  ): void;
}

interface KnexQuery {
  __knexQueryUid?: string;
  sql?: string;
}

interface KnexEvents {
  on(event: string, listener: (...args: unknown[]) => void): void;
  removeListener(event: string, listener: (...args: unknown[]) => void): void;
  client: {
    pool?: {
      on(
        event: "createSuccess",
        listener: (id: number, resource: unknown) => void,
      ): void;
    };
    acquireConnection(): Promise<unknown>;
    releaseConnection(connection: unknown): Promise<void>;
  };
}

/**
 * Logs statements slower than `database.slowQueryMs` with their duration. Literal values are replaced by `?`
 * before logging, because the ORM inlines bound parameters into the statement text and they may hold token
 * hashes.
 *
 * On SQLite, the pool's connection times each of its statements with its profile hook, hand-written writes
 * included.
 * PostgreSQL statements are timed from knex's query events, which the ORM's statements pass through.
 */
// TODO: time the statements that bypass these hooks: WriteTransactionRunner's hand-written SQL on PostgreSQL,
// which uses pooled connections directly, and its reads on SQLite, which use a read-only connection of its own.
@Injectable()
export class SlowQueryLogger
  implements OnApplicationBootstrap, OnApplicationShutdown
{
  private readonly logger = new Logger(SlowQueryLogger.name);
  private readonly thresholdMs: number;
  private readonly slowStatements: Counter;
  private readonly detach: (() => void)[] = [];
  private windowStartedAt = 0;
  private loggedInWindow = 0;
  private suppressedInWindow = 0;

  constructor(
    private readonly orm: MikroORM,
    metrics: MetricsService,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.thresholdMs = config.database.slowQueryMs;
    this.slowStatements = new Counter({
      name: "llmp_db_slow_statements_total",
      help: "Database statements slower than database.slowQueryMs",
      registers: [metrics.registry],
    });
  }

  async onApplicationBootstrap(): Promise<void> {
    const knex = (this.orm.em as EntityManager)
      .getConnection()
      .getKnex() as unknown as KnexEvents;
    if (isSqlite(this.orm)) {
      await this.watchSqlite(knex);
    } else {
      this.watchKnex(knex);
    }
  }

  onApplicationShutdown(): void {
    for (const undo of this.detach.splice(0)) {
      undo();
    }
  }

  /** Records one statement's duration; logs it when it is slow. */
  observe(sql: string, durationMs: number): void {
    if (durationMs < this.thresholdMs) {
      return;
    }
    this.slowStatements.inc();

    const now = Date.now();
    if (now - this.windowStartedAt >= MINUTE_MS) {
      if (this.suppressedInWindow > 0) {
        this.logger.warn({
          msg: "slow database statements not logged in the last minute",
          count: this.suppressedInWindow,
        });
      }
      this.windowStartedAt = now;
      this.loggedInWindow = 0;
      this.suppressedInWindow = 0;
    }
    if (this.loggedInWindow >= MAX_LINES_PER_MINUTE) {
      this.suppressedInWindow += 1;
      return;
    }

    this.loggedInWindow += 1;
    this.logger.warn({
      msg: "slow database statement",
      durationMs: Math.round(durationMs),
      thresholdMs: this.thresholdMs,
      sql: redactSql(sql),
    });
  }

  /** Watches the pool's connection now and any connection the pool opens later. */
  private async watchSqlite(knex: KnexEvents): Promise<void> {
    const watched = new WeakSet<object>();
    const watch = (resource: unknown) => {
      const connection = resource as ProfiledConnection;
      if (watched.has(connection)) {
        return;
      }
      watched.add(connection);
      const listener = (sql: string, ms: number) => this.observe(sql, ms);
      connection.on("profile", listener);
      this.detach.push(() => connection.removeListener("profile", listener));
    };

    knex.client.pool?.on("createSuccess", (_id, resource) => watch(resource));
    const current = await knex.client.acquireConnection();
    try {
      watch(current);
    } finally {
      await knex.client.releaseConnection(current);
    }
  }

  private watchKnex(knex: KnexEvents): void {
    const started = new Map<string, number>();

    const onQuery = (...args: unknown[]) => {
      const query = args[0] as KnexQuery;
      if (!query.__knexQueryUid) {
        return;
      }
      if (started.size >= MAX_TRACKED_QUERIES) {
        started.delete(started.keys().next().value as string);
      }
      started.set(query.__knexQueryUid, performance.now());
    };
    const onDone = (...args: unknown[]) => {
      const query = args[1] as KnexQuery;
      const startedAt = query.__knexQueryUid
        ? started.get(query.__knexQueryUid)
        : undefined;
      if (startedAt === undefined) {
        return;
      }
      started.delete(query.__knexQueryUid!);
      this.observe(query.sql ?? "", performance.now() - startedAt);
    };

    knex.on("query", onQuery);
    knex.on("query-response", onDone);
    knex.on("query-error", onDone);
    this.detach.push(() => {
      knex.removeListener("query", onQuery);
      knex.removeListener("query-response", onDone);
      knex.removeListener("query-error", onDone);
    });
  }
}

/**
 * Replaces string, blob and number literals with `?` and collapses whitespace, so a logged statement carries no
 * values. Numbers inside identifiers (`cache_write_1h_price`) and placeholders (`$1`) are kept.
 */
export function redactSql(sql: string): string {
  return sql
    .replace(/(?:\b[EeXx])?'(?:[^']|'')*'/g, "?")
    .replace(/(?<![\w$."])\d+(?:\.\d+)?(?:[eE][+-]?\d+)?\b/g, "?")
    .replace(/\s+/g, " ")
    .trim()
    .slice(0, MAX_SQL_LENGTH);
}
