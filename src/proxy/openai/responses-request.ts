import { z } from "zod";

import { invalidRequest } from "../../common/proxy-error";
import { BoundsDefaults, ParsedRequest, TokenBounds } from "../endpoint";
import { TokenEstimator } from "../token-estimator.service";
import { MAX_TOKEN_LIMIT } from "./chat-request";
import {
  checkStreamOptions,
  jsonBytes,
  validateRequestBody,
} from "./request-validation";

/** Smallest `max_output_tokens` OpenAI accepts. */
const MIN_MAX_OUTPUT_TOKENS = 16;

/** Tool types whose calls the application runs itself; every other tool runs at the provider and adds input. */
const CLIENT_TOOL_TYPES = new Set(["function", "custom"]);

/**
 * The fields of `POST /v1/responses` that the proxy reads. Other fields (`text`, `tool_choice`, `include`,
 * `metadata`, provider extensions) pass to the provider untouched.
 */
const responsesBodySchema = z
  .object({
    model: z.string().min(1).max(200),
    input: z
      .union([
        z.string(),
        z.array(z.looseObject({ type: z.string().optional() })),
      ])
      .nullish(),
    instructions: z.string().nullish(),
    max_output_tokens: z
      .number()
      .int()
      .min(MIN_MAX_OUTPUT_TOKENS)
      .max(MAX_TOKEN_LIMIT)
      .nullish(),
    stream: z.boolean().nullish(),
    stream_options: z
      .looseObject({ include_obfuscation: z.boolean().nullish() })
      .nullish(),
    reasoning: z
      .looseObject({
        effort: z.string().nullish(),
        summary: z.string().nullish(),
      })
      .nullish(),
    tools: z.array(z.looseObject({ type: z.string() })).nullish(),
    previous_response_id: z.string().min(1).nullish(),
    store: z.boolean().nullish(),
    background: z.boolean().nullish(),
  })
  .loose();

export type ResponsesBody = z.infer<typeof responsesBodySchema>;

/** A validated Responses API request. */
export interface ResponsesRequest extends ParsedRequest {
  body: ResponsesBody;
}

/** The model limits that bound a Responses request. */
export interface ResponsesModelLimits {
  contextWindow: number | null;
  maxOutputTokens: number | null;
}

/**
 * Validates a parsed JSON body; a failure names the first invalid field in OpenAI's error format. A background
 * request that does not stream is rejected, because its result is fetched later from the provider and the proxy
 * would never see its usage.
 */
export function parseResponsesRequest(body: unknown): ResponsesRequest {
  const parsed = validateRequestBody(responsesBodySchema, body);
  checkStreamOptions(parsed);

  if (parsed.background === true && parsed.stream !== true) {
    throw invalidRequest(
      "Invalid value for 'background': background responses must be streamed through this proxy, " +
        "because the usage of a response fetched later cannot be metered. Set 'stream' to true.",
      "invalid_value",
      "background",
    );
  }

  return { model: parsed.model, stream: parsed.stream === true, body: parsed };
}

/**
 * Input and output tokens at most. Input counts every field's UTF-8 bytes, with each image a fixed allowance.
 * Input the request does not contain (an earlier response, a conversation, a stored prompt, files by id or URL,
 * results of provider-run tools) can fill the model's context window, so such requests are bounded by it.
 * Output is `max_output_tokens` (reasoning included), else the model's or the configured limit.
 */
export function responsesTokenBounds(
  request: ResponsesRequest,
  model: ResponsesModelLimits,
  defaults: BoundsDefaults,
): TokenBounds {
  let input = visibleInputBound(request.body, defaults.imageTokenAllowance);
  if (hasHiddenInput(request.body) && model.contextWindow !== null) {
    input = Math.max(input, model.contextWindow);
  }
  // NOTE: a model without a context window gets only the visible bound, so hidden input can exceed the credit
  // held for it. Setting the model's context window closes the gap.

  return {
    input,
    output:
      request.body.max_output_tokens ??
      model.maxOutputTokens ??
      defaults.defaultMaxOutputTokens,
  };
}

/** Builds the body sent upstream with the provider's model name, without `stream_options` for providers that reject it. */
export function upstreamResponsesBody(
  request: ResponsesRequest,
  upstreamModel: string,
  keepStreamOptions: boolean,
): string {
  const body: Record<string, unknown> = {
    ...request.body,
    model: upstreamModel,
  };
  if (!keepStreamOptions) {
    delete body.stream_options;
  }
  return JSON.stringify(body);
}

/** Tokenizer count of the instructions and the text of every input item. */
export function estimateResponsesPrompt(
  request: ResponsesRequest,
  estimator: TokenEstimator,
): number {
  const { input, instructions } = request.body;
  const texts = [instructions ?? ""];
  if (typeof input === "string") {
    texts.push(input);
  } else {
    for (const item of input ?? []) {
      texts.push(...textsOfInputItem(item));
    }
  }

  return texts.reduce((total, text) => total + estimator.countText(text), 0);
}

function visibleInputBound(
  body: ResponsesBody,
  imageAllowance: number,
): number {
  let bound = 0;
  for (const [key, value] of Object.entries(body)) {
    if (key !== "input") {
      bound += jsonBytes(value);
    }
  }

  const input = body.input;
  if (typeof input === "string" || input == null) {
    return bound + jsonBytes(input ?? "");
  }
  for (const item of input) {
    const { content, ...rest } = item as Record<string, unknown>;
    bound += jsonBytes(rest) + contentBound(content, imageAllowance);
  }
  return bound;
}

function contentBound(content: unknown, imageAllowance: number): number {
  if (!Array.isArray(content)) {
    return jsonBytes(content ?? "");
  }

  let bound = 0;
  for (const part of content as { type?: unknown }[]) {
    bound +=
      part?.type === "input_image" ? imageAllowance : jsonBytes(part ?? "");
  }
  return bound;
}

/** Returns whether the provider adds input that the request body does not contain. */
function hasHiddenInput(body: ResponsesBody): boolean {
  const record = body as Record<string, unknown>;
  if (
    body.previous_response_id != null ||
    record.conversation != null ||
    record.prompt != null
  ) {
    return true;
  }
  if ((body.tools ?? []).some((tool) => !CLIENT_TOOL_TYPES.has(tool.type))) {
    return true;
  }
  if (!Array.isArray(body.input)) {
    return false;
  }

  return body.input.some((item) => {
    const content = (item as { content?: unknown }).content;
    return (
      Array.isArray(content) &&
      content.some(
        (part: { type?: unknown; file_id?: unknown; file_url?: unknown }) =>
          part?.type === "input_file" &&
          (part.file_id != null || part.file_url != null),
      )
    );
  });
}

/** Texts of one input item: message content, tool call arguments and tool outputs. */
function textsOfInputItem(item: Record<string, unknown>): string[] {
  const texts: string[] = [];
  for (const key of ["role", "content", "arguments", "output", "input"]) {
    const value = item[key];
    if (typeof value === "string") {
      texts.push(value);
    } else if (key === "content" && Array.isArray(value)) {
      for (const part of value as { text?: unknown }[]) {
        if (typeof part?.text === "string") {
          texts.push(part.text);
        }
      }
    }
  }
  return texts;
}
