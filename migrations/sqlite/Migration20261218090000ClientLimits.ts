import { Migration } from "@mikro-orm/migrations";

const CLIENT_COLUMNS =
  "`id`, `name`, `status`, `allowed_models`, `total_requests`, `total_prompt_tokens`, `total_completion_tokens`, `total_cached_tokens`, `total_reasoning_tokens`, `total_cost`, `created_at`, `updated_at`";

const RESERVATION_COLUMNS =
  "`id`, `request_id`, `provider_id`, `client_id`, `amount`, `status`, `expires_at`, `created_at`, `settled_at`";

const CLIENTS_V2 =
  "create table `clients` (`id` integer not null primary key autoincrement, `name` text not null, `status` text check (`status` in ('active', 'disabled')) not null default 'active', `allowed_models` json null, `total_requests` bigint not null default 0, `total_prompt_tokens` bigint not null default 0, `total_completion_tokens` bigint not null default 0, `total_cached_tokens` bigint not null default 0, `total_reasoning_tokens` bigint not null default 0, `total_cost` bigint not null default 0, `requests_per_minute` integer null, `tokens_per_minute` integer null, `max_concurrent_requests` integer null, `daily_budget` bigint null, `monthly_budget` bigint null, `concurrent_requests` integer not null default 0, `rate_window` bigint not null default 0, `rate_window_requests` integer not null default 0, `rate_window_tokens` bigint not null default 0, `budget_day` text null, `budget_day_spent` bigint not null default 0, `budget_day_held` bigint not null default 0, `budget_month` text null, `budget_month_spent` bigint not null default 0, `budget_month_held` bigint not null default 0, `created_at` datetime not null, `updated_at` datetime not null, constraint clients_limit_counters_check check (concurrent_requests >= 0 and rate_window >= 0 and rate_window_requests >= 0 and rate_window_tokens >= 0 and budget_day_spent >= 0 and budget_day_held >= 0 and budget_month_spent >= 0 and budget_month_held >= 0), constraint clients_limits_check check ((requests_per_minute is null or requests_per_minute >= 0) and (tokens_per_minute is null or tokens_per_minute >= 0) and (max_concurrent_requests is null or max_concurrent_requests >= 0) and (daily_budget is null or daily_budget >= 0) and (monthly_budget is null or monthly_budget >= 0)), constraint clients_totals_check check (total_requests >= 0 and total_prompt_tokens >= 0 and total_completion_tokens >= 0 and total_cached_tokens >= 0 and total_reasoning_tokens >= 0 and total_cost >= 0))";

const CLIENTS_V1 =
  "create table `clients` (`id` integer not null primary key autoincrement, `name` text not null, `status` text check (`status` in ('active', 'disabled')) not null default 'active', `allowed_models` json null, `total_requests` bigint not null default 0, `total_prompt_tokens` bigint not null default 0, `total_completion_tokens` bigint not null default 0, `total_cached_tokens` bigint not null default 0, `total_reasoning_tokens` bigint not null default 0, `total_cost` bigint not null default 0, `created_at` datetime not null, `updated_at` datetime not null, constraint clients_totals_check check (total_requests >= 0 and total_prompt_tokens >= 0 and total_completion_tokens >= 0 and total_cached_tokens >= 0 and total_reasoning_tokens >= 0 and total_cost >= 0))";

const RESERVATIONS_V2 =
  "create table `credit_reservations` (`id` integer not null primary key autoincrement, `request_id` text not null, `provider_id` integer not null, `client_id` integer not null, `amount` bigint not null, `budget_day` text null, `budget_month` text null, `budget_held` bigint not null default 0, `rate_window` bigint null, `tokens_held` bigint not null default 0, `status` text check (`status` in ('pending', 'posted', 'voided')) not null default 'pending', `expires_at` datetime not null, `created_at` datetime not null, `settled_at` datetime null, constraint `credit_reservations_provider_id_foreign` foreign key(`provider_id`) references `providers`(`id`) on delete restrict on update cascade, constraint `credit_reservations_client_id_foreign` foreign key(`client_id`) references `clients`(`id`) on delete restrict on update cascade, constraint credit_reservations_client_hold_check check (budget_held >= 0 and tokens_held >= 0), constraint credit_reservations_amount_check check (amount >= 0))";

const RESERVATIONS_V1 =
  "create table `credit_reservations` (`id` integer not null primary key autoincrement, `request_id` text not null, `provider_id` integer not null, `client_id` integer not null, `amount` bigint not null, `status` text check (`status` in ('pending', 'posted', 'voided')) not null default 'pending', `expires_at` datetime not null, `created_at` datetime not null, `settled_at` datetime null, constraint `credit_reservations_provider_id_foreign` foreign key(`provider_id`) references `providers`(`id`) on delete restrict on update cascade, constraint `credit_reservations_client_id_foreign` foreign key(`client_id`) references `clients`(`id`) on delete restrict on update cascade, constraint credit_reservations_amount_check check (amount >= 0))";

const CLIENT_INDEXES = [
  "create unique index `clients_name_unique` on `clients` (`name`)",
];

const RESERVATION_INDEXES = [
  "create unique index `credit_reservations_request_id_unique` on `credit_reservations` (`request_id`)",
  "create index `credit_reservations_provider_id_index` on `credit_reservations` (`provider_id`)",
  "create index `credit_reservations_client_id_index` on `credit_reservations` (`client_id`)",
  "create index `credit_reservations_status_expiry_idx` on `credit_reservations` (`status`, `expires_at`)",
];

/**
 * Adds per-client limits (requests and tokens per minute, concurrent requests, daily and monthly budgets), the
 * counters admission checks them against, and the client holds of each credit reservation. SQLite cannot add a
 * table CHECK constraint in place, so both tables are rebuilt by SQLite's documented procedure: a new table, a
 * copy, a drop and a rename. The migration runner turns foreign key enforcement off around migrations and checks
 * every reference afterwards, so dropping the old tables neither cascades nor fails.
 */
export class Migration20261218090000ClientLimits extends Migration {
  override async up(): Promise<void> {
    this.rebuild("clients", CLIENTS_V2, CLIENT_COLUMNS, CLIENT_INDEXES);
    this.rebuild(
      "credit_reservations",
      RESERVATIONS_V2,
      RESERVATION_COLUMNS,
      RESERVATION_INDEXES,
    );
  }

  override async down(): Promise<void> {
    this.rebuild(
      "credit_reservations",
      RESERVATIONS_V1,
      RESERVATION_COLUMNS,
      RESERVATION_INDEXES,
    );
    this.rebuild("clients", CLIENTS_V1, CLIENT_COLUMNS, CLIENT_INDEXES);
  }

  /** Replaces `table` with the table `create` makes, copying `columns` and the autoincrement counter, then recreates `indexes`. */
  private rebuild(
    table: string,
    create: string,
    columns: string,
    indexes: string[],
  ): void {
    const next = `${table}_rebuilt`;

    this.addSql(
      create.replace(`create table \`${table}\``, `create table \`${next}\``),
    );
    this.addSql(
      `insert into \`${next}\` (${columns}) select ${columns} from \`${table}\``,
    );
    this.addSql(`delete from sqlite_sequence where name = '${next}'`);
    this.addSql(
      `insert into sqlite_sequence (name, seq) select '${next}', seq from sqlite_sequence where name = '${table}'`,
    );
    this.addSql(`drop table \`${table}\``);
    this.addSql(`alter table \`${next}\` rename to \`${table}\``);
    for (const index of indexes) {
      this.addSql(index);
    }
  }
}
