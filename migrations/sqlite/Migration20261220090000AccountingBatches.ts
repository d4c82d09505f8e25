import { Migration } from "@mikro-orm/migrations";

/*
 * PostgreSQL gains functions that admit and settle several requests in one call in this step. SQLite already
 * commits the admissions and settlements that arrive together in one transaction of its group commit, so it has
 * nothing to change; the step exists so that both dialects list the same migrations.
 */
export class Migration20261220090000AccountingBatches extends Migration {
  override async up(): Promise<void> {
    // Nothing to change on SQLite.
  }

  override async down(): Promise<void> {
    // Nothing to undo on SQLite.
  }
}
