import { ServerResponse } from "node:http";

import { TokenUsage } from "../../billing/usage";
import { parseOpenAiUsage } from "../openai/openai-usage";
import { scrubSecretDeep } from "../openai/upstream-errors";
import { SseEvent } from "../sse/sse-parser";
import { anthropicTypeFor, openAiTypeFor } from "./anthropic-errors";
import { AnthropicStreamMeter } from "./anthropic-stream-meter";
import { toAnthropicUsage } from "./anthropic-usage";
import { CacheTtl } from "./messages-request";
import {
  dataEvent,
  namedEvent,
  OutputCounter,
  parseEventData,
  SseRelayBase,
} from "./sse-relay-base";
import {
  finishReasonFor,
  stopReasonFor,
  toOpenAiUsage,
} from "./translate-response";

type Json = Record<string, unknown>;

/** Options of {@link AnthropicToChatStreamRelay}. */
export interface AnthropicToChatOptions {
  /** Model name shown to the client. */
  publicModel: string;
  requestId: string;
  /** Whether the client asked for `stream_options.include_usage`. */
  includeUsage: boolean;
  /** Lifetime to bill cache writes at when the stream gives no per-lifetime breakdown. */
  cacheTtl?: CacheTtl;
  /** Counts output tokens of the text seen when the stream broke off before reporting them. */
  countOutput?: OutputCounter;
}

/**
 * Reads an Anthropic Messages stream from a provider and writes OpenAI `chat.completion.chunk` events to the
 * client, ending in `data: [DONE]`. Text deltas become `content`, thinking deltas `reasoning_content`, and each
 * `tool_use` block a `tool_calls` entry: index, id and name first, then argument fragments. With
 * `includeUsage`, every chunk carries `"usage": null` and a `choices: []` usage chunk precedes `[DONE]`, as
 * OpenAI sends them.
 */
export class AnthropicToChatStreamRelay extends SseRelayBase {
  private readonly meter: AnthropicStreamMeter;
  private readonly created = Math.floor(Date.now() / 1000);
  private id: string;
  /** OpenAI `tool_calls` index of each Anthropic content block that is a tool call. */
  private readonly toolIndexOfBlock = new Map<number, number>();

  constructor(
    client: ServerResponse,
    signal: AbortSignal,
    providerKey: string,
    private readonly options: AnthropicToChatOptions,
  ) {
    super(client, signal, providerKey);
    this.meter = new AnthropicStreamMeter(options.cacheTtl);
    this.id = `chatcmpl-${options.requestId}`;
  }

  protected async handle(event: SseEvent): Promise<void> {
    if (this.outcome.finished || this.outcome.errorClass !== null) {
      return;
    }
    const data = parseEventData(event.data);
    if (data === null) {
      return;
    }

    if (event.event === "error" || data.type === "error") {
      await this.relayError(data);
      return;
    }

    this.meter.observe(data);
    switch (data.type) {
      case "message_start":
        return this.start(data);
      case "content_block_start":
        return this.blockStart(data);
      case "content_block_delta":
        return this.blockDelta(data);
      case "message_delta":
        return this.messageDelta(data);
      case "message_stop":
        return this.finish();
    }
  }

  protected async endOfBody(): Promise<void> {
    this.outcome.errorClass = "upstream_stream_broken";
  }

  protected settleUsage(outputText: string): void {
    const { usage, outputEstimated } = this.meter.result(
      outputText,
      this.options.countOutput,
    );
    this.outcome.usage = usage;
    this.outcome.outputEstimated = outputEstimated;
  }

  private async start(data: Json): Promise<void> {
    const message = data.message as Json | undefined;
    if (typeof message?.id === "string") {
      this.id = message.id;
    }
    await this.write(this.chunk({ role: "assistant", content: "" }, null));
  }

  private async blockStart(data: Json): Promise<void> {
    const block = data.content_block as Json | undefined;
    if (block?.type === "text" && typeof block.text === "string") {
      this.collect(block.text);
      if (block.text !== "") {
        await this.write(this.chunk({ content: block.text }, null));
      }
      return;
    }

    if (block?.type === "tool_use" && typeof data.index === "number") {
      const index = this.toolIndexOfBlock.size;
      this.toolIndexOfBlock.set(data.index, index);
      this.collect(block.name);
      const call = {
        index,
        id: block.id,
        type: "function",
        function: { name: block.name, arguments: "" },
      };
      await this.write(this.chunk({ tool_calls: [call] }, null));
    }
  }

