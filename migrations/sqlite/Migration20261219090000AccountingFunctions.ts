import { Migration } from "@mikro-orm/migrations";

/*
 * PostgreSQL gains server-side admission and settlement functions in this step. SQLite runs its statements in the
 * application's own process, where a round trip costs microseconds, so it has nothing to change; the step exists
 * so that both dialects list the same migrations.
 */
export class Migration20261219090000AccountingFunctions extends Migration {
  override async up(): Promise<void> {
    // Nothing to change on SQLite.
  }

  override async down(): Promise<void> {
    // Nothing to undo on SQLite.
  }
}
