import { Injectable } from "@nestjs/common";

import { decodeCursor, Page, toPage } from "../common/pagination";
import {
  readTime,
  SqlParam,
  WriteTransactionRunner,
} from "../database/write-transaction";
import { RequestStatus } from "./entities/llm-request.entity";
import { Nanos } from "./money";

export interface RequestLogFilter {
  clientId?: number;
  providerId?: number;
  model?: string;
  status?: RequestStatus;
  /** Inclusive lower bound of `createdAt`. */
  from?: Date;
  /** Exclusive upper bound of `createdAt`. */
  to?: Date;
  cursor?: string;
  limit: number;
}

export interface RequestLogEntry {
  id: number;
  requestId: string;
  clientId: number;
  tokenId: number | null;
  providerId: number;
  model: string;
  endpoint: string;
  status: RequestStatus;
  errorClass: string | null;
  upstreamStatus: number | null;
  streamed: boolean;
  promptTokens: number;
  completionTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  reasoningTokens: number;
  usageEstimated: boolean;
  cost: Nanos;
  latencyMs: number;
  ttftMs: number | null;
  createdAt: Date;
}

type RequestRow = Record<string, string | number | boolean | Date | null>;

/**
 * Reads the request rows, newest first, by keyset on (created_at, id) so that a page never skips or repeats a
 * row while new ones arrive. Filters use the (client, time), (provider, time) and (status, time) indexes.
 */
@Injectable()
export class RequestLogService {
  constructor(private readonly db: WriteTransactionRunner) {}

  async list(filter: RequestLogFilter): Promise<Page<RequestLogEntry>> {
    const conditions: string[] = [];
    const params: SqlParam[] = [];
    const add = (condition: string, ...values: SqlParam[]) => {
      conditions.push(condition);
      params.push(...values);
    };
    if (filter.clientId !== undefined) add("client_id = ?", filter.clientId);
    if (filter.providerId !== undefined)
      add("provider_id = ?", filter.providerId);
    if (filter.model !== undefined) add("model = ?", filter.model);
    if (filter.status !== undefined) add("status = ?", filter.status);
    if (filter.from) add("created_at >= ?", this.db.time(filter.from));
    if (filter.to) add("created_at < ?", this.db.time(filter.to));
    if (filter.cursor) {
      const position = decodeCursor(filter.cursor);
      const time = this.db.time(new Date(position.time ?? 0));
      add(
        "(created_at < ? or (created_at = ? and id < ?))",
        time,
        time,
        position.id,
      );
    }

    const rows = await this.db.read<RequestRow>(
      `select id, request_id, client_id, token_id, provider_id, model, endpoint, status, error_class, upstream_status,
         streamed, prompt_tokens, completion_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens,
         usage_estimated, cast(cost as text) as cost, latency_ms, ttft_ms, created_at
       from llm_requests ${conditions.length ? `where ${conditions.join(" and ")}` : ""}
       order by created_at desc, id desc limit ?`,
      [...params, filter.limit + 1],
    );
    return toPage(rows.map(toEntry), filter.limit, (entry) => ({
      time: entry.createdAt.getTime(),
      id: entry.id,
    }));
  }
}

const numberOrNull = (value: RequestRow[string]) =>
  value === null ? null : Number(value);

function toEntry(row: RequestRow): RequestLogEntry {
  return {
    id: Number(row.id),
    requestId: String(row.request_id),
    clientId: Number(row.client_id),
    tokenId: numberOrNull(row.token_id),
    providerId: Number(row.provider_id),
    model: String(row.model),
    endpoint: String(row.endpoint),
    status: row.status as RequestStatus,
    errorClass: row.error_class === null ? null : String(row.error_class),
    upstreamStatus: numberOrNull(row.upstream_status),
    streamed: Boolean(row.streamed),
    promptTokens: Number(row.prompt_tokens),
    completionTokens: Number(row.completion_tokens),
    cacheReadTokens: Number(row.cache_read_tokens),
    cacheWriteTokens: Number(row.cache_write_tokens),
    reasoningTokens: Number(row.reasoning_tokens),
    usageEstimated: Boolean(row.usage_estimated),
    cost: BigInt(String(row.cost)),
    latencyMs: Number(row.latency_ms),
    ttftMs: numberOrNull(row.ttft_ms),
    createdAt: readTime(row.created_at as number | string | Date),
  };
}
