import { Inject, Injectable, Logger } from "@nestjs/common";

import { AccountingService } from "../../billing/accounting.service";
import { RequestStatus } from "../../billing/entities/llm-request.entity";
import { worstCaseCost } from "../../billing/pricing";
import { ProxyError } from "../../common/proxy-error";
import { APP_CONFIG } from "../../config/config.module";
import { AppConfig } from "../../config/config.schema";
import { rateLimitHeaders } from "../../limits/rate-limit-headers";
import { ProviderKind } from "../../providers/entities/provider.entity";
import { ResolvedModel } from "../../providers/model-resolver.service";
import { abortClass, UPSTREAM_TIMEOUT_REASON } from "../abort-reasons";
import { anthropicUpstreamHttpError } from "../anthropic/anthropic-errors";
import { ParsedRequest, ProxyEndpoint, TokenBounds } from "../endpoint";
import {
  scrubSecret,
  upstreamFailure,
  upstreamHttpError,
} from "../openai/upstream-errors";
import {
  neverReachedProvider,
  UpstreamClient,
  UpstreamResponse,
} from "../upstream/upstream-client.service";
import { Attempt, AttemptFailure, ClientCall } from "./attempt";
import { AttemptRecorder } from "./attempt-recorder.service";
import { CircuitBreaker } from "./circuit-breaker.service";
import { admissionError, limitError } from "./pipeline-errors";
import { providerTarget } from "./provider-target";
import { retryAfterMs } from "./route-plan";
import { scrubbingClient } from "./scrubbing-client";
import {
  classifyTransportError,
  firstEvent,
  MAX_UPSTREAM_JSON_BYTES,
  prepend,
  readCapped,
  STREAM_ERRORS,
  transportError,
} from "./upstream-body";

/**
 * Statuses below 500 that blame the provider, not the request: its credentials (401, 403), its own
 * timeout (408) or its rate limit (429). Another provider may well succeed.
 */
const PROVIDER_FAULTS = new Set([401, 403, 408, 429]);

/**
 * Runs one attempt of a request at one provider: admission against prepaid credit and the client's limits, the
 * upstream call with the provider kind's URL, credentials and timeouts, the answer relayed to the client, and
 * the attempt's record. Tells the retry loop whether another attempt may help.
 */
@Injectable()
export class AttemptRunner {
  private readonly logger = new Logger(AttemptRunner.name);

