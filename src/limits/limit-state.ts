import type {
  ClientLimitName,
  RateLimitSnapshot,
} from "../billing/accounting.service";
import {
  addDays,
  LimitPeriods,
  nextMonth,
  RATE_WINDOW_MS,
  secondsUntil,
  startOfDay,
  startOfMonth,
} from "./periods";

/** A client's limits and counters as stored on its row; see the `Client` entity for each field. */
export interface ClientLimitState {
  requestsPerMinute: number | null;
  tokensPerMinute: number | null;
  maxConcurrentRequests: number | null;
  dailyBudget: bigint | null;
  monthlyBudget: bigint | null;
  concurrentRequests: number;
  rateWindow: number;
  rateWindowRequests: number;
  rateWindowTokens: number;
  budgetDay: string | null;
  budgetDaySpent: bigint;
  budgetDayHeld: bigint;
  budgetMonth: string | null;
  budgetMonthSpent: bigint;
  budgetMonthHeld: bigint;
}

/** What one admission requests from its client's limits. */
export interface LimitDemand {
  /** Worst-case cost in nano-dollars, held against both budgets. */
  worstCase: bigint;
  /** Worst-case tokens, held against tokens per minute. */
  worstCaseTokens: number;
  /** Whether the request counts against requests per minute. */
  countsRequest: boolean;
}

/** A limit that rejects an admission and the whole seconds until it could admit it. */
export interface ExceededLimit {
  limit: ClientLimitName;
  retryAfterSeconds: number;
}

/**
 * Seconds to wait when in-flight requests are what fills a limit (concurrency, or a budget whose holds are the
 * shortfall). Any of them may finish at any moment, so no better estimate exists.
 */
const IN_FLIGHT_RETRY_SECONDS = 1;

/**
 * Finds the limits that `demand` would exceed, as the admission update checks them. A counter stored for a later
 * period than `periods` (another replica's clock runs ahead) counts as the current one, as the update treats it.
 */
export function exceededLimits(
  state: ClientLimitState,
  demand: LimitDemand,
  periods: LimitPeriods,
  now: Date,
  timeZone: string,
): ExceededLimit[] {
  const exceeded: ExceededLimit[] = [];
  const windowCurrent = state.rateWindow >= periods.rateWindow;
  const window = windowCurrent ? state.rateWindow : periods.rateWindow;
  const windowEnd = new Date((window + 1) * RATE_WINDOW_MS);

  if (
    state.maxConcurrentRequests !== null &&
    state.concurrentRequests >= state.maxConcurrentRequests
  ) {
    exceeded.push({
      limit: "concurrent_requests",
      retryAfterSeconds: IN_FLIGHT_RETRY_SECONDS,
    });
  }

  const requests = windowCurrent ? state.rateWindowRequests : 0;
  if (
    demand.countsRequest &&
    state.requestsPerMinute !== null &&
    requests >= state.requestsPerMinute
  ) {
    exceeded.push({
      limit: "requests_per_minute",
      retryAfterSeconds: secondsUntil(now, windowEnd),
    });
  }

  const tokens = windowCurrent ? state.rateWindowTokens : 0;
  if (
    state.tokensPerMinute !== null &&
    tokens + demand.worstCaseTokens > state.tokensPerMinute
  ) {
    exceeded.push({
      limit: "tokens_per_minute",
      retryAfterSeconds: secondsUntil(now, windowEnd),
    });
  }

  const day = laterKey(state.budgetDay, periods.day);
  const dayCurrent = day === state.budgetDay;
  const daily = budgetCheck(
    state.dailyBudget,
    dayCurrent ? state.budgetDaySpent : 0n,
    dayCurrent ? state.budgetDayHeld : 0n,
    demand.worstCase,
  );
  if (daily !== "fits") {
    exceeded.push({
      limit: "daily_budget",
      retryAfterSeconds:
        daily === "held"
          ? IN_FLIGHT_RETRY_SECONDS
          : secondsUntil(now, startOfDay(addDays(day, 1), timeZone)),
    });
  }

  const month = laterKey(state.budgetMonth, periods.month);
  const monthCurrent = month === state.budgetMonth;
  const monthly = budgetCheck(
    state.monthlyBudget,
    monthCurrent ? state.budgetMonthSpent : 0n,
    monthCurrent ? state.budgetMonthHeld : 0n,
    demand.worstCase,
  );
  if (monthly !== "fits") {
    exceeded.push({
      limit: "monthly_budget",
      retryAfterSeconds:
        monthly === "held"
          ? IN_FLIGHT_RETRY_SECONDS
          : secondsUntil(now, startOfMonth(nextMonth(month), timeZone)),
    });
  }

  return exceeded;
}

/** Picks the limit to report: the one that takes longest to clear, so a retry after it is not rejected again. */
export function reportedLimit(exceeded: ExceededLimit[]): ExceededLimit | null {
  let reported: ExceededLimit | null = null;
  for (const entry of exceeded) {
    if (!reported || entry.retryAfterSeconds > reported.retryAfterSeconds) {
      reported = entry;
    }
  }
  return reported;
}

/**
 * Builds the rate-limit snapshot of a client: the limit, what is left of it in the window `rateWindow`, and the
 * seconds until that window ends. Null when the client has neither rate limit.
 */
export function rateLimitSnapshot(
  state: Pick<
    ClientLimitState,
    | "requestsPerMinute"
    | "tokensPerMinute"
    | "rateWindow"
    | "rateWindowRequests"
    | "rateWindowTokens"
  >,
  now: Date,
): RateLimitSnapshot | null {
  if (state.requestsPerMinute === null && state.tokensPerMinute === null) {
    return null;
  }

  const current =
    state.rateWindow >= Math.floor(now.getTime() / RATE_WINDOW_MS);
  const window = current
    ? state.rateWindow
    : Math.floor(now.getTime() / RATE_WINDOW_MS);
  const resetSeconds = secondsUntil(
    now,
    new Date((window + 1) * RATE_WINDOW_MS),
  );
  const snapshot: RateLimitSnapshot = {};
  if (state.requestsPerMinute !== null) {
    const used = current ? state.rateWindowRequests : 0;
    snapshot.requests = {
      limit: state.requestsPerMinute,
      remaining: Math.max(0, state.requestsPerMinute - used),
      resetSeconds,
    };
  }
  if (state.tokensPerMinute !== null) {
    const used = current ? state.rateWindowTokens : 0;
    snapshot.tokens = {
      limit: state.tokensPerMinute,
      remaining: Math.max(0, state.tokensPerMinute - used),
      resetSeconds,
    };
  }
  return snapshot;
}

/** Classifies a budget against `demand`: it fits, it is short only because of holds, or it is spent. */
function budgetCheck(
  budget: bigint | null,
  spent: bigint,
  held: bigint,
  demand: bigint,
): "fits" | "held" | "spent" {
  if (budget === null || spent + held + demand <= budget) {
    return "fits";
  }
  return spent + demand <= budget ? "held" : "spent";
}

/** Returns the later of a stored period key and the current one; keys sort as text. */
function laterKey(stored: string | null, current: string): string {
  return stored !== null && stored >= current ? stored : current;
}
