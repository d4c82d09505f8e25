import { ProxyError } from "../../common/proxy-error";
import { TokenEstimator } from "../token-estimator.service";
import {
  estimateResponsesPrompt,
  parseResponsesRequest,
  responsesTokenBounds,
  upstreamResponsesBody,
} from "./responses-request";

const MODEL = "gpt-5-mini";
const DEFAULTS = { defaultMaxOutputTokens: 4096, imageTokenAllowance: 2000 };
const LIMITS = { contextWindow: 400_000, maxOutputTokens: 128_000 };

function rejectionOf(body: unknown): ProxyError {
  try {
    parseResponsesRequest(body);
  } catch (error) {
    return error as ProxyError;
  }
  throw new Error("the request was accepted");
}

describe("parseResponsesRequest", () => {
  it("accepts string input", () => {
    const sut = parseResponsesRequest({ model: MODEL, input: "Hi" });

    expect(sut.model).toBe(MODEL);
    expect(sut.stream).toBe(false);
  });

  it("accepts items, tools and reasoning", () => {
    const sut = parseResponsesRequest({
      model: MODEL,
      input: [
        { role: "user", content: [{ type: "input_text", text: "Hi" }] },
        { type: "function_call_output", call_id: "c1", output: "42" },
      ],
      instructions: "Be brief",
      reasoning: { effort: "low", summary: "auto" },
      tools: [{ type: "function", name: "f", parameters: {} }],
      stream: true,
      stream_options: { include_obfuscation: false },
      store: false,
      text: { format: { type: "text" } },
    });

    expect(sut.stream).toBe(true);
    expect(sut.body.text).toEqual({ format: { type: "text" } });
  });

  it.each([
    [
      "max_output_tokens below 16",
      { max_output_tokens: 15 },
      "max_output_tokens",
    ],
    ["input of wrong type", { input: 5 }, "input"],
    ["tool without type", { tools: [{ name: "f" }] }, "tools.0.type"],
    ["reasoning of wrong type", { reasoning: "high" }, "reasoning"],
    ["store of wrong type", { store: "no" }, "store"],
    [
      "stream_options without stream",
      { stream_options: { include_obfuscation: false } },
      "stream_options",
    ],
    ["unstreamed background", { background: true }, "background"],
  ])("rejects %s", (_name, fields, param) => {
    const error = rejectionOf({ model: MODEL, input: "Hi", ...fields });

    expect(error).toBeInstanceOf(ProxyError);
    expect(error.status).toBe(400);
    expect(error.param).toBe(param);
  });

  it("accepts streamed background", () => {
    const sut = parseResponsesRequest({
      model: MODEL,
      input: "Hi",
      background: true,
      stream: true,
    });

    expect(sut.body.background).toBe(true);
  });
});

describe("responsesTokenBounds", () => {
  it("takes max_output_tokens", () => {
    const sut = parseResponsesRequest({
      model: MODEL,
      input: "Hi",
      max_output_tokens: 500,
    });

    const bounds = responsesTokenBounds(sut, LIMITS, DEFAULTS);

    expect(bounds.output).toBe(500);
    expect(bounds.input).toBeGreaterThanOrEqual(2);
    expect(bounds.input).toBeLessThan(100);
  });

  it("falls back to model then default output limit", () => {
    const sut = parseResponsesRequest({ model: MODEL, input: "Hi" });

    expect(responsesTokenBounds(sut, LIMITS, DEFAULTS).output).toBe(128_000);
    expect(
      responsesTokenBounds(
        sut,
        { contextWindow: null, maxOutputTokens: null },
        DEFAULTS,
      ).output,
    ).toBe(4096);
  });

  it("counts images as allowance", () => {
    const image = "x".repeat(50_000);
    const sut = parseResponsesRequest({
      model: MODEL,
      input: [
        {
          role: "user",
          content: [
            {
              type: "input_image",
              image_url: `data:image/png;base64,${image}`,
            },
          ],
        },
      ],
    });

    const bounds = responsesTokenBounds(sut, LIMITS, DEFAULTS);

    expect(bounds.input).toBeGreaterThanOrEqual(2000);
    expect(bounds.input).toBeLessThan(3000);
  });

  it.each([
    ["previous_response_id", { previous_response_id: "resp_1" }],
    ["conversation", { conversation: "conv_1" }],
    ["hosted tool", { tools: [{ type: "web_search" }] }],
    [
      "file by id",
      {
        input: [
          {
            role: "user",
            content: [{ type: "input_file", file_id: "file-1" }],
          },
        ],
      },
    ],
  ])("bounds hidden input by context window: %s", (_name, fields) => {
    const sut = parseResponsesRequest({ model: MODEL, input: "Hi", ...fields });

    expect(responsesTokenBounds(sut, LIMITS, DEFAULTS).input).toBe(400_000);
  });
});

describe("upstreamResponsesBody", () => {
  it("sets model and keeps other fields", () => {
    const sut = parseResponsesRequest({
      model: MODEL,
      input: "Hi",
      stream: true,
      stream_options: { include_obfuscation: false },
      metadata: { a: "b" },
    });

    const kept = JSON.parse(upstreamResponsesBody(sut, "up", true));
    const dropped = JSON.parse(upstreamResponsesBody(sut, "up", false));

    expect(kept.model).toBe("up");
    expect(kept.metadata).toEqual({ a: "b" });
    expect(kept.stream_options).toEqual({ include_obfuscation: false });
    expect(dropped.stream_options).toBeUndefined();
  });
});

describe("estimateResponsesPrompt", () => {
  it("tokenizes instructions and item texts", () => {
    const estimator = new TokenEstimator();
    const sut = parseResponsesRequest({
      model: MODEL,
      instructions: "Be brief",
      input: [
        {
          role: "user",
          content: [{ type: "input_text", text: "hello world" }],
        },
        { type: "function_call_output", call_id: "c", output: "42" },
      ],
    });

    expect(estimateResponsesPrompt(sut, estimator)).toBe(
      estimator.countText("Be brief") +
        estimator.countText("user") +
        estimator.countText("hello world") +
        estimator.countText("42"),
    );
  });
});
