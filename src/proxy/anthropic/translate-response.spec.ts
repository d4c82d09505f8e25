/* eslint-disable @typescript-eslint/no-explicit-any -- parsed JSON is checked key by key */
import { ProxyError } from "../../common/proxy-error";
import { parseOpenAiUsage } from "../openai/openai-usage";
import { parseAnthropicUsage } from "./anthropic-usage";
import {
  anthropicMessageToChatCompletion,
  chatCompletionToAnthropicMessage,
  finishReasonFor,
  stopReasonFor,
} from "./translate-response";

/** The non-streamed example of the Messages API reference: thinking, text and a tool call, with cache usage. */
const DOCUMENTED_MESSAGE = {
  id: "msg_01",
  type: "message",
  role: "assistant",
  model: "claude-sonnet-4-5",
  content: [
    { type: "thinking", thinking: "Need the weather.", signature: "c2ln" },
    { type: "text", text: "Let me check." },
    {
      type: "tool_use",
      id: "toolu_01",
      name: "get_weather",
      input: { city: "Paris" },
    },
  ],
  stop_reason: "tool_use",
  stop_sequence: null,
  usage: {
    input_tokens: 40,
    output_tokens: 310,
    cache_creation_input_tokens: 1800,
    cache_read_input_tokens: 9000,
    service_tier: "standard",
    cache_creation: {
      ephemeral_5m_input_tokens: 1800,
      ephemeral_1h_input_tokens: 0,
    },
    server_tool_use: { web_search_requests: 0, web_fetch_requests: 0 },
    output_tokens_details: { thinking_tokens: 190 },
  },
};

/** The non-streamed example of the Chat Completions reference, with cached tokens and reasoning. */
const DOCUMENTED_COMPLETION = {
  id: "chatcmpl-abc",
  object: "chat.completion",
  created: 1760000000,
  model: "gpt-4o",
  choices: [
    {
      index: 0,
      finish_reason: "tool_calls",
      logprobs: null,
      message: {
        role: "assistant",
        content: "Let me check.",
        refusal: null,
        tool_calls: [
          {
            id: "call_1",
            type: "function",
            function: { name: "get_weather", arguments: '{"city":"Paris"}' },
          },
        ],
      },
    },
  ],
  usage: {
    prompt_tokens: 1500,
    completion_tokens: 220,
    total_tokens: 1720,
    prompt_tokens_details: {
      cached_tokens: 1280,
      audio_tokens: 0,
      cache_write_tokens: 0,
    },
    completion_tokens_details: { reasoning_tokens: 128 },
  },
};

describe("anthropicMessageToChatCompletion", () => {
  const completion = anthropicMessageToChatCompletion(
    DOCUMENTED_MESSAGE,
    "claude-public",
    "req-1",
  ) as any;

  it("joins text and keeps thinking apart", () => {
    expect(completion.object).toBe("chat.completion");
    expect(completion.model).toBe("claude-public");
    expect(completion.choices[0].message.content).toBe("Let me check.");
    expect(completion.choices[0].message.reasoning_content).toBe(
      "Need the weather.",
    );
  });

  it("translates tool_use to tool_calls", () => {
    expect(completion.choices[0].message.tool_calls).toEqual([
      {
        id: "toolu_01",
        type: "function",
        function: { name: "get_weather", arguments: '{"city":"Paris"}' },
      },
    ]);
    expect(completion.choices[0].finish_reason).toBe("tool_calls");
  });

  it("reports total input with cache details", () => {
    expect(completion.usage).toEqual({
      prompt_tokens: 10_840,
      completion_tokens: 310,
      total_tokens: 11_150,
      prompt_tokens_details: { cached_tokens: 9000, cache_write_tokens: 1800 },
      completion_tokens_details: { reasoning_tokens: 190 },
    });
  });

  it("bills the same as the original usage", () => {
    const billed = parseAnthropicUsage(DOCUMENTED_MESSAGE.usage)!;
    const shown = parseOpenAiUsage(completion.usage)!;

    expect(shown.promptTokens).toBe(billed.promptTokens);
    expect(shown.cacheReadTokens).toBe(billed.cacheReadTokens);
    expect(shown.cacheWriteTokens).toBe(billed.cacheWriteTokens);
    expect(shown.completionTokens).toBe(billed.completionTokens);
  });

  it("gives null content without text", () => {
    const reply = anthropicMessageToChatCompletion(
      { ...DOCUMENTED_MESSAGE, content: [DOCUMENTED_MESSAGE.content[2]] },
      "m",
      "r",
    ) as any;

    expect(reply.choices[0].message.content).toBeNull();
  });
});

