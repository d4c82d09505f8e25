import { ProxyError } from "../../common/proxy-error";
import { parseChatRequest } from "../openai/chat-request";
import { parseMessagesRequest } from "./messages-request";
import {
  chatToAnthropicRequest,
  messagesToChatRequest,
} from "./translate-request";

const PNG_BASE64 =
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";

/** Builds an OpenAI conversation with a system prompt, an image, a tool call and its result. */
function toolConversation(fields: Record<string, unknown> = {}) {
  return parseChatRequest({
    model: "claude-public",
    messages: [
      { role: "system", content: "You are terse." },
      {
        role: "developer",
        content: [{ type: "text", text: "Use metric units." }],
      },
      {
        role: "user",
        content: [
          { type: "text", text: "Weather where this photo was taken?" },
          {
            type: "image_url",
            image_url: { url: `data:image/png;base64,${PNG_BASE64}` },
          },
          {
            type: "image_url",
            image_url: { url: "https://example.com/paris.jpg" },
          },
        ],
      },
      {
        role: "assistant",
        content: "Checking.",
        tool_calls: [
          {
            id: "call_1",
            type: "function",
            function: { name: "get_weather", arguments: '{"city":"Paris"}' },
          },
          {
            id: "call_2",
            type: "function",
            function: { name: "get_time", arguments: '{"city":"Paris"}' },
          },
        ],
      },
      { role: "tool", tool_call_id: "call_1", content: "18 C" },
      {
        role: "tool",
        tool_call_id: "call_2",
        content: [{ type: "text", text: "14:00" }],
      },
      { role: "user", content: "Thanks" },
    ],
    tools: [
      {
        type: "function",
        function: {
          name: "get_weather",
          description: "Current weather",
          parameters: {
            type: "object",
            properties: { city: { type: "string" } },
          },
        },
      },
      { type: "function", function: { name: "get_time" } },
    ],
    ...fields,
  });
}

function rejectionOf(run: () => unknown): ProxyError {
  try {
    run();
  } catch (error) {
    if (error instanceof ProxyError) {
      return error;
    }
    throw error;
  }
  throw new Error("Expected a ProxyError");
}

