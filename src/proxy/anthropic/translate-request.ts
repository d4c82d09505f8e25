import { invalidRequest } from "../../common/proxy-error";
import { ChatRequest } from "../openai/chat-request";
import { MessagesRequest } from "./messages-request";

type Json = Record<string, unknown>;

/** A conversation turn being built for the Anthropic API; consecutive turns of one role are merged. */
interface Turn {
  role: "user" | "assistant";
  content: Json[];
}

/** The Anthropic `tool_choice` type for each of OpenAI's string `tool_choice` values. */
const TOOL_CHOICE_TYPES: Record<string, string> = {
  auto: "auto",
  none: "none",
  required: "any",
};

/** A `data:` URL of base64 content, as OpenAI clients send inline images and files. */
const DATA_URL = /^data:([^;,]+);base64,(.*)$/s;

/**
 * Builds an Anthropic Messages request from an OpenAI chat request. System and developer messages become
 * `system` text blocks, tool calls become `tool_use` blocks, tool messages become `tool_result` blocks in a user
 * turn, and consecutive turns of one role are merged, because Anthropic expects roles to alternate. The output
 * limit is `max_completion_tokens`, else `max_tokens`, else `defaultMaxTokens`, since Anthropic requires one.
 *
 * Throws a `ProxyError` (400) for what Anthropic cannot express: `n` above 1, log probabilities, JSON response
 * formats, audio, custom tools, a temperature above 1, and tool call arguments that are not a JSON object.
 */
export function chatToAnthropicRequest(
  chat: ChatRequest,
  upstreamModel: string,
  defaultMaxTokens: number,
): Json {
  rejectInexpressible(chat);

  const system: Json[] = [];
  const turns: Turn[] = [];
  chat.messages.forEach((message, index) =>
    addChatMessage(message, `messages.${index}`, system, turns),
  );

  const body: Json = {
    model: upstreamModel,
    max_tokens:
      chat.max_completion_tokens ?? chat.max_tokens ?? defaultMaxTokens,
    messages: turns,
  };
  if (system.length > 0) {
    body.system = system;
  }

  copyDefined(chat, body, ["temperature", "top_p"]);
  const stop = chat.stop;
  if (typeof stop === "string") {
    body.stop_sequences = [stop];
  } else if (Array.isArray(stop) && stop.length > 0) {
    body.stop_sequences = stop;
  }
  if (chat.stream === true) {
    body.stream = true;
  }
  if (typeof chat.user === "string" && chat.user !== "") {
    body.metadata = { user_id: chat.user };
  }

  addChatTools(chat, body);
  return body;
}

function rejectInexpressible(chat: ChatRequest): void {
  if ((chat.n ?? 1) > 1) {
    throw inexpressible("n", "Anthropic models return one choice per request");
  }
  if (chat.logprobs === true || chat.top_logprobs != null) {
    throw inexpressible(
      "logprobs",
      "Anthropic models return no log probabilities",
    );
  }

  const format = chat.response_format as { type?: unknown } | null | undefined;
  if (format != null && format.type !== "text") {
    throw inexpressible(
      "response_format",
      "JSON response formats cannot be sent to an Anthropic model",
    );
  }

  const modalities = chat.modalities;
  if (Array.isArray(modalities) && modalities.some((item) => item !== "text")) {
    throw inexpressible("modalities", "Anthropic models return text only");
  }

  if (typeof chat.temperature === "number" && chat.temperature > 1) {
    throw inexpressible(
      "temperature",
      "Anthropic models accept a temperature from 0 to 1",
    );
  }
}

function addChatMessage(
  message: Json,
  path: string,
  system: Json[],
  turns: Turn[],
): void {
  switch (message.role) {
    case "system":
    case "developer":
      system.push(...textBlocks(message.content, `${path}.content`));
      return;

    case "user":
      pushTurn(turns, "user", userBlocks(message.content, `${path}.content`));
      return;

    case "assistant":
      pushTurn(turns, "assistant", assistantBlocks(message, path));
      return;

    case "tool":
      pushTurn(turns, "user", [toolResultBlock(message, path)]);
      return;

    default:
      throw inexpressible(
        `${path}.role`,
        `the role '${String(message.role)}' has no Anthropic equivalent`,
      );
  }
}

function pushTurn(turns: Turn[], role: Turn["role"], content: Json[]): void {
  if (content.length === 0) {
    return;
  }

  const last = turns.at(-1);
  if (last?.role === role) {
    last.content.push(...content);
    return;
  }
  turns.push({ role, content });
}

