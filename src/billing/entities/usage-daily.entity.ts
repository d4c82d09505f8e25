import {
  Check,
  Entity,
  Index,
  ManyToOne,
  Opt,
  PrimaryKey,
  Property,
  Unique,
} from "@mikro-orm/core";

import { Client } from "../../clients/entities/client.entity";
import { MoneyType } from "../../database/money.type";
import { Provider } from "../../providers/entities/provider.entity";

/**
 * Totals per UTC day, client, provider and public model name, kept in the accounting transaction. Reports read
 * these; they outlive the request rows that retention deletes.
 */
@Entity({ tableName: "usage_daily" })
@Unique({
  name: "usage_daily_key_unique",
  properties: ["day", "client", "provider", "model"],
})
@Index({
  name: "usage_daily_provider_day_idx",
  properties: ["provider", "day"],
})
@Check({
  name: "usage_daily_counts_check",
  expression:
    "requests >= 0 and failed_requests >= 0 and estimated_requests >= 0 and prompt_tokens >= 0 and completion_tokens >= 0 and cache_read_tokens >= 0 and cache_write_tokens >= 0 and reasoning_tokens >= 0 and cost >= 0",
})
export class UsageDaily {
  @PrimaryKey({ type: "integer", autoincrement: true })
  id!: number;

  /** UTC calendar day, `YYYY-MM-DD`. */
  @Property({ type: "string", length: 10 })
  day!: string;

  @ManyToOne(() => Client, { deleteRule: "restrict", index: true })
  client!: Client;

  @ManyToOne(() => Provider, { deleteRule: "restrict", index: false })
  provider!: Provider;

  @Property({ type: "string", length: 200 })
  model!: string;

  @Property({ type: "bigint", default: 0 })
  requests: number & Opt = 0;

  @Property({ type: "bigint", default: 0 })
  failedRequests: number & Opt = 0;

  @Property({ type: "bigint", default: 0 })
  estimatedRequests: number & Opt = 0;

  @Property({ type: "bigint", default: 0 })
  promptTokens: number & Opt = 0;

  @Property({ type: "bigint", default: 0 })
  completionTokens: number & Opt = 0;

  @Property({ type: "bigint", default: 0 })
  cacheReadTokens: number & Opt = 0;

  @Property({ type: "bigint", default: 0 })
  cacheWriteTokens: number & Opt = 0;

  @Property({ type: "bigint", default: 0 })
  reasoningTokens: number & Opt = 0;

  /** Nano-dollars. */
  @Property({ type: MoneyType, default: 0 })
  cost: bigint & Opt = 0n;
}
