import { createZodDto } from "nestjs-zod";
import { z } from "zod";

import { BalanceTransactionKind } from "../../billing/entities/balance-transaction.entity";
import { LedgerEntry } from "../../billing/ledger.service";
import { BalanceChangeResult } from "../../providers/providers.service";
import {
  idSchema,
  nextCursor,
  pageQuery,
  signedUsdInput,
  timestampInput,
  timestampOutput,
  usd,
  usdInput,
  usdOutput,
} from "./common.dto";

const note = z.string().min(1).max(1000).meta({
  description: "Why, for the ledger",
  example: "invoice 2026-12",
});

export class TopUpCreateDto extends createZodDto(
  z.strictObject({
    amount: usdInput
      .refine((amount) => amount > 0n, { message: "must be more than zero" })
      .meta({ description: "Credit to add, USD", example: "25.00" }),
    note: note.optional(),
  }),
) {}

export class AdjustmentCreateDto extends createZodDto(
  z.strictObject({
    amount: signedUsdInput
      .refine((amount) => amount !== 0n, { message: "must not be zero" })
      .meta({
        description: "Signed correction, USD; negative removes credit",
        example: "-1.25",
      }),
    note: note.meta({
      description: "Why the balance is corrected; required",
      example: "refund of a duplicate charge",
    }),
  }),
) {}

export class LedgerQueryDto extends createZodDto(
  z.strictObject({
    providerId: idSchema.optional(),
    kind: z.enum(BalanceTransactionKind).optional(),
    from: timestampInput
      .optional()
      .meta({ description: "Entries at or after this time" }),
    to: timestampInput
      .optional()
      .meta({ description: "Entries before this time" }),
    ...pageQuery,
  }),
) {}

const entrySchema = z.object({
  id: z.number().int().meta({ example: 42 }),
  providerId: z.number().int().meta({ example: 1 }),
  kind: z.enum(BalanceTransactionKind).meta({ example: "topup" }),
  amount: usdOutput.meta({
    description: "Signed amount, USD",
    example: "25.000000000",
  }),
  balanceAfter: usdOutput,
  requestId: z
    .string()
    .meta({
      description: "The request a debit pays for",
      example: null,
    })
    .nullable(),
  actor: z
    .string()
    .meta({
      description: "Who made a top-up or adjustment",
      example: "user:alice",
    })
    .nullable(),
  note: z.string().meta({ example: "invoice 2026-12" }).nullable(),
  createdAt: timestampOutput,
});

export class LedgerEntryResponseDto extends createZodDto(entrySchema) {}

export class LedgerPageResponseDto extends createZodDto(
  z.object({ items: z.array(entrySchema), nextCursor }),
) {}

export function toLedgerResponse(
  entry: LedgerEntry,
): z.input<typeof entrySchema> {
  return {
    id: entry.id,
    providerId: entry.providerId,
    kind: entry.kind,
    amount: usd(entry.amount),
    balanceAfter: usd(entry.balanceAfter),
    requestId: entry.requestId,
    actor: entry.actor,
    note: entry.note,
    createdAt: entry.createdAt.toISOString(),
  };
}

export function toBalanceChangeResponse(
  entry: BalanceChangeResult,
): z.input<typeof entrySchema> {
  return toLedgerResponse({
    id: entry.entryId,
    providerId: entry.providerId,
    kind: entry.kind,
    amount: entry.amount,
    balanceAfter: entry.balanceAfter,
    requestId: null,
    actor: entry.actor,
    note: entry.note,
    createdAt: entry.createdAt,
  });
}
