import { z } from "zod";

import { MAX_DEPTH, nestingDepth, validateRequestBody } from "../validate-body";
import { checkStreamOptions } from "./request-validation";

export { MAX_DEPTH, nestingDepth };

/** Largest accepted output limit: a signed 32-bit integer, as providers declare the field. */
export const MAX_TOKEN_LIMIT = 2_147_483_647;

/**
 * The fields of a chat completion request that the proxy reads. Every other field passes to the provider
 * untouched, so new provider features need no change here.
 */
const chatRequestSchema = z
  .object({
    model: z.string().min(1).max(200),
    messages: z.array(z.looseObject({ role: z.string() })).min(1),
    stream: z.boolean().nullish(),
    stream_options: z
      .looseObject({ include_usage: z.boolean().nullish() })
      .nullish(),
    max_tokens: z.number().int().positive().max(MAX_TOKEN_LIMIT).nullish(),
    max_completion_tokens: z
      .number()
      .int()
      .positive()
      .max(MAX_TOKEN_LIMIT)
      .nullish(),
    n: z.number().int().min(1).max(128).nullish(),
  })
  .loose();

export type ChatRequest = z.infer<typeof chatRequestSchema>;

/** Validates a parsed JSON body; a failure names the first invalid field in OpenAI's error format. */
export function parseChatRequest(body: unknown): ChatRequest {
  const request = validateRequestBody(chatRequestSchema, body);
  checkStreamOptions(request);
  return request;
}

/** The limit on generated tokens the request sets, if any. */
export function requestedOutputLimit(request: ChatRequest): number | null {
  return request.max_completion_tokens ?? request.max_tokens ?? null;
}

/**
 * Builds the body sent upstream: the provider's model name, and for streams `include_usage` so the provider
 * reports usage even when the client did not request it. `askForUsage` is false for providers that reject
 * `stream_options`, and then the field is removed.
 */
export function upstreamChatBody(
  request: Pick<ChatRequest, "stream" | "stream_options">,
  upstreamModel: string,
  askForUsage: boolean,
): string {
  const body: Record<string, unknown> = { ...request, model: upstreamModel };

  if (!askForUsage) {
    // The provider rejects the field, whoever set it; its stream usage is estimated instead.
    delete body.stream_options;
  } else if (request.stream === true) {
    body.stream_options = {
      ...(request.stream_options ?? {}),
      include_usage: true,
    };
  }

  return JSON.stringify(body);
}

/**
 * An upper bound on the request's input tokens for credit reservations. Byte-level BPE tokenizers never emit
 * more tokens than the text has UTF-8 bytes, so text counts by its bytes; image parts, whose base64 bytes say
 * nothing about their token cost, count as a fixed allowance each.
 */
export function inputTokenUpperBound(
  request: ChatRequest,
  imageAllowance: number,
): number {
  let bound = 0;
  for (const [key, value] of Object.entries(request)) {
    if (key !== "messages") {
      bound += Buffer.byteLength(JSON.stringify(value) ?? "");
    }
  }

  for (const message of request.messages) {
    const { content, ...rest } = message as Record<string, unknown>;
    bound +=
      Buffer.byteLength(JSON.stringify(rest)) +
      contentBound(content, imageAllowance);
  }

  return bound;
}

function contentBound(content: unknown, imageAllowance: number): number {
  if (!Array.isArray(content)) {
    return Buffer.byteLength(JSON.stringify(content ?? "") ?? "");
  }

  let bound = 0;
  for (const part of content as { type?: unknown }[]) {
    bound +=
      part?.type === "image_url"
        ? imageAllowance
        : Buffer.byteLength(JSON.stringify(part) ?? "");
  }
  return bound;
}
