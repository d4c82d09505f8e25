import { ChatStreamRelay, Chunk, pushText } from "./chat-stream-relay";

/**
 * Relays a legacy Completions stream (`text_completion` chunks, data-only SSE ending in `[DONE]`). The framing,
 * usage handling and faults are those of Chat Completions streams; only the output sits elsewhere, in
 * `choices[].text` instead of `choices[].delta`.
 */
export class CompletionsStreamRelay extends ChatStreamRelay {
  protected override collectOutput(chunk: Chunk): void {
    if (!Array.isArray(chunk.choices)) {
      return;
    }

    for (const choice of chunk.choices as {
      text?: unknown;
      finish_reason?: unknown;
    }[]) {
      if (typeof choice?.finish_reason === "string") {
        this.sawFinishReason = true;
      }

      const before = this.output.length;
      pushText(this.output, choice?.text);
      if (this.output.length > before && !this.outcome.sawOutput) {
        this.outcome.sawOutput = true;
        this.outcome.firstOutputAt = performance.now();
      }
    }
  }
}
