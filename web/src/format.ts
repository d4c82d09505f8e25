/**
 * Display helpers. Money arrives as a decimal string with nine decimals and is shown by editing that string,
 * never through a float, so what the page shows is exactly what the API returned.
 */

/** Formats a USD amount such as `2.500000000` as `2.50 USD`. It drops trailing zeros past the cents and rounds nothing. */
export function usd(amount: string): string {
  const match = /^(-?)(\d+)(?:\.(\d+))?$/.exec(amount);
  if (!match) {
    return `${amount} USD`;
  }
  const [, sign, whole, fraction = ""] = match;
  const trimmed = fraction.replace(/0+$/, "").padEnd(2, "0");
  return `${sign}${groupDigits(whole)}.${trimmed} USD`;
}

/** Adds thousands separators to a run of digits. */
function groupDigits(digits: string): string {
  return digits.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

const integerFormat = new Intl.NumberFormat(undefined, {
  maximumFractionDigits: 0,
});

/** Formats a whole count, such as tokens or requests, with the locale's separators. */
export function count(value: number): string {
  return integerFormat.format(value);
}

const timeFormat = new Intl.DateTimeFormat(undefined, {
  dateStyle: "medium",
  timeStyle: "medium",
});

/** Formats a timestamp in the browser's time zone. */
export function time(iso: string | null): string {
  if (iso === null) {
    return "never";
  }
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : timeFormat.format(date);
}

/** The browser's time zone, shown next to times. */
export const timeZone = Intl.DateTimeFormat().resolvedOptions().timeZone;

/** Formats a byte count with a binary unit. */
export function bytes(value: number | null): string {
  if (value === null) {
    return "unknown";
  }
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let size = value;
  let unit = 0;
  while (size >= 1024 && unit < units.length - 1) {
    size /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? size : size.toFixed(1)} ${units[unit]}`;
}

/** Formats a fraction from 0 to 1 as a percentage. */
export function percent(share: number): string {
  return `${(share * 100).toFixed(2)} %`;
}

/** Returns the UTC day `daysAgo` days before today, as `YYYY-MM-DD`. */
export function utcDay(daysAgo = 0): string {
  return new Date(Date.now() - daysAgo * 86_400_000).toISOString().slice(0, 10);
}

/** Converts a `datetime-local` input value (local time) to an ISO timestamp, or undefined when empty. */
export function localInputToIso(value: string): string | undefined {
  return value === "" ? undefined : new Date(value).toISOString();
}
