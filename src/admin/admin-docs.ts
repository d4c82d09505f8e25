import {
  applyDecorators,
  Controller,
  UseInterceptors,
  UsePipes,
} from "@nestjs/common";
import { ApiResponse, ApiTags } from "@nestjs/swagger";
import { ZodSerializerInterceptor } from "nestjs-zod";

import { errorResponseSchema } from "../auth/dto/error-response.schema";
import { AdminErrorsInterceptor } from "./admin-errors.interceptor";
import { AdminValidationPipe } from "./validation";

/**
 * Declares an admin API controller under `/api/<path>`. Requests are validated by zod DTOs, responses are
 * parsed by their zod schema (which drops any field the schema does not name), and domain errors become HTTP errors.
 */
export function AdminController(path: string, tag: string) {
  return applyDecorators(
    Controller(`api/${path}`),
    ApiTags(tag),
    UsePipes(AdminValidationPipe),
    UseInterceptors(AdminErrorsInterceptor, ZodSerializerInterceptor),
  );
}

const ERRORS = {
  400: {
    description:
      "A field is missing or breaks a rule; the message names the field and the rule",
    example: {
      message:
        "Invalid request. name: Too small: expected string to have >=1 characters (too_small)",
      type: "invalid_request_error",
      code: "invalid_value",
    },
  },
  404: {
    description: "No entity with that id",
    example: {
      message: "No client with id 42",
      type: "not_found_error",
      code: "not_found",
    },
  },
  409: {
    description: "The change conflicts with the current state",
    example: {
      message:
        "A client named 'billing-service' already exists; pick another name or use the existing client",
      type: "invalid_request_error",
      code: "name_taken",
    },
  },
} as const;

/** Documents the error responses a route can give besides 401 and 403, which `AdminRoute` documents. */
export function ApiErrors(...statuses: (keyof typeof ERRORS)[]) {
  return applyDecorators(
    ...statuses.map((status) =>
      ApiResponse({
        status,
        description: ERRORS[status].description,
        schema: errorResponseSchema(ERRORS[status].example),
      }),
    ),
  );
}
