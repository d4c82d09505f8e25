import { Injectable } from "@nestjs/common";
import { EntityManager } from "@mikro-orm/core";

import { AuditActor } from "../audit/audit";
import { AuditService } from "../audit/audit.service";
import { JobName } from "../maintenance/job";
import { JobRunner, RunReport } from "../maintenance/job-runner.service";

/** Starts maintenance jobs on request of a signed-in user, and records who started which run. */
@Injectable()
export class AdminJobsService {
  constructor(
    private readonly runner: JobRunner,
    private readonly audit: AuditService,
    private readonly em: EntityManager,
  ) {}

  /**
   * Runs a job now under its lease and waits for the outcome. The run records itself in `job_runs`; the audit
   * entry, written after it, names the run and who started it.
   */
  async runNow(
    job: JobName,
    timeBudgetMs: number | undefined,
    actor: AuditActor,
  ): Promise<RunReport> {
    const report = await this.runner.run(job, { tick: null, timeBudgetMs });

    const em = this.em.fork();
    this.audit.record(em, actor, {
      action: "job.run",
      entityType: "job",
      entityId: job,
      after:
        report.status === "skipped"
          ? { status: report.status, reason: report.reason }
          : {
              status: report.status,
              runId: report.runId,
              outcome: report.outcome,
              rowsAffected: report.rowsAffected,
            },
    });
    await em.flush();

    return report;
  }
}
