import { ReservationStatus } from "../../billing/entities/credit-reservation.entity";
import { SqlParam } from "../../database/write-transaction";
import { BudgetPeriod } from "../../limits/periods";
import { SummedField } from "./drift";

/**
 * Client counters of in-flight requests and the pending reservations they add up. A reservation without a
 * budget day predates client limits and holds nothing against its client. Only holds of the client's current
 * day and month count: older ones were dropped when the period ended.
 */
export const CLIENT_HOLD_FIELDS: SummedField[] = [
  { stored: "concurrent_requests", source: "coalesce(p.n, 0)" },
  { stored: "budget_day_held", source: "coalesce(d.total, 0)" },
  { stored: "budget_month_held", source: "coalesce(m.total, 0)" },
];

/** Joins each client (`c`) to the sums of its pending reservations: `p` counts them, `d` and `m` add up holds. */
export const CLIENT_HOLD_SOURCES = `
  left join (select client_id, count(*) as n from credit_reservations
    where status = ? and budget_day is not null group by client_id) p on p.client_id = c.id
  left join (select client_id, budget_day, sum(budget_held) as total from credit_reservations
    where status = ? group by client_id, budget_day) d on d.client_id = c.id and d.budget_day = c.budget_day
  left join (select client_id, budget_month, sum(budget_held) as total from credit_reservations
    where status = ? group by client_id, budget_month) m on m.client_id = c.id and m.budget_month = c.budget_month`;

export const CLIENT_HOLD_PARAMS: SqlParam[] = [
  ReservationStatus.Pending,
  ReservationStatus.Pending,
  ReservationStatus.Pending,
];

/** Returns the client columns of one budget period: its key and the spend counter reconciled with the request rows. */
export function spendColumns(period: BudgetPeriod): {
  key: string;
  spent: string;
} {
  return period === "day"
    ? { key: "budget_day", spent: "budget_day_spent" }
    : { key: "budget_month", spent: "budget_month_spent" };
}
