import { Inject, Injectable } from "@nestjs/common";

import { ReservationStatus } from "../../billing/entities/credit-reservation.entity";
import { RequestStatus } from "../../billing/entities/llm-request.entity";
import { APP_CONFIG } from "../../config/config.module";
import { AppConfig } from "../../config/config.schema";
import { WriteTransactionRunner } from "../../database/write-transaction";
import { limitPeriods, periodRange } from "../../limits/periods";
import {
  CLIENT_HOLD_FIELDS,
  CLIENT_HOLD_PARAMS,
  CLIENT_HOLD_SOURCES,
  spendColumns,
} from "./client-limit-drift";
import {
  CLIENT_TOTAL_FIELDS,
  differingFields,
  Drift,
  ROLLUP_FIELDS,
} from "./drift";

/** One UTC day: its `usage_daily.day` value and the half-open range of timestamps inside it. */
export interface UtcDay {
  day: string;
  start: Date;
  end: Date;
}

type TextRow = Record<string, string | number | null>;

const DAY_MS = 86_400_000;

/**
 * Finds drift between stored summaries and the rows they summarise. Each check is a single statement, and a
 * statement reads one consistent snapshot on both dialects. The accounting transaction changes a summary and its
 * detail rows together, so requests metered while a check runs can never show up as drift.
 */
