import { Migration } from "@mikro-orm/migrations";

/** Adds the leases that let one process at a time run each maintenance job. */
export class Migration20261211090000JobLeases extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      "create table `job_leases` (`job` text not null, `holder` text null, `expires_at` datetime not null, `last_tick_at` datetime null, primary key (`job`))",
    );
  }

  override async down(): Promise<void> {
    this.addSql("drop table if exists `job_leases`");
  }
}
