import { Migration } from "@mikro-orm/migrations";

/** Adds admin sessions, the failed sign-in counters and pending OpenID Connect sign-ins. */
export class Migration20261215090000AdminSignIn extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      'create table "admin_sessions" ("id" varchar(32) not null, "user_id" int not null, "token_hash" varchar(64) not null, "method" varchar(16) not null, "expires_at" timestamptz not null, "revoked_at" timestamptz null, "created_at" timestamptz not null, constraint "admin_sessions_pkey" primary key ("id"))',
    );
    this.addSql(
      'create index "admin_sessions_user_id_index" on "admin_sessions" ("user_id")',
    );
    this.addSql(
      'alter table "admin_sessions" add constraint "admin_sessions_token_hash_unique" unique ("token_hash")',
    );
    this.addSql(
      'create index "admin_sessions_expires_at_index" on "admin_sessions" ("expires_at")',
    );
    this.addSql(
      'alter table "admin_sessions" add constraint "admin_sessions_user_id_foreign" foreign key ("user_id") references "users" ("id") on update cascade on delete cascade',
    );
    this.addSql(
      'create table "admin_sign_in_failures" ("subject" varchar(300) not null, "failures" int not null, "window_started_at" timestamptz not null, "locked_until" timestamptz null, constraint "admin_sign_in_failures_pkey" primary key ("subject"))',
    );
    this.addSql(
      'create table "oidc_flows" ("id_hash" varchar(64) not null, "state" varchar(128) not null, "nonce" varchar(128) not null, "code_verifier" varchar(128) not null, "expires_at" timestamptz not null, constraint "oidc_flows_pkey" primary key ("id_hash"))',
    );
    this.addSql(
      'create index "oidc_flows_expires_at_index" on "oidc_flows" ("expires_at")',
    );
  }

  override async down(): Promise<void> {
    this.addSql('drop table if exists "oidc_flows" cascade');
    this.addSql('drop table if exists "admin_sign_in_failures" cascade');
    this.addSql('drop table if exists "admin_sessions" cascade');
  }
}
