import {
  Entity,
  Index,
  ManyToOne,
  Opt,
  PrimaryKey,
  Property,
} from "@mikro-orm/core";

import { User } from "./user.entity";

/** How a session was started. */
export enum SignInMethod {
  Password = "password",
  Oidc = "oidc",
}

/**
 * A signed-in dashboard user. The bearer token is shown once at sign-in; only its SHA-256 is kept, so every
 * replica recognises it and a copy of the database does not.
 */
@Entity({ tableName: "admin_sessions" })
export class AdminSession {
  /** Random id, safe to show and log; the token is a separate secret. */
  @PrimaryKey({ type: "string", length: 32 })
  id!: string;

  @ManyToOne(() => User, { deleteRule: "cascade", index: true })
  user!: User;

  /** Hex SHA-256 of the session token. */
  @Property({ type: "string", length: 64, unique: true })
  tokenHash!: string;

  @Property({ type: "string", length: 16 })
  method!: SignInMethod;

  @Property({ type: "datetime" })
  @Index()
  expiresAt!: Date;

  @Property({ type: "datetime", nullable: true })
  revokedAt: Date | null = null;

  @Property({ type: "datetime" })
  createdAt: Date & Opt = new Date();
}
