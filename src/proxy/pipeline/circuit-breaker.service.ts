import { Inject, Injectable, Logger } from "@nestjs/common";

import { APP_CONFIG } from "../../config/config.module";
import { AppConfig } from "../../config/config.schema";

/** One provider's circuit. Closed lets everything through; open rests the provider; half-open lets one probe through. */
interface Circuit {
  consecutiveFailures: number;
  /** Epoch milliseconds until which the provider rests; 0 when closed. */
  openUntil: number;
  /** Whether a probe is out after the rest ended; further requests wait for its outcome. */
  probing: boolean;
}

export type CircuitState = "closed" | "open" | "half_open";

/**
 * Rests providers that keep failing, so requests go to the others instead of waiting on timeouts. After
 * `routing.breakerFailureThreshold` consecutive failures a provider rests for `routing.breakerCooldownMs`; then
 * one request probes it, and its outcome closes the circuit or rests the provider again. A 429 or 529 with
 * Retry-After rests the provider for that long at once. State is kept per process: each replica learns on its own.
 */
@Injectable()
export class CircuitBreaker {
  private readonly logger = new Logger(CircuitBreaker.name);
  private readonly circuits = new Map<number, Circuit>();

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  /** Returns whether a request may go to this provider now; in the half-open state, the caller becomes the probe. */
  tryAcquire(providerId: number, now = Date.now()): boolean {
    const circuit = this.circuits.get(providerId);
    if (!circuit || circuit.openUntil === 0) {
      return true;
    }
    if (now < circuit.openUntil || circuit.probing) {
      return false;
    }

    circuit.probing = true;
    return true;
  }

  /** Epoch milliseconds when a resting provider may be probed again, or 0 when it may be called now. */
  restingUntil(providerId: number): number {
    return this.circuits.get(providerId)?.openUntil ?? 0;
  }

  state(providerId: number, now = Date.now()): CircuitState {
    const circuit = this.circuits.get(providerId);
    if (!circuit || circuit.openUntil === 0) {
      return "closed";
    }
    return now < circuit.openUntil ? "open" : "half_open";
  }

  succeeded(providerId: number): void {
    const circuit = this.circuits.get(providerId);
    if (!circuit) {
      return;
    }
    if (circuit.openUntil !== 0) {
      this.logger.log({ msg: "provider circuit closed", providerId });
    }
    this.circuits.delete(providerId);
  }

  /** Counts a failure; `restMs` (from a Retry-After) rests the provider at once for that long. */
  failed(providerId: number, restMs: number | null = null, now = Date.now()) {
    const threshold = this.config.routing.breakerFailureThreshold;
    if (threshold === 0) {
      return;
    }

    const circuit = this.circuits.get(providerId) ?? {
      consecutiveFailures: 0,
      openUntil: 0,
      probing: false,
    };
    circuit.consecutiveFailures += 1;
    const wasProbe = circuit.probing;
    circuit.probing = false;

    const tripped = wasProbe || circuit.consecutiveFailures >= threshold;
    const rest = Math.max(
      restMs ?? 0,
      tripped ? this.config.routing.breakerCooldownMs : 0,
    );
    if (rest > 0) {
      circuit.openUntil = Math.max(circuit.openUntil, now + rest);
      this.logger.warn({
        msg: "provider circuit opened",
        providerId,
        consecutiveFailures: circuit.consecutiveFailures,
        restMs: rest,
      });
    }
    this.circuits.set(providerId, circuit);
  }

  /** Frees the probe slot of a request that ended without telling whether the provider works (e.g. the client left). */
  released(providerId: number): void {
    const circuit = this.circuits.get(providerId);
    if (circuit) {
      circuit.probing = false;
    }
  }
}
