import { Body, Get, Param, Post, Query } from "@nestjs/common";
import { ApiOperation } from "@nestjs/swagger";
import { ZodResponse } from "nestjs-zod";

import { AuditActor } from "../audit/audit";
import { AdminRoute } from "../auth/admin-auth";
import { UserRole } from "../auth/entities/user.entity";
import { BalanceTransactionKind } from "../billing/entities/balance-transaction.entity";
import { LedgerService } from "../billing/ledger.service";
import { ProvidersService } from "../providers/providers.service";
import { AdminController, ApiErrors } from "./admin-docs";
import { Actor, ledgerActor } from "./admin-request";
import { ProviderIdParams } from "./dto/common.dto";
import {
  AdjustmentCreateDto,
  LedgerEntryResponseDto,
  LedgerPageResponseDto,
  LedgerQueryDto,
  toBalanceChangeResponse,
  TopUpCreateDto,
  toLedgerResponse,
} from "./dto/ledger.dto";

/** Prepaid credit: top-ups, adjustments and the ledger of every balance change. */
@AdminController("", "credit")
export class LedgerController {
  constructor(
    private readonly providers: ProvidersService,
    private readonly ledger: LedgerService,
  ) {}

  @Post("providers/:providerId/top-ups")
  @AdminRoute(UserRole.Operator)
  @ApiOperation({
    operationId: "topUpProvider",
    summary: "Add prepaid credit; recorded in the ledger with who and why",
  })
  @ZodResponse({ status: 201, type: LedgerEntryResponseDto })
  @ApiErrors(400, 404, 409)
  async topUp(
    @Param() params: ProviderIdParams,
    @Body() body: TopUpCreateDto,
    @Actor() actor: AuditActor,
  ) {
    const entry = await this.providers.recordBalanceChange(
      {
        providerId: params.providerId,
        kind: BalanceTransactionKind.TopUp,
        amount: body.amount,
        note: body.note,
        actor: ledgerActor(actor),
      },
      actor,
    );
    return toBalanceChangeResponse(entry);
  }

  @Post("providers/:providerId/adjustments")
  @AdminRoute(UserRole.Admin)
  @ApiOperation({
    operationId: "adjustProviderBalance",
    summary:
      "Correct prepaid credit by a signed amount; recorded in the ledger with who and why",
  })
  @ZodResponse({ status: 201, type: LedgerEntryResponseDto })
  @ApiErrors(400, 404, 409)
  async adjust(
    @Param() params: ProviderIdParams,
    @Body() body: AdjustmentCreateDto,
    @Actor() actor: AuditActor,
  ) {
    const entry = await this.providers.recordBalanceChange(
      {
        providerId: params.providerId,
        kind: BalanceTransactionKind.Adjustment,
        amount: body.amount,
        note: body.note,
        actor: ledgerActor(actor),
      },
      actor,
    );
    return toBalanceChangeResponse(entry);
  }

  @Get("ledger")
  @AdminRoute(UserRole.Viewer)
  @ApiOperation({
    operationId: "listLedger",
    summary:
      "List balance changes newest first: top-ups, adjustments and request debits",
  })
  @ZodResponse({ status: 200, type: LedgerPageResponseDto })
  @ApiErrors(400)
  async list(@Query() query: LedgerQueryDto) {
    const page = await this.ledger.list(query);
    return {
      items: page.items.map(toLedgerResponse),
      nextCursor: page.nextCursor,
    };
  }
}
