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
import {
  CompletionsRequest,
  completionsTokenBounds,
  estimateCompletionsPrompt,
  parseCompletionsRequest,
  upstreamCompletionsBody,
} from "./completions-request";
import { CompletionsStreamRelay } from "./completions-stream-relay";
import { parseOpenAiUsage } from "./openai-usage";

/** Kinds whose providers serve legacy `/completions`; Gemini's OpenAI-compatible API has no such route. */
const SUPPORTED_KINDS = new Set([ProviderKind.OpenAi, ProviderKind.Azure]);

/**
 * Legacy `POST /v1/completions`, passed to the provider as sent with the provider's model name. Streams ask for
 * `stream_options.include_usage` so that usage is reported, and the usage chunk is removed again for a client
 * that did not request it.
 */
@Injectable()
export class CompletionsEndpoint implements ProxyEndpoint<CompletionsRequest> {
  readonly name = "completions";
  readonly dialect = "openai" as const;

  parse(body: unknown): CompletionsRequest {
    return parseCompletionsRequest(body);
  }

  supports(kind: ProviderKind): boolean {
    return SUPPORTED_KINDS.has(kind);
  }

  bounds(request: CompletionsRequest): TokenBounds {
    return completionsTokenBounds(request);
  }

  upstreamRequest(
    request: CompletionsRequest,
    model: ResolvedModel,
    askForUsage: boolean,
  ): UpstreamRequest {
    return {
      path: "/completions",
      body: upstreamCompletionsBody(request, model.upstreamName, askForUsage),
    };
  }

  /**
   * Reads usage and output text. With `echo` the choices' text starts with the prompt, so an estimate from it
   * overcounts the output, but the estimate is still capped at the output bound.
   */
  readJson(_request: CompletionsRequest, text: string): JsonAnswer | null {
    const parsed = parseObject(text);
    if (parsed === null) {
      return null;
    }

    const choices = Array.isArray(parsed.choices)
      ? (parsed.choices as { text?: unknown }[])
      : [];
    return {
      body: text,
      usage: parseOpenAiUsage(parsed.usage),
      outputText: choices
        .map((choice) => (typeof choice?.text === "string" ? choice.text : ""))
        .join(""),
    };
  }

  streamRelay(request: CompletionsRequest, context: RelayContext): StreamRelay {
    return new CompletionsStreamRelay(
      context.client,
      request.body.stream_options?.include_usage === true,
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
    request: CompletionsRequest,
    estimator: TokenEstimator,
  ): number {
    return estimateCompletionsPrompt(request, estimator);
  }
}
