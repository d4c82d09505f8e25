import { applyDecorators } from "@nestjs/common";
import { ApiBody, ApiHeader, ApiResponse } from "@nestjs/swagger";

/*
 * OpenAPI descriptions of the `/v1` endpoints. The bodies follow OpenAI's Chat Completions and Models APIs. The
 * schemas name the fields that the proxy reads or meters and allow the rest, which goes to the provider as sent.
 */

/** A string or null, in OpenAPI 3.1's JSON Schema. */
const nullableString = (example?: string) => ({
  anyOf: [{ type: "string" as const }, { type: "null" as const }],
  ...(example === undefined ? {} : { example }),
});

const errorBody = (example: {
  message: string;
  type: string;
  code: string;
  param?: string | null;
}) => ({
  type: "object" as const,
  required: ["error"],
  properties: {
    error: {
      type: "object" as const,
      required: ["message", "type", "code"],
      properties: {
        message: { type: "string" as const },
        type: { type: "string" as const },
        param: nullableString(),
        code: { type: "string" as const },
      },
    },
  },
  example: { error: { param: null, ...example } },
});

export const usageSchema = {
  type: "object" as const,
  properties: {
    prompt_tokens: { type: "integer" as const, example: 1500 },
    completion_tokens: { type: "integer" as const, example: 220 },
    total_tokens: { type: "integer" as const, example: 1720 },
    prompt_tokens_details: {
      type: "object" as const,
      properties: { cached_tokens: { type: "integer" as const, example: 0 } },
    },
    completion_tokens_details: {
      type: "object" as const,
      properties: {
        reasoning_tokens: { type: "integer" as const, example: 0 },
      },
    },
  },
};

const chatRequestSchema = {
  type: "object" as const,
  required: ["model", "messages"],
  additionalProperties: true,
  properties: {
    model: {
      type: "string" as const,
      description: "A public model name this client may call",
      example: "gpt-4o-mini",
    },
    messages: {
      type: "array" as const,
      minItems: 1,
      items: {
        type: "object" as const,
        required: ["role"],
        additionalProperties: true,
        properties: {
          role: { type: "string" as const, example: "user" },
          content: {
            description:
              "Text, or an array of content parts such as text and images",
            oneOf: [
              { type: "string" as const },
              { type: "array" as const, items: { type: "object" as const } },
            ],
          },
        },
      },
    },
    stream: { type: "boolean" as const, default: false },
    stream_options: {
      type: "object" as const,
      properties: { include_usage: { type: "boolean" as const } },
    },
    max_completion_tokens: {
      type: "integer" as const,
      minimum: 1,
      example: 512,
    },
    max_tokens: {
      type: "integer" as const,
      minimum: 1,
      description: "Older name of max_completion_tokens",
    },
  },
  example: {
    model: "gpt-4o-mini",
    messages: [{ role: "user", content: "Hello" }],
  },
};

const chatResponseSchema = {
  type: "object" as const,
  required: ["id", "object", "created", "model", "choices"],
  properties: {
    id: { type: "string" as const, example: "chatcmpl-abc123" },
    object: { type: "string" as const, example: "chat.completion" },
    created: { type: "integer" as const, example: 1764856000 },
    model: { type: "string" as const, example: "gpt-4o-mini-2024-07-18" },
    choices: {
      type: "array" as const,
      items: {
        type: "object" as const,
        properties: {
          index: { type: "integer" as const, example: 0 },
          message: {
            type: "object" as const,
            properties: {
              role: { type: "string" as const, example: "assistant" },
              content: nullableString("Hello! How can I help?"),
            },
          },
          finish_reason: nullableString("stop"),
        },
      },
    },
    usage: usageSchema,
  },
};

const modelListSchema = {
  type: "object" as const,
  required: ["object", "data"],
  properties: {
    object: { type: "string" as const, example: "list" },
    data: {
      type: "array" as const,
      items: {
        type: "object" as const,
        required: ["id", "object"],
        properties: {
          id: { type: "string" as const, example: "gpt-4o-mini" },
          object: { type: "string" as const, example: "model" },
          created: { type: "integer" as const, example: 1764856000 },
          owned_by: { type: "string" as const, example: "openai" },
        },
      },
    },
  },
};

const ERRORS: [
  number,
  string,
  { message: string; type: string; code: string },
][] = [
  [
    401,
    "Missing, malformed, unknown, expired or revoked client token, or a disabled client",
    {
      message: "Client token has expired.",
      type: "authentication_error",
      code: "token_expired",
    },
  ],
];

