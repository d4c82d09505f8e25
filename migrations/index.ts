import { MigrationObject } from "@mikro-orm/core";

import { Migration20261204120000InitialSchema as PostgresqlInitialSchema } from "./postgresql/Migration20261204120000InitialSchema";
import { Migration20261204120000InitialSchema as SqliteInitialSchema } from "./sqlite/Migration20261204120000InitialSchema";

/*
 * Each dialect has its own list, oldest first, with the same names in the same order. A schema change adds one
 * file to each folder and lists it here in the same commit.
 */

export const SQLITE_MIGRATIONS: MigrationObject[] = [
  { name: "Migration20261204120000InitialSchema", class: SqliteInitialSchema },
];

export const POSTGRESQL_MIGRATIONS: MigrationObject[] = [
  {
    name: "Migration20261204120000InitialSchema",
    class: PostgresqlInitialSchema,
  },
];
