import { Injectable } from "@nestjs/common";
import type * as GptTokenizer from "gpt-tokenizer";

/** Tokens OpenAI adds around each chat message and to prime the reply, per its published counting recipe. */
const TOKENS_PER_MESSAGE = 3;
const TOKENS_PER_REPLY = 3;

/** Longest text tokenized whole; longer texts are sampled, in characters. */
const SAMPLE_CHARS = 256 * 1024;
const SAMPLE_PARTS = 16;

/** Text treated as plain text: special-token markers in user content are counted, not rejected. */
const PLAIN_TEXT = {
  allowedSpecial: new Set<string>(),
  disallowedSpecial: new Set<string>(),
};

let tokenizer: typeof GptTokenizer | null = null;

/**
 * Counts tokens with o200k_base. The tokenizer's tables take about 70 MB once loaded, and most providers report
 * usage, so it is loaded on the first count rather than at start-up.
 */
function countTokens(text: string, options: typeof PLAIN_TEXT): number {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- deferred load, see above
  tokenizer ??= require("gpt-tokenizer") as typeof GptTokenizer;
  return tokenizer.countTokens(text, options);
}

/**
 * Counts tokens with the o200k_base tokenizer (the GPT-4o family's) when a provider reports no usage. Other
 * model families tokenize differently, so every count from here is recorded as an estimate.
 */
@Injectable()
export class TokenEstimator {
  countText(text: string): number {
    if (text.length === 0) {
      return 0;
    }
    if (text.length <= SAMPLE_CHARS) {
      return countTokens(text, PLAIN_TEXT);
    }

    // Tokenizing tens of megabytes would stall the event loop for seconds, so long texts are counted from an
    // evenly spread sample and scaled up, rounding up.
    const stride = Math.floor(text.length / SAMPLE_PARTS);
    const partLength = Math.floor(SAMPLE_CHARS / SAMPLE_PARTS);
    let sampled = 0;
    for (let part = 0; part < SAMPLE_PARTS; part++) {
      sampled += countTokens(
        text.slice(part * stride, part * stride + partLength),
        PLAIN_TEXT,
      );
    }
    return Math.ceil((sampled * text.length) / (partLength * SAMPLE_PARTS));
  }

  /** Estimates the prompt tokens of chat messages: their text parts plus the per-message framing. */
  countChatPrompt(messages: unknown[]): number {
    let total = TOKENS_PER_REPLY;
    for (const message of messages) {
      total += TOKENS_PER_MESSAGE + this.countText(textOfMessage(message));
    }
    return total;
  }
}

/** Collects the text of one chat message: role, name, content strings and text parts, tool call arguments. */
export function textOfMessage(message: unknown): string {
  if (typeof message !== "object" || message === null) {
    return "";
  }

  const record = message as Record<string, unknown>;
  const pieces: string[] = [];
  for (const key of ["role", "name"]) {
    if (typeof record[key] === "string") {
      pieces.push(record[key]);
    }
  }
  pieces.push(textOfContent(record.content));

  if (Array.isArray(record.tool_calls)) {
    for (const call of record.tool_calls as {
      function?: { name?: unknown; arguments?: unknown };
    }[]) {
      for (const value of [call.function?.name, call.function?.arguments]) {
        if (typeof value === "string") {
          pieces.push(value);
        }
      }
    }
  }

  return pieces.join("\n");
}

function textOfContent(content: unknown): string {
  if (typeof content === "string") {
    return content;
  }
  if (!Array.isArray(content)) {
    return "";
  }

  return content
    .map((part: { type?: unknown; text?: unknown; refusal?: unknown }) =>
      typeof part?.text === "string"
        ? part.text
        : typeof part?.refusal === "string"
          ? part.refusal
          : "",
    )
    .join("\n");
}
