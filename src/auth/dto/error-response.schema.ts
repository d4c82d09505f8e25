import { ApiResponseSchemaHost } from "@nestjs/swagger";

type SchemaObject = ApiResponseSchemaHost["schema"];

/** OpenAPI schema of the `{"error": {...}}` body of admin and sign-in errors, with an example. */
export function errorResponseSchema(example: {
  message: string;
  type: string;
  code: string;
}): SchemaObject {
  return {
    type: "object",
    required: ["error"],
    properties: {
      error: {
        type: "object",
        required: ["message", "type", "code"],
        properties: {
          message: { type: "string", description: "What went wrong" },
          type: { type: "string", description: "Error class" },
          param: {
            type: "string",
            nullable: true,
            description: "The request field at fault, if any",
          },
          code: { type: "string", description: "Stable machine-readable code" },
        },
      },
    },
    example: { error: { ...example, param: null } },
  };
}
