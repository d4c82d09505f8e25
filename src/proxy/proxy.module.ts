import { BeforeApplicationShutdown, Logger, Module } from "@nestjs/common";
import { HttpAdapterHost } from "@nestjs/core";
import { Server } from "node:http";

import { BillingModule } from "../billing/billing.module";
import { ClientsModule } from "../clients/clients.module";
import { ProvidersModule } from "../providers/providers.module";
import { ChatCompletionsService } from "./chat-completions.service";
import { HoldRenewal } from "./hold-renewal.service";
import { InFlightRequests } from "./in-flight.service";
import { ModelsService } from "./models.service";
import { ProxyController } from "./proxy.controller";
import { TokenEstimator } from "./token-estimator.service";
import { UpstreamClient } from "./upstream/upstream-client.service";

@Module({
  imports: [BillingModule, ClientsModule, ProvidersModule],
  controllers: [ProxyController],
  providers: [
    ChatCompletionsService,
    HoldRenewal,
    ModelsService,
    UpstreamClient,
    TokenEstimator,
    InFlightRequests,
  ],
  exports: [InFlightRequests],
})
export class ProxyModule implements BeforeApplicationShutdown {
  private readonly logger = new Logger(ProxyModule.name);

  constructor(
    private readonly inFlight: InFlightRequests,
    private readonly adapterHost: HttpAdapterHost,
  ) {}

  /**
   * Stops accepting connections, then lets every in-flight request finish and write its record. Runs before
   * the HTTP server, the upstream pools and the database close.
   */
  async beforeApplicationShutdown(): Promise<void> {
    const server = this.adapterHost.httpAdapter?.getHttpServer() as
      Server | undefined;
    if (server?.listening) {
      server.close();
    }

    const started = Date.now();
    await this.inFlight.drain();
    this.logger.log({
      msg: "in-flight requests drained",
      waitedMs: Date.now() - started,
    });
  }
}
