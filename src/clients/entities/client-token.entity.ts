import {
  Entity,
  Index,
  ManyToOne,
  Opt,
  PrimaryKey,
  Property,
} from "@mikro-orm/core";

import { Client } from "./client.entity";

/** A bearer token of a client. Only the HMAC of the token is kept; the token itself is shown once. */
@Entity({ tableName: "client_tokens" })
export class ClientToken {
  @PrimaryKey({ type: "integer", autoincrement: true })
  id!: number;

  @ManyToOne(() => Client, { deleteRule: "cascade", index: true })
  client!: Client;

  /** Hex HMAC-SHA256 of the token under the server's pepper. */
  @Property({ type: "string", length: 64, unique: true })
  tokenHash!: string;

  /** The first characters of the token, safe to show and log. */
  @Property({ type: "string", length: 16 })
  @Index()
  displayPrefix!: string;

  @Property({ type: "string", length: 200 })
  name!: string;

  @Property({ type: "datetime", nullable: true })
  expiresAt: Date | null = null;

  @Property({ type: "datetime", nullable: true })
  revokedAt: Date | null = null;

  @Property({ type: "datetime", nullable: true })
  lastUsedAt: Date | null = null;

  @Property({ type: "datetime" })
  createdAt: Date & Opt = new Date();
}
