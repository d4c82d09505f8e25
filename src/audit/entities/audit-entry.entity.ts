import { Entity, Index, PrimaryKey, Property } from "@mikro-orm/core";

/**
 * One change made through the admin API: who made it, when, to what, and the entity before and after. Snapshots
 * never hold secrets: provider keys and client tokens appear only as their last four characters or display
 * prefix. Rows are only ever inserted.
 */
@Entity({ tableName: "audit_entries" })
@Index({
  name: "audit_entries_entity_idx",
  properties: ["entityType", "entityId", "id"],
})
@Index({ name: "audit_entries_actor_idx", properties: ["actor", "id"] })
export class AuditEntry {
  @PrimaryKey({ type: "integer", autoincrement: true })
  id!: number;

  @Property({ type: "datetime", index: true })
  createdAt!: Date;

  /** The dashboard user's id; null for changes made outside a session, such as the command-line tool. */
  @Property({ type: "integer", nullable: true })
  actorUserId: number | null = null;

  /** The user's name at the time, kept so the entry stays readable after the user is gone. */
  @Property({ type: "string", length: 200 })
  actor!: string;

  /** What was done, as `entity.verb`, e.g. `client.update` or `client_token.rotate`. */
  @Property({ type: "string", length: 64 })
  action!: string;

  @Property({ type: "string", length: 64 })
  entityType!: string;

  @Property({ type: "string", length: 64 })
  entityId!: string;

  @Property({ type: "json", nullable: true, fieldName: "before_value" })
  before: Record<string, unknown> | null = null;

  @Property({ type: "json", nullable: true, fieldName: "after_value" })
  after: Record<string, unknown> | null = null;

  /** Request id of the admin call, to match the entry with its log lines. */
  @Property({ type: "string", length: 128, nullable: true })
  requestId: string | null = null;
}
