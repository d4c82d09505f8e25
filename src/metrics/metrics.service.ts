import { Injectable } from "@nestjs/common";
import { MikroORM } from "@mikro-orm/core";
import { EntityManager } from "@mikro-orm/knex";
import {
  collectDefaultMetrics,
  Counter,
  Gauge,
  Histogram,
  Registry,
} from "prom-client";

import { RequestRecord } from "../billing/request-record";

/** Seconds buckets for request latency, from a cached answer to a long generation. */
const LATENCY_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300];

interface KnexPool {
  numUsed(): number;
  numFree(): number;
  numPendingAcquires(): number;
  max: number;
}

/**
 * Prometheus metrics of the service: requests, tokens, cost and latency per provider and model, the accounting
 * spool, the database connection pool, and Node's own process metrics. Labels never carry ids or secrets.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();

  private readonly requests = new Counter({
    name: "llmp_requests_total",
    help: "Requests that reached a provider, by outcome",
    labelNames: ["provider", "model", "status"],
    registers: [this.registry],
  });

  private readonly tokens = new Counter({
    name: "llmp_tokens_total",
    help: "Tokens metered, by kind (prompt, completion, cache_read, cache_write, reasoning)",
    labelNames: ["provider", "model", "kind"],
    registers: [this.registry],
  });

  private readonly cost = new Counter({
    name: "llmp_cost_nanodollars_total",
    help: "Cost metered, in nano-dollars (1e-9 USD)",
    labelNames: ["provider", "model"],
    registers: [this.registry],
  });

  private readonly estimated = new Counter({
    name: "llmp_usage_estimated_total",
    help: "Requests whose token counts are tokenizer estimates",
    labelNames: ["provider", "model"],
    registers: [this.registry],
  });

  private readonly latency = new Histogram({
    name: "llmp_request_duration_seconds",
    help: "Time from admission to the end of the provider's answer",
    labelNames: ["provider", "model", "streamed"],
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  private readonly firstToken = new Histogram({
    name: "llmp_time_to_first_token_seconds",
    help: "Time from admission to the first output from the provider",
    labelNames: ["provider", "model"],
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  private readonly shortfall = new Counter({
    name: "llmp_credit_shortfall_nanodollars_total",
    help: "Cost a prepaid balance could not cover because the request cost more than its hold and the free credit",
    registers: [this.registry],
  });

  private readonly spooled = new Counter({
    name: "llmp_accounting_spooled_total",
    help: "Accounting records written to the disk spool because the database did not take them",
    registers: [this.registry],
  });

  private readonly batchesRetried = new Counter({
    name: "llmp_accounting_batches_retried_total",
    help: "PostgreSQL admission or settlement batches that failed as a whole and were retried request by request",
    labelNames: ["kind"],
    registers: [this.registry],
  });

  private readonly retries = new Counter({
    name: "llmp_upstream_retries_total",
    help: "Provider attempts after a failed one, by the provider that failed and the reason (status or error class)",
    labelNames: ["provider", "reason"],
    registers: [this.registry],
  });

  private readonly circuitOpened = new Counter({
    name: "llmp_circuit_opened_total",
    help: "Times a provider's circuit opened and the provider was rested",
    labelNames: ["provider"],
    registers: [this.registry],
  });

  constructor(private readonly orm: MikroORM) {
    collectDefaultMetrics({ register: this.registry, prefix: "llmp_" });

    const pool = () => this.pool();
    new Gauge({
      name: "llmp_db_pool_connections",
      help: "Database pool connections by state (used, free, pending acquires, max); SQLite uses one connection",
      labelNames: ["state"],
      registers: [this.registry],
      collect() {
        const current = pool();
        if (!current) {
          return;
        }
        this.set({ state: "used" }, current.numUsed());
        this.set({ state: "free" }, current.numFree());
        this.set({ state: "pending" }, current.numPendingAcquires());
        this.set({ state: "max" }, current.max);
      },
    });
  }

  /** Counts one metered request. `providerName` labels the series, since ids would be meaningless to readers. */
  observeRequest(record: RequestRecord, providerName: string): void {
    const labels = { provider: providerName, model: record.model };
    const usage = record.usage;

    this.requests.inc({ ...labels, status: record.status });
    this.tokens.inc({ ...labels, kind: "prompt" }, usage.promptTokens);
    this.tokens.inc({ ...labels, kind: "completion" }, usage.completionTokens);
    this.tokens.inc({ ...labels, kind: "cache_read" }, usage.cacheReadTokens);
    this.tokens.inc({ ...labels, kind: "cache_write" }, usage.cacheWriteTokens);
    this.tokens.inc({ ...labels, kind: "reasoning" }, usage.reasoningTokens);
    // Counters hold doubles; a single request's cost is far below 2^53 nano-dollars, so nothing is rounded.
    this.cost.inc(labels, Number(record.cost));
    if (record.usageEstimated) {
      this.estimated.inc(labels);
    }

    this.latency.observe(
      { ...labels, streamed: String(record.streamed) },
      record.latencyMs / 1000,
    );
    if (record.ttftMs !== null) {
      this.firstToken.observe(labels, record.ttftMs / 1000);
    }
  }

  /** Counts a retry after `provider` failed for `reason`. */
  observeRetry(provider: string, reason: string): void {
    this.retries.inc({ provider, reason });
  }

  observeCircuitOpened(provider: string): void {
    this.circuitOpened.inc({ provider });
  }

  observeShortfall(amount: bigint): void {
    this.shortfall.inc(Number(amount));
  }

  observeSpooled(): void {
    this.spooled.inc();
  }

  observeBatchRetried(kind: "admission" | "settlement"): void {
    this.batchesRetried.inc({ kind });
  }

  async render(): Promise<string> {
    return this.registry.metrics();
  }

  private pool(): KnexPool | undefined {
    const client = (this.orm.em as EntityManager).getConnection().getKnex()
      .client as { pool?: KnexPool };
    return client.pool;
  }
}
