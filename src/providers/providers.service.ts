import { Injectable } from "@nestjs/common";
import { EntityManager, FilterQuery } from "@mikro-orm/core";

import { AuditActor } from "../audit/audit";
import { AuditService } from "../audit/audit.service";
import { BalanceTransactionKind } from "../billing/entities/balance-transaction.entity";
import { formatUsd, MAX_NANOS, Nanos } from "../billing/money";
import { checkName } from "../common/names";
import { EntityNotFound } from "../common/not-found";
import { KeyRingService } from "../crypto/key-ring.service";
import { WriteTransactionRunner } from "../database/write-transaction";
import { ModelConfig } from "./entities/model-config.entity";
import {
  BillingMode,
  Provider,
  ProviderKind,
} from "./entities/provider.entity";

export interface ProviderCreate {
  name: string;
  kind: ProviderKind;
  baseUrl: string;
  apiKey: string;
  billingMode: BillingMode;
  supportsStreamOptions?: boolean;
}

export interface ModelCreate {
  providerId: number;
  publicName: string;
  upstreamName?: string;
  inputPrice: Nanos;
  outputPrice: Nanos;
  cacheReadPrice?: Nanos;
  cacheWritePrice?: Nanos;
  cacheWrite1hPrice?: Nanos;
  reasoningPrice?: Nanos | null;
  contextWindow?: number | null;
  maxOutputTokens?: number | null;
}

/** Provider settings an update may change; absent fields stay as they are. */
export interface ProviderUpdate {
  name?: string;
  baseUrl?: string;
  billingMode?: BillingMode;
  supportsStreamOptions?: boolean;
  enabled?: boolean;
}

/** Model settings an update may change; prices are nano-dollars per million tokens. */
export type ModelUpdate = Partial<
  Omit<ModelCreate, "providerId" | "publicName">
> & { enabled?: boolean };

/** The ledger entry written by a balance change. */
export interface BalanceChangeResult {
  entryId: number;
  providerId: number;
  kind: BalanceTransactionKind;
  /** Signed nano-dollars. */
  amount: Nanos;
  balanceAfter: Nanos;
  actor: string;
  note: string | null;
  createdAt: Date;
}

export interface BalanceChange {
  providerId: number;
  /** Signed nano-dollars; a top-up must be positive. */
  amount: Nanos;
  kind: BalanceTransactionKind.TopUp | BalanceTransactionKind.Adjustment;
  actor: string;
  note?: string | null;
}

/** Raised when provider settings are invalid: a taken name, or a base URL that is not a plain http(s) URL. */
export class ProviderInputRejected extends Error {}

/** Raised when a provider or model name is already in use. */
export class ProviderNameTaken extends ProviderInputRejected {}

/**
 * Checks a provider base URL and returns it without a trailing slash. Credentials in the URL are rejected
 * because the URL is stored and shown in clear; the API key has its own sealed column.
 */
export function checkBaseUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ProviderInputRejected(
      `'${value}' is not a URL; expected e.g. https://api.openai.com/v1`,
    );
  }

  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new ProviderInputRejected(
      `The base URL must use http or https, not ${url.protocol.slice(0, -1)}`,
    );
  }
  if (url.username || url.password) {
    throw new ProviderInputRejected(
      "The base URL must not contain credentials; pass the API key separately",
    );
  }
  if (url.search || url.hash) {
    throw new ProviderInputRejected(
      "The base URL must not have a query string or fragment",
    );
  }

  return url.toString().replace(/\/+$/, "");
}

/**
 * Highest price per million tokens: 100,000 USD, in nano-dollars. With token counts below 2^31 per kind, five
 * kinds at this price cost under 1.1 × 10^18 nano-dollars, so one request's cost always fits a signed 64-bit
 * column with room for the totals it is added to.
 */
export const MAX_PRICE_PER_MILLION: Nanos = 100_000n * 1_000_000_000n;

