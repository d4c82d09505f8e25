import { Get, Query } from "@nestjs/common";
import { ApiOperation } from "@nestjs/swagger";
import { ZodResponse } from "nestjs-zod";

import { AuditService } from "../audit/audit.service";
import { AdminRoute } from "../auth/admin-auth";
import { UserRole } from "../auth/entities/user.entity";
import { AdminController, ApiErrors } from "./admin-docs";
import {
  AuditPageResponseDto,
  AuditQueryDto,
  toAuditResponse,
} from "./dto/audit.dto";

/** The audit trail of changes made through the admin API. */
@AdminController("audit", "audit")
export class AuditController {
  constructor(private readonly audit: AuditService) {}

  @Get()
  @AdminRoute(UserRole.Admin)
  @ApiOperation({
    operationId: "listAuditEntries",
    summary:
      "List admin changes newest first, with who, when, what, and the entity before and after",
  })
  @ZodResponse({ status: 200, type: AuditPageResponseDto })
  @ApiErrors(400)
  async list(@Query() query: AuditQueryDto) {
    const page = await this.audit.list(query);
    return {
      items: page.items.map(toAuditResponse),
      nextCursor: page.nextCursor,
    };
  }
}
