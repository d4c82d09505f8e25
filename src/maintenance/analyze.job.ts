import { Injectable } from "@nestjs/common";
import { MikroORM } from "@mikro-orm/core";
import { EntityManager as SqlEntityManager } from "@mikro-orm/knex";

import { isSqlite } from "../database/migration-runner";
import { WriteTransactionRunner } from "../database/write-transaction";
import { JobContext, JobResult, MaintenanceJob } from "./job";
import { projectTables, quoteIdentifier } from "./project-tables";

/**
 * Rows SQLite samples per index during ANALYZE and `PRAGMA optimize`. ANALYZE holds the write lock while it
 * scans, so a full scan of a large table would stall metering; SQLite's documentation suggests 100 to 1000.
 */
const SQLITE_ANALYSIS_LIMIT = 1000;

/** SQLite's `auto_vacuum` values. */
const AUTO_VACUUM_MODES = ["none", "full", "incremental"] as const;

/**
 * Keeps the query planner's statistics current. SQLite: truncates the WAL with a checkpoint, returns free pages
 * with `incremental_vacuum` (only when `auto_vacuum` is incremental), then runs `PRAGMA optimize` and ANALYZE.
 * PostgreSQL: ANALYZE of each of the project's tables. ANALYZE comes last, so a complete successful run means
 * the statistics were refreshed when it finished; the database health report reads that time.
 */
@Injectable()
export class AnalyzeJob implements MaintenanceJob {
  readonly name = "analyze" as const;
  private readonly sqlite: boolean;

  constructor(
    private readonly orm: MikroORM,
    private readonly db: WriteTransactionRunner,
  ) {
    this.sqlite = isSqlite(orm);
  }

  async run(context: JobContext): Promise<JobResult> {
    return this.sqlite ? this.runSqlite(context) : this.runPostgres(context);
  }

  /**
   * Runs on the pool's connection through the run's ORM context: checkpoints and ANALYZE write, so they cannot
   * use the read-only connection of {@link WriteTransactionRunner.read}, and a checkpoint cannot run inside a
   * transaction.
   */
  private async runSqlite(context: JobContext): Promise<JobResult> {
    const connection = (context.em as SqlEntityManager).getConnection();
    const execute = <T>(sql: string) => connection.execute<T[]>(sql);

    const [checkpoint] = await execute<{
      busy: number;
      log: number;
      checkpointed: number;
    }>("pragma wal_checkpoint(TRUNCATE)");
    // busy = 1 means a reader (the command-line tool, another process) kept the WAL from being truncated.
    context.note("walCheckpoint", checkpoint ?? null);

    const [{ auto_vacuum: mode }] = await execute<{ auto_vacuum: number }>(
      "pragma auto_vacuum",
    );
    const autoVacuum = AUTO_VACUUM_MODES[mode] ?? String(mode);
    if (autoVacuum === "incremental") {
      const freePages = async () =>
        (await execute<{ freelist_count: number }>("pragma freelist_count"))[0]
          .freelist_count;
      const before = await freePages();
      await execute("pragma incremental_vacuum");
      context.note("incrementalVacuum", {
        freedPages: before - (await freePages()),
      });
    } else {
      context.note(
        "incrementalVacuum",
        `skipped: auto_vacuum is ${autoVacuum}, so there are no free pages to return incrementally`,
      );
    }

    if (context.signal.aborted) {
      return { complete: false };
    }

    await execute(`pragma analysis_limit = ${SQLITE_ANALYSIS_LIMIT}`);
    try {
      await execute("pragma optimize");
      await execute("analyze");
    } finally {
      await execute("pragma analysis_limit = 0");
    }
    context.note("analyzed", "all tables");
    context.note("analysisLimit", SQLITE_ANALYSIS_LIMIT);

    return { complete: true };
  }

  private async runPostgres(context: JobContext): Promise<JobResult> {
    const analyzed: string[] = [];
    context.note("analyzed", analyzed);

    for (const table of projectTables(this.orm)) {
      if (context.signal.aborted) {
        return { complete: false };
      }
      await this.db.read(`analyze ${quoteIdentifier(table)}`);
      analyzed.push(table);
    }

    return { complete: true };
  }
}