const PRICE_FIELDS = [
  "inputPrice",
  "outputPrice",
  "cacheReadPrice",
  "cacheWritePrice",
  "cacheWrite1hPrice",
  "reasoningPrice",
] as const;

/** Rejects a price above {@link MAX_PRICE_PER_MILLION} or below zero. */
export function checkPrices(prices: Partial<ModelCreate>): void {
  for (const field of PRICE_FIELDS) {
    const price = prices[field];
    if (price === undefined || price === null) {
      continue;
    }
    if (price < 0n || price > MAX_PRICE_PER_MILLION) {
      throw new ProviderInputRejected(
        `${field} must be between 0 and ${formatUsd(MAX_PRICE_PER_MILLION)} USD per million tokens`,
      );
    }
  }
}

/** Maximum length of a provider API key, in characters. */
const MAX_API_KEY_LENGTH = 4096;

/**
 * Rejects an API key that cannot be sent in a header as it is: empty, too long, or containing whitespace or
 * control characters (a key pasted with its line break, for example).
 */
export function checkApiKey(apiKey: string): void {
  if (apiKey.length === 0 || apiKey.length > MAX_API_KEY_LENGTH) {
    throw new ProviderInputRejected(
      `The API key must be 1 to ${MAX_API_KEY_LENGTH} characters long`,
    );
  }
  if (/[\s\p{Cc}]/u.test(apiKey)) {
    throw new ProviderInputRejected(
      "The API key contains whitespace or control characters; paste it without line breaks or spaces",
    );
  }
}

/** Raised when a balance change is not allowed: wrong billing mode, or it would dip into held credit. */
export class BalanceChangeRejected extends Error {}

/** The additional data that binds a provider's sealed API key to its row. */
export const providerKeyContext = (providerId: number) =>
  `provider:${providerId}`;

/** Creates providers and their models, seals their keys and changes prepaid balances through the ledger. */
@Injectable()
export class ProvidersService {
  constructor(
    private readonly em: EntityManager,
    private readonly keyRing: KeyRingService,
    private readonly transactions: WriteTransactionRunner,
    private readonly audit: AuditService,
  ) {}

  /** Creates a provider and seals its key; the name must be unused and the base URL a plain http(s) URL. */
  async create(input: ProviderCreate, actor?: AuditActor): Promise<Provider> {
    checkName(input.name, "provider");
    const baseUrl = checkBaseUrl(input.baseUrl);
    const em = this.em.fork();
    if (await em.count(Provider, { name: input.name })) {
      throw new ProviderNameTaken(
        `A provider named '${input.name}' already exists`,
      );
    }

    return em.transactional(async (tx) => {
      const provider = tx.create(Provider, {
        name: input.name,
        kind: input.kind,
        baseUrl,
        billingMode: input.billingMode,
        supportsStreamOptions: input.supportsStreamOptions ?? true,
      });
      await tx.flush();
      this.sealKey(provider, input.apiKey);
      if (actor) {
        this.audit.record(tx, actor, {
          action: "provider.create",
          entityType: "provider",
          entityId: provider.id,
          after: providerAuditView(provider),
        });
      }

      return provider;
    });
  }

  /** Returns a provider by id; throws {@link EntityNotFound} when there is none. */
  async get(providerId: number): Promise<Provider> {
    const provider = await this.em.fork().findOne(Provider, providerId);
    if (!provider) {
      throw new EntityNotFound("provider", providerId);
    }
    return provider;
  }

