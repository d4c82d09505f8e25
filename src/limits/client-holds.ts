import { SqlParam, SqlTransaction } from "../database/write-transaction";
import { ClientLimitState, LimitDemand } from "./limit-state";
import { LimitPeriods } from "./periods";

/**
 * What a reservation holds against its client, as stored on the reservation row. Settlement, void and the sweeper
 * release exactly this, once, because they release it only when they move the reservation out of `pending`.
 */
export interface ClientHold {
  clientId: number;
  /** Null on reservations made before client limits existed; those hold nothing against their client. */
  budgetDay: string | null;
  budgetMonth: string | null;
  /** Nano-dollars held against the day and month budgets. */
  budgetHeld: bigint;
  rateWindow: number | null;
  tokensHeld: number;
}

/** Columns of `clients` read back as text, so bigints arrive exactly on both dialects. */
const STATE_COLUMNS = `cast(requests_per_minute as text) as requests_per_minute,
  cast(tokens_per_minute as text) as tokens_per_minute,
  cast(max_concurrent_requests as text) as max_concurrent_requests,
  cast(daily_budget as text) as daily_budget, cast(monthly_budget as text) as monthly_budget,
  cast(concurrent_requests as text) as concurrent_requests, cast(rate_window as text) as rate_window,
  cast(rate_window_requests as text) as rate_window_requests,
  cast(rate_window_tokens as text) as rate_window_tokens,
  budget_day, cast(budget_day_spent as text) as budget_day_spent,
  cast(budget_day_held as text) as budget_day_held,
  budget_month, cast(budget_month_spent as text) as budget_month_spent,
  cast(budget_month_held as text) as budget_month_held`;

type StateRow = Record<string, string | number | null>;

/**
 * Takes a client's holds for one admission in a single conditional update: one concurrent request, one request
 * and the worst-case tokens in the current one-minute window, and the worst-case cost on the current day and
 * month. The update changes nothing and returns null when any limit would be exceeded. Counters of an earlier
 * period start again from zero. A counter of a later period (another replica's clock runs ahead) is kept and
 * counted as current, so replicas whose clocks differ slightly never reset each other's counts.
 */
export async function takeClientHolds(
  tx: SqlTransaction,
  clientId: number,
  demand: LimitDemand,
  periods: LimitPeriods,
): Promise<ClientLimitState | null> {
  const window = "case when rate_window >= ? then";
  const day = "case when budget_day >= ? then";
  const month = "case when budget_month >= ? then";
  const countsRequest = demand.countsRequest ? 1 : 0;
  const cost = demand.worstCase;
  const tokens = demand.worstCaseTokens;

  const sql = `update clients set
      concurrent_requests = concurrent_requests + 1,
      rate_window_requests = (${window} rate_window_requests else 0 end) + ${countsRequest},
      rate_window_tokens = (${window} rate_window_tokens else 0 end) + cast(? as bigint),
      rate_window = ${window} rate_window else cast(? as bigint) end,
      budget_day_spent = ${day} budget_day_spent else 0 end,
      budget_day_held = (${day} budget_day_held else 0 end) + cast(? as bigint),
      budget_day = ${day} budget_day else ? end,
      budget_month_spent = ${month} budget_month_spent else 0 end,
      budget_month_held = (${month} budget_month_held else 0 end) + cast(? as bigint),
      budget_month = ${month} budget_month else ? end
    where id = ?
      and (max_concurrent_requests is null or concurrent_requests < max_concurrent_requests)
      ${demand.countsRequest ? `and (requests_per_minute is null or (${window} rate_window_requests else 0 end) < requests_per_minute)` : ""}
      and (tokens_per_minute is null or (${window} rate_window_tokens else 0 end) + cast(? as bigint) <= tokens_per_minute)
      and (daily_budget is null
        or (${day} budget_day_spent + budget_day_held else 0 end) + cast(? as bigint) <= daily_budget)
      and (monthly_budget is null
        or (${month} budget_month_spent + budget_month_held else 0 end) + cast(? as bigint) <= monthly_budget)
    returning ${STATE_COLUMNS}`;
  const params: SqlParam[] = [
    periods.rateWindow,
    periods.rateWindow,
    tokens,
    periods.rateWindow,
    periods.rateWindow,
    periods.day,
    periods.day,
    cost,
    periods.day,
    periods.day,
    periods.month,
    periods.month,
    cost,
    periods.month,
    periods.month,
    clientId,
    ...(demand.countsRequest ? [periods.rateWindow] : []),
    periods.rateWindow,
    tokens,
    periods.day,
    cost,
    periods.month,
    cost,
  ];

  const rows = await tx.all<StateRow>(sql, params);
  return rows.length > 0 ? toState(rows[0]) : null;
}

