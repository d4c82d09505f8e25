import { MigrationObject } from "@mikro-orm/core";

import { Migration20261204120000InitialSchema as PostgresqlInitialSchema } from "./postgresql/Migration20261204120000InitialSchema";
import { Migration20261211090000JobLeases as PostgresqlJobLeases } from "./postgresql/Migration20261211090000JobLeases";
import { Migration20261204120000InitialSchema as SqliteInitialSchema } from "./sqlite/Migration20261204120000InitialSchema";
import { Migration20261211090000JobLeases as SqliteJobLeases } from "./sqlite/Migration20261211090000JobLeases";

/*
 * Each dialect has its own list, oldest first, with the same names in the same order. A schema change adds one
 * file to each folder and lists it here in the same commit.
 */

export const SQLITE_MIGRATIONS: MigrationObject[] = [
  { name: "Migration20261204120000InitialSchema", class: SqliteInitialSchema },
  { name: "Migration20261211090000JobLeases", class: SqliteJobLeases },
];

export const POSTGRESQL_MIGRATIONS: MigrationObject[] = [
  {
    name: "Migration20261204120000InitialSchema",
    class: PostgresqlInitialSchema,
  },
  { name: "Migration20261211090000JobLeases", class: PostgresqlJobLeases },
];