describe("chatToAnthropicRequest", () => {
  it("moves system and developer messages to system", () => {
    const body = chatToAnthropicRequest(
      toolConversation(),
      "claude-sonnet-4-5",
      4096,
    );

    expect(body.system).toEqual([
      { type: "text", text: "You are terse." },
      { type: "text", text: "Use metric units." },
    ]);
    expect(body.model).toBe("claude-sonnet-4-5");
  });

  it("translates images", () => {
    const body = chatToAnthropicRequest(toolConversation(), "m", 4096) as {
      messages: { content: unknown[] }[];
    };

    expect(body.messages[0].content).toEqual([
      { type: "text", text: "Weather where this photo was taken?" },
      {
        type: "image",
        source: { type: "base64", media_type: "image/png", data: PNG_BASE64 },
      },
      {
        type: "image",
        source: { type: "url", url: "https://example.com/paris.jpg" },
      },
    ]);
  });

  it("translates tool calls and merges results", () => {
    const body = chatToAnthropicRequest(toolConversation(), "m", 4096) as {
      messages: { role: string; content: unknown[] }[];
    };

    expect(body.messages.map((message) => message.role)).toEqual([
      "user",
      "assistant",
      "user",
    ]);
    expect(body.messages[1].content).toEqual([
      { type: "text", text: "Checking." },
      {
        type: "tool_use",
        id: "call_1",
        name: "get_weather",
        input: { city: "Paris" },
      },
      {
        type: "tool_use",
        id: "call_2",
        name: "get_time",
        input: { city: "Paris" },
      },
    ]);
    expect(body.messages[2].content).toEqual([
      { type: "tool_result", tool_use_id: "call_1", content: "18 C" },
      {
        type: "tool_result",
        tool_use_id: "call_2",
        content: [{ type: "text", text: "14:00" }],
      },
      { type: "text", text: "Thanks" },
    ]);
  });

  it("translates tools", () => {
    const body = chatToAnthropicRequest(toolConversation(), "m", 4096);

    expect(body.tools).toEqual([
      {
        name: "get_weather",
        description: "Current weather",
        input_schema: {
          type: "object",
          properties: { city: { type: "string" } },
        },
      },
      { name: "get_time", input_schema: { type: "object", properties: {} } },
    ]);
  });

  it.each([
    ["auto", { type: "auto" }],
    ["none", { type: "none" }],
    ["required", { type: "any" }],
    [
      { type: "function", function: { name: "get_time" } },
      { type: "tool", name: "get_time" },
    ],
  ])("maps tool_choice %j", (choice, expected) => {
    const body = chatToAnthropicRequest(
      toolConversation({ tool_choice: choice }),
      "m",
      1,
    );

    expect(body.tool_choice).toEqual(expected);
  });

  it("disables parallel tool use", () => {
    const body = chatToAnthropicRequest(
      toolConversation({ parallel_tool_calls: false }),
      "m",
      1,
    );

    expect(body.tool_choice).toEqual({
      type: "auto",
      disable_parallel_tool_use: true,
    });
  });

  it("maps limits and sampling", () => {
    const body = chatToAnthropicRequest(
      toolConversation({
        max_completion_tokens: 300,
        max_tokens: 100,
        temperature: 0.2,
        top_p: 0.9,
        stop: "END",
        stream: true,
        stream_options: { include_usage: true },
        user: "user-7",
      }),
      "m",
      4096,
    );

    expect(body.max_tokens).toBe(300);
    expect(body.temperature).toBe(0.2);
    expect(body.top_p).toBe(0.9);
    expect(body.stop_sequences).toEqual(["END"]);
    expect(body.stream).toBe(true);
    expect(body.stream_options).toBeUndefined();
    expect(body.metadata).toEqual({ user_id: "user-7" });
  });

  it("uses the default output limit", () => {
    expect(
      chatToAnthropicRequest(toolConversation(), "m", 4096).max_tokens,
    ).toBe(4096);
    expect(
      chatToAnthropicRequest(toolConversation({ max_tokens: 50 }), "m", 4096)
        .max_tokens,
    ).toBe(50);
  });

  it.each([
    ["n", { n: 2 }],
    ["logprobs", { logprobs: true }],
    ["response_format", { response_format: { type: "json_object" } }],
    ["temperature", { temperature: 1.5 }],
    ["modalities", { modalities: ["text", "audio"] }],
  ])("rejects %s", (param, fields) => {
    const error = rejectionOf(() =>
      chatToAnthropicRequest(toolConversation(fields), "m", 1),
    );

    expect(error.status).toBe(400);
    expect(error.param).toBe(param);
  });

  it("rejects invalid tool arguments", () => {
    const chat = parseChatRequest({
      model: "m",
      messages: [
        {
          role: "assistant",
          tool_calls: [
            {
              id: "c",
              type: "function",
              function: { name: "f", arguments: "[1]" },
            },
          ],
        },
      ],
    });
    const error = rejectionOf(() => chatToAnthropicRequest(chat, "m", 1));

    expect(error.param).toBe("messages.0.tool_calls.0.function.arguments");
  });

  it("rejects audio input", () => {
    const chat = parseChatRequest({
      model: "m",
      messages: [
        {
          role: "user",
          content: [
            { type: "input_audio", input_audio: { data: "", format: "wav" } },
          ],
        },
      ],
    });

    expect(rejectionOf(() => chatToAnthropicRequest(chat, "m", 1)).param).toBe(
      "messages.0.content.0.type",
    );
  });
});

