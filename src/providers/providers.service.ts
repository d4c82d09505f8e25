import { Injectable } from "@nestjs/common";
import { EntityManager, FilterQuery } from "@mikro-orm/core";

import { AuditActor } from "../audit/audit";
import { AuditService } from "../audit/audit.service";
import { BalanceTransactionKind } from "../billing/entities/balance-transaction.entity";
import { formatUsd, MAX_NANOS, Nanos } from "../billing/money";
import { BUNDLED_PRICE_CATALOG } from "../billing/price-catalog/bundled-catalog";
import {
  CatalogPriceSource,
  fillModelPrices,
} from "../billing/price-catalog/price-fill";
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

/** Connection settings of a provider. A null timeout takes the configured default. */
export interface ProviderConnection {
  /** Absent on create: the kind's default from {@link DEFAULT_BASE_URLS}, which Azure does not have. */
  baseUrl?: string;
  /** Azure's `api-version`; required for Azure, rejected for other kinds. */
  apiVersion?: string | null;
  connectTimeoutMs?: number | null;
  firstTokenTimeoutMs?: number | null;
  totalTimeoutMs?: number | null;
}

export interface ProviderCreate extends ProviderConnection {
  name: string;
  kind: ProviderKind;
  apiKey: string;
  billingMode: BillingMode;
  supportsStreamOptions?: boolean;
}

/**
 * A new model config, with prices in nano-dollars per million tokens. A price or limit left out is taken from the
 * price catalog entry of the upstream name. Without an entry, the input and output prices are required.
 */
export interface ModelCreate {
  providerId: number;
  publicName: string;
  upstreamName?: string;
  inputPrice?: Nanos;
  outputPrice?: Nanos;
  cacheReadPrice?: Nanos;
  cacheWritePrice?: Nanos;
  cacheWrite1hPrice?: Nanos;
  reasoningPrice?: Nanos | null;
  contextWindow?: number | null;
  maxOutputTokens?: number | null;
  /** Routing order among providers of the same public name; lower is tried first. Default 0. */
  priority?: number;
  /** Share of traffic among routes of equal priority, at least 1. Default 1. */
  weight?: number;
}

/** A created model config and the catalog values it took, if any. */
export interface ModelCreated {
  model: ModelConfig;
  priceSource: CatalogPriceSource | null;
}

/** Provider settings an update may change; absent fields stay as they are. */
export interface ProviderUpdate extends ProviderConnection {
  name?: string;
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

/** Base URLs used when a provider is created without one. Azure has none: each resource has its own host. */
export const DEFAULT_BASE_URLS: Readonly<
  Partial<Record<ProviderKind, string>>
> = {
  [ProviderKind.OpenAi]: "https://api.openai.com/v1",
  [ProviderKind.Anthropic]: "https://api.anthropic.com/v1",
  [ProviderKind.Gemini]:
    "https://generativelanguage.googleapis.com/v1beta/openai",
};

/** Maximum per-provider timeout: one hour, in milliseconds. */
export const MAX_PROVIDER_TIMEOUT_MS = 3_600_000;

/** Azure's dated API versions, such as 2024-10-21 or 2025-04-01-preview. */
const AZURE_API_VERSION = /^\d{4}-\d{2}-\d{2}(-preview)?$/;
const AZURE_HOST = /^[a-z0-9][a-z0-9-]{0,62}\.openai\.azure\.com$/;
const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]"]);

/** A provider's connection settings after {@link checkProviderConnection}. */
export type CheckedProviderConnection = Required<{
  [Field in keyof ProviderConnection]: Exclude<
    ProviderConnection[Field],
    undefined
  >;
}>;

/**
 * Checks how the proxy reaches a provider of `kind` and fills the default base URL. Azure needs an `api-version`
 * and the resource root `https://NAME.openai.azure.com` (the proxy adds `/openai/deployments/...`); a loopback
 * base URL is also accepted for local stand-ins. Timeouts are whole milliseconds from 1 to one hour, and neither
 * the connect nor the first-token timeout may exceed the total timeout.
 */
