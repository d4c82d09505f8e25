import { Injectable } from "@nestjs/common";

import {
  UsageDimension,
  UsageReportService,
} from "../billing/usage-report.service";
import { Nanos } from "../billing/money";
import { BillingMode, Provider } from "../providers/entities/provider.entity";
import { ProvidersService } from "../providers/providers.service";

const DAY_MS = 86_400_000;

/** One client or model with its totals over a range. */
export interface TopEntry {
  key: string;
  clientId: number | null;
  requests: number;
  promptTokens: number;
  completionTokens: number;
  cost: Nanos;
}

/** A prepaid provider's credit and how long it lasts at the recent rate of spend. */
export interface CreditRunway {
  provider: Provider;
  available: Nanos;
  spent: Nanos;
  dailySpend: Nanos;
  /** Days of credit left in tenths of a day, rounded down; null when nothing was spent in the window. */
  tenthsOfDaysLeft: bigint | null;
}

/**
 * Summaries the dashboard shows that no other admin route gives: the largest clients or models of a range, and
 * how many days each prepaid provider's credit lasts. Both read the daily rollups, and all money stays in bigint.
 */
@Injectable()
export class DashboardReportService {
  constructor(
    private readonly usage: UsageReportService,
    private readonly providers: ProvidersService,
  ) {}

  /** The `limit` clients or models with the highest cost between two UTC days (inclusive), then by requests. */
  async top(
    range: { from: string; to: string },
    by: Extract<UsageDimension, "client" | "model">,
    limit: number,
  ): Promise<TopEntry[]> {
    const points = await this.usage.daily(range, {}, [by]);
    const entries = new Map<string, TopEntry>();

    for (const point of points) {
      const key =
        by === "client" ? (point.clientName ?? "") : (point.model ?? "");
      const entry = entries.get(key) ?? {
        key,
        clientId: by === "client" ? (point.clientId ?? null) : null,
        requests: 0,
        promptTokens: 0,
        completionTokens: 0,
        cost: 0n,
      };
      entry.requests += point.requests;
      entry.promptTokens += point.promptTokens;
      entry.completionTokens += point.completionTokens;
      entry.cost += point.cost;
      entries.set(key, entry);
    }

    return [...entries.values()].sort(byCostThenRequests).slice(0, limit);
  }

  /**
   * Lists every prepaid provider's available credit (balance less credit reserved by requests in flight) and the
   * days it lasts at the average daily spend of the last `windowDays` UTC days, today included.
   */
  async creditRunway(
    windowDays: number,
    now = new Date(),
  ): Promise<CreditRunway[]> {
    const range = {
      from: new Date(now.getTime() - (windowDays - 1) * DAY_MS)
        .toISOString()
        .slice(0, 10),
      to: now.toISOString().slice(0, 10),
    };
    const spendByProvider = new Map<number, Nanos>();
    for (const point of await this.usage.daily(range, {}, ["provider"])) {
      const id = point.providerId ?? 0;
      spendByProvider.set(id, (spendByProvider.get(id) ?? 0n) + point.cost);
    }

    const providers = await this.providers.list();
    return providers
      .filter((provider) => isPrepaid(provider.billingMode))
      .map((provider) =>
        runwayOf(provider, spendByProvider.get(provider.id) ?? 0n, windowDays),
      );
  }
}

/** Orders entries by cost, highest first, then by request count. */
function byCostThenRequests(a: TopEntry, b: TopEntry): number {
  if (a.cost !== b.cost) {
    return a.cost > b.cost ? -1 : 1;
  }
  return b.requests - a.requests;
}

function isPrepaid(mode: BillingMode): boolean {
  return mode === BillingMode.Prepaid;
}

function runwayOf(
  provider: Provider,
  spent: Nanos,
  windowDays: number,
): CreditRunway {
  const available = provider.creditBalance - provider.creditReserved;
  const dailySpend = spent / BigInt(windowDays);

  // available / (spent / windowDays) in tenths, computed from `spent` so small spends are not rounded to zero.
  const tenthsOfDaysLeft =
    spent === 0n
      ? null
      : available <= 0n
        ? 0n
        : (available * BigInt(windowDays) * 10n) / spent;

  return { provider, available, spent, dailySpend, tenthsOfDaysLeft };
}
