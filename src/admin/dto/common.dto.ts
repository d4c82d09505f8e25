import { createZodDto } from "nestjs-zod";
import { z } from "zod";

import { formatUsd, Nanos, parseUsd } from "../../billing/money";

/** A row id in a path or query string. */
export const idSchema = z.coerce
  .number()
  .int()
  .positive()
  .max(2_147_483_647)
  .meta({ example: 1 });

const USD_TEXT = /^\d{1,12}(\.\d{1,9})?$/;
const USD_RULE =
  "must be a decimal USD amount with at most 9 decimals, such as 2.50";

/** Parses the checked text into nano-dollars, reporting an amount above the column's range as a zod issue. */
function toNanos(text: string, context: z.RefinementCtx): Nanos {
  try {
    return parseUsd(text);
  } catch (error) {
    context.addIssue({ code: "custom", message: (error as Error).message });
    return z.NEVER;
  }
}

/** A non-negative USD amount as a decimal string, parsed into nano-dollars without floating point. */
export const usdInput = z
  .string()
  .regex(USD_TEXT, USD_RULE)
  .transform(toNanos)
  .meta({ example: "2.50" });

/** A signed USD amount as a decimal string, parsed into nano-dollars. */
export const signedUsdInput = z
  .string()
  .regex(/^-?\d{1,12}(\.\d{1,9})?$/, `${USD_RULE} or -1.25`)
  .transform((text, context) =>
    text.startsWith("-")
      ? -toNanos(text.slice(1), context)
      : toNanos(text, context),
  )
  .meta({ example: "-1.25" });

/** Money in responses: USD as a decimal string with exactly nine decimals, the stored nano-dollars exactly. */
export const usdOutput = z
  .string()
  .regex(/^-?\d+\.\d{9}$/)
  .meta({
    description:
      "USD as a decimal string with nine decimals (exact nano-dollars)",
    example: "2.500000000",
  });

export const usd = (amount: Nanos) => formatUsd(amount);

export const timestampOutput = z.iso
  .datetime()
  .meta({ example: "2026-12-04T13:46:39.161Z" });

/** An ISO 8601 timestamp in a query string or body. */
export const timestampInput = z.iso
  .datetime({ offset: true })
  .transform((text) => new Date(text))
  .meta({ example: "2026-12-04T00:00:00Z" });

export const isoOrNull = (value: Date | null) => value?.toISOString() ?? null;

/** Cursor pagination parameters of a list. */
export const pageQuery = {
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(200)
    .default(50)
    .meta({ description: "Items per page, 1 to 200", example: 50 }),
  cursor: z.string().min(1).max(500).optional().meta({
    description: "The nextCursor of the previous page; omit for the first page",
  }),
};

/** The cursor of the next page, or null on the last page. */
export const nextCursor = z.string().meta({ example: null }).nullable();

export class ClientIdParams extends createZodDto(
  z.strictObject({ clientId: idSchema }),
) {}

export class ProviderIdParams extends createZodDto(
  z.strictObject({ providerId: idSchema }),
) {}

export class ModelIdParams extends createZodDto(
  z.strictObject({ modelId: idSchema }),
) {}

export class TokenParams extends createZodDto(
  z.strictObject({ clientId: idSchema, tokenId: idSchema }),
) {}
