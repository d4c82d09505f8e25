import { setTimeout as sleep } from "node:timers/promises";

import { Inject, Injectable, Logger } from "@nestjs/common";
import { FastifyReply, FastifyRequest } from "fastify";

import { ClientPrincipal } from "../../clients/client-principal";
import { ProxyError } from "../../common/proxy-error";
import { APP_CONFIG } from "../../config/config.module";
import { AppConfig } from "../../config/config.schema";
import { MetricsService } from "../../metrics/metrics.service";
import {
  ModelResolver,
  ResolvedModel,
} from "../../providers/model-resolver.service";
import { ParsedRequest, ProxyEndpoint } from "../endpoint";
import { InFlightRequests } from "../in-flight.service";
import { upstreamFailure } from "../openai/upstream-errors";
import { AttemptFailure, ClientCall } from "./attempt";
import { AttemptRunner } from "./attempt-runner.service";
import { CircuitBreaker } from "./circuit-breaker.service";
import { noRouteError, restingError } from "./pipeline-errors";
import { backoffMs, orderRoutes } from "./route-plan";

/**
 * The path every proxied request takes, whatever its wire format: model routing over the providers that serve
 * the public name, then attempts until one succeeds, with bounded retries, backoff and a circuit breaker. Each
 * attempt (admission, upstream call, relay and record) is the {@link AttemptRunner}'s; the endpoint supplies
 * everything that depends on the wire format.
 */
@Injectable()
export class ProxyPipeline {
  private readonly logger = new Logger(ProxyPipeline.name);

