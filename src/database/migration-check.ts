import "reflect-metadata";

import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { MikroORM } from "@mikro-orm/core";
import { EntityManager } from "@mikro-orm/knex";
import { Client } from "pg";

import { loadConfig } from "../config/load-config";
import { runMigrations, withoutSqliteForeignKeys } from "./migration-runner";
import { buildOrmOptions } from "./orm-options";

/** Tables the migration machinery owns, which no entity declares. */
const BOOKKEEPING =
  /^(schema_migrations|schema_migration_checksums|sqlite_sequence)\b/;

interface SchemaObject {
  kind: string;
  name: string;
  definition: string;
}

/** One dialect to check: how to open an empty database, read its schema and clean up. */
interface Target {
  label: string;
  migrationsFolder: string;
  open(which: "migrations" | "entities"): Promise<MikroORM>;
  describe(orm: MikroORM): Promise<SchemaObject[]>;
  cleanUp(): Promise<void>;
}

/**
 * Fails when the entities and the migrations disagree. For each dialect it builds one database from the
 * migrations and one from the entities and compares every table, column, constraint and index. It also checks
 * that the migrations roll back to an empty schema and apply again. SQLite is always checked; PostgreSQL when
 * MIGRATION_CHECK_POSTGRES_URL names a server where it may create and drop databases.
 */
async function main(): Promise<void> {
  const targets = [sqliteTarget()];
  if (process.env.MIGRATION_CHECK_POSTGRES_URL) {
    targets.push(postgresTarget(process.env.MIGRATION_CHECK_POSTGRES_URL));
  }

  for (const target of targets) {
    try {
      const problems = await check(target);
      if (problems.length > 0) {
        console.error(
          `${target.label}: entities and migrations disagree:\n${problems.map((line) => `  - ${line}`).join("\n")}`,
        );
        console.error(
          `Add a migration in ${target.migrationsFolder} for the entity change and list it in migrations/index.ts.`,
        );
        process.exitCode = 1;
      } else {
        console.log(`${target.label}: migrations match the entities`);
      }
    } finally {
      await target.cleanUp();
    }
  }
}

async function check(target: Target): Promise<string[]> {
  const fromMigrations = await target.open("migrations");
  await runMigrations(fromMigrations, { backup: false });
  const migrated = await target.describe(fromMigrations);

  await withoutSqliteForeignKeys(
    fromMigrations,
    fromMigrations.em.fork() as EntityManager,
    () => fromMigrations.getMigrator().down({ to: 0 }),
  );
  const leftBehind = (await target.describe(fromMigrations)).filter(
    (entry) => entry.kind === "table",
  );
  await runMigrations(fromMigrations, { backup: false });
  await fromMigrations.close();

  const fromEntities = await target.open("entities");
  await fromEntities.schema.createSchema();
  const generated = await target.describe(fromEntities);
  await fromEntities.close();

  const problems = compare(migrated, generated);
  if (leftBehind.length > 0) {
    problems.push(
      `down migrations left tables behind: ${leftBehind.map((entry) => entry.name).join(", ")}`,
    );
  }

  return problems;
}

function compare(
  migrated: SchemaObject[],
  generated: SchemaObject[],
): string[] {
  const key = (entry: SchemaObject) => `${entry.kind} ${entry.name}`;
  // SQLite writes a renamed table's name in double quotes; the name itself is what matters.
  const normalize = (text: string) =>
    text
      .replace(/^CREATE TABLE "([^"]+)"/i, "CREATE TABLE `$1`")
      .replace(/\s+/g, " ")
      .trim();
  const remaining = new Map(migrated.map((entry) => [key(entry), entry]));
  const problems: string[] = [];

  for (const entry of generated) {
    const other = remaining.get(key(entry));
    if (!other) {
      problems.push(
        `${key(entry)} exists in the entities but no migration creates it`,
      );
    } else if (normalize(other.definition) !== normalize(entry.definition)) {
      problems.push(
        `${key(entry)} differs:\n      migrations: ${normalize(other.definition)}\n      entities:   ${normalize(entry.definition)}`,
      );
    }
    remaining.delete(key(entry));
  }

  for (const entry of remaining.values()) {
    problems.push(
      `${key(entry)} is created by a migration but no entity declares it`,
    );
  }

  return problems;
}

function sqliteTarget(): Target {
  const folder = mkdtempSync(join(tmpdir(), "llm-proxy-migration-check-"));

  return {
    label: "sqlite",
    migrationsFolder: "migrations/sqlite/",
    open: (which) =>
      MikroORM.init(
        buildOrmOptions(
          loadConfig({
            SQLITE_PATH: join(folder, `${which}.sqlite`),
            LOG_LEVEL: "silent",
          }),
        ),
      ),
    describe: async (orm) => {
      const rows = await (orm.em as EntityManager)
        .getConnection()
        .execute<{ type: string; name: string; sql: string }[]>(
          "select type, name, sql from sqlite_master where sql is not null order by type, name",
        );
      return rows
        .filter((row) => !BOOKKEEPING.test(row.name))
        .map((row) => ({
          kind: row.type,
          name: row.name,
          definition: row.sql,
        }));
    },
    cleanUp: async () => rmSync(folder, { recursive: true, force: true }),
  };
}

function postgresTarget(adminUrl: string): Target {
  const prefix = `llmp_check_${randomBytes(4).toString("hex")}`;
  const created: string[] = [];
  const admin = async (sql: string) => {
    const client = new Client({ connectionString: adminUrl });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };

  return {
    label: "postgresql",
    migrationsFolder: "migrations/postgresql/",
    open: async (which) => {
      const name = `${prefix}_${which}`;
      await admin(`create database ${name}`);
      created.push(name);
      const url = new URL(adminUrl);
      url.pathname = `/${name}`;
      return MikroORM.init(
        buildOrmOptions(
          loadConfig({ DATABASE_URL: url.toString(), LOG_LEVEL: "silent" }),
        ),
      );
    },
    describe: (orm) => describePostgres(orm),
    cleanUp: async () => {
      for (const name of created) {
        await admin(`drop database if exists ${name} with (force)`);
      }
    },
  };
}

async function describePostgres(orm: MikroORM): Promise<SchemaObject[]> {
  const connection = (orm.em as EntityManager).getConnection();
  const tables = await connection.execute<{ name: string }[]>(
    "select table_name as name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE'",
  );
  const columns = await connection.execute<
    { name: string; definition: string }[]
  >(
    `select table_name || '.' || column_name as name,
       concat_ws(' ', data_type, character_maximum_length, is_nullable, column_default) as definition
     from information_schema.columns where table_schema = 'public'`,
  );
  const constraints = await connection.execute<
    { name: string; definition: string }[]
  >(
    `select conrelid::regclass::text || '.' || conname as name, pg_get_constraintdef(oid) as definition
     from pg_constraint where connamespace = 'public'::regnamespace`,
  );
  const indexes = await connection.execute<
    { name: string; definition: string }[]
  >(
    "select tablename || '.' || indexname as name, indexdef as definition from pg_indexes where schemaname = 'public'",
  );

  return [
    ...tables.map((row) => ({ kind: "table", name: row.name, definition: "" })),
    ...columns.map((row) => ({ kind: "column", ...row })),
    ...constraints.map((row) => ({ kind: "constraint", ...row })),
    ...indexes.map((row) => ({ kind: "index", ...row })),
  ].filter((entry) => !BOOKKEEPING.test(entry.name.replace(/^"|"$/g, "")));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
