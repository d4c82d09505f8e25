import {
  Check,
  Entity,
  Enum,
  Opt,
  PrimaryKey,
  Property,
} from "@mikro-orm/core";

import { MoneyType } from "../../database/money.type";

export enum ClientStatus {
  Active = "active",
  Disabled = "disabled",
}

/**
 * An application that calls the proxy. The running totals are a cache of its request rows, kept in the accounting
 * transaction and checked by reconciliation.
 */
@Entity({ tableName: "clients" })
@Check({
  name: "clients_totals_check",
  expression:
    "total_requests >= 0 and total_prompt_tokens >= 0 and total_completion_tokens >= 0 and total_cached_tokens >= 0 and total_reasoning_tokens >= 0 and total_cost >= 0",
})
export class Client {
  @PrimaryKey({ type: "integer", autoincrement: true })
  id!: number;

  @Property({ type: "string", length: 200, unique: true })
  name!: string;

  @Enum({ items: () => ClientStatus, default: ClientStatus.Active })
  status: ClientStatus & Opt = ClientStatus.Active;

  /** Public model names this client may call; null allows every configured model. */
  @Property({ type: "json", nullable: true })
  allowedModels: string[] | null = null;

  @Property({ type: "bigint", default: 0 })
  totalRequests: number & Opt = 0;

  @Property({ type: "bigint", default: 0 })
  totalPromptTokens: number & Opt = 0;

  @Property({ type: "bigint", default: 0 })
  totalCompletionTokens: number & Opt = 0;

  @Property({ type: "bigint", default: 0 })
  totalCachedTokens: number & Opt = 0;

  @Property({ type: "bigint", default: 0 })
  totalReasoningTokens: number & Opt = 0;

  /** Nano-dollars. */
  @Property({ type: MoneyType, default: 0 })
  totalCost: bigint & Opt = 0n;

  @Property({ type: "datetime" })
  createdAt: Date & Opt = new Date();

  @Property({ type: "datetime", onUpdate: () => new Date() })
  updatedAt: Date & Opt = new Date();
}
