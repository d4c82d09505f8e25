import { z } from "zod";

import { invalidRequest } from "../../common/proxy-error";
import { ParsedRequest, TokenBounds } from "../endpoint";
import { TokenEstimator } from "../token-estimator.service";
import { MAX_TOKEN_LIMIT, upstreamChatBody } from "./chat-request";
import {
  checkStreamOptions,
  promptCount,
  splitTextAndTokens,
  textOrTokensBound,
  textOrTokensSchema,
  validateRequestBody,
} from "./request-validation";

/** Output limit of a legacy completion that sets no `max_tokens`, as OpenAI documents the field's default. */
export const DEFAULT_COMPLETION_MAX_TOKENS = 16;

/** Maximum prompts in one request: the proxy's own limit, equal to the embeddings input limit. */
const MAX_PROMPTS = 2048;

/**
 * The fields of legacy `POST /v1/completions` that the proxy reads. Other fields (`suffix`, `logprobs`,
 * `temperature`, provider extensions) pass to the provider untouched.
 */
const completionsBodySchema = z
  .object({
    model: z.string().min(1).max(200),
    prompt: textOrTokensSchema({
      maxItems: MAX_PROMPTS,
      allowEmptyString: true,
    }).nullish(),
    suffix: z.string().nullish(),
    max_tokens: z.number().int().min(0).max(MAX_TOKEN_LIMIT).nullish(),
    n: z.number().int().min(1).max(128).nullish(),
    best_of: z.number().int().min(1).max(20).nullish(),
    stream: z.boolean().nullish(),
    stream_options: z
      .looseObject({ include_usage: z.boolean().nullish() })
      .nullish(),
    echo: z.boolean().nullish(),
  })
  .loose();

export type CompletionsBody = z.infer<typeof completionsBodySchema>;

/** A validated legacy completions request. */
export interface CompletionsRequest extends ParsedRequest {
  body: CompletionsBody;
}

/** Validates a parsed JSON body; a failure names the first invalid field in OpenAI's error format. */
export function parseCompletionsRequest(body: unknown): CompletionsRequest {
  const parsed = validateRequestBody(completionsBodySchema, body);
  checkStreamOptions(parsed);

  const n = parsed.n ?? 1;
  const bestOf = parsed.best_of ?? 1;
  if (parsed.best_of != null && bestOf < n) {
    throw invalidRequest(
      `Invalid value for 'best_of': it must be at least 'n' (${n}).`,
      "invalid_value",
      "best_of",
    );
  }
  if (bestOf > 1 && parsed.stream === true) {
    throw invalidRequest(
      "Invalid value for 'best_of': it cannot be used when 'stream' is enabled.",
      "invalid_value",
      "best_of",
    );
  }

  return { model: parsed.model, stream: parsed.stream === true, body: parsed };
}

/**
 * Input and output tokens at most. Input counts the prompts and the suffix (UTF-8 bytes, token ids one each).
 * Every prompt gets `best_of` candidates (or `n`) of up to `max_tokens` each, all billed.
 */
export function completionsTokenBounds(
  request: CompletionsRequest,
): TokenBounds {
  const { prompt, suffix } = request.body;
  const candidates = Math.max(request.body.n ?? 1, request.body.best_of ?? 1);
  const maxTokens = request.body.max_tokens ?? DEFAULT_COMPLETION_MAX_TOKENS;
  const prompts = prompt == null ? 1 : promptCount(prompt);

  return {
    input:
      (prompt == null ? 0 : textOrTokensBound(prompt)) +
      Buffer.byteLength(suffix ?? ""),
    output: maxTokens * candidates * prompts,
  };
}

/**
 * Builds the body sent upstream, with the provider's model name. Streams get `stream_options.include_usage` so
 * that the provider reports usage, unless `askForUsage` is false: then `stream_options` is removed, because the
 * provider rejects it.
 */
export function upstreamCompletionsBody(
  request: CompletionsRequest,
  upstreamModel: string,
  askForUsage: boolean,
): string {
  return upstreamChatBody(request.body, upstreamModel, askForUsage);
}

/** Tokenizer count of the prompts and suffix: texts are tokenized, token arrays count their length. */
export function estimateCompletionsPrompt(
  request: CompletionsRequest,
  estimator: TokenEstimator,
): number {
  const { prompt, suffix } = request.body;
  const { texts, tokenCount } =
    prompt == null ? { texts: [], tokenCount: 0 } : splitTextAndTokens(prompt);

  return [...texts, suffix ?? ""].reduce(
    (total, text) => total + estimator.countText(text),
    tokenCount,
  );
}