  /**
   * Changes a provider's settings and records the change. The billing mode may change only while no request
   * has credit reserved, so every reservation is settled under the mode it was made in.
   *
   * NOTE: a request that resolved its model just before the change, but was not yet admitted, is still settled
   * under the old mode, because the proxy decides prepaid or postpaid when it resolves the model.
   */
  async update(
    providerId: number,
    changes: ProviderUpdate,
    actor: AuditActor,
  ): Promise<Provider> {
    if (changes.name !== undefined) {
      checkName(changes.name, "provider");
    }
    const baseUrl =
      changes.baseUrl === undefined ? undefined : checkBaseUrl(changes.baseUrl);

    return this.em.fork().transactional(async (tx) => {
      const provider = await this.findProvider(tx, providerId);
      await this.checkRename(tx, provider, changes.name);
      const mode: BillingMode = provider.billingMode;
      if (
        changes.billingMode !== undefined &&
        changes.billingMode !== mode &&
        provider.creditReserved > 0n
      ) {
        throw new ProviderInputRejected(
          `Requests in flight hold ${formatUsd(provider.creditReserved)} USD of credit; change the billing mode once they finish`,
        );
      }

      const before = providerAuditView(provider);
      tx.assign(provider, { ...changes, ...(baseUrl ? { baseUrl } : {}) });
      this.audit.record(tx, actor, {
        action: "provider.update",
        entityType: "provider",
        entityId: provider.id,
        before,
        after: providerAuditView(provider),
      });

      return provider;
    });
  }

  /**
   * Replaces a provider's API key; the old ciphertext is overwritten. The audit entry shows only the last four
   * characters of the old and new key.
   */
  async setApiKey(
    providerId: number,
    apiKey: string,
    actor?: AuditActor,
  ): Promise<Provider> {
    return this.em.fork().transactional(async (tx) => {
      const provider = await this.findProvider(tx, providerId);
      const before = providerAuditView(provider);
      this.sealKey(provider, apiKey);
      if (actor) {
        this.audit.record(tx, actor, {
          action: "provider.set_key",
          entityType: "provider",
          entityId: provider.id,
          before,
          after: providerAuditView(provider),
        });
      }

      return provider;
    });
  }

  /** Opens a provider's API key. Throws when the key id is missing from the ring or the ciphertext was moved. */
  async openApiKey(
    provider: Pick<
      Provider,
      "id" | "apiKeyCiphertext" | "apiKeyNonce" | "apiKeyKeyId"
    >,
  ): Promise<string> {
    if (
      !provider.apiKeyCiphertext ||
      !provider.apiKeyNonce ||
      !provider.apiKeyKeyId
    ) {
      throw new Error(`Provider ${provider.id} has no API key`);
    }

    return this.keyRing.open(
      {
        ciphertext: provider.apiKeyCiphertext,
        nonce: provider.apiKeyNonce,
        keyId: provider.apiKeyKeyId,
      },
      providerKeyContext(provider.id),
    );
  }

  async findByName(name: string): Promise<Provider | null> {
    return this.em.fork().findOne(Provider, { name });
  }

  async list(): Promise<Provider[]> {
    return this.em.fork().find(Provider, {}, { orderBy: { id: "asc" } });
  }

  /** Lists model configs, of one provider or of all. */
  async listModels(providerId?: number): Promise<ModelConfig[]> {
    const where: FilterQuery<ModelConfig> =
      providerId === undefined ? {} : { provider: providerId };
    return this.em.fork().find(ModelConfig, where, { orderBy: { id: "asc" } });
  }

  /** Returns a model config by id; throws {@link EntityNotFound} when there is none. */
  async getModel(modelId: number): Promise<ModelConfig> {
    const model = await this.em.fork().findOne(ModelConfig, modelId);
    if (!model) {
      throw new EntityNotFound("model", modelId);
    }
    return model;
  }

  /** Adds a model to a provider; its public name must be unused on that provider. */
  async addModel(input: ModelCreate, actor?: AuditActor): Promise<ModelConfig> {
    checkPrices(input);
    return this.em.fork().transactional(async (tx) => {
      await this.findProvider(tx, input.providerId);
      if (
        await tx.count(ModelConfig, {
          provider: input.providerId,
          publicName: input.publicName,
        })
      ) {
        throw new ProviderNameTaken(
          `Provider ${input.providerId} already serves a model named '${input.publicName}'`,
        );
      }

      const model = this.createModel(tx, input);
      await tx.flush();
      if (actor) {
        this.audit.record(tx, actor, {
          action: "model.create",
          entityType: "model",
          entityId: model.id,
          after: modelAuditView(model),
        });
      }

      return model;
    });
  }