export function checkProviderConnection(
  kind: ProviderKind,
  settings: ProviderConnection,
): CheckedProviderConnection {
  const given = settings.baseUrl ?? DEFAULT_BASE_URLS[kind];
  if (given === undefined) {
    throw new ProviderInputRejected(
      `A ${kind} provider needs a base URL, e.g. https://NAME.openai.azure.com`,
    );
  }
  const baseUrl = checkBaseUrl(given);
  const apiVersion = settings.apiVersion ?? null;
  if (kind === ProviderKind.Azure) {
    checkAzure(baseUrl, apiVersion);
  } else if (apiVersion !== null) {
    throw new ProviderInputRejected(
      `apiVersion applies to Azure providers only, not to ${kind}`,
    );
  }

  const timeouts = {
    connectTimeoutMs: settings.connectTimeoutMs ?? null,
    firstTokenTimeoutMs: settings.firstTokenTimeoutMs ?? null,
    totalTimeoutMs: settings.totalTimeoutMs ?? null,
  };
  checkTimeouts(timeouts);

  return { baseUrl, apiVersion, ...timeouts };
}

/**
 * Checks an Azure provider: the dated API takes the resource root and an api-version; the v1 API takes the
 * resource root followed by `/openai/v1` and no api-version. Loopback hosts are accepted for local stand-ins.
 */
function checkAzure(baseUrl: string, apiVersion: string | null): void {
  const url = new URL(baseUrl);
  const v1 = /^\/openai\/v1\/?$/.test(url.pathname);

  if (apiVersion === null && !v1) {
    throw new ProviderInputRejected(
      `An Azure provider needs apiVersion as a dated version such as 2024-10-21, or a base URL ending in /openai/v1 for Azure's v1 API; ${baseUrl} has neither`,
    );
  }
  if (apiVersion !== null && (v1 || !AZURE_API_VERSION.test(apiVersion))) {
    throw new ProviderInputRejected(
      v1
        ? "Azure's v1 API (a base URL ending in /openai/v1) takes no apiVersion"
        : `An Azure apiVersion is a dated version such as 2024-10-21, not ${apiVersion}`,
    );
  }

  if (LOOPBACK_HOSTS.has(url.hostname)) {
    return;
  }
  if (
    url.protocol !== "https:" ||
    !AZURE_HOST.test(url.hostname) ||
    url.port !== "" ||
    (url.pathname !== "/" && !v1)
  ) {
    throw new ProviderInputRejected(
      `An Azure base URL is the resource root, e.g. https://NAME.openai.azure.com, or that root followed by /openai/v1, not ${baseUrl}`,
    );
  }
}

function checkTimeouts(timeouts: {
  connectTimeoutMs: number | null;
  firstTokenTimeoutMs: number | null;
  totalTimeoutMs: number | null;
}): void {
  for (const [field, value] of Object.entries(timeouts)) {
    if (
      value !== null &&
      (!Number.isSafeInteger(value) ||
        value < 1 ||
        value > MAX_PROVIDER_TIMEOUT_MS)
    ) {
      throw new ProviderInputRejected(
        `${field} must be a whole number of milliseconds from 1 to ${MAX_PROVIDER_TIMEOUT_MS}, or null for the default`,
      );
    }
  }

  const total = timeouts.totalTimeoutMs;
  for (const field of ["connectTimeoutMs", "firstTokenTimeoutMs"] as const) {
    const value = timeouts[field];
    if (total !== null && value !== null && value > total) {
      throw new ProviderInputRejected(
        `${field} (${value}) must not exceed totalTimeoutMs (${total})`,
      );
    }
  }
}

/** Returns the change when one is given (null included), else the current value. */
function pick<T>(change: T | undefined, current: T): T {
  return change === undefined ? current : change;
}

/** Maximum routing priority; lower numbers are tried first. */
export const MAX_MODEL_PRIORITY = 1_000_000;
/** Maximum routing weight. */
export const MAX_MODEL_WEIGHT = 1_000_000;

