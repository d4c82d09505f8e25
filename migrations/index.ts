import { MigrationObject } from "@mikro-orm/core";

import { Migration20261204120000InitialSchema as PostgresqlInitialSchema } from "./postgresql/Migration20261204120000InitialSchema";
import { Migration20261211090000JobLeases as PostgresqlJobLeases } from "./postgresql/Migration20261211090000JobLeases";
import { Migration20261215090000AdminSignIn as PostgresqlAdminSignIn } from "./postgresql/Migration20261215090000AdminSignIn";
import { Migration20261216090000AuditTrail as PostgresqlAuditTrail } from "./postgresql/Migration20261216090000AuditTrail";
import { Migration20261217090000Routing as PostgresqlRouting } from "./postgresql/Migration20261217090000Routing";
import { Migration20261218090000ClientLimits as PostgresqlClientLimits } from "./postgresql/Migration20261218090000ClientLimits";
import { Migration20261219090000AccountingFunctions as PostgresqlAccountingFunctions } from "./postgresql/Migration20261219090000AccountingFunctions";
import { Migration20261220090000AccountingBatches as PostgresqlAccountingBatches } from "./postgresql/Migration20261220090000AccountingBatches";
import { Migration20261204120000InitialSchema as SqliteInitialSchema } from "./sqlite/Migration20261204120000InitialSchema";
import { Migration20261211090000JobLeases as SqliteJobLeases } from "./sqlite/Migration20261211090000JobLeases";
import { Migration20261215090000AdminSignIn as SqliteAdminSignIn } from "./sqlite/Migration20261215090000AdminSignIn";
import { Migration20261216090000AuditTrail as SqliteAuditTrail } from "./sqlite/Migration20261216090000AuditTrail";
import { Migration20261217090000Routing as SqliteRouting } from "./sqlite/Migration20261217090000Routing";
import { Migration20261218090000ClientLimits as SqliteClientLimits } from "./sqlite/Migration20261218090000ClientLimits";
import { Migration20261219090000AccountingFunctions as SqliteAccountingFunctions } from "./sqlite/Migration20261219090000AccountingFunctions";
import { Migration20261220090000AccountingBatches as SqliteAccountingBatches } from "./sqlite/Migration20261220090000AccountingBatches";

/*
 * Each dialect has its own list, oldest first, with the same names in the same order. A schema change adds one
 * file to each folder and lists it here in the same commit.
 */

export const SQLITE_MIGRATIONS: MigrationObject[] = [
  { name: "Migration20261204120000InitialSchema", class: SqliteInitialSchema },
  { name: "Migration20261211090000JobLeases", class: SqliteJobLeases },
  { name: "Migration20261215090000AdminSignIn", class: SqliteAdminSignIn },
  { name: "Migration20261216090000AuditTrail", class: SqliteAuditTrail },
  { name: "Migration20261217090000Routing", class: SqliteRouting },
  { name: "Migration20261218090000ClientLimits", class: SqliteClientLimits },
  {
    name: "Migration20261219090000AccountingFunctions",
    class: SqliteAccountingFunctions,
  },
  {
    name: "Migration20261220090000AccountingBatches",
    class: SqliteAccountingBatches,
  },
];

export const POSTGRESQL_MIGRATIONS: MigrationObject[] = [
  {
    name: "Migration20261204120000InitialSchema",
    class: PostgresqlInitialSchema,
  },
  { name: "Migration20261211090000JobLeases", class: PostgresqlJobLeases },
  {
    name: "Migration20261215090000AdminSignIn",
    class: PostgresqlAdminSignIn,
  },
  { name: "Migration20261216090000AuditTrail", class: PostgresqlAuditTrail },
  { name: "Migration20261217090000Routing", class: PostgresqlRouting },
  {
    name: "Migration20261218090000ClientLimits",
    class: PostgresqlClientLimits,
  },
  {
    name: "Migration20261219090000AccountingFunctions",
    class: PostgresqlAccountingFunctions,
  },
  {
    name: "Migration20261220090000AccountingBatches",
    class: PostgresqlAccountingBatches,
  },
];
