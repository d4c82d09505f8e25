import { ResolvedModel } from "../../providers/model-resolver.service";

/**
 * Orders the routes of one request by priority, lowest first. Routes of equal priority come in a weighted random
 * order, so traffic splits by weight and failover still reaches every route. `random` returns numbers in [0, 1).
 */
export function orderRoutes(
  routes: readonly ResolvedModel[],
  random: () => number = Math.random,
): ResolvedModel[] {
  const byPriority = new Map<number, ResolvedModel[]>();
  for (const route of routes) {
    const group = byPriority.get(route.priority) ?? [];
    group.push(route);
    byPriority.set(route.priority, group);
  }

  const ordered: ResolvedModel[] = [];
  for (const priority of [...byPriority.keys()].sort((a, b) => a - b)) {
    ordered.push(...weightedShuffle(byPriority.get(priority) ?? [], random));
  }
  return ordered;
}

function weightedShuffle(
  routes: ResolvedModel[],
  random: () => number,
): ResolvedModel[] {
  const left = [...routes];
  const result: ResolvedModel[] = [];

  while (left.length > 0) {
    const total = left.reduce(
      (sum, route) => sum + Math.max(route.weight, 1),
      0,
    );
    let pick = random() * total;
    let index = 0;
    while (index < left.length - 1) {
      pick -= Math.max(left[index].weight, 1);
      if (pick < 0) {
        break;
      }
      index += 1;
    }
    result.push(left[index]);
    left.splice(index, 1);
  }
  return result;
}

/** Delay before retrying the same provider: exponential from `baseMs`, capped at `maxMs`, with full jitter. */
export function backoffMs(
  retry: number,
  baseMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(retry - 1, 0));
  return Math.round(random() * ceiling);
}

/**
 * Reads a Retry-After header (seconds, or an HTTP date) or OpenAI's `retry-after-ms`, in milliseconds. Returns
 * null when absent or unreadable.
 */
export function retryAfterMs(
  headers: Record<string, string | string[] | undefined>,
  now = Date.now(),
): number | null {
  const first = (name: string) => {
    const value = headers[name];
    return Array.isArray(value) ? value[0] : value;
  };

  const millis = first("retry-after-ms");
  if (millis !== undefined && /^\d+(\.\d+)?$/.test(millis.trim())) {
    return Math.ceil(Number(millis));
  }

  const value = first("retry-after")?.trim();
  if (value === undefined || value === "") {
    return null;
  }
  if (/^\d+(\.\d+)?$/.test(value)) {
    return Math.ceil(Number(value) * 1000);
  }
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}
