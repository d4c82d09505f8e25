import { Module } from "@nestjs/common";

import { AuditModule } from "../audit/audit.module";
import { ModelResolver } from "./model-resolver.service";
import { ProvidersService } from "./providers.service";

@Module({
  imports: [AuditModule],
  providers: [ProvidersService, ModelResolver],
  exports: [ProvidersService, ModelResolver],
})
export class ProvidersModule {}
