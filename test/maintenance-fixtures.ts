import { AccountingStore } from "../src/billing/accounting.store";
import { RequestStatus } from "../src/billing/entities/llm-request.entity";
import { NO_USAGE, TokenUsage } from "../src/billing/usage";
import { AppConfig } from "../src/config/config.schema";
import { loadConfig } from "../src/config/load-config";
import { JobName } from "../src/maintenance/job";
import { BillingMode } from "../src/providers/entities/provider.entity";
import { JobRunner, RunReport } from "../src/maintenance/job-runner.service";
import { ProxyHarness } from "./support/proxy-harness";

/** Helpers shared by the maintenance suites: job settings, seeded request records and run details. */

export const DAY_MS = 86_400_000;

type JobSettings = AppConfig["maintenance"]["jobs"];

/** Returns every job's settings with its schedule off and the given changes applied, so no tick fires unasked. */
export function jobSettings(
  changes: { [Name in JobName]?: Partial<JobSettings[Name]> } = {},
): JobSettings {
  const defaults = loadConfig({}).maintenance.jobs;
  return {
    retention: { ...defaults.retention, enabled: false, ...changes.retention },
    analyze: { ...defaults.analyze, enabled: false, ...changes.analyze },
    reconcile: { ...defaults.reconcile, enabled: false, ...changes.reconcile },
  };
}

/** What a seeded request reaches the accounting transaction with. */
export interface SeedRequest {
  requestId: string;
  createdAt: Date;
  cost: bigint;
  usage?: Partial<TokenUsage>;
  status?: RequestStatus;
  estimated?: boolean;
}

/** Ids a seeded request belongs to. */
export interface SeedTarget {
  providerId: number;
  modelConfigId: number;
  clientId: number;
  tokenId: number;
  prepaid: boolean;
}

/**
 * Meters one request through the real accounting store: admission (holding twice the cost on a prepaid provider)
 * at `createdAt`, then settlement, as the proxy does for a request that started then.
 */
export async function meter(
  proxy: ProxyHarness,
  target: SeedTarget,
  request: SeedRequest,
): Promise<void> {
  const store = proxy.app.get(AccountingStore);
  const admitted = await store.admit({
    requestId: request.requestId,
    providerId: target.providerId,
    clientId: target.clientId,
    amount: target.prepaid ? request.cost * 2n : 0n,
    prepaid: target.prepaid,
    worstCase: request.cost * 2n,
    worstCaseTokens: 1000,
    countsRequest: true,
    expiresAt: new Date(request.createdAt.getTime() + 15 * 60_000),
    now: request.createdAt,
  });
  if (admitted.outcome !== "admitted") {
    throw new Error(
      `seeding ${request.requestId} was not admitted: ${admitted.outcome}`,
    );
  }

  await store.settle({
    requestId: request.requestId,
    clientId: target.clientId,
    tokenId: target.tokenId,
    providerId: target.providerId,
    modelConfigId: target.modelConfigId,
    model: "gpt-4o-mini",
    endpoint: "chat.completions",
    status: request.status ?? RequestStatus.Completed,
    errorClass: null,
    upstreamStatus: 200,
    streamed: false,
    usage: {
      ...NO_USAGE,
      promptTokens: 100,
      completionTokens: 20,
      ...request.usage,
    },
    usageEstimated: request.estimated ?? false,
    cost: request.cost,
    prepaid: target.prepaid,
    latencyMs: 50,
    ttftMs: 20,
    createdAt: request.createdAt,
  });
}

/** Creates a prepaid provider with 10 USD and a client, ready for {@link meter}. */
export async function seedTarget(proxy: ProxyHarness): Promise<SeedTarget> {
  const { providerId, modelConfigId } = await proxy.seedProvider({
    baseUrl: "http://127.0.0.1:9/v1",
    billing: BillingMode.Prepaid,
    balance: "10.00",
  });
  const { clientId, tokenId } = await proxy.seedClient();
  return { providerId, modelConfigId, clientId, tokenId, prepaid: true };
}

/** Runs a job by hand and returns its finished report; fails the test when the lease was not free. */
export async function runJob(
  proxy: ProxyHarness,
  name: JobName,
  options: { timeBudgetMs?: number } = {},
): Promise<Extract<RunReport, { status: "finished" }>> {
  const report = await proxy.app
    .get(JobRunner)
    .run(name, { tick: null, timeBudgetMs: options.timeBudgetMs });
  if (report.status !== "finished") {
    throw new Error(`job ${name} did not run: ${report.reason}`);
  }
  return report;
}

/** Drift entries of a reconcile run's detail. */
export interface DriftEntry {
  check: string;
  key: Record<string, string | number>;
  fields: { field: string; stored: string; expected: string }[];
}

/** Repairs of a reconcile run's detail. */
export interface RepairEntry {
  check: string;
  key: Record<string, string | number>;
  before: Record<string, string>;
  after: Record<string, string>;
}

export function driftOf(report: {
  detail: Record<string, unknown>;
}): DriftEntry[] {
  return report.detail.drift as DriftEntry[];
}

export function repairsOf(report: {
  detail: Record<string, unknown>;
}): RepairEntry[] {
  return report.detail.repairs as RepairEntry[];
}

/** Reads one row of a query on the harness's own connection. */
export async function one<T>(
  proxy: ProxyHarness,
  sql: string,
  params: unknown[] = [],
): Promise<T> {
  const rows = await proxy.query<T>(sql, params);
  return rows[0];
}

/** Timestamp parameter for the harness's own connection: epoch milliseconds on SQLite, a Date on PostgreSQL. */
export function timeParam(proxy: ProxyHarness, value: Date): Date | number {
  return proxy.databaseUrl ? value : value.getTime();
}
