import {
  Check,
  Entity,
  Enum,
  Index,
  Opt,
  PrimaryKey,
  Property,
} from "@mikro-orm/core";

export enum JobOutcome {
  Running = "running",
  Succeeded = "succeeded",
  Failed = "failed",
}

/** One run of a maintenance job. */
@Entity({ tableName: "job_runs" })
@Index({ name: "job_runs_job_time_idx", properties: ["job", "startedAt"] })
@Check({ name: "job_runs_rows_check", expression: "rows_affected >= 0" })
export class JobRun {
  @PrimaryKey({ type: "integer", autoincrement: true })
  id!: number;

  @Property({ type: "string", length: 64 })
  job!: string;

  @Property({ type: "datetime" })
  startedAt!: Date;

  @Property({ type: "datetime", nullable: true })
  finishedAt: Date | null = null;

  @Enum({ items: () => JobOutcome, default: JobOutcome.Running })
  outcome: JobOutcome & Opt = JobOutcome.Running;

  @Property({ type: "integer", default: 0 })
  rowsAffected: number & Opt = 0;

  /** Error message or summary; never contains secrets. */
  @Property({ type: "text", nullable: true })
  detail: string | null = null;
}
