import { Inject, Injectable } from "@nestjs/common";
import { MikroORM } from "@mikro-orm/core";

import { ModelPrices } from "../billing/usage";
import { clearOnEntityChange, TtlCache } from "../common/ttl-cache";
import { APP_CONFIG } from "../config/config.module";
import { AppConfig } from "../config/config.schema";
import {
  readTime,
  WriteTransactionRunner,
} from "../database/write-transaction";
import { ModelConfig } from "./entities/model-config.entity";
import {
  BillingMode,
  Provider,
  ProviderKind,
} from "./entities/provider.entity";
import { ProvidersService } from "./providers.service";

/** A configured model together with what the proxy needs to call its provider. */
export interface ResolvedModel {
  modelConfigId: number;
  publicName: string;
  upstreamName: string;
  prices: ModelPrices;
  contextWindow: number | null;
  maxOutputTokens: number | null;
  /** Routing order among the providers serving this public name: lower first. */
  priority: number;
  /** Share of traffic among routes of equal priority. */
  weight: number;
  provider: {
    id: number;
    name: string;
    kind: ProviderKind;
    baseUrl: string;
    /** Azure's `api-version`; null for other kinds. */
    apiVersion: string | null;
    prepaid: boolean;
    supportsStreamOptions: boolean;
    apiKey: string;
    /** The provider's own timeouts in milliseconds; null takes the configured default. */
    timeouts: {
      connectMs: number | null;
      firstTokenMs: number | null;
      totalMs: number | null;
    };
  };
}

interface ModelRow {
  model_id: number;
  public_name: string;
  upstream_name: string;
  input_price: string;
  output_price: string;
  cache_read_price: string;
  cache_write_price: string;
  cache_write_1h_price: string;
  reasoning_price: string | null;
  context_window: number | null;
  max_output_tokens: number | null;
  priority: number;
  weight: number;
  provider_id: number;
  provider_name: string;
  kind: ProviderKind;
  base_url: string;
  billing_mode: BillingMode;
  supports_stream_options: number | boolean;
  api_version: string | null;
  connect_timeout_ms: number | null;
  first_token_timeout_ms: number | null;
  total_timeout_ms: number | null;
  api_key_ciphertext: Buffer | null;
  api_key_nonce: Buffer | null;
  api_key_key_id: string | null;
}

const SELECT_MODELS = `
  select m.id as model_id, m.public_name, m.upstream_name,
    cast(m.input_price as text) as input_price, cast(m.output_price as text) as output_price,
    cast(m.cache_read_price as text) as cache_read_price, cast(m.cache_write_price as text) as cache_write_price,
    cast(m.cache_write_1h_price as text) as cache_write_1h_price, cast(m.reasoning_price as text) as reasoning_price,
    m.context_window, m.max_output_tokens, m.priority, m.weight,
    p.id as provider_id, p.name as provider_name, p.kind, p.base_url, p.billing_mode, p.supports_stream_options,
    p.api_version, p.connect_timeout_ms, p.first_token_timeout_ms, p.total_timeout_ms,
    p.api_key_ciphertext, p.api_key_nonce, p.api_key_key_id
  from model_configs m join providers p on p.id = m.provider_id
  where m.enabled = ? and p.enabled = ?`;

/**
 * Looks up which provider serves a public model name, with its prices and opened API key. A model found is reused
 * for `proxy.lookupCacheMs`; changes to providers and models made through this process's ORM clear the cache at
 * once, and changes made elsewhere apply within that time.
 */
@Injectable()
export class ModelResolver {
  private readonly resolved: TtlCache<string, ResolvedModel[]>;

  constructor(
    private readonly db: WriteTransactionRunner,
    private readonly providers: ProvidersService,
    @Inject(APP_CONFIG) config: AppConfig,
    orm: MikroORM,
  ) {
    this.resolved = new TtlCache(config.proxy.lookupCacheMs, 1_000);
    clearOnEntityChange(orm, [Provider, ModelConfig], this.resolved);
  }

  /**
   * Returns every enabled route for this public name, one per provider serving it, ordered by priority and then
   * by age. An empty list means no provider serves the name.
   */
  async resolveRoutes(publicName: string): Promise<ResolvedModel[]> {
    const cached = this.resolved.get(publicName);
    if (cached) {
      return cached;
    }

    const rows = await this.db.read<ModelRow>(
      `${SELECT_MODELS} and m.public_name = ? order by m.priority, m.id limit 32`,
      [true, true, publicName],
    );
    const routes = await Promise.all(rows.map((row) => this.toResolved(row)));
    if (routes.length > 0) {
      this.resolved.set(publicName, routes);
    }
    return routes;
  }

  /** Returns the first route of this name, or null. */
  async resolve(publicName: string): Promise<ResolvedModel | null> {
    const routes = await this.resolveRoutes(publicName);
    return routes[0] ?? null;
  }

  /** Public names of every enabled model, each once. */
  async publicNames(): Promise<
    { name: string; providerName: string; createdAt: number }[]
  > {
    const rows = await this.db.read<{
      public_name: string;
      provider_name: string;
      created_at: number | string | Date;
    }>(
      `select m.public_name, min(p.name) as provider_name, min(m.created_at) as created_at
       from model_configs m join providers p on p.id = m.provider_id
       where m.enabled = ? and p.enabled = ? group by m.public_name order by m.public_name`,
      [true, true],
    );

    return rows.map((row) => ({
      name: row.public_name,
      providerName: row.provider_name,
      createdAt: Math.floor(readTime(row.created_at).getTime() / 1000),
    }));
  }

  private async toResolved(row: ModelRow): Promise<ResolvedModel> {
    return {
      modelConfigId: row.model_id,
      publicName: row.public_name,
      upstreamName: row.upstream_name,
      contextWindow: row.context_window,
      maxOutputTokens: row.max_output_tokens,
      priority: row.priority,
      weight: row.weight,
      prices: {
        inputPrice: BigInt(row.input_price),
        outputPrice: BigInt(row.output_price),
        cacheReadPrice: BigInt(row.cache_read_price),
        cacheWritePrice: BigInt(row.cache_write_price),
        cacheWrite1hPrice: BigInt(row.cache_write_1h_price),
        reasoningPrice:
          row.reasoning_price === null ? null : BigInt(row.reasoning_price),
      },
      provider: {
        id: row.provider_id,
        name: row.provider_name,
        kind: row.kind,
        baseUrl: row.base_url,
        apiVersion: row.api_version,
        prepaid: row.billing_mode === BillingMode.Prepaid,
        supportsStreamOptions: Boolean(row.supports_stream_options),
        apiKey: await this.providers.openApiKey({
          id: row.provider_id,
          apiKeyCiphertext: row.api_key_ciphertext,
          apiKeyNonce: row.api_key_nonce,
          apiKeyKeyId: row.api_key_key_id,
        }),
        timeouts: {
          connectMs: row.connect_timeout_ms,
          firstTokenMs: row.first_token_timeout_ms,
          totalMs: row.total_timeout_ms,
        },
      },
    };
  }
}
