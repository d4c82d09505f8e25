import { IncomingHttpHeaders, ServerResponse } from "node:http";

import { Injectable } from "@nestjs/common";

import { NO_USAGE } from "../../billing/usage";
import { ClientPrincipal } from "../../clients/client-principal";
import { ProxyError } from "../../common/proxy-error";
import { ProviderKind } from "../../providers/entities/provider.entity";
import {
  ModelResolver,
  ResolvedModel,
} from "../../providers/model-resolver.service";
import {
  JsonAnswer,
  ParsedRequest,
  ProxyEndpoint,
  TokenBounds,
  UpstreamRequest,
} from "../endpoint";
import { TokenEstimator } from "../token-estimator.service";
import { anthropicErrorEvent } from "./anthropic-errors";
import {
  CountTokensRequest,
  parseCountTokensRequest,
} from "./messages-request";
import { estimateMessagesPrompt, forwardedHeaders } from "./messages.endpoint";
import { parseObject } from "./translate-response";

export interface ParsedCountTokens extends ParsedRequest {
  count: CountTokensRequest;
  forwardedHeaders: Record<string, string>;
}

/**
 * `POST /v1/messages/count_tokens` for Anthropic providers, which count exactly and free of charge. It reserves no
 * credit and records zero tokens, because counting generates nothing.
 */
@Injectable()
export class CountTokensEndpoint implements ProxyEndpoint<ParsedCountTokens> {
  readonly name = "messages.count_tokens";
  readonly dialect = "anthropic" as const;

  parse(body: unknown, headers: IncomingHttpHeaders): ParsedCountTokens {
    const count = parseCountTokensRequest(body);
    return {
      model: count.model,
      stream: false,
      count,
      forwardedHeaders: forwardedHeaders(headers),
    };
  }

  supports(kind: ProviderKind): boolean {
    return kind === ProviderKind.Anthropic;
  }

  bounds(): TokenBounds {
    return { input: 0, output: 0 };
  }

  upstreamRequest(
    request: ParsedCountTokens,
    model: ResolvedModel,
  ): UpstreamRequest {
    return {
      path: "/messages/count_tokens",
      body: JSON.stringify({ ...request.count, model: model.upstreamName }),
      headers: request.forwardedHeaders,
    };
  }

  readJson(_request: ParsedCountTokens, text: string): JsonAnswer | null {
    const parsed = parseObject(text);
    if (parsed === null || typeof parsed.input_tokens !== "number") {
      return null;
    }
    return { body: text, usage: { ...NO_USAGE }, outputText: "" };
  }

  /** Never called: a count is not streamed. */
  streamRelay(): never {
    throw new Error("count_tokens has no stream");
  }

  writeStreamError(
    client: ServerResponse,
    _errorClass: string,
    message: string,
  ): void {
    client.write(anthropicErrorEvent("api_error", message));
  }

  estimatePrompt(): number {
    return 0;
  }
}

/**
 * Counts tokens for `count_tokens` requests on models that no Anthropic provider serves, with the local tokenizer's estimate,
 * since their providers have no counting API. Nothing is forwarded or recorded.
 */
@Injectable()
export class LocalTokenCounter {
  constructor(
    private readonly models: ModelResolver,
    private readonly estimator: TokenEstimator,
    private readonly endpoint: CountTokensEndpoint,
  ) {}

  /**
   * Returns the estimate, or null when an Anthropic provider serves the model (or none does) and the request
   * should go through the pipeline, which also reports unknown models in the usual way.
   */
  async count(
    principal: ClientPrincipal,
    body: unknown,
    headers: IncomingHttpHeaders,
  ): Promise<{ input_tokens: number } | null> {
    const request = this.endpoint.parse(body, headers);
    const routes = await this.models.resolveRoutes(request.model);
    if (
      routes.length === 0 ||
      routes.some((route) => this.endpoint.supports(route.provider.kind))
    ) {
      return null;
    }

    if (
      principal.allowedModels !== null &&
      !principal.allowedModels.includes(request.model)
    ) {
      throw new ProxyError(
        `This client may not use the model '${request.model}'.`,
        {
          status: 403,
          type: "permission_error",
          code: "model_not_allowed",
          param: "model",
        },
      );
    }

    // NOTE: the o200k_base tokenizer is OpenAI's; other model families count differently, so this is an estimate.
    return {
      input_tokens: estimateMessagesPrompt(request.count, this.estimator),
    };
  }
}
