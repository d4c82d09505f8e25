import { Body, Get, Param, Patch, Post } from "@nestjs/common";
import { ApiOperation } from "@nestjs/swagger";
import { ZodResponse } from "nestjs-zod";

import { AuditActor } from "../audit/audit";
import { AdminRoute } from "../auth/admin-auth";
import { UserRole } from "../auth/entities/user.entity";
import { ClientsService } from "../clients/clients.service";
import { ClientStatus } from "../clients/entities/client.entity";
import { AdminController, ApiErrors } from "./admin-docs";
import { Actor } from "./admin-request";
import {
  ClientCreateDto,
  ClientListResponseDto,
  ClientResponseDto,
  ClientUpdateDto,
  toClientResponse,
} from "./dto/client.dto";
import { ClientIdParams } from "./dto/common.dto";

/** Applications that call the proxy. */
@AdminController("clients", "clients")
export class ClientsController {
  constructor(private readonly clients: ClientsService) {}

  @Post()
  @AdminRoute(UserRole.Operator)
  @ApiOperation({
    operationId: "createClient",
    summary: "Create a client, optionally with limits",
  })
  @ZodResponse({ status: 201, type: ClientResponseDto })
  @ApiErrors(400, 409)
  async create(@Body() body: ClientCreateDto, @Actor() actor: AuditActor) {
    const { name, allowedModels, ...limits } = body;
    const client = await this.clients.create(
      name,
      allowedModels,
      actor,
      limits,
    );
    return toClientResponse(client);
  }

  @Get()
  @AdminRoute(UserRole.Viewer)
  @ApiOperation({
    operationId: "listClients",
    summary: "List clients with their running totals",
  })
  @ZodResponse({ status: 200, type: ClientListResponseDto })
  async list() {
    const clients = await this.clients.list();
    return { items: clients.map(toClientResponse) };
  }

  @Get(":clientId")
  @AdminRoute(UserRole.Viewer)
  @ApiOperation({
    operationId: "getClient",
    summary: "Get a client with its running totals",
  })
  @ZodResponse({ status: 200, type: ClientResponseDto })
  @ApiErrors(400, 404)
  async get(@Param() params: ClientIdParams) {
    return toClientResponse(await this.clients.get(params.clientId));
  }

  @Patch(":clientId")
  @AdminRoute(UserRole.Operator)
  @ApiOperation({
    operationId: "updateClient",
    summary: "Change a client's name, allowed models, status or limits",
  })
  @ZodResponse({ status: 200, type: ClientResponseDto })
  @ApiErrors(400, 404, 409)
  async update(
    @Param() params: ClientIdParams,
    @Body() body: ClientUpdateDto,
    @Actor() actor: AuditActor,
  ) {
    const client = await this.clients.update(params.clientId, body, actor);
    return toClientResponse(client);
  }

  @Post(":clientId/disable")
  @AdminRoute(UserRole.Operator)
  @ApiOperation({
    operationId: "disableClient",
    summary:
      "Disable a client: its tokens are refused at once here, on other replicas within proxy.lookupCacheMs",
  })
  @ZodResponse({ status: 200, type: ClientResponseDto })
  @ApiErrors(400, 404)
  async disable(@Param() params: ClientIdParams, @Actor() actor: AuditActor) {
    const client = await this.clients.update(
      params.clientId,
      { status: ClientStatus.Disabled },
      actor,
    );
    return toClientResponse(client);
  }
}
