import { Body, Get, Param, Patch, Post, Query } from "@nestjs/common";
import { ApiOperation } from "@nestjs/swagger";
import { ZodResponse } from "nestjs-zod";

import { AuditActor } from "../audit/audit";
import { AdminRoute } from "../auth/admin-auth";
import { UserRole } from "../auth/entities/user.entity";
import { ProvidersService } from "../providers/providers.service";
import { AdminController, ApiErrors } from "./admin-docs";
import { Actor } from "./admin-request";
import { ModelIdParams } from "./dto/common.dto";
import {
  ModelCreateDto,
  ModelCreateResponseDto,
  ModelListQueryDto,
  ModelListResponseDto,
  ModelResponseDto,
  ModelUpdateDto,
  toModelCreateResponse,
  toModelResponse,
} from "./dto/model.dto";

/** Models served by providers, with their prices in USD per million tokens. */
@AdminController("models", "models")
export class ModelsController {
  constructor(private readonly providers: ProvidersService) {}

  @Post()
  @AdminRoute(UserRole.Admin)
  @ApiOperation({
    operationId: "createModel",
    summary:
      "Serve a model through a provider; prices left out come from the price catalog",
  })
  @ZodResponse({ status: 201, type: ModelCreateResponseDto })
  @ApiErrors(400, 404, 409)
  async create(@Body() body: ModelCreateDto, @Actor() actor: AuditActor) {
    const created = await this.providers.addModelWithSource(body, actor);
    return toModelCreateResponse(created);
  }

  @Get()
  @AdminRoute(UserRole.Viewer)
  @ApiOperation({
    operationId: "listModels",
    summary:
      "List model configs with their providers, prices and routing, optionally of one public name",
  })
  @ZodResponse({ status: 200, type: ModelListResponseDto })
  @ApiErrors(400)
  async list(@Query() query: ModelListQueryDto) {
    const models = await this.providers.listModels(
      query.providerId,
      query.publicName,
    );
    return { items: models.map(toModelResponse) };
  }

  @Get(":modelId")
  @AdminRoute(UserRole.Viewer)
  @ApiOperation({
    operationId: "getModel",
    summary: "Get a model config and its prices",
  })
  @ZodResponse({ status: 200, type: ModelResponseDto })
  @ApiErrors(400, 404)
  async get(@Param() params: ModelIdParams) {
    return toModelResponse(await this.providers.getModel(params.modelId));
  }

  @Patch(":modelId")
  @AdminRoute(UserRole.Admin)
  @ApiOperation({
    operationId: "updateModel",
    summary:
      "Change a model's upstream name, prices, limits, routing or availability",
  })
  @ZodResponse({ status: 200, type: ModelResponseDto })
  @ApiErrors(400, 404)
  async update(
    @Param() params: ModelIdParams,
    @Body() body: ModelUpdateDto,
    @Actor() actor: AuditActor,
  ) {
    const model = await this.providers.updateModel(params.modelId, body, actor);
    return toModelResponse(model);
  }
}
