import {
  Entity,
  Enum,
  Opt,
  PrimaryKey,
  Property,
  Unique,
} from "@mikro-orm/core";

export enum UserRole {
  Admin = "admin",
  Operator = "operator",
  Viewer = "viewer",
}

/** A dashboard user: a local account with an argon2id password hash, or an SSO identity. */
@Entity({ tableName: "users" })
@Unique({
  name: "users_sso_identity_unique",
  properties: ["ssoIssuer", "ssoSubject"],
})
export class User {
  @PrimaryKey({ type: "integer", autoincrement: true })
  id!: number;

  @Property({ type: "string", length: 200, unique: true })
  username!: string;

  @Property({ type: "string", length: 320, nullable: true })
  email: string | null = null;

  /** argon2id hash in PHC string format; null for SSO-only accounts. */
  @Property({ type: "string", length: 255, nullable: true })
  passwordHash: string | null = null;

  @Property({ type: "string", length: 500, nullable: true })
  ssoIssuer: string | null = null;

  @Property({ type: "string", length: 255, nullable: true })
  ssoSubject: string | null = null;

  @Enum({ items: () => UserRole })
  role!: UserRole;

  @Property({ type: "boolean", default: false })
  disabled: boolean & Opt = false;

  @Property({ type: "datetime", nullable: true })
  lastSignInAt: Date | null = null;

  @Property({ type: "datetime" })
  createdAt: Date & Opt = new Date();
}
