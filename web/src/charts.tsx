import {
  Bar,
  BarChart,
  CartesianGrid,
  Legend,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from "recharts";

import { UsagePoint } from "./api";
import { count, usd } from "./format";

export type Dimension = "provider" | "model" | "client";
export type Metric = "cost" | "tokens";

const COLORS = [
  "#2563eb",
  "#16a34a",
  "#d97706",
  "#9333ea",
  "#dc2626",
  "#0891b2",
  "#4b5563",
  "#db2777",
];

function seriesName(point: UsagePoint, dimension: Dimension): string {
  if (dimension === "provider") return point.providerName ?? "unknown";
  if (dimension === "client") return point.clientName ?? "unknown";
  return point.model ?? "unknown";
}

/** Formats a point's value exactly as the API returned it, for the tooltip. */
function exact(point: UsagePoint, metric: Metric): string {
  return metric === "cost"
    ? usd(point.cost)
    : `${count(point.promptTokens + point.completionTokens)} tokens`;
}

/** Lists the UTC days from `from` to `to`, inclusive, as `YYYY-MM-DD`, stopping after 366. */
function daysBetween(from: string, to: string): string[] {
  const days: string[] = [];
  const end = Date.parse(to);
  for (
    let time = Date.parse(from);
    time <= end && days.length < 366;
    time += 86_400_000
  ) {
    days.push(new Date(time).toISOString().slice(0, 10));
  }
  return days;
}

interface Row {
  day: string;
  [series: string]: number | string;
}

/**
 * Stacked bars per UTC day. Bar heights are numbers, because a chart needs them; the tooltip shows each
 * value as the API returned it.
 */
export function UsageChart(props: {
  points: UsagePoint[];
  dimension: Dimension;
  metric: Metric;
  from: string;
  to: string;
}) {
  const { points, dimension, metric } = props;
  const series = [
    ...new Set(points.map((point) => seriesName(point, dimension))),
  ];
  const exactValues = new Map<string, string>();
  // Every day of the range gets a slot, so days without requests show as gaps rather than disappearing.
  const rows = new Map<string, Row>(
    daysBetween(props.from, props.to).map((day) => [day, { day }]),
  );

  for (const point of points) {
    const name = seriesName(point, dimension);
    const row = rows.get(point.day) ?? { day: point.day };
    row[name] =
      metric === "cost"
        ? Number(point.cost)
        : point.promptTokens + point.completionTokens;
    exactValues.set(`${point.day}\u0000${name}`, exact(point, metric));
    rows.set(point.day, row);
  }

  return (
    <figure className="chart">
      <ResponsiveContainer width="100%" height={280}>
        <BarChart data={[...rows.values()]} margin={{ left: 8, right: 8 }}>
          <CartesianGrid strokeDasharray="3 3" />
          <XAxis dataKey="day" />
          <YAxis
            width={90}
            tickFormatter={(value: number) =>
              metric === "cost" ? `$${value}` : count(value)
            }
          />
          <Tooltip
            formatter={(_value, name, item) => [
              exactValues.get(
                `${(item.payload as Row).day}\u0000${String(name)}`,
              ) ?? "",
              name,
            ]}
          />
          <Legend />
          {series.map((name, index) => (
            <Bar
              key={name}
              dataKey={name}
              stackId="usage"
              fill={COLORS[index % COLORS.length]}
              isAnimationActive={false}
            />
          ))}
        </BarChart>
      </ResponsiveContainer>
      <figcaption>
        {metric === "cost" ? "Cost in USD" : "Prompt and completion tokens"} per
        UTC day, stacked by {dimension}
      </figcaption>
    </figure>
  );
}
