import { Inject, Injectable } from "@nestjs/common";

import { ReservationStatus } from "../../billing/entities/credit-reservation.entity";
import { RequestStatus } from "../../billing/entities/llm-request.entity";
import { APP_CONFIG } from "../../config/config.module";
import { AppConfig } from "../../config/config.schema";
import { BudgetPeriod, periodRange } from "../../limits/periods";
import {
  CLIENT_HOLD_FIELDS,
  CLIENT_HOLD_PARAMS,
  CLIENT_HOLD_SOURCES,
  spendColumns,
} from "./client-limit-drift";
import {
  SqlTransaction,
  WriteTransactionRunner,
} from "../../database/write-transaction";
import {
  CLIENT_TOTAL_FIELDS,
  differingFields,
  Repair,
  ROLLUP_FIELDS,
} from "./drift";
import { UtcDay } from "./drift-finder.service";

type TextRow = Record<string, string | number | null>;

/**
 * Repairs drift in short write transactions that recompute the values under lock, so they stay right while
 * requests are metered. Rows are locked in the accounting transaction's order: provider, then client, then
 * rollup. A settlement that already changed a client's rollup still holds that client's row. So a repair that
 * holds the client row sees either all of a settlement or none of it. On SQLite the transaction holds the write
 * lock.
 *
 * Each method returns null when the values agree once locked, and changes nothing then.
 */
