import { Entity, PrimaryKey, Property } from "@mikro-orm/core";

/**
 * Failed password sign-ins counted for one username or one client address, kept in the database so that every
 * replica enforces the same limit.
 */
@Entity({ tableName: "admin_sign_in_failures" })
export class SignInFailure {
  /** `user:<username>` or `address:<ip>`. */
  @PrimaryKey({ type: "string", length: 300 })
  subject!: string;

  /** Failures since `windowStartedAt`. */
  @Property({ type: "integer" })
  failures!: number;

  @Property({ type: "datetime" })
  windowStartedAt!: Date;

  /** Sign-ins for this subject are refused until then; null while under the limit. */
  @Property({ type: "datetime", nullable: true })
  lockedUntil: Date | null = null;
}
