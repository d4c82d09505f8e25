import { Migration } from "@mikro-orm/migrations";

/** Adds the audit trail of admin changes. */
export class Migration20261216090000AuditTrail extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      "create table `audit_entries` (`id` integer not null primary key autoincrement, `created_at` datetime not null, `actor_user_id` integer null, `actor` text not null, `action` text not null, `entity_type` text not null, `entity_id` text not null, `before_value` json null, `after_value` json null, `request_id` text null)",
    );
    this.addSql(
      "create index `audit_entries_created_at_index` on `audit_entries` (`created_at`)",
    );
    this.addSql(
      "create index `audit_entries_actor_idx` on `audit_entries` (`actor`, `id`)",
    );
    this.addSql(
      "create index `audit_entries_entity_idx` on `audit_entries` (`entity_type`, `entity_id`, `id`)",
    );
  }

  override async down(): Promise<void> {
    this.addSql("drop table if exists `audit_entries`");
  }
}
