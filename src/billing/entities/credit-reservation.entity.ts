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
@Check({
  name: "credit_reservations_client_hold_check",
  expression: "budget_held >= 0 and tokens_held >= 0",
})
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

  /**
   * Calendar day (`YYYY-MM-DD`, `limits.timeZone`) the request was admitted on, whose budget holds `budgetHeld`.
   * Null on reservations made before client limits existed: those hold nothing against their client.
   */
  @Property({ type: "string", length: 10, nullable: true })
  budgetDay: string | null = null;

  /** Calendar month (`YYYY-MM`) the request was admitted in; null when `budgetDay` is. */
  @Property({ type: "string", length: 7, nullable: true })
  budgetMonth: string | null = null;

  /** Nano-dollars of worst case held against the client's day and month budgets, on any provider. */
  @Property({ type: MoneyType, default: 0 })
  budgetHeld: bigint & Opt = 0n;

  /** The one-minute window (minutes since the Unix epoch) whose token count holds `tokensHeld`. */
  @Property({ type: "bigint", nullable: true })
  rateWindow: number | null = null;

  /** Worst-case tokens held against the client's tokens per minute. */
  @Property({ type: "bigint", default: 0 })
  tokensHeld: number & Opt = 0;

  @Enum({ items: () => ReservationStatus, default: ReservationStatus.Pending })
  status: ReservationStatus & Opt = ReservationStatus.Pending;

  @Property({ type: "datetime" })
  expiresAt!: Date;

  @Property({ type: "datetime" })
  createdAt!: Date;

  @Property({ type: "datetime", nullable: true })
  settledAt: Date | null = null;
}
