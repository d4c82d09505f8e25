import { countTokens, encodeChat } from "gpt-tokenizer";

import { ProxyError } from "../../common/proxy-error";
import {
  ChatRequest,
  inputTokenUpperBound,
  parseChatRequest,
  requestedOutputLimit,
  upstreamChatBody,
} from "./chat-request";

const IMAGE_ALLOWANCE = 8_000;

function chat(fields: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    model: "gpt-4o-mini",
    messages: [{ role: "user", content: "Hello" }],
    ...fields,
  };
}

/**
 * Returns the ProxyError that parsing `body` throws, failing the test when it
 * does not throw one.
 */
function rejectionOf(body: unknown): ProxyError {
  try {
    parseChatRequest(body);
  } catch (error) {
    if (error instanceof ProxyError) {
      return error;
    }
    throw error;
  }
  throw new Error(`Expected ${JSON.stringify(body)} to be rejected`);
}

describe("parseChatRequest", () => {
  it("accepts minimal request", () => {
    const request = parseChatRequest(chat());

    expect(request.model).toBe("gpt-4o-mini");
    expect(request.messages).toEqual([{ role: "user", content: "Hello" }]);
  });

  it("accepts stream with stream_options", () => {
    const request = parseChatRequest(
      chat({ stream: true, stream_options: { include_usage: true } }),
    );

    expect(request.stream).toBe(true);
    expect(request.stream_options).toEqual({ include_usage: true });
  });

  it("accepts null optional fields", () => {
    const request = parseChatRequest(
      chat({
        stream: null,
        stream_options: null,
        max_tokens: null,
        max_completion_tokens: null,
        n: null,
      }),
    );

    expect(request.max_tokens).toBeNull();
  });

  it("accepts limits at their bounds", () => {
    const request = parseChatRequest(
      chat({ max_tokens: 1, max_completion_tokens: 1, n: 128 }),
    );

    expect(request.n).toBe(128);
  });

  it("accepts 200-character model", () => {
    const model = "m".repeat(200);

    expect(parseChatRequest(chat({ model })).model).toBe(model);
  });

  it("keeps unknown fields", () => {
    const tools = [
      { type: "function", function: { name: "lookup", parameters: {} } },
    ];
    const request = parseChatRequest(
      chat({ temperature: 0.2, tools, vendor_option: { depth: 2 } }),
    ) as Record<string, unknown>;

    expect(request.temperature).toBe(0.2);
    expect(request.tools).toEqual(tools);
    expect(request.vendor_option).toEqual({ depth: 2 });
  });

  it("keeps unknown message fields", () => {
    const message = {
      role: "assistant",
      content: null,
      tool_calls: [{ id: "call_1", type: "function" }],
    };
    const request = parseChatRequest(chat({ messages: [message] }));

    expect(request.messages[0]).toEqual(message);
  });

  it.each([
    ["array", [chat()]],
    ["null", null],
    ["string", "hello"],
    ["number", 42],
  ])("rejects %s body", (_case, body) => {
    const error = rejectionOf(body);

    expect(error.status).toBe(400);
    expect(error.code).toBe("invalid_body");
    expect(error.param).toBeNull();
  });

  it.each([
    ["missing model", { messages: [{ role: "user" }] }, "model"],
    ["empty model", chat({ model: "" }), "model"],
    ["201-character model", chat({ model: "m".repeat(201) }), "model"],
    ["numeric model", chat({ model: 4 }), "model"],
    ["missing messages", { model: "gpt-4o-mini" }, "messages"],
    ["empty messages", chat({ messages: [] }), "messages"],
    ["object messages", chat({ messages: { role: "user" } }), "messages"],
    ["string message", chat({ messages: ["hi"] }), "messages.0"],
    [
      "message without role",
      chat({ messages: [{ content: "hi" }] }),
      "messages.0.role",
    ],
    [
      "numeric role in second message",
      chat({ messages: [{ role: "user" }, { role: 1 }] }),
      "messages.1.role",
    ],
    ["string stream", chat({ stream: "yes" }), "stream"],
    ["zero max_tokens", chat({ max_tokens: 0 }), "max_tokens"],
    ["negative max_tokens", chat({ max_tokens: -1 }), "max_tokens"],
    ["fractional max_tokens", chat({ max_tokens: 1.5 }), "max_tokens"],
    ["string max_tokens", chat({ max_tokens: "100" }), "max_tokens"],
    [
      "zero max_completion_tokens",
      chat({ max_completion_tokens: 0 }),
      "max_completion_tokens",
    ],
    ["zero n", chat({ n: 0 }), "n"],
    ["n above 128", chat({ n: 129 }), "n"],
    [
      "string include_usage",
      chat({ stream: true, stream_options: { include_usage: "yes" } }),
      "stream_options.include_usage",
    ],
    [
      "stream_options without stream",
      chat({ stream_options: { include_usage: true } }),
      "stream_options",
    ],
    [
      "stream_options with stream false",
      chat({ stream: false, stream_options: { include_usage: true } }),
      "stream_options",
    ],
  ])("rejects %s", (_case, body, param) => {
    const error = rejectionOf(body);

    expect(error.status).toBe(400);
    expect(error.type).toBe("invalid_request_error");
    expect(error.param).toBe(param);
    expect(error.message).toContain(`'${param}'`);
  });
});

