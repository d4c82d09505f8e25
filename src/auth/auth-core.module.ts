import { Module } from "@nestjs/common";

import { AuditModule } from "../audit/audit.module";
import { AdminSessionService } from "./admin-session.service";
import { UsersService } from "./users.service";

/** Users and sessions without any HTTP part, for the service and the command-line tool alike. */
@Module({
  imports: [AuditModule],
  providers: [UsersService, AdminSessionService],
  exports: [UsersService, AdminSessionService],
})
export class AuthCoreModule {}