  /** Changes a model's upstream name, prices, limits or availability, and records the change. */
  async updateModel(
    modelId: number,
    changes: ModelUpdate,
    actor: AuditActor,
  ): Promise<ModelConfig> {
    checkPrices(changes);
    return this.em.fork().transactional(async (tx) => {
      const model = await tx.findOne(ModelConfig, modelId);
      if (!model) {
        throw new EntityNotFound("model", modelId);
      }

      const before = modelAuditView(model);
      tx.assign(model, changes);
      this.audit.record(tx, actor, {
        action: "model.update",
        entityType: "model",
        entityId: model.id,
        before,
        after: modelAuditView(model),
      });

      return model;
    });
  }

  private createModel(em: EntityManager, input: ModelCreate): ModelConfig {
    return em.create(ModelConfig, {
      provider: em.getReference(Provider, input.providerId),
      publicName: input.publicName,
      upstreamName: input.upstreamName ?? input.publicName,
      inputPrice: input.inputPrice,
      outputPrice: input.outputPrice,
      cacheReadPrice: input.cacheReadPrice ?? 0n,
      cacheWritePrice: input.cacheWritePrice ?? 0n,
      cacheWrite1hPrice: input.cacheWrite1hPrice ?? 0n,
      reasoningPrice: input.reasoningPrice ?? null,
      contextWindow: input.contextWindow ?? null,
      maxOutputTokens: input.maxOutputTokens ?? null,
    });
  }

  /**
   * Adds to or takes from a prepaid balance and writes the ledger entry in the same transaction. An adjustment
   * may not take away credit that pending requests hold. Returns the balance after the change.
   */
  async changeBalance(change: BalanceChange): Promise<Nanos> {
    return (await this.recordBalanceChange(change)).balanceAfter;
  }

  /**
   * Like {@link changeBalance}, and returns the ledger entry. With an actor, the audit entry is written in the
   * same transaction as the balance and the ledger.
   */
  async recordBalanceChange(
    change: BalanceChange,
    actor?: AuditActor,
  ): Promise<BalanceChangeResult> {
    if (change.amount === 0n) {
      throw new BalanceChangeRejected("The amount must not be zero");
    }
    if (change.kind === BalanceTransactionKind.TopUp && change.amount < 0n) {
      throw new BalanceChangeRejected(
        "A top-up must be positive; use an adjustment to remove credit",
      );
    }

    return this.transactions.run(async (tx) => {
      // Read first, under the transaction's lock, so a refusal can say why and the new balance is checked in
      // bigint arithmetic rather than overflowing the column.
      const current = await tx.all<{
        balance: string;
        reserved: string;
        billing_mode: BillingMode;
      }>(
        `select cast(credit_balance as text) as balance, cast(credit_reserved as text) as reserved, billing_mode
         from providers where id = ?${tx.forUpdate}`,
        [change.providerId],
      );
      if (current.length === 0) {
        throw new EntityNotFound("provider", change.providerId);
      }
      if (current[0].billing_mode !== BillingMode.Prepaid) {
        throw new BalanceChangeRejected(
          `Provider ${change.providerId} is postpaid; only prepaid balances change`,
        );
      }

      const balance = BigInt(current[0].balance);
      const reserved = BigInt(current[0].reserved);
      const target = balance + change.amount;
      if (target < reserved) {
        throw new BalanceChangeRejected(
          `The adjustment would leave ${formatUsd(target)} USD, less than the ${formatUsd(reserved)} USD held by ` +
            `requests in flight; at most ${formatUsd(balance - reserved)} USD can be removed now`,
        );
      }
      if (target > MAX_NANOS) {
        throw new BalanceChangeRejected(
          `The balance would exceed the largest storable amount, ${formatUsd(MAX_NANOS)} USD`,
        );
      }

      const rows = await tx.all<{ balance: string }>(
        `update providers set credit_balance = credit_balance + cast(? as bigint)
         where id = ? and credit_balance + cast(? as bigint) >= credit_reserved
         returning cast(credit_balance as text) as balance`,
        [change.amount, change.providerId, change.amount],
      );

      const balanceAfter = BigInt(rows[0].balance);
      const createdAt = new Date();
      const [entry] = await tx.all<{ id: number }>(
        `insert into balance_transactions (provider_id, kind, amount, balance_after, actor, note, created_at)
         values (?, ?, cast(? as bigint), cast(? as bigint), ?, ?, ?) returning id`,
        [
          change.providerId,
          change.kind,
          change.amount,
          balanceAfter,
          change.actor,
          change.note ?? null,
          tx.time(createdAt),
        ],
      );
      if (actor) {
        await this.audit.recordSql(tx, actor, {
          action: `provider.${change.kind}`,
          entityType: "provider",
          entityId: change.providerId,
          before: { creditBalance: formatUsd(balance) },
          after: {
            creditBalance: formatUsd(balanceAfter),
            amount: formatUsd(change.amount),
            ledgerEntryId: entry.id,
            note: change.note ?? null,
          },
        });
      }

      return {
        entryId: Number(entry.id),
        providerId: change.providerId,
        kind: change.kind,
        amount: change.amount,
        balanceAfter,
        actor: change.actor,
        note: change.note ?? null,
        createdAt,
      };
    });
  }

