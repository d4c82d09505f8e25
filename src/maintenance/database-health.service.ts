import { statSync } from "node:fs";

import { Inject, Injectable } from "@nestjs/common";
import { MikroORM } from "@mikro-orm/core";
import { EntityManager } from "@mikro-orm/knex";

import { APP_CONFIG } from "../config/config.module";
import { AppConfig } from "../config/config.schema";
import { isSqlite } from "../database/migration-runner";
import {
  readTime,
  WriteTransactionRunner,
} from "../database/write-transaction";
import { JobOutcome, JobRun } from "./entities/job-run.entity";
import { projectTables, quoteIdentifier } from "./project-tables";
import { RecentSlowQueries, SlowQuery } from "./recent-slow-queries";

/** Below this many estimated rows a PostgreSQL table is counted exactly; above it the estimate is reported. */
const EXACT_COUNT_LIMIT = 100_000;

/** How many recent runs of the analyze job are searched for the last complete one. */
const ANALYZE_RUNS_SEARCHED = 20;

export interface TableHealth {
  table: string;
  rows: number;
  /** True when `rows` is PostgreSQL's statistics estimate rather than a count. */
  rowsEstimated: boolean;
  /** Bytes on disk; on PostgreSQL with indexes and TOAST, on SQLite the table's own pages. Null when unknown. */
  bytes: number | null;
  /** Last ANALYZE of this table, by hand or by autovacuum; PostgreSQL only. */
  lastAnalyzedAt: string | null;
}

export interface IndexHealth {
  table: string;
  index: string;
  /** Index scans since statistics were last reset; null where the database keeps no such statistics. */
  scans: number | null;
  tuplesRead: number | null;
  bytes: number | null;
}

export interface WalHealth {
  bytes: number | null;
  /** PostgreSQL's current write-ahead log position. */
  lsn: string | null;
  note: string | null;
}

export interface PoolHealth {
  used: number;
  free: number;
  pendingAcquires: number;
  max: number;
}

export interface DatabaseHealthReport {
  dialect: "sqlite" | "postgresql";
  tables: TableHealth[];
  indexes: IndexHealth[];
  indexUsageNote: string | null;
  /** End of the last complete, successful run of the analyze job, ISO 8601; null if it never ran. */
  lastAnalyzeJobAt: string | null;
  wal: WalHealth;
  pool: PoolHealth | null;
  slowQueryMs: number;
  /** The last slow statements this process saw, newest first. */
  slowQueries: SlowQuery[];
}

interface KnexPool {
  numUsed(): number;
  numFree(): number;
  numPendingAcquires(): number;
  max: number;
}

/**
 * The database's state for operators: table sizes and row counts, index usage, the last ANALYZE, the size of the
 * write-ahead log and the connection pool. Read-only; every query reads catalog or statistics views, or counts
 * rows of the project's tables.
 */
@Injectable()
export class DatabaseHealthService {
  private readonly sqlite: boolean;

  constructor(
    private readonly orm: MikroORM,
    private readonly db: WriteTransactionRunner,
    private readonly recent: RecentSlowQueries,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.sqlite = isSqlite(orm);
  }

  async report(): Promise<DatabaseHealthReport> {
    return {
      dialect: this.sqlite ? "sqlite" : "postgresql",
      tables: await this.tables(),
      indexes: await this.indexes(),
      indexUsageNote: this.sqlite
        ? "SQLite keeps no index usage statistics; the indexes are listed without them"
        : null,
      lastAnalyzeJobAt: await this.lastAnalyzeJobAt(),
      wal: await this.wal(),
      pool: this.pool(),
      slowQueryMs: this.config.database.slowQueryMs,
      slowQueries: this.recent.list(),
    };
  }

  async tables(): Promise<TableHealth[]> {
    return this.sqlite ? this.sqliteTables() : this.postgresTables();
  }

  async indexes(): Promise<IndexHealth[]> {
    if (!this.sqlite) {
      const rows = await this.db.read<{
        table: string;
        index: string;
        scans: string | number;
        tuples_read: string | number;
        bytes: string | number;
      }>(
        `select relname as "table", indexrelname as "index", idx_scan as scans, idx_tup_read as tuples_read,
           pg_relation_size(indexrelid) as bytes
         from pg_stat_user_indexes where schemaname = current_schema() order by relname, indexrelname`,
      );
      return rows.map((row) => ({
        table: row.table,
        index: row.index,
        scans: Number(row.scans),
        tuplesRead: Number(row.tuples_read),
        bytes: Number(row.bytes),
      }));
    }

    const tables = new Set(projectTables(this.orm));
    const sizes = await this.sqlitePageBytes();
    const rows = await this.db.read<{ index: string; table: string }>(
      `select name as "index", tbl_name as "table" from sqlite_master where type = 'index' order by tbl_name, name`,
    );
    return rows
      .filter((row) => tables.has(row.table))
      .map((row) => ({
        table: row.table,
        index: row.index,
        scans: null,
        tuplesRead: null,
        bytes: sizes?.get(row.index) ?? null,
      }));
  }

