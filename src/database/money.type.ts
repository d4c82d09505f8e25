import { Platform, Type } from "@mikro-orm/core";

/**
 * Maps a bigint column of nano-dollars to a JS bigint. SQLite drivers return integers as doubles, which lose
 * precision above 2^53, so the column is read as text there and parsed exactly.
 */
export class MoneyType extends Type<bigint | null, string | null> {
  override convertToDatabaseValue(
    value: bigint | string | number | null | undefined,
  ): string | null {
    return value === null || value === undefined ? null : String(value);
  }

  override convertToJSValue(
    value: bigint | string | number | null | undefined,
  ): bigint | null {
    return value === null || value === undefined ? null : BigInt(value);
  }

  override convertToJSValueSQL(key: string, platform: Platform): string {
    return platform.constructor.name.includes("Sqlite")
      ? `cast(${key} as text)`
      : key;
  }

  override getColumnType(): string {
    return "bigint";
  }

  override compareAsType(): string {
    return "string";
  }

  override compareValues(a: unknown, b: unknown): boolean {
    return String(a) === String(b);
  }
}