/** Reads a client's limits and counters; null when the client does not exist. */
export async function readClientLimitState(
  tx: SqlTransaction,
  clientId: number,
): Promise<ClientLimitState | null> {
  const rows = await tx.all<StateRow>(
    `select ${STATE_COLUMNS} from clients where id = ?`,
    [clientId],
  );
  return rows.length > 0 ? toState(rows[0]) : null;
}

/**
 * Releases what a reservation held against its client: the concurrent request, the worst-case tokens (replaced
 * by `actualTokens` when the request reached its provider) and the budget holds. A hold of a window, day or month
 * that has since ended is already gone from the counters, so only the concurrent request is released then.
 * Counters never go below zero, so a repaired counter cannot make a settlement fail.
 */
export async function releaseClientHolds(
  tx: SqlTransaction,
  hold: ClientHold,
  actualTokens: number,
): Promise<void> {
  if (hold.budgetDay === null) {
    return;
  }

  const released = (column: string) =>
    `case when ${column} > cast(? as bigint) then ${column} - cast(? as bigint) else 0 end`;
  await tx.run(
    `update clients set
       concurrent_requests = case when concurrent_requests > 0 then concurrent_requests - 1 else 0 end,
       rate_window_tokens = case when rate_window = ?
         then (case when rate_window_tokens + cast(? as bigint) > cast(? as bigint)
           then rate_window_tokens + cast(? as bigint) - cast(? as bigint) else 0 end)
         else rate_window_tokens end,
       budget_day_held = case when budget_day = ? then ${released("budget_day_held")} else budget_day_held end,
       budget_month_held = case when budget_month = ? then ${released("budget_month_held")} else budget_month_held end
     where id = ?`,
    [
      hold.rateWindow,
      actualTokens,
      hold.tokensHeld,
      actualTokens,
      hold.tokensHeld,
      hold.budgetDay,
      hold.budgetHeld,
      hold.budgetHeld,
      hold.budgetMonth,
      hold.budgetHeld,
      hold.budgetHeld,
      hold.clientId,
    ],
  );
}

/**
 * The assignments of an `update clients` that add a settled cost to the client's day and month spend, by the
 * period the request was created in, with their parameters. A request of a later period than the stored one starts
 * that period (its holds start at zero: no request was admitted in it yet, or the counters would be in it already).
 * A request of an earlier period is not counted: that period's budget no longer admits anything. Settlement joins
 * them to the update of the client's totals, so the row is written once.
 */
export function clientSpendAssignments(
  cost: bigint,
  periods: Pick<LimitPeriods, "day" | "month">,
): { sql: string; params: SqlParam[] } {
  const assignments = (column: string) => {
    const starts = `${column} is null or ${column} < ?`;
    return `${column}_spent = case when ${starts} then cast(? as bigint)
         when ${column} = ? then ${column}_spent + cast(? as bigint) else ${column}_spent end,
       ${column}_held = case when ${starts} then 0 else ${column}_held end,
       ${column} = case when ${starts} then ? else ${column} end`;
  };
  const params = (key: string) => [key, cost, key, cost, key, key, key];

  return {
    sql: `${assignments("budget_day")}, ${assignments("budget_month")}`,
    params: [...params(periods.day), ...params(periods.month)],
  };
}

function toState(row: StateRow): ClientLimitState {
  const count = (name: string) => Number(row[name] ?? 0);
  const optionalCount = (name: string) =>
    row[name] === null ? null : Number(row[name]);
  const money = (name: string) => BigInt(row[name] ?? 0);
  const optionalMoney = (name: string) =>
    row[name] === null ? null : BigInt(row[name]);

  return {
    requestsPerMinute: optionalCount("requests_per_minute"),
    tokensPerMinute: optionalCount("tokens_per_minute"),
    maxConcurrentRequests: optionalCount("max_concurrent_requests"),
    dailyBudget: optionalMoney("daily_budget"),
    monthlyBudget: optionalMoney("monthly_budget"),
    concurrentRequests: count("concurrent_requests"),
    rateWindow: count("rate_window"),
    rateWindowRequests: count("rate_window_requests"),
    rateWindowTokens: count("rate_window_tokens"),
    budgetDay: row.budget_day === null ? null : String(row.budget_day),
    budgetDaySpent: money("budget_day_spent"),
    budgetDayHeld: money("budget_day_held"),
    budgetMonth: row.budget_month === null ? null : String(row.budget_month),
    budgetMonthSpent: money("budget_month_spent"),
    budgetMonthHeld: money("budget_month_held"),
  };
}
