import { Get, Query } from "@nestjs/common";
import { ApiOperation } from "@nestjs/swagger";
import { ZodResponse } from "nestjs-zod";

import { AdminRoute } from "../auth/admin-auth";
import { UserRole } from "../auth/entities/user.entity";
import { RequestLogService } from "../billing/request-log.service";
import { AdminController, ApiErrors } from "./admin-docs";
import {
  RequestLogPageResponseDto,
  RequestLogQueryDto,
  toRequestLogResponse,
} from "./dto/request-log.dto";

/** The log of requests that reached a provider. */
@AdminController("requests", "request log")
export class RequestLogController {
  constructor(private readonly requests: RequestLogService) {}

  @Get()
  @AdminRoute(UserRole.Viewer)
  @ApiOperation({
    operationId: "listRequests",
    summary:
      "List requests newest first, filtered by client, provider, model, status and time",
  })
  @ZodResponse({ status: 200, type: RequestLogPageResponseDto })
  @ApiErrors(400)
  async list(@Query() query: RequestLogQueryDto) {
    const page = await this.requests.list(query);
    return {
      items: page.items.map(toRequestLogResponse),
      nextCursor: page.nextCursor,
    };
  }
}