describe("requestedOutputLimit", () => {
  it("prefers max_completion_tokens", () => {
    const request = parseChatRequest(
      chat({ max_tokens: 100, max_completion_tokens: 50 }),
    );

    expect(requestedOutputLimit(request)).toBe(50);
  });

  it("falls back to max_tokens", () => {
    expect(
      requestedOutputLimit(parseChatRequest(chat({ max_tokens: 100 }))),
    ).toBe(100);
  });

  it("returns null without limit", () => {
    expect(requestedOutputLimit(parseChatRequest(chat()))).toBeNull();
  });
});

describe("upstreamChatBody", () => {
  function sent(
    fields: Record<string, unknown>,
    askForUsage = true,
  ): Record<string, unknown> {
    const body = upstreamChatBody(
      parseChatRequest(chat(fields)),
      "upstream-model",
      askForUsage,
    );
    return JSON.parse(body) as Record<string, unknown>;
  }

  it("replaces model with upstream name", () => {
    expect(sent({}).model).toBe("upstream-model");
  });

  it("adds no stream_options without stream", () => {
    expect(sent({})).not.toHaveProperty("stream_options");
  });

  it("adds no stream_options with stream false", () => {
    expect(sent({ stream: false })).not.toHaveProperty("stream_options");
  });

  it("requests usage for streams", () => {
    expect(sent({ stream: true }).stream_options).toEqual({
      include_usage: true,
    });
  });

  it("overrides client include_usage false", () => {
    const body = sent({
      stream: true,
      stream_options: { include_usage: false },
    });

    expect(body.stream_options).toEqual({ include_usage: true });
  });

  it("keeps other stream_options fields", () => {
    const body = sent({
      stream: true,
      stream_options: { continuous_usage_stats: true },
    });

    expect(body.stream_options).toEqual({
      continuous_usage_stats: true,
      include_usage: true,
    });
  });

  it("requests no usage when switched off", () => {
    expect(sent({ stream: true }, false)).not.toHaveProperty("stream_options");
  });

  it("drops client stream_options when switched off", () => {
    // The switch exists for providers that reject stream_options, so forwarding
    // the client's own field would make such a provider reject the request.
    const body = sent(
      { stream: true, stream_options: { include_usage: true } },
      false,
    );

    expect(body).not.toHaveProperty("stream_options");
  });

  it("keeps unknown fields", () => {
    const body = sent({
      temperature: 0,
      user: "u-1",
      response_format: { type: "json_object" },
      vendor_option: { nested: [1, 2] },
    });

    expect(body.temperature).toBe(0);
    expect(body.user).toBe("u-1");
    expect(body.response_format).toEqual({ type: "json_object" });
    expect(body.vendor_option).toEqual({ nested: [1, 2] });
  });

  it("keeps messages unchanged", () => {
    const messages = [
      { role: "system", content: "Be brief." },
      { role: "user", content: [{ type: "text", text: "Hi" }], name: "ann" },
    ];

    expect(sent({ messages }).messages).toEqual(messages);
  });
});

