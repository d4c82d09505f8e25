import { EntityManager } from "@mikro-orm/core";

/** Names of the maintenance jobs, as used in `maintenance.jobs.<name>` and on the command line. */
export const JOB_NAMES = ["retention", "analyze", "reconcile"] as const;

export type JobName = (typeof JOB_NAMES)[number];

export function isJobName(value: string): value is JobName {
  return (JOB_NAMES as readonly string[]).includes(value);
}

/**
 * Run state passed to a job. The job records progress as it goes, so a run that fails or is stopped still
 * reports what it changed before that.
 */
export interface JobContext {
  /** Id of the run's row in `job_runs`. */
  readonly runId: number;
  /** Time the run started, from the injected clock. */
  readonly startedAt: Date;
  /** ORM context of this run alone. */
  readonly em: EntityManager;
  /** Aborted when the time budget is spent, the lease was lost or the process is shutting down. */
  readonly signal: AbortSignal;
  /** Adds to the rows the run changed. */
  countRows(rows: number): void;
  /** Sets one entry of the run's summary, stored as JSON in `job_runs.detail`; never pass secrets. */
  note(key: string, value: unknown): void;
}

/** Outcome of a run that did not throw. */
export interface JobResult {
  /** False when the run stopped early and left work for the next run. */
  complete: boolean;
}

/** One maintenance task. A run must leave the database consistent wherever it stops. */
export interface MaintenanceJob {
  readonly name: JobName;
  run(context: JobContext): Promise<JobResult>;
}

/** Injection token for the list of every {@link MaintenanceJob}. */
export const MAINTENANCE_JOBS = Symbol("MAINTENANCE_JOBS");
