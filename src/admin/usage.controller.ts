import { Get, Query } from "@nestjs/common";
import { ApiOperation } from "@nestjs/swagger";
import { ZodResponse } from "nestjs-zod";

import { AdminRoute } from "../auth/admin-auth";
import { UserRole } from "../auth/entities/user.entity";
import { UsageReportService } from "../billing/usage-report.service";
import { AdminController, ApiErrors } from "./admin-docs";
import {
  ErrorRateQueryDto,
  ErrorRateResponseDto,
  toErrorRateResponse,
  toSeriesResponse,
  toTodayResponse,
  UsageSeriesQueryDto,
  UsageSeriesResponseDto,
  UsageTodayQueryDto,
  UsageTodayResponseDto,
} from "./dto/usage.dto";

/** Usage reports: daily series and today's totals from the rollups, error rates from the request rows. */
@AdminController("usage", "usage")
export class UsageController {
  constructor(private readonly reports: UsageReportService) {}

  @Get("daily")
  @AdminRoute(UserRole.Viewer)
  @ApiOperation({
    operationId: "getDailyUsage",
    summary:
      "Usage per UTC day, by client, provider and model, over a range of at most 366 days",
    description:
      "Reads the daily rollups, which outlive the request rows that retention deletes. Days and combinations without requests are left out.",
  })
  @ZodResponse({ status: 200, type: UsageSeriesResponseDto })
  @ApiErrors(400)
  async daily(@Query() query: UsageSeriesQueryDto) {
    const points = await this.reports.daily(query, query, query.groupBy);
    return toSeriesResponse(points);
  }

  @Get("today")
  @AdminRoute(UserRole.Viewer)
  @ApiOperation({
    operationId: "getTodayUsage",
    summary: "Totals of the current UTC day",
  })
  @ZodResponse({ status: 200, type: UsageTodayResponseDto })
  @ApiErrors(400)
  async today(@Query() query: UsageTodayQueryDto) {
    const now = new Date();
    return toTodayResponse(await this.reports.today(query, now), now);
  }

  @Get("errors")
  @AdminRoute(UserRole.Viewer)
  @ApiOperation({
    operationId: "getErrorRates",
    summary:
      "Requests by status and error class over a range of at most 31 days",
  })
  @ZodResponse({ status: 200, type: ErrorRateResponseDto })
  @ApiErrors(400)
  async errors(@Query() query: ErrorRateQueryDto) {
    return toErrorRateResponse(await this.reports.errorRates(query, query));
  }
}
