import { Migration } from "@mikro-orm/migrations";

/** Adds the audit trail of admin changes. */
export class Migration20261216090000AuditTrail extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      'create table "audit_entries" ("id" serial primary key, "created_at" timestamptz not null, "actor_user_id" int null, "actor" varchar(200) not null, "action" varchar(64) not null, "entity_type" varchar(64) not null, "entity_id" varchar(64) not null, "before_value" jsonb null, "after_value" jsonb null, "request_id" varchar(128) null)',
    );
    this.addSql(
      'create index "audit_entries_created_at_index" on "audit_entries" ("created_at")',
    );
    this.addSql(
      'create index "audit_entries_actor_idx" on "audit_entries" ("actor", "id")',
    );
    this.addSql(
      'create index "audit_entries_entity_idx" on "audit_entries" ("entity_type", "entity_id", "id")',
    );
  }

  override async down(): Promise<void> {
    this.addSql('drop table if exists "audit_entries" cascade');
  }
}
