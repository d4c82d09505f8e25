/** Milliseconds in one rate-limit window. Requests and tokens per minute are counted in fixed windows of this size. */
export const RATE_WINDOW_MS = 60_000;

/** The periods one admission is counted in. */
export interface LimitPeriods {
  /** Fixed one-minute window: whole minutes since the Unix epoch. */
  rateWindow: number;
  /** Calendar day in the budget time zone, `YYYY-MM-DD`. */
  day: string;
  /** Calendar month in the budget time zone, `YYYY-MM`. */
  month: string;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** Returns a cached formatter of calendar dates in `timeZone`; throws a RangeError for an unknown zone. */
function dateFormatter(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat("en-CA", {
      timeZone,
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
    });
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

/** Returns whether `timeZone` is an IANA time zone name that this runtime supports. */
export function isKnownTimeZone(timeZone: string): boolean {
  try {
    dateFormatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

/** The last day computed per time zone, keyed by the whole minute it was computed for. */
const lastDays = new Map<string, { minute: number; day: string }>();

/**
 * Returns the calendar day of an instant in `timeZone`, as `YYYY-MM-DD`. Every current UTC offset is a whole number
 * of minutes, so a day starts on a minute boundary and the day computed for one minute is right for all of it.
 * The last result is kept, because formatting costs several microseconds and each request needs the day twice.
 */
export function calendarDay(instant: Date, timeZone: string): string {
  const minute = Math.floor(instant.getTime() / 60_000);
  const last = lastDays.get(timeZone);
  if (last?.minute === minute) {
    return last.day;
  }

  const parts = dateFormatter(timeZone).formatToParts(instant);
  const part = (type: string) =>
    parts.find((candidate) => candidate.type === type)?.value ?? "";
  const day = `${part("year")}-${part("month")}-${part("day")}`;
  lastDays.set(timeZone, { minute, day });
  return day;
}

/** Returns the rate window, day and month that an instant falls in. */
export function limitPeriods(instant: Date, timeZone: string): LimitPeriods {
  const day = calendarDay(instant, timeZone);
  return {
    rateWindow: rateWindowOf(instant),
    day,
    month: day.slice(0, 7),
  };
}

/** Returns the fixed one-minute window of an instant: whole minutes since the Unix epoch. */
export function rateWindowOf(instant: Date): number {
  return Math.floor(instant.getTime() / RATE_WINDOW_MS);
}

/**
 * Returns the first instant whose calendar day in `timeZone` is `day` or later. That is local midnight, or the
 * first instant after a daylight-saving gap that skips midnight.
 */
export function startOfDay(day: string, timeZone: string): Date {
  const [year, month, date] = day.split("-").map(Number);
  // UTC offsets lie between -12 and +14 hours, so local midnight lies within 14 hours of UTC midnight.
  let low = Date.UTC(year, month - 1, date) - 14 * 3_600_000;
  let high = Date.UTC(year, month - 1, date) + 14 * 3_600_000;
  while (low < high) {
    const middle = Math.floor((low + high) / 2);
    if (calendarDay(new Date(middle), timeZone) >= day) {
      high = middle;
    } else {
      low = middle + 1;
    }
  }
  return new Date(low);
}

/** Returns the first instant of the calendar month `month` (`YYYY-MM`) in `timeZone`. */
export function startOfMonth(month: string, timeZone: string): Date {
  return startOfDay(`${month}-01`, timeZone);
}

/** A budget period: a calendar day (`YYYY-MM-DD`) or month (`YYYY-MM`) in the budget time zone. */
export type BudgetPeriod = "day" | "month";

/** Returns the half-open range of instants `[start, end)` of a day or month key in `timeZone`. */
export function periodRange(
  period: BudgetPeriod,
  key: string,
  timeZone: string,
): { start: Date; end: Date } {
  return period === "day"
    ? {
        start: startOfDay(key, timeZone),
        end: startOfDay(addDays(key, 1), timeZone),
      }
    : {
        start: startOfMonth(key, timeZone),
        end: startOfMonth(nextMonth(key), timeZone),
      };
}

/** Returns the month (`YYYY-MM`) after `month`. */
export function nextMonth(month: string): string {
  const [year, index] = month.split("-").map(Number);
  return new Date(Date.UTC(year, index, 1)).toISOString().slice(0, 7);
}

/** Adds whole days to a `YYYY-MM-DD` date. */
export function addDays(day: string, days: number): string {
  const [year, month, date] = day.split("-").map(Number);
  return new Date(Date.UTC(year, month - 1, date + days))
    .toISOString()
    .slice(0, 10);
}

/** Returns whole seconds from `now` until `until`, rounded up, and at least one. */
export function secondsUntil(now: Date, until: Date): number {
  return Math.max(1, Math.ceil((until.getTime() - now.getTime()) / 1000));
}