describe("inputTokenUpperBound", () => {
  const texts: [string, string][] = [
    ["English", "The quick brown fox jumps over the lazy dog. ".repeat(20)],
    [
      "Chinese",
      "我们在北京的一家小餐馆里吃了饺子，然后去看了长城。".repeat(10),
    ],
    [
      "Japanese",
      "吾輩は猫である。名前はまだ無い。どこで生れたかとんと見当がつかぬ。",
    ],
    ["Korean", "다람쥐 헌 쳇바퀴에 타고파. 한국어 문장을 토큰으로 나눕니다."],
    ["emoji", "👍🏽🎉👨‍👩‍👧‍👦🇯🇵🏳️‍🌈 ok 🤖".repeat(10)],
    [
      "code",
      [
        "function fib(n: number): number {",
        "\tif (n < 2) {\n\t\treturn n;\n\t}",
        "  return fib(n - 1) + fib(n - 2); // 🐇",
        "}",
        'const json = {"a": [1, 2.5e-3, null], "b": "\\u00e9"};',
      ].join("\n"),
    ],
    ["whitespace", " \n\t ".repeat(50)],
    ["digits", "3.14159265358979323846264338327950288419716939937510"],
    ["repeated letter", "a".repeat(2_000)],
    ["mixed scripts", "Ünïcödé — Ελληνικά, Русский, עברית, العربية, हिन्दी"],
  ];

  it.each(texts)("covers %s text", (_case, text) => {
    const request = parseChatRequest(
      chat({ messages: [{ role: "user", content: text }] }),
    );

    expect(
      inputTokenUpperBound(request, IMAGE_ALLOWANCE),
    ).toBeGreaterThanOrEqual(countTokens(text));
  });

  it("covers all texts in one chat", () => {
    const messages = texts.map(([, text], index) => ({
      role: index % 2 === 0 ? "user" : "assistant",
      content: text,
    }));
    const request = parseChatRequest(chat({ messages }));
    const bound = inputTokenUpperBound(request, IMAGE_ALLOWANCE);

    // The plain text count, and the count of the chat format with its
    // per-message tokens.
    expect(bound).toBeGreaterThanOrEqual(
      countTokens(texts.map(([, text]) => text).join("")),
    );
    expect(bound).toBeGreaterThanOrEqual(encodeChat(messages, "gpt-4o").length);
  });

  it("covers text parts", () => {
    const content = texts.map(([, text]) => ({ type: "text", text }));
    const request = parseChatRequest(
      chat({ messages: [{ role: "user", content }] }),
    );

    expect(
      inputTokenUpperBound(request, IMAGE_ALLOWANCE),
    ).toBeGreaterThanOrEqual(
      countTokens(texts.map(([, text]) => text).join("")),
    );
  });

  it("counts image by allowance", () => {
    // A 300,000-byte base64 image must count as the allowance, not as its
    // length. The request below has
    //   "gpt-4o-mini"                           13 bytes (model, quoted)
    //   {"role":"user"}                         15 bytes (message, no content)
    //   {"type":"text","text":"What is it?"}    36 bytes (text part)
    //   image part                           8,000 tokens (allowance)
    // so the bound is 13 + 15 + 36 + 8,000 = 8,064.
    const image = {
      type: "image_url",
      image_url: { url: `data:image/png;base64,${"A".repeat(300_000)}` },
    };
    const request = parseChatRequest(
      chat({
        messages: [
          {
            role: "user",
            content: [{ type: "text", text: "What is it?" }, image],
          },
        ],
      }),
    );

    expect(inputTokenUpperBound(request, IMAGE_ALLOWANCE)).toBe(8_064);
  });

  it("counts each image once", () => {
    // Three image parts in two messages: 3 × 8,000 = 24,000 tokens, plus
    //   "gpt-4o-mini" 13 bytes and {"role":"user"} 15 bytes twice = 43 bytes,
    // so the bound is 24,043.
    const image = {
      type: "image_url",
      image_url: { url: "https://example.com/cat.png", detail: "high" },
    };
    const request = parseChatRequest(
      chat({
        messages: [
          { role: "user", content: [image, image] },
          { role: "user", content: [image] },
        ],
      }),
    );

    expect(inputTokenUpperBound(request, IMAGE_ALLOWANCE)).toBe(24_043);
  });

  it("counts other request fields", () => {
    // Tool definitions reach the model as input, so their JSON counts too.
    const tools = [
      {
        type: "function",
        function: {
          name: "get_weather",
          description: "Returns the weather of a city, in °C.",
          parameters: {
            type: "object",
            properties: { city: { type: "string" } },
          },
        },
      },
    ];
    const request = parseChatRequest(chat({ tools }));

    expect(
      inputTokenUpperBound(request, IMAGE_ALLOWANCE),
    ).toBeGreaterThanOrEqual(countTokens(JSON.stringify(tools)));
  });

  it("counts empty content", () => {
    const request: ChatRequest = parseChatRequest(
      chat({ messages: [{ role: "assistant", content: null }] }),
    );

    expect(
      inputTokenUpperBound(request, IMAGE_ALLOWANCE),
    ).toBeGreaterThanOrEqual(
      encodeChat([{ role: "assistant", content: "" }], "gpt-4o").length,
    );
  });
});
