import { z } from "zod";

import { ParsedRequest, TokenBounds } from "../endpoint";
import { TokenEstimator } from "../token-estimator.service";
import {
  splitTextAndTokens,
  textOrTokensBound,
  textOrTokensSchema,
  validateRequestBody,
} from "./request-validation";

/** Maximum inputs in one embeddings request, as OpenAI documents it. */
export const MAX_EMBEDDING_INPUTS = 2048;

/**
 * The fields of `POST /v1/embeddings` that the proxy reads. OpenAI rejects empty strings as input. Other fields
 * (`user`, provider extensions) pass to the provider untouched.
 */
const embeddingsBodySchema = z
  .object({
    model: z.string().min(1).max(200),
    input: textOrTokensSchema({
      maxItems: MAX_EMBEDDING_INPUTS,
      allowEmptyString: false,
    }),
    encoding_format: z.enum(["float", "base64"]).nullish(),
    dimensions: z.number().int().min(1).max(65_536).nullish(),
  })
  .loose();

export type EmbeddingsBody = z.infer<typeof embeddingsBodySchema>;

/** A validated embeddings request. Embeddings are never streamed. */
export interface EmbeddingsRequest extends ParsedRequest {
  stream: false;
  body: EmbeddingsBody;
}

/** Validates a parsed JSON body; a failure names the first invalid field in OpenAI's error format. */
export function parseEmbeddingsRequest(body: unknown): EmbeddingsRequest {
  const parsed = validateRequestBody(embeddingsBodySchema, body);
  return { model: parsed.model, stream: false, body: parsed };
}

/** Input tokens at most (each string's UTF-8 bytes, each token id one token); embeddings generate no output. */
export function embeddingsTokenBounds(request: EmbeddingsRequest): TokenBounds {
  return { input: textOrTokensBound(request.body.input), output: 0 };
}

/** Builds the body sent upstream: the client's body with the provider's model name. */
export function upstreamEmbeddingsBody(
  request: EmbeddingsRequest,
  upstreamModel: string,
): string {
  return JSON.stringify({ ...request.body, model: upstreamModel });
}

/** Tokenizer count of the inputs: texts are tokenized, token arrays count their length. */
export function estimateEmbeddingsPrompt(
  request: EmbeddingsRequest,
  estimator: TokenEstimator,
): number {
  const { texts, tokenCount } = splitTextAndTokens(request.body.input);
  return texts.reduce(
    (total, text) => total + estimator.countText(text),
    tokenCount,
  );
}