  private async findProvider(
    em: EntityManager,
    providerId: number,
  ): Promise<Provider> {
    const provider = await em.findOne(Provider, providerId);
    if (!provider) {
      throw new EntityNotFound("provider", providerId);
    }
    return provider;
  }

  private async checkRename(
    em: EntityManager,
    provider: Provider,
    name: string | undefined,
  ): Promise<void> {
    if (
      name !== undefined &&
      name !== provider.name &&
      (await em.count(Provider, { name }))
    ) {
      throw new ProviderNameTaken(`A provider named '${name}' already exists`);
    }
  }

  private sealKey(provider: Provider, apiKey: string): void {
    checkApiKey(apiKey);
    const sealed = this.keyRing.seal(apiKey, providerKeyContext(provider.id));
    provider.apiKeyCiphertext = sealed.ciphertext;
    provider.apiKeyNonce = sealed.nonce;
    provider.apiKeyKeyId = sealed.keyId;
    provider.apiKeyLast4 = apiKey.slice(-4);
  }
}

/** Builds the audit snapshot of a provider: the key's last four characters, never the key or its ciphertext. */
export function providerAuditView(provider: Provider): Record<string, unknown> {
  return {
    id: provider.id,
    name: provider.name,
    kind: provider.kind,
    baseUrl: provider.baseUrl,
    billingMode: provider.billingMode,
    supportsStreamOptions: provider.supportsStreamOptions,
    enabled: provider.enabled,
    keyLast4: provider.apiKeyLast4,
  };
}

/** Builds the audit snapshot of a model config, with prices in USD per million tokens. */
export function modelAuditView(model: ModelConfig): Record<string, unknown> {
  const usd = (value: Nanos | null) =>
    value === null ? null : formatUsd(value);
  return {
    id: model.id,
    providerId: model.provider.id,
    publicName: model.publicName,
    upstreamName: model.upstreamName,
    inputPrice: usd(model.inputPrice),
    outputPrice: usd(model.outputPrice),
    cacheReadPrice: usd(model.cacheReadPrice),
    cacheWritePrice: usd(model.cacheWritePrice),
    cacheWrite1hPrice: usd(model.cacheWrite1hPrice),
    reasoningPrice: usd(model.reasoningPrice),
    contextWindow: model.contextWindow,
    maxOutputTokens: model.maxOutputTokens,
    enabled: model.enabled,
  };
}
