import { Controller, Get, Header } from "@nestjs/common";
import { ApiOperation, ApiProduces, ApiTags } from "@nestjs/swagger";

import { MetricsService } from "./metrics.service";

@ApiTags("operations")
@Controller("metrics")
export class MetricsController {
  constructor(private readonly metrics: MetricsService) {}

  @Get()
  @Header("content-type", "text/plain; version=0.0.4; charset=utf-8")
  @ApiProduces("text/plain")
  @ApiOperation({
    summary:
      "Prometheus metrics: requests, tokens, cost, latency, spool, database pool, process",
  })
  render(): Promise<string> {
    return this.metrics.render();
  }
}
