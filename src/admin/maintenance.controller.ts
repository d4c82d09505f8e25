import { Body, Get, Param, Post, Query } from "@nestjs/common";
import { ApiOperation } from "@nestjs/swagger";
import { ZodResponse } from "nestjs-zod";

import { AuditActor } from "../audit/audit";
import { AdminRoute } from "../auth/admin-auth";
import { UserRole } from "../auth/entities/user.entity";
import { DatabaseHealthService } from "../maintenance/database-health.service";
import { JobStatusService } from "../maintenance/job-status.service";
import { AdminController, ApiErrors } from "./admin-docs";
import { Actor } from "./admin-request";
import { AdminJobsService } from "./admin-jobs.service";
import {
  DatabaseHealthResponseDto,
  JobParams,
  JobRunPageResponseDto,
  JobRunQueryDto,
  JobRunReportResponseDto,
  JobRunStartDto,
  JobStatusListResponseDto,
  toJobStatusResponse,
  toRunReportResponse,
  toRunResponse,
} from "./dto/maintenance.dto";

/** Maintenance jobs and the database's health. */
@AdminController("", "maintenance")
export class MaintenanceController {
  constructor(
    private readonly statuses: JobStatusService,
    private readonly jobs: AdminJobsService,
    private readonly health: DatabaseHealthService,
  ) {}

  @Get("jobs")
  @AdminRoute(UserRole.Viewer)
  @ApiOperation({
    operationId: "listJobs",
    summary: "Each maintenance job's schedule, lease and latest run",
  })
  @ZodResponse({ status: 200, type: JobStatusListResponseDto })
  async list() {
    const statuses = await this.statuses.list();
    return { items: statuses.map(toJobStatusResponse) };
  }

  @Get("jobs/runs")
  @AdminRoute(UserRole.Viewer)
  @ApiOperation({
    operationId: "listJobRuns",
    summary: "List job runs newest first",
  })
  @ZodResponse({ status: 200, type: JobRunPageResponseDto })
  @ApiErrors(400)
  async runs(@Query() query: JobRunQueryDto) {
    const page = await this.statuses.runs(query);
    return {
      items: page.items.map(toRunResponse),
      nextCursor: page.nextCursor,
    };
  }

  @Post("jobs/:job/run")
  @AdminRoute(UserRole.Operator)
  @ApiOperation({
    operationId: "runJob",
    summary:
      "Run a job now and wait for it; skipped when another run holds its lease",
  })
  @ZodResponse({ status: 200, type: JobRunReportResponseDto })
  @ApiErrors(400)
  async run(
    @Param() params: JobParams,
    @Body() body: JobRunStartDto,
    @Actor() actor: AuditActor,
  ) {
    const report = await this.jobs.runNow(params.job, body.timeBudgetMs, actor);
    return toRunReportResponse(report);
  }

  @Get("database/health")
  @AdminRoute(UserRole.Viewer)
  @ApiOperation({
    operationId: "getDatabaseHealth",
    summary:
      "Table sizes and row counts, index usage, the last ANALYZE, WAL size and connection pool",
  })
  @ZodResponse({ status: 200, type: DatabaseHealthResponseDto })
  async databaseHealth() {
    return this.health.report();
  }
}