  private async blockDelta(data: Json): Promise<void> {
    const delta = data.delta as Json | undefined;
    if (delta?.type === "text_delta" && typeof delta.text === "string") {
      this.collect(delta.text);
      await this.write(this.chunk({ content: delta.text }, null));
      return;
    }

    if (
      delta?.type === "thinking_delta" &&
      typeof delta.thinking === "string"
    ) {
      this.collect(delta.thinking);
      await this.write(this.chunk({ reasoning_content: delta.thinking }, null));
      return;
    }

    if (delta?.type === "input_json_delta") {
      const index = this.toolIndexOfBlock.get(data.index as number);
      const fragment = delta.partial_json;
      if (
        index === undefined ||
        typeof fragment !== "string" ||
        fragment === ""
      ) {
        return;
      }
      this.collect(fragment);
      const call = { index, function: { arguments: fragment } };
      await this.write(this.chunk({ tool_calls: [call] }, null));
    }
  }

  private async messageDelta(data: Json): Promise<void> {
    const delta = data.delta as Json | undefined;
    const finishReason = finishReasonFor(delta?.stop_reason);
    if (finishReason !== null) {
      await this.write(this.chunk({}, finishReason));
    }
  }

  private async finish(): Promise<void> {
    this.outcome.finished = true;
    if (this.options.includeUsage) {
      const usage = toOpenAiUsage(this.meter.rawUsage());
      if (usage !== null) {
        await this.write(dataEvent(this.frame([], usage)));
      }
    }
    await this.write("data: [DONE]\n\n");
  }

  private async relayError(data: Json): Promise<void> {
    this.outcome.errorClass = "upstream_error_event";
    const error = scrubSecretDeep(data.error, this.providerKey) as
      Json | undefined;
    const type = typeof error?.type === "string" ? error.type : "api_error";
    const message =
      typeof error?.message === "string"
        ? error.message
        : "The provider reported an error.";

    await this.write(
      dataEvent({
        error: {
          message,
          type: openAiTypeFor(type, 500),
          param: null,
          code: type,
        },
      }),
    );
  }

  private chunk(delta: Json, finishReason: string | null): string {
    const choice = {
      index: 0,
      delta,
      logprobs: null,
      finish_reason: finishReason,
    };
    return dataEvent(this.frame([choice], null));
  }

  private frame(choices: Json[], usage: Json | null): Json {
    const chunk: Json = {
      id: this.id,
      object: "chat.completion.chunk",
      created: this.created,
      model: this.options.publicModel,
      choices,
    };
    if (this.options.includeUsage) {
      chunk.usage = usage;
    }
    return chunk;
  }
}

/** Options of {@link ChatToAnthropicStreamRelay}. */
export interface ChatToAnthropicOptions {
  /** Model name shown to the client. */
  publicModel: string;
  requestId: string;
  /** Counts output tokens for the final `message_delta` when the provider reported no usage. */
  countOutput?: OutputCounter;
}

/** The content block being written to the client. */
type OpenBlock =
  | { kind: "text"; index: number }
  | { kind: "tool"; index: number; openAiIndex: number };

/**
 * Reads an OpenAI chat completion stream from a provider and writes an Anthropic Messages stream to the client:
 * `message_start`, then `content_block_start`, `content_block_delta` and `content_block_stop` for each text or
 * `tool_use` block, then `message_delta` with the stop reason and usage, and `message_stop`. Only choice 0 is
 * relayed. Reasoning deltas are counted as output but not sent, because Anthropic clients expect signed thinking
 * blocks that an OpenAI-compatible provider cannot produce.
 */
export class ChatToAnthropicStreamRelay extends SseRelayBase {
  private started = false;
  private nextBlockIndex = 0;
  private open: OpenBlock | null = null;
  private finishReason: string | null = null;
  private lastUsage: TokenUsage | null = null;

  constructor(
    client: ServerResponse,
    signal: AbortSignal,
    providerKey: string,
    private readonly options: ChatToAnthropicOptions,
  ) {
    super(client, signal, providerKey);
  }

  protected async handle(event: SseEvent): Promise<void> {
    if (this.outcome.finished || this.outcome.errorClass !== null) {
      return;
    }
    if (event.data === "[DONE]") {
      await this.finish();
      return;
    }
    const chunk = parseEventData(event.data);
    if (chunk === null) {
      return;
    }

    if (chunk.error !== undefined || event.event === "error") {
      await this.relayError(chunk);
      return;
    }

    await this.ensureStarted();
    if (chunk.usage !== undefined && chunk.usage !== null) {
      this.lastUsage = parseOpenAiUsage(chunk.usage) ?? this.lastUsage;
    }

    const choice = Array.isArray(chunk.choices)
      ? (chunk.choices as Json[]).find((item) => (item?.index ?? 0) === 0)
      : undefined;
    if (choice === undefined) {
      return;
    }
    await this.relayDelta(choice.delta as Json | undefined);
    if (typeof choice.finish_reason === "string") {
      this.finishReason = choice.finish_reason;
    }
  }

  /** A body that closed without `[DONE]` is complete after a finish reason, as some providers omit it. */
  protected async endOfBody(): Promise<void> {
    if (this.finishReason === null) {
      this.outcome.errorClass = "upstream_stream_broken";
      return;
    }
    await this.finish();
  }