describe("messagesToChatRequest", () => {
  function messagesRequest(fields: Record<string, unknown> = {}) {
    return parseMessagesRequest({
      model: "gpt-public",
      max_tokens: 512,
      system: [
        { type: "text", text: "You are terse." },
        { type: "text", text: "Use metric units." },
      ],
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "Weather here?" },
            {
              type: "image",
              source: {
                type: "base64",
                media_type: "image/png",
                data: PNG_BASE64,
              },
            },
            {
              type: "image",
              source: { type: "url", url: "https://example.com/paris.jpg" },
            },
          ],
        },
        {
          role: "assistant",
          content: [
            {
              type: "thinking",
              thinking: "The user wants weather.",
              signature: "sig",
            },
            { type: "text", text: "Checking." },
            {
              type: "tool_use",
              id: "toolu_1",
              name: "get_weather",
              input: { city: "Paris" },
            },
          ],
        },
        {
          role: "user",
          content: [
            {
              type: "tool_result",
              tool_use_id: "toolu_1",
              content: [{ type: "text", text: "18 C" }],
            },
            { type: "text", text: "Thanks" },
          ],
        },
      ],
      tools: [
        {
          name: "get_weather",
          description: "Current weather",
          input_schema: { type: "object" },
        },
      ],
      ...fields,
    });
  }

  it("translates a tool conversation", () => {
    const body = messagesToChatRequest(messagesRequest(), "gpt-4o");

    expect(body.model).toBe("gpt-4o");
    expect(body.max_completion_tokens).toBe(512);
    expect(body.messages).toEqual([
      { role: "system", content: "You are terse.\n\nUse metric units." },
      {
        role: "user",
        content: [
          { type: "text", text: "Weather here?" },
          {
            type: "image_url",
            image_url: { url: `data:image/png;base64,${PNG_BASE64}` },
          },
          {
            type: "image_url",
            image_url: { url: "https://example.com/paris.jpg" },
          },
        ],
      },
      {
        role: "assistant",
        content: "Checking.",
        tool_calls: [
          {
            id: "toolu_1",
            type: "function",
            function: { name: "get_weather", arguments: '{"city":"Paris"}' },
          },
        ],
      },
      { role: "tool", tool_call_id: "toolu_1", content: "18 C" },
      { role: "user", content: [{ type: "text", text: "Thanks" }] },
    ]);
    expect(body.tools).toEqual([
      {
        type: "function",
        function: {
          name: "get_weather",
          description: "Current weather",
          parameters: { type: "object" },
        },
      },
    ]);
  });

  it("round-trips through chatToAnthropicRequest", () => {
    const original = messagesRequest({
      stop_sequences: ["END"],
      temperature: 0.3,
    });
    const chat = parseChatRequest(messagesToChatRequest(original, "gpt-4o"));
    const back = chatToAnthropicRequest(chat, "claude", 1) as Record<
      string,
      unknown
    >;

    expect(back.system).toEqual([
      { type: "text", text: "You are terse.\n\nUse metric units." },
    ]);
    expect(back.messages).toEqual([
      original.messages[0],
      {
        role: "assistant",
        content: [
          { type: "text", text: "Checking." },
          {
            type: "tool_use",
            id: "toolu_1",
            name: "get_weather",
            input: { city: "Paris" },
          },
        ],
      },
      {
        role: "user",
        content: [
          { type: "tool_result", tool_use_id: "toolu_1", content: "18 C" },
          { type: "text", text: "Thanks" },
        ],
      },
    ]);
    expect(back.stop_sequences).toEqual(["END"]);
    expect(back.temperature).toBe(0.3);
    expect(back.max_tokens).toBe(512);
  });

  it("marks failed tool results", () => {
    const body = messagesToChatRequest(
      messagesRequest({
        messages: [
          {
            role: "assistant",
            content: [{ type: "tool_use", id: "t", name: "f", input: {} }],
          },
          {
            role: "user",
            content: [
              {
                type: "tool_result",
                tool_use_id: "t",
                content: "boom",
                is_error: true,
              },
            ],
          },
        ],
      }),
      "m",
    ) as { messages: { content: unknown }[] };

    expect(body.messages.at(-1)?.content).toBe("Error: boom");
  });

  it.each([
    [{ type: "auto" }, "auto"],
    [{ type: "any" }, "required"],
    [{ type: "none" }, "none"],
    [
      { type: "tool", name: "get_weather" },
      { type: "function", function: { name: "get_weather" } },
    ],
  ])("maps tool_choice %j", (choice, expected) => {
    expect(
      messagesToChatRequest(messagesRequest({ tool_choice: choice }), "m")
        .tool_choice,
    ).toEqual(expected);
  });

  it("asks for stream usage", () => {
    const body = messagesToChatRequest(messagesRequest({ stream: true }), "m");

    expect(body.stream).toBe(true);
    expect(body.stream_options).toEqual({ include_usage: true });
    expect(
      messagesToChatRequest(messagesRequest({ stream: true }), "m", false)
        .stream_options,
    ).toBeUndefined();
  });

  it("rejects server tools", () => {
    const request = messagesRequest({
      tools: [{ type: "web_search_20250305", name: "web_search" }],
    });

    expect(rejectionOf(() => messagesToChatRequest(request, "m")).param).toBe(
      "tools.0.type",
    );
  });

  it("rejects documents", () => {
    const request = messagesRequest({
      messages: [
        {
          role: "user",
          content: [
            {
              type: "document",
              source: {
                type: "base64",
                media_type: "application/pdf",
                data: "JVBERi0=",
              },
            },
          ],
        },
      ],
    });

    expect(rejectionOf(() => messagesToChatRequest(request, "m")).param).toBe(
      "messages.0.content.0.type",
    );
  });
});
