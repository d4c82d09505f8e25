import { Inject, Injectable, Logger } from "@nestjs/common";
import { Counter } from "prom-client";

import { utcDay } from "../../billing/accounting.store";
import { APP_CONFIG } from "../../config/config.module";
import { AppConfig } from "../../config/config.schema";
import { MetricsService } from "../../metrics/metrics.service";
import { JobContext, JobResult, MaintenanceJob } from "../job";
import { Drift, DriftCheck, Repair } from "./drift";
import { DriftFinder, UtcDay } from "./drift-finder.service";
import { DriftRepairer } from "./drift-repairer.service";

const DAY_MS = 86_400_000;

/** Most drift entries and repairs kept in one run's detail; the counts cover all of them. */
const MAX_DETAIL_ENTRIES = 100;

/** Checks whose drift can be repaired. Drift of a provider balance is only reported. */
const REPAIRABLE: ReadonlySet<DriftCheck> = new Set([
  "rollups",
  "client_totals",
  "client_holds",
  "client_spend",
  "provider_reserved",
]);

interface FailedRepair {
  check: DriftCheck;
  key: Drift["key"];
  error: string;
}

/**
 * Checks that the cached sums agree with the rows they summarise, in this order:
 *
 * 1. each usage_daily row of the complete days inside the retention window, against that day's request rows;
 * 2. each client's totals, against its usage_daily rows, and its limit counters: in-flight counters against its
 *    pending reservations, and the spend of the current day and month against its request rows;
 * 3. each provider's balance against its ledger, and its reserved credit against its pending reservations.
 *
 * Drift is logged, counted and stored in the run's detail. With `maintenance.repairDrift` it is also repaired.
 * Rollups come first, so the totals are then checked against repaired rollups. A provider balance that differs
 * from its ledger is only reported.
 */
@Injectable()
export class ReconcileJob implements MaintenanceJob {
  readonly name = "reconcile" as const;
  private readonly logger = new Logger(ReconcileJob.name);
  private readonly driftCounter: Counter<"check">;
  private readonly repairCounter: Counter<"check">;

  constructor(
    private readonly finder: DriftFinder,
    private readonly repairer: DriftRepairer,
    metrics: MetricsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.driftCounter = new Counter({
      name: "llmp_reconciliation_drift_total",
      help: "Rows whose stored sums differed from their source rows when reconciliation checked them, by check",
      labelNames: ["check"],
      registers: [metrics.registry],
    });
    this.repairCounter = new Counter({
      name: "llmp_reconciliation_repairs_total",
      help: "Drifted rows that reconciliation repaired, by check",
      labelNames: ["check"],
      registers: [metrics.registry],
    });
  }

  async run(context: JobContext): Promise<JobResult> {
    const repair = this.config.maintenance.repairDrift;
    const drift: Drift[] = [];
    const repairs: Repair[] = [];
    const failedRepairs: FailedRepair[] = [];
    const days = this.checkedDays(context.startedAt);
    let daysChecked = 0;

    const handle = async (found: Drift[]) => {
      for (const entry of found) {
        drift.push(entry);
        this.report(entry, context.runId);
        if (repair && REPAIRABLE.has(entry.check)) {
          await this.repairAndRecord(
            entry,
            days,
            context,
            repairs,
            failedRepairs,
          );
        }
      }
    };

    try {
      for (const day of days) {
        if (context.signal.aborted) {
          return { complete: false };
        }
        await handle(await this.finder.rollupsOf(day));
        daysChecked += 1;
      }

      if (context.signal.aborted) {
        return { complete: false };
      }
      await handle(await this.finder.clientTotals());
      await handle(await this.finder.clientLimits(context.startedAt));

      if (context.signal.aborted) {
        return { complete: false };
      }
      await handle(await this.finder.providers());

      return { complete: true };
    } finally {
      context.note("repairDrift", repair);
      context.note("days", {
        from: days[0]?.day ?? null,
        to: days[days.length - 1]?.day ?? null,
        checked: daysChecked,
      });
      context.note("driftCount", drift.length);
      context.note("drift", drift.slice(0, MAX_DETAIL_ENTRIES));
      context.note("repairCount", repairs.length);
      context.note("repairs", repairs.slice(0, MAX_DETAIL_ENTRIES));
      context.note("failedRepairs", failedRepairs.slice(0, MAX_DETAIL_ENTRIES));
    }
  }

  /** Repairs one drifted row and records the repair, or the error that stopped it, in the run. */
  private async repairAndRecord(
    entry: Drift,
    days: UtcDay[],
    context: JobContext,
    repairs: Repair[],
    failedRepairs: FailedRepair[],
  ): Promise<void> {
    try {
      const applied = await this.repairOne(entry, days);
      if (!applied) {
        return;
      }

      repairs.push(applied);
      context.countRows(1);
      this.repairCounter.inc({ check: applied.check });
      this.logger.warn({
        msg: "reconciliation repaired drift",
        runId: context.runId,
        check: applied.check,
        ...applied.key,
        before: applied.before,
        after: applied.after,
      });
    } catch (error) {
      failedRepairs.push({
        check: entry.check,
        key: entry.key,
        error: error instanceof Error ? error.message : String(error),
      });
      this.logger.error({
        msg: "reconciliation could not repair drift",
        runId: context.runId,
        check: entry.check,
        ...entry.key,
        err: error,
      });
    }
  }

  /**
   * Complete UTC days whose request rows retention cannot have touched: from the second full day after the
   * retention cutoff (a margin for a retention run up to a day later than this one) to yesterday, oldest first.
   */
  private checkedDays(now: Date): UtcDay[] {
    const cutoff =
      now.getTime() - this.config.maintenance.retentionDays * DAY_MS;
    const today = startOfUtcDay(now.getTime());
    const days: UtcDay[] = [];
    for (
      let start = startOfUtcDay(cutoff) + 2 * DAY_MS;
      start < today;
      start += DAY_MS
    ) {
      days.push({
        day: utcDay(new Date(start)),
        start: new Date(start),
        end: new Date(start + DAY_MS),
      });
    }
    return days;
  }

  private report(entry: Drift, runId: number): void {
    this.driftCounter.inc({ check: entry.check });
    this.logger.warn({
      msg:
        entry.check === "provider_balance"
          ? "provider balance differs from the sum of its ledger; not repaired automatically"
          : "reconciliation found drift",
      runId,
      check: entry.check,
      ...entry.key,
      fields: entry.fields,
    });
  }

  private async repairOne(
    entry: Drift,
    days: UtcDay[],
  ): Promise<Repair | null> {
    switch (entry.check) {
      case "rollups": {
        const day = days.find((candidate) => candidate.day === entry.key.day);
        if (!day) {
          return null;
        }
        return this.repairer.repairRollup(
          day,
          Number(entry.key.clientId),
          Number(entry.key.providerId),
          String(entry.key.model),
        );
      }
      case "client_totals":
        return this.repairer.repairClientTotals(Number(entry.key.clientId));
      case "client_holds":
        return this.repairer.repairClientHolds(Number(entry.key.clientId));
      case "client_spend":
        return this.repairer.repairClientSpend(
          Number(entry.key.clientId),
          entry.key.period === "month" ? "month" : "day",
          String(entry.key.periodKey),
        );
      case "provider_reserved":
        return this.repairer.repairProviderReserved(
          Number(entry.key.providerId),
        );
      case "provider_balance":
        return null;
    }
  }
}

function startOfUtcDay(time: number): number {
  return time - (((time % DAY_MS) + DAY_MS) % DAY_MS);
}
