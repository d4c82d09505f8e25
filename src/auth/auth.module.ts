import { Module } from "@nestjs/common";

/**
 * Dashboard users and admin sign-in. The `users` table (argon2id hash or SSO identity, role) is created by the
 * initial migration.
 */
// TODO: password and OpenID Connect sign-in, sessions and role guards belong here once the admin API exists.
@Module({})
export class AuthModule {}
