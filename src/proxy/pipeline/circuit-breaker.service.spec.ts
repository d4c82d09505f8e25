import { AppConfig } from "../../config/config.schema";
import { CircuitBreaker } from "./circuit-breaker.service";

function breaker(threshold: number, cooldownMs: number): CircuitBreaker {
  return new CircuitBreaker({
    routing: {
      breakerFailureThreshold: threshold,
      breakerCooldownMs: cooldownMs,
    },
  } as AppConfig);
}

describe("CircuitBreaker", () => {
  const t0 = 1_000_000;

  it("opens after the threshold of consecutive failures and lets one probe through after the rest", () => {
    const circuit = breaker(3, 1_000);
    circuit.failed(7, null, t0);
    circuit.failed(7, null, t0);
    expect(circuit.tryAcquire(7, t0)).toBe(true);

    circuit.failed(7, null, t0);
    expect(circuit.state(7, t0)).toBe("open");
    expect(circuit.tryAcquire(7, t0 + 999)).toBe(false);

    expect(circuit.tryAcquire(7, t0 + 1_000)).toBe(true);
    expect(circuit.tryAcquire(7, t0 + 1_001)).toBe(false);

    circuit.succeeded(7);
    expect(circuit.state(7, t0 + 1_002)).toBe("closed");
    expect(circuit.tryAcquire(7, t0 + 1_002)).toBe(true);
  });

  it("rests the provider again when the probe fails", () => {
    const circuit = breaker(1, 1_000);
    circuit.failed(7, null, t0);
    expect(circuit.tryAcquire(7, t0 + 1_000)).toBe(true);

    circuit.failed(7, null, t0 + 1_000);
    expect(circuit.tryAcquire(7, t0 + 1_500)).toBe(false);
    expect(circuit.restingUntil(7)).toBe(t0 + 2_000);
  });

  it("rests a provider for its Retry-After at once", () => {
    const circuit = breaker(5, 1_000);
    circuit.failed(7, 30_000, t0);

    expect(circuit.tryAcquire(7, t0 + 29_999)).toBe(false);
    expect(circuit.tryAcquire(7, t0 + 30_000)).toBe(true);
  });

  it("frees the probe slot when a probe ends without a verdict", () => {
    const circuit = breaker(1, 1_000);
    circuit.failed(7, null, t0);
    expect(circuit.tryAcquire(7, t0 + 1_000)).toBe(true);

    circuit.released(7);
    expect(circuit.tryAcquire(7, t0 + 1_001)).toBe(true);
  });

  it("does nothing when turned off", () => {
    const circuit = breaker(0, 1_000);
    for (let i = 0; i < 10; i += 1) {
      circuit.failed(7, 30_000, t0);
    }
    expect(circuit.tryAcquire(7, t0)).toBe(true);
  });

  it("keeps providers apart", () => {
    const circuit = breaker(1, 1_000);
    circuit.failed(7, null, t0);
    expect(circuit.tryAcquire(8, t0)).toBe(true);
  });
});
