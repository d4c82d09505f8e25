import {
  Check,
  Entity,
  Enum,
  Index,
  ManyToOne,
  PrimaryKey,
  Property,
} from "@mikro-orm/core";

import { MoneyType } from "../../database/money.type";
import { Provider } from "../../providers/entities/provider.entity";

export enum BalanceTransactionKind {
  TopUp = "topup",
  Debit = "debit",
  Adjustment = "adjustment",
}

/** The ledger of a provider's prepaid balance: every change, signed, with the balance after it. */
@Entity({ tableName: "balance_transactions" })
@Index({
  name: "balance_transactions_provider_time_idx",
  properties: ["provider", "createdAt"],
})
@Check({
  name: "balance_transactions_amount_check",
  expression: "amount <> 0 and balance_after >= 0",
})
export class BalanceTransaction {
  @PrimaryKey({ type: "integer", autoincrement: true })
  id!: number;

  @ManyToOne(() => Provider, { deleteRule: "restrict", index: false })
  provider!: Provider;

  @Enum({ items: () => BalanceTransactionKind })
  kind!: BalanceTransactionKind;

  /** Signed nano-dollars: positive adds credit, negative removes it. */
  @Property({ type: MoneyType })
  amount!: bigint;

  /** Nano-dollars. */
  @Property({ type: MoneyType })
  balanceAfter!: bigint;

  /** The request a debit pays for; unique, so no request is debited twice. */
  @Property({ type: "string", length: 128, nullable: true, unique: true })
  requestId: string | null = null;

  /** Who made a top-up or adjustment. */
  @Property({ type: "string", length: 200, nullable: true })
  actor: string | null = null;

  @Property({ type: "string", length: 1000, nullable: true })
  note: string | null = null;

  @Property({ type: "datetime" })
  createdAt!: Date;
}
