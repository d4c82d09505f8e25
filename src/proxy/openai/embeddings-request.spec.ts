import { ProxyError } from "../../common/proxy-error";
import { TokenEstimator } from "../token-estimator.service";
import {
  embeddingsTokenBounds,
  estimateEmbeddingsPrompt,
  parseEmbeddingsRequest,
  upstreamEmbeddingsBody,
} from "./embeddings-request";

const MODEL = "text-embedding-3-small";

function rejectionOf(body: unknown): ProxyError {
  try {
    parseEmbeddingsRequest(body);
  } catch (error) {
    return error as ProxyError;
  }
  throw new Error("the request was accepted");
}

describe("parseEmbeddingsRequest", () => {
  it.each([
    ["a string", "hello"],
    ["strings", ["a", "b"]],
    ["tokens", [1, 2, 3]],
    ["token arrays", [[1, 2], [3]]],
  ])("accepts %s", (_name, input) => {
    const sut = parseEmbeddingsRequest({ model: MODEL, input });

    expect(sut.model).toBe(MODEL);
    expect(sut.stream).toBe(false);
    expect(sut.body.input).toEqual(input);
  });

  it.each([
    ["missing input", { model: MODEL }, "input"],
    ["empty string", { model: MODEL, input: "" }, "input"],
    ["empty array", { model: MODEL, input: [] }, "input"],
    ["mixed array", { model: MODEL, input: ["a", 1] }, "input"],
    ["negative token", { model: MODEL, input: [-1] }, "input.0"],
    ["fractional token", { model: MODEL, input: [1.5] }, "input"],
    [
      "too many inputs",
      { model: MODEL, input: Array(2049).fill("a") },
      "input",
    ],
    [
      "unknown format",
      { model: MODEL, input: "a", encoding_format: "int8" },
      "encoding_format",
    ],
    [
      "zero dimensions",
      { model: MODEL, input: "a", dimensions: 0 },
      "dimensions",
    ],
    ["missing model", { input: "a" }, "model"],
  ])("rejects %s", (_name, body, param) => {
    const error = rejectionOf(body);

    expect(error).toBeInstanceOf(ProxyError);
    expect(error.status).toBe(400);
    expect(error.code).toBe("invalid_value");
    expect(error.param).toBe(param);
  });

  it("rejects body that is not an object", () => {
    const error = rejectionOf(["input"]);

    expect(error.code).toBe("invalid_body");
  });

  it("passes unknown fields upstream", () => {
    const sut = parseEmbeddingsRequest({
      model: MODEL,
      input: "a",
      user: "u-1",
      encoding_format: "base64",
      dimensions: 256,
    });

    expect(JSON.parse(upstreamEmbeddingsBody(sut, "upstream-model"))).toEqual({
      model: "upstream-model",
      input: "a",
      user: "u-1",
      encoding_format: "base64",
      dimensions: 256,
    });
  });
});

describe("embeddingsTokenBounds", () => {
  it("counts bytes of texts and length of token arrays", () => {
    const sut = parseEmbeddingsRequest({
      model: MODEL,
      input: ["héllo", "ab"],
    });
    const tokens = parseEmbeddingsRequest({
      model: MODEL,
      input: [[1, 2, 3], [4]],
    });

    expect(embeddingsTokenBounds(sut)).toEqual({ input: 8, output: 0 });
    expect(embeddingsTokenBounds(tokens)).toEqual({ input: 4, output: 0 });
  });
});

describe("estimateEmbeddingsPrompt", () => {
  it("tokenizes texts and counts token ids", () => {
    const estimator = new TokenEstimator();
    const texts = parseEmbeddingsRequest({
      model: MODEL,
      input: ["hello world", "hello world"],
    });
    const tokens = parseEmbeddingsRequest({ model: MODEL, input: [5, 6, 7] });

    expect(estimateEmbeddingsPrompt(texts, estimator)).toBe(
      2 * estimator.countText("hello world"),
    );
    expect(estimateEmbeddingsPrompt(tokens, estimator)).toBe(3);
  });
});
