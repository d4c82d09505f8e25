import { z } from "zod";

import { validateRequestBody } from "../validate-body";

/** Largest accepted `max_tokens`: a signed 32-bit integer, as the API declares the field. */
const MAX_TOKEN_LIMIT = 2_147_483_647;

/** A content block: every block has a `type`, and every other key passes through untouched. */
const contentBlockSchema = z.looseObject({ type: z.string().min(1) });

const textBlockSchema = z.looseObject({
  type: z.literal("text"),
  text: z.string(),
});

const messageSchema = z.looseObject({
  // The newest API also accepts `system` messages inside the conversation.
  role: z.enum(["user", "assistant", "system"]),
  content: z.union([z.string(), z.array(contentBlockSchema)]),
});

const thinkingSchema = z.discriminatedUnion("type", [
  z.looseObject({
    type: z.literal("enabled"),
    budget_tokens: z.number().int().positive().max(MAX_TOKEN_LIMIT),
  }),
  z.looseObject({ type: z.literal("disabled") }),
  z.looseObject({ type: z.literal("adaptive") }),
]);

const toolChoiceSchema = z.discriminatedUnion("type", [
  z.looseObject({ type: z.literal("auto") }),
  z.looseObject({ type: z.literal("any") }),
  z.looseObject({ type: z.literal("none") }),
  z.looseObject({ type: z.literal("tool"), name: z.string().min(1) }),
]);

/** Fields shared by a Messages request and a `count_tokens` request. */
const promptFields = {
  model: z.string().min(1).max(200),
  messages: z.array(messageSchema).min(1),
  system: z.union([z.string(), z.array(textBlockSchema)]).optional(),
  tools: z.array(z.looseObject({ name: z.string().min(1) })).optional(),
  tool_choice: toolChoiceSchema.optional(),
  thinking: thinkingSchema.optional(),
};

/**
 * The fields of an Anthropic Messages request that the proxy reads. Every other field passes to the provider
 * untouched, so new API features need no change here.
 */
const messagesRequestSchema = z
  .object({
    ...promptFields,
    max_tokens: z.number().int().positive().max(MAX_TOKEN_LIMIT),
    stream: z.boolean().optional(),
    stop_sequences: z.array(z.string()).optional(),
    temperature: z.number().min(0).max(1).optional(),
    top_p: z.number().min(0).max(1).optional(),
    top_k: z.number().int().nonnegative().optional(),
    metadata: z.looseObject({ user_id: z.string().nullish() }).optional(),
  })
  .loose();

/** A `POST /v1/messages/count_tokens` body: the prompt fields, without `max_tokens`. */
const countTokensRequestSchema = z.object(promptFields).loose();

export type MessagesRequest = z.infer<typeof messagesRequestSchema>;
export type CountTokensRequest = z.infer<typeof countTokensRequestSchema>;
export type AnthropicMessage = MessagesRequest["messages"][number];

/** Lifetime of a prompt cache entry that Anthropic writes. */
export type CacheTtl = "5m" | "1h";

/** Validates a parsed JSON body; a failure names the first invalid field. */
export function parseMessagesRequest(body: unknown): MessagesRequest {
  return validateRequestBody(messagesRequestSchema, body);
}

/** Validates a parsed `count_tokens` body; a failure names the first invalid field. */
export function parseCountTokensRequest(body: unknown): CountTokensRequest {
  return validateRequestBody(countTokensRequestSchema, body);
}

/** The output limit of a Messages request, which the API requires; thinking tokens count inside it. */
export function messagesOutputLimit(request: MessagesRequest): number {
  return request.max_tokens;
}

/**
 * An upper bound on the request's input tokens for credit reservations. Byte-level BPE tokenizers never emit
 * more tokens than the text has UTF-8 bytes, so text counts by its bytes. Image blocks, whose base64 bytes say
 * nothing about their token cost, count as a fixed allowance each, wherever they sit (tool results included).
 */
export function messagesInputTokenUpperBound(
  request: MessagesRequest | CountTokensRequest,
  imageAllowance: number,
): number {
  let bound = 0;
  for (const [key, value] of Object.entries(request)) {
    if (key !== "messages") {
      bound += Buffer.byteLength(JSON.stringify(value) ?? "");
    }
  }

  for (const message of request.messages) {
    const { content, ...rest } = message;
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
  for (const block of content as Record<string, unknown>[]) {
    if (block?.type === "image") {
      bound += imageAllowance;
    } else if (block?.type === "tool_result") {
      const { content: inner, ...rest } = block;
      bound +=
        Buffer.byteLength(JSON.stringify(rest)) +
        contentBound(inner, imageAllowance);
    } else if (block?.type === "document") {
      // NOTE: a PDF is billed per page as extracted text plus a page image, and a small file can hold many
      // pages, so its bytes plus one image allowance is a guess, not a proven bound.
      bound += Buffer.byteLength(JSON.stringify(block)) + imageAllowance;
    } else {
      bound += Buffer.byteLength(JSON.stringify(block) ?? "");
    }
  }
  return bound;
}

/**
 * The lifetime to bill cache writes at when a reply gives no per-lifetime breakdown: `1h` only when every
 * `cache_control` breakpoint in the request asks for it, since the default lifetime is five minutes.
 */
export function requestedCacheTtl(request: unknown): CacheTtl {
  let breakpoints = 0;
  let oneHour = 0;
  const stack: unknown[] = [request];

  while (stack.length > 0) {
    const node = stack.pop();
    if (typeof node !== "object" || node === null) {
      continue;
    }
    const control = (node as { cache_control?: unknown }).cache_control;
    if (typeof control === "object" && control !== null) {
      breakpoints++;
      if ((control as { ttl?: unknown }).ttl === "1h") {
        oneHour++;
      }
    }
    for (const child of Object.values(node)) {
      stack.push(child);
    }
  }

  return breakpoints > 0 && oneHour === breakpoints ? "1h" : "5m";
}

/** Collects the text of a Messages request's prompt (system, messages, tool definitions) for token estimates. */
export function messagesPromptText(
  request: MessagesRequest | CountTokensRequest,
): string {
  const pieces: string[] = [];
  if (typeof request.system === "string") {
    pieces.push(request.system);
  } else {
    for (const block of request.system ?? []) {
      pieces.push(block.text);
    }
  }

  for (const message of request.messages) {
    pieces.push(message.role, textOfContent(message.content));
  }

  for (const tool of request.tools ?? []) {
    pieces.push(JSON.stringify(tool));
  }

  return pieces.join("\n");
}

/** Text of a content value: strings, text blocks, thinking, tool inputs and tool results. */
function textOfContent(content: unknown): string {
  if (typeof content === "string") {
    return content;
  }
  if (!Array.isArray(content)) {
    return "";
  }

  const pieces: string[] = [];
  for (const block of content as Record<string, unknown>[]) {
    if (typeof block?.text === "string") {
      pieces.push(block.text);
    } else if (typeof block?.thinking === "string") {
      pieces.push(block.thinking);
    } else if (block?.type === "tool_use") {
      pieces.push(String(block.name), JSON.stringify(block.input ?? {}));
    } else if (block?.type === "tool_result") {
      pieces.push(textOfContent(block.content));
    }
  }
  return pieces.join("\n");
}