  constructor(
    private readonly accounting: AccountingService,
    private readonly upstream: UpstreamClient,
    private readonly breaker: CircuitBreaker,
    private readonly recorder: AttemptRecorder,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Runs one attempt. Returns null when the client got its response, else why the attempt failed. */
  async run<R extends ParsedRequest>(
    call: ClientCall<R>,
    route: ResolvedModel,
    id: string,
  ): Promise<AttemptFailure | null> {
    const bounds = call.endpoint.bounds(call.request, route, {
      defaultMaxOutputTokens: this.config.billing.defaultMaxOutputTokens,
      imageTokenAllowance: this.config.billing.imageTokenAllowance,
    });

    const admitted = await this.admit(call, route, id, bounds);
    if (admitted !== null) {
      this.breaker.released(route.provider.id);
      return admitted;
    }

    const attempt: Attempt<R> = {
      call,
      id,
      route,
      bounds,
      startedAt: performance.now(),
      controller: new AbortController(),
    };
    const timeouts = this.timeouts(route);
    const stopAttempt = () =>
      attempt.controller.abort(call.controller.signal.reason);
    call.controller.signal.addEventListener("abort", stopAttempt);
    const totalTimer = setTimeout(
      () => attempt.controller.abort(new Error(UPSTREAM_TIMEOUT_REASON)),
      timeouts.totalMs,
    );

    try {
      return await this.forward(attempt, timeouts);
    } finally {
      clearTimeout(totalTimer);
      call.controller.signal.removeEventListener("abort", stopAttempt);
    }
  }

  /** Holds credit and the client's limits for one attempt. Returns null when admitted. */
  private async admit<R extends ParsedRequest>(
    call: ClientCall<R>,
    route: ResolvedModel,
    id: string,
    bounds: TokenBounds,
  ): Promise<AttemptFailure | null> {
    const outcome = await this.accounting
      .admit({
        requestId: id,
        providerId: route.provider.id,
        clientId: call.principal.clientId,
        prepaid: route.provider.prepaid,
        worstCase: worstCaseCost(bounds.input, bounds.output, route.prices),
        worstCaseTokens: bounds.input + bounds.output,
        countsRequest: !call.counted,
        holdClientLimits: call.principal.hasLimits,
      })
      .catch((error: unknown) => {
        this.logger.error({
          msg: "admission failed; request not forwarded",
          requestId: id,
          err: error,
        });
        return null;
      });

    if (outcome === null) {
      return { retry: false, error: admissionError("accounting_unavailable") };
    }

    switch (outcome.outcome) {
      case "admitted":
        call.counted = true;
        call.rateLimits = outcome.rateLimits ?? call.rateLimits;
        return null;
      case "insufficient_credit":
        // Another provider may still have credit; this one is not failing, so its circuit is left alone.
        return {
          retry: true,
          waitMs: null,
          error: admissionError("insufficient_credit", route.publicName),
        };
      case "duplicate_request_id":
        return {
          retry: false,
          error: admissionError("duplicate_request_id", call.requestId),
        };
      case "limited":
        return {
          retry: false,
          error: limitError(
            outcome.limit,
            outcome.retryAfterSeconds,
            outcome.rateLimits ? rateLimitHeaders(outcome.rateLimits) : {},
          ),
        };
    }
  }

  private timeouts(route: ResolvedModel) {
    const own = route.provider.timeouts;
    return {
      connectMs: own.connectMs ?? this.config.proxy.connectTimeoutMs,
      firstTokenMs: own.firstTokenMs ?? this.config.proxy.headersTimeoutMs,
      totalMs: own.totalMs ?? this.config.routing.totalTimeoutMs,
    };
  }

  private async forward<R extends ParsedRequest>(
    attempt: Attempt<R>,
    timeouts: { connectMs: number; firstTokenMs: number; totalMs: number },
  ): Promise<AttemptFailure | null> {
    const { call, route } = attempt;
    let response: UpstreamResponse;

    try {
      const built = call.endpoint.upstreamRequest(
        call.request,
        route,
        route.provider.supportsStreamOptions,
      );
      const target = providerTarget(route, built, attempt.id);
      response = await this.upstream.send({
        ...target,
        method: "POST",
        body: built.body,
        signal: attempt.controller.signal,
        connectTimeoutMs: timeouts.connectMs,
        // A response that is not streamed sends its headers when it is complete, so for it the first-token timeout covers the
        // generation; a stream's first chunk must also arrive within it (see relayStream).
        headersTimeoutMs: timeouts.firstTokenMs,
      });
    } catch (error) {
      return this.failBeforeResponse(attempt, error);
    }

    if (response.statusCode < 200 || response.statusCode >= 300) {
      return this.failWithStatus(attempt, response);
    }

    if (call.request.stream) {
      return this.relayStream(attempt, response, timeouts.firstTokenMs);
    }
    return this.relayJson(attempt, response, timeouts.firstTokenMs);
  }

  /** A call that failed before any response: void the hold if the provider never saw it, else record it. */
  private async failBeforeResponse<R extends ParsedRequest>(
    attempt: Attempt<R>,
    error: unknown,
  ): Promise<AttemptFailure> {
    const { route } = attempt;

    if (error instanceof ProxyError) {
      await this.accounting.void(attempt.id, route.provider.id);
      this.breaker.released(route.provider.id);
      return { retry: false, error };
    }

    const signal = attempt.controller.signal;
    const clientLeft = attempt.call.controller.signal.aborted;
    if (neverReachedProvider(error)) {
      this.logger.warn({
        msg: "provider unreachable",
        attemptId: attempt.id,
        provider: route.provider.name,
        err: error,
      });
      await this.accounting.void(attempt.id, route.provider.id);
    } else {
      const errorClass = signal.aborted
        ? abortClass(signal)
        : classifyTransportError(error);
      this.logger.warn({
        msg: "upstream call failed",
        attemptId: attempt.id,
        provider: route.provider.name,
        errorClass,
        err: error,
      });
      await this.recorder.settle(
        attempt,
        this.recorder.beforeOutput(attempt, errorClass, null),
      );
    }

    if (clientLeft) {
      this.breaker.released(route.provider.id);
      return { retry: false, error: upstreamFailure(error, signal) };
    }
    this.breaker.failed(route.provider.id);
    return { retry: true, waitMs: null, error: transportError(error, signal) };
  }

  /** A non-2xx answer: recorded, then retried elsewhere when the provider is at fault or rate limiting. */
  private async failWithStatus<R extends ParsedRequest>(
    attempt: Attempt<R>,
    response: UpstreamResponse,
  ): Promise<AttemptFailure> {
    const { route } = attempt;
    const status = response.statusCode;
    const text = await readCapped(response, MAX_UPSTREAM_JSON_BYTES).catch(
      () => "",
    );

    await this.recorder.settle(attempt, {
      status: RequestStatus.Failed,
      errorClass: `upstream_${status}`,
      upstreamStatus: status,
    });
    const error = (
      route.provider.kind === ProviderKind.Anthropic
        ? anthropicUpstreamHttpError
        : upstreamHttpError
    )(
      status,
      text,
      response.headers,
      route.provider.name,
      route.provider.apiKey,
    );

    if (PROVIDER_FAULTS.has(status) || status >= 500) {
      const wait = retryAfterMs(response.headers);
      const tooLong =
        wait !== null && wait > this.config.routing.maxRetryAfterMs;
      this.breaker.failed(route.provider.id, wait);
      return {
        retry: true,
        waitMs: tooLong ? null : wait,
        skipProvider: tooLong,
        error,
      };
    }

    // The provider rejected the request itself, so another provider would reject it too.
    this.breaker.released(route.provider.id);
    return { retry: false, error };
  }

  private async relayJson<R extends ParsedRequest>(
    attempt: Attempt<R>,
    response: UpstreamResponse,
    firstTokenMs: number,
  ): Promise<AttemptFailure | null> {
    const { call, route } = attempt;
    // A response that is not streamed is the first token: its whole body must arrive within the timeout.
    const deadline = setTimeout(
      () => attempt.controller.abort(new Error(UPSTREAM_TIMEOUT_REASON)),
      Math.max(0, firstTokenMs - (performance.now() - attempt.startedAt)),
    );
    let text: string;
    try {
      text = await readCapped(response, MAX_UPSTREAM_JSON_BYTES);
    } catch (error) {
      const signal = attempt.controller.signal;
      const errorClass = signal.aborted
        ? abortClass(signal)
        : classifyTransportError(error);
      await this.recorder.settle(
        attempt,
        this.recorder.beforeOutput(attempt, errorClass, response.statusCode),
      );
      if (call.controller.signal.aborted) {
        this.breaker.released(route.provider.id);
        return { retry: false, error: upstreamFailure(error, signal) };
      }
      this.breaker.failed(route.provider.id);
      return {
        retry: true,
        waitMs: null,
        error: transportError(error, signal),
      };
    } finally {
      clearTimeout(deadline);
    }

    // The answer goes out before the record is written: a crash in between loses the record exactly as a
    // crash just before sending would, and shutdown still waits for the write, since it is part of the
    // tracked request.
    const finishedAt = performance.now();
    let answer: ReturnType<ProxyEndpoint<R>["readJson"]>;
    try {
      answer = call.endpoint.readJson(call.request, text, route);
    } catch (error) {
      if (!(error instanceof ProxyError)) {
        throw error;
      }
      answer = null;
    }

    if (answer === null) {
      await this.recorder.settle(attempt, {
        status: RequestStatus.Failed,
        errorClass: "upstream_invalid_response",
        upstreamStatus: response.statusCode,
      });
      this.breaker.failed(route.provider.id);
      return {
        retry: false,
        error: new ProxyError(
          `The provider '${route.provider.name}' returned status 200 with a body that is not a usable JSON object.`,
          {
            status: 502,
            type: "upstream_error",
            code: "upstream_invalid_response",
            logLevel: "warn",
          },
        ),
      };
    }

    this.breaker.succeeded(route.provider.id);
    void call.reply
      .status(200)
      .headers(this.answerHeaders(attempt))
      .header("content-type", "application/json")
      // A provider that echoes its key in an answer must not hand it to the client.
      .send(scrubSecret(answer.body, route.provider.apiKey));

    await this.recorder.settle(attempt, {
      status: RequestStatus.Completed,
      errorClass: null,
      upstreamStatus: response.statusCode,
      usage:
        answer.usage ?? this.recorder.estimateUsage(attempt, answer.outputText),
      usageEstimated: answer.usage === null,
      ttftMs: Math.round(finishedAt - attempt.startedAt),
      finishedAt,
    });
    return null;
  }

  /**
   * Relays a stream. The first event is awaited before anything reaches the client, so a provider that accepts
   * the request but sends no event within the first-token timeout is failed over like one that never responded.
   */
  private async relayStream<R extends ParsedRequest>(
    attempt: Attempt<R>,
    response: UpstreamResponse,
    firstTokenMs: number,
  ): Promise<AttemptFailure | null> {
    const { call, route } = attempt;
    const body = response.body[Symbol.asyncIterator]();
    const first = await firstEvent(
      body,
      Math.max(0, firstTokenMs - (performance.now() - attempt.startedAt)),
    );

    if (first.kind !== "event") {
      const signal = attempt.controller.signal;
      if (first.kind === "timeout") {
        attempt.controller.abort(new Error(UPSTREAM_TIMEOUT_REASON));
      }
      response.body.destroy();
      const errorClass =
        first.kind === "timeout"
          ? "upstream_timeout"
          : signal.aborted
            ? abortClass(signal)
            : "upstream_stream_broken";
      await this.recorder.settle(
        attempt,
        this.recorder.beforeOutput(attempt, errorClass, response.statusCode),
      );
      if (call.controller.signal.aborted) {
        this.breaker.released(route.provider.id);
        return { retry: false, error: upstreamFailure(null, signal) };
      }
      this.breaker.failed(route.provider.id);
      return {
        retry: true,
        waitMs: null,
        error: transportError(
          first.kind === "timeout" ? { code: "UND_ERR_HEADERS_TIMEOUT" } : null,
          signal,
        ),
      };
    }

    call.reply.hijack();
    call.reply.raw.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      connection: "keep-alive",
      "x-accel-buffering": "no",
      ...this.answerHeaders(attempt),
    });
    call.reply.raw.flushHeaders();