/** Rejects a routing priority or weight out of range: priority 0 to 1,000,000, weight 1 to 1,000,000. */
export function checkRouting(routing: {
  priority?: number;
  weight?: number;
}): void {
  const { priority, weight } = routing;
  if (
    priority !== undefined &&
    (!Number.isSafeInteger(priority) ||
      priority < 0 ||
      priority > MAX_MODEL_PRIORITY)
  ) {
    throw new ProviderInputRejected(
      `priority must be a whole number from 0 to ${MAX_MODEL_PRIORITY}`,
    );
  }
  if (
    weight !== undefined &&
    (!Number.isSafeInteger(weight) || weight < 1 || weight > MAX_MODEL_WEIGHT)
  ) {
    throw new ProviderInputRejected(
      `weight must be a whole number from 1 to ${MAX_MODEL_WEIGHT}`,
    );
  }
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

  /**
   * Creates a provider and seals its key. The name must be unused and the connection settings pass
   * {@link checkProviderConnection}.
   */
  async create(input: ProviderCreate, actor?: AuditActor): Promise<Provider> {
    checkName(input.name, "provider");
    const connection = checkProviderConnection(input.kind, input);
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
        ...connection,
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

    return this.em.fork().transactional(async (tx) => {
      const provider = await this.findProvider(tx, providerId);
      await this.checkRename(tx, provider, changes.name);
      const connection = checkProviderConnection(provider.kind, {
        baseUrl: changes.baseUrl ?? provider.baseUrl,
        apiVersion: pick(changes.apiVersion, provider.apiVersion),
        connectTimeoutMs: pick(
          changes.connectTimeoutMs,
          provider.connectTimeoutMs,
        ),
        firstTokenTimeoutMs: pick(
          changes.firstTokenTimeoutMs,
          provider.firstTokenTimeoutMs,
        ),
        totalTimeoutMs: pick(changes.totalTimeoutMs, provider.totalTimeoutMs),
      });
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
      tx.assign(provider, { ...changes, ...connection });
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

  /**
   * Lists model configs with their providers, of one provider or of all, and optionally only those serving one
   * public name (its routes).
   */
  async listModels(
    providerId?: number,
    publicName?: string,
  ): Promise<ModelConfig[]> {
    const where: FilterQuery<ModelConfig> = {
      ...(providerId === undefined ? {} : { provider: providerId }),
      ...(publicName === undefined ? {} : { publicName }),
    };
    return this.em.fork().find(ModelConfig, where, {
      orderBy: { id: "asc" },
      populate: ["provider"],
    });
  }

  /** Returns a model config by id; throws {@link EntityNotFound} when there is none. */
  async getModel(modelId: number): Promise<ModelConfig> {
    const model = await this.em
      .fork()
      .findOne(ModelConfig, modelId, { populate: ["provider"] });
    if (!model) {
      throw new EntityNotFound("model", modelId);
    }
    return model;
  }

  /** Adds a model to a provider; like {@link addModelWithSource}, returning only the model config. */
  async addModel(input: ModelCreate, actor?: AuditActor): Promise<ModelConfig> {
    return (await this.addModelWithSource(input, actor)).model;
  }

  /**
   * Adds a model to a provider; its public name must be unused on that provider. Prices and limits left out are
   * taken from the price catalog entry of the upstream name for the provider's kind, and the result lists them.
   */
  async addModelWithSource(
    input: ModelCreate,
    actor?: AuditActor,
  ): Promise<ModelCreated> {
    checkPrices(input);
    checkRouting(input);
    return this.em.fork().transactional(async (tx) => {
      const provider = await this.findProvider(tx, input.providerId);
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

      const { model, priceSource } = this.createModel(tx, provider, input);
      await tx.flush();
      if (actor) {
        this.audit.record(tx, actor, {
          action: "model.create",
          entityType: "model",
          entityId: model.id,
          after: { ...modelAuditView(model), priceSource },
        });
      }

      return { model, priceSource };
    });
  }

  /** Changes a model's upstream name, prices, limits or availability, and records the change. */
  async updateModel(
    modelId: number,
    changes: ModelUpdate,
    actor: AuditActor,
  ): Promise<ModelConfig> {
    checkPrices(changes);
    checkRouting(changes);
    return this.em.fork().transactional(async (tx) => {
      const model = await tx.findOne(ModelConfig, modelId, {
        populate: ["provider"],
      });
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

  private createModel(
    em: EntityManager,
    provider: Provider,
    input: ModelCreate,
  ): ModelCreated {
    const upstreamName = input.upstreamName ?? input.publicName;
    // NOTE: Azure providers get no catalog prices, because the upstream name is a deployment name and Azure's
    // prices vary by region and deployment type.
    const fill = fillModelPrices(
      input,
      BUNDLED_PRICE_CATALOG.find(provider.kind, upstreamName),
    );
    if (!fill.ok) {
      throw new ProviderInputRejected(
        `${fill.missing.join(" and ")} ${fill.missing.length > 1 ? "are" : "is"} required: the price catalog ` +
          `has no ${provider.kind} model named '${upstreamName}'. Give the prices in USD per million tokens.`,
      );
    }

    const model = em.create(ModelConfig, {
      provider,
      publicName: input.publicName,
      upstreamName,
      ...fill.values,
      priority: input.priority ?? 0,
      weight: input.weight ?? 1,
    });
    return { model, priceSource: fill.priceSource };
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
    apiVersion: provider.apiVersion,
    connectTimeoutMs: provider.connectTimeoutMs,
    firstTokenTimeoutMs: provider.firstTokenTimeoutMs,
    totalTimeoutMs: provider.totalTimeoutMs,
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
    priority: model.priority,
    weight: model.weight,
    enabled: model.enabled,
  };
}
