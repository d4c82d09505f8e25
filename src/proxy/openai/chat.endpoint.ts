import { ServerResponse } from "node:http";

import { Inject, Injectable } from "@nestjs/common";

import { APP_CONFIG } from "../../config/config.module";
import { AppConfig } from "../../config/config.schema";
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
import {
  anthropicStreamForChat,
  anthropicUpstreamForChat,
  readAnthropicJsonAsChat,
} from "../anthropic/chat-via-anthropic";
import { TokenEstimator } from "../token-estimator.service";
import {
  ChatRequest,
  inputTokenUpperBound,
  parseChatRequest,
  requestedOutputLimit,
  upstreamChatBody,
} from "./chat-request";
import { ChatStreamRelay } from "./chat-stream-relay";
import { parseOpenAiUsage } from "./openai-usage";

export interface ParsedChat extends ParsedRequest {
  chat: ChatRequest;
}

/** Kinds that speak OpenAI's chat format natively. */
const OPENAI_KINDS = new Set<ProviderKind>([
  ProviderKind.OpenAi,
  ProviderKind.Azure,
  ProviderKind.Gemini,
]);

/**
 * `POST /v1/chat/completions`: OpenAI's chat format, passed through to OpenAI-style providers and translated to
 * Anthropic's Messages API for Anthropic providers.
 */
@Injectable()
export class ChatEndpoint implements ProxyEndpoint<ParsedChat> {
  readonly name = "chat.completions";
  readonly dialect = "openai" as const;

  constructor(
    private readonly estimator: TokenEstimator,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  parse(body: unknown): ParsedChat {
    const chat = parseChatRequest(body);
    return { model: chat.model, stream: chat.stream === true, chat };
  }

  /** Accepts OpenAI-style kinds, served natively, and Anthropic, served through translation to its Messages API. */
  supports(kind: ProviderKind): boolean {
    return OPENAI_KINDS.has(kind) || kind === ProviderKind.Anthropic;
  }

  bounds(
    request: ParsedChat,
    model: ResolvedModel,
    defaults: BoundsDefaults,
  ): TokenBounds {
    const outputLimit =
      requestedOutputLimit(request.chat) ??
      model.maxOutputTokens ??
      defaults.defaultMaxOutputTokens;

    return {
      input: inputTokenUpperBound(request.chat, defaults.imageTokenAllowance),
      output: outputLimit * (request.chat.n ?? 1),
    };
  }

  upstreamRequest(
    request: ParsedChat,
    model: ResolvedModel,
    askForUsage: boolean,
  ): UpstreamRequest {
    if (model.provider.kind === ProviderKind.Anthropic) {
      return anthropicUpstreamForChat(
        request.chat,
        model,
        this.config.billing.defaultMaxOutputTokens,
      );
    }

    return {
      path: "/chat/completions",
      body: upstreamChatBody(request.chat, model.upstreamName, askForUsage),
    };
  }

  readJson(
    _request: ParsedChat,
    text: string,
    model: ResolvedModel,
  ): JsonAnswer | null {
    if (model.provider.kind === ProviderKind.Anthropic) {
      return readAnthropicJsonAsChat(text, model);
    }

    const parsed = parseObject(text) as {
      usage?: unknown;
      choices?: { message?: unknown }[];
    } | null;
    if (parsed === null) {
      return null;
    }

    return {
      body: text,
      usage: parseOpenAiUsage(parsed.usage),
      outputText: (Array.isArray(parsed.choices) ? parsed.choices : [])
        .map((choice) => textOfAssistant(choice?.message))
        .join(""),
    };
  }

  streamRelay(request: ParsedChat, context: RelayContext): StreamRelay {
    if (context.model.provider.kind === ProviderKind.Anthropic) {
      return anthropicStreamForChat(request.chat, context, this.estimator);
    }

    return new ChatStreamRelay(
      context.client,
      request.chat.stream_options?.include_usage === true,
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

  estimatePrompt(request: ParsedChat, estimator: TokenEstimator): number {
    return estimator.countChatPrompt(request.chat.messages);
  }
}

/** Ends a broken stream with an OpenAI-style error event, so clients can tell it was cut short. */
export function writeOpenAiStreamError(
  client: ServerResponse,
  errorClass: string,
  message: string,
): void {
  const body = {
    error: { message, type: "upstream_error", param: null, code: errorClass },
  };
  client.write(`data: ${JSON.stringify(body)}\n\n`);
}

/** Parses JSON text that must hold an object; anything else is null. */
export function parseObject(text: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

/** Text of an assistant message, for estimating its tokens: content, reasoning and tool arguments. */
export function textOfAssistant(message: unknown): string {
  if (typeof message !== "object" || message === null) {
    return "";
  }
  const record = message as {
    content?: unknown;
    reasoning_content?: unknown;
    tool_calls?: { function?: { arguments?: unknown } }[];
  };
  const parts = [
    record.content,
    record.reasoning_content,
    ...(Array.isArray(record.tool_calls) ? record.tool_calls : []).map(
      (call) => call?.function?.arguments,
    ),
  ];
  return parts
    .filter((part): part is string => typeof part === "string")
    .join("");
}