export const CHAT_ERRORS: [
  number,
  string,
  { message: string; type: string; code: string },
][] = [
  [
    400,
    "Malformed JSON, a field of the wrong type or out of range (named in param), or a bad X-Request-Id",
    {
      message:
        "The request body is not valid JSON (Unexpected end of JSON input).",
      type: "invalid_request_error",
      code: "invalid_json",
    },
  ],
  ...ERRORS,
  [
    402,
    "The prepaid provider cannot cover the request's worst case",
    {
      message:
        "The provider serving 'gpt-4o-mini' has too little prepaid credit left for this request.",
      type: "insufficient_quota",
      code: "insufficient_credit",
    },
  ],
  [
    403,
    "The client may not use that model",
    {
      message: "This client may not use the model 'gpt-4o'.",
      type: "permission_error",
      code: "model_not_allowed",
    },
  ],
  [
    404,
    "No enabled provider serves the model",
    {
      message:
        "The model 'gpt-5-nano' does not exist or no provider serves it.",
      type: "invalid_request_error",
      code: "model_not_found",
    },
  ],
  [
    409,
    "The X-Request-Id was used before",
    {
      message:
        "The request id 'req_1' was already used. Answers are not stored, so send a new X-Request-Id.",
      type: "invalid_request_error",
      code: "duplicate_request_id",
    },
  ],
  [
    413,
    "The body is larger than server.bodyLimitBytes",
    {
      message:
        "The request body is larger than this proxy accepts (server.bodyLimitBytes).",
      type: "invalid_request_error",
      code: "request_too_large",
    },
  ],
  [
    415,
    "The body is not JSON, or is compressed",
    {
      message:
        "Send the request body as JSON with 'Content-Type: application/json'.",
      type: "invalid_request_error",
      code: "unsupported_media_type",
    },
  ],
  [
    429,
    "The provider rate-limited the call; its Retry-After is passed on",
    {
      message: "Rate limit reached.",
      type: "rate_limit_error",
      code: "rate_limit_exceeded",
    },
  ],
  [
    500,
    "A fault in the proxy itself",
    {
      message: "Internal error. Quote request id req_1 when reporting it.",
      type: "server_error",
      code: "internal_error",
    },
  ],
  [
    502,
    "The provider failed or could not be reached",
    {
      message: "The provider 'openai' failed (HTTP 500).",
      type: "upstream_error",
      code: "upstream_server_error",
    },
  ],
  [
    503,
    "The database could not hold credit for the request; nothing was forwarded or charged",
    {
      message:
        "The accounting database is unavailable, so the request was not forwarded and nothing was charged. Retry shortly.",
      type: "service_unavailable_error",
      code: "accounting_unavailable",
    },
  ],
  [
    504,
    "The provider sent no headers within proxy.headersTimeoutMs",
    {
      message: "The provider did not answer in time.",
      type: "timeout_error",
      code: "upstream_timeout",
    },
  ],
];

export const errorResponses = (errors: typeof ERRORS) =>
  errors.map(([status, description, example]) =>
    ApiResponse({ status, description, schema: errorBody(example) }),
  );

/** Documents `POST /v1/chat/completions`: its body, the JSON and streamed responses, and every error. */
export function ChatCompletionsDocs() {
  return applyDecorators(
    ApiHeader({
      name: "X-Request-Id",
      required: false,
      description:
        "Idempotency key of the request: 1 to 128 letters, digits, '.', '_' or '-'; a reused id is refused with 409",
    }),
    ApiBody({ schema: chatRequestSchema }),
    ApiResponse({
      status: 200,
      description:
        "The completion; with stream: true, server-sent events of chat.completion.chunk objects ending in data: [DONE]",
      content: {
        "application/json": { schema: chatResponseSchema },
        "text/event-stream": {
          schema: {
            type: "string",
            example:
              'data: {"id":"chatcmpl-abc123","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"Hello"}}]}\n\ndata: [DONE]\n\n',
          },
        },
      },
    }),
    ...errorResponses(CHAT_ERRORS),
  );
}

/** Documents `GET /v1/models`. */
export function ListModelsDocs() {
  return applyDecorators(
    ApiResponse({
      status: 200,
      description: "The models this client may call, in OpenAI's list format",
      schema: modelListSchema,
    }),
    ...errorResponses(ERRORS),
  );
}
