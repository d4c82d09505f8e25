import { MigrationObject } from "@mikro-orm/core";

import { Migration20261204120000InitialSchema } from "./sqlite/Migration20261204120000InitialSchema";

/** SQLite migrations, oldest first. A new file is listed here in the same change that adds it. */
export const SQLITE_MIGRATIONS: MigrationObject[] = [
  {
    name: "Migration20261204120000InitialSchema",
    class: Migration20261204120000InitialSchema,
  },
];

/** PostgreSQL migrations, oldest first. */
export const POSTGRESQL_MIGRATIONS: MigrationObject[] = [];
