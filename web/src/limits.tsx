import { Client } from "./api";
import { count, usd } from "./format";

/** Lists a client's limits as short phrases, or "no limits" when it has none. */
export function limitSummary(client: Client): string {
  const parts: string[] = [];
  if (client.requestsPerMinute != null) {
    parts.push(`${count(client.requestsPerMinute)} requests/min`);
  }
  if (client.tokensPerMinute != null) {
    parts.push(`${count(client.tokensPerMinute)} tokens/min`);
  }
  if (client.maxConcurrentRequests != null) {
    parts.push(`${count(client.maxConcurrentRequests)} at once`);
  }
  if (client.dailyBudget != null) {
    parts.push(`${usd(client.dailyBudget)} a day`);
  }
  if (client.monthlyBudget != null) {
    parts.push(`${usd(client.monthlyBudget)} a month`);
  }
  return parts.length === 0 ? "no limits" : parts.join(", ");
}

/** Shows a client's limits and what it has used against its budgets. */
export function ClientLimits(props: { client: Client }) {
  const { client } = props;
  const usage = client.limitUsage;
  return (
    <div className="panel" data-testid="client-limits">
      <h2>Limits</h2>
      <p>{limitSummary(client)}</p>
      {usage ? (
        <p>
          {count(usage.concurrentRequests)} requests in progress. Spent on{" "}
          {usage.budgetDay ?? "the current day"}: {usd(usage.daySpent)} (
          {usd(usage.dayHeld)} held). Spent in{" "}
          {usage.budgetMonth ?? "the current month"}: {usd(usage.monthSpent)} (
          {usd(usage.monthHeld)} held).
        </p>
      ) : null}
    </div>
  );
}
