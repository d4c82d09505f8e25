import { Migration } from "@mikro-orm/migrations";

/** Creates the whole data model on PostgreSQL; the same tables, keys, checks and indexes as on SQLite. */
export class Migration20261204120000InitialSchema extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      'create table "clients" ("id" serial primary key, "name" varchar(200) not null, "status" text check ("status" in (\'active\', \'disabled\')) not null default \'active\', "allowed_models" jsonb null, "total_requests" bigint not null default 0, "total_prompt_tokens" bigint not null default 0, "total_completion_tokens" bigint not null default 0, "total_cached_tokens" bigint not null default 0, "total_reasoning_tokens" bigint not null default 0, "total_cost" bigint not null default 0, "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint clients_totals_check check (total_requests >= 0 and total_prompt_tokens >= 0 and total_completion_tokens >= 0 and total_cached_tokens >= 0 and total_reasoning_tokens >= 0 and total_cost >= 0))',
    );
    this.addSql(
      'alter table "clients" add constraint "clients_name_unique" unique ("name")',
    );
    this.addSql(
      'create table "client_tokens" ("id" serial primary key, "client_id" int not null, "token_hash" varchar(64) not null, "display_prefix" varchar(16) not null, "name" varchar(200) not null, "expires_at" timestamptz null, "revoked_at" timestamptz null, "last_used_at" timestamptz null, "created_at" timestamptz not null)',
    );
    this.addSql(
      'create index "client_tokens_client_id_index" on "client_tokens" ("client_id")',
    );
    this.addSql(
      'alter table "client_tokens" add constraint "client_tokens_token_hash_unique" unique ("token_hash")',
    );
    this.addSql(
      'create index "client_tokens_display_prefix_index" on "client_tokens" ("display_prefix")',
    );
    this.addSql(
      'create table "health_probes" ("replica" varchar(200) not null, "checked_at" timestamptz not null, constraint "health_probes_pkey" primary key ("replica"))',
    );
    this.addSql(
      'create table "job_runs" ("id" serial primary key, "job" varchar(64) not null, "started_at" timestamptz not null, "finished_at" timestamptz null, "outcome" text check ("outcome" in (\'running\', \'succeeded\', \'failed\')) not null default \'running\', "rows_affected" int not null default 0, "detail" text null, constraint job_runs_rows_check check (rows_affected >= 0))',
    );
    this.addSql(
      'create index "job_runs_job_time_idx" on "job_runs" ("job", "started_at")',
    );
    this.addSql(
      'create table "providers" ("id" serial primary key, "name" varchar(200) not null, "kind" text check ("kind" in (\'openai\')) not null, "base_url" varchar(2000) not null, "api_key_ciphertext" bytea null, "api_key_nonce" bytea null, "api_key_key_id" varchar(64) null, "api_key_last4" varchar(4) null, "billing_mode" text check ("billing_mode" in (\'prepaid\', \'postpaid\')) not null default \'postpaid\', "credit_balance" bigint not null default 0, "credit_reserved" bigint not null default 0, "supports_stream_options" boolean not null default true, "enabled" boolean not null default true, "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint providers_credit_check check (credit_balance >= 0 and credit_reserved >= 0 and credit_reserved <= credit_balance))',
    );
    this.addSql(
      'alter table "providers" add constraint "providers_name_unique" unique ("name")',
    );
    this.addSql(
      'create table "model_configs" ("id" serial primary key, "provider_id" int not null, "public_name" varchar(200) not null, "upstream_name" varchar(200) not null, "input_price" bigint not null, "output_price" bigint not null, "cache_read_price" bigint not null default 0, "cache_write_price" bigint not null default 0, "cache_write_1h_price" bigint not null default 0, "reasoning_price" bigint null, "context_window" int null, "max_output_tokens" int null, "enabled" boolean not null default true, "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint model_configs_limit_check check ((context_window is null or context_window > 0) and (max_output_tokens is null or max_output_tokens > 0)), constraint model_configs_price_check check (input_price >= 0 and output_price >= 0 and cache_read_price >= 0 and cache_write_price >= 0 and cache_write_1h_price >= 0 and (reasoning_price is null or reasoning_price >= 0)))',
    );
    this.addSql(
      'create index "model_configs_provider_id_index" on "model_configs" ("provider_id")',
    );
    this.addSql(
      'create index "model_configs_public_name_index" on "model_configs" ("public_name")',
    );
    this.addSql(
      'alter table "model_configs" add constraint "model_configs_provider_id_public_name_unique" unique ("provider_id", "public_name")',
    );
    this.addSql(
      'create table "llm_requests" ("id" serial primary key, "request_id" varchar(128) not null, "client_id" int not null, "token_id" int null, "provider_id" int not null, "model_config_id" int null, "model" varchar(200) not null, "endpoint" varchar(32) not null, "status" text check ("status" in (\'completed\', \'incomplete\', \'failed\')) not null, "error_class" varchar(64) null, "upstream_status" int null, "streamed" boolean not null, "prompt_tokens" int not null default 0, "completion_tokens" int not null default 0, "cache_read_tokens" int not null default 0, "cache_write_tokens" int not null default 0, "reasoning_tokens" int not null default 0, "usage_estimated" boolean not null default false, "cost" bigint not null default 0, "credit_shortfall" bigint not null default 0, "latency_ms" int not null default 0, "ttft_ms" int null, "created_at" timestamptz not null, constraint llm_requests_counts_check check (prompt_tokens >= 0 and completion_tokens >= 0 and cache_read_tokens >= 0 and cache_write_tokens >= 0 and reasoning_tokens >= 0 and cost >= 0 and credit_shortfall >= 0 and latency_ms >= 0))',
    );
    this.addSql(
      'alter table "llm_requests" add constraint "llm_requests_request_id_unique" unique ("request_id")',
    );
    this.addSql(
      'create index "llm_requests_token_id_index" on "llm_requests" ("token_id")',
    );
    this.addSql(
      'create index "llm_requests_model_config_id_index" on "llm_requests" ("model_config_id")',
    );
    this.addSql(
      'create index "llm_requests_created_at_index" on "llm_requests" ("created_at")',
    );
    this.addSql(
      'create index "llm_requests_status_time_idx" on "llm_requests" ("status", "created_at")',
    );
    this.addSql(
      'create index "llm_requests_provider_time_idx" on "llm_requests" ("provider_id", "created_at")',
    );
    this.addSql(
      'create index "llm_requests_client_time_idx" on "llm_requests" ("client_id", "created_at")',
    );
    this.addSql(
      'create table "credit_reservations" ("id" serial primary key, "request_id" varchar(128) not null, "provider_id" int not null, "client_id" int not null, "amount" bigint not null, "status" text check ("status" in (\'pending\', \'posted\', \'voided\')) not null default \'pending\', "expires_at" timestamptz not null, "created_at" timestamptz not null, "settled_at" timestamptz null, constraint credit_reservations_amount_check check (amount >= 0))',
    );
    this.addSql(
      'alter table "credit_reservations" add constraint "credit_reservations_request_id_unique" unique ("request_id")',
    );
    this.addSql(
      'create index "credit_reservations_provider_id_index" on "credit_reservations" ("provider_id")',
    );
    this.addSql(
      'create index "credit_reservations_client_id_index" on "credit_reservations" ("client_id")',
    );
    this.addSql(
      'create index "credit_reservations_status_expiry_idx" on "credit_reservations" ("status", "expires_at")',
    );
    this.addSql(
      'create table "balance_transactions" ("id" serial primary key, "provider_id" int not null, "kind" text check ("kind" in (\'topup\', \'debit\', \'adjustment\')) not null, "amount" bigint not null, "balance_after" bigint not null, "request_id" varchar(128) null, "actor" varchar(200) null, "note" varchar(1000) null, "created_at" timestamptz not null, constraint balance_transactions_amount_check check (amount <> 0 and balance_after >= 0))',
    );
    this.addSql(
      'alter table "balance_transactions" add constraint "balance_transactions_request_id_unique" unique ("request_id")',
    );
    this.addSql(
      'create index "balance_transactions_provider_time_idx" on "balance_transactions" ("provider_id", "created_at")',
    );
    this.addSql(
      'create table "usage_daily" ("id" serial primary key, "day" varchar(10) not null, "client_id" int not null, "provider_id" int not null, "model" varchar(200) not null, "requests" bigint not null default 0, "failed_requests" bigint not null default 0, "estimated_requests" bigint not null default 0, "prompt_tokens" bigint not null default 0, "completion_tokens" bigint not null default 0, "cache_read_tokens" bigint not null default 0, "cache_write_tokens" bigint not null default 0, "reasoning_tokens" bigint not null default 0, "cost" bigint not null default 0, constraint usage_daily_counts_check check (requests >= 0 and failed_requests >= 0 and estimated_requests >= 0 and prompt_tokens >= 0 and completion_tokens >= 0 and cache_read_tokens >= 0 and cache_write_tokens >= 0 and reasoning_tokens >= 0 and cost >= 0))',
    );
    this.addSql(
      'create index "usage_daily_client_id_index" on "usage_daily" ("client_id")',
    );
    this.addSql(
      'create index "usage_daily_provider_day_idx" on "usage_daily" ("provider_id", "day")',
    );
    this.addSql(
      'alter table "usage_daily" add constraint "usage_daily_key_unique" unique ("day", "client_id", "provider_id", "model")',
    );
    this.addSql(
      'create table "users" ("id" serial primary key, "username" varchar(200) not null, "email" varchar(320) null, "password_hash" varchar(255) null, "sso_issuer" varchar(500) null, "sso_subject" varchar(255) null, "role" text check ("role" in (\'admin\', \'operator\', \'viewer\')) not null, "disabled" boolean not null default false, "last_sign_in_at" timestamptz null, "created_at" timestamptz not null)',
    );
    this.addSql(
      'alter table "users" add constraint "users_username_unique" unique ("username")',
    );
    this.addSql(
      'alter table "users" add constraint "users_sso_identity_unique" unique ("sso_issuer", "sso_subject")',
    );
    this.addSql(
      'alter table "client_tokens" add constraint "client_tokens_client_id_foreign" foreign key ("client_id") references "clients" ("id") on update cascade on delete cascade',
    );
    this.addSql(
      'alter table "model_configs" add constraint "model_configs_provider_id_foreign" foreign key ("provider_id") references "providers" ("id") on update cascade on delete cascade',
    );
    this.addSql(
      'alter table "llm_requests" add constraint "llm_requests_client_id_foreign" foreign key ("client_id") references "clients" ("id") on update cascade on delete restrict',
    );
    this.addSql(
      'alter table "llm_requests" add constraint "llm_requests_token_id_foreign" foreign key ("token_id") references "client_tokens" ("id") on update cascade on delete set null',
    );
    this.addSql(
      'alter table "llm_requests" add constraint "llm_requests_provider_id_foreign" foreign key ("provider_id") references "providers" ("id") on update cascade on delete restrict',
    );
    this.addSql(
      'alter table "llm_requests" add constraint "llm_requests_model_config_id_foreign" foreign key ("model_config_id") references "model_configs" ("id") on update cascade on delete set null',
    );
    this.addSql(
      'alter table "credit_reservations" add constraint "credit_reservations_provider_id_foreign" foreign key ("provider_id") references "providers" ("id") on update cascade on delete restrict',
    );
    this.addSql(
      'alter table "credit_reservations" add constraint "credit_reservations_client_id_foreign" foreign key ("client_id") references "clients" ("id") on update cascade on delete restrict',
    );
    this.addSql(
      'alter table "balance_transactions" add constraint "balance_transactions_provider_id_foreign" foreign key ("provider_id") references "providers" ("id") on update cascade on delete restrict',
    );
    this.addSql(
      'alter table "usage_daily" add constraint "usage_daily_client_id_foreign" foreign key ("client_id") references "clients" ("id") on update cascade on delete restrict',
    );
    this.addSql(
      'alter table "usage_daily" add constraint "usage_daily_provider_id_foreign" foreign key ("provider_id") references "providers" ("id") on update cascade on delete restrict',
    );
  }

  override async down(): Promise<void> {
    this.addSql('drop table if exists "users" cascade');
    this.addSql('drop table if exists "usage_daily" cascade');
    this.addSql('drop table if exists "balance_transactions" cascade');
    this.addSql('drop table if exists "credit_reservations" cascade');
    this.addSql('drop table if exists "llm_requests" cascade');
    this.addSql('drop table if exists "model_configs" cascade');
    this.addSql('drop table if exists "providers" cascade');
    this.addSql('drop table if exists "job_runs" cascade');
    this.addSql('drop table if exists "health_probes" cascade');
    this.addSql('drop table if exists "client_tokens" cascade');
    this.addSql('drop table if exists "clients" cascade');
  }
}
