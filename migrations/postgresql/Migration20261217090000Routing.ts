import { Migration } from "@mikro-orm/migrations";

/** Adds provider kinds (Anthropic, Azure OpenAI, Gemini), per-provider timeouts and Azure's API version, and routing priority and weight on models. */
export class Migration20261217090000Routing extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      'alter table "providers" drop constraint "providers_kind_check"',
    );
    this.addSql(
      "alter table \"providers\" add constraint \"providers_kind_check\" check (\"kind\" in ('openai', 'anthropic', 'azure', 'gemini'))",
    );
    this.addSql(
      'alter table "providers" add column "api_version" varchar(40) null, add column "connect_timeout_ms" int null, add column "first_token_timeout_ms" int null, add column "total_timeout_ms" int null',
    );
    this.addSql(
      'alter table "model_configs" add column "priority" int not null default 0, add column "weight" int not null default 1',
    );
    this.addSql(
      'alter table "model_configs" drop constraint "model_configs_limit_check"',
    );
    this.addSql(
      'alter table "model_configs" add constraint model_configs_limit_check check ((context_window is null or context_window > 0) and (max_output_tokens is null or max_output_tokens > 0) and weight > 0)',
    );
  }

  override async down(): Promise<void> {
    this.addSql(
      'alter table "model_configs" drop constraint "model_configs_limit_check"',
    );
    this.addSql(
      'alter table "model_configs" add constraint model_configs_limit_check check ((context_window is null or context_window > 0) and (max_output_tokens is null or max_output_tokens > 0))',
    );
    this.addSql(
      'alter table "model_configs" drop column "priority", drop column "weight"',
    );
    this.addSql(
      'alter table "providers" drop column "api_version", drop column "connect_timeout_ms", drop column "first_token_timeout_ms", drop column "total_timeout_ms"',
    );
    this.addSql(
      'alter table "providers" drop constraint "providers_kind_check"',
    );
    this.addSql(
      'alter table "providers" add constraint "providers_kind_check" check ("kind" in (\'openai\'))',
    );
  }
}
