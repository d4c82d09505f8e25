import { Inject, Injectable, Logger } from "@nestjs/common";

import { APP_CONFIG } from "../config/config.module";
import { AppConfig } from "../config/config.schema";

/** Message of the abort reason that requests still running when shutdown's grace period ends receive. */
export const SHUTDOWN_REASON = "server shutting down";

interface InFlight {
  controller: AbortController;
  done: Promise<unknown>;
  /** Request id of the attempt whose credit hold is open now: the request's own, or a failover attempt's. */
  holdId: string;
}

/**
 * Tracks proxied requests from admission until their record is written, so shutdown can wait for them, and
 * abort the ones still running after the grace period; an aborted request is still recorded.
 */
@Injectable()
export class InFlightRequests {
  private readonly logger = new Logger(InFlightRequests.name);
  private readonly requests = new Map<string, InFlight>();

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  get size(): number {
    return this.requests.size;
  }

  /** Request ids of the holds that requests now in flight keep open. */
  ids(): string[] {
    return [...this.requests.values()].map((request) => request.holdId);
  }

  /** Records that a tracked request moved on to a failover attempt with its own hold. */
  setHoldId(requestId: string, holdId: string): void {
    const request = this.requests.get(requestId);
    if (request) {
      request.holdId = holdId;
    }
  }

  /** Runs `work` as a tracked request; its controller is aborted if shutdown runs out of patience. */
  track<T>(
    requestId: string,
    controller: AbortController,
    work: () => Promise<T>,
  ): Promise<T> {
    const done = work().finally(() => this.requests.delete(requestId));
    this.requests.set(requestId, { controller, done, holdId: requestId });
    return done;
  }

  /** Resolves once no request is tracked; meant for tests and tools that read the records afterwards. */
  async idle(): Promise<void> {
    while (this.requests.size > 0) {
      await Promise.allSettled(
        [...this.requests.values()].map((request) => request.done),
      );
    }
  }

  /** Waits for every tracked request, aborting those still running after the grace period. */
  async drain(): Promise<void> {
    if (this.requests.size === 0) {
      return;
    }

    this.logger.log({
      msg: "waiting for in-flight requests",
      count: this.requests.size,
    });
    const all = () =>
      Promise.allSettled(
        [...this.requests.values()].map((request) => request.done),
      );
    const timedOut = await Promise.race([
      all().then(() => false),
      delay(this.config.server.shutdownGraceMs).then(() => true),
    ]);

    if (timedOut) {
      this.logger.warn({
        msg: "aborting in-flight requests after the grace period",
        count: this.requests.size,
      });
      for (const request of this.requests.values()) {
        request.controller.abort(new Error(SHUTDOWN_REASON));
      }
      await all();
    }
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