/** Text blocks of a system, developer or tool message: a string or text parts. */
function textBlocks(content: unknown, path: string): Json[] {
  if (typeof content === "string") {
    return content === "" ? [] : [{ type: "text", text: content }];
  }
  if (content == null) {
    return [];
  }
  if (!Array.isArray(content)) {
    throw inexpressible(path, "content must be a string or an array of parts");
  }

  return (content as Json[]).map((part, index) => {
    if (part?.type !== "text" || typeof part.text !== "string") {
      throw inexpressible(
        `${path}.${index}`,
        "only text parts can be sent here to an Anthropic model",
      );
    }
    return { type: "text", text: part.text };
  });
}

function userBlocks(content: unknown, path: string): Json[] {
  if (typeof content === "string") {
    return [{ type: "text", text: content }];
  }
  if (!Array.isArray(content)) {
    throw inexpressible(path, "content must be a string or an array of parts");
  }

  return (content as Json[]).map((part, index) =>
    userBlock(part, `${path}.${index}`),
  );
}

function userBlock(part: Json, path: string): Json {
  if (part?.type === "text" && typeof part.text === "string") {
    return { type: "text", text: part.text };
  }

  if (part?.type === "image_url") {
    const image = part.image_url as { url?: unknown } | undefined;
    if (typeof image?.url !== "string") {
      throw inexpressible(`${path}.image_url.url`, "the image URL is missing");
    }
    return {
      type: "image",
      source: sourceOf(image.url, `${path}.image_url.url`),
    };
  }

  if (part?.type === "file") {
    const file = part.file as { file_data?: unknown } | undefined;
    if (typeof file?.file_data === "string") {
      return {
        type: "document",
        source: sourceOf(file.file_data, `${path}.file.file_data`),
      };
    }
    throw inexpressible(
      `${path}.file`,
      "only files sent inline as file_data can be sent to an Anthropic model",
    );
  }

  throw inexpressible(
    `${path}.type`,
    `the content part type '${String(part?.type)}' has no Anthropic equivalent`,
  );
}

/** Builds an Anthropic `source` for an image or file: base64 from a data URL, else a URL source. */
function sourceOf(url: string, path: string): Json {
  const match = DATA_URL.exec(url);
  if (match) {
    return { type: "base64", media_type: match[1], data: match[2] };
  }
  if (/^https?:\/\//i.test(url)) {
    return { type: "url", url };
  }
  throw inexpressible(path, "expected an http(s) URL or a base64 data URL");
}

function assistantBlocks(message: Json, path: string): Json[] {
  const blocks: Json[] = [];
  const content = message.content;

  if (typeof content === "string") {
    if (content !== "") {
      blocks.push({ type: "text", text: content });
    }
  } else if (Array.isArray(content)) {
    (content as Json[]).forEach((part, index) => {
      const text = part?.type === "refusal" ? part.refusal : part?.text;
      if (typeof text !== "string") {
        throw inexpressible(
          `${path}.content.${index}`,
          "only text and refusal parts can be sent to an Anthropic model",
        );
      }
      blocks.push({ type: "text", text });
    });
  }

  const calls = message.tool_calls;
  if (Array.isArray(calls)) {
    (calls as Json[]).forEach((call, index) =>
      blocks.push(toolUseBlock(call, `${path}.tool_calls.${index}`)),
    );
  }
  return blocks;
}

function toolUseBlock(call: Json, path: string): Json {
  const fn = call?.function as
    { name?: unknown; arguments?: unknown } | undefined;
  if (typeof call?.id !== "string" || typeof fn?.name !== "string") {
    throw inexpressible(path, "a tool call needs an id and a function name");
  }

  return {
    type: "tool_use",
    id: call.id,
    name: fn.name,
    input: parseArguments(fn.arguments, `${path}.function.arguments`),
  };
}

/** Tool call arguments as an object; Anthropic's `tool_use.input` must be a JSON object. */
function parseArguments(text: unknown, path: string): Json {
  if (text === undefined || text === null || text === "") {
    return {};
  }
  if (typeof text !== "string") {
    throw inexpressible(path, "tool call arguments must be a JSON string");
  }

  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw inexpressible(path, "tool call arguments are not valid JSON");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw inexpressible(path, "tool call arguments must be a JSON object");
  }
  return value as Json;
}

