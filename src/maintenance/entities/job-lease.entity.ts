import { Entity, PrimaryKey, Property } from "@mikro-orm/core";

/**
 * The right to run one maintenance job, held by one process at a time until `expiresAt`. A holder renews it
 * while the job runs and clears `holder` when the run ends, so another replica may take it once it is released
 * or has expired.
 */
@Entity({ tableName: "job_leases" })
export class JobLease {
  @PrimaryKey({ type: "string", length: 64 })
  job!: string;

  /** Process that holds the lease (`host:pid:random`); null once released. */
  @Property({ type: "string", length: 200, nullable: true })
  holder: string | null = null;

  @Property({ type: "datetime" })
  expiresAt!: Date;

  /** Scheduled time of the latest cron tick that started a run, so replicas run each tick once. */
  @Property({ type: "datetime", nullable: true })
  lastTickAt: Date | null = null;
}
