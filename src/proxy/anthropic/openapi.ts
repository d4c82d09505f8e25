import { applyDecorators } from "@nestjs/common";
import { ApiBody, ApiHeader, ApiResponse } from "@nestjs/swagger";

/*
 * OpenAPI descriptions of `POST /v1/messages` and `POST /v1/messages/count_tokens`. The bodies follow
 * Anthropic's Messages API. The schemas name the fields that the proxy reads or meters and allow the rest, which
 * goes to the provider as sent.
 */

const errorBody = (type: string, message: string) => ({
  type: "object" as const,
  required: ["type", "error"],
  properties: {
    type: { type: "string" as const, enum: ["error"] },
    error: {
      type: "object" as const,
      required: ["type", "message"],
      properties: {
        type: { type: "string" as const },
        message: { type: "string" as const },
      },
    },
  },
  example: { type: "error", error: { type, message } },
});

const messageSchema = {
  type: "object" as const,
  required: ["role", "content"],
  additionalProperties: true,
  properties: {
    role: { type: "string" as const, enum: ["user", "assistant", "system"] },
    content: {
      anyOf: [
        { type: "string" as const },
        {
          type: "array" as const,
          items: {
            type: "object" as const,
            required: ["type"],
            additionalProperties: true,
            properties: { type: { type: "string" as const } },
          },
        },
      ],
    },
  },
};

const promptProperties = {
  model: { type: "string" as const, example: "claude-sonnet-4-5" },
  messages: { type: "array" as const, minItems: 1, items: messageSchema },
  system: {
    anyOf: [
      { type: "string" as const },
      { type: "array" as const, items: { type: "object" as const } },
    ],
  },
  tools: { type: "array" as const, items: { type: "object" as const } },
  tool_choice: { type: "object" as const },
  thinking: { type: "object" as const },
};

const messagesRequestSchema = {
  type: "object" as const,
  required: ["model", "max_tokens", "messages"],
  additionalProperties: true,
  properties: {
    ...promptProperties,
    max_tokens: {
      type: "integer" as const,
      minimum: 1,
      description:
        "Output limit, thinking included; credit is held for it before the call",
    },
    stream: { type: "boolean" as const },
    stop_sequences: {
      type: "array" as const,
      items: { type: "string" as const },
    },
    temperature: { type: "number" as const, minimum: 0, maximum: 1 },
  },
};

const usageSchema = {
  type: "object" as const,
  properties: {
    input_tokens: { type: "integer" as const, example: 40 },
    output_tokens: { type: "integer" as const, example: 310 },
    cache_creation_input_tokens: { type: "integer" as const, example: 1800 },
    cache_read_input_tokens: { type: "integer" as const, example: 9000 },
  },
};

const messageResponseSchema = {
  type: "object" as const,
  additionalProperties: true,
  properties: {
    id: { type: "string" as const, example: "msg_01" },
    type: { type: "string" as const, enum: ["message"] },
    role: { type: "string" as const, enum: ["assistant"] },
    model: { type: "string" as const },
    content: { type: "array" as const, items: { type: "object" as const } },
    stop_reason: { type: "string" as const, example: "end_turn" },
    usage: usageSchema,
  },
};

const ERRORS: [number, string, string][] = [
  [400, "invalid_request_error", "Invalid value for 'max_tokens': Required."],
  [401, "authentication_error", "The client token is missing or invalid."],
  [402, "billing_error", "The provider has too little prepaid credit left."],
  [403, "permission_error", "This client may not use the model."],
  [
    404,
    "not_found_error",
    "The model does not exist or no provider serves it.",
  ],
  [429, "rate_limit_error", "The provider is rate limiting requests."],
  [502, "api_error", "The provider failed."],
  [503, "overloaded_error", "The provider is overloaded. Retry later."],
];

function errorResponses() {
  return ERRORS.map(([status, type, message]) =>
    ApiResponse({
      status,
      description: `Anthropic-format error: ${type}`,
      schema: errorBody(type, message),
    }),
  );
}

const versionHeader = ApiHeader({
  name: "anthropic-version",
  required: false,
  description:
    "Passed on to Anthropic providers; 2023-06-01 is sent when it is absent",
});

/** Documents `POST /v1/messages`. */
export function MessagesDocs() {
  return applyDecorators(
    versionHeader,
    ApiHeader({
      name: "anthropic-beta",
      required: false,
      description:
        "Comma-separated beta names, passed on to Anthropic providers",
    }),
    ApiBody({ schema: messagesRequestSchema }),
    ApiResponse({
      status: 200,
      description:
        "The message; with stream: true, server-sent events from message_start to message_stop",
      content: {
        "application/json": { schema: messageResponseSchema },
        "text/event-stream": {
          schema: {
            type: "string",
            example:
              'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_01","content":[]}}\n\nevent: message_stop\ndata: {"type":"message_stop"}\n\n',
          },
        },
      },
    }),
    ...errorResponses(),
  );
}

/** Documents `POST /v1/messages/count_tokens`. */
export function CountTokensDocs() {
  return applyDecorators(
    versionHeader,
    ApiBody({
      schema: {
        type: "object",
        required: ["model", "messages"],
        additionalProperties: true,
        properties: promptProperties,
      },
    }),
    ApiResponse({
      status: 200,
      description:
        "Input tokens of the prompt: the provider's count for Anthropic models, a local tokenizer estimate for others",
      schema: {
        type: "object",
        required: ["input_tokens"],
        properties: { input_tokens: { type: "integer", example: 2095 } },
      },
    }),
    ...errorResponses(),
  );
}
