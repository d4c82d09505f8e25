import { ServerResponse } from "node:http";

import { Injectable } from "@nestjs/common";

import { ProviderKind } from "../../providers/entities/provider.entity";
import { ResolvedModel } from "../../providers/model-resolver.service";
import {
  BoundsDefaults,
  JsonAnswer,
  ProxyEndpoint,
  RelayContext,
  StreamRelay,
  TokenBounds,
  UpstreamRequest,
} from "../endpoint";
import { TokenEstimator } from "../token-estimator.service";
import { parseObject } from "./chat.endpoint";
import {
  estimateResponsesPrompt,
  parseResponsesRequest,
  ResponsesRequest,
  responsesTokenBounds,
  upstreamResponsesBody,
} from "./responses-request";
import { ResponsesStreamRelay } from "./responses-stream-relay";
import { parseResponsesUsage } from "./responses-usage";

/** Kinds whose providers serve the Responses API; Gemini's OpenAI-compatible API does not. */
const SUPPORTED_KINDS = new Set([ProviderKind.OpenAi, ProviderKind.Azure]);

/**
 * `POST /v1/responses`: passed to the provider as sent, with the provider's model name. Usage comes from the
 * response's `usage`, in a stream from its terminal event.
 */
@Injectable()
export class ResponsesEndpoint implements ProxyEndpoint<ResponsesRequest> {
  readonly name = "responses";
  readonly dialect = "openai" as const;

  parse(body: unknown): ResponsesRequest {
    return parseResponsesRequest(body);
  }

  supports(kind: ProviderKind): boolean {
    return SUPPORTED_KINDS.has(kind);
  }

  bounds(
    request: ResponsesRequest,
    model: ResolvedModel,
    defaults: BoundsDefaults,
  ): TokenBounds {
    return responsesTokenBounds(request, model, defaults);
  }

  /** The Responses API reports usage in every stream, so `stream_options` is kept unless the provider rejects it. */
  upstreamRequest(
    request: ResponsesRequest,
    model: ResolvedModel,
    askForUsage: boolean,
  ): UpstreamRequest {
    return {
      path: "/responses",
      body: upstreamResponsesBody(request, model.upstreamName, askForUsage),
    };
  }

  readJson(_request: ResponsesRequest, text: string): JsonAnswer | null {
    const parsed = parseObject(text);
    if (parsed === null) {
      return null;
    }

    return {
      body: text,
      usage: parseResponsesUsage(parsed.usage),
      outputText: textOfOutput(parsed.output),
    };
  }

  streamRelay(_request: ResponsesRequest, context: RelayContext): StreamRelay {
    return new ResponsesStreamRelay(
      context.client,
      context.signal,
      context.providerKey,
    );
  }

  writeStreamError(
    client: ServerResponse,
    errorClass: string,
    message: string,
  ): void {
    writeResponsesStreamError(client, errorClass, message);
  }

  estimatePrompt(request: ResponsesRequest, estimator: TokenEstimator): number {
    return estimateResponsesPrompt(request, estimator);
  }
}

/** Generated text of a response's output items: message text and refusals, reasoning summaries, tool calls. */
function textOfOutput(output: unknown): string {
  if (!Array.isArray(output)) {
    return "";
  }

  const texts: string[] = [];
  for (const item of output as Record<string, unknown>[]) {
    for (const key of ["name", "arguments", "input", "code"]) {
      if (typeof item?.[key] === "string") {
        texts.push(item[key]);
      }
    }
    for (const key of ["content", "summary"]) {
      const parts = item?.[key];
      if (!Array.isArray(parts)) {
        continue;
      }
      for (const part of parts as { text?: unknown; refusal?: unknown }[]) {
        if (typeof part?.text === "string") {
          texts.push(part.text);
        } else if (typeof part?.refusal === "string") {
          texts.push(part.refusal);
        }
      }
    }
  }
  return texts.join("");
}

/**
 * Ends a Responses API stream that was cut short with the API's `error` event (`type`, `code`, `message`,
 * `param`). The endpoint does not see the provider's `sequence_number`, so the event carries none.
 */
export function writeResponsesStreamError(
  client: ServerResponse,
  errorClass: string,
  message: string,
): void {
  const body = { type: "error", code: errorClass, message, param: null };
  client.write(`event: error\ndata: ${JSON.stringify(body)}\n\n`);
}
