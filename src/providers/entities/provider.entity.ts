import {
  Check,
  Entity,
  Enum,
  Opt,
  PrimaryKey,
  Property,
} from "@mikro-orm/core";

import { MoneyType } from "../../database/money.type";

export enum ProviderKind {
  /** Any API that speaks OpenAI's wire format under a base URL, authenticated with a Bearer key. */
  OpenAi = "openai",
  /** Anthropic's Messages API: `x-api-key` and `anthropic-version` headers. */
  Anthropic = "anthropic",
  /** Azure OpenAI: deployment URLs, an `api-version` query parameter and an `api-key` header. */
  Azure = "azure",
  /** Google Gemini's OpenAI-compatible endpoint. */
  Gemini = "gemini",
}

export enum BillingMode {
  /** Credit bought in advance; every request is reserved against and debited from the balance. */
  Prepaid = "prepaid",
  /** Invoiced afterwards; the balance is never touched. */
  Postpaid = "postpaid",
}

/**
 * An upstream API with its own key. The key is sealed with the key ring; the additional data binds it to this
 * row's id, so a ciphertext copied to another row does not open.
 */
@Entity({ tableName: "providers" })
@Check({
  name: "providers_credit_check",
  expression:
    "credit_balance >= 0 and credit_reserved >= 0 and credit_reserved <= credit_balance",
})
export class Provider {
  @PrimaryKey({ type: "integer", autoincrement: true })
  id!: number;

  @Property({ type: "string", length: 200, unique: true })
  name!: string;

  @Enum({ items: () => ProviderKind })
  kind!: ProviderKind;

  /** Base URL up to and including the API version, e.g. https://api.openai.com/v1. */
  @Property({ type: "string", length: 2000 })
  baseUrl!: string;

  @Property({ type: "blob", nullable: true })
  apiKeyCiphertext: Buffer | null = null;

  @Property({ type: "blob", nullable: true })
  apiKeyNonce: Buffer | null = null;

  @Property({ type: "string", length: 64, nullable: true })
  apiKeyKeyId: string | null = null;

  /** The key's last four characters, the only part ever shown. */
  @Property({ type: "string", length: 4, nullable: true })
  apiKeyLast4: string | null = null;

  @Enum({ items: () => BillingMode, default: BillingMode.Postpaid })
  billingMode: BillingMode & Opt = BillingMode.Postpaid;

  /** Posted prepaid credit in nano-dollars. */
  @Property({ type: MoneyType, default: 0 })
  creditBalance: bigint & Opt = 0n;

  /** Sum of pending reservations in nano-dollars; available credit is balance minus this. */
  @Property({ type: MoneyType, default: 0 })
  creditReserved: bigint & Opt = 0n;

  /** Whether the upstream accepts `stream_options`; when it does not, stream usage is estimated. */
  @Property({ type: "boolean", default: true })
  supportsStreamOptions: boolean & Opt = true;

  /** Azure's `api-version` query parameter; other kinds leave it null. */
  @Property({ type: "string", length: 40, nullable: true })
  apiVersion: string | null = null;

  /** Milliseconds to open a connection; null takes `routing.connectTimeoutMs`. */
  @Property({ type: "integer", nullable: true })
  connectTimeoutMs: number | null = null;

  /** Milliseconds from sending the request to the first stream event, or the whole body when not streamed; null takes the default. */
  @Property({ type: "integer", nullable: true })
  firstTokenTimeoutMs: number | null = null;

  /** Milliseconds for the whole call, body included; null takes the default. */
  @Property({ type: "integer", nullable: true })
  totalTimeoutMs: number | null = null;

  @Property({ type: "boolean", default: true })
  enabled: boolean & Opt = true;

  @Property({ type: "datetime" })
  createdAt: Date & Opt = new Date();

  @Property({ type: "datetime", onUpdate: () => new Date() })
  updatedAt: Date & Opt = new Date();
}
