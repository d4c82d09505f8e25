import {
  Check,
  Entity,
  Enum,
  Opt,
  PrimaryKey,
  Property,
} from "@mikro-orm/core";

import { MoneyType } from "../../database/money.type";

export enum ClientStatus {
  Active = "active",
  Disabled = "disabled",
}

/**
 * An application that calls the proxy. The running totals are a cache of its request rows, kept in the accounting
 * transaction and checked by reconciliation.
 */
@Entity({ tableName: "clients" })
@Check({
  name: "clients_totals_check",
  expression:
    "total_requests >= 0 and total_prompt_tokens >= 0 and total_completion_tokens >= 0 and total_cached_tokens >= 0 and total_reasoning_tokens >= 0 and total_cost >= 0",
})
@Check({
  name: "clients_limits_check",
  expression:
    "(requests_per_minute is null or requests_per_minute >= 0) and (tokens_per_minute is null or tokens_per_minute >= 0) and (max_concurrent_requests is null or max_concurrent_requests >= 0) and (daily_budget is null or daily_budget >= 0) and (monthly_budget is null or monthly_budget >= 0)",
})
@Check({
  name: "clients_limit_counters_check",
  expression:
    "concurrent_requests >= 0 and rate_window >= 0 and rate_window_requests >= 0 and rate_window_tokens >= 0 and budget_day_spent >= 0 and budget_day_held >= 0 and budget_month_spent >= 0 and budget_month_held >= 0",
})
export class Client {
  @PrimaryKey({ type: "integer", autoincrement: true })
  id!: number;

  @Property({ type: "string", length: 200, unique: true })
  name!: string;

  @Enum({ items: () => ClientStatus, default: ClientStatus.Active })
  status: ClientStatus & Opt = ClientStatus.Active;

  /** Public model names this client may call; null allows every configured model. */
  @Property({ type: "json", nullable: true })
  allowedModels: string[] | null = null;

  @Property({ type: "bigint", default: 0 })
  totalRequests: number & Opt = 0;

  @Property({ type: "bigint", default: 0 })
  totalPromptTokens: number & Opt = 0;

  @Property({ type: "bigint", default: 0 })
  totalCompletionTokens: number & Opt = 0;

  @Property({ type: "bigint", default: 0 })
  totalCachedTokens: number & Opt = 0;

  @Property({ type: "bigint", default: 0 })
  totalReasoningTokens: number & Opt = 0;

  /** Nano-dollars. */
  @Property({ type: MoneyType, default: 0 })
  totalCost: bigint & Opt = 0n;

  /** Requests admitted per fixed one-minute window; null is unlimited. */
  @Property({ type: "integer", nullable: true })
  requestsPerMinute: number | null = null;

  /** Tokens per fixed one-minute window, counted as worst case until settlement; null is unlimited. */
  @Property({ type: "integer", nullable: true })
  tokensPerMinute: number | null = null;

  /** Requests admitted and not yet settled or voided at one time; null is unlimited. */
  @Property({ type: "integer", nullable: true })
  maxConcurrentRequests: number | null = null;

  /** Nano-dollars per calendar day in `limits.timeZone`; null is unlimited. */
  @Property({ type: MoneyType, nullable: true })
  dailyBudget: bigint | null = null;

  /** Nano-dollars per calendar month in `limits.timeZone`; null is unlimited. */
  @Property({ type: MoneyType, nullable: true })
  monthlyBudget: bigint | null = null;

  // The counters below are written only by the accounting transaction, with conditional updates.

  /** Pending reservations of this client: requests admitted and not yet settled or voided. */
  @Property({ type: "integer", default: 0 })
  concurrentRequests: number & Opt = 0;

  /** The one-minute window the two counts after it belong to, in whole minutes since the Unix epoch. */
  @Property({ type: "bigint", default: 0 })
  rateWindow: number & Opt = 0;

  @Property({ type: "integer", default: 0 })
  rateWindowRequests: number & Opt = 0;

  /** Worst-case tokens of pending requests plus actual tokens of settled ones, admitted in `rateWindow`. */
  @Property({ type: "bigint", default: 0 })
  rateWindowTokens: number & Opt = 0;

  /** The calendar day (`YYYY-MM-DD`, `limits.timeZone`) the two day counters belong to; null before the first request. */
  @Property({ type: "string", length: 10, nullable: true })
  budgetDay: string | null = null;

  /** Nano-dollars settled for requests created on `budgetDay`. */
  @Property({ type: MoneyType, default: 0 })
  budgetDaySpent: bigint & Opt = 0n;

  /** Nano-dollars of worst case held by pending requests admitted on `budgetDay`. */
  @Property({ type: MoneyType, default: 0 })
  budgetDayHeld: bigint & Opt = 0n;

  /** The calendar month (`YYYY-MM`, `limits.timeZone`) the two month counters belong to. */
  @Property({ type: "string", length: 7, nullable: true })
  budgetMonth: string | null = null;

  /** Nano-dollars settled for requests created in `budgetMonth`. */
  @Property({ type: MoneyType, default: 0 })
  budgetMonthSpent: bigint & Opt = 0n;

  /** Nano-dollars of worst case held by pending requests admitted in `budgetMonth`. */
  @Property({ type: MoneyType, default: 0 })
  budgetMonthHeld: bigint & Opt = 0n;

  @Property({ type: "datetime" })
  createdAt: Date & Opt = new Date();

  @Property({ type: "datetime", onUpdate: () => new Date() })
  updatedAt: Date & Opt = new Date();
}
