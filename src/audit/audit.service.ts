import { Injectable } from "@nestjs/common";
import { EntityManager, FilterQuery } from "@mikro-orm/core";

import { decodeCursor, Page, toPage } from "../common/pagination";
import { SqlTransaction } from "../database/write-transaction";
import { AuditActor, AuditChange, maskSecrets } from "./audit";
import { AuditEntry } from "./entities/audit-entry.entity";

export interface AuditFilter {
  actor?: string;
  action?: string;
  entityType?: string;
  entityId?: string;
  /** Inclusive lower bound of `createdAt`. */
  from?: Date;
  /** Exclusive upper bound of `createdAt`. */
  to?: Date;
  cursor?: string;
  limit: number;
}

/**
 * Writes and reads the audit trail. Writes join the caller's transaction: {@link record} through the caller's
 * EntityManager, {@link recordSql} through a hand-written write transaction, so a change and its entry are
 * stored together or not at all.
 */
@Injectable()
export class AuditService {
  constructor(private readonly em: EntityManager) {}

  /** Adds an entry to `em`; the caller's flush or transaction writes it together with the change. */
  record(em: EntityManager, actor: AuditActor, change: AuditChange): void {
    em.create(AuditEntry, this.entryOf(actor, change));
  }

  /** Inserts an entry with a statement of the caller's write transaction. */
  async recordSql(
    tx: SqlTransaction,
    actor: AuditActor,
    change: AuditChange,
  ): Promise<void> {
    const entry = this.entryOf(actor, change);
    await tx.run(
      `insert into audit_entries (created_at, actor_user_id, actor, action, entity_type, entity_id, before_value, after_value, request_id)
       values (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        tx.time(entry.createdAt),
        entry.actorUserId,
        entry.actor,
        entry.action,
        entry.entityType,
        entry.entityId,
        entry.before === null ? null : JSON.stringify(entry.before),
        entry.after === null ? null : JSON.stringify(entry.after),
        entry.requestId,
      ],
    );
  }

  /** Lists entries newest first. */
  async list(filter: AuditFilter): Promise<Page<AuditEntry>> {
    const where: FilterQuery<AuditEntry> = {};
    if (filter.actor) where.actor = filter.actor;
    if (filter.action) where.action = filter.action;
    if (filter.entityType) where.entityType = filter.entityType;
    if (filter.entityId) where.entityId = filter.entityId;
    if (filter.from || filter.to) {
      where.createdAt = {
        ...(filter.from ? { $gte: filter.from } : {}),
        ...(filter.to ? { $lt: filter.to } : {}),
      };
    }
    if (filter.cursor) {
      where.id = { $lt: decodeCursor(filter.cursor).id };
    }

    const rows = await this.em.fork().find(AuditEntry, where, {
      orderBy: { id: "desc" },
      limit: filter.limit + 1,
    });
    return toPage(rows, filter.limit, (row) => ({ id: row.id }));
  }

  private entryOf(actor: AuditActor, change: AuditChange) {
    return {
      createdAt: new Date(),
      actorUserId: actor.userId,
      actor: actor.username,
      action: change.action,
      entityType: change.entityType,
      entityId: String(change.entityId),
      before: snapshot(change.before),
      after: snapshot(change.after),
      requestId: actor.requestId ?? null,
    };
  }
}

function snapshot(
  value: Record<string, unknown> | null | undefined,
): Record<string, unknown> | null {
  return value ? (maskSecrets(value) as Record<string, unknown>) : null;
}
