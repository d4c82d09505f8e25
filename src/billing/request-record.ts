import { RequestStatus } from "./entities/llm-request.entity";
import { Nanos } from "./money";
import { TokenUsage } from "./usage";

/**
 * Everything the accounting transaction writes for one request that reached a provider. It is plain JSON apart
 * from the bigint cost, so it can be spooled to disk and replayed unchanged.
 */
export interface RequestRecord {
  requestId: string;
  clientId: number;
  tokenId: number | null;
  providerId: number;
  modelConfigId: number;
  /** Public model name the client sent. */
  model: string;
  endpoint: string;
  status: RequestStatus;
  errorClass: string | null;
  upstreamStatus: number | null;
  streamed: boolean;
  usage: TokenUsage;
  usageEstimated: boolean;
  /** Priced when the request finished, so a replay charges the same amount. */
  cost: Nanos;
  /** Whether the provider was prepaid at admission; only then is the balance debited. */
  prepaid: boolean;
  latencyMs: number;
  ttftMs: number | null;
  createdAt: Date;
}

/** Outcome of writing a record. `duplicate` means an earlier write of the same request id already committed. */
export type SettleOutcome = "recorded" | "duplicate" | "spooled";

export function serializeRecord(record: RequestRecord): string {
  return JSON.stringify({
    ...record,
    cost: record.cost.toString(),
    createdAt: record.createdAt.toISOString(),
  });
}

export function deserializeRecord(text: string): RequestRecord {
  const raw = JSON.parse(text) as Omit<RequestRecord, "cost" | "createdAt"> & {
    cost: string;
    createdAt: string;
  };

  return { ...raw, cost: BigInt(raw.cost), createdAt: new Date(raw.createdAt) };
}
