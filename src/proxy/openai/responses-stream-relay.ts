import { ServerResponse } from "node:http";

import { abortClass, classifyBodyError } from "../abort-reasons";
import { StreamRelay } from "../endpoint";
import { SseEvent, SseParser } from "../sse/sse-parser";
import {
  frame,
  pushText,
  RelayOutcome,
  writeToClient,
} from "./chat-stream-relay";
import { parseObject } from "./chat.endpoint";
import { parseResponsesUsage } from "./responses-usage";
import { scrubSecretDeep } from "./upstream-errors";

/** Event types whose `delta` is generated text: output, refusals, reasoning, tool call arguments and code. */
const OUTPUT_DELTA_TYPES = new Set([
  "response.output_text.delta",
  "response.refusal.delta",
  "response.reasoning_summary_text.delta",
  "response.reasoning_text.delta",
  "response.function_call_arguments.delta",
  "response.custom_tool_call_input.delta",
  "response.mcp_call_arguments.delta",
  "response.code_interpreter_call_code.delta",
]);

/**
 * Terminal events and the error class each leaves on the outcome. A response that stopped early at its output
 * limit or a content filter (`response.incomplete`) ended as the provider intended, like a chat completion with
 * `finish_reason: "length"`, so it counts as finished. A failed response is not finished, but its reported usage
 * is still charged.
 */
const TERMINAL_EVENTS: Record<string, string | null> = {
  "response.completed": null,
  "response.incomplete": null,
  "response.failed": "response_failed",
};

/** The parts of a Responses stream event that the relay reads. */
interface ResponsesEvent {
  type?: unknown;
  delta?: unknown;
  error?: unknown;
  item?: { type?: unknown; name?: unknown };
  response?: { usage?: unknown };
}

/**
 * Relays a Responses API stream (`event: response.created` ... one terminal event, no `[DONE]`) from a provider
 * to a client, event by event. Each event is framed anew, so split reads, comments and keep-alives never reach
 * the client. Usage comes from the terminal event (`response.completed`, `response.incomplete` or
 * `response.failed`); events after it are read but not passed on. `error` events and `response.failed` are
 * passed on with the provider key scrubbed.
 */
export class ResponsesStreamRelay implements StreamRelay {
  private readonly parser = new SseParser();
  private readonly output: string[] = [];
  private sawTerminalEvent = false;
  private readonly outcome: RelayOutcome = {
    finished: false,
    usage: null,
    outputText: "",
    sawOutput: false,
    firstOutputAt: null,
    errorClass: null,
  };

  constructor(
    private readonly client: ServerResponse,
    private readonly signal: AbortSignal,
    /** The provider key, scrubbed from error events before they are passed on. */
    private readonly providerKey: string,
  ) {}

  /** Reads the provider's body to its end, or until the client leaves or the body fails. Never throws. */
  async run(body: AsyncIterable<Buffer>): Promise<RelayOutcome> {
    try {
      for await (const chunk of body) {
        for (const event of this.parser.push(chunk)) {
          await this.handle(event);
        }
      }
      for (const event of this.parser.end()) {
        await this.handle(event);
      }
      if (!this.sawTerminalEvent) {
        this.outcome.errorClass ??= "upstream_stream_broken";
      }
    } catch (error) {
      this.outcome.errorClass ??= this.signal.aborted
        ? abortClass(this.signal)
        : classifyBodyError(error);
    }

    this.outcome.outputText = this.output.join("");
    return this.outcome;
  }

  private async handle(event: SseEvent): Promise<void> {
    if (this.sawTerminalEvent) {
      return;
    }
    const data = parseObject(event.data) as ResponsesEvent | null;
    if (data === null) {
      return;
    }
    const type = typeof data.type === "string" ? data.type : event.event;

    // A provider may send an `error` event and then `response.failed` with usage, so reading goes on.
    if (type === "error" || (type === undefined && data.error !== undefined)) {
      this.outcome.errorClass ??= "upstream_error_event";
      await this.writeScrubbed(event, data);
      return;
    }

    if (type !== undefined && type in TERMINAL_EVENTS) {
      await this.finish(type, event, data);
      return;
    }

    this.collectOutput(type, data);
    await this.write(frame(event.event, event.data));
  }

  private async finish(
    type: string,
    event: SseEvent,
    data: ResponsesEvent,
  ): Promise<void> {
    this.sawTerminalEvent = true;
    this.outcome.usage =
      parseResponsesUsage(data.response?.usage) ?? this.outcome.usage;

    const errorClass = TERMINAL_EVENTS[type];
    if (errorClass === null) {
      this.outcome.finished = this.outcome.errorClass === null;
      await this.write(frame(event.event, event.data));
      return;
    }

    this.outcome.errorClass ??= errorClass;
    await this.writeScrubbed(event, data);
  }

  private collectOutput(type: string | undefined, data: ResponsesEvent): void {
    const before = this.output.length;
    if (type !== undefined && OUTPUT_DELTA_TYPES.has(type)) {
      pushText(this.output, data.delta);
    } else if (
      type === "response.output_item.added" &&
      data.item?.type === "function_call"
    ) {
      pushText(this.output, data.item.name);
    }

    if (this.output.length > before && !this.outcome.sawOutput) {
      this.outcome.sawOutput = true;
      this.outcome.firstOutputAt = performance.now();
    }
  }

  private writeScrubbed(event: SseEvent, data: ResponsesEvent): Promise<void> {
    const safe = JSON.stringify(scrubSecretDeep(data, this.providerKey));
    return this.write(frame(event.event, safe));
  }

  private write(text: string | null): Promise<void> {
    return writeToClient(this.client, this.signal, text);
  }
}
