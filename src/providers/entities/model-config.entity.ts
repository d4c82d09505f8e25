import {
  Check,
  Entity,
  ManyToOne,
  Opt,
  PrimaryKey,
  Property,
  Unique,
} from "@mikro-orm/core";

import { MoneyType } from "../../database/money.type";
import { Provider } from "./provider.entity";

/**
 * A model served by one provider, under a public name that clients send as `model`. Prices are nano-dollars per
 * million tokens; a null reasoning price bills reasoning tokens as output.
 */
@Entity({ tableName: "model_configs" })
@Unique({ properties: ["provider", "publicName"] })
@Check({
  name: "model_configs_price_check",
  expression:
    "input_price >= 0 and output_price >= 0 and cache_read_price >= 0 and cache_write_price >= 0 and cache_write_1h_price >= 0 and (reasoning_price is null or reasoning_price >= 0)",
})
@Check({
  name: "model_configs_limit_check",
  expression:
    "(context_window is null or context_window > 0) and (max_output_tokens is null or max_output_tokens > 0) and weight > 0",
})
export class ModelConfig {
  @PrimaryKey({ type: "integer", autoincrement: true })
  id!: number;

  @ManyToOne(() => Provider, { deleteRule: "cascade", index: true })
  provider!: Provider;

  /** The name clients send. */
  @Property({ type: "string", length: 200, index: true })
  publicName!: string;

  /** The name sent upstream. */
  @Property({ type: "string", length: 200 })
  upstreamName!: string;

  @Property({ type: MoneyType })
  inputPrice!: bigint;

  @Property({ type: MoneyType })
  outputPrice!: bigint;

  @Property({ type: MoneyType, default: 0 })
  cacheReadPrice: bigint & Opt = 0n;

  /** Cache writes with the default (5 minute) lifetime. */
  @Property({ type: MoneyType, default: 0 })
  cacheWritePrice: bigint & Opt = 0n;

  /** Cache writes with a one hour lifetime, where the provider prices them apart. */
  @Property({ type: MoneyType, default: 0, fieldName: "cache_write_1h_price" })
  cacheWrite1hPrice: bigint & Opt = 0n;

  @Property({ type: MoneyType, nullable: true })
  reasoningPrice: bigint | null = null;

  @Property({ type: "integer", nullable: true })
  contextWindow: number | null = null;

  @Property({ type: "integer", nullable: true })
  maxOutputTokens: number | null = null;

  /**
   * Routing order among the providers that serve the same public name: lower numbers are tried first, and
   * providers of equal priority share traffic by weight.
   */
  @Property({ type: "integer", default: 0 })
  priority: number & Opt = 0;

  /** Relative share of traffic among routes of equal priority. */
  @Property({ type: "integer", default: 1 })
  weight: number & Opt = 1;

  @Property({ type: "boolean", default: true })
  enabled: boolean & Opt = true;

  @Property({ type: "datetime" })
  createdAt: Date & Opt = new Date();

  @Property({ type: "datetime", onUpdate: () => new Date() })
  updatedAt: Date & Opt = new Date();
}