  async wal(): Promise<WalHealth> {
    if (this.sqlite) {
      const path = `${this.orm.config.get("dbName")}-wal`;
      try {
        return { bytes: statSync(path).size, lsn: null, note: null };
      } catch {
        return {
          bytes: 0,
          lsn: null,
          note: "no WAL file: nothing written since the last checkpoint",
        };
      }
    }

    let lsn: string | null = null;
    const notes: string[] = [];
    try {
      const [row] = await this.db.read<{ lsn: string }>(
        "select pg_current_wal_lsn()::text as lsn",
      );
      lsn = row.lsn;
    } catch (error) {
      notes.push(`WAL position not available: ${messageOf(error)}`);
    }

    let bytes: number | null = null;
    try {
      const [row] = await this.db.read<{ bytes: string | number }>(
        "select coalesce(sum(size), 0) as bytes from pg_ls_waldir()",
      );
      bytes = Number(row.bytes);
    } catch (error) {
      // pg_ls_waldir() needs superuser or the pg_monitor role.
      notes.push(
        `WAL size not available (needs the pg_monitor role): ${messageOf(error)}`,
      );
    }

    return { bytes, lsn, note: notes.length > 0 ? notes.join("; ") : null };
  }

  async lastAnalyzeJobAt(): Promise<string | null> {
    const runs = await this.orm.em
      .fork()
      .find(
        JobRun,
        { job: "analyze", outcome: JobOutcome.Succeeded },
        { orderBy: { startedAt: "desc" }, limit: ANALYZE_RUNS_SEARCHED },
      );
    const complete = runs.find(
      (run) => parseDetail(run.detail).complete === true,
    );
    return complete?.finishedAt?.toISOString() ?? null;
  }

  pool(): PoolHealth | null {
    const knex = (this.orm.em as EntityManager).getConnection().getKnex();
    const pool = (knex.client as { pool?: KnexPool }).pool;
    if (!pool) {
      return null;
    }
    return {
      used: pool.numUsed(),
      free: pool.numFree(),
      pendingAcquires: pool.numPendingAcquires(),
      max: pool.max,
    };
  }

  private async sqliteTables(): Promise<TableHealth[]> {
    const sizes = await this.sqlitePageBytes();
    const result: TableHealth[] = [];
    for (const table of projectTables(this.orm)) {
      const [row] = await this.db.read<{ rows: number }>(
        `select count(*) as rows from ${quoteIdentifier(table)}`,
      );
      result.push({
        table,
        rows: Number(row.rows),
        rowsEstimated: false,
        bytes: sizes?.get(table) ?? null,
        lastAnalyzedAt: null,
      });
    }
    return result;
  }

  /** Bytes per table and index from the `dbstat` virtual table, or null when SQLite was built without it. */
  private async sqlitePageBytes(): Promise<Map<string, number> | null> {
    try {
      const rows = await this.db.read<{ name: string; bytes: number }>(
        "select name, sum(pgsize) as bytes from dbstat group by name",
      );
      return new Map(rows.map((row) => [row.name, Number(row.bytes)]));
    } catch {
      return null;
    }
  }

  private async postgresTables(): Promise<TableHealth[]> {
    const known = new Set(projectTables(this.orm));
    const rows = await this.db.read<{
      table: string;
      estimate: string | number;
      bytes: string | number;
      last_analyze: string | Date | null;
      last_autoanalyze: string | Date | null;
    }>(
      `select relname as "table", n_live_tup as estimate, pg_total_relation_size(relid) as bytes, last_analyze,
         last_autoanalyze
       from pg_stat_user_tables where schemaname = current_schema() order by relname`,
    );

    const result: TableHealth[] = [];
    for (const row of rows.filter((candidate) => known.has(candidate.table))) {
      const estimate = Number(row.estimate);
      let rows = estimate;
      if (estimate < EXACT_COUNT_LIMIT) {
        const [counted] = await this.db.read<{ rows: string | number }>(
          `select count(*) as rows from ${quoteIdentifier(row.table)}`,
        );
        rows = Number(counted.rows);
      }
      result.push({
        table: row.table,
        rows,
        rowsEstimated: estimate >= EXACT_COUNT_LIMIT,
        bytes: Number(row.bytes),
        lastAnalyzedAt: latest(row.last_analyze, row.last_autoanalyze),
      });
    }
    return result;
  }
}

function latest(...values: (string | Date | null)[]): string | null {
  const times = values
    .filter((value): value is string | Date => value !== null)
    .map((value) => readTime(value).getTime());
  return times.length > 0 ? new Date(Math.max(...times)).toISOString() : null;
}

function parseDetail(detail: string | null): Record<string, unknown> {
  if (!detail) {
    return {};
  }
  try {
    return JSON.parse(detail) as Record<string, unknown>;
  } catch {
    return {};
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
