import { createZodDto } from "nestjs-zod";
import { z } from "zod";

import { JobOutcome, JobRun } from "../../maintenance/entities/job-run.entity";
import { JOB_NAMES } from "../../maintenance/job";
import { RunReport } from "../../maintenance/job-runner.service";
import { JobStatus } from "../../maintenance/job-status.service";
import {
  isoOrNull,
  nextCursor,
  pageQuery,
  timestampOutput,
} from "./common.dto";

const jobName = z.enum(JOB_NAMES).meta({ example: "analyze" });

export class JobParams extends createZodDto(z.strictObject({ job: jobName })) {}

export class JobRunQueryDto extends createZodDto(
  z.strictObject({ job: jobName.optional(), ...pageQuery }),
) {}

export class JobRunStartDto extends createZodDto(
  z.strictObject({
    timeBudgetMs: z.number().int().positive().max(3_600_000).optional().meta({
      description:
        "Stop at the next batch after this many milliseconds; default: the job's configured budget",
      example: 60000,
    }),
  }),
) {}

/** Parses a run's detail column, a JSON summary written by the runner. */
function detailOf(text: string | null): Record<string, unknown> | null {
  if (text === null) {
    return null;
  }
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return { message: text };
  }
}

const runSchema = z.object({
  id: z.number().int().meta({ example: 31 }),
  job: z.string().meta({ example: "analyze" }),
  startedAt: timestampOutput,
  finishedAt: timestampOutput.nullable(),
  outcome: z.enum(JobOutcome).meta({ example: "succeeded" }),
  rowsAffected: z.number().int().meta({ example: 0 }),
  detail: z
    .looseObject({})
    .meta({
      description: "The run's summary, or its error message",
      example: { complete: true },
    })
    .nullable(),
});

export class JobRunPageResponseDto extends createZodDto(
  z.object({ items: z.array(runSchema), nextCursor }),
) {}

export class JobStatusListResponseDto extends createZodDto(
  z.object({
    items: z.array(
      z.object({
        job: jobName,
        enabled: z.boolean(),
        cron: z.string().meta({ example: "0 3 * * *" }),
        timeBudgetMs: z.number().int().meta({ example: 600000 }),
        nextRunAt: timestampOutput.nullable(),
        lease: z
          .object({
            holder: z
              .string()
              .meta({ example: "web-1:4242:9f3a1c2d" })
              .nullable(),
            expiresAt: timestampOutput,
            lastTickAt: timestampOutput.nullable(),
          })
          .nullable(),
        lastRun: runSchema.nullable(),
      }),
    ),
  }),
) {}

export class JobRunReportResponseDto extends createZodDto(
  z.object({
    status: z.enum(["finished", "skipped"]).meta({
      description: "skipped when another run has the job's lease",
      example: "finished",
    }),
    job: jobName,
    runId: z.number().int().meta({ example: 32 }).nullable(),
    outcome: z.enum(JobOutcome).meta({ example: "succeeded" }).nullable(),
    complete: z.boolean().nullable(),
    rowsAffected: z.number().int().meta({ example: 0 }).nullable(),
    reason: z
      .string()
      .meta({
        description: "Why the job did not run",
        example: null,
      })
      .nullable(),
    detail: z.looseObject({}).nullable(),
  }),
) {}

export class DatabaseHealthResponseDto extends createZodDto(
  z
    .object({
      dialect: z.enum(["sqlite", "postgresql"]),
      tables: z.array(
        z.object({
          table: z.string().meta({ example: "llm_requests" }),
          rows: z.number().int().meta({ example: 120000 }),
          rowsEstimated: z.boolean(),
          bytes: z.number().int().meta({ example: 52428800 }).nullable(),
          lastAnalyzedAt: z.string().nullable(),
        }),
      ),
      indexes: z.array(
        z.object({
          table: z.string(),
          index: z.string(),
          scans: z.number().int().nullable(),
          tuplesRead: z.number().int().nullable(),
          bytes: z.number().int().nullable(),
        }),
      ),
      indexUsageNote: z.string().nullable(),
      lastAnalyzeJobAt: z.string().nullable(),
      wal: z.object({
        bytes: z.number().int().nullable(),
        lsn: z.string().nullable(),
        note: z.string().nullable(),
      }),
      pool: z
        .object({
          used: z.number().int(),
          free: z.number().int(),
          pendingAcquires: z.number().int(),
          max: z.number().int(),
        })
        .nullable(),
      slowQueryMs: z.number().int().meta({ example: 500 }),
      slowQueries: z
        .array(
          z.object({
            at: z.string().meta({ example: "2026-12-04T10:15:00.000Z" }),
            durationMs: z.number().int().meta({ example: 812 }),
            sql: z.string().meta({
              example: "select count(*) from llm_requests where created_at < ?",
            }),
          }),
        )
        .meta({
          description:
            "The last 50 statements slower than slowQueryMs that this replica saw, newest first, with literal values replaced by ?",
        }),
    })
    .meta({
      description:
        "Table sizes, index usage, the last ANALYZE, WAL size and connection pool",
    }),
) {}

export function toRunResponse(run: JobRun) {
  return {
    id: run.id,
    job: run.job,
    startedAt: run.startedAt.toISOString(),
    finishedAt: isoOrNull(run.finishedAt),
    outcome: run.outcome,
    rowsAffected: run.rowsAffected,
    detail: detailOf(run.detail),
  };
}

export function toJobStatusResponse(status: JobStatus) {
  return {
    job: status.job,
    enabled: status.enabled,
    cron: status.cron,
    timeBudgetMs: status.timeBudgetMs,
    nextRunAt: isoOrNull(status.nextRunAt),
    lease: status.lease && {
      holder: status.lease.holder,
      expiresAt: status.lease.expiresAt.toISOString(),
      lastTickAt: isoOrNull(status.lease.lastTickAt),
    },
    lastRun: status.lastRun && toRunResponse(status.lastRun),
  };
}

export function toRunReportResponse(report: RunReport) {
  if (report.status === "skipped") {
    return {
      status: report.status,
      job: report.job,
      runId: null,
      outcome: null,
      complete: null,
      rowsAffected: null,
      reason: report.reason,
      detail: null,
    };
  }
  return {
    status: report.status,
    job: report.job,
    runId: report.runId,
    outcome: report.outcome,
    complete: report.complete,
    rowsAffected: report.rowsAffected,
    reason: null,
    detail: report.detail,
  };
}
