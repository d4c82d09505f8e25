import { join } from "node:path";

import sqlite3 from "sqlite3";

/**
 * A second connection to a proxy's SQLite file that holds the write lock, as a backup tool or an operator's
 * shell would, until released.
 */
export class SqliteWriteLock {
  private constructor(private readonly db: sqlite3.Database) {}

  static async take(folder: string): Promise<SqliteWriteLock> {
    const db = new sqlite3.Database(join(folder, "proxy.sqlite"));
    await run(db, "begin exclusive");
    await run(db, "update providers set updated_at = updated_at");
    return new SqliteWriteLock(db);
  }

  async release(): Promise<void> {
    await run(this.db, "rollback");
    await new Promise<void>((resolve, reject) =>
      this.db.close((error) => (error ? reject(error) : resolve())),
    );
  }
}

function run(db: sqlite3.Database, sql: string): Promise<void> {
  return new Promise((resolve, reject) =>
    db.run(sql, (error) => (error ? reject(error) : resolve())),
  );
}
