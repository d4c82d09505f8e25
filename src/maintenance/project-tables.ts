import { MikroORM } from "@mikro-orm/core";

/** Tables of the project's entities, sorted by name; migration bookkeeping tables are not included. */
export function projectTables(orm: MikroORM): string[] {
  return Object.values(orm.getMetadata().getAll())
    .filter((meta) => !meta.embeddable && !meta.virtual && meta.tableName)
    .map((meta) => meta.tableName)
    .sort();
}

/** Quotes an identifier for either dialect; both accept double quotes. */
export function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
