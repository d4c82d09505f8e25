import { ServerResponse } from "node:http";

import { Injectable } from "@nestjs/common";

import { ProviderKind } from "../../providers/entities/provider.entity";
import { ResolvedModel } from "../../providers/model-resolver.service";
import {
  JsonAnswer,
  ProxyEndpoint,
  RelayContext,
  StreamRelay,
  TokenBounds,
  UpstreamRequest,
} from "../endpoint";
import { TokenEstimator } from "../token-estimator.service";
import { parseObject, writeOpenAiStreamError } from "./chat.endpoint";
import { ChatStreamRelay } from "./chat-stream-relay";
import {
  EmbeddingsRequest,
  embeddingsTokenBounds,
  estimateEmbeddingsPrompt,
  parseEmbeddingsRequest,
  upstreamEmbeddingsBody,
} from "./embeddings-request";
import { parseEmbeddingsUsage } from "./embeddings-usage";

/** Kinds whose providers serve OpenAI's `/embeddings`: OpenAI-compatible APIs, Azure and Gemini. */
const SUPPORTED_KINDS = new Set([
  ProviderKind.OpenAi,
  ProviderKind.Azure,
  ProviderKind.Gemini,
]);

/**
 * `POST /v1/embeddings`: passed to the provider as sent, with the provider's model name. Embeddings are never
 * streamed and generate no output, so only input tokens are held and billed.
 */
@Injectable()
export class EmbeddingsEndpoint implements ProxyEndpoint<EmbeddingsRequest> {
  readonly name = "embeddings";
  readonly dialect = "openai" as const;

  parse(body: unknown): EmbeddingsRequest {
    return parseEmbeddingsRequest(body);
  }

  supports(kind: ProviderKind): boolean {
    return SUPPORTED_KINDS.has(kind);
  }

  bounds(request: EmbeddingsRequest): TokenBounds {
    return embeddingsTokenBounds(request);
  }

  upstreamRequest(
    request: EmbeddingsRequest,
    model: ResolvedModel,
  ): UpstreamRequest {
    return {
      path: "/embeddings",
      body: upstreamEmbeddingsBody(request, model.upstreamName),
    };
  }

  readJson(_request: EmbeddingsRequest, text: string): JsonAnswer | null {
    const parsed = parseObject(text);
    if (parsed === null) {
      return null;
    }

    return {
      body: text,
      usage: parseEmbeddingsUsage(parsed.usage),
      outputText: "",
    };
  }

  /** Not used, since a parsed embeddings request never streams; an OpenAI-format relay, should it be. */
  streamRelay(_request: EmbeddingsRequest, context: RelayContext): StreamRelay {
    return new ChatStreamRelay(
      context.client,
      false,
      context.signal,
      context.providerKey,
    );
  }

  writeStreamError(
    client: ServerResponse,
    errorClass: string,
    message: string,
  ): void {
    writeOpenAiStreamError(client, errorClass, message);
  }

  estimatePrompt(
    request: EmbeddingsRequest,
    estimator: TokenEstimator,
  ): number {
    return estimateEmbeddingsPrompt(request, estimator);
  }
}
