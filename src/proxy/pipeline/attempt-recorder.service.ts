import { Injectable, Logger } from "@nestjs/common";

import { AccountingService } from "../../billing/accounting.service";
import { RequestStatus } from "../../billing/entities/llm-request.entity";
import { priceUsage } from "../../billing/pricing";
import { RequestRecord } from "../../billing/request-record";
import { NO_USAGE, TokenUsage } from "../../billing/usage";
import { MetricsService } from "../../metrics/metrics.service";
import { ParsedRequest } from "../endpoint";
import { RelayOutcome } from "../openai/chat-stream-relay";
import { TokenEstimator } from "../token-estimator.service";
import { Attempt, Settlement } from "./attempt";

/** Writes one attempt's accounting record, estimating the tokens its provider did not report. */
@Injectable()
export class AttemptRecorder {
  private readonly logger = new Logger(AttemptRecorder.name);

  constructor(
    private readonly accounting: AccountingService,
    private readonly estimator: TokenEstimator,
    private readonly metrics: MetricsService,
  ) {}

  /**
   * Settles an attempt that produced no output. When the proxy itself cut the call short (the client left or
   * the server is stopping), the provider has read the prompt and usually bills it, so the prompt is charged
   * as an estimate. An upstream failure charges only what the provider reported, which is nothing.
   */
  beforeOutput<R extends ParsedRequest>(
    attempt: Attempt<R>,
    errorClass: string,
    upstreamStatus: number | null,
  ): Settlement {
    if (errorClass !== "client_closed" && errorClass !== "shutdown") {
      return { status: RequestStatus.Failed, errorClass, upstreamStatus };
    }

    return {
      status: RequestStatus.Failed,
      errorClass,
      upstreamStatus,
      usage: this.estimateUsage(attempt, ""),
      usageEstimated: true,
    };
  }

  forStream<R extends ParsedRequest>(
    attempt: Attempt<R>,
    outcome: RelayOutcome,
    upstreamStatus: number,
  ): Settlement {
    if (outcome.finished) {
      return {
        status: RequestStatus.Completed,
        errorClass: null,
        upstreamStatus,
        usage: outcome.usage ?? this.estimateUsage(attempt, outcome.outputText),
        usageEstimated:
          outcome.usage === null || outcome.outputEstimated === true,
      };
    }

    // A stream that broke off after output is charged for what was generated.
    if (outcome.usage !== null || outcome.sawOutput) {
      return {
        status: RequestStatus.Incomplete,
        errorClass: outcome.errorClass,
        upstreamStatus,
        usage: outcome.usage ?? this.estimateUsage(attempt, outcome.outputText),
        usageEstimated:
          outcome.usage === null || outcome.outputEstimated === true,
      };
    }

    return this.beforeOutput(
      attempt,
      outcome.errorClass ?? "upstream_stream_broken",
      upstreamStatus,
    );
  }

  /** Tokenizer counts, capped at what admission held credit for. */
  estimateUsage<R extends ParsedRequest>(
    attempt: Attempt<R>,
    outputText: string,
  ): TokenUsage {
    return {
      ...NO_USAGE,
      promptTokens: Math.min(
        attempt.call.endpoint.estimatePrompt(
          attempt.call.request,
          this.estimator,
        ),
        attempt.bounds.input,
      ),
      completionTokens: Math.min(
        this.estimator.countText(outputText),
        attempt.bounds.output,
      ),
    };
  }

  async settle<R extends ParsedRequest>(
    attempt: Attempt<R>,
    settlement: Settlement,
  ): Promise<void> {
    const { call, route } = attempt;
    const usage = settlement.usage ?? NO_USAGE;
    const record: RequestRecord = {
      requestId: attempt.id,
      clientId: call.principal.clientId,
      tokenId: call.principal.tokenId,
      providerId: route.provider.id,
      modelConfigId: route.modelConfigId,
      model: route.publicName,
      endpoint: call.endpoint.name,
      status: settlement.status,
      errorClass: settlement.errorClass,
      upstreamStatus: settlement.upstreamStatus,
      streamed: call.request.stream,
      usage,
      usageEstimated: settlement.usageEstimated ?? false,
      cost: priceUsage(usage, route.prices),
      prepaid: route.provider.prepaid,
      latencyMs: Math.round(
        (settlement.finishedAt ?? performance.now()) - attempt.startedAt,
      ),
      ttftMs: settlement.ttftMs ?? null,
      createdAt: call.createdAt,
    };

    const outcome = await this.accounting.settle(record);
    if (outcome !== "duplicate") {
      this.metrics.observeRequest(record, route.provider.name);
    }
    this.logger.debug({
      msg: "request metered",
      attemptId: attempt.id,
      outcome,
      status: record.status,
      errorClass: record.errorClass,
      promptTokens: usage.promptTokens,
      completionTokens: usage.completionTokens,
      estimated: record.usageEstimated,
      cost: record.cost.toString(),
    });
  }
}
