import { createZodDto } from "nestjs-zod";
import { z } from "zod";

import { AuditEntry } from "../../audit/entities/audit-entry.entity";
import {
  nextCursor,
  pageQuery,
  timestampInput,
  timestampOutput,
} from "./common.dto";

export class AuditQueryDto extends createZodDto(
  z.strictObject({
    actor: z
      .string()
      .min(1)
      .max(200)
      .optional()
      .meta({ description: "Username", example: "alice" }),
    action: z
      .string()
      .min(1)
      .max(64)
      .optional()
      .meta({ example: "client.update" }),
    entityType: z
      .string()
      .min(1)
      .max(64)
      .optional()
      .meta({ example: "client" }),
    entityId: z.string().min(1).max(64).optional().meta({ example: "1" }),
    from: timestampInput
      .optional()
      .meta({ description: "Entries at or after this time" }),
    to: timestampInput
      .optional()
      .meta({ description: "Entries before this time" }),
    ...pageQuery,
  }),
) {}

const snapshot = z.looseObject({}).nullable();

const entrySchema = z.object({
  id: z.number().int().meta({ example: 12 }),
  createdAt: timestampOutput,
  actorUserId: z.number().int().meta({ example: 1 }).nullable(),
  actor: z.string().meta({ example: "alice" }),
  action: z.string().meta({ example: "client.update" }),
  entityType: z.string().meta({ example: "client" }),
  entityId: z.string().meta({ example: "1" }),
  before: snapshot.meta({
    description:
      "The entity before the change; null when it was created. Secrets are never included",
    example: {
      id: 1,
      name: "billing-service",
      status: "active",
      allowedModels: null,
    },
  }),
  after: snapshot.meta({
    description: "The entity after the change",
    example: {
      id: 1,
      name: "billing-service",
      status: "disabled",
      allowedModels: null,
    },
  }),
  requestId: z.string().meta({ example: "req_01JEXAMPLE" }).nullable(),
});

export class AuditPageResponseDto extends createZodDto(
  z.object({ items: z.array(entrySchema), nextCursor }),
) {}

export function toAuditResponse(
  entry: AuditEntry,
): z.input<typeof entrySchema> {
  return {
    id: entry.id,
    createdAt: entry.createdAt.toISOString(),
    actorUserId: entry.actorUserId,
    actor: entry.actor,
    action: entry.action,
    entityType: entry.entityType,
    entityId: entry.entityId,
    before: entry.before,
    after: entry.after,
    requestId: entry.requestId,
  };
}
