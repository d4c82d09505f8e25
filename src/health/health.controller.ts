import { Controller, Get, Res } from "@nestjs/common";
import { ApiOperation, ApiResponse, ApiTags } from "@nestjs/swagger";
import { FastifyReply } from "fastify";

import { HealthService } from "./health.service";

const readinessSchema = (ready: boolean) => ({
  type: "object" as const,
  required: ["ready", "checks"],
  properties: {
    ready: { type: "boolean" as const },
    checks: {
      type: "array" as const,
      items: {
        type: "object" as const,
        required: ["name", "ok"],
        properties: {
          name: { type: "string" as const },
          ok: { type: "boolean" as const },
          detail: { type: "string" as const },
        },
      },
    },
  },
  example: {
    ready,
    checks: [
      ready
        ? { name: "database", ok: true }
        : { name: "database", ok: false, detail: "connection refused" },
      { name: "migrations", ok: true },
    ],
  },
});

@ApiTags("health")
@Controller("health")
export class HealthController {
  constructor(private readonly health: HealthService) {}

  @Get("live")
  @ApiOperation({
    operationId: "live",
    summary: "Liveness: the process is running and serving HTTP",
  })
  @ApiResponse({
    status: 200,
    description: "The process is up",
    schema: {
      type: "object",
      properties: { status: { type: "string" } },
      example: { status: "ok" },
    },
  })
  live() {
    return { status: "ok" };
  }

  @Get("ready")
  @ApiOperation({
    operationId: "ready",
    summary:
      "Readiness: database writable, migrations current, key ring complete; 503 otherwise",
  })
  @ApiResponse({
    status: 200,
    description: "Ready to serve",
    schema: readinessSchema(true),
  })
  @ApiResponse({
    status: 503,
    description: "Not ready; the failed checks say why",
    schema: readinessSchema(false),
  })
  async ready(@Res() reply: FastifyReply) {
    const report = await this.health.readiness();
    await reply.status(report.ready ? 200 : 503).send(report);
  }
}
