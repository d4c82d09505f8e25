import { randomBytes } from "node:crypto";
import { hostname } from "node:os";

import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
} from "@nestjs/common";
import { EntityManager, MikroORM } from "@mikro-orm/core";

import { APP_CONFIG } from "../config/config.module";
import { AppConfig } from "../config/config.schema";
import { Clock } from "./clock";
import { JobOutcome, JobRun } from "./entities/job-run.entity";
import { JobContext, JobName, MAINTENANCE_JOBS, MaintenanceJob } from "./job";
import { JobLeaseService } from "./job-lease.service";

/** Largest value of the `job_runs.rows_affected` column, a signed 32-bit integer on PostgreSQL. */
const MAX_ROWS_AFFECTED = 2_147_483_647;

/** Maximum length of the error message kept in a run's detail. */
const MAX_ERROR_LENGTH = 500;

export interface RunRequest {
  /** Scheduled time of the cron tick that started the run; null for a run started by hand. */
  tick: Date | null;
  /** Overrides the job's configured `timeBudgetMs`. */
  timeBudgetMs?: number;
}

export type RunReport =
  | { status: "skipped"; job: JobName; reason: string }
  | {
      status: "finished";
      job: JobName;
      runId: number;
      outcome: JobOutcome;
      complete: boolean;
      rowsAffected: number;
      detail: Record<string, unknown>;
    };

/**
 * Runs maintenance jobs under their lease: takes the lease, records the run in `job_runs`, renews the lease while
 * the job works, stops the job at its time budget, and releases the lease at the end. Each run gets its own ORM
 * context.
 */
@Injectable()
export class JobRunner implements BeforeApplicationShutdown {
  private readonly logger = new Logger(JobRunner.name);
  /** Identifies this process in `job_leases`; random so two app instances in one process differ. */
  readonly holder = `${hostname()}:${process.pid}:${randomBytes(4).toString("hex")}`;
  private readonly jobs: Map<JobName, MaintenanceJob>;
  private readonly running = new Map<
    JobName,
    { controller: AbortController; done: Promise<RunReport> }
  >();
  private shuttingDown = false;

  constructor(
    private readonly orm: MikroORM,
    private readonly leases: JobLeaseService,
    private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(MAINTENANCE_JOBS) jobs: MaintenanceJob[],
  ) {
    this.jobs = new Map(jobs.map((job) => [job.name, job]));
  }

  /** Runs a job now if its lease is free; returns `skipped` when another run holds it. */
  async run(name: JobName, request: RunRequest): Promise<RunReport> {
    const job = this.jobs.get(name);
    if (!job) {
      throw new Error(`No maintenance job named '${name}'`);
    }
    if (this.shuttingDown) {
      return {
        status: "skipped",
        job: name,
        reason: "the process is stopping",
      };
    }
    if (this.running.has(name)) {
      return {
        status: "skipped",
        job: name,
        reason: "a run is already in progress in this process",
      };
    }

    const acquired = await this.leases.acquire({
      job: name,
      holder: this.holder,
      now: this.clock.now(),
      ttlMs: this.config.maintenance.leaseTtlMs,
      tick: request.tick,
    });
    if (!acquired) {
      this.logger.debug({
        msg: "job lease held elsewhere or tick already run; skipping",
        job: name,
        tick: request.tick?.toISOString() ?? null,
      });
      return {
        status: "skipped",
        job: name,
        reason: request.tick
          ? "another process holds the lease or already ran this tick"
          : "another process holds the lease",
      };
    }

    const controller = new AbortController();
    const done = this.runLeased(job, request, controller);
    this.running.set(name, { controller, done });
    try {
      return await done;
    } finally {
      this.running.delete(name);
    }
  }

  /** Stops running jobs at their next batch and waits for them, while the database is still open. */
  async beforeApplicationShutdown(): Promise<void> {
    this.shuttingDown = true;
    const runs = [...this.running.values()];
    for (const run of runs) {
      run.controller.abort("the process is stopping");
    }
    await Promise.allSettled(runs.map((run) => run.done));
  }

