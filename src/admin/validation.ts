import { HttpStatus } from "@nestjs/common";
import { createZodValidationPipe } from "nestjs-zod";
import { ZodError } from "zod";

import { ProxyError } from "../common/proxy-error";

/**
 * Validates bodies, query strings and path parameters against their zod DTOs. A failure returns 400 with every
 * problem as `field: rule`, and names the first field in `param`.
 */
export const AdminValidationPipe = createZodValidationPipe({
  createValidationException: (error: unknown): Error => {
    if (!(error instanceof ZodError)) {
      return error instanceof Error ? error : new Error(String(error));
    }

    const problems = error.issues.map((issue) => {
      const field = issue.path.length ? issue.path.join(".") : "(body)";
      return `${field}: ${issue.message} (${issue.code})`;
    });
    return new ProxyError(`Invalid request. ${problems.join("; ")}`, {
      status: HttpStatus.BAD_REQUEST,
      type: "invalid_request_error",
      code: "invalid_value",
      param: error.issues[0]?.path.join(".") || null,
    });
  },
});