  constructor(
    private readonly models: ModelResolver,
    private readonly attempts: AttemptRunner,
    private readonly inFlight: InFlightRequests,
    private readonly breaker: CircuitBreaker,
    private readonly metrics: MetricsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async handle<R extends ParsedRequest>(
    endpoint: ProxyEndpoint<R>,
    principal: ClientPrincipal,
    requestId: string,
    body: unknown,
    request: FastifyRequest,
    reply: FastifyReply,
  ): Promise<void> {
    const parsed = endpoint.parse(body, request.headers);
    const routes = await this.routesFor(endpoint, principal, parsed);

    const call: ClientCall<R> = {
      endpoint,
      request: parsed,
      requestId,
      principal,
      createdAt: new Date(),
      controller: new AbortController(),
      reply,
      rateLimits: null,
      counted: false,
    };
    const abortOnHangUp = () => {
      if (!reply.raw.writableFinished) {
        call.controller.abort(new Error("client closed the connection"));
      }
    };
    reply.raw.once("close", abortOnHangUp);
    request.raw.once("aborted", abortOnHangUp);

    await this.inFlight.track(requestId, call.controller, () =>
      this.run(call, routes),
    );
  }

  /** Returns the routes that may serve this request, in the order to try them. */
  private async routesFor<R extends ParsedRequest>(
    endpoint: ProxyEndpoint<R>,
    principal: ClientPrincipal,
    parsed: R,
  ): Promise<ResolvedModel[]> {
    const name = parsed.model;
    const routes = await this.models.resolveRoutes(name);
    if (routes.length === 0) {
      throw noRouteError(name, endpoint.name, false);
    }
    if (
      principal.allowedModels !== null &&
      !principal.allowedModels.includes(name)
    ) {
      throw new ProxyError(`This client may not use the model '${name}'.`, {
        status: 403,
        type: "permission_error",
        code: "model_not_allowed",
        param: "model",
      });
    }

    const usable = routes.filter((route) =>
      endpoint.supports(route.provider.kind, parsed),
    );
    if (usable.length === 0) {
      throw noRouteError(name, endpoint.name, true);
    }
    return orderRoutes(usable);
  }

  /**
   * Tries the routes in order until one succeeds, at most `routing.maxAttempts` times. A retry on the provider
   * that just failed waits for the jittered backoff or its Retry-After; moving to another provider does not wait.
   */
  private async run<R extends ParsedRequest>(
    call: ClientCall<R>,
    routes: ResolvedModel[],
  ): Promise<void> {
    const maxAttempts = this.config.routing.maxAttempts;
    let lastFailure: AttemptFailure | null = null;
    /** Provider of the last failed attempt, and the wait it requested. */
    const previous: {
      providerId: number | null;
      waitMs: number | null;
      failedAt: number;
    } = { providerId: null, waitMs: null, failedAt: 0 };
    /** Providers that asked to be left alone for longer than this request may wait. */
    const skipped = new Set<number>();
    let next = 0;

    for (let attempt = 1; attempt <= maxAttempts; attempt += 1) {
      const route =
        this.nextRoute(routes, next, skipped) ??
        (await this.waitForRestedRoute(call, routes, next, skipped));
      if (route === null) {
        break;
      }
      next = routes.indexOf(route) + 1;

      if (previous.providerId === route.provider.id) {
        // Time spent waiting for the provider's rest to end counts towards the wait.
        const wait =
          Math.max(
            previous.waitMs ?? 0,
            backoffMs(
              attempt - 1,
              this.config.routing.backoffBaseMs,
              this.config.routing.backoffMaxMs,
            ),
          ) -
          (Date.now() - previous.failedAt);
        if (wait > 0) {
          await sleep(wait, undefined, {
            signal: call.controller.signal,
          }).catch(() => undefined);
        }
      }
      if (call.controller.signal.aborted) {
        this.breaker.released(route.provider.id);
        throw upstreamFailure(null, call.controller.signal);
      }

      const id =
        attempt === 1 ? call.requestId : `${call.requestId}~${attempt}`;
      if (attempt > 1) {
        this.logger.warn({
          msg: "retrying request on another attempt",
          attempt,
          provider: route.provider.name,
          after: lastFailure?.error.code,
        });
      }

      this.inFlight.setHoldId(call.requestId, id);
      const circuitBefore = this.breaker.state(route.provider.id);
      const failure = await this.attempts.run(call, route, id);
      if (failure === null) {
        return;
      }
      lastFailure = failure;
      if (!failure.retry) {
        throw failure.error;
      }
      this.metrics.observeRetry(route.provider.name, failure.error.code);
      if (
        circuitBefore !== "open" &&
        this.breaker.state(route.provider.id) === "open"
      ) {
        this.metrics.observeCircuitOpened(route.provider.name);
      }
      if (failure.skipProvider) {
        skipped.add(route.provider.id);
      }
      previous.providerId = route.provider.id;
      previous.waitMs = failure.waitMs;
      previous.failedAt = Date.now();
    }

    if (lastFailure !== null) {
      throw lastFailure.error;
    }
    throw restingError(
      routes[0].publicName,
      Math.min(
        ...routes.map((route) => this.breaker.restingUntil(route.provider.id)),
      ),
    );
  }

  /**
   * Returns the next route whose circuit lets a request through at `now` (epoch milliseconds), starting at `from` and
   * wrapping around, so retries cycle over the routes. Returns null when every provider is resting or skipped.
   */
  private nextRoute(
    routes: ResolvedModel[],
    from: number,
    skipped: ReadonlySet<number>,
    now = Date.now(),
  ): ResolvedModel | null {
    for (let offset = 0; offset < routes.length; offset += 1) {
      const route = routes[(from + offset) % routes.length];
      if (
        !skipped.has(route.provider.id) &&
        this.breaker.tryAcquire(route.provider.id, now)
      ) {
        return route;
      }
    }
    return null;
  }

  /**
   * When every route is resting, waits for the first rest to end if that is within `routing.maxRetryAfterMs`
   * (a provider that asked to be retried after a second is retried after a second), then takes that route.
   */
  private async waitForRestedRoute<R extends ParsedRequest>(
    call: ClientCall<R>,
    routes: ResolvedModel[],
    from: number,
    skipped: ReadonlySet<number>,
  ): Promise<ResolvedModel | null> {
    const candidates = routes.filter(
      (route) => !skipped.has(route.provider.id),
    );
    if (candidates.length === 0) {
      return null;
    }
    const until = Math.min(
      ...candidates.map((route) =>
        this.breaker.restingUntil(route.provider.id),
      ),
    );
    const waitMs = until - Date.now();
    if (waitMs > this.config.routing.maxRetryAfterMs) {
      return null;
    }

    await sleep(Math.max(waitMs, 0), undefined, {
      signal: call.controller.signal,
    }).catch(() => undefined);
    // Node can fire a timer a millisecond or so before the wall clock reaches `until`, so the rest counts as over.
    return call.controller.signal.aborted
      ? null
      : this.nextRoute(routes, from, skipped, Math.max(Date.now(), until));
  }
}