  protected settleUsage(): void {
    this.outcome.usage = this.lastUsage;
  }

  private async ensureStarted(): Promise<void> {
    if (this.started) {
      return;
    }
    this.started = true;

    const message = {
      id: `msg_${this.options.requestId}`,
      type: "message",
      role: "assistant",
      model: this.options.publicModel,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      // The provider reports input tokens only at the end; the final message_delta carries them.
      usage: { input_tokens: 0, output_tokens: 0 },
    };
    await this.write(
      namedEvent("message_start", { type: "message_start", message }),
    );
  }

  private async relayDelta(delta: Json | undefined): Promise<void> {
    if (typeof delta !== "object" || delta === null) {
      return;
    }
    this.collect(delta.reasoning_content, delta.reasoning);

    for (const text of [delta.content, delta.refusal]) {
      if (typeof text === "string" && text !== "") {
        this.collect(text);
        await this.openText();
        await this.blockDelta({ type: "text_delta", text });
      }
    }

    if (Array.isArray(delta.tool_calls)) {
      for (const call of delta.tool_calls as Json[]) {
        await this.relayToolCall(call);
      }
    }
  }

  private async relayToolCall(call: Json): Promise<void> {
    const openAiIndex = typeof call?.index === "number" ? call.index : 0;
    const fn = (call?.function ?? {}) as Json;
    const isCurrent =
      this.open?.kind === "tool" && this.open.openAiIndex === openAiIndex;

    if (!isCurrent) {
      if (typeof fn.name !== "string") {
        // NOTE: a fragment for a tool call whose block was already closed cannot be sent, because Anthropic
        // blocks are sequential. OpenAI sends each call's fragments together, so this is not expected.
        return;
      }
      this.collect(fn.name);
      await this.openTool(openAiIndex, call.id, fn.name);
    }

    if (typeof fn.arguments === "string" && fn.arguments !== "") {
      this.collect(fn.arguments);
      await this.blockDelta({
        type: "input_json_delta",
        partial_json: fn.arguments,
      });
    }
  }

  private async openText(): Promise<void> {
    if (this.open?.kind === "text") {
      return;
    }
    await this.closeBlock();
    const index = this.nextBlockIndex++;
    this.open = { kind: "text", index };
    await this.write(
      namedEvent("content_block_start", {
        type: "content_block_start",
        index,
        content_block: { type: "text", text: "" },
      }),
    );
  }

  private async openTool(
    openAiIndex: number,
    id: unknown,
    name: string,
  ): Promise<void> {
    await this.closeBlock();
    const index = this.nextBlockIndex++;
    this.open = { kind: "tool", index, openAiIndex };
    await this.write(
      namedEvent("content_block_start", {
        type: "content_block_start",
        index,
        content_block: {
          type: "tool_use",
          id:
            typeof id === "string" && id !== ""
              ? id
              : `toolu_${this.options.requestId}_${openAiIndex}`,
          name,
          input: {},
        },
      }),
    );
  }

  private async blockDelta(delta: Json): Promise<void> {
    await this.write(
      namedEvent("content_block_delta", {
        type: "content_block_delta",
        index: this.open!.index,
        delta,
      }),
    );
  }

  private async closeBlock(): Promise<void> {
    if (this.open === null) {
      return;
    }
    const index = this.open.index;
    this.open = null;
    await this.write(
      namedEvent("content_block_stop", { type: "content_block_stop", index }),
    );
  }

  private async finish(): Promise<void> {
    await this.ensureStarted();
    await this.closeBlock();
    this.outcome.finished = true;

    await this.write(
      namedEvent("message_delta", {
        type: "message_delta",
        delta: {
          stop_reason: stopReasonFor(this.finishReason) ?? "end_turn",
          stop_sequence: null,
        },
        usage: this.finalUsage(),
      }),
    );
    await this.write(namedEvent("message_stop", { type: "message_stop" }));
  }

  /** Usage for the final `message_delta`: what the provider reported, else an estimate of the output alone. */
  private finalUsage(): Json {
    if (this.lastUsage !== null) {
      const usage = toAnthropicUsage(this.lastUsage);
      delete usage.cache_creation;
      return usage;
    }
    const counted = this.options.countOutput?.(this.collectedText()) ?? 0;
    return { output_tokens: counted };
  }

  private async relayError(chunk: Json): Promise<void> {
    this.outcome.errorClass = "upstream_error_event";
    const error = scrubSecretDeep(chunk.error, this.providerKey) as
      Json | undefined;
    const openAiType = typeof error?.type === "string" ? error.type : "";
    const message =
      typeof error?.message === "string"
        ? error.message
        : "The provider reported an error.";

    await this.write(
      namedEvent("error", {
        type: "error",
        error: { type: anthropicTypeFor(openAiType, 500), message },
      }),
    );
  }
}
