import { Migration } from "@mikro-orm/migrations";

const PROVIDER_COLUMNS =
  "`id`, `name`, `kind`, `base_url`, `api_key_ciphertext`, `api_key_nonce`, `api_key_key_id`, `api_key_last4`, `billing_mode`, `credit_balance`, `credit_reserved`, `supports_stream_options`, `enabled`, `created_at`, `updated_at`";

const MODEL_COLUMNS =
  "`id`, `provider_id`, `public_name`, `upstream_name`, `input_price`, `output_price`, `cache_read_price`, `cache_write_price`, `cache_write_1h_price`, `reasoning_price`, `context_window`, `max_output_tokens`, `enabled`, `created_at`, `updated_at`";

const PROVIDERS_V2 =
  "create table `providers` (`id` integer not null primary key autoincrement, `name` text not null, `kind` text check (`kind` in ('openai', 'anthropic', 'azure', 'gemini')) not null, `base_url` text not null, `api_key_ciphertext` blob null, `api_key_nonce` blob null, `api_key_key_id` text null, `api_key_last4` text null, `billing_mode` text check (`billing_mode` in ('prepaid', 'postpaid')) not null default 'postpaid', `credit_balance` bigint not null default 0, `credit_reserved` bigint not null default 0, `supports_stream_options` integer not null default true, `api_version` text null, `connect_timeout_ms` integer null, `first_token_timeout_ms` integer null, `total_timeout_ms` integer null, `enabled` integer not null default true, `created_at` datetime not null, `updated_at` datetime not null, constraint providers_credit_check check (credit_balance >= 0 and credit_reserved >= 0 and credit_reserved <= credit_balance))";

const PROVIDERS_V1 =
  "create table `providers` (`id` integer not null primary key autoincrement, `name` text not null, `kind` text check (`kind` in ('openai')) not null, `base_url` text not null, `api_key_ciphertext` blob null, `api_key_nonce` blob null, `api_key_key_id` text null, `api_key_last4` text null, `billing_mode` text check (`billing_mode` in ('prepaid', 'postpaid')) not null default 'postpaid', `credit_balance` bigint not null default 0, `credit_reserved` bigint not null default 0, `supports_stream_options` integer not null default true, `enabled` integer not null default true, `created_at` datetime not null, `updated_at` datetime not null, constraint providers_credit_check check (credit_balance >= 0 and credit_reserved >= 0 and credit_reserved <= credit_balance))";

const MODELS_V2 =
  "create table `model_configs` (`id` integer not null primary key autoincrement, `provider_id` integer not null, `public_name` text not null, `upstream_name` text not null, `input_price` bigint not null, `output_price` bigint not null, `cache_read_price` bigint not null default 0, `cache_write_price` bigint not null default 0, `cache_write_1h_price` bigint not null default 0, `reasoning_price` bigint null, `context_window` integer null, `max_output_tokens` integer null, `priority` integer not null default 0, `weight` integer not null default 1, `enabled` integer not null default true, `created_at` datetime not null, `updated_at` datetime not null, constraint `model_configs_provider_id_foreign` foreign key(`provider_id`) references `providers`(`id`) on delete cascade on update cascade, constraint model_configs_limit_check check ((context_window is null or context_window > 0) and (max_output_tokens is null or max_output_tokens > 0) and weight > 0), constraint model_configs_price_check check (input_price >= 0 and output_price >= 0 and cache_read_price >= 0 and cache_write_price >= 0 and cache_write_1h_price >= 0 and (reasoning_price is null or reasoning_price >= 0)))";

const MODELS_V1 =
  "create table `model_configs` (`id` integer not null primary key autoincrement, `provider_id` integer not null, `public_name` text not null, `upstream_name` text not null, `input_price` bigint not null, `output_price` bigint not null, `cache_read_price` bigint not null default 0, `cache_write_price` bigint not null default 0, `cache_write_1h_price` bigint not null default 0, `reasoning_price` bigint null, `context_window` integer null, `max_output_tokens` integer null, `enabled` integer not null default true, `created_at` datetime not null, `updated_at` datetime not null, constraint `model_configs_provider_id_foreign` foreign key(`provider_id`) references `providers`(`id`) on delete cascade on update cascade, constraint model_configs_limit_check check ((context_window is null or context_window > 0) and (max_output_tokens is null or max_output_tokens > 0)), constraint model_configs_price_check check (input_price >= 0 and output_price >= 0 and cache_read_price >= 0 and cache_write_price >= 0 and cache_write_1h_price >= 0 and (reasoning_price is null or reasoning_price >= 0)))";

const MODEL_INDEXES = [
  "create index `model_configs_provider_id_index` on `model_configs` (`provider_id`)",
  "create index `model_configs_public_name_index` on `model_configs` (`public_name`)",
  "create unique index `model_configs_provider_id_public_name_unique` on `model_configs` (`provider_id`, `public_name`)",
];

/**
 * Adds provider kinds (Anthropic, Azure OpenAI, Gemini), per-provider timeouts and Azure's API version, and
 * routing priority and weight on models. SQLite cannot change a CHECK constraint in place, so both tables are
 * rebuilt by SQLite's documented procedure: a new table, a copy, a drop and a rename. The migration runner
 * turns foreign key enforcement off around migrations and checks every reference afterwards, so dropping the old
 * table neither cascades nor fails.
 */
export class Migration20261217090000Routing extends Migration {
  override async up(): Promise<void> {
    this.rebuild("providers", PROVIDERS_V2, PROVIDER_COLUMNS, [
      "create unique index `providers_name_unique` on `providers` (`name`)",
    ]);
    this.rebuild("model_configs", MODELS_V2, MODEL_COLUMNS, MODEL_INDEXES);
  }

  override async down(): Promise<void> {
    this.rebuild("model_configs", MODELS_V1, MODEL_COLUMNS, MODEL_INDEXES);
    this.rebuild("providers", PROVIDERS_V1, PROVIDER_COLUMNS, [
      "create unique index `providers_name_unique` on `providers` (`name`)",
    ]);
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
