import { IncomingHttpHeaders, ServerResponse } from "node:http";

import { Injectable } from "@nestjs/common";

import { ProviderKind } from "../../providers/entities/provider.entity";
import { ResolvedModel } from "../../providers/model-resolver.service";
import {
  BoundsDefaults,
  JsonAnswer,
  ParsedRequest,
  ProxyEndpoint,
  RelayContext,
  StreamRelay,
  TokenBounds,
  UpstreamRequest,
} from "../endpoint";
import { parseOpenAiUsage } from "../openai/openai-usage";
import { textOfAssistant } from "../openai/chat.endpoint";
import { FORWARDED_ANTHROPIC_HEADERS } from "../pipeline/provider-target";
import { TokenEstimator } from "../token-estimator.service";
import { AnthropicErrorType, anthropicErrorEvent } from "./anthropic-errors";
import { AnthropicStreamRelay } from "./anthropic-stream-relay";
import { parseAnthropicUsage } from "./anthropic-usage";
import {
  CacheTtl,
  MessagesRequest,
  messagesInputTokenUpperBound,
  messagesOutputLimit,
  messagesPromptText,
  parseMessagesRequest,
  requestedCacheTtl,
} from "./messages-request";
import { messagesToChatRequest } from "./translate-request";
import {
  chatCompletionToAnthropicMessage,
  parseObject,
} from "./translate-response";
import { ChatToAnthropicStreamRelay } from "./translate-stream";

/** Tokens the tokenizer estimate adds around each message and to prime the reply, as for OpenAI's chat format. */
const TOKENS_PER_MESSAGE = 3;
const TOKENS_PER_REPLY = 3;

/** Anthropic error type of the event that ends a stream the provider or the proxy cut short. */
const STREAM_ERROR_TYPES: Record<string, AnthropicErrorType> = {
  upstream_timeout: "timeout_error",
  shutdown: "overloaded_error",
};

export interface ParsedMessages extends ParsedRequest {
  messages: MessagesRequest;
  /** The client's `anthropic-version` and `anthropic-beta` headers, passed on to Anthropic providers. */
  forwardedHeaders: Record<string, string>;
  /** Lifetime to bill cache writes at when a reply gives no per-lifetime breakdown. */
  cacheTtl: CacheTtl;
}

/**
 * `POST /v1/messages`: Anthropic's Messages format, passed through to Anthropic providers and translated to
 * OpenAI's chat format for the other kinds.
 */
@Injectable()
export class MessagesEndpoint implements ProxyEndpoint<ParsedMessages> {
  readonly name = "messages";
  readonly dialect = "anthropic" as const;

  constructor(private readonly estimator: TokenEstimator) {}

  parse(body: unknown, headers: IncomingHttpHeaders): ParsedMessages {
    const messages = parseMessagesRequest(body);
    return {
      model: messages.model,
      stream: messages.stream === true,
      messages,
      forwardedHeaders: forwardedHeaders(headers),
      cacheTtl: requestedCacheTtl(messages),
    };
  }

  supports(): boolean {
    return true;
  }

  bounds(
    request: ParsedMessages,
    _model: ResolvedModel,
    defaults: BoundsDefaults,
  ): TokenBounds {
    return {
      input: messagesInputTokenUpperBound(
        request.messages,
        defaults.imageTokenAllowance,
      ),
      output: messagesOutputLimit(request.messages),
    };
  }

  upstreamRequest(
    request: ParsedMessages,
    model: ResolvedModel,
    askForUsage: boolean,
  ): UpstreamRequest {
    if (model.provider.kind === ProviderKind.Anthropic) {
      return {
        path: "/messages",
        body: JSON.stringify({
          ...request.messages,
          model: model.upstreamName,
        }),
        headers: request.forwardedHeaders,
      };
    }

    const chat = messagesToChatRequest(
      request.messages,
      model.upstreamName,
      askForUsage,
    );
    return { path: "/chat/completions", body: JSON.stringify(chat) };
  }

  readJson(
    request: ParsedMessages,
    text: string,
    model: ResolvedModel,
  ): JsonAnswer | null {
    const parsed = parseObject(text);
    if (parsed === null) {
      return null;
    }

    if (model.provider.kind === ProviderKind.Anthropic) {
      return {
        body: text,
        usage: parseAnthropicUsage(parsed.usage, request.cacheTtl),
        outputText: textOfMessage(parsed),
      };
    }

    const message = chatCompletionToAnthropicMessage(parsed, model.publicName);
    const choices = Array.isArray(parsed.choices) ? parsed.choices : [];
    return {
      body: JSON.stringify(message),
      usage: parseOpenAiUsage(parsed.usage),
      outputText: (choices as { message?: unknown }[])
        .map((choice) => textOfAssistant(choice?.message))
        .join(""),
    };
  }

  streamRelay(request: ParsedMessages, context: RelayContext): StreamRelay {
    const countOutput = (text: string) => this.estimator.countText(text);

    if (context.model.provider.kind === ProviderKind.Anthropic) {
      return new AnthropicStreamRelay(
        context.client,
        context.signal,
        context.providerKey,
        { cacheTtl: request.cacheTtl, countOutput },
      );
    }
    return new ChatToAnthropicStreamRelay(
      context.client,
      context.signal,
      context.providerKey,
      {
        publicModel: context.model.publicName,
        requestId: context.requestId,
        countOutput,
      },
    );
  }

  writeStreamError(
    client: ServerResponse,
    errorClass: string,
    message: string,
  ): void {
    client.write(
      anthropicErrorEvent(
        STREAM_ERROR_TYPES[errorClass] ?? "api_error",
        message,
      ),
    );
  }

  estimatePrompt(request: ParsedMessages, estimator: TokenEstimator): number {
    return estimateMessagesPrompt(request.messages, estimator);
  }
}

/** Tokenizer estimate of a Messages prompt: its text plus the per-message framing. */
export function estimateMessagesPrompt(
  request: Parameters<typeof messagesPromptText>[0],
  estimator: TokenEstimator,
): number {
  return (
    TOKENS_PER_REPLY +
    TOKENS_PER_MESSAGE * request.messages.length +
    estimator.countText(messagesPromptText(request))
  );
}

/** Picks the client headers that select Anthropic API behaviour; credentials are never among them. */
export function forwardedHeaders(
  headers: IncomingHttpHeaders,
): Record<string, string> {
  const forwarded: Record<string, string> = {};
  for (const name of FORWARDED_ANTHROPIC_HEADERS) {
    const value = headers[name];
    if (typeof value === "string" && value !== "") {
      forwarded[name] = value;
    } else if (Array.isArray(value) && value.length > 0) {
      forwarded[name] = value.join(",");
    }
  }
  return forwarded;
}

/** Generated text of an Anthropic message, for estimating its tokens: text, thinking and tool inputs. */
function textOfMessage(message: Record<string, unknown>): string {
  const blocks = Array.isArray(message.content)
    ? (message.content as Record<string, unknown>[])
    : [];
  return blocks
    .map((block) => {
      if (typeof block?.text === "string") {
        return block.text;
      }
      if (typeof block?.thinking === "string") {
        return block.thinking;
      }
      return block?.type === "tool_use"
        ? JSON.stringify(block.input ?? {})
        : "";
    })
    .join("");
}