    const relay = call.endpoint.streamRelay(call.request, {
      client: scrubbingClient(call.reply.raw, route.provider.apiKey),
      signal: attempt.controller.signal,
      providerKey: route.provider.apiKey,
      requestId: call.requestId,
      model: route,
    });
    const outcome = await relay.run(prepend(first.chunks, body));

    if (outcome.errorClass !== null) {
      const message = STREAM_ERRORS[outcome.errorClass];
      if (message && !call.reply.raw.destroyed) {
        call.endpoint.writeStreamError(
          call.reply.raw,
          outcome.errorClass,
          message,
        );
      }
    }
    const finishedAt = performance.now();
    if (!call.reply.raw.destroyed) {
      call.reply.raw.end();
    }

    if (outcome.finished) {
      this.breaker.succeeded(route.provider.id);
    } else if (
      outcome.errorClass === "client_closed" ||
      outcome.errorClass === "shutdown"
    ) {
      this.breaker.released(route.provider.id);
    } else {
      this.breaker.failed(route.provider.id);
    }

    const ttftMs =
      outcome.firstOutputAt === null
        ? null
        : Math.round(outcome.firstOutputAt - attempt.startedAt);
    await this.recorder.settle(attempt, {
      ...this.recorder.forStream(attempt, outcome, response.statusCode),
      ttftMs,
      finishedAt,
    });
    return null;
  }

  /** Headers every answer carries: the request id, the provider that served it, and the client's rate limits. */
  private answerHeaders<R extends ParsedRequest>(
    attempt: Attempt<R>,
  ): Record<string, string> {
    return {
      "x-request-id": attempt.call.requestId,
      "x-llm-proxy-provider": attempt.route.provider.name,
      ...(attempt.id !== attempt.call.requestId
        ? { "x-llm-proxy-attempt-id": attempt.id }
        : {}),
      ...(attempt.call.rateLimits
        ? rateLimitHeaders(attempt.call.rateLimits)
        : {}),
    };
  }
}
