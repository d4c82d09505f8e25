import { Inject, Injectable } from "@nestjs/common";
import { FilterQuery, MikroORM } from "@mikro-orm/core";
import { CronTime } from "cron";

import { decodeCursor, Page, toPage } from "../common/pagination";
import { APP_CONFIG } from "../config/config.module";
import { AppConfig } from "../config/config.schema";
import { JobRun } from "./entities/job-run.entity";
import { JOB_NAMES, JobName } from "./job";
import { JobLeaseService, LeaseState } from "./job-lease.service";

export interface JobStatus {
  job: JobName;
  enabled: boolean;
  cron: string;
  timeBudgetMs: number;
  /** Next scheduled start (UTC); null when the job is disabled. */
  nextRunAt: Date | null;
  lease: LeaseState | null;
  lastRun: JobRun | null;
}

export interface JobRunFilter {
  job?: JobName;
  cursor?: string;
  limit: number;
}

/** Each job's schedule, lease and latest run, and the run history, for operators. */
@Injectable()
export class JobStatusService {
  constructor(
    private readonly orm: MikroORM,
    private readonly leases: JobLeaseService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async list(): Promise<JobStatus[]> {
    const em = this.orm.em.fork();
    const leases = new Map(
      (await this.leases.list()).map((lease) => [lease.job, lease]),
    );

    const statuses: JobStatus[] = [];
    for (const job of JOB_NAMES) {
      const settings = this.config.maintenance.jobs[job];
      const [lastRun] = await em.find(
        JobRun,
        { job },
        { orderBy: { startedAt: "desc", id: "desc" }, limit: 1 },
      );
      statuses.push({
        job,
        enabled: settings.enabled,
        cron: settings.cron,
        timeBudgetMs: settings.timeBudgetMs,
        nextRunAt: settings.enabled
          ? new CronTime(settings.cron, "UTC").sendAt().toJSDate()
          : null,
        lease: leases.get(job) ?? null,
        lastRun: lastRun ?? null,
      });
    }
    return statuses;
  }

  /** Lists the run history, newest first. */
  async runs(filter: JobRunFilter): Promise<Page<JobRun>> {
    const where: FilterQuery<JobRun> = {};
    if (filter.job) {
      where.job = filter.job;
    }
    if (filter.cursor) {
      where.id = { $lt: decodeCursor(filter.cursor).id };
    }

    const rows = await this.orm.em.fork().find(JobRun, where, {
      orderBy: { id: "desc" },
      limit: filter.limit + 1,
    });
    return toPage(rows, filter.limit, (run) => ({ id: run.id }));
  }
}
