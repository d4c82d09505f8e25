import { Injectable } from "@nestjs/common";

import {
  SqlParam,
  WriteTransactionRunner,
} from "../database/write-transaction";
import { Nanos } from "./money";

/** Dimensions a usage report can be broken down by, besides the day. */
export const USAGE_DIMENSIONS = ["client", "provider", "model"] as const;
export type UsageDimension = (typeof USAGE_DIMENSIONS)[number];

export interface UsageFilter {
  clientId?: number;
  providerId?: number;
  model?: string;
}

export interface UsageTotals {
  requests: number;
  failedRequests: number;
  estimatedRequests: number;
  promptTokens: number;
  completionTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  reasoningTokens: number;
  cost: Nanos;
}

/** One point of the daily series: a day, the dimensions it was broken down by, and the totals. */
export interface UsagePoint extends UsageTotals {
  day: string;
  clientId?: number;
  clientName?: string;
  providerId?: number;
  providerName?: string;
  model?: string;
}

export interface ErrorRateRow {
  status: string;
  errorClass: string | null;
  upstreamStatus: number | null;
  requests: number;
}

export interface ErrorRateReport {
  from: Date;
  to: Date;
  total: number;
  rows: ErrorRateRow[];
}

const SUMS = `
  cast(sum(u.requests) as text) as requests, cast(sum(u.failed_requests) as text) as failed_requests,
  cast(sum(u.estimated_requests) as text) as estimated_requests, cast(sum(u.prompt_tokens) as text) as prompt_tokens,
  cast(sum(u.completion_tokens) as text) as completion_tokens, cast(sum(u.cache_read_tokens) as text) as cache_read_tokens,
  cast(sum(u.cache_write_tokens) as text) as cache_write_tokens, cast(sum(u.reasoning_tokens) as text) as reasoning_tokens,
  cast(sum(u.cost) as text) as cost`;

/** Columns each dimension selects and groups by; names come along with ids so reports read without lookups. */
const DIMENSION_COLUMNS: Record<
  UsageDimension,
  { select: string[]; group: string[] }
> = {
  client: {
    select: ["u.client_id", "c.name as client_name"],
    group: ["u.client_id", "c.name"],
  },
  provider: {
    select: ["u.provider_id", "p.name as provider_name"],
    group: ["u.provider_id", "p.name"],
  },
  model: { select: ["u.model"], group: ["u.model"] },
};

type SumRow = Record<string, string | number | null>;

/**
 * Reads usage reports. Daily series and today's totals come from the `usage_daily` rollups, which outlive the
 * request rows that retention deletes. Error rates come from `llm_requests` within a bounded time range.
 */
@Injectable()
export class UsageReportService {
  constructor(private readonly db: WriteTransactionRunner) {}

  /** Totals per UTC day from `from` to `to` (both `YYYY-MM-DD`, inclusive), broken down by `groupBy`. */
  async daily(
    range: { from: string; to: string },
    filter: UsageFilter,
    groupBy: readonly UsageDimension[],
  ): Promise<UsagePoint[]> {
    const select = ["u.day"];
    const group = ["u.day"];
    for (const dimension of groupBy) {
      select.push(...DIMENSION_COLUMNS[dimension].select);
      group.push(...DIMENSION_COLUMNS[dimension].group);
    }
    const { where, params } = usageWhere(range, filter);

    const rows = await this.db.read<SumRow>(
      `select ${select.join(", ")}, ${SUMS}
       from usage_daily u join clients c on c.id = u.client_id join providers p on p.id = u.provider_id
       where ${where} group by ${group.join(", ")} order by ${group.join(", ")}`,
      params,
    );
    return rows.map((row) => ({
      day: String(row.day),
      ...dimensionValues(row, groupBy),
      ...totalsOf(row),
    }));
  }

  /** Totals of the current UTC day. */
  async today(filter: UsageFilter, now = new Date()): Promise<UsageTotals> {
    const day = now.toISOString().slice(0, 10);
    const { where, params } = usageWhere({ from: day, to: day }, filter);

    const [row] = await this.db.read<SumRow>(
      `select ${SUMS} from usage_daily u where ${where}`,
      params,
    );
    return totalsOf(row);
  }

  /** Requests by outcome between `from` (inclusive) and `to` (exclusive), from the request rows. */
  async errorRates(
    range: { from: Date; to: Date },
    filter: Omit<UsageFilter, "model">,
  ): Promise<ErrorRateReport> {
    const conditions = ["created_at >= ?", "created_at < ?"];
    const params: SqlParam[] = [
      this.db.time(range.from),
      this.db.time(range.to),
    ];
    if (filter.clientId !== undefined) {
      conditions.push("client_id = ?");
      params.push(filter.clientId);
    }
    if (filter.providerId !== undefined) {
      conditions.push("provider_id = ?");
      params.push(filter.providerId);
    }

    const rows = await this.db.read<SumRow>(
      `select status, error_class, upstream_status, count(*) as requests
       from llm_requests where ${conditions.join(" and ")}
       group by status, error_class, upstream_status
       order by count(*) desc, status, error_class`,
      params,
    );
    const mapped = rows.map((row) => ({
      status: String(row.status),
      errorClass: row.error_class === null ? null : String(row.error_class),
      upstreamStatus:
        row.upstream_status === null ? null : Number(row.upstream_status),
      requests: Number(row.requests),
    }));

    return {
      from: range.from,
      to: range.to,
      total: mapped.reduce((sum, row) => sum + row.requests, 0),
      rows: mapped,
    };
  }
}

function usageWhere(
  range: { from: string; to: string },
  filter: UsageFilter,
): { where: string; params: SqlParam[] } {
  const conditions = ["u.day >= ?", "u.day <= ?"];
  const params: SqlParam[] = [range.from, range.to];
  if (filter.clientId !== undefined) {
    conditions.push("u.client_id = ?");
    params.push(filter.clientId);
  }
  if (filter.providerId !== undefined) {
    conditions.push("u.provider_id = ?");
    params.push(filter.providerId);
  }
  if (filter.model !== undefined) {
    conditions.push("u.model = ?");
    params.push(filter.model);
  }
  return { where: conditions.join(" and "), params };
}

function dimensionValues(
  row: SumRow,
  groupBy: readonly UsageDimension[],
): Partial<UsagePoint> {
  const values: Partial<UsagePoint> = {};
  if (groupBy.includes("client")) {
    values.clientId = Number(row.client_id);
    values.clientName = String(row.client_name);
  }
  if (groupBy.includes("provider")) {
    values.providerId = Number(row.provider_id);
    values.providerName = String(row.provider_name);
  }
  if (groupBy.includes("model")) {
    values.model = String(row.model);
  }
  return values;
}

function totalsOf(row: SumRow | undefined): UsageTotals {
  const count = (key: string) => Number(row?.[key] ?? 0);
  return {
    requests: count("requests"),
    failedRequests: count("failed_requests"),
    estimatedRequests: count("estimated_requests"),
    promptTokens: count("prompt_tokens"),
    completionTokens: count("completion_tokens"),
    cacheReadTokens: count("cache_read_tokens"),
    cacheWriteTokens: count("cache_write_tokens"),
    reasoningTokens: count("reasoning_tokens"),
    cost: BigInt(row?.cost ?? 0),
  };
}