describe("chatCompletionToAnthropicMessage", () => {
  const message = chatCompletionToAnthropicMessage(
    DOCUMENTED_COMPLETION,
    "gpt-public",
  ) as any;

  it("builds text and tool_use blocks", () => {
    expect(message.type).toBe("message");
    expect(message.role).toBe("assistant");
    expect(message.model).toBe("gpt-public");
    expect(message.id).toBe("msg_abc");
    expect(message.content).toEqual([
      { type: "text", text: "Let me check." },
      {
        type: "tool_use",
        id: "call_1",
        name: "get_weather",
        input: { city: "Paris" },
      },
    ]);
    expect(message.stop_reason).toBe("tool_use");
    expect(message.stop_sequence).toBeNull();
  });

  it("splits prompt tokens into Anthropic usage", () => {
    expect(message.usage).toEqual({
      input_tokens: 220,
      cache_read_input_tokens: 1280,
      cache_creation_input_tokens: 0,
      cache_creation: {
        ephemeral_5m_input_tokens: 0,
        ephemeral_1h_input_tokens: 0,
      },
      output_tokens: 220,
    });
  });

  it("round-trips through the reverse translation", () => {
    const back = anthropicMessageToChatCompletion(
      message,
      "gpt-public",
      "r",
    ) as any;

    expect(back.choices[0].message.content).toBe("Let me check.");
    expect(back.choices[0].message.tool_calls).toEqual(
      DOCUMENTED_COMPLETION.choices[0].message.tool_calls,
    );
    expect(back.choices[0].finish_reason).toBe("tool_calls");
    expect(back.usage.prompt_tokens).toBe(1500);
    expect(back.usage.prompt_tokens_details.cached_tokens).toBe(1280);
  });

  it("rejects arguments that are not an object", () => {
    const broken = structuredClone(DOCUMENTED_COMPLETION);
    broken.choices[0].message.tool_calls[0].function.arguments = "{oops";

    expect(() => chatCompletionToAnthropicMessage(broken, "m")).toThrow(
      ProxyError,
    );
  });

  it("rejects a completion without choices", () => {
    expect(() =>
      chatCompletionToAnthropicMessage({ choices: [] }, "m"),
    ).toThrow(ProxyError);
  });
});

describe("stop reasons", () => {
  it.each([
    ["end_turn", "stop"],
    ["stop_sequence", "stop"],
    ["max_tokens", "length"],
    ["tool_use", "tool_calls"],
    ["refusal", "content_filter"],
    ["pause_turn", "stop"],
    ["model_context_window_exceeded", "length"],
  ])("%s becomes %s", (stop, finish) => {
    expect(finishReasonFor(stop)).toBe(finish);
  });

  it.each([
    ["stop", "end_turn"],
    ["length", "max_tokens"],
    ["tool_calls", "tool_use"],
    ["function_call", "tool_use"],
    ["content_filter", "refusal"],
  ])("%s becomes %s", (finish, stop) => {
    expect(stopReasonFor(finish)).toBe(stop);
  });

  it("keeps null", () => {
    expect(finishReasonFor(null)).toBeNull();
    expect(stopReasonFor(null)).toBeNull();
  });
});
