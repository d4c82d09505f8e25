import { Controller, Get, Res } from "@nestjs/common";
import { ApiOperation, ApiTags } from "@nestjs/swagger";
import { FastifyReply } from "fastify";

import { HealthService } from "./health.service";

@ApiTags("health")
@Controller("health")
export class HealthController {
  constructor(private readonly health: HealthService) {}

  @Get("live")
  @ApiOperation({
    summary: "Liveness: the process is running and serving HTTP",
  })
  live() {
    return { status: "ok" };
  }

  @Get("ready")
  @ApiOperation({
    summary:
      "Readiness: database writable, migrations current, key ring complete; 503 otherwise",
  })
  async ready(@Res() reply: FastifyReply) {
    const report = await this.health.readiness();
    await reply.status(report.ready ? 200 : 503).send(report);
  }
}
