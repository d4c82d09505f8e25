import {
  Check,
  Entity,
  Enum,
  Index,
  ManyToOne,
  Opt,
  PrimaryKey,
  Property,
} from "@mikro-orm/core";

import { Client } from "../../clients/entities/client.entity";
import { MoneyType } from "../../database/money.type";
import { Provider } from "../../providers/entities/provider.entity";

export enum ReservationStatus {
  Pending = "pending",
  Posted = "posted",
  Voided = "voided",
}

/**
 * Admission of one request: credit held between admission and settlement. Every admitted request has one, with a
 * zero amount on postpaid providers, so its unique request id stops a reused id before it reaches a provider.
 */
@Entity({ tableName: "credit_reservations" })
@Index({
  name: "credit_reservations_status_expiry_idx",
  properties: ["status", "expiresAt"],
})
@Check({ name: "credit_reservations_amount_check", expression: "amount >= 0" })
export class CreditReservation {
  @PrimaryKey({ type: "integer", autoincrement: true })
  id!: number;

  @Property({ type: "string", length: 128, unique: true })
  requestId!: string;

  @ManyToOne(() => Provider, { deleteRule: "restrict", index: true })
  provider!: Provider;

  @ManyToOne(() => Client, { deleteRule: "restrict", index: true })
  client!: Client;

  /** Nano-dollars held; zero on postpaid providers. */
  @Property({ type: MoneyType })
  amount!: bigint;

  @Enum({ items: () => ReservationStatus, default: ReservationStatus.Pending })
  status: ReservationStatus & Opt = ReservationStatus.Pending;

  @Property({ type: "datetime" })
  expiresAt!: Date;

  @Property({ type: "datetime" })
  createdAt!: Date;

  @Property({ type: "datetime", nullable: true })
  settledAt: Date | null = null;
}
