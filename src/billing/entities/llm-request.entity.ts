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
import { ClientToken } from "../../clients/entities/client-token.entity";
import { MoneyType } from "../../database/money.type";
import { ModelConfig } from "../../providers/entities/model-config.entity";
import { Provider } from "../../providers/entities/provider.entity";

export enum RequestStatus {
  /** The provider finished its answer. */
  Completed = "completed",
  /** Output began but the stream broke off, on the client's side or the provider's. */
  Incomplete = "incomplete",
  /** The provider returned an error or nothing before any output. */
  Failed = "failed",
}

/** One request that reached a provider. Written once, in the accounting transaction, keyed by its request id. */
@Entity({ tableName: "llm_requests" })
@Index({
  name: "llm_requests_client_time_idx",
  properties: ["client", "createdAt"],
})
@Index({
  name: "llm_requests_provider_time_idx",
  properties: ["provider", "createdAt"],
})
@Index({
  name: "llm_requests_status_time_idx",
  properties: ["status", "createdAt"],
})
@Check({
  name: "llm_requests_counts_check",
  expression:
    "prompt_tokens >= 0 and completion_tokens >= 0 and cache_read_tokens >= 0 and cache_write_tokens >= 0 and reasoning_tokens >= 0 and cost >= 0 and credit_shortfall >= 0 and latency_ms >= 0",
})
export class LlmRequest {
  @PrimaryKey({ type: "integer", autoincrement: true })
  id!: number;

  @Property({ type: "string", length: 128, unique: true })
  requestId!: string;

  @ManyToOne(() => Client, { deleteRule: "restrict", index: false })
  client!: Client;

  @ManyToOne(() => ClientToken, {
    nullable: true,
    deleteRule: "set null",
    index: true,
  })
  token: ClientToken | null = null;

  @ManyToOne(() => Provider, { deleteRule: "restrict", index: false })
  provider!: Provider;

  @ManyToOne(() => ModelConfig, {
    nullable: true,
    deleteRule: "set null",
    index: true,
  })
  modelConfig: ModelConfig | null = null;

  /** The public model name the client sent. */
  @Property({ type: "string", length: 200 })
  model!: string;

  @Property({ type: "string", length: 32 })
  endpoint!: string;

  @Enum({ items: () => RequestStatus })
  status!: RequestStatus;

  /** Why a request did not complete, e.g. `client_closed`, `upstream_5xx`, `timeout`; null when it completed. */
  @Property({ type: "string", length: 64, nullable: true })
  errorClass: string | null = null;

  /** Status code the provider answered with; null when no response arrived. */
  @Property({ type: "integer", nullable: true })
  upstreamStatus: number | null = null;

  @Property({ type: "boolean" })
  streamed!: boolean;

  /** Total input tokens, cached and cache-written ones included. */
  @Property({ type: "integer", default: 0 })
  promptTokens: number & Opt = 0;

  /** Output tokens, reasoning tokens included. */
  @Property({ type: "integer", default: 0 })
  completionTokens: number & Opt = 0;

  @Property({ type: "integer", default: 0 })
  cacheReadTokens: number & Opt = 0;

  @Property({ type: "integer", default: 0 })
  cacheWriteTokens: number & Opt = 0;

  @Property({ type: "integer", default: 0 })
  reasoningTokens: number & Opt = 0;

  /** True when any count is a tokenizer estimate rather than the provider's report. */
  @Property({ type: "boolean", default: false })
  usageEstimated: boolean & Opt = false;

  /** Nano-dollars, priced by the configured model. */
  @Property({ type: MoneyType, default: 0 })
  cost: bigint & Opt = 0n;

  /** Part of the cost a prepaid balance could not cover, in nano-dollars; zero when fully debited. */
  @Property({ type: MoneyType, default: 0 })
  creditShortfall: bigint & Opt = 0n;

  @Property({ type: "integer", default: 0 })
  latencyMs: number & Opt = 0;

  /** Milliseconds until the first output byte reached the proxy; null without output. */
  @Property({ type: "integer", nullable: true })
  ttftMs: number | null = null;

  @Property({ type: "datetime", index: true })
  createdAt!: Date;
}
