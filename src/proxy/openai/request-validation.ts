import { z } from "zod";

import { invalidRequest } from "../../common/proxy-error";
import { validateRequestBody } from "../validate-body";

export { validateRequestBody };

/** Rejects `stream_options` on a request that does not stream, as OpenAI does. */
export function checkStreamOptions(body: {
  stream?: boolean | null;
  stream_options?: unknown;
}): void {
  if (body.stream_options != null && body.stream !== true) {
    throw invalidRequest(
      "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
      "invalid_value",
      "stream_options",
    );
  }
}

/** UTF-8 bytes of a value's JSON text: an upper bound on its tokens under a byte-level BPE tokenizer. */
export function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value) ?? "");
}

/** A prompt or embedding input: a string, strings, one token array or several. */
export type TextOrTokens = string | string[] | number[] | number[][];

/**
 * Returns an upper bound on the tokens of a text-or-tokens input: each string counts its UTF-8 bytes, and a token array
 * counts exactly its length, since every element is one token.
 */
export function textOrTokensBound(input: TextOrTokens): number {
  if (typeof input === "string") {
    return Buffer.byteLength(input);
  }

  let bound = 0;
  for (const item of input) {
    if (typeof item === "string") {
      bound += Buffer.byteLength(item);
    } else if (Array.isArray(item)) {
      bound += item.length;
    } else {
      bound += 1;
    }
  }
  return bound;
}

/**
 * Returns the texts of a text-or-tokens input and the number of tokens given as token ids, for estimating
 * prompt tokens without a usage report.
 */
export function splitTextAndTokens(input: TextOrTokens): {
  texts: string[];
  tokenCount: number;
} {
  if (typeof input === "string") {
    return { texts: [input], tokenCount: 0 };
  }

  const texts: string[] = [];
  let tokenCount = 0;
  for (const item of input) {
    if (typeof item === "string") {
      texts.push(item);
    } else if (Array.isArray(item)) {
      tokenCount += item.length;
    } else {
      tokenCount += 1;
    }
  }
  return { texts, tokenCount };
}

/** Number of separate prompts in a text-or-tokens input; each gets its own completions. */
export function promptCount(input: TextOrTokens): number {
  if (typeof input === "string" || input.length === 0) {
    return 1;
  }
  return typeof input[0] === "number" ? 1 : input.length;
}

/** Schema of a text-or-tokens input with OpenAI's bounds on items and token ids. */
export function textOrTokensSchema(limits: {
  maxItems: number;
  allowEmptyString: boolean;
}) {
  const text = limits.allowEmptyString ? z.string() : z.string().min(1);
  const tokenId = z.number().int().min(0).max(2_147_483_647);
  const tokens = z.array(tokenId).min(1);

  return z.union([
    text,
    z.array(text).min(1).max(limits.maxItems),
    tokens,
    z.array(tokens).min(1).max(limits.maxItems),
  ]);
}
