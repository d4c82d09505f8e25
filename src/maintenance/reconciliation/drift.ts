/** The consistency checks of reconciliation, as named in logs, run details and metrics. */
export type DriftCheck =
  | "rollups"
  | "client_totals"
  | "client_holds"
  | "client_spend"
  | "provider_reserved"
  | "provider_balance";

/** One field that differs: the stored value and the value its source adds up to, as integer strings. */
export interface FieldDrift {
  field: string;
  stored: string;
  expected: string;
}

/** A row whose stored values differ from the rows they summarise. */
export interface Drift {
  check: DriftCheck;
  /** Ids of the drifted row, e.g. `{ clientId: 3 }`. */
  key: Record<string, string | number>;
  fields: FieldDrift[];
}

/** A repair as applied under lock: the stored values before and after it. */
export interface Repair {
  check: DriftCheck;
  key: Record<string, string | number>;
  before: Record<string, string>;
  after: Record<string, string>;
}

/** A summary column (stored) and the column of the detail rows it adds up. */
export interface SummedField {
  stored: string;
  source: string;
}

/** Client totals and the usage_daily columns they are the sum of. */
export const CLIENT_TOTAL_FIELDS: SummedField[] = [
  { stored: "total_requests", source: "requests" },
  { stored: "total_prompt_tokens", source: "prompt_tokens" },
  { stored: "total_completion_tokens", source: "completion_tokens" },
  { stored: "total_cached_tokens", source: "cache_read_tokens" },
  { stored: "total_reasoning_tokens", source: "reasoning_tokens" },
  { stored: "total_cost", source: "cost" },
];

/**
 * usage_daily columns and the llm_requests expression each one adds up, as the accounting transaction counts
 * them. `?` in `failed_requests` is the completed status.
 */
export const ROLLUP_FIELDS: SummedField[] = [
  { stored: "requests", source: "1" },
  {
    stored: "failed_requests",
    source: "case when status <> ? then 1 else 0 end",
  },
  {
    stored: "estimated_requests",
    source: "case when usage_estimated then 1 else 0 end",
  },
  { stored: "prompt_tokens", source: "prompt_tokens" },
  { stored: "completion_tokens", source: "completion_tokens" },
  { stored: "cache_read_tokens", source: "cache_read_tokens" },
  { stored: "cache_write_tokens", source: "cache_write_tokens" },
  { stored: "reasoning_tokens", source: "reasoning_tokens" },
  { stored: "cost", source: "cost" },
];

/** Lists the fields whose stored and expected values differ. Values are read as integer text. */
export function differingFields(
  fields: SummedField[],
  stored: Record<string, string | number | null>,
  expected: Record<string, string | number | null>,
): FieldDrift[] {
  const drift: FieldDrift[] = [];
  for (const { stored: name } of fields) {
    const have = BigInt(stored[name] ?? 0);
    const want = BigInt(expected[name] ?? 0);
    if (have !== want) {
      drift.push({
        field: name,
        stored: have.toString(),
        expected: want.toString(),
      });
    }
  }
  return drift;
}
