import { DatabaseHealthReport } from "./database-health.service";
import { RunReport } from "./job-runner.service";
import { JobStatus } from "./job-status.service";

/** Formats `db health` for a terminal. */
export function formatHealth(report: DatabaseHealthReport): string[] {
  const lines = [`dialect\t${report.dialect}`, "tables"];
  for (const table of report.tables) {
    const rows = table.rowsEstimated ? `~${table.rows}` : String(table.rows);
    lines.push(
      `  ${table.table}\trows=${rows}\tbytes=${table.bytes ?? "unknown"}` +
        (table.lastAnalyzedAt ? `\tanalyzed=${table.lastAnalyzedAt}` : ""),
    );
  }

  lines.push("indexes");
  if (report.indexUsageNote) {
    lines.push(`  (${report.indexUsageNote})`);
  }
  for (const index of report.indexes) {
    lines.push(
      `  ${index.table}.${index.index}\tscans=${index.scans ?? "-"}\ttuples_read=${index.tuplesRead ?? "-"}\t` +
        `bytes=${index.bytes ?? "unknown"}`,
    );
  }

  lines.push(
    `last analyze job\t${report.lastAnalyzeJobAt ?? "never completed"}`,
  );
  lines.push(
    `wal\tbytes=${report.wal.bytes ?? "unknown"}` +
      (report.wal.lsn ? `\tlsn=${report.wal.lsn}` : "") +
      (report.wal.note ? `\t(${report.wal.note})` : ""),
  );
  lines.push(
    report.pool
      ? `pool\tused=${report.pool.used}\tfree=${report.pool.free}\tpending=${report.pool.pendingAcquires}\tmax=${report.pool.max}`
      : "pool\tnot available",
  );
  lines.push(`slow statement threshold\t${report.slowQueryMs} ms`);
  return lines;
}

/** Formats the line of `jobs list` for one job. */
export function formatJobStatus(status: JobStatus): string {
  const schedule = status.enabled
    ? `cron="${status.cron}" UTC\tnext=${status.nextRunAt?.toISOString()}`
    : "disabled";
  const lease =
    status.lease?.holder && status.lease.expiresAt > new Date()
      ? `held by ${status.lease.holder} until ${status.lease.expiresAt.toISOString()}`
      : "free";
  const run = status.lastRun;
  const last = run
    ? `last run ${run.id} started ${run.startedAt.toISOString()}: ${run.outcome}, ${run.rowsAffected} rows`
    : "never run";

  return `${status.job}\t${schedule}\tbudget=${status.timeBudgetMs} ms\tlease ${lease}\t${last}`;
}

/** Formats `jobs run` for a terminal: the outcome, then the run's detail as JSON. */
export function formatRunReport(report: RunReport): string[] {
  if (report.status === "skipped") {
    return [`job ${report.job} not run: ${report.reason}`];
  }
  return [
    `job ${report.job} run ${report.runId}: ${report.outcome}, ${report.complete ? "complete" : "stopped before finishing"}, ` +
      `${report.rowsAffected} rows affected`,
    JSON.stringify(report.detail, null, 2),
  ];
}
