import { BeforeApplicationShutdown, Logger, Module } from "@nestjs/common";
import { HttpAdapterHost } from "@nestjs/core";
import { Server } from "node:http";

import { BillingModule } from "../billing/billing.module";
import { ClientsModule } from "../clients/clients.module";
import { ProvidersModule } from "../providers/providers.module";
import {
  CountTokensEndpoint,
  LocalTokenCounter,
} from "./anthropic/count-tokens.endpoint";
import { MessagesEndpoint } from "./anthropic/messages.endpoint";
import { HoldRenewal } from "./hold-renewal.service";
import { InFlightRequests } from "./in-flight.service";
import { ModelsService } from "./models.service";
import { ChatEndpoint } from "./openai/chat.endpoint";
import { CompletionsEndpoint } from "./openai/completions.endpoint";
import { EmbeddingsEndpoint } from "./openai/embeddings.endpoint";
import { ResponsesEndpoint } from "./openai/responses.endpoint";
import { AttemptRecorder } from "./pipeline/attempt-recorder.service";
import { AttemptRunner } from "./pipeline/attempt-runner.service";
import { CircuitBreaker } from "./pipeline/circuit-breaker.service";
import { ProxyPipeline } from "./pipeline/proxy-pipeline.service";
import { ProxyController } from "./proxy.controller";
import { TokenEstimator } from "./token-estimator.service";
import { UpstreamClient } from "./upstream/upstream-client.service";

@Module({
  imports: [BillingModule, ClientsModule, ProvidersModule],
  controllers: [ProxyController],
  providers: [
    ProxyPipeline,
    AttemptRunner,
    AttemptRecorder,
    CircuitBreaker,
    ChatEndpoint,
    EmbeddingsEndpoint,
    CompletionsEndpoint,
    ResponsesEndpoint,
    MessagesEndpoint,
    CountTokensEndpoint,
    LocalTokenCounter,
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
