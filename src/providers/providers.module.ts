import { Module } from "@nestjs/common";

import { ModelResolver } from "./model-resolver.service";
import { ProvidersService } from "./providers.service";

@Module({
  providers: [ProvidersService, ModelResolver],
  exports: [ProvidersService, ModelResolver],
})
export class ProvidersModule {}
