import { createHash } from "node:crypto";
import { chmodSync, existsSync } from "node:fs";

import { Logger } from "@nestjs/common";
import { MigrationObject, MikroORM } from "@mikro-orm/core";
import { Migration } from "@mikro-orm/migrations";
import { EntityManager } from "@mikro-orm/knex";

const CHECKSUM_TABLE = "schema_migration_checksums";
/** Advisory lock key that serialises migrations on PostgreSQL: the bytes of "llmp". */
const MIGRATION_LOCK_KEY = 0x6c6c6d70;
const logger = new Logger("Migrations");

/** Raised when the database cannot be used by this build: newer schema, or an applied migration changed. */
export class SchemaMismatchError extends Error {}

/** Migrations the ORM instance was configured with: the list for its dialect. */
export function migrationsFor(orm: MikroORM): MigrationObject[] {
  const list = orm.config.get("migrations").migrationsList ?? [];
  return list.filter(
    (entry): entry is MigrationObject => "name" in entry && "class" in entry,
  );
}

export function isSqlite(orm: MikroORM): boolean {
  return orm.config.get("driver")?.name.includes("Sqlite") ?? false;
}

/**
 * Brings the schema up to date at start-up, and returns the migrations it applied. It rejects a database with
 * migrations this build does not know, or whose applied SQL no longer matches the code. A SQLite file is backed
 * up before it changes, and every applied migration's SQL is recorded with a SHA-256 checksum.
 */
export async function runMigrations(
  orm: MikroORM,
  options: { backup: boolean },
): Promise<string[]> {
  const em = orm.em.fork() as EntityManager;
  const known = migrationsFor(orm);
  if (known.length === 0) {
    throw new SchemaMismatchError(
      `This build has no migrations for ${orm.config.get("driver")?.name ?? "this database"}.`,
    );
  }

  return withMigrationLock(orm, async () => {
    await ensureChecksumTable(em);
    await verifyApplied(orm, em, known);

    const migrator = orm.getMigrator();
    const pending = await migrator.getPendingMigrations();
    if (pending.length > 0 && options.backup && isSqlite(orm)) {
      const executed = await migrator.getExecutedMigrations();
      if (executed.length > 0) {
        await backupSqlite(orm, em);
      }
    }

    const applied: string[] = [];
    const ran =
      pending.length > 0
        ? await withoutSqliteForeignKeys(orm, em, () => migrator.up())
        : [];
    for (const migration of ran) {
      await recordChecksum(orm, em, known, migration.name);
      applied.push(migration.name);
    }

    restrictSqliteFiles(orm);
    if (applied.length > 0) {
      logger.log({ msg: "applied migrations", migrations: applied });
    }

    return applied;
  });
}

/**
 * Runs migrations with SQLite's foreign key enforcement off, as SQLite's procedure for rebuilding a table
 * requires (a dropped parent would otherwise cascade or fail), then refuses the result if any reference is
 * broken. PostgreSQL runs `work` as it is.
 */
export async function withoutSqliteForeignKeys<T>(
  orm: MikroORM,
  em: EntityManager,
  work: () => Promise<T>,
): Promise<T> {
  if (!isSqlite(orm)) {
    return work();
  }

  const connection = em.getConnection();
  await connection.execute("pragma foreign_keys = off");
  try {
    const result = await work();
    const broken = await connection.execute<unknown[]>(
      "pragma foreign_key_check",
    );
    if (broken.length > 0) {
      throw new SchemaMismatchError(
        `Migrations left ${broken.length} broken foreign key references: ${JSON.stringify(broken.slice(0, 5))}`,
      );
    }
    return result;
  } finally {
    await connection.execute("pragma foreign_keys = on");
  }
}

