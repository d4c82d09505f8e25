import { Migration } from "@mikro-orm/migrations";

/** Adds the leases that let one process at a time run each maintenance job. */
export class Migration20261211090000JobLeases extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      'create table "job_leases" ("job" varchar(64) not null, "holder" varchar(200) null, "expires_at" timestamptz not null, "last_tick_at" timestamptz null, constraint "job_leases_pkey" primary key ("job"))',
    );
  }

  override async down(): Promise<void> {
    this.addSql('drop table if exists "job_leases" cascade');
  }
}