function toolResultBlock(message: Json, path: string): Json {
  if (typeof message.tool_call_id !== "string") {
    throw inexpressible(
      `${path}.tool_call_id`,
      "a tool message needs the id of its tool call",
    );
  }

  const content = message.content;
  return {
    type: "tool_result",
    tool_use_id: message.tool_call_id,
    content:
      typeof content === "string"
        ? content
        : textBlocks(content, `${path}.content`),
  };
}

function addChatTools(chat: ChatRequest, body: Json): void {
  const tools = chat.tools;
  if (Array.isArray(tools) && tools.length > 0) {
    body.tools = (tools as Json[]).map((tool, index) =>
      anthropicTool(tool, `tools.${index}`),
    );
  }

  const choice = anthropicToolChoice(chat.tool_choice);
  if (chat.parallel_tool_calls === false) {
    body.tool_choice = {
      ...(choice ?? { type: "auto" }),
      disable_parallel_tool_use: true,
    };
  } else if (choice !== null) {
    body.tool_choice = choice;
  }
}

function anthropicTool(tool: Json, path: string): Json {
  const fn = tool?.function as Json | undefined;
  if (tool?.type !== "function" || typeof fn?.name !== "string") {
    throw inexpressible(
      path,
      "only function tools can be sent to an Anthropic model",
    );
  }

  const result: Json = {
    name: fn.name,
    input_schema: fn.parameters ?? { type: "object", properties: {} },
  };
  if (typeof fn.description === "string") {
    result.description = fn.description;
  }
  if (typeof fn.strict === "boolean") {
    result.strict = fn.strict;
  }
  return result;
}

function anthropicToolChoice(choice: unknown): Json | null {
  if (choice === undefined || choice === null) {
    return null;
  }
  if (typeof choice === "string") {
    const type = TOOL_CHOICE_TYPES[choice];
    if (type === undefined) {
      throw inexpressible("tool_choice", `unknown tool_choice '${choice}'`);
    }
    return { type };
  }

  const name = (choice as { function?: { name?: unknown } }).function?.name;
  if (typeof name !== "string") {
    throw inexpressible(
      "tool_choice",
      "only a named function can be forced on an Anthropic model",
    );
  }
  return { type: "tool", name };
}

/**
 * Builds an OpenAI chat request from an Anthropic Messages request. `system` becomes a system message,
 * `tool_use` blocks become `tool_calls`, `tool_result` blocks become tool messages (placed before the rest of
 * their user turn, as OpenAI expects results right after the calls), and images become `image_url` parts.
 * Thinking blocks are dropped, because OpenAI-compatible APIs take no reasoning back, and so are the `thinking`
 * and `top_k` settings, which have no OpenAI equivalent. The output limit goes in
 * `max_completion_tokens`, which OpenAI's reasoning models require in place of the deprecated `max_tokens`.
 * For streams, `askForUsage` adds `stream_options.include_usage`, without which the provider reports no usage.
 *
 * Throws a `ProxyError` (400) for server tools, document blocks and images inside tool results.
 */
export function messagesToChatRequest(
  request: MessagesRequest,
  upstreamModel: string,
  askForUsage = true,
): Json {
  const messages: Json[] = [];
  const system = systemText(request.system);
  if (system !== null) {
    messages.push({ role: "system", content: system });
  }

  request.messages.forEach((message, index) =>
    messages.push(...chatMessages(message, `messages.${index}`)),
  );

  const body: Json = {
    model: upstreamModel,
    messages,
    max_completion_tokens: request.max_tokens,
  };
  copyDefined(request, body, ["temperature", "top_p"]);
  if (request.stop_sequences && request.stop_sequences.length > 0) {
    body.stop = request.stop_sequences;
  }
  if (request.stream === true) {
    body.stream = true;
    if (askForUsage) {
      body.stream_options = { include_usage: true };
    }
  }

  addAnthropicTools(request, body);
  return body;
}

function systemText(system: MessagesRequest["system"]): string | null {
  if (system === undefined) {
    return null;
  }
  const text =
    typeof system === "string"
      ? system
      : system.map((block) => block.text).join("\n\n");
  return text === "" ? null : text;
}

function chatMessages(
  message: MessagesRequest["messages"][number],
  path: string,
): Json[] {
  if (typeof message.content === "string") {
    return [{ role: message.role, content: message.content }];
  }

  const blocks = message.content as Json[];
  if (message.role === "assistant") {
    return [assistantMessage(blocks, path)];
  }

  const toolMessages: Json[] = [];
  const parts: Json[] = [];
  blocks.forEach((block, index) => {
    const blockPath = `${path}.content.${index}`;
    if (block.type === "tool_result") {
      toolMessages.push(toolMessage(block, blockPath));
    } else {
      parts.push(chatPart(block, blockPath));
    }
  });

  const result = [...toolMessages];
  if (parts.length > 0) {
    result.push({
      role: message.role,
      content:
        message.role === "system"
          ? parts.map((part) => part.text).join("\n\n")
          : parts,
    });
  }
  return result;
}