async function verifyApplied(
  orm: MikroORM,
  em: EntityManager,
  known: MigrationObject[],
): Promise<void> {
  const migrator = orm.getMigrator();
  const executed = await migrator.getExecutedMigrations();
  const knownNames = new Set(known.map((migration) => migration.name));

  const unknown = executed.filter((row) => !knownNames.has(row.name));
  if (unknown.length > 0) {
    throw new SchemaMismatchError(
      `The database has migrations this build does not know (${unknown.map((row) => row.name).join(", ")}); ` +
        "it was written by a newer llm-proxy. Run that version or restore a backup.",
    );
  }

  const stored = await em
    .getConnection()
    .execute<{ name: string; checksum: string }[]>(
      `select name, checksum from ${CHECKSUM_TABLE}`,
    );
  const storedByName = new Map(stored.map((row) => [row.name, row.checksum]));

  for (const row of executed) {
    const expected = await checksumOf(orm, known, row.name);
    const actual = storedByName.get(row.name);
    if (actual === undefined) {
      await insertChecksum(em, row.name, expected);
    } else if (actual !== expected) {
      throw new SchemaMismatchError(
        `Migration ${row.name} was changed after it was applied (checksum ${actual.slice(0, 12)} in the database, ` +
          `${expected.slice(0, 12)} in the code). Restore the original migration file and add a new one instead.`,
      );
    }
  }
}

async function recordChecksum(
  orm: MikroORM,
  em: EntityManager,
  known: MigrationObject[],
  name: string,
) {
  await insertChecksum(em, name, await checksumOf(orm, known, name));
}

async function insertChecksum(
  em: EntityManager,
  name: string,
  checksum: string,
): Promise<void> {
  await em
    .getConnection()
    .execute(
      `insert into ${CHECKSUM_TABLE} (name, checksum) values (?, ?) on conflict (name) do nothing`,
      [name, checksum],
    );
}

/** SHA-256 of the SQL a migration's `up` produces, which is what the database actually ran. */
export async function checksumOf(
  orm: MikroORM,
  known: MigrationObject[],
  name: string,
): Promise<string> {
  const entry = known.find((migration) => migration.name === name);
  if (!entry) {
    throw new SchemaMismatchError(
      `Migration ${name} is not part of this build`,
    );
  }

  const MigrationClass = entry.class as new (...args: unknown[]) => Migration;
  const migration = new MigrationClass(orm.em.getDriver(), orm.config);
  await migration.up();
  const sql = migration
    .getQueries()
    .map((query) => (typeof query === "string" ? query : query.toQuery()))
    .join(";\n");
  migration.reset();

  return createHash("sha256").update(sql).digest("hex");
}

async function ensureChecksumTable(em: EntityManager): Promise<void> {
  await em
    .getConnection()
    .execute(
      `create table if not exists ${CHECKSUM_TABLE} (name varchar(255) primary key, checksum char(64) not null)`,
    );
}

/**
 * Serialises migration work between processes starting at once. On PostgreSQL a session advisory lock is held on
 * one dedicated connection while the migrator uses others. On SQLite the migrator's own transaction takes the
 * write lock, and a second process waits on the busy timeout, then finds nothing pending.
 */
async function withMigrationLock<T>(
  orm: MikroORM,
  work: () => Promise<T>,
): Promise<T> {
  if (isSqlite(orm)) {
    return work();
  }

  const client = (orm.em as EntityManager).getConnection().getKnex().client as {
    acquireConnection(): Promise<{ query(sql: string): Promise<unknown> }>;
    releaseConnection(connection: unknown): Promise<void>;
  };
  const connection = await client.acquireConnection();
  try {
    await connection.query(`select pg_advisory_lock(${MIGRATION_LOCK_KEY})`);
    try {
      return await work();
    } finally {
      await connection.query(
        `select pg_advisory_unlock(${MIGRATION_LOCK_KEY})`,
      );
    }
  } finally {
    await client.releaseConnection(connection);
  }
}

async function backupSqlite(orm: MikroORM, em: EntityManager): Promise<void> {
  const path = orm.config.get("dbName");
  if (!path || path === ":memory:" || !existsSync(path)) {
    return;
  }

  const target = `${path}.backup-${new Date().toISOString().replace(/[:.]/g, "-")}`;
  await em
    .getConnection()
    .execute(`vacuum into '${target.replace(/'/g, "''")}'`);
  chmodSync(target, 0o600);
  logger.log({ msg: "backed up database before migrating", backup: target });
}

/** Keeps the SQLite file and its WAL readable by the service's user alone. */
function restrictSqliteFiles(orm: MikroORM): void {
  if (!isSqlite(orm)) {
    return;
  }

  const path = orm.config.get("dbName");
  for (const file of [path, `${path}-wal`, `${path}-shm`]) {
    if (file && existsSync(file)) {
      chmodSync(file, 0o600);
    }
  }
}
