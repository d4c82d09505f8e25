import { ProxyError } from "../../common/proxy-error";
import {
  messagesInputTokenUpperBound,
  messagesOutputLimit,
  messagesPromptText,
  parseCountTokensRequest,
  parseMessagesRequest,
  requestedCacheTtl,
} from "./messages-request";

const IMAGE_ALLOWANCE = 8_000;

function request(
  fields: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    model: "claude-sonnet-4-5",
    max_tokens: 1024,
    messages: [{ role: "user", content: "Hello" }],
    ...fields,
  };
}

/** Returns the ProxyError that `parse` throws for `body`, failing when it throws none. */
function rejectionOf(
  body: unknown,
  parse: (body: unknown) => unknown = parseMessagesRequest,
): ProxyError {
  try {
    parse(body);
  } catch (error) {
    if (error instanceof ProxyError) {
      return error;
    }
    throw error;
  }
  throw new Error(`Expected ${JSON.stringify(body)} to be rejected`);
}

describe("parseMessagesRequest", () => {
  it("accepts the documented request", () => {
    const body = {
      model: "claude-sonnet-4-5",
      max_tokens: 4096,
      stream: true,
      system: [
        {
          type: "text",
          text: "You are terse.",
          cache_control: { type: "ephemeral", ttl: "1h" },
        },
      ],
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "Hi", cache_control: { type: "ephemeral" } },
            { type: "tool_result", tool_use_id: "toolu_01", content: "18 C" },
          ],
        },
      ],
      tools: [
        {
          name: "get_weather",
          description: "Weather",
          input_schema: { type: "object" },
        },
      ],
      thinking: { type: "enabled", budget_tokens: 2048 },
      tool_choice: { type: "auto" },
      stop_sequences: ["END"],
      temperature: 0.5,
      metadata: { user_id: "u-1" },
    };

    expect(parseMessagesRequest(body)).toEqual(body);
  });

  it("passes unknown fields through", () => {
    const parsed = parseMessagesRequest(
      request({ service_tier: "auto", container: { id: "c" } }),
    );

    expect(parsed.service_tier).toBe("auto");
    expect(parsed.container).toEqual({ id: "c" });
  });

  it("accepts system text", () => {
    expect(parseMessagesRequest(request({ system: "Be brief." })).system).toBe(
      "Be brief.",
    );
  });

  it.each([
    ["missing max_tokens", { max_tokens: undefined }, "max_tokens"],
    ["zero max_tokens", { max_tokens: 0 }, "max_tokens"],
    ["fractional max_tokens", { max_tokens: 1.5 }, "max_tokens"],
    ["huge max_tokens", { max_tokens: 2 ** 31 }, "max_tokens"],
    ["missing model", { model: undefined }, "model"],
    ["empty messages", { messages: [] }, "messages"],
    [
      "tool role",
      { messages: [{ role: "tool", content: "x" }] },
      "messages.0.role",
    ],
    ["missing content", { messages: [{ role: "user" }] }, "messages.0.content"],
    [
      "block without type",
      { messages: [{ role: "user", content: [{ text: "x" }] }] },
      "messages.0.content",
    ],
    ["system image", { system: [{ type: "image" }] }, "system"],
    ["stream text", { stream: "yes" }, "stream"],
    ["temperature above 1", { temperature: 1.5 }, "temperature"],
    [
      "thinking without budget",
      { thinking: { type: "enabled" } },
      "thinking.budget_tokens",
    ],
    [
      "unknown thinking type",
      { thinking: { type: "sometimes" } },
      "thinking.type",
    ],
    [
      "tool choice without name",
      { tool_choice: { type: "tool" } },
      "tool_choice.name",
    ],
    ["stop sequence number", { stop_sequences: [1] }, "stop_sequences.0"],
  ])("rejects %s", (_case, fields, param) => {
    const error = rejectionOf(request(fields));

    expect(error.status).toBe(400);
    expect(error.type).toBe("invalid_request_error");
    expect(error.param).toBe(param);
  });

  it.each([
    ["array", []],
    ["null", null],
    ["string", "x"],
  ])("rejects %s body", (_case, body) => {
    expect(rejectionOf(body).code).toBe("invalid_body");
  });

  it("rejects deep nesting", () => {
    let deep: unknown = {};
    for (let i = 0; i < 100; i++) {
      deep = { inner: deep };
    }

    expect(rejectionOf(request({ metadata: deep })).code).toBe("invalid_body");
  });
});

