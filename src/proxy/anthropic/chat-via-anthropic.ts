import { randomUUID } from "node:crypto";

import { ResolvedModel } from "../../providers/model-resolver.service";
import {
  JsonAnswer,
  RelayContext,
  StreamRelay,
  UpstreamRequest,
} from "../endpoint";
import { ChatRequest } from "../openai/chat-request";
import { TokenEstimator } from "../token-estimator.service";
import { parseAnthropicUsage } from "./anthropic-usage";
import { chatToAnthropicRequest } from "./translate-request";
import {
  anthropicMessageToChatCompletion,
  parseObject,
} from "./translate-response";
import { AnthropicToChatStreamRelay } from "./translate-stream";

/*
 * The Anthropic side of `POST /v1/chat/completions`: an OpenAI chat request served by an Anthropic provider,
 * translated on the way there and back.
 */

/**
 * Builds the Messages request for a chat request. Anthropic requires an output limit, so a request without one gets
 * the model's limit, else `defaultMaxTokens`.
 */
export function anthropicUpstreamForChat(
  chat: ChatRequest,
  model: ResolvedModel,
  defaultMaxTokens: number,
): UpstreamRequest {
  const body = chatToAnthropicRequest(
    chat,
    model.upstreamName,
    model.maxOutputTokens ?? defaultMaxTokens,
  );
  return { path: "/messages", body: JSON.stringify(body) };
}

/** Turns an Anthropic message into a chat completion; null when the body is not a JSON object. */
export function readAnthropicJsonAsChat(
  text: string,
  model: ResolvedModel,
): JsonAnswer | null {
  const message = parseObject(text);
  if (message === null) {
    return null;
  }

  const completion = anthropicMessageToChatCompletion(
    message,
    model.publicName,
    randomUUID(),
  );
  const reply = (
    completion.choices as { message: Record<string, unknown> }[]
  )[0].message;
  const calls = (reply.tool_calls ?? []) as {
    function: { arguments: string };
  }[];
  const outputText = [
    reply.content,
    reply.reasoning_content,
    ...calls.map((call) => call.function.arguments),
  ]
    .filter((part): part is string => typeof part === "string")
    .join("");

  return {
    body: JSON.stringify(completion),
    usage: parseAnthropicUsage(message.usage),
    outputText,
  };
}

/** Creates the relay that turns an Anthropic stream into chat completion chunks. */
export function anthropicStreamForChat(
  chat: ChatRequest,
  context: RelayContext,
  estimator: TokenEstimator,
): StreamRelay {
  return new AnthropicToChatStreamRelay(
    context.client,
    context.signal,
    context.providerKey,
    {
      publicModel: context.model.publicName,
      requestId: context.requestId,
      includeUsage: chat.stream_options?.include_usage === true,
      countOutput: (text) => estimator.countText(text),
    },
  );
}
