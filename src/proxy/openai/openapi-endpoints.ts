import { applyDecorators } from "@nestjs/common";
import { ApiBody, ApiHeader, ApiResponse } from "@nestjs/swagger";

import { CHAT_ERRORS, errorResponses, usageSchema } from "./openapi";

/*
 * OpenAPI descriptions of `POST /v1/embeddings`, `POST /v1/completions` and `POST /v1/responses`. The schemas name
 * the fields that the proxy reads or meters and allow the rest, which goes to the provider as sent.
 */

const requestIdHeader = ApiHeader({
  name: "X-Request-Id",
  required: false,
  description:
    "Idempotency key of the request: 1 to 128 letters, digits, '.', '_' or '-'; a reused id is refused with 409",
});

const textOrTokens = (description: string) => ({
  description,
  oneOf: [
    { type: "string" as const },
    { type: "array" as const, items: { type: "string" as const } },
    { type: "array" as const, items: { type: "integer" as const } },
    {
      type: "array" as const,
      items: { type: "array" as const, items: { type: "integer" as const } },
    },
  ],
});

const embeddingsRequestSchema = {
  type: "object" as const,
  required: ["model", "input"],
  additionalProperties: true,
  properties: {
    model: { type: "string" as const, example: "text-embedding-3-small" },
    input: textOrTokens(
      "Text or token ids to embed: a string, strings, token ids, or arrays of token ids; at most 2048 items",
    ),
    encoding_format: {
      type: "string" as const,
      enum: ["float", "base64"],
      default: "float",
    },
    dimensions: { type: "integer" as const, minimum: 1, example: 256 },
  },
  example: { model: "text-embedding-3-small", input: ["Hello", "World"] },
};

const embeddingsResponseSchema = {
  type: "object" as const,
  properties: {
    object: { type: "string" as const, example: "list" },
    model: { type: "string" as const, example: "text-embedding-3-small" },
    data: {
      type: "array" as const,
      items: {
        type: "object" as const,
        properties: {
          object: { type: "string" as const, example: "embedding" },
          index: { type: "integer" as const, example: 0 },
          embedding: {
            description: "Floats, or a base64 string of float32 values",
            oneOf: [
              { type: "array" as const, items: { type: "number" as const } },
              { type: "string" as const },
            ],
          },
        },
      },
    },
    usage: {
      type: "object" as const,
      properties: {
        prompt_tokens: { type: "integer" as const, example: 8 },
        total_tokens: { type: "integer" as const, example: 8 },
      },
    },
  },
};

const completionsRequestSchema = {
  type: "object" as const,
  required: ["model", "prompt"],
  additionalProperties: true,
  properties: {
    model: { type: "string" as const, example: "gpt-3.5-turbo-instruct" },
    prompt: textOrTokens("One prompt or several, as text or token ids"),
    max_tokens: { type: "integer" as const, minimum: 0, default: 16 },
    n: { type: "integer" as const, minimum: 1, maximum: 128, default: 1 },
    best_of: {
      type: "integer" as const,
      minimum: 1,
      maximum: 20,
      description:
        "Candidates generated and billed per prompt; not with stream",
    },
    stream: { type: "boolean" as const, default: false },
    stream_options: {
      type: "object" as const,
      properties: { include_usage: { type: "boolean" as const } },
    },
    echo: { type: "boolean" as const, default: false },
  },
  example: { model: "gpt-3.5-turbo-instruct", prompt: "Say hello" },
};

const completionsResponseSchema = {
  type: "object" as const,
  properties: {
    id: { type: "string" as const, example: "cmpl-abc123" },
    object: { type: "string" as const, example: "text_completion" },
    created: { type: "integer" as const, example: 1764856000 },
    model: { type: "string" as const, example: "gpt-3.5-turbo-instruct" },
    choices: {
      type: "array" as const,
      items: {
        type: "object" as const,
        properties: {
          text: { type: "string" as const, example: "Hello!" },
          index: { type: "integer" as const, example: 0 },
          finish_reason: { type: "string" as const, example: "stop" },
        },
      },
    },
    usage: usageSchema,
  },
};

