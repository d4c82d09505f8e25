import { Module } from "@nestjs/common";

import { BillingModule } from "../billing/billing.module";
import { HealthController } from "./health.controller";
import { HealthService } from "./health.service";

@Module({
  imports: [BillingModule],
  controllers: [HealthController],
  providers: [HealthService],
})
export class HealthModule {}
