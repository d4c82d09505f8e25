import { Migration } from "@mikro-orm/migrations";

/**
 * Adds per-client limits (requests and tokens per minute, concurrent requests, daily and monthly budgets), the
 * counters admission checks them against, and the client holds of each credit reservation.
 */
export class Migration20261218090000ClientLimits extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      'alter table "clients" add column "requests_per_minute" int null, add column "tokens_per_minute" int null, add column "max_concurrent_requests" int null, add column "daily_budget" bigint null, add column "monthly_budget" bigint null, add column "concurrent_requests" int not null default 0, add column "rate_window" bigint not null default 0, add column "rate_window_requests" int not null default 0, add column "rate_window_tokens" bigint not null default 0, add column "budget_day" varchar(10) null, add column "budget_day_spent" bigint not null default 0, add column "budget_day_held" bigint not null default 0, add column "budget_month" varchar(7) null, add column "budget_month_spent" bigint not null default 0, add column "budget_month_held" bigint not null default 0',
    );
    this.addSql(
      'alter table "clients" add constraint clients_limits_check check ((requests_per_minute is null or requests_per_minute >= 0) and (tokens_per_minute is null or tokens_per_minute >= 0) and (max_concurrent_requests is null or max_concurrent_requests >= 0) and (daily_budget is null or daily_budget >= 0) and (monthly_budget is null or monthly_budget >= 0))',
    );
    this.addSql(
      'alter table "clients" add constraint clients_limit_counters_check check (concurrent_requests >= 0 and rate_window >= 0 and rate_window_requests >= 0 and rate_window_tokens >= 0 and budget_day_spent >= 0 and budget_day_held >= 0 and budget_month_spent >= 0 and budget_month_held >= 0)',
    );
    this.addSql(
      'alter table "credit_reservations" add column "budget_day" varchar(10) null, add column "budget_month" varchar(7) null, add column "budget_held" bigint not null default 0, add column "rate_window" bigint null, add column "tokens_held" bigint not null default 0',
    );
    this.addSql(
      'alter table "credit_reservations" add constraint credit_reservations_client_hold_check check (budget_held >= 0 and tokens_held >= 0)',
    );
  }

  override async down(): Promise<void> {
    this.addSql(
      'alter table "credit_reservations" drop constraint "credit_reservations_client_hold_check"',
    );
    this.addSql(
      'alter table "credit_reservations" drop column "budget_day", drop column "budget_month", drop column "budget_held", drop column "rate_window", drop column "tokens_held"',
    );
    this.addSql(
      'alter table "clients" drop constraint "clients_limit_counters_check"',
    );
    this.addSql('alter table "clients" drop constraint "clients_limits_check"');
    this.addSql(
      'alter table "clients" drop column "requests_per_minute", drop column "tokens_per_minute", drop column "max_concurrent_requests", drop column "daily_budget", drop column "monthly_budget", drop column "concurrent_requests", drop column "rate_window", drop column "rate_window_requests", drop column "rate_window_tokens", drop column "budget_day", drop column "budget_day_spent", drop column "budget_day_held", drop column "budget_month", drop column "budget_month_spent", drop column "budget_month_held"',
    );
  }
}