const responsesRequestSchema = {
  type: "object" as const,
  required: ["model"],
  additionalProperties: true,
  properties: {
    model: { type: "string" as const, example: "gpt-5-mini" },
    input: {
      description: "Text, or an array of input items",
      oneOf: [
        { type: "string" as const },
        { type: "array" as const, items: { type: "object" as const } },
      ],
    },
    instructions: { type: "string" as const },
    max_output_tokens: {
      type: "integer" as const,
      minimum: 16,
      description: "Cap on generated tokens, reasoning included",
    },
    stream: { type: "boolean" as const, default: false },
    reasoning: {
      type: "object" as const,
      properties: {
        effort: { type: "string" as const, example: "low" },
        summary: { type: "string" as const, example: "auto" },
      },
    },
    tools: { type: "array" as const, items: { type: "object" as const } },
    previous_response_id: { type: "string" as const },
    store: { type: "boolean" as const, default: true },
    background: {
      type: "boolean" as const,
      description:
        "Accepted only with stream: true, since the usage of a response fetched later cannot be metered",
    },
  },
  example: { model: "gpt-5-mini", input: "Say hello" },
};

const responsesResponseSchema = {
  type: "object" as const,
  properties: {
    id: { type: "string" as const, example: "resp_abc123" },
    object: { type: "string" as const, example: "response" },
    status: { type: "string" as const, example: "completed" },
    output: { type: "array" as const, items: { type: "object" as const } },
    usage: {
      type: "object" as const,
      properties: {
        input_tokens: { type: "integer" as const, example: 3000 },
        input_tokens_details: {
          type: "object" as const,
          properties: {
            cached_tokens: { type: "integer" as const, example: 2048 },
          },
        },
        output_tokens: { type: "integer" as const, example: 600 },
        output_tokens_details: {
          type: "object" as const,
          properties: {
            reasoning_tokens: { type: "integer" as const, example: 448 },
          },
        },
        total_tokens: { type: "integer" as const, example: 3600 },
      },
    },
  },
};

/** Documents `POST /v1/embeddings`. */
export function EmbeddingsDocs() {
  return applyDecorators(
    requestIdHeader,
    ApiBody({ schema: embeddingsRequestSchema }),
    ApiResponse({
      status: 200,
      description: "One embedding per input, in OpenAI's list format",
      schema: embeddingsResponseSchema,
    }),
    ...errorResponses(CHAT_ERRORS),
  );
}

/** Documents legacy `POST /v1/completions`. */
export function CompletionsDocs() {
  return applyDecorators(
    requestIdHeader,
    ApiBody({ schema: completionsRequestSchema }),
    ApiResponse({
      status: 200,
      description:
        "The completion; with stream: true, server-sent events of text_completion chunks ending in data: [DONE]",
      content: {
        "application/json": { schema: completionsResponseSchema },
        "text/event-stream": {
          schema: {
            type: "string",
            example:
              'data: {"id":"cmpl-abc123","object":"text_completion","choices":[{"text":"Hello","index":0}]}\n\ndata: [DONE]\n\n',
          },
        },
      },
    }),
    ...errorResponses(CHAT_ERRORS),
  );
}

/** Documents `POST /v1/responses`. */
export function ResponsesDocs() {
  return applyDecorators(
    requestIdHeader,
    ApiBody({ schema: responsesRequestSchema }),
    ApiResponse({
      status: 200,
      description:
        "The response; with stream: true, typed server-sent events from response.created to one of response.completed, response.incomplete or response.failed",
      content: {
        "application/json": { schema: responsesResponseSchema },
        "text/event-stream": {
          schema: {
            type: "string",
            example:
              'event: response.output_text.delta\ndata: {"type":"response.output_text.delta","delta":"Hello","sequence_number":4}\n\n',
          },
        },
      },
    }),
    ...errorResponses(CHAT_ERRORS),
  );
}
