import { ProxyError } from "../../common/proxy-error";
import { parseOpenAiUsage } from "../openai/openai-usage";
import { toAnthropicUsage } from "./anthropic-usage";

type Json = Record<string, unknown>;

/** OpenAI `finish_reason` for each Anthropic `stop_reason`. */
const FINISH_REASONS: Record<string, string> = {
  end_turn: "stop",
  stop_sequence: "stop",
  pause_turn: "stop",
  max_tokens: "length",
  model_context_window_exceeded: "length",
  tool_use: "tool_calls",
  refusal: "content_filter",
};

/** Anthropic `stop_reason` for each OpenAI `finish_reason`. */
const STOP_REASONS: Record<string, string> = {
  stop: "end_turn",
  length: "max_tokens",
  tool_calls: "tool_use",
  function_call: "tool_use",
  content_filter: "refusal",
};

/** The OpenAI `finish_reason` for an Anthropic `stop_reason`; null stays null, and unknown reasons map to `stop`. */
export function finishReasonFor(stopReason: unknown): string | null {
  if (typeof stopReason !== "string") {
    return null;
  }
  return FINISH_REASONS[stopReason] ?? "stop";
}

/** The Anthropic `stop_reason` for an OpenAI `finish_reason`; null stays null, and unknown reasons map to `end_turn`. */
export function stopReasonFor(finishReason: unknown): string | null {
  if (typeof finishReason !== "string") {
    return null;
  }
  return STOP_REASONS[finishReason] ?? "end_turn";
}

/**
 * Builds an OpenAI `usage` object from an Anthropic one: `prompt_tokens` is the total input, since Anthropic's
 * `input_tokens` excludes cache reads and writes, and `cached_tokens` and `cache_write_tokens` are the cache
 * counters. Thinking tokens, part of `output_tokens`, are shown as `reasoning_tokens`.
 */
export function toOpenAiUsage(usage: unknown): Json | null {
  if (typeof usage !== "object" || usage === null) {
    return null;
  }

  const root = usage as Json;
  const input = count(root.input_tokens);
  const cacheRead = count(root.cache_read_input_tokens);
  const cacheWrite = count(root.cache_creation_input_tokens);
  const output = count(root.output_tokens);
  const details = root.output_tokens_details as Json | null | undefined;
  const promptTokens = input + cacheRead + cacheWrite;

  return {
    prompt_tokens: promptTokens,
    completion_tokens: output,
    total_tokens: promptTokens + output,
    prompt_tokens_details: {
      cached_tokens: cacheRead,
      cache_write_tokens: cacheWrite,
    },
    completion_tokens_details: {
      reasoning_tokens: Math.min(output, count(details?.thinking_tokens)),
    },
  };
}

/**
 * Builds an OpenAI `chat.completion` from a non-streamed Anthropic message: text blocks join into `content`,
 * `tool_use` blocks become `tool_calls`, thinking blocks go to `reasoning_content` (the field DeepSeek-style
 * APIs use), and the model is the public name the client asked for.
 */
export function anthropicMessageToChatCompletion(
  message: unknown,
  publicModel: string,
  requestId: string,
): Json {
  const root = asObject(message);
  const blocks = Array.isArray(root.content) ? (root.content as Json[]) : [];

  const texts: string[] = [];
  const thinking: string[] = [];
  const calls: Json[] = [];
  for (const block of blocks) {
    if (block?.type === "text" && typeof block.text === "string") {
      texts.push(block.text);
    } else if (
      block?.type === "thinking" &&
      typeof block.thinking === "string"
    ) {
      thinking.push(block.thinking);
    } else if (block?.type === "tool_use") {
      calls.push({
        id: block.id,
        type: "function",
        function: {
          name: block.name,
          arguments: JSON.stringify(block.input ?? {}),
        },
      });
    }
  }

  const reply: Json = {
    role: "assistant",
    content: texts.length > 0 ? texts.join("") : null,
    refusal: null,
  };
  if (thinking.length > 0) {
    reply.reasoning_content = thinking.join("");
  }
  if (calls.length > 0) {
    reply.tool_calls = calls;
  }

  const completion: Json = {
    id: typeof root.id === "string" ? root.id : `chatcmpl-${requestId}`,
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model: publicModel,
    choices: [
      {
        index: 0,
        message: reply,
        logprobs: null,
        finish_reason: finishReasonFor(root.stop_reason) ?? "stop",
      },
    ],
  };
  const usage = toOpenAiUsage(root.usage);
  if (usage !== null) {
    completion.usage = usage;
  }
  return completion;
}

/**
 * Builds an Anthropic `message` from a non-streamed OpenAI chat completion's first choice: content and refusal
 * become text blocks, `tool_calls` become `tool_use` blocks, and `finish_reason` becomes `stop_reason`.
 * Throws a `ProxyError` (502) when the completion has no choice or a tool call's arguments are not a JSON object,
 * since an Anthropic client cannot receive either.
 */
export function chatCompletionToAnthropicMessage(
  completion: unknown,
  publicModel: string,
): Json {
  const root = asObject(completion);
  const choice = Array.isArray(root.choices)
    ? (root.choices as Json[])[0]
    : undefined;
  if (typeof choice !== "object" || choice === null) {
    throw invalidAnswer("the provider's completion has no choice");
  }
  const reply = asObject(choice.message);

  const content: Json[] = [];
  for (const text of [reply.content, reply.refusal]) {
    if (typeof text === "string" && text !== "") {
      content.push({ type: "text", text });
    }
  }
  if (Array.isArray(reply.tool_calls)) {
    for (const call of reply.tool_calls as Json[]) {
      content.push(toolUseOf(call));
    }
  }

  const usage = parseOpenAiUsage(root.usage);
  const id = typeof root.id === "string" ? root.id : "";
  return {
    id: id.startsWith("msg_") ? id : `msg_${id.replace(/^chatcmpl-/, "")}`,
    type: "message",
    role: "assistant",
    model: publicModel,
    content,
    stop_reason: stopReasonFor(choice.finish_reason) ?? "end_turn",
    stop_sequence: null,
    usage:
      usage === null
        ? { input_tokens: 0, output_tokens: 0 }
        : toAnthropicUsage(usage),
  };
}

/** A `tool_use` block from an OpenAI tool call, whose arguments must be a JSON object. */
export function toolUseOf(call: Json): Json {
  const fn = asObject(call?.function);
  const input = parseObject(fn.arguments);
  if (input === null) {
    throw invalidAnswer(
      `the arguments of tool call '${String(call?.id)}' are not a JSON object`,
    );
  }
  return { type: "tool_use", id: call.id, name: fn.name, input };
}

/** Parses text that should hold a JSON object; empty text is an empty object, anything else not an object is null. */
export function parseObject(text: unknown): Json | null {
  if (text === undefined || text === null || text === "") {
    return {};
  }
  if (typeof text !== "string") {
    return null;
  }
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Json)
      : null;
  } catch {
    return null;
  }
}

function asObject(value: unknown): Json {
  return typeof value === "object" && value !== null ? (value as Json) : {};
}

function count(value: unknown): number {
  return typeof value === "number" && Number.isInteger(value) && value >= 0
    ? value
    : 0;
}

function invalidAnswer(reason: string): ProxyError {
  return new ProxyError(
    `The provider's answer cannot be translated to Anthropic's format: ${reason}.`,
    {
      status: 502,
      type: "upstream_error",
      code: "upstream_invalid_response",
      logLevel: "warn",
    },
  );
}
