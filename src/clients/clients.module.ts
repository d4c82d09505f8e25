import { Module } from "@nestjs/common";

import { AuditModule } from "../audit/audit.module";
import { ClientTokenGuard } from "./client-token.guard";
import { ClientsService } from "./clients.service";
import { TokenAuthenticator } from "./token-authenticator.service";

@Module({
  imports: [AuditModule],
  providers: [ClientsService, TokenAuthenticator, ClientTokenGuard],
  exports: [ClientsService, TokenAuthenticator, ClientTokenGuard],
})
export class ClientsModule {}
