import "reflect-metadata";

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { MikroORM } from "@mikro-orm/core";
import { EntityManager } from "@mikro-orm/knex";

import { loadConfig } from "../config/load-config";
import { runMigrations } from "./migration-runner";
import { buildOrmOptions } from "./orm-options";

const BOOKKEEPING_TABLES = new Set([
  "schema_migrations",
  "schema_migration_checksums",
  "sqlite_sequence",
]);

interface SchemaObject {
  type: string;
  name: string;
  sql: string | null;
}

/**
 * Fails when the entities and the migrations disagree. Builds one SQLite database from the migrations and one
 * from the entities, then compares every table and index definition. Also checks that the migrations roll back
 * to an empty schema and apply again.
 */
async function main(): Promise<void> {
  const folder = mkdtempSync(join(tmpdir(), "llm-proxy-migration-check-"));

  try {
    const fromMigrations = await openOrm(join(folder, "migrations.sqlite"));
    await runMigrations(fromMigrations, { backup: false });
    const migrated = await describeSchema(fromMigrations);

    await fromMigrations.getMigrator().down({ to: 0 });
    const afterDown = (await describeSchema(fromMigrations)).filter(
      (entry) => entry.type === "table",
    );
    await runMigrations(fromMigrations, { backup: false });
    await fromMigrations.close();

    const fromEntities = await openOrm(join(folder, "entities.sqlite"));
    await fromEntities.schema.createSchema();
    const generated = await describeSchema(fromEntities);
    await fromEntities.close();

    const problems = compare(migrated, generated);
    if (afterDown.length > 0) {
      problems.push(
        `down migrations left tables behind: ${afterDown.map((entry) => entry.name).join(", ")}`,
      );
    }

    if (problems.length > 0) {
      console.error(
        "Entities and migrations disagree:\n" +
          problems.map((line) => `  - ${line}`).join("\n"),
      );
      console.error(
        "Add a migration in migrations/sqlite/ for the entity change and list it in migrations/index.ts.",
      );
      process.exitCode = 1;
      return;
    }

    console.log(
      `migration check passed: ${migrated.length} tables and indexes match the entities`,
    );
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

async function openOrm(path: string): Promise<MikroORM> {
  const config = loadConfig({ SQLITE_PATH: path, LOG_LEVEL: "silent" });
  return MikroORM.init(buildOrmOptions(config));
}

async function describeSchema(orm: MikroORM): Promise<SchemaObject[]> {
  const rows = await (orm.em as EntityManager)
    .getConnection()
    .execute<SchemaObject[]>(
      "select type, name, sql from sqlite_master where sql is not null order by type, name",
    );

  return rows.filter(
    (row) =>
      !BOOKKEEPING_TABLES.has(row.name) &&
      !row.name.startsWith("schema_migration"),
  );
}

function compare(
  migrated: SchemaObject[],
  generated: SchemaObject[],
): string[] {
  const normalize = (sql: string | null) =>
    (sql ?? "").replace(/\s+/g, " ").trim();
  const byName = new Map(migrated.map((entry) => [entry.name, entry]));
  const problems: string[] = [];

  for (const entry of generated) {
    const other = byName.get(entry.name);
    if (!other) {
      problems.push(
        `${entry.type} ${entry.name} exists in the entities but no migration creates it`,
      );
    } else if (normalize(other.sql) !== normalize(entry.sql)) {
      problems.push(
        `${entry.type} ${entry.name} differs:\n      migrations: ${normalize(other.sql)}\n      entities:   ${normalize(entry.sql)}`,
      );
    }
    byName.delete(entry.name);
  }

  for (const entry of byName.values()) {
    problems.push(
      `${entry.type} ${entry.name} is created by a migration but no entity declares it`,
    );
  }

  return problems;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
