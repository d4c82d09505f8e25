import { SseEvent, SseLineTooLong, SseParser } from "./sse-parser";

const encoder = new TextEncoder();
const LF_BYTE = 0x0a;

/**
 * Parses `bytes` delivered in pieces that end at the given offsets, then ends
 * the stream.
 */
function parseSplit(bytes: Uint8Array, splitOffsets: number[]): SseEvent[] {
  const sut = new SseParser();
  const events: SseEvent[] = [];
  let start = 0;
  for (const offset of [...splitOffsets, bytes.length]) {
    events.push(...sut.push(bytes.subarray(start, offset)));
    start = offset;
  }
  events.push(...sut.end());
  return events;
}

function parseWhole(text: string): SseEvent[] {
  return parseSplit(encoder.encode(text), []);
}

/**
 * Deterministic pseudo-random numbers in [0, 1), so a failing split can be
 * reproduced.
 */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

const sampleStream = [
  ": OPENROUTER PROCESSING",
  "",
  'data: {"id":"chatcmpl-1","choices":[{"delta":{"content":"你好"}}]}',
  "",
  "data: ",
  "",
  "event: message_start",
  'data: {"type": "message_start"}  ',
  "",
  ": ping",
  "id: 7",
  "retry: 1000",
  "data: first line 😀",
  "data:second line",
  "data",
  "",
  "data: [DONE]",
  "",
].join("\r\n");

const sampleEvents: SseEvent[] = [
  { data: '{"id":"chatcmpl-1","choices":[{"delta":{"content":"你好"}}]}' },
  { data: "" },
  { event: "message_start", data: '{"type": "message_start"}  ' },
  { data: "first line 😀\nsecond line\n" },
  { data: "[DONE]" },
];

