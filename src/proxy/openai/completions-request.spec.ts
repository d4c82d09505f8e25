import { ProxyError } from "../../common/proxy-error";
import { TokenEstimator } from "../token-estimator.service";
import {
  completionsTokenBounds,
  DEFAULT_COMPLETION_MAX_TOKENS,
  estimateCompletionsPrompt,
  parseCompletionsRequest,
  upstreamCompletionsBody,
} from "./completions-request";

const MODEL = "gpt-3.5-turbo-instruct";

function rejectionOf(body: unknown): ProxyError {
  try {
    parseCompletionsRequest(body);
  } catch (error) {
    return error as ProxyError;
  }
  throw new Error("the request was accepted");
}

describe("parseCompletionsRequest", () => {
  it.each([
    ["a string", "Say this"],
    ["an empty string", ""],
    ["strings", ["a", "b"]],
    ["tokens", [1, 2]],
    ["token arrays", [[1], [2, 3]]],
  ])("accepts prompt as %s", (_name, prompt) => {
    const sut = parseCompletionsRequest({ model: MODEL, prompt });

    expect(sut.body.prompt).toEqual(prompt);
    expect(sut.stream).toBe(false);
  });

  it.each([
    ["negative max_tokens", { max_tokens: -1 }, "max_tokens"],
    ["n of zero", { n: 0 }, "n"],
    ["best_of over 20", { best_of: 21 }, "best_of"],
    ["best_of below n", { n: 3, best_of: 2 }, "best_of"],
    ["streamed best_of", { best_of: 2, stream: true }, "best_of"],
    [
      "stream_options without stream",
      { stream_options: { include_usage: true } },
      "stream_options",
    ],
    ["echo of wrong type", { echo: "yes" }, "echo"],
    ["prompt of wrong type", { prompt: { text: "a" } }, "prompt"],
  ])("rejects %s", (_name, fields, param) => {
    const error = rejectionOf({ model: MODEL, prompt: "a", ...fields });

    expect(error).toBeInstanceOf(ProxyError);
    expect(error.status).toBe(400);
    expect(error.param).toBe(param);
  });

  it("reads stream flag", () => {
    const sut = parseCompletionsRequest({
      model: MODEL,
      prompt: "a",
      stream: true,
    });

    expect(sut.stream).toBe(true);
  });
});

describe("completionsTokenBounds", () => {
  it("defaults output to 16 tokens", () => {
    const sut = parseCompletionsRequest({ model: MODEL, prompt: "héllo" });

    expect(completionsTokenBounds(sut)).toEqual({
      input: 6,
      output: DEFAULT_COMPLETION_MAX_TOKENS,
    });
  });

  it("multiplies output by candidates and prompts", () => {
    const sut = parseCompletionsRequest({
      model: MODEL,
      prompt: ["ab", "cd", "ef"],
      suffix: "xyz",
      max_tokens: 100,
      n: 2,
      best_of: 5,
    });

    expect(completionsTokenBounds(sut)).toEqual({
      input: 9,
      output: 100 * 5 * 3,
    });
  });

  it("counts token prompts by length", () => {
    const single = parseCompletionsRequest({
      model: MODEL,
      prompt: [1, 2, 3],
      max_tokens: 10,
      n: 2,
    });
    const several = parseCompletionsRequest({
      model: MODEL,
      prompt: [[1, 2], [3]],
      max_tokens: 10,
    });

    expect(completionsTokenBounds(single)).toEqual({ input: 3, output: 20 });
    expect(completionsTokenBounds(several)).toEqual({ input: 3, output: 20 });
  });
});

describe("upstreamCompletionsBody", () => {
  const streamed = () =>
    parseCompletionsRequest({
      model: MODEL,
      prompt: "a",
      stream: true,
      echo: true,
    });

  it("asks for stream usage", () => {
    const body = JSON.parse(upstreamCompletionsBody(streamed(), "m-up", true));

    expect(body.model).toBe("m-up");
    expect(body.echo).toBe(true);
    expect(body.stream_options).toEqual({ include_usage: true });
  });

  it("drops stream_options when provider rejects it", () => {
    const request = parseCompletionsRequest({
      model: MODEL,
      prompt: "a",
      stream: true,
      stream_options: { include_usage: true },
    });

    const body = JSON.parse(upstreamCompletionsBody(request, "m-up", false));

    expect(body.stream_options).toBeUndefined();
  });
});

describe("estimateCompletionsPrompt", () => {
  it("tokenizes prompt and suffix", () => {
    const estimator = new TokenEstimator();
    const sut = parseCompletionsRequest({
      model: MODEL,
      prompt: "hello world",
      suffix: "bye",
    });

    expect(estimateCompletionsPrompt(sut, estimator)).toBe(
      estimator.countText("hello world") + estimator.countText("bye"),
    );
  });
});
