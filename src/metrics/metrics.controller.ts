import { Controller, Get, Header } from "@nestjs/common";
import {
  ApiOkResponse,
  ApiOperation,
  ApiProduces,
  ApiTags,
} from "@nestjs/swagger";

import { MetricsService } from "./metrics.service";

@ApiTags("operations")
@Controller("metrics")
export class MetricsController {
  constructor(private readonly metrics: MetricsService) {}

  @Get()
  @Header("content-type", "text/plain; version=0.0.4; charset=utf-8")
  @ApiProduces("text/plain")
  @ApiOperation({
    operationId: "metrics",
    summary:
      "Prometheus metrics: requests, tokens, cost, latency, spool, database pool, process",
  })
  @ApiOkResponse({
    description: "Metrics in the Prometheus text format",
    schema: {
      type: "string",
      example:
        '# TYPE llmp_requests_total counter\nllmp_requests_total{provider="openai",model="gpt-4o-mini",status="completed"} 42\n',
    },
  })
  render(): Promise<string> {
    return this.metrics.render();
  }
}