describe("parseCountTokensRequest", () => {
  it("accepts a prompt without max_tokens", () => {
    const parsed = parseCountTokensRequest({
      model: "claude-sonnet-4-5",
      messages: [{ role: "user", content: "Hello" }],
    });

    expect(parsed.model).toBe("claude-sonnet-4-5");
  });

  it("rejects missing messages", () => {
    const error = rejectionOf({ model: "m" }, parseCountTokensRequest);

    expect(error.param).toBe("messages");
  });
});

describe("token bounds", () => {
  it("counts text by bytes", () => {
    const parsed = parseMessagesRequest(request());
    const bound = messagesInputTokenUpperBound(parsed, IMAGE_ALLOWANCE);

    expect(bound).toBeGreaterThanOrEqual(Buffer.byteLength("Hello"));
    expect(bound).toBeLessThan(Buffer.byteLength(JSON.stringify(parsed)) + 1);
  });

  it("counts images as the allowance", () => {
    const image = {
      type: "image",
      source: {
        type: "base64",
        media_type: "image/png",
        data: "A".repeat(100_000),
      },
    };
    const parsed = parseMessagesRequest(
      request({
        messages: [
          { role: "user", content: [image] },
          {
            role: "assistant",
            content: [{ type: "tool_use", id: "t", name: "n", input: {} }],
          },
          {
            role: "user",
            content: [
              { type: "tool_result", tool_use_id: "t", content: [image] },
            ],
          },
        ],
      }),
    );
    const bound = messagesInputTokenUpperBound(parsed, IMAGE_ALLOWANCE);

    expect(bound).toBeGreaterThanOrEqual(2 * IMAGE_ALLOWANCE);
    expect(bound).toBeLessThan(2 * IMAGE_ALLOWANCE + 1_000);
  });

  it("takes max_tokens as the output limit", () => {
    expect(
      messagesOutputLimit(parseMessagesRequest(request({ max_tokens: 77 }))),
    ).toBe(77);
  });
});

describe("requestedCacheTtl", () => {
  it("is 5m without breakpoints", () => {
    expect(requestedCacheTtl(request())).toBe("5m");
  });

  it("is 1h when every breakpoint asks for it", () => {
    const body = request({
      system: [
        {
          type: "text",
          text: "s",
          cache_control: { type: "ephemeral", ttl: "1h" },
        },
      ],
      tools: [
        {
          name: "t",
          input_schema: {},
          cache_control: { type: "ephemeral", ttl: "1h" },
        },
      ],
    });

    expect(requestedCacheTtl(body)).toBe("1h");
  });

  it("is 5m for mixed lifetimes", () => {
    const body = request({
      system: [
        {
          type: "text",
          text: "s",
          cache_control: { type: "ephemeral", ttl: "1h" },
        },
      ],
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "x", cache_control: { type: "ephemeral" } },
          ],
        },
      ],
    });

    expect(requestedCacheTtl(body)).toBe("5m");
  });
});

describe("messagesPromptText", () => {
  it("collects system, messages and tools", () => {
    const text = messagesPromptText(
      parseMessagesRequest(
        request({
          system: "SYS",
          tools: [{ name: "lookup", input_schema: {} }],
          messages: [
            { role: "user", content: "Q1" },
            {
              role: "assistant",
              content: [
                {
                  type: "tool_use",
                  id: "t",
                  name: "lookup",
                  input: { q: "Z" },
                },
              ],
            },
            {
              role: "user",
              content: [
                { type: "tool_result", tool_use_id: "t", content: "R1" },
              ],
            },
          ],
        }),
      ),
    );

    for (const piece of ["SYS", "Q1", "lookup", '{"q":"Z"}', "R1"]) {
      expect(text).toContain(piece);
    }
  });
});