function assistantMessage(blocks: Json[], path: string): Json {
  const texts: string[] = [];
  const calls: Json[] = [];

  blocks.forEach((block, index) => {
    if (block.type === "text" && typeof block.text === "string") {
      texts.push(block.text);
    } else if (block.type === "tool_use") {
      calls.push({
        id: block.id,
        type: "function",
        function: {
          name: block.name,
          arguments: JSON.stringify(block.input ?? {}),
        },
      });
    } else if (
      block.type !== "thinking" &&
      block.type !== "redacted_thinking"
    ) {
      throw inexpressible(
        `${path}.content.${index}.type`,
        `the block type '${String(block.type)}' has no OpenAI equivalent`,
      );
    }
  });

  const message: Json = {
    role: "assistant",
    content: texts.length > 0 ? texts.join("") : null,
  };
  if (calls.length > 0) {
    message.tool_calls = calls;
  }
  return message;
}

function toolMessage(block: Json, path: string): Json {
  const content = block.content;
  let text: string;
  if (typeof content === "string") {
    text = content;
  } else if (Array.isArray(content)) {
    text = (content as Json[])
      .map((inner, index) => {
        if (inner?.type !== "text" || typeof inner.text !== "string") {
          throw inexpressible(
            `${path}.content.${index}`,
            "tool results sent to an OpenAI-compatible model may hold text only",
          );
        }
        return inner.text;
      })
      .join("\n");
  } else {
    text = "";
  }

  // OpenAI tool messages have no error flag, so the model learns of the failure from the text.
  if (block.is_error === true) {
    text = `Error: ${text}`;
  }
  return { role: "tool", tool_call_id: block.tool_use_id, content: text };
}

function chatPart(block: Json, path: string): Json {
  if (block.type === "text" && typeof block.text === "string") {
    return { type: "text", text: block.text };
  }

  if (block.type === "image") {
    const source = block.source as Json | undefined;
    if (source?.type === "base64") {
      return {
        type: "image_url",
        image_url: {
          url: `data:${String(source.media_type)};base64,${String(source.data)}`,
        },
      };
    }
    if (source?.type === "url" && typeof source.url === "string") {
      return { type: "image_url", image_url: { url: source.url } };
    }
    throw inexpressible(
      `${path}.source`,
      "only base64 and URL image sources can be sent to an OpenAI-compatible model",
    );
  }

  throw inexpressible(
    `${path}.type`,
    `the block type '${String(block.type)}' has no OpenAI equivalent`,
  );
}

function addAnthropicTools(request: MessagesRequest, body: Json): void {
  if (request.tools && request.tools.length > 0) {
    body.tools = request.tools.map((tool, index) => {
      if (tool.type !== undefined && tool.type !== "custom") {
        throw inexpressible(
          `tools.${index}.type`,
          `the server tool ${JSON.stringify(tool.type)} runs only on Anthropic's servers`,
        );
      }
      const fn: Json = {
        name: tool.name,
        parameters: tool.input_schema ?? { type: "object", properties: {} },
      };
      if (typeof tool.description === "string") {
        fn.description = tool.description;
      }
      if (typeof tool.strict === "boolean") {
        fn.strict = tool.strict;
      }
      return { type: "function", function: fn };
    });
  }

  const choice = request.tool_choice;
  if (choice === undefined) {
    return;
  }
  if (choice.type === "tool") {
    body.tool_choice = { type: "function", function: { name: choice.name } };
  } else if (choice.type === "any") {
    body.tool_choice = "required";
  } else {
    body.tool_choice = choice.type;
  }
  if (choice.disable_parallel_tool_use === true && body.tools !== undefined) {
    body.parallel_tool_calls = false;
  }
}

function copyDefined(source: Json, target: Json, keys: string[]): void {
  for (const key of keys) {
    if (source[key] !== undefined && source[key] !== null) {
      target[key] = source[key];
    }
  }
}

function inexpressible(param: string, reason: string) {
  return invalidRequest(
    `Invalid value for '${param}': ${reason}.`,
    "unsupported_by_provider",
    param,
  );
}
