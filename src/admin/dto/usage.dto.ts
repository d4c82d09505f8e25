import { createZodDto } from "nestjs-zod";
import { z } from "zod";

import {
  ErrorRateReport,
  USAGE_DIMENSIONS,
  UsagePoint,
  UsageTotals,
} from "../../billing/usage-report.service";
import {
  idSchema,
  timestampInput,
  timestampOutput,
  usd,
  usdOutput,
} from "./common.dto";

/** Maximum range of a daily series, in days. */
export const MAX_SERIES_DAYS = 366;
/** Maximum range of an error-rate report, in days, because it reads request rows rather than rollups. */
export const MAX_ERROR_RANGE_DAYS = 31;
const DAY_MS = 86_400_000;

const day = z.iso.date().meta({ example: "2026-12-01" });

const filters = {
  clientId: idSchema.optional(),
  providerId: idSchema.optional(),
};

export class UsageSeriesQueryDto extends createZodDto(
  z
    .strictObject({
      from: day.meta({
        description: "First UTC day, inclusive",
        example: "2026-12-01",
      }),
      to: day.meta({
        description: "Last UTC day, inclusive",
        example: "2026-12-31",
      }),
      ...filters,
      model: z
        .string()
        .min(1)
        .max(200)
        .optional()
        .meta({ example: "gpt-4o-mini" }),
      groupBy: z
        .string()
        .default(USAGE_DIMENSIONS.join(","))
        .transform((text) => (text === "" ? [] : text.split(",")))
        .pipe(z.array(z.enum(USAGE_DIMENSIONS)))
        .transform((dimensions) => [...new Set(dimensions)])
        .meta({
          description:
            "Comma-separated dimensions besides the day: client, provider, model; empty for daily totals",
          example: "client,model",
        }),
    })
    .refine((query) => query.from <= query.to, {
      message: "from must not be after to",
      path: ["from"],
    })
    .refine(
      (query) =>
        Date.parse(query.to) - Date.parse(query.from) <
        MAX_SERIES_DAYS * DAY_MS,
      {
        message: `the range must be at most ${MAX_SERIES_DAYS} days`,
        path: ["to"],
      },
    ),
) {}

export class UsageTodayQueryDto extends createZodDto(z.strictObject(filters)) {}

export class ErrorRateQueryDto extends createZodDto(
  z
    .strictObject({
      from: timestampInput.meta({ description: "Start, inclusive" }),
      to: timestampInput.meta({
        description: "End, exclusive",
        example: "2026-12-05T00:00:00Z",
      }),
      ...filters,
    })
    .refine((query) => query.from < query.to, {
      message: "from must be before to",
      path: ["from"],
    })
    .refine(
      (query) =>
        query.to.getTime() - query.from.getTime() <=
        MAX_ERROR_RANGE_DAYS * DAY_MS,
      {
        message: `the range must be at most ${MAX_ERROR_RANGE_DAYS} days`,
        path: ["to"],
      },
    ),
) {}

const count = (example: number) => z.number().int().meta({ example });

const totalsSchema = z.object({
  requests: count(1200),
  failedRequests: count(3),
  estimatedRequests: count(1),
  promptTokens: count(350000),
  completionTokens: count(90000),
  cacheReadTokens: count(120000),
  cacheWriteTokens: count(0),
  reasoningTokens: count(0),
  cost: usdOutput,
});

const pointSchema = totalsSchema.extend({
  day,
  clientId: z.number().int().optional().meta({ example: 1 }),
  clientName: z.string().optional().meta({ example: "billing-service" }),
  providerId: z.number().int().optional().meta({ example: 1 }),
  providerName: z.string().optional().meta({ example: "openai" }),
  model: z.string().optional().meta({ example: "gpt-4o-mini" }),
});

export class UsageSeriesResponseDto extends createZodDto(
  z.object({ items: z.array(pointSchema) }),
) {}

export class UsageTodayResponseDto extends createZodDto(
  totalsSchema.extend({ day }),
) {}

export class ErrorRateResponseDto extends createZodDto(
  z.object({
    from: timestampOutput,
    to: timestampOutput,
    total: count(1200),
    items: z.array(
      z.object({
        status: z.string().meta({ example: "failed" }),
        errorClass: z.string().meta({ example: "upstream_5xx" }).nullable(),
        upstreamStatus: z.number().int().meta({ example: 502 }).nullable(),
        requests: count(3),
        share: z.number().meta({
          description: "Fraction of all requests in the range, 0 to 1",
          example: 0.0025,
        }),
      }),
    ),
  }),
) {}

function totals(value: UsageTotals): z.input<typeof totalsSchema> {
  return { ...value, cost: usd(value.cost) };
}

export const toSeriesResponse = (points: UsagePoint[]) => ({
  items: points.map((point) => ({ ...point, ...totals(point) })),
});

export const toTodayResponse = (value: UsageTotals, now = new Date()) => ({
  day: now.toISOString().slice(0, 10),
  ...totals(value),
});

export const toErrorRateResponse = (report: ErrorRateReport) => ({
  from: report.from.toISOString(),
  to: report.to.toISOString(),
  total: report.total,
  items: report.rows.map((row) => ({
    ...row,
    share: report.total === 0 ? 0 : row.requests / report.total,
  })),
});