@Injectable()
export class DriftFinder {
  constructor(
    private readonly db: WriteTransactionRunner,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Compares each usage_daily row of one day with the sum of that day's request rows. */
  async rollupsOf(day: UtcDay): Promise<Drift[]> {
    const rollupSide = ROLLUP_FIELDS.map(
      (field) => `${field.stored} as r_${field.stored}`,
    ).concat(ROLLUP_FIELDS.map((field) => `0 as d_${field.stored}`));
    const detailSide = ROLLUP_FIELDS.map(() => "0").concat(
      ROLLUP_FIELDS.map((field) => `sum(${field.source})`),
    );
    const sums = ROLLUP_FIELDS.flatMap((field) => [
      `cast(sum(r_${field.stored}) as text) as r_${field.stored}`,
      `cast(sum(d_${field.stored}) as text) as d_${field.stored}`,
    ]);
    const differs = ROLLUP_FIELDS.map(
      (field) => `sum(r_${field.stored}) <> sum(d_${field.stored})`,
    ).join(" or ");

    const rows = await this.db.read<TextRow>(
      `select client_id, provider_id, model, ${sums.join(", ")}
       from (
         select client_id, provider_id, model, ${rollupSide.join(", ")} from usage_daily where day = ?
         union all
         select client_id, provider_id, model, ${detailSide.join(", ")} from llm_requests
         where created_at >= ? and created_at < ? group by client_id, provider_id, model
       ) combined
       group by client_id, provider_id, model
       having ${differs}
       order by client_id, provider_id, model`,
      [
        day.day,
        RequestStatus.Completed,
        this.db.time(day.start),
        this.db.time(day.end),
      ],
    );

    return rows.map((row) => ({
      check: "rollups" as const,
      key: {
        day: day.day,
        clientId: Number(row.client_id),
        providerId: Number(row.provider_id),
        model: String(row.model),
      },
      fields: differingFields(
        ROLLUP_FIELDS,
        prefixed(row, "r_"),
        prefixed(row, "d_"),
      ),
    }));
  }

  /** Compares each client's running totals with the sum of its usage_daily rows. */
  async clientTotals(): Promise<Drift[]> {
    const stored = CLIENT_TOTAL_FIELDS.map(
      (field) => `cast(c.${field.stored} as text) as s_${field.stored}`,
    );
    const expected = CLIENT_TOTAL_FIELDS.map(
      (field) =>
        `cast(coalesce(r.${field.source}, 0) as text) as e_${field.stored}`,
    );
    const sums = CLIENT_TOTAL_FIELDS.map(
      (field) => `sum(${field.source}) as ${field.source}`,
    );
    const differs = CLIENT_TOTAL_FIELDS.map(
      (field) => `c.${field.stored} <> coalesce(r.${field.source}, 0)`,
    ).join(" or ");

    const rows = await this.db.read<TextRow>(
      `select c.id as client_id, ${stored.join(", ")}, ${expected.join(", ")}
       from clients c
       left join (select client_id, ${sums.join(", ")} from usage_daily group by client_id) r on r.client_id = c.id
       where ${differs}
       order by c.id`,
    );

    return rows.map((row) => ({
      check: "client_totals" as const,
      key: { clientId: Number(row.client_id) },
      fields: differingFields(
        CLIENT_TOTAL_FIELDS,
        prefixed(row, "s_"),
        prefixed(row, "e_"),
      ),
    }));
  }

  /**
   * Compares each client's limit counters with their sources: the in-flight counters with the pending
   * reservations, and the spend of the current day and month (`limits.timeZone`) with the request rows created in
   * them. A period that starts less than two days after the retention cutoff is skipped, since retention may have
   * deleted some of its rows. Rate-window counters reset every minute and are not checked.
   */
  async clientLimits(now: Date): Promise<Drift[]> {
    const drift = await this.clientHolds();
    const periods = limitPeriods(now, this.config.limits.timeZone);
    const oldestChecked =
      now.getTime() - (this.config.maintenance.retentionDays - 2) * DAY_MS;

    for (const period of ["day", "month"] as const) {
      const key = periods[period];
      const range = periodRange(period, key, this.config.limits.timeZone);
      if (range.start.getTime() >= oldestChecked) {
        drift.push(...(await this.clientSpend(period, key, range)));
      }
    }
    return drift;
  }

  private async clientHolds(): Promise<Drift[]> {
    const columns = CLIENT_HOLD_FIELDS.flatMap((field) => [
      `cast(c.${field.stored} as text) as s_${field.stored}`,
      `cast(${field.source} as text) as e_${field.stored}`,
    ]);
    const differs = CLIENT_HOLD_FIELDS.map(
      (field) => `c.${field.stored} <> ${field.source}`,
    ).join(" or ");

    const rows = await this.db.read<TextRow>(
      `select c.id as client_id, ${columns.join(", ")}
       from clients c ${CLIENT_HOLD_SOURCES}
       where ${differs}
       order by c.id`,
      CLIENT_HOLD_PARAMS,
    );

    return rows.map((row) => ({
      check: "client_holds" as const,
      key: { clientId: Number(row.client_id) },
      fields: differingFields(
        CLIENT_HOLD_FIELDS,
        prefixed(row, "s_"),
        prefixed(row, "e_"),
      ),
    }));
  }

  /** Compares the spend counter of clients whose counters are in period `key` with their request rows in it. */
  private async clientSpend(
    period: "day" | "month",
    key: string,
    range: { start: Date; end: Date },
  ): Promise<Drift[]> {
    const column = spendColumns(period);
    const rows = await this.db.read<{
      client_id: number;
      stored: string;
      expected: string;
    }>(
      `select c.id as client_id, cast(c.${column.spent} as text) as stored,
         cast(coalesce(r.total, 0) as text) as expected
       from clients c
       left join (select client_id, sum(cost) as total from llm_requests
         where created_at >= ? and created_at < ? group by client_id) r on r.client_id = c.id
       where c.${column.key} = ? and c.${column.spent} <> coalesce(r.total, 0)
       order by c.id`,
      [this.db.time(range.start), this.db.time(range.end), key],
    );

    return rows.map((row) => ({
      check: "client_spend" as const,
      key: { clientId: Number(row.client_id), period, periodKey: key },
      fields: [
        {
          field: column.spent,
          stored: BigInt(row.stored).toString(),
          expected: BigInt(row.expected).toString(),
        },
      ],
    }));
  }

  /**
   * Compares each provider's balance with the sum of its ledger, and its reserved credit with the sum of its
   * pending reservations.
   */
  async providers(): Promise<Drift[]> {
    const rows = await this.db.read<{
      provider_id: number;
      balance: string;
      ledger: string;
      reserved: string;
      pending: string;
    }>(
      `select p.id as provider_id, cast(p.credit_balance as text) as balance,
         cast(coalesce(l.total, 0) as text) as ledger, cast(p.credit_reserved as text) as reserved,
         cast(coalesce(h.total, 0) as text) as pending
       from providers p
       left join (select provider_id, sum(amount) as total from balance_transactions group by provider_id) l
         on l.provider_id = p.id
       left join (select provider_id, sum(amount) as total from credit_reservations where status = ?
         group by provider_id) h on h.provider_id = p.id
       where p.credit_balance <> coalesce(l.total, 0) or p.credit_reserved <> coalesce(h.total, 0)
       order by p.id`,
      [ReservationStatus.Pending],
    );

    const drift: Drift[] = [];
    for (const row of rows) {
      const key = { providerId: Number(row.provider_id) };
      if (BigInt(row.balance) !== BigInt(row.ledger)) {
        drift.push({
          check: "provider_balance",
          key,
          fields: [
            {
              field: "credit_balance",
              stored: row.balance,
              expected: row.ledger,
            },
          ],
        });
      }
      if (BigInt(row.reserved) !== BigInt(row.pending)) {
        drift.push({
          check: "provider_reserved",
          key,
          fields: [
            {
              field: "credit_reserved",
              stored: row.reserved,
              expected: row.pending,
            },
          ],
        });
      }
    }
    return drift;
  }
}

/** Returns the columns of a row whose names start with `prefix`, without the prefix. */
function prefixed(row: TextRow, prefix: string): TextRow {
  const result: TextRow = {};
  for (const [name, value] of Object.entries(row)) {
    if (name.startsWith(prefix)) {
      result[name.slice(prefix.length)] = value;
    }
  }
  return result;
}
