import { ResolvedModel } from "../../providers/model-resolver.service";
import { backoffMs, orderRoutes, retryAfterMs } from "./route-plan";

function route(id: number, priority: number, weight: number): ResolvedModel {
  return { priority, weight, provider: { id } } as unknown as ResolvedModel;
}

/** A repeatable sequence of numbers in [0, 1), so weighted orders can be counted. */
function seeded(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

describe("orderRoutes", () => {
  it("tries lower priorities first whatever their weight", () => {
    const ordered = orderRoutes(
      [route(1, 2, 100), route(2, 0, 1), route(3, 1, 50)],
      seeded(1),
    );

    expect(ordered.map((r) => r.provider.id)).toEqual([2, 3, 1]);
  });

  it("splits first picks among equal priorities by weight and keeps every route in the order", () => {
    const random = seeded(42);
    const firsts = new Map<number, number>();
    for (let i = 0; i < 4_000; i += 1) {
      const ordered = orderRoutes([route(1, 0, 3), route(2, 0, 1)], random);
      expect(ordered.map((r) => r.provider.id).sort()).toEqual([1, 2]);
      const first = ordered[0].provider.id;
      firsts.set(first, (firsts.get(first) ?? 0) + 1);
    }

    const share = (firsts.get(1) ?? 0) / 4_000;
    expect(share).toBeGreaterThan(0.7);
    expect(share).toBeLessThan(0.8);
  });
});

describe("backoffMs", () => {
  it("doubles the ceiling per retry up to the maximum", () => {
    const top = () => 0.999_999;
    expect(backoffMs(1, 100, 2_000, top)).toBe(100);
    expect(backoffMs(2, 100, 2_000, top)).toBe(200);
    expect(backoffMs(3, 100, 2_000, top)).toBe(400);
    expect(backoffMs(10, 100, 2_000, top)).toBe(2_000);
    expect(backoffMs(3, 100, 2_000, () => 0)).toBe(0);
  });
});

describe("retryAfterMs", () => {
  it("reads seconds, milliseconds and HTTP dates", () => {
    const now = Date.parse("2026-12-04T12:00:00Z");

    expect(retryAfterMs({ "retry-after": "2" }, now)).toBe(2_000);
    expect(retryAfterMs({ "retry-after": "0.5" }, now)).toBe(500);
    expect(retryAfterMs({ "retry-after-ms": "250" }, now)).toBe(250);
    expect(
      retryAfterMs({ "retry-after": "Fri, 04 Dec 2026 12:00:03 GMT" }, now),
    ).toBe(3_000);
  });

  it("returns null for a missing or unreadable header", () => {
    expect(retryAfterMs({})).toBeNull();
    expect(retryAfterMs({ "retry-after": "soon" })).toBeNull();
  });
});