@Injectable()
export class DriftRepairer {
  constructor(
    private readonly db: WriteTransactionRunner,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Sets one usage_daily row to the sum of its request rows; deletes it when it has none. */
  async repairRollup(
    day: UtcDay,
    clientId: number,
    providerId: number,
    model: string,
  ): Promise<Repair | null> {
    return this.db.run(async (tx) => {
      await lockClient(tx, clientId);

      const columns = ROLLUP_FIELDS.map(
        (field) => `cast(${field.stored} as text) as ${field.stored}`,
      ).join(", ");
      const [stored] = await tx.all<TextRow>(
        `select ${columns} from usage_daily where day = ? and client_id = ? and provider_id = ? and model = ?${tx.forUpdate}`,
        [day.day, clientId, providerId, model],
      );
      const sums = ROLLUP_FIELDS.map(
        (field) =>
          `cast(coalesce(sum(${field.source}), 0) as text) as ${field.stored}`,
      ).join(", ");
      const [detail] = await tx.all<TextRow>(
        `select ${sums} from llm_requests
         where client_id = ? and provider_id = ? and model = ? and created_at >= ? and created_at < ?`,
        [
          RequestStatus.Completed,
          clientId,
          providerId,
          model,
          tx.time(day.start),
          tx.time(day.end),
        ],
      );

      const before = stored ?? zeros();
      if (differingFields(ROLLUP_FIELDS, before, detail).length === 0) {
        return null;
      }

      if (BigInt(detail.requests ?? 0) === 0n) {
        await tx.run(
          `delete from usage_daily where day = ? and client_id = ? and provider_id = ? and model = ?`,
          [day.day, clientId, providerId, model],
        );
      } else {
        await upsertRollup(tx, day.day, clientId, providerId, model, detail);
      }

      return {
        check: "rollups" as const,
        key: { day: day.day, clientId, providerId, model },
        before: asText(before),
        after: asText(detail),
      };
    });
  }

  /** Sets a client's running totals to the sum of its usage_daily rows. */
  async repairClientTotals(clientId: number): Promise<Repair | null> {
    return this.db.run(async (tx) => {
      const columns = CLIENT_TOTAL_FIELDS.map(
        (field) => `cast(${field.stored} as text) as ${field.stored}`,
      ).join(", ");
      const [stored] = await tx.all<TextRow>(
        `select ${columns} from clients where id = ?${tx.forUpdate}`,
        [clientId],
      );
      if (!stored) {
        return null;
      }

      const sums = CLIENT_TOTAL_FIELDS.map(
        (field) =>
          `cast(coalesce(sum(${field.source}), 0) as text) as ${field.stored}`,
      ).join(", ");
      const [expected] = await tx.all<TextRow>(
        `select ${sums} from usage_daily where client_id = ?`,
        [clientId],
      );
      if (differingFields(CLIENT_TOTAL_FIELDS, stored, expected).length === 0) {
        return null;
      }

      const assignments = CLIENT_TOTAL_FIELDS.map(
        (field) => `${field.stored} = cast(? as bigint)`,
      ).join(", ");
      await tx.run(`update clients set ${assignments} where id = ?`, [
        ...CLIENT_TOTAL_FIELDS.map((field) => String(expected[field.stored])),
        clientId,
      ]);

      return {
        check: "client_totals" as const,
        key: { clientId },
        before: asText(stored),
        after: asText(expected),
      };
    });
  }

  /** Sets a client's in-flight counters to what its pending reservations hold. */
  async repairClientHolds(clientId: number): Promise<Repair | null> {
    return this.db.run(async (tx) => {
      await lockClient(tx, clientId);

      const columns = CLIENT_HOLD_FIELDS.flatMap((field) => [
        `cast(c.${field.stored} as text) as s_${field.stored}`,
        `cast(${field.source} as text) as e_${field.stored}`,
      ]);
      const [row] = await tx.all<TextRow>(
        `select ${columns.join(", ")} from clients c ${CLIENT_HOLD_SOURCES} where c.id = ?`,
        [...CLIENT_HOLD_PARAMS, clientId],
      );
      if (!row) {
        return null;
      }
      const stored = prefixedRow(row, "s_");
      const expected = prefixedRow(row, "e_");
      if (differingFields(CLIENT_HOLD_FIELDS, stored, expected).length === 0) {
        return null;
      }

      const assignments = CLIENT_HOLD_FIELDS.map(
        (field) => `${field.stored} = cast(? as bigint)`,
      ).join(", ");
      await tx.run(`update clients set ${assignments} where id = ?`, [
        ...CLIENT_HOLD_FIELDS.map((field) => String(expected[field.stored])),
        clientId,
      ]);

      return {
        check: "client_holds" as const,
        key: { clientId },
        before: asText(stored),
        after: asText(expected),
      };
    });
  }

  /**
   * Sets a client's spend of one budget period to the cost of its request rows created in that period, if the
   * client's counters are still in that period.
   */
  async repairClientSpend(
    clientId: number,
    period: BudgetPeriod,
    key: string,
  ): Promise<Repair | null> {
    const column = spendColumns(period);
    const range = periodRange(period, key, this.config.limits.timeZone);

    return this.db.run(async (tx) => {
      const [stored] = await tx.all<{ spent: string }>(
        `select cast(${column.spent} as text) as spent from clients where id = ? and ${column.key} = ?${tx.forUpdate}`,
        [clientId, key],
      );
      if (!stored) {
        return null;
      }

      const [detail] = await tx.all<{ total: string }>(
        `select cast(coalesce(sum(cost), 0) as text) as total from llm_requests
         where client_id = ? and created_at >= ? and created_at < ?`,
        [clientId, tx.time(range.start), tx.time(range.end)],
      );
      if (BigInt(stored.spent) === BigInt(detail.total)) {
        return null;
      }

      await tx.run(
        `update clients set ${column.spent} = cast(? as bigint) where id = ?`,
        [detail.total, clientId],
      );

      return {
        check: "client_spend" as const,
        key: { clientId, period, periodKey: key },
        before: { [column.spent]: BigInt(stored.spent).toString() },
        after: { [column.spent]: BigInt(detail.total).toString() },
      };
    });
  }

  /**
   * Sets a provider's reserved credit to the sum of its pending reservations. The balance itself is never
   * rewritten here: a balance that differs from its ledger needs a person to decide which one is wrong.
   */
  async repairProviderReserved(providerId: number): Promise<Repair | null> {
    return this.db.run(async (tx) => {
      const [stored] = await tx.all<{ reserved: string }>(
        `select cast(credit_reserved as text) as reserved from providers where id = ?${tx.forUpdate}`,
        [providerId],
      );
      if (!stored) {
        return null;
      }

      const [pending] = await tx.all<{ total: string }>(
        `select cast(coalesce(sum(amount), 0) as text) as total from credit_reservations
         where provider_id = ? and status = ?`,
        [providerId, ReservationStatus.Pending],
      );
      if (BigInt(stored.reserved) === BigInt(pending.total)) {
        return null;
      }

      await tx.run(
        `update providers set credit_reserved = cast(? as bigint) where id = ?`,
        [pending.total, providerId],
      );

      return {
        check: "provider_reserved" as const,
        key: { providerId },
        before: { credit_reserved: BigInt(stored.reserved).toString() },
        after: { credit_reserved: BigInt(pending.total).toString() },
      };
    });
  }
}

/** Takes the client's row lock, which every settlement for that client holds while it changes the rollups. */
async function lockClient(tx: SqlTransaction, clientId: number): Promise<void> {
  await tx.all(`select id from clients where id = ?${tx.forUpdate}`, [
    clientId,
  ]);
}

async function upsertRollup(
  tx: SqlTransaction,
  day: string,
  clientId: number,
  providerId: number,
  model: string,
  values: TextRow,
): Promise<void> {
  const names = ROLLUP_FIELDS.map((field) => field.stored);
  await tx.run(
    `insert into usage_daily (day, client_id, provider_id, model, ${names.join(", ")})
     values (?, ?, ?, ?, ${names.map(() => "cast(? as bigint)").join(", ")})
     on conflict (day, client_id, provider_id, model) do update set
       ${names.map((name) => `${name} = excluded.${name}`).join(", ")}`,
    [
      day,
      clientId,
      providerId,
      model,
      ...names.map((name) => String(values[name] ?? 0)),
    ],
  );
}

/** Returns the columns of a row whose names start with `prefix`, without the prefix. */
function prefixedRow(row: TextRow, prefix: string): TextRow {
  return Object.fromEntries(
    Object.entries(row)
      .filter(([name]) => name.startsWith(prefix))
      .map(([name, value]) => [name.slice(prefix.length), value]),
  );
}

function zeros(): TextRow {
  return Object.fromEntries(ROLLUP_FIELDS.map((field) => [field.stored, "0"]));
}

function asText(row: TextRow): Record<string, string> {
  return Object.fromEntries(
    Object.entries(row).map(([name, value]) => [
      name,
      BigInt(value ?? 0).toString(),
    ]),
  );
}
