import { Module } from "@nestjs/common";

import { DatabaseHealthMetrics } from "./database-health.metrics";
import { JobScheduler } from "./job-scheduler.service";
import { MaintenanceCoreModule } from "./maintenance-core.module";
import { SlowQueryLogger } from "./slow-query-logger.service";

/**
 * Scheduled upkeep of the database in the server. Retention, ANALYZE and reconciliation run on their cron
 * schedules, each under a lease in `job_leases`, and each run is recorded in `job_runs`. The module also exports
 * Prometheus gauges of table rows and WAL size, and logs slow statements. Expired credit reservations are voided
 * by the billing module's sweeper.
 */
@Module({
  imports: [MaintenanceCoreModule],
  providers: [JobScheduler, DatabaseHealthMetrics, SlowQueryLogger],
  exports: [MaintenanceCoreModule],
})
export class MaintenanceModule {}