  private async runLeased(
    job: MaintenanceJob,
    request: RunRequest,
    controller: AbortController,
  ): Promise<RunReport> {
    const em = this.orm.em.fork();
    const startedAt = this.clock.now();
    const budgetMs =
      request.timeBudgetMs ??
      this.config.maintenance.jobs[job.name].timeBudgetMs;
    const detail: Record<string, unknown> = {
      holder: this.holder,
      tick: request.tick?.toISOString() ?? null,
      timeBudgetMs: budgetMs,
    };
    let rowsAffected = 0;

    const run = await this.startRun(em, job.name, startedAt).catch(
      async (error: unknown) => {
        await this.releaseLease(job.name);
        throw error;
      },
    );
    this.logger.log({
      msg: "job started",
      job: job.name,
      runId: run.id,
      tick: detail.tick,
    });

    const budget = setTimeout(
      () => controller.abort(`time budget of ${budgetMs} ms spent`),
      budgetMs,
    );
    const ttlMs = this.config.maintenance.leaseTtlMs;
    const renewal = setInterval(
      () => void this.renew(job.name, controller),
      Math.floor(ttlMs / 3),
    );

    const context: JobContext = {
      runId: run.id,
      startedAt,
      em,
      signal: controller.signal,
      countRows: (rows) => {
        rowsAffected += rows;
      },
      note: (key, value) => {
        detail[key] = value;
      },
    };

    let outcome: JobOutcome;
    let complete = false;
    try {
      ({ complete } = await job.run(context));
      outcome = JobOutcome.Succeeded;
    } catch (error) {
      outcome = JobOutcome.Failed;
      detail.error = describeError(error);
      this.logger.error({
        msg: "job failed",
        job: job.name,
        runId: run.id,
        err: error,
      });
    } finally {
      clearTimeout(budget);
      clearInterval(renewal);
    }

    detail.complete = complete;
    if (!complete && controller.signal.aborted) {
      detail.stoppedBy = String(controller.signal.reason);
    }

    await this.finishRun(em, run, outcome, rowsAffected, detail);
    await this.releaseLease(job.name);

    this.logger.log({
      msg: "job finished",
      job: job.name,
      runId: run.id,
      outcome,
      complete,
      rowsAffected,
      durationMs: this.clock.now().getTime() - startedAt.getTime(),
      stoppedBy: detail.stoppedBy,
    });

    return {
      status: "finished",
      job: job.name,
      runId: run.id,
      outcome,
      complete,
      rowsAffected,
      detail,
    };
  }

  /**
   * Records the run. Rows of this job still marked running belong to a process that lost the lease without
   * finishing (killed, or stalled past its lease), so they are closed as failed first.
   */
  private async startRun(
    em: EntityManager,
    job: JobName,
    startedAt: Date,
  ): Promise<JobRun> {
    const abandoned = await em.nativeUpdate(
      JobRun,
      { job, outcome: JobOutcome.Running },
      {
        outcome: JobOutcome.Failed,
        finishedAt: startedAt,
        detail: JSON.stringify({
          error:
            "abandoned: the process running it stopped or lost its lease before recording an outcome",
        }),
      },
    );
    if (abandoned > 0) {
      this.logger.warn({
        msg: "closed runs abandoned by another process",
        job,
        count: abandoned,
      });
    }

    const run = em.create(JobRun, { job, startedAt });
    await em.flush();
    return run;
  }

  private async finishRun(
    em: EntityManager,
    run: JobRun,
    outcome: JobOutcome,
    rowsAffected: number,
    detail: Record<string, unknown>,
  ): Promise<void> {
    run.finishedAt = this.clock.now();
    run.outcome = outcome;
    run.rowsAffected = Math.min(rowsAffected, MAX_ROWS_AFFECTED);
    run.detail = JSON.stringify(detail);

    try {
      await em.flush();
    } catch (error) {
      this.logger.error({
        msg: "could not record the end of a job run; it stays marked running until the next run closes it",
        job: run.job,
        runId: run.id,
        err: error,
      });
    }
  }

  private async releaseLease(job: JobName): Promise<void> {
    try {
      await this.leases.release(job, this.holder, this.clock.now());
    } catch (error) {
      this.logger.warn({
        msg: "could not release job lease; it expires on its own",
        job,
        err: error,
      });
    }
  }

  private async renew(
    job: JobName,
    controller: AbortController,
  ): Promise<void> {
    try {
      const stillHeld = await this.leases.renew(
        job,
        this.holder,
        this.clock.now(),
        this.config.maintenance.leaseTtlMs,
      );
      if (!stillHeld) {
        this.logger.warn({
          msg: "job lease expired and was taken by another process; stopping the run",
          job,
        });
        controller.abort("the lease was lost to another process");
      }
    } catch (error) {
      this.logger.warn({
        msg: "could not renew job lease; retrying at the next renewal",
        job,
        err: error,
      });
    }
  }
}

function describeError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.length > MAX_ERROR_LENGTH
    ? `${message.slice(0, MAX_ERROR_LENGTH)}...`
    : message;
}
