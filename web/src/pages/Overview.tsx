import { useState } from "react";
import { Link } from "react-router";

import {
  ErrorRates,
  List,
  query,
  Runway,
  TopEntry,
  UsagePoint,
  UsageTotals,
} from "../api";
import { Dimension, Metric, UsageChart } from "../charts";
import { Loadable, Stat, TableBox } from "../components";
import { count, percent, usd, utcDay } from "../format";
import { useApi } from "../hooks";

/** Spend and tokens per day, today's totals, error rate, top clients and models, and prepaid credit. */
export function OverviewPage() {
  const [from, setFrom] = useState(utcDay(13));
  const [to, setTo] = useState(utcDay(0));
  const [dimension, setDimension] = useState<Dimension>("provider");
  const [metric, setMetric] = useState<Metric>("cost");
  const validRange = from !== "" && to !== "" && from <= to;

  const series = useApi<List<UsagePoint>>(
    validRange
      ? `/api/usage/daily${query({ from, to, groupBy: dimension })}`
      : null,
  );
  const today = useApi<UsageTotals & { day: string }>("/api/usage/today");
  const [errorWindow] = useState(() => ({
    from: new Date(Date.now() - 86_400_000).toISOString(),
    to: new Date(Date.now() + 60_000).toISOString(),
  }));
  const errors = useApi<ErrorRates>(`/api/usage/errors${query(errorWindow)}`);
  const topClients = useApi<List<TopEntry>>(
    validRange
      ? `/api/dashboard/top${query({ from, to, by: "client" })}`
      : null,
  );
  const topModels = useApi<List<TopEntry>>(
    validRange ? `/api/dashboard/top${query({ from, to, by: "model" })}` : null,
  );
  const runway = useApi<Runway>("/api/dashboard/credit-runway");

  return (
    <>
      <h1>Overview</h1>
      <section aria-labelledby="today-heading">
        <h2 id="today-heading">Today (UTC)</h2>
        <Loadable resource={today} label="today's totals">
          {(totals) => (
            <div className="stats" data-testid="today">
              <Stat label="Requests" value={count(totals.requests)} />
              <Stat label="Cost" value={usd(totals.cost)} />
              <Stat
                label="Tokens"
                value={count(totals.promptTokens + totals.completionTokens)}
                note={
                  totals.estimatedRequests > 0
                    ? `${count(totals.estimatedRequests)} requests estimated`
                    : undefined
                }
              />
              <Stat
                label="Failed requests"
                value={count(totals.failedRequests)}
              />
            </div>
          )}
        </Loadable>
        <Loadable resource={errors} label="error rate">
          {(report) => <ErrorRate report={report} />}
        </Loadable>
      </section>

      <section aria-labelledby="usage-heading">
        <h2 id="usage-heading">Usage per day</h2>
        <div className="filters">
          <label>
            From (UTC day)
            <input
              type="date"
              value={from}
              max={to}
              onChange={(e) => setFrom(e.target.value)}
            />
          </label>
          <label>
            To (UTC day)
            <input
              type="date"
              value={to}
              min={from}
              onChange={(e) => setTo(e.target.value)}
            />
          </label>
          <label>
            Stack by
            <select
              value={dimension}
              onChange={(e) => setDimension(e.target.value as Dimension)}
            >
              <option value="provider">provider</option>
              <option value="model">model</option>
              <option value="client">client</option>
            </select>
          </label>
          <label>
            Show
            <select
              value={metric}
              onChange={(e) => setMetric(e.target.value as Metric)}
            >
              <option value="cost">spend (USD)</option>
              <option value="tokens">tokens</option>
            </select>
          </label>
        </div>
        {validRange ? (
          <Loadable
            resource={series}
            label="usage"
            isEmpty={(data) => data.items.length === 0}
            empty="No requests in this range."
          >
            {(data) => (
              <UsageChart
                points={data.items}
                dimension={dimension}
                metric={metric}
                from={from}
                to={to}
              />
            )}
          </Loadable>
        ) : (
          <p className="error" role="alert">
            Pick a start day on or before the end day.
          </p>
        )}
      </section>

      <div className="columns">
        <section aria-labelledby="top-clients-heading">
          <h2 id="top-clients-heading">Top clients</h2>
          <Loadable
            resource={topClients}
            label="top clients"
            isEmpty={(d) => d.items.length === 0}
            empty="No client used the proxy in this range."
          >
            {(data) => <TopTable entries={data.items} kind="client" />}
          </Loadable>
        </section>
        <section aria-labelledby="top-models-heading">
          <h2 id="top-models-heading">Top models</h2>
          <Loadable
            resource={topModels}
            label="top models"
            isEmpty={(d) => d.items.length === 0}
            empty="No model was used in this range."
          >
            {(data) => <TopTable entries={data.items} kind="model" />}
          </Loadable>
        </section>
      </div>

      <section aria-labelledby="credit-heading">
        <h2 id="credit-heading">Prepaid credit</h2>
        <Loadable
          resource={runway}
          label="prepaid credit"
          isEmpty={(d) => d.items.length === 0}
          empty="No provider is prepaid."
        >
          {(data) => (
            <TableBox label="Prepaid credit">
              <thead>
                <tr>
                  <th scope="col">Provider</th>
                  <th scope="col">Available</th>
                  <th scope="col">
                    Daily spend ({data.windowDays}-day average)
                  </th>
                  <th scope="col">Days left</th>
                </tr>
              </thead>
              <tbody>
                {data.items.map((item) => (
                  <tr key={item.providerId}>
                    <td>
                      <Link to={`/providers/${item.providerId}`}>
                        {item.providerName}
                      </Link>
                    </td>
                    <td className="num">{usd(item.available)}</td>
                    <td className="num">{usd(item.dailySpend)}</td>
                    <td className="num">
                      {item.daysLeft === null
                        ? "no recent spend"
                        : `${item.daysLeft} days`}
                    </td>
                  </tr>
                ))}
              </tbody>
            </TableBox>
          )}
        </Loadable>
      </section>
    </>
  );
}

function ErrorRate(props: { report: ErrorRates }) {
  const { report } = props;
  const failed = report.items
    .filter((item) => item.status !== "completed")
    .reduce((sum, item) => sum + item.requests, 0);
  return (
    <p data-testid="error-rate">
      Error rate over the last 24 hours:{" "}
      <strong>
        {report.total === 0 ? "no requests" : percent(failed / report.total)}
      </strong>{" "}
      ({count(failed)} of {count(report.total)} requests failed or broke off)
    </p>
  );
}

function TopTable(props: { entries: TopEntry[]; kind: "client" | "model" }) {
  return (
    <TableBox label={props.kind === "client" ? "Top clients" : "Top models"}>
      <thead>
        <tr>
          <th scope="col">{props.kind === "client" ? "Client" : "Model"}</th>
          <th scope="col">Requests</th>
          <th scope="col">Tokens</th>
          <th scope="col">Cost</th>
        </tr>
      </thead>
      <tbody>
        {props.entries.map((entry) => (
          <tr key={entry.key}>
            <td>
              {entry.clientId !== null ? (
                <Link to={`/clients/${entry.clientId}`}>{entry.key}</Link>
              ) : (
                entry.key
              )}
            </td>
            <td className="num">{count(entry.requests)}</td>
            <td className="num">
              {count(entry.promptTokens + entry.completionTokens)}
            </td>
            <td className="num">{usd(entry.cost)}</td>
          </tr>
        ))}
      </tbody>
    </TableBox>
  );
}
