import { z } from "zod";

import { invalidRequest } from "../common/proxy-error";

/** Deepest nesting of arrays and objects accepted in a request; real requests stay far below it. */
export const MAX_DEPTH = 64;

/**
 * Validates a parsed JSON body against a request schema. Throws a `ProxyError` that
 * names the first invalid field: `invalid_body` for a body that is not an object or nests over {@link MAX_DEPTH}
 * levels, `invalid_value` for a field of the wrong type or out of range.
 */
export function validateRequestBody<Schema extends z.ZodType>(
  schema: Schema,
  body: unknown,
): z.infer<Schema> {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw invalidRequest(
      "The request body must be a JSON object.",
      "invalid_body",
    );
  }

  if (nestingDepth(body, MAX_DEPTH) > MAX_DEPTH) {
    throw invalidRequest(
      `The request body is nested more than ${MAX_DEPTH} levels deep.`,
      "invalid_body",
    );
  }

  const result = schema.safeParse(body);
  if (!result.success) {
    const issue = result.error.issues[0];
    const param = issue.path.join(".") || null;
    throw invalidRequest(
      `Invalid value for '${param ?? "body"}': ${issue.message}.`,
      "invalid_value",
      param,
    );
  }

  return result.data;
}

/** Returns the nesting depth of a parsed JSON value, counting at most to `limit + 1`; it uses no recursion. */
export function nestingDepth(value: unknown, limit: number): number {
  let deepest = 0;
  const stack: { node: unknown; depth: number }[] = [{ node: value, depth: 0 }];

  while (stack.length > 0) {
    const { node, depth } = stack.pop()!;
    if (typeof node !== "object" || node === null) {
      continue;
    }
    deepest = Math.max(deepest, depth + 1);
    if (deepest > limit) {
      return deepest;
    }
    for (const child of Object.values(node)) {
      stack.push({ node: child, depth: depth + 1 });
    }
  }

  return deepest;
}
