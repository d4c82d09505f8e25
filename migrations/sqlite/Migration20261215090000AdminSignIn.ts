import { Migration } from "@mikro-orm/migrations";

/** Adds admin sessions, the failed sign-in counters and pending OpenID Connect sign-ins. */
export class Migration20261215090000AdminSignIn extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      "create table `admin_sessions` (`id` text not null, `user_id` integer not null, `token_hash` text not null, `method` text not null, `expires_at` datetime not null, `revoked_at` datetime null, `created_at` datetime not null, constraint `admin_sessions_user_id_foreign` foreign key(`user_id`) references `users`(`id`) on delete cascade on update cascade, primary key (`id`))",
    );
    this.addSql(
      "create index `admin_sessions_user_id_index` on `admin_sessions` (`user_id`)",
    );
    this.addSql(
      "create unique index `admin_sessions_token_hash_unique` on `admin_sessions` (`token_hash`)",
    );
    this.addSql(
      "create index `admin_sessions_expires_at_index` on `admin_sessions` (`expires_at`)",
    );
    this.addSql(
      "create table `admin_sign_in_failures` (`subject` text not null, `failures` integer not null, `window_started_at` datetime not null, `locked_until` datetime null, primary key (`subject`))",
    );
    this.addSql(
      "create table `oidc_flows` (`id_hash` text not null, `state` text not null, `nonce` text not null, `code_verifier` text not null, `expires_at` datetime not null, primary key (`id_hash`))",
    );
    this.addSql(
      "create index `oidc_flows_expires_at_index` on `oidc_flows` (`expires_at`)",
    );
  }

  override async down(): Promise<void> {
    this.addSql("drop table if exists `oidc_flows`");
    this.addSql("drop table if exists `admin_sign_in_failures`");
    this.addSql("drop table if exists `admin_sessions`");
  }
}
