/** One Server-Sent Event as the parser completed it. */
export interface SseEvent {
  /** Value of the event's last `event:` field, absent when it had none. */
  event?: string;
  /**
   * Values of the event's `data:` fields joined with "\n", or "" when it had
   * none.
   */
  data: string;
}

const LF = 0x0a;
const CR = 0x0d;

/** Raised when a stream line grows past the parser's limit without a line break. */
export class SseLineTooLong extends Error {
  readonly code = "SSE_LINE_TOO_LONG";

  constructor(limit: number) {
    super(`An event stream line exceeded ${limit} characters`);
  }
}

/**
 * Incremental Server-Sent Events parser for raw bytes split at any point.
 *
 * Line breaks are `\n`, `\r\n` or a lone `\r`, and a `\r\n` split across two
 * pushes counts once. Bytes are decoded as UTF-8 whatever the response's
 * charset, with one streaming decoder, so a character split across pushes
 * decodes whole and invalid bytes become U+FFFD. A leading byte order mark is
 * dropped.
 *
 * Unlike the WHATWG algorithm, an event with an `event:` field but no `data:`
 * field is emitted (with data ""), and {@link end} emits a final event that
 * lacks its terminating blank line. `id:`, `retry:` and unknown fields are
 * ignored. Events with neither field, such as a run of comment lines, are not
 * emitted.
 *
 * Each decoded character is scanned once, so the work is linear in the stream
 * length however it is split.
 * A line longer than `maxLineChars` throws {@link SseLineTooLong}, so a peer that
 * never ends a line cannot make the parser buffer without bound.
 */
export class SseParser {
  private decoder = new TextDecoder("utf-8");

  /** @param maxLineChars longest line kept, in UTF-16 code units; 16 Mi by default. */
  constructor(private readonly maxLineChars = 16 * 1024 * 1024) {}

  /** Text of the current line received so far, without its line break. */
  private partialLine = "";

  /**
   * True when the last decoded character was a `\r`, so a `\n` that starts the
   * next text belongs to it.
   */
  private afterCarriageReturn = false;

  private eventName: string | undefined;
  private dataLines: string[] = [];

  /**
   * Parses the next piece of the stream and returns the events it completed, in
   * stream order.
   */
  push(chunk: Uint8Array): SseEvent[] {
    const events: SseEvent[] = [];
    this.consumeText(this.decoder.decode(chunk, { stream: true }), events);
    return events;
  }

  /**
   * Ends the stream: completes the last line and the last event even without a
   * line break or blank line, and returns them. A truncated UTF-8 sequence at
   * the end decodes to U+FFFD. The parser is then reset and can read a new
   * stream.
   */
  end(): SseEvent[] {
    const events: SseEvent[] = [];
    this.consumeText(this.decoder.decode(), events);

    if (this.partialLine !== "") {
      this.processLine(this.partialLine, events);
    }
    this.dispatchEvent(events);

    this.reset();
    return events;
  }

  private reset(): void {
    this.decoder = new TextDecoder("utf-8");
    this.partialLine = "";
    this.afterCarriageReturn = false;
    this.eventName = undefined;
    this.dataLines = [];
  }

  /**
   * Splits decoded text into lines and scans only the new text. An unfinished
   * tail waits in `partialLine`.
   */
  private consumeText(text: string, events: SseEvent[]): void {
    let lineStart = 0;

    // A decoded piece can be empty (it held only part of a character), so the
    // pending `\r` waits for real text.
    if (this.afterCarriageReturn && text.length > 0) {
      this.afterCarriageReturn = false;
      if (text.charCodeAt(0) === LF) {
        lineStart = 1;
      }
    }

    for (let i = lineStart; i < text.length; i++) {
      const code = text.charCodeAt(i);
      if (code !== LF && code !== CR) {
        continue;
      }

      const line = this.partialLine + text.slice(lineStart, i);
      this.partialLine = "";
      this.processLine(line, events);

      if (code === CR) {
        if (i + 1 === text.length) {
          this.afterCarriageReturn = true;
        } else if (text.charCodeAt(i + 1) === LF) {
          i++;
        }
      }
      lineStart = i + 1;
    }

    if (lineStart < text.length) {
      this.partialLine += text.slice(lineStart);
    }
    if (this.partialLine.length > this.maxLineChars) {
      throw new SseLineTooLong(this.maxLineChars);
    }
  }

  private processLine(line: string, events: SseEvent[]): void {
    if (line === "") {
      this.dispatchEvent(events);
      return;
    }

    if (line.startsWith(":")) {
      return;
    }

    const colon = line.indexOf(":");
    let field = line;
    let value = "";
    if (colon !== -1) {
      field = line.slice(0, colon);
      value = line.slice(colon + 1);
      if (value.startsWith(" ")) {
        value = value.slice(1);
      }
    }

    if (field === "data") {
      this.dataLines.push(value);
    } else if (field === "event") {
      this.eventName = value;
    }
  }

  private dispatchEvent(events: SseEvent[]): void {
    if (this.dataLines.length === 0 && this.eventName === undefined) {
      return;
    }

    const event: SseEvent = { data: this.dataLines.join("\n") };
    if (this.eventName !== undefined) {
      event.event = this.eventName;
    }
    events.push(event);

    this.eventName = undefined;
    this.dataLines = [];
  }
}
