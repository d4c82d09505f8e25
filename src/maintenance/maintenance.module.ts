import { Module } from "@nestjs/common";

/** Scheduled upkeep of the database. Runs are recorded in `job_runs`, created by the initial migration. */
// TODO: retention, ANALYZE and reconciliation jobs with database leases; expired credit reservations are
// already voided by the billing module's sweeper.
@Module({})
export class MaintenanceModule {}
