import { Migration } from "@mikro-orm/migrations";

/** Creates the whole data model: clients and tokens, providers and models, requests, credit, ledger, rollups, users, job runs. */
export class Migration20261204120000InitialSchema extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      "create table `clients` (`id` integer not null primary key autoincrement, `name` text not null, `status` text check (`status` in ('active', 'disabled')) not null default 'active', `allowed_models` json null, `total_requests` bigint not null default 0, `total_prompt_tokens` bigint not null default 0, `total_completion_tokens` bigint not null default 0, `total_cached_tokens` bigint not null default 0, `total_reasoning_tokens` bigint not null default 0, `total_cost` bigint not null default 0, `created_at` datetime not null, `updated_at` datetime not null, constraint clients_totals_check check (total_requests >= 0 and total_prompt_tokens >= 0 and total_completion_tokens >= 0 and total_cached_tokens >= 0 and total_reasoning_tokens >= 0 and total_cost >= 0))",
    );
    this.addSql(
      "create unique index `clients_name_unique` on `clients` (`name`)",
    );
    this.addSql(
      "create table `client_tokens` (`id` integer not null primary key autoincrement, `client_id` integer not null, `token_hash` text not null, `display_prefix` text not null, `name` text not null, `expires_at` datetime null, `revoked_at` datetime null, `last_used_at` datetime null, `created_at` datetime not null, constraint `client_tokens_client_id_foreign` foreign key(`client_id`) references `clients`(`id`) on delete cascade on update cascade)",
    );
    this.addSql(
      "create index `client_tokens_client_id_index` on `client_tokens` (`client_id`)",
    );
    this.addSql(
      "create unique index `client_tokens_token_hash_unique` on `client_tokens` (`token_hash`)",
    );
    this.addSql(
      "create index `client_tokens_display_prefix_index` on `client_tokens` (`display_prefix`)",
    );
    this.addSql(
      "create table `health_probes` (`replica` text not null, `checked_at` datetime not null, primary key (`replica`))",
    );
    this.addSql(
      "create table `job_runs` (`id` integer not null primary key autoincrement, `job` text not null, `started_at` datetime not null, `finished_at` datetime null, `outcome` text check (`outcome` in ('running', 'succeeded', 'failed')) not null default 'running', `rows_affected` integer not null default 0, `detail` text null, constraint job_runs_rows_check check (rows_affected >= 0))",
    );
    this.addSql(
      "create index `job_runs_job_time_idx` on `job_runs` (`job`, `started_at`)",
    );
    this.addSql(
      "create table `providers` (`id` integer not null primary key autoincrement, `name` text not null, `kind` text check (`kind` in ('openai')) not null, `base_url` text not null, `api_key_ciphertext` blob null, `api_key_nonce` blob null, `api_key_key_id` text null, `api_key_last4` text null, `billing_mode` text check (`billing_mode` in ('prepaid', 'postpaid')) not null default 'postpaid', `credit_balance` bigint not null default 0, `credit_reserved` bigint not null default 0, `supports_stream_options` integer not null default true, `enabled` integer not null default true, `created_at` datetime not null, `updated_at` datetime not null, constraint providers_credit_check check (credit_balance >= 0 and credit_reserved >= 0 and credit_reserved <= credit_balance))",
    );
    this.addSql(
      "create unique index `providers_name_unique` on `providers` (`name`)",
    );
    this.addSql(
      "create table `model_configs` (`id` integer not null primary key autoincrement, `provider_id` integer not null, `public_name` text not null, `upstream_name` text not null, `input_price` bigint not null, `output_price` bigint not null, `cache_read_price` bigint not null default 0, `cache_write_price` bigint not null default 0, `cache_write_1h_price` bigint not null default 0, `reasoning_price` bigint null, `context_window` integer null, `max_output_tokens` integer null, `enabled` integer not null default true, `created_at` datetime not null, `updated_at` datetime not null, constraint `model_configs_provider_id_foreign` foreign key(`provider_id`) references `providers`(`id`) on delete cascade on update cascade, constraint model_configs_limit_check check ((context_window is null or context_window > 0) and (max_output_tokens is null or max_output_tokens > 0)), constraint model_configs_price_check check (input_price >= 0 and output_price >= 0 and cache_read_price >= 0 and cache_write_price >= 0 and cache_write_1h_price >= 0 and (reasoning_price is null or reasoning_price >= 0)))",
    );
    this.addSql(
      "create index `model_configs_provider_id_index` on `model_configs` (`provider_id`)",
    );
    this.addSql(
      "create index `model_configs_public_name_index` on `model_configs` (`public_name`)",
    );
    this.addSql(
      "create unique index `model_configs_provider_id_public_name_unique` on `model_configs` (`provider_id`, `public_name`)",
    );
    this.addSql(
      "create table `llm_requests` (`id` integer not null primary key autoincrement, `request_id` text not null, `client_id` integer not null, `token_id` integer null, `provider_id` integer not null, `model_config_id` integer null, `model` text not null, `endpoint` text not null, `status` text check (`status` in ('completed', 'incomplete', 'failed')) not null, `error_class` text null, `upstream_status` integer null, `streamed` integer not null, `prompt_tokens` integer not null default 0, `completion_tokens` integer not null default 0, `cache_read_tokens` integer not null default 0, `cache_write_tokens` integer not null default 0, `reasoning_tokens` integer not null default 0, `usage_estimated` integer not null default false, `cost` bigint not null default 0, `credit_shortfall` bigint not null default 0, `latency_ms` integer not null default 0, `ttft_ms` integer null, `created_at` datetime not null, constraint `llm_requests_client_id_foreign` foreign key(`client_id`) references `clients`(`id`) on delete restrict on update cascade, constraint `llm_requests_token_id_foreign` foreign key(`token_id`) references `client_tokens`(`id`) on delete set null on update cascade, constraint `llm_requests_provider_id_foreign` foreign key(`provider_id`) references `providers`(`id`) on delete restrict on update cascade, constraint `llm_requests_model_config_id_foreign` foreign key(`model_config_id`) references `model_configs`(`id`) on delete set null on update cascade, constraint llm_requests_counts_check check (prompt_tokens >= 0 and completion_tokens >= 0 and cache_read_tokens >= 0 and cache_write_tokens >= 0 and reasoning_tokens >= 0 and cost >= 0 and credit_shortfall >= 0 and latency_ms >= 0))",
    );
    this.addSql(
      "create unique index `llm_requests_request_id_unique` on `llm_requests` (`request_id`)",
    );
    this.addSql(
      "create index `llm_requests_token_id_index` on `llm_requests` (`token_id`)",
    );
    this.addSql(
      "create index `llm_requests_model_config_id_index` on `llm_requests` (`model_config_id`)",
    );
    this.addSql(
      "create index `llm_requests_created_at_index` on `llm_requests` (`created_at`)",
    );
    this.addSql(
      "create index `llm_requests_status_time_idx` on `llm_requests` (`status`, `created_at`)",
    );
    this.addSql(
      "create index `llm_requests_provider_time_idx` on `llm_requests` (`provider_id`, `created_at`)",
    );
    this.addSql(
      "create index `llm_requests_client_time_idx` on `llm_requests` (`client_id`, `created_at`)",
    );
    this.addSql(
      "create table `credit_reservations` (`id` integer not null primary key autoincrement, `request_id` text not null, `provider_id` integer not null, `client_id` integer not null, `amount` bigint not null, `status` text check (`status` in ('pending', 'posted', 'voided')) not null default 'pending', `expires_at` datetime not null, `created_at` datetime not null, `settled_at` datetime null, constraint `credit_reservations_provider_id_foreign` foreign key(`provider_id`) references `providers`(`id`) on delete restrict on update cascade, constraint `credit_reservations_client_id_foreign` foreign key(`client_id`) references `clients`(`id`) on delete restrict on update cascade, constraint credit_reservations_amount_check check (amount >= 0))",
    );
    this.addSql(
      "create unique index `credit_reservations_request_id_unique` on `credit_reservations` (`request_id`)",
    );
    this.addSql(
      "create index `credit_reservations_provider_id_index` on `credit_reservations` (`provider_id`)",
    );
    this.addSql(
      "create index `credit_reservations_client_id_index` on `credit_reservations` (`client_id`)",
    );
    this.addSql(
      "create index `credit_reservations_status_expiry_idx` on `credit_reservations` (`status`, `expires_at`)",
    );
    this.addSql(
      "create table `balance_transactions` (`id` integer not null primary key autoincrement, `provider_id` integer not null, `kind` text check (`kind` in ('topup', 'debit', 'adjustment')) not null, `amount` bigint not null, `balance_after` bigint not null, `request_id` text null, `actor` text null, `note` text null, `created_at` datetime not null, constraint `balance_transactions_provider_id_foreign` foreign key(`provider_id`) references `providers`(`id`) on delete restrict on update cascade, constraint balance_transactions_amount_check check (amount <> 0 and balance_after >= 0))",
    );
    this.addSql(
      "create unique index `balance_transactions_request_id_unique` on `balance_transactions` (`request_id`)",
    );
    this.addSql(
      "create index `balance_transactions_provider_time_idx` on `balance_transactions` (`provider_id`, `created_at`)",
    );
    this.addSql(
      "create table `usage_daily` (`id` integer not null primary key autoincrement, `day` text not null, `client_id` integer not null, `provider_id` integer not null, `model` text not null, `requests` bigint not null default 0, `failed_requests` bigint not null default 0, `estimated_requests` bigint not null default 0, `prompt_tokens` bigint not null default 0, `completion_tokens` bigint not null default 0, `cache_read_tokens` bigint not null default 0, `cache_write_tokens` bigint not null default 0, `reasoning_tokens` bigint not null default 0, `cost` bigint not null default 0, constraint `usage_daily_client_id_foreign` foreign key(`client_id`) references `clients`(`id`) on delete restrict on update cascade, constraint `usage_daily_provider_id_foreign` foreign key(`provider_id`) references `providers`(`id`) on delete restrict on update cascade, constraint usage_daily_counts_check check (requests >= 0 and failed_requests >= 0 and estimated_requests >= 0 and prompt_tokens >= 0 and completion_tokens >= 0 and cache_read_tokens >= 0 and cache_write_tokens >= 0 and reasoning_tokens >= 0 and cost >= 0))",
    );
    this.addSql(
      "create index `usage_daily_client_id_index` on `usage_daily` (`client_id`)",
    );
    this.addSql(
      "create index `usage_daily_provider_day_idx` on `usage_daily` (`provider_id`, `day`)",
    );
    this.addSql(
      "create unique index `usage_daily_key_unique` on `usage_daily` (`day`, `client_id`, `provider_id`, `model`)",
    );
    this.addSql(
      "create table `users` (`id` integer not null primary key autoincrement, `username` text not null, `email` text null, `password_hash` text null, `sso_issuer` text null, `sso_subject` text null, `role` text check (`role` in ('admin', 'operator', 'viewer')) not null, `disabled` integer not null default false, `last_sign_in_at` datetime null, `created_at` datetime not null)",
    );
    this.addSql(
      "create unique index `users_username_unique` on `users` (`username`)",
    );
    this.addSql(
      "create unique index `users_sso_identity_unique` on `users` (`sso_issuer`, `sso_subject`)",
    );
  }

  override async down(): Promise<void> {
    this.addSql("drop table if exists `users`");
    this.addSql("drop table if exists `usage_daily`");
    this.addSql("drop table if exists `balance_transactions`");
    this.addSql("drop table if exists `credit_reservations`");
    this.addSql("drop table if exists `llm_requests`");
    this.addSql("drop table if exists `model_configs`");
    this.addSql("drop table if exists `providers`");
    this.addSql("drop table if exists `job_runs`");
    this.addSql("drop table if exists `health_probes`");
    this.addSql("drop table if exists `client_tokens`");
    this.addSql("drop table if exists `clients`");
  }
}
