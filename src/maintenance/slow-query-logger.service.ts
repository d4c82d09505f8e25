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
import { WriteTransactionRunner } from "../database/write-transaction";
import { MetricsService } from "../metrics/metrics.service";
import { RecentSlowQueries } from "./recent-slow-queries";

/** Maximum length of a logged statement, in characters. */
const MAX_SQL_LENGTH = 1000;

/** At most this many slow statements are logged per minute; the rest are counted and summarised. */
const MAX_LINES_PER_MINUTE = 20;
const MINUTE_MS = 60_000;

/** Queries in flight are tracked by knex's query id; this bounds the map if a completion event never comes. */
const MAX_TRACKED_QUERIES = 10_000;

interface KnexQuery {
  __knexQueryUid?: string;
  sql?: string;
}

interface KnexEvents {
  on(event: string, listener: (...args: unknown[]) => void): void;
  removeListener(event: string, listener: (...args: unknown[]) => void): void;
}

/**
 * Logs statements slower than `database.slowQueryMs` with their duration. Literal values are replaced by `?`
 * before logging, because the ORM inlines bound parameters into the statement text and they may hold token
 * hashes.
 *
 * The ORM's statements are timed from knex's query events on both dialects. On SQLite, WriteTransactionRunner
 * times its hand-written statements itself, reads on its read-only connection included.
 */
// TODO: time WriteTransactionRunner's hand-written SQL on PostgreSQL, which uses pooled connections directly and
// so bypasses knex's query events.
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
    private readonly writes: WriteTransactionRunner,
    private readonly recent: RecentSlowQueries,
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
    this.watchKnex(knex);
    if (isSqlite(this.orm)) {
      this.writes.observeStatements((sql, ms) => this.observe(sql, ms));
      this.detach.push(() => this.writes.observeStatements(null));
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
    this.recent.add({
      at: new Date().toISOString(),
      durationMs: Math.round(durationMs),
      sql: redactSql(sql),
    });

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
