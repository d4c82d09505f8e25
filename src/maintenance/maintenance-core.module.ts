import { Module } from "@nestjs/common";

import { AnalyzeJob } from "./analyze.job";
import { Clock } from "./clock";
import { DatabaseHealthService } from "./database-health.service";
import { MAINTENANCE_JOBS, MaintenanceJob } from "./job";
import { JobLeaseService } from "./job-lease.service";
import { JobRunner } from "./job-runner.service";
import { JobStatusService } from "./job-status.service";
import { DriftFinder } from "./reconciliation/drift-finder.service";
import { DriftRepairer } from "./reconciliation/drift-repairer.service";
import { RecentSlowQueries } from "./recent-slow-queries";
import { ReconcileJob } from "./reconciliation/reconcile.job";
import { RetentionJob } from "./retention/retention.job";

/**
 * The maintenance jobs, their runner and the database health report, without any schedule: the command-line
 * tool runs jobs by hand through this module. Needs the database and metrics modules.
 */
@Module({
  providers: [
    Clock,
    JobLeaseService,
    JobRunner,
    JobStatusService,
    DatabaseHealthService,
    RecentSlowQueries,
    RetentionJob,
    AnalyzeJob,
    DriftFinder,
    DriftRepairer,
    ReconcileJob,
    {
      provide: MAINTENANCE_JOBS,
      useFactory: (...jobs: MaintenanceJob[]) => jobs,
      inject: [RetentionJob, AnalyzeJob, ReconcileJob],
    },
  ],
  exports: [
    Clock,
    JobRunner,
    JobStatusService,
    DatabaseHealthService,
    RecentSlowQueries,
  ],
})
export class MaintenanceCoreModule {}
