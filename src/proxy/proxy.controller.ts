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
import {
  CountTokensEndpoint,
  LocalTokenCounter,
} from "./anthropic/count-tokens.endpoint";
import { MessagesEndpoint } from "./anthropic/messages.endpoint";
import { CountTokensDocs, MessagesDocs } from "./anthropic/openapi";
import { ModelsService, ModelList } from "./models.service";
import { ChatEndpoint } from "./openai/chat.endpoint";
import { CompletionsEndpoint } from "./openai/completions.endpoint";
import { EmbeddingsEndpoint } from "./openai/embeddings.endpoint";
import {
  CompletionsDocs,
  EmbeddingsDocs,
  ResponsesDocs,
} from "./openai/openapi-endpoints";
import { ResponsesEndpoint } from "./openai/responses.endpoint";
import { ProxyPipeline } from "./pipeline/proxy-pipeline.service";
import { ParsedRequest, ProxyEndpoint } from "./endpoint";
import { ChatCompletionsDocs, ListModelsDocs } from "./openai/openapi";

/** The proxied endpoints, in OpenAI's and Anthropic's formats, for applications holding a client token. */
@ApiTags("proxy")
@ApiBearerAuth("client-token")
@UseGuards(ClientTokenGuard)
@Controller("v1")
export class ProxyController {
  constructor(
    private readonly pipeline: ProxyPipeline,
    private readonly chat: ChatEndpoint,
    private readonly embeddings: EmbeddingsEndpoint,
    private readonly completions: CompletionsEndpoint,
    private readonly responses: ResponsesEndpoint,
    private readonly messages: MessagesEndpoint,
    private readonly countTokens: CountTokensEndpoint,
    private readonly localTokenCounter: LocalTokenCounter,
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
    await this.proxy(this.chat, request, reply, body);
  }

  @Post("embeddings")
  @HttpCode(200)
  @ApiOperation({
    operationId: "createEmbedding",
    summary: "Create embeddings through the configured provider",
  })
  @EmbeddingsDocs()
  async createEmbeddings(
    @Req() request: AuthenticatedRequest,
    @Res() reply: FastifyReply,
    @Body() body: unknown,
  ) {
    await this.proxy(this.embeddings, request, reply, body);
  }

  @Post("completions")
  @HttpCode(200)
  @ApiOperation({
    operationId: "createCompletion",
    summary:
      "Create a legacy text completion, streamed or not, through the configured provider",
  })
  @CompletionsDocs()
  async createCompletion(
    @Req() request: AuthenticatedRequest,
    @Res() reply: FastifyReply,
    @Body() body: unknown,
  ) {
    await this.proxy(this.completions, request, reply, body);
  }

  @Post("responses")
  @HttpCode(200)
  @ApiOperation({
    operationId: "createResponse",
    summary:
      "Create a model response (Responses API), streamed or not, through the configured provider",
  })
  @ResponsesDocs()
  async createResponse(
    @Req() request: AuthenticatedRequest,
    @Res() reply: FastifyReply,
    @Body() body: unknown,
  ) {
    await this.proxy(this.responses, request, reply, body);
  }

  @Post("messages")
  @HttpCode(200)
  @ApiOperation({
    operationId: "createMessage",
    summary:
      "Create a message in Anthropic's format, streamed or not, through the configured provider",
  })
  @MessagesDocs()
  async createMessage(
    @Req() request: AuthenticatedRequest,
    @Res() reply: FastifyReply,
    @Body() body: unknown,
  ) {
    await this.proxy(this.messages, request, reply, body);
  }

  @Post("messages/count_tokens")
  @HttpCode(200)
  @ApiOperation({
    operationId: "countMessageTokens",
    summary:
      "Count the input tokens of a Messages prompt: forwarded to Anthropic providers, estimated for others",
  })
  @CountTokensDocs()
  async countMessageTokens(
    @Req() request: AuthenticatedRequest,
    @Res() reply: FastifyReply,
    @Body() body: unknown,
  ) {
    const local = await this.localTokenCounter.count(
      request.principal,
      body,
      request.headers,
    );
    if (local !== null) {
      void reply.status(200).send(local);
      return;
    }
    await this.proxy(this.countTokens, request, reply, body);
  }

  /** Runs one proxied call through the pipeline with the endpoint that speaks its format. */
  private async proxy<R extends ParsedRequest>(
    endpoint: ProxyEndpoint<R>,
    request: AuthenticatedRequest,
    reply: FastifyReply,
    body: unknown,
  ): Promise<void> {
    const rejected = rejectedRequestId(request.raw);
    if (rejected !== undefined) {
      throw invalidRequest(
        "X-Request-Id must be 1 to 120 letters, digits, '.', '_' or '-', starting with a letter or digit.",
        "invalid_request_id",
        "X-Request-Id",
      );
    }

    await this.pipeline.handle(
      endpoint,
      request.principal,
      request.id,
      body,
      request,
      reply,
    );
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
