import { join } from "node:path";

import { Client } from "pg";
import sqlite3 from "sqlite3";

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

    const db = new sqlite3.Database(join(target.folder, "proxy.sqlite"));
    await run(db, "begin exclusive");
    await run(db, "update providers set updated_at = updated_at");
    return new DatabaseWriteLock(async () => {
      await run(db, "rollback");
      await new Promise<void>((resolve, reject) =>
        db.close((error) => (error ? reject(error) : resolve())),
      );
    });
  }

  release(): Promise<void> {
    return this.release_();
  }
}

function run(db: sqlite3.Database, sql: string): Promise<void> {
  return new Promise((resolve, reject) =>
    db.run(sql, (error) => (error ? reject(error) : resolve())),
  );
}
