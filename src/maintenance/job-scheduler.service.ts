import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
} from "@nestjs/common";
import { SchedulerRegistry } from "@nestjs/schedule";
import { CronJob } from "cron";

import { APP_CONFIG } from "../config/config.module";
import { AppConfig } from "../config/config.schema";
import { JOB_NAMES, JobName } from "./job";
import { JobRunner } from "./job-runner.service";

/** Cron jobs are registered in the SchedulerRegistry under this prefix and the job name. */
export const CRON_PREFIX = "maintenance:";

/**
 * Schedules every enabled maintenance job with its cron expression, in UTC. Every replica schedules every job;
 * the lease and the tick recorded with it make one replica run each tick.
 */
@Injectable()
export class JobScheduler
  implements OnApplicationBootstrap, BeforeApplicationShutdown
{
  private readonly logger = new Logger(JobScheduler.name);
  /** Scheduled time of each job's next tick, which identifies the tick when its timer fires. */
  private readonly nextTicks = new Map<JobName, Date>();

  constructor(
    private readonly registry: SchedulerRegistry,
    private readonly runner: JobRunner,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    for (const name of JOB_NAMES) {
      const settings = this.config.maintenance.jobs[name];
      if (!settings.enabled) {
        this.logger.log({ msg: "maintenance job disabled", job: name });
        continue;
      }

      const job: CronJob = CronJob.from({
        cronTime: settings.cron,
        timeZone: "UTC",
        onTick: (): Promise<void> => this.onTick(name, job),
      });
      this.registry.addCronJob(`${CRON_PREFIX}${name}`, job);
      job.start();
      this.nextTicks.set(name, job.nextDate().toJSDate());
      this.logger.log({
        msg: "maintenance job scheduled",
        job: name,
        cron: settings.cron,
        next: this.nextTicks.get(name)?.toISOString(),
      });
    }
  }

  /** Stops the timers before the runner stops the jobs in progress. */
  beforeApplicationShutdown(): void {
    for (const name of this.nextTicks.keys()) {
      const key = `${CRON_PREFIX}${name}`;
      if (this.registry.doesExist("cron", key)) {
        void this.registry.getCronJob(key).stop();
        this.registry.deleteCronJob(key);
      }
    }
    this.nextTicks.clear();
  }

  /**
   * Runs the job for the tick that fired. The cron package (4.x) restarts its timer before calling back, so
   * `nextDate()` already returns the following tick, and the tick that fired is the one stored before. Every tick
   * calls back, even while a run is in progress (the runner then skips it), so the stored tick stays current.
   */
  private async onTick(name: JobName, job: CronJob): Promise<void> {
    const tick = this.nextTicks.get(name) ?? new Date();
    this.nextTicks.set(name, job.nextDate().toJSDate());

    try {
      await this.runner.run(name, { tick });
    } catch (error) {
      this.logger.error({
        msg: "scheduled maintenance job failed to start",
        job: name,
        tick: tick.toISOString(),
        err: error,
      });
    }
  }
}
