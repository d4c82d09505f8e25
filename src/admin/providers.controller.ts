import { Body, Get, Param, Patch, Post, Put } from "@nestjs/common";
import { ApiOperation } from "@nestjs/swagger";
import { ZodResponse } from "nestjs-zod";

import { AuditActor } from "../audit/audit";
import { AdminRoute } from "../auth/admin-auth";
import { UserRole } from "../auth/entities/user.entity";
import { ProvidersService } from "../providers/providers.service";
import { AdminController, ApiErrors } from "./admin-docs";
import { Actor } from "./admin-request";
import { ProviderIdParams } from "./dto/common.dto";
import {
  ProviderCreateDto,
  ProviderKeyDto,
  ProviderListResponseDto,
  ProviderResponseDto,
  ProviderUpdateDto,
  toProviderResponse,
} from "./dto/provider.dto";

/** Upstream APIs, their sealed keys and billing modes. */
@AdminController("providers", "providers")
export class ProvidersController {
  constructor(private readonly providers: ProvidersService) {}

  @Post()
  @AdminRoute(UserRole.Operator)
  @ApiOperation({
    operationId: "createProvider",
    summary: "Create a provider; its API key is sealed and never returned",
  })
  @ZodResponse({ status: 201, type: ProviderResponseDto })
  @ApiErrors(400, 409)
  async create(@Body() body: ProviderCreateDto, @Actor() actor: AuditActor) {
    return toProviderResponse(await this.providers.create(body, actor));
  }

  @Get()
  @AdminRoute(UserRole.Viewer)
  @ApiOperation({
    operationId: "listProviders",
    summary: "List providers with their balances",
  })
  @ZodResponse({ status: 200, type: ProviderListResponseDto })
  async list() {
    const providers = await this.providers.list();
    return { items: providers.map(toProviderResponse) };
  }

  @Get(":providerId")
  @AdminRoute(UserRole.Viewer)
  @ApiOperation({
    operationId: "getProvider",
    summary: "Get a provider with its balance",
  })
  @ZodResponse({ status: 200, type: ProviderResponseDto })
  @ApiErrors(400, 404)
  async get(@Param() params: ProviderIdParams) {
    return toProviderResponse(await this.providers.get(params.providerId));
  }

  @Patch(":providerId")
  @AdminRoute(UserRole.Operator)
  @ApiOperation({
    operationId: "updateProvider",
    summary:
      "Change a provider's name, base URL, API version, timeouts, billing mode, stream options or availability",
  })
  @ZodResponse({ status: 200, type: ProviderResponseDto })
  @ApiErrors(400, 404, 409)
  async update(
    @Param() params: ProviderIdParams,
    @Body() body: ProviderUpdateDto,
    @Actor() actor: AuditActor,
  ) {
    const provider = await this.providers.update(
      params.providerId,
      body,
      actor,
    );
    return toProviderResponse(provider);
  }

  @Put(":providerId/api-key")
  @AdminRoute(UserRole.Operator)
  @ApiOperation({
    operationId: "setProviderApiKey",
    summary:
      "Set or rotate a provider's API key; only its last four characters are ever shown",
  })
  @ZodResponse({ status: 200, type: ProviderResponseDto })
  @ApiErrors(400, 404)
  async setApiKey(
    @Param() params: ProviderIdParams,
    @Body() body: ProviderKeyDto,
    @Actor() actor: AuditActor,
  ) {
    const provider = await this.providers.setApiKey(
      params.providerId,
      body.apiKey,
      actor,
    );
    return toProviderResponse(provider);
  }
}
