import { Options } from "@mikro-orm/core";
import { Migrator } from "@mikro-orm/migrations";
import { PostgreSqlDriver } from "@mikro-orm/postgresql";
import { BetterSqliteDriver } from "@mikro-orm/better-sqlite";

import { POSTGRESQL_MIGRATIONS, SQLITE_MIGRATIONS } from "../../migrations";
import { AppConfig } from "../config/config.schema";
import { ENTITIES } from "./entities";

/** Table where applied migrations are recorded with a checksum of their SQL. */
export const MIGRATION_TABLE = "schema_migrations";

/** Connection pragmas for every SQLite connection: enforced foreign keys, WAL, durable commits, a lock wait. */
export function sqlitePragmas(config: AppConfig["database"]): string {
  return [
    "pragma foreign_keys = on",
    "pragma journal_mode = wal",
    `pragma synchronous = ${config.synchronous}`,
    `pragma busy_timeout = ${config.busyTimeoutMs}`,
  ].join("; ");
}

/** A better-sqlite3 connection; `exec` runs synchronously and throws on failure. */
interface SqliteHandle {
  exec(sql: string): unknown;
}

interface PgHandle {
  query(sql: string, callback: (error: Error | null) => void): void;
}

/**
 * Session settings for every PostgreSQL connection. `lock_timeout` plays the part of SQLite's busy timeout: a
 * write that waits longer for a row lock fails, and its accounting record goes to the spool.
 */
export function postgresSessionSql(config: AppConfig["database"]): string {
  return `set lock_timeout = ${config.busyTimeoutMs}; set timezone = 'UTC'`;
}

/**
 * Builds the MikroORM options for the configured database. Schema changes come only from migrations.
 *
 * SQLite goes through better-sqlite3 rather than node-sqlite3: a statement there is a synchronous call of a few
 * microseconds, where node-sqlite3 sends each one through libuv's thread pool, and the accounting path runs about
 * ten statements per request. BENCHMARKS.md has the measurements.
 */
export function buildOrmOptions(config: AppConfig): Options {
  const common: Options = {
    entities: ENTITIES,
    extensions: [Migrator],
    discovery: { warnWhenNoEntities: true },
    allowGlobalContext: false,
    forceUtcTimezone: true,
    migrations: {
      tableName: MIGRATION_TABLE,
      transactional: true,
      allOrNothing: true,
      snapshot: false,
      silent: true,
    },
  };

  if (config.database.url) {
    return {
      ...common,
      driver: PostgreSqlDriver,
      clientUrl: config.database.url,
      migrations: {
        ...common.migrations,
        migrationsList: POSTGRESQL_MIGRATIONS,
      },
      pool: {
        min: config.database.poolMin,
        max: config.database.poolMax,
        acquireTimeoutMillis: config.database.poolAcquireTimeoutMs,
        afterCreate: (
          connection: PgHandle,
          done: (error: Error | null, connection: unknown) => void,
        ) =>
          connection.query(postgresSessionSql(config.database), (error) =>
            done(error, connection),
          ),
      },
    };
  }

  const pragmas = sqlitePragmas(config.database);

  return {
    ...common,
    driver: BetterSqliteDriver,
    dbName: config.database.sqlitePath,
    migrations: { ...common.migrations, migrationsList: SQLITE_MIGRATIONS },
    pool: {
      min: 1,
      max: 1,
      afterCreate: (
        connection: SqliteHandle,
        done: (error: Error | null, connection: unknown) => void,
      ) => {
        try {
          connection.exec(pragmas);
          done(null, connection);
        } catch (error) {
          done(error as Error, connection);
        }
      },
    },
  };
}
