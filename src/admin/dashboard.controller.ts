import { Get, Query } from "@nestjs/common";
import { ApiOperation } from "@nestjs/swagger";
import { ZodResponse } from "nestjs-zod";

import { AdminRoute } from "../auth/admin-auth";
import { UserRole } from "../auth/entities/user.entity";
import { AdminController, ApiErrors } from "./admin-docs";
import { DashboardReportService } from "./dashboard-report.service";
import {
  DashboardRunwayQueryDto,
  DashboardRunwayResponseDto,
  DashboardTopQueryDto,
  DashboardTopResponseDto,
  toRunwayResponse,
  toTopResponse,
} from "./dto/dashboard.dto";

/** Summaries for the operators' dashboard that the usage routes do not give. */
@AdminController("dashboard", "dashboard")
export class DashboardController {
  constructor(private readonly reports: DashboardReportService) {}

  @Get("top")
  @AdminRoute(UserRole.Viewer)
  @ApiOperation({
    operationId: "getTopUsage",
    summary:
      "The clients or models with the highest cost between two UTC days, from the daily rollups",
  })
  @ZodResponse({ status: 200, type: DashboardTopResponseDto })
  @ApiErrors(400)
  async top(@Query() query: DashboardTopQueryDto) {
    return toTopResponse(await this.reports.top(query, query.by, query.limit));
  }

  @Get("credit-runway")
  @AdminRoute(UserRole.Viewer)
  @ApiOperation({
    operationId: "getCreditRunway",
    summary:
      "Each prepaid provider's available credit and the days it lasts at the recent daily spend",
  })
  @ZodResponse({ status: 200, type: DashboardRunwayResponseDto })
  @ApiErrors(400)
  async creditRunway(@Query() query: DashboardRunwayQueryDto) {
    return toRunwayResponse(
      query.windowDays,
      await this.reports.creditRunway(query.windowDays),
    );
  }
}