describe("SseParser", () => {
  describe("line and field syntax", () => {
    const cases: Array<[string, string, SseEvent[]]> = [
      ["LF line endings", "data: a\n\n", [{ data: "a" }]],
      ["CRLF line endings", "data: a\r\n\r\n", [{ data: "a" }]],
      ["lone CR line endings", "data: a\r\r", [{ data: "a" }]],
      [
        "mixed line endings",
        "data: a\r\ndata: b\rdata: c\n\r\n",
        [{ data: "a\nb\nc" }],
      ],
      ["several data lines", "data: a\ndata: b\n\n", [{ data: "a\nb" }]],
      [
        "one space stripped",
        "data:  two spaces\n\n",
        [{ data: " two spaces" }],
      ],
      ["no space after colon", "data:x\n\n", [{ data: "x" }]],
      ["tab kept after colon", "data:\tx\n\n", [{ data: "\tx" }]],
      ["trailing space kept", "data: x  \n\n", [{ data: "x  " }]],
      ["colon inside value", "data: a:b: c\n\n", [{ data: "a:b: c" }]],
      ["empty data keep-alive", "data: \n\n", [{ data: "" }]],
      ["data with bare colon", "data:\n\n", [{ data: "" }]],
      ["field without colon", "data\n\n", [{ data: "" }]],
      ["two fields without colon", "data\ndata\n\n", [{ data: "\n" }]],
      [
        "event name",
        "event: message_stop\ndata: {}\n\n",
        [{ event: "message_stop", data: "{}" }],
      ],
      [
        "last event name wins",
        "event: a\nevent: b\ndata: x\n\n",
        [{ event: "b", data: "x" }],
      ],
      ["event without data", "event: ping\n\n", [{ event: "ping", data: "" }]],
      [
        "event name not carried over",
        "event: a\ndata: 1\n\ndata: 2\n\n",
        [{ event: "a", data: "1" }, { data: "2" }],
      ],
      ["comment only", ": ping\n\n", []],
      ["comment inside event", ": ping\ndata: a\n: more\n\n", [{ data: "a" }]],
      ["comment without space", ":ping\n\n", []],
      [
        "id and retry ignored",
        "id: 3\nretry: 10\ndata: a\n\n",
        [{ data: "a" }],
      ],
      ["id only", "id: 3\n\n", []],
      ["unknown field ignored", "foo: bar\ndata: a\n\n", [{ data: "a" }]],
      ["field name case sensitive", "Data: a\n\n", []],
      [
        "extra blank lines",
        "\n\n\ndata: a\n\n\n\ndata: b\n\n",
        [{ data: "a" }, { data: "b" }],
      ],
      ["byte order mark dropped", "\uFEFFdata: a\n\n", [{ data: "a" }]],
      ["empty stream", "", []],
    ];

    it.each(cases)("parses %s", (_name, input, expected) => {
      expect(parseWhole(input)).toEqual(expected);
    });

    it("omits event key when unnamed", () => {
      const [event] = parseWhole("data: a\n\n");

      expect(Object.keys(event)).toEqual(["data"]);
    });
  });

  describe("push and end", () => {
    it("returns events completed by each push", () => {
      const sut = new SseParser();

      expect(sut.push(encoder.encode("data: a\n"))).toEqual([]);
      expect(sut.push(encoder.encode("\ndata: b\n\ndata: c"))).toEqual([
        { data: "a" },
        { data: "b" },
      ]);
      expect(sut.push(encoder.encode("\n\n"))).toEqual([{ data: "c" }]);
      expect(sut.end()).toEqual([]);
    });

    it("end flushes event without blank line", () => {
      const sut = new SseParser();

      expect(sut.push(encoder.encode("data: a\n"))).toEqual([]);
      expect(sut.end()).toEqual([{ data: "a" }]);
    });

    it("end flushes unterminated last line", () => {
      const sut = new SseParser();

      expect(sut.push(encoder.encode("data: a\ndata: b"))).toEqual([]);
      expect(sut.end()).toEqual([{ data: "a\nb" }]);
    });

    it("end after trailing comment emits nothing", () => {
      const sut = new SseParser();

      expect(sut.push(encoder.encode("data: a\n\n: bye"))).toEqual([
        { data: "a" },
      ]);
      expect(sut.end()).toEqual([]);
    });

    it("end resets for a new stream", () => {
      const sut = new SseParser();
      sut.push(encoder.encode("event: x\ndata: half"));
      sut.end();

      expect(sut.push(encoder.encode("data: b\n\n"))).toEqual([{ data: "b" }]);
    });

    it("ignores empty chunks", () => {
      const sut = new SseParser();

      expect(sut.push(new Uint8Array(0))).toEqual([]);
      expect(sut.push(encoder.encode("data: a\n\n"))).toEqual([{ data: "a" }]);
      expect(sut.push(new Uint8Array(0))).toEqual([]);
    });
  });

  describe("carriage return across pushes", () => {
    it("counts split CRLF once", () => {
      const sut = new SseParser();

      expect(sut.push(encoder.encode("data: a\r"))).toEqual([]);
      expect(sut.push(encoder.encode("\ndata: b\r\n\r"))).toEqual([
        { data: "a\nb" },
      ]);
      expect(sut.push(encoder.encode("\n"))).toEqual([]);
      expect(sut.end()).toEqual([]);
    });

    it("counts CR then CR as two breaks", () => {
      const sut = new SseParser();

      expect(sut.push(encoder.encode("data: a\r"))).toEqual([]);
      expect(sut.push(encoder.encode("\r"))).toEqual([{ data: "a" }]);
    });

    it("keeps pending CR across empty pushes", () => {
      const sut = new SseParser();
      const emoji = encoder.encode("😀");

      expect(sut.push(encoder.encode("data: a\r"))).toEqual([]);
      expect(sut.push(new Uint8Array(0))).toEqual([]);
      expect(sut.push(encoder.encode("\ndata: b"))).toEqual([]);
      expect(sut.push(emoji.subarray(0, 2))).toEqual([]);
      expect(sut.push(emoji.subarray(2))).toEqual([]);
      expect(sut.push(encoder.encode("\r\n\r\n"))).toEqual([
        { data: "a\nb😀" },
      ]);
    });

    it("treats LF after lone CR line as blank line", () => {
      const sut = new SseParser();

      expect(sut.push(encoder.encode("data: a\r\r"))).toEqual([{ data: "a" }]);
      expect(sut.push(encoder.encode("\ndata: b\n\n"))).toEqual([
        { data: "b" },
      ]);
    });
  });

  describe("byte splits", () => {
    const sampleBytes = encoder.encode(sampleStream);

    it("parses sample stream whole", () => {
      expect(parseSplit(sampleBytes, [])).toEqual(sampleEvents);
    });

    it("parses sample at every single split", () => {
      for (let offset = 0; offset <= sampleBytes.length; offset++) {
        expect({ offset, events: parseSplit(sampleBytes, [offset]) }).toEqual({
          offset,
          events: sampleEvents,
        });
      }
    });

    it("parses sample one byte at a time", () => {
      const offsets = Array.from({ length: sampleBytes.length }, (_, i) => i);

      expect(parseSplit(sampleBytes, offsets)).toEqual(sampleEvents);
    });

    it("parses sample at random splits", () => {
      const random = seededRandom(42);
      for (let round = 0; round < 200; round++) {
        const offsets: number[] = [];
        let offset = 0;
        while (offset < sampleBytes.length) {
          offset += 1 + Math.floor(random() * 12);
          offsets.push(Math.min(offset, sampleBytes.length));
        }

        expect({ offsets, events: parseSplit(sampleBytes, offsets) }).toEqual({
          offsets,
          events: sampleEvents,
        });
      }
    });

    it("parses LF and lone CR variants at every split", () => {
      for (const lineBreak of ["\n", "\r"]) {
        const bytes = encoder.encode(
          sampleStream.replaceAll("\r\n", lineBreak),
        );
        for (let offset = 0; offset <= bytes.length; offset++) {
          expect({
            lineBreak,
            offset,
            events: parseSplit(bytes, [offset]),
          }).toEqual({
            lineBreak,
            offset,
            events: sampleEvents,
          });
        }
      }
    });
  });

  describe("UTF-8 decoding", () => {
    const text = "data: 你好, 世界 😀👍🏽 é\n\n";
    const bytes = encoder.encode(text);
    const expected = [{ data: "你好, 世界 😀👍🏽 é" }];

    it("decodes CJK and emoji at every split", () => {
      for (let offset = 0; offset <= bytes.length; offset++) {
        expect({ offset, events: parseSplit(bytes, [offset]) }).toEqual({
          offset,
          events: expected,
        });
      }
    });

    it("decodes CJK and emoji one byte at a time", () => {
      const offsets = Array.from({ length: bytes.length }, (_, i) => i);

      expect(parseSplit(bytes, offsets)).toEqual(expected);
    });

    it("splits inside a 3-byte CJK character", () => {
      const sut = new SseParser();
      const cjk = encoder.encode("好");

      expect(cjk.length).toBe(3);
      expect(sut.push(encoder.encode("data: "))).toEqual([]);
      expect(sut.push(cjk.subarray(0, 1))).toEqual([]);
      expect(sut.push(cjk.subarray(1, 2))).toEqual([]);
      expect(
        sut.push(Uint8Array.of(...cjk.subarray(2), LF_BYTE, LF_BYTE)),
      ).toEqual([{ data: "好" }]);
    });

    it("splits inside a 4-byte emoji", () => {
      const sut = new SseParser();
      const emoji = encoder.encode("😀");

      expect(emoji.length).toBe(4);
      expect(
        sut.push(
          Uint8Array.of(...encoder.encode("data: "), ...emoji.subarray(0, 3)),
        ),
      ).toEqual([]);
      expect(
        sut.push(Uint8Array.of(...emoji.subarray(3), LF_BYTE, LF_BYTE)),
      ).toEqual([{ data: "😀" }]);
    });

    it("replaces invalid bytes with U+FFFD", () => {
      const bytes = Uint8Array.of(
        ...encoder.encode("data: a"),
        0xff,
        ...encoder.encode("b\n\n"),
      );

      expect(parseSplit(bytes, [])).toEqual([{ data: "a\uFFFDb" }]);
    });

    it("ends truncated character as U+FFFD", () => {
      const emoji = encoder.encode("😀");
      const bytes = Uint8Array.of(
        ...encoder.encode("data: a"),
        ...emoji.subarray(0, 2),
      );

      expect(parseSplit(bytes, [])).toEqual([{ data: "a\uFFFD" }]);
    });
  });

  describe("keep-alives", () => {
    it("skips comment keep-alives between chunks", () => {
      const stream =
        ': OPENROUTER PROCESSING\n\n: ping\n\ndata: {"a":1}\n\n: ping\n\ndata: [DONE]\n\n';

      expect(parseWhole(stream)).toEqual([
        { data: '{"a":1}' },
        { data: "[DONE]" },
      ]);
    });

    it("emits empty data keep-alive", () => {
      const stream = 'data: {"a":1}\n\ndata: \n\ndata: [DONE]\n\n';

      expect(parseWhole(stream)).toEqual([
        { data: '{"a":1}' },
        { data: "" },
        { data: "[DONE]" },
      ]);
    });

    it("emits colon-only data keep-alive", () => {
      expect(parseWhole("data: :\n\n")).toEqual([{ data: ":" }]);
    });
  });

  describe("large input", () => {
    // 512 KiB in 64-byte pushes took about 20 ms on a 2-core AMD EPYC VM, and a
    // variant that rescans its buffered line on every push took about 9 s
    // there. A synchronous loop cannot hit the Jest timeout, so time it
    // instead.
    it("reads long line in linear time", () => {
      const payload = "x".repeat(512 * 1024);
      const bytes = encoder.encode(`data: ${payload}\n\n`);
      const sut = new SseParser();
      const events: SseEvent[] = [];
      const startedAt = performance.now();

      for (let offset = 0; offset < bytes.length; offset += 64) {
        events.push(...sut.push(bytes.subarray(offset, offset + 64)));
      }
      const elapsedMs = performance.now() - startedAt;

      expect(events).toHaveLength(1);
      expect(events[0].data.length).toBe(payload.length);
      expect(events[0].data === payload).toBe(true);
      expect(elapsedMs).toBeLessThan(2000);
    });

    it("reads many events in one push", () => {
      const count = 100_000;
      const bytes = encoder.encode(`data: {"n":1}\n\n`.repeat(count));
      const sut = new SseParser();

      const events = sut.push(bytes);

      expect(events).toHaveLength(count);
      expect(events[count - 1]).toEqual({ data: '{"n":1}' });
    });
  });
  it("rejects a line past its limit", () => {
    const sut = new SseParser(10);

    expect(sut.push(new TextEncoder().encode("data: 1234"))).toEqual([]);
    expect(() => sut.push(new TextEncoder().encode("5"))).toThrow(
      SseLineTooLong,
    );
  });
});
