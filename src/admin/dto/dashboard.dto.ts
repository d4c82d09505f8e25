import { createZodDto } from "nestjs-zod";
import { z } from "zod";

import { CreditRunway, TopEntry } from "../dashboard-report.service";
import { usd, usdOutput } from "./common.dto";
import { MAX_SERIES_DAYS } from "./usage.dto";

const DAY_MS = 86_400_000;
const day = z.iso.date();

export class DashboardTopQueryDto extends createZodDto(
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
      by: z.enum(["client", "model"]).meta({
        description: "Rank clients or models",
        example: "client",
      }),
      limit: z.coerce
        .number()
        .int()
        .min(1)
        .max(50)
        .default(5)
        .meta({ description: "How many to return, 1 to 50", example: 5 }),
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

export class DashboardRunwayQueryDto extends createZodDto(
  z.strictObject({
    windowDays: z.coerce.number().int().min(1).max(90).default(7).meta({
      description:
        "Average the spend over this many UTC days, today included, 1 to 90",
      example: 7,
    }),
  }),
) {}

const count = (example: number) => z.number().int().meta({ example });

const topSchema = z.object({
  key: z.string().meta({
    description: "The client's name or the model's public name",
    example: "billing-service",
  }),
  clientId: z.number().int().meta({ example: 1 }).nullable(),
  requests: count(1200),
  promptTokens: count(350000),
  completionTokens: count(90000),
  cost: usdOutput,
});

export class DashboardTopResponseDto extends createZodDto(
  z.object({ items: z.array(topSchema) }),
) {}

const runwaySchema = z.object({
  providerId: count(1),
  providerName: z.string().meta({ example: "openai" }),
  creditBalance: usdOutput,
  available: usdOutput.meta({
    description: "Balance less credit held by requests in flight, USD",
    example: "24.987500000",
  }),
  spent: usdOutput.meta({
    description: "Spend over the window, USD",
    example: "7.000000000",
  }),
  dailySpend: usdOutput.meta({
    description: "Average spend per day over the window, USD, rounded down",
    example: "1.000000000",
  }),
  daysLeft: z
    .string()
    .regex(/^\d+\.\d$/)
    .meta({
      description:
        "Days the available credit lasts at the daily spend, one decimal, rounded down; null when nothing was spent",
      example: "24.9",
    })
    .nullable(),
});

export class DashboardRunwayResponseDto extends createZodDto(
  z.object({ windowDays: count(7), items: z.array(runwaySchema) }),
) {}

export const toTopResponse = (entries: TopEntry[]) => ({
  items: entries.map((entry) => ({ ...entry, cost: usd(entry.cost) })),
});

export const toRunwayResponse = (
  windowDays: number,
  items: CreditRunway[],
) => ({
  windowDays,
  items: items.map((item) => ({
    providerId: item.provider.id,
    providerName: item.provider.name,
    creditBalance: usd(item.provider.creditBalance),
    available: usd(item.available),
    spent: usd(item.spent),
    dailySpend: usd(item.dailySpend),
    daysLeft:
      item.tenthsOfDaysLeft === null
        ? null
        : `${item.tenthsOfDaysLeft / 10n}.${item.tenthsOfDaysLeft % 10n}`,
  })),
});
