import { join } from "node:path";

import Database from "better-sqlite3";
import { Client } from "pg";

/**
 * A second connection to a proxy's database that blocks its writes until released, as a backup tool, a
 * migration or an operator's session would. On SQLite it holds the database's write lock; on PostgreSQL an
 * EXCLUSIVE lock on `llm_requests`, which still lets others read the table.
 */
export class DatabaseWriteLock {
  private constructor(private readonly release_: () => Promise<void>) {}

  static async take(target: {
    folder: string;
    databaseUrl: string | null;
  }): Promise<DatabaseWriteLock> {
    if (target.databaseUrl) {
      const pg = new Client({ connectionString: target.databaseUrl });
      await pg.connect();
      await pg.query("begin");
      await pg.query("lock table llm_requests in exclusive mode");
      return new DatabaseWriteLock(async () => {
        await pg.query("rollback");
        await pg.end();
      });
    }

    // The same driver as the proxy: SQLite's locks between connections of one process are tracked inside the
    // library, so a lock taken through another SQLite build in this process would not stop the proxy's writes.
    const db = new Database(join(target.folder, "proxy.sqlite"));
    db.exec("begin exclusive");
    db.prepare("update providers set updated_at = updated_at").run();
    return new DatabaseWriteLock(async () => {
      db.exec("rollback");
      db.close();
    });
  }

  release(): Promise<void> {
    return this.release_();
  }
}
