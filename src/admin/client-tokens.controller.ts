import { Body, Get, Param, Post } from "@nestjs/common";
import { ApiOperation } from "@nestjs/swagger";
import { ZodResponse } from "nestjs-zod";

import { AuditActor } from "../audit/audit";
import { AdminRoute } from "../auth/admin-auth";
import { UserRole } from "../auth/entities/user.entity";
import { ClientsService } from "../clients/clients.service";
import { AdminController, ApiErrors } from "./admin-docs";
import { Actor } from "./admin-request";
import {
  ClientTokenCreateDto,
  ClientTokenIssuedResponseDto,
  ClientTokenListResponseDto,
  ClientTokenResponseDto,
  ClientTokenRotateDto,
  ClientTokenRotatedResponseDto,
  toIssuedResponse,
  toRotatedResponse,
  toTokenResponse,
} from "./dto/client-token.dto";
import { ClientIdParams, TokenParams } from "./dto/common.dto";

/** Bearer tokens of a client. A full token appears once, in the response that issues it. */
@AdminController("clients/:clientId/tokens", "client tokens")
export class ClientTokensController {
  constructor(private readonly clients: ClientsService) {}

  @Post()
  @AdminRoute(UserRole.Operator)
  @ApiOperation({
    operationId: "issueClientToken",
    summary: "Issue a token; the full token is in this response only",
  })
  @ZodResponse({ status: 201, type: ClientTokenIssuedResponseDto })
  @ApiErrors(400, 404)
  async issue(
    @Param() params: ClientIdParams,
    @Body() body: ClientTokenCreateDto,
    @Actor() actor: AuditActor,
  ) {
    const issued = await this.clients.issueToken(
      params.clientId,
      body.name,
      body.expiresAt,
      actor,
    );
    return toIssuedResponse(issued);
  }

  @Get()
  @AdminRoute(UserRole.Viewer)
  @ApiOperation({
    operationId: "listClientTokens",
    summary:
      "List a client's tokens by display prefix, with expiry and last use",
  })
  @ZodResponse({ status: 200, type: ClientTokenListResponseDto })
  @ApiErrors(400, 404)
  async list(@Param() params: ClientIdParams) {
    await this.clients.get(params.clientId);
    const tokens = await this.clients.listTokens(params.clientId);
    return { items: tokens.map((token) => toTokenResponse(token)) };
  }

  @Post(":tokenId/revoke")
  @AdminRoute(UserRole.Operator)
  @ApiOperation({
    operationId: "revokeClientToken",
    summary:
      "Revoke a token; this replica refuses it at once, others within proxy.lookupCacheMs",
  })
  @ZodResponse({ status: 200, type: ClientTokenResponseDto })
  @ApiErrors(400, 404)
  async revoke(@Param() params: TokenParams, @Actor() actor: AuditActor) {
    const token = await this.clients.revokeClientToken(
      params.clientId,
      params.tokenId,
      actor,
    );
    return toTokenResponse(token);
  }

  @Post(":tokenId/rotate")
  @AdminRoute(UserRole.Operator)
  @ApiOperation({
    operationId: "rotateClientToken",
    summary:
      "Issue a replacement token; the old one keeps working for the overlap window, then expires",
  })
  @ZodResponse({ status: 201, type: ClientTokenRotatedResponseDto })
  @ApiErrors(400, 404, 409)
  async rotate(
    @Param() params: TokenParams,
    @Body() body: ClientTokenRotateDto,
    @Actor() actor: AuditActor,
  ) {
    const rotated = await this.clients.rotateToken(
      params.clientId,
      params.tokenId,
      { overlapMs: body.overlapSeconds * 1000, expiresAt: body.expiresAt },
      actor,
    );
    return toRotatedResponse(rotated);
  }
}
