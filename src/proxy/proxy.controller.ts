import {
  Body,
  Controller,
  Get,
  HttpCode,
  Post,
  Req,
  Res,
  UseGuards,
} from "@nestjs/common";
import { ApiBearerAuth, ApiOperation, ApiTags } from "@nestjs/swagger";
import { FastifyReply } from "fastify";

import {
  AuthenticatedRequest,
  ClientTokenGuard,
} from "../clients/client-token.guard";
import { rejectedRequestId } from "../common/request-id";
import { invalidRequest } from "../common/proxy-error";
import { ChatCompletionsService } from "./chat-completions.service";
import { ModelsService, ModelList } from "./models.service";
import { ChatCompletionsDocs, ListModelsDocs } from "./openai/openapi";

/** OpenAI-compatible endpoints for applications holding a client token. */
@ApiTags("proxy")
@ApiBearerAuth("client-token")
@UseGuards(ClientTokenGuard)
@Controller("v1")
export class ProxyController {
  constructor(
    private readonly chat: ChatCompletionsService,
    private readonly models: ModelsService,
  ) {}

  @Post("chat/completions")
  @HttpCode(200)
  @ApiOperation({
    operationId: "createChatCompletion",
    summary:
      "Create a chat completion, streamed or not, through the configured provider",
  })
  @ChatCompletionsDocs()
  async chatCompletions(
    @Req() request: AuthenticatedRequest,
    @Res() reply: FastifyReply,
    @Body() body: unknown,
  ) {
    const rejected = rejectedRequestId(request.raw);
    if (rejected !== undefined) {
      throw invalidRequest(
        "X-Request-Id must be 1 to 128 letters, digits, '.', '_' or '-', starting with a letter or digit.",
        "invalid_request_id",
        "X-Request-Id",
      );
    }

    await this.chat.handle(request.principal, request.id, body, request, reply);
  }

  @Get("models")
  @ApiOperation({
    operationId: "listModelsForClient",
    summary: "List the models this client may call",
  })
  @ListModelsDocs()
  async listModels(@Req() request: AuthenticatedRequest): Promise<ModelList> {
    return this.models.list(request.principal);
  }
}
