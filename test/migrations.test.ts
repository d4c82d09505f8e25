import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { MikroORM } from "@mikro-orm/core";
import { EntityManager } from "@mikro-orm/knex";
import { Migration } from "@mikro-orm/migrations";

import { SQLITE_MIGRATIONS } from "../migrations";
import {
  migrationsFor,
  runMigrations,
  SchemaMismatchError,
} from "../src/database/migration-runner";
import { buildOrmOptions } from "../src/database/orm-options";
import { testConfig } from "./support/proxy-harness";
import {
  createPostgresDatabase,
  dropPostgresDatabase,
  onlyOn,
  TEST_DIALECT,
} from "./support/test-database";

/** Start-up migrations: applied once, verified by checksum, refused on a newer or altered database. */
describe("migrations", () => {
  let folder: string;

  let databaseUrl: string | null;

  beforeEach(async () => {
    folder = mkdtempSync(join(tmpdir(), "llm-proxy-migrations-"));
    databaseUrl =
      TEST_DIALECT === "postgresql" ? await createPostgresDatabase() : null;
  });

  afterEach(async () => {
    rmSync(folder, { recursive: true, force: true });
    if (databaseUrl) {
      await dropPostgresDatabase(databaseUrl);
    }
  });

  async function open(): Promise<MikroORM> {
    return MikroORM.init(buildOrmOptions(testConfig(folder, {}, databaseUrl)));
  }

  const sql = (orm: MikroORM) => (orm.em as EntityManager).getConnection();

  it("creates the schema once", async () => {
    const orm = await open();

    const first = await runMigrations(orm, { backup: true });
    const second = await runMigrations(orm, { backup: true });

    expect(first).toEqual(
      migrationsFor(orm).map((migration) => migration.name),
    );
    expect(second).toEqual([]);
    const rows = await sql(orm).execute<{ n: number | string }[]>(
      "select count(*) as n from llm_requests",
    );
    expect(Number(rows[0].n)).toBe(0);
    await orm.close();
  });

  onlyOn("sqlite")("makes the database file private", async () => {
    const orm = await open();
    await runMigrations(orm, { backup: true });
    await orm.close();

    expect(statSync(join(folder, "proxy.sqlite")).mode & 0o777).toBe(0o600);
  });

  it("enforces foreign keys on every connection", async () => {
    const orm = await open();
    await runMigrations(orm, { backup: true });

    const insert = sql(orm).execute(
      "insert into client_tokens (client_id, token_hash, display_prefix, name, created_at) values (999, 'x', 'x', 'x', ?)",
      [new Date()],
    );

    await expect(insert).rejects.toMatchObject(sqlError(/foreign key/i));
    await orm.close();
  });

  it("refuses a database from a newer build", async () => {
    const orm = await open();
    await runMigrations(orm, { backup: true });
    await sql(orm).execute(
      "insert into schema_migrations (name, executed_at) values ('Migration20991231000000Future', current_timestamp)",
    );

    await expect(runMigrations(orm, { backup: true })).rejects.toThrow(
      SchemaMismatchError,
    );
    await expect(runMigrations(orm, { backup: true })).rejects.toThrow(
      /newer llm-proxy/,
    );
    await orm.close();
  });

  it("refuses a migration changed after it ran", async () => {
    const orm = await open();
    await runMigrations(orm, { backup: true });
    await sql(orm).execute(
      "update schema_migration_checksums set checksum = 'x' || substr(checksum, 2)",
    );

    await expect(runMigrations(orm, { backup: true })).rejects.toThrow(
      /changed after it was applied/,
    );
    await orm.close();
  });

  it("rejects money the checks forbid", async () => {
    const orm = await open();
    await runMigrations(orm, { backup: true });
    await sql(orm).execute(
      "insert into providers (name, kind, base_url, credit_balance, created_at, updated_at) values ('p', 'openai', 'http://x', 5, ?, ?)",
      [new Date(), new Date()],
    );

    await expect(
      sql(orm).execute("update providers set credit_balance = -1"),
    ).rejects.toMatchObject(sqlError(/check/i));
    await expect(
      sql(orm).execute("update providers set credit_reserved = 6"),
    ).rejects.toMatchObject(sqlError(/check/i));
    await orm.close();
  });

  it("defaults billing mode to postpaid", async () => {
    const orm = await open();
    await runMigrations(orm, { backup: true });
    await sql(orm).execute(
      "insert into providers (name, kind, base_url, created_at, updated_at) values ('p', 'openai', 'http://x', ?, ?)",
      [new Date(), new Date()],
    );

    const [row] = await sql(orm).execute<{ billing_mode: string }[]>(
      "select billing_mode from providers",
    );
    expect(row.billing_mode).toBe("postpaid");
    await expect(
      sql(orm).execute("update providers set billing_mode = null"),
    ).rejects.toMatchObject(sqlError(/not.null/i));
    await orm.close();
  });

  onlyOn("sqlite")("backs up the database before a new migration", async () => {
    const first = await open();
    await runMigrations(first, { backup: true });
    await first.close();

    const options = buildOrmOptions(testConfig(folder));
    const upgraded = await MikroORM.init({
      ...options,
      migrations: {
        ...options.migrations,
        migrationsList: [
          ...SQLITE_MIGRATIONS,
          {
            name: "Migration20991231000000AddNote",
            class: Migration20991231000000AddNote,
          },
        ],
      },
    });
    const applied = await runMigrations(upgraded, { backup: true });
    await upgraded.close();

    const backups = readdirSync(folder).filter((name) =>
      name.includes(".backup-"),
    );
    expect(applied).toEqual(["Migration20991231000000AddNote"]);
    expect(backups).toHaveLength(1);
    expect(statSync(join(folder, backups[0])).mode & 0o777).toBe(0o600);
  });
});

/** A later schema change, to exercise an upgrade of an existing database. */
class Migration20991231000000AddNote extends Migration {
  override async up(): Promise<void> {
    this.addSql("alter table clients add column note text null");
  }

  override async down(): Promise<void> {
    this.addSql("alter table clients drop column note");
  }
}

/**
 * Matches a driver error by its message. better-sqlite3 registers its error class with the native addon once per
 * process, so in a later test file (another module realm) its errors are not `instanceof Error` and `toThrow`
 * cannot see them.
 */
function sqlError(message: RegExp) {
  return { message: expect.stringMatching(message) as unknown };
}
