/** Calls to the admin API. The browser sends the `llmp_session` cookie, which is SameSite=Strict. */

export type Role = "viewer" | "operator" | "admin";

export interface Me {
  id: number;
  username: string;
  role: Role;
  sessionId: string;
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
  cost: string;
}

export interface UsagePoint extends UsageTotals {
  day: string;
  clientId?: number;
  clientName?: string;
  providerId?: number;
  providerName?: string;
  model?: string;
}

export interface ErrorRates {
  from: string;
  to: string;
  total: number;
  items: {
    status: string;
    errorClass: string | null;
    upstreamStatus: number | null;
    requests: number;
    share: number;
  }[];
}

export interface TopEntry {
  key: string;
  clientId: number | null;
  requests: number;
  promptTokens: number;
  completionTokens: number;
  cost: string;
}

export interface Runway {
  windowDays: number;
  items: {
    providerId: number;
    providerName: string;
    creditBalance: string;
    available: string;
    spent: string;
    dailySpend: string;
    daysLeft: string | null;
  }[];
}

export interface Client {
  id: number;
  name: string;
  status: "active" | "disabled";
  allowedModels: string[] | null;
  totals: {
    requests: number;
    promptTokens: number;
    completionTokens: number;
    cachedTokens: number;
    reasoningTokens: number;
    cost: string;
  };
  createdAt: string;
  updatedAt: string;
  /** Per-client limits; absent from servers without them, null for no limit. */
  requestsPerMinute?: number | null;
  tokensPerMinute?: number | null;
  maxConcurrentRequests?: number | null;
  dailyBudget?: string | null;
  monthlyBudget?: string | null;
  limitUsage?: {
    concurrentRequests: number;
    budgetDay: string | null;
    daySpent: string;
    dayHeld: string;
    budgetMonth: string | null;
    monthSpent: string;
    monthHeld: string;
  };
}

export interface ClientToken {
  id: number;
  clientId: number;
  name: string;
  displayPrefix: string;
  state: "active" | "expired" | "revoked";
  expiresAt: string | null;
  revokedAt: string | null;
  lastUsedAt: string | null;
  createdAt: string;
}

export interface IssuedToken {
  id: number;
  token: string;
  displayPrefix: string;
  expiresAt: string | null;
}

export interface Provider {
  id: number;
  name: string;
  kind: string;
  baseUrl: string;
  billingMode: "prepaid" | "postpaid";
  keyLast4: string | null;
  creditBalance: string;
  creditReserved: string;
  supportsStreamOptions: boolean;
  enabled: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface Model {
  id: number;
  providerId: number;
  publicName: string;
  upstreamName: string;
  inputPrice: string;
  outputPrice: string;
  cacheReadPrice: string;
  cacheWritePrice: string;
  cacheWrite1hPrice: string;
  reasoningPrice: string | null;
  contextWindow: number | null;
  maxOutputTokens: number | null;
  enabled: boolean;
}

export interface LedgerEntry {
  id: number;
  providerId: number;
  kind: "topup" | "debit" | "adjustment";
  amount: string;
  balanceAfter: string;
  requestId: string | null;
  actor: string | null;
  note: string | null;
  createdAt: string;
}

export interface RequestEntry {
  id: number;
  requestId: string;
  clientId: number;
  tokenId: number | null;
  providerId: number;
  model: string;
  endpoint: string;
  status: "completed" | "incomplete" | "failed";
  errorClass: string | null;
  upstreamStatus: number | null;
  streamed: boolean;
  promptTokens: number;
  completionTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  reasoningTokens: number;
  usageEstimated: boolean;
  cost: string;
  latencyMs: number;
  ttftMs: number | null;
  createdAt: string;
}

export interface JobRun {
  id: number;
  job: string;
  startedAt: string;
  finishedAt: string | null;
  outcome: "running" | "succeeded" | "failed";
  rowsAffected: number;
  detail: Record<string, unknown> | null;
}

export interface JobStatus {
  job: string;
  enabled: boolean;
  cron: string;
  timeBudgetMs: number;
  nextRunAt: string | null;
  lease: {
    holder: string | null;
    expiresAt: string;
    lastTickAt: string | null;
  } | null;
  lastRun: JobRun | null;
}

export interface RunReport {
  status: "finished" | "skipped";
  job: string;
  runId: number | null;
  outcome: string | null;
  complete: boolean | null;
  rowsAffected: number | null;
  reason: string | null;
  detail: Record<string, unknown> | null;
}

export interface DatabaseHealth {
  dialect: "sqlite" | "postgresql";
  tables: {
    table: string;
    rows: number;
    rowsEstimated: boolean;
    bytes: number | null;
    lastAnalyzedAt: string | null;
  }[];
  indexes: {
    table: string;
    index: string;
    scans: number | null;
    tuplesRead: number | null;
    bytes: number | null;
  }[];
  indexUsageNote: string | null;
  lastAnalyzeJobAt: string | null;
  wal: { bytes: number | null; lsn: string | null; note: string | null };
  pool: {
    used: number;
    free: number;
    pendingAcquires: number;
    max: number;
  } | null;
  slowQueryMs: number;
  slowQueries: { at: string; durationMs: number; sql: string }[];
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface List<T> {
  items: T[];
}

/** An error response of the admin API, `{"error": {"message", "type", "code"}}`, with its HTTP status. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string | null,
  ) {
    super(message);
  }
}

type Listener = () => void;
const unauthorizedListeners = new Set<Listener>();

/** Registers a callback for a 401 from any call, which means the session ended. */
export function onUnauthorized(listener: Listener): () => void {
  unauthorizedListeners.add(listener);
  return () => unauthorizedListeners.delete(listener);
}

/** Sends one request to the admin API and returns the parsed JSON body, or undefined for 204. */
export async function api<T>(
  method: "GET" | "POST" | "PATCH" | "PUT" | "DELETE",
  path: string,
  body?: unknown,
): Promise<T> {
  const response = await fetch(path, {
    method,
    credentials: "same-origin",
    headers:
      body === undefined
        ? { accept: "application/json" }
        : { accept: "application/json", "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

  if (response.status === 204) {
    return undefined as T;
  }
  const text = await response.text();
  const parsed = parseJson(text);
  if (!response.ok) {
    const error = (parsed as { error?: { message?: string; code?: string } })
      ?.error;
    if (response.status === 401 && !path.startsWith("/api/auth/")) {
      unauthorizedListeners.forEach((listener) => listener());
    }
    throw new ApiError(
      error?.message ?? `The server returned ${response.status}`,
      response.status,
      error?.code ?? null,
    );
  }
  return parsed as T;
}

function parseJson(text: string): unknown {
  try {
    return text === "" ? null : JSON.parse(text);
  } catch {
    return null;
  }
}

/** Builds a query string from the defined, non-empty values. */
export function query(
  values: Record<string, string | number | undefined | null>,
): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(values)) {
    if (value !== undefined && value !== null && value !== "") {
      params.set(key, String(value));
    }
  }
  const text = params.toString();
  return text === "" ? "" : `?${text}`;
}
