import { Module } from "@nestjs/common";

import { AuditService } from "./audit.service";

/** The audit trail of admin changes; owning services write their entries in the transaction of the change. */
@Module({
  providers: [AuditService],
  exports: [AuditService],
})
export class AuditModule {}
