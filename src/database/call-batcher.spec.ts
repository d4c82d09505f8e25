import { AsyncLocalStorage } from "node:async_hooks";

import { BatchOutcome, CallBatcher } from "./call-batcher";

/** Resolves after the event loop has run the callbacks queued so far, including setImmediate ones. */
const turn = () => new Promise((resolve) => setImmediate(resolve));

/** Creates a call that records every batch it gets and doubles each number; negative numbers fail on their own. */
function doubling() {
  const batches: number[][] = [];
  let release: () => void = () => undefined;
  let gate: Promise<void> | null = null;

  const call = async (items: number[]): Promise<BatchOutcome<number>[]> => {
    batches.push(items);
    if (gate) {
      await gate;
    }
    return items.map((item) =>
      item < 0
        ? { ok: false, error: new Error(`negative ${item}`) }
        : { ok: true, value: item * 2 },
    );
  };
  const hold = () => {
    gate = new Promise((resolve) => (release = resolve));
  };
  const open = () => {
    gate = null;
    release();
  };
  return { batches, call, hold, open };
}

describe("CallBatcher", () => {
  it("sends one turn's items together", async () => {
    const calls = doubling();
    const batcher = new CallBatcher(calls.call, {
      maxBatch: 64,
      maxInFlight: 1,
    });

    const results = await Promise.all([1, 2, 3].map((n) => batcher.submit(n)));

    expect(results).toEqual([2, 4, 6]);
    expect(calls.batches).toEqual([[1, 2, 3]]);
  });

  it("sends a lone item alone", async () => {
    const calls = doubling();
    const batcher = new CallBatcher(calls.call, {
      maxBatch: 64,
      maxInFlight: 1,
    });

    expect(await batcher.submit(7)).toBe(14);
    expect(await batcher.submit(8)).toBe(16);
    expect(calls.batches).toEqual([[7], [8]]);
  });

  it("queues items while calls are busy", async () => {
    const calls = doubling();
    const batcher = new CallBatcher(calls.call, {
      maxBatch: 64,
      maxInFlight: 1,
    });

    calls.hold();
    const first = batcher.submit(1);
    await turn();
    const later = [2, 3, 4].map((n) => batcher.submit(n));
    await turn();
    expect(calls.batches).toEqual([[1]]);

    calls.open();
    expect(await first).toBe(2);
    expect(await Promise.all(later)).toEqual([4, 6, 8]);
    expect(calls.batches).toEqual([[1], [2, 3, 4]]);
  });

  it("caps calls and batch size", async () => {
    const calls = doubling();
    const batcher = new CallBatcher(calls.call, {
      maxBatch: 2,
      maxInFlight: 2,
    });

    calls.hold();
    const results = [1, 2, 3, 4, 5].map((n) => batcher.submit(n));
    await turn();
    expect(calls.batches).toEqual([
      [1, 2],
      [3, 4],
    ]);

    calls.open();
    expect(await Promise.all(results)).toEqual([2, 4, 6, 8, 10]);
    expect(calls.batches).toEqual([[1, 2], [3, 4], [5]]);
  });

  it("rejects only the failed item", async () => {
    const calls = doubling();
    const batcher = new CallBatcher(calls.call, {
      maxBatch: 64,
      maxInFlight: 1,
    });

    const results = await Promise.allSettled(
      [1, -2, 3].map((n) => batcher.submit(n)),
    );

    expect(results).toEqual([
      { status: "fulfilled", value: 2 },
      { status: "rejected", reason: new Error("negative -2") },
      { status: "fulfilled", value: 6 },
    ]);
    expect(calls.batches).toEqual([[1, -2, 3]]);
  });

  it("retries a failed call per item", async () => {
    const batches: string[][] = [];
    const failures: { error: unknown; items: string[] }[] = [];
    const batcher = new CallBatcher<string, string>(
      async (items) => {
        batches.push(items);
        if (items.includes("bad")) {
          throw new Error("the call failed on bad");
        }
        return items.map((item) => ({ ok: true, value: item.toUpperCase() }));
      },
      {
        maxBatch: 64,
        maxInFlight: 1,
        onCallFailed: (error, items) => failures.push({ error, items }),
      },
    );

    const results = await Promise.allSettled(
      ["a", "bad", "c"].map((item) => batcher.submit(item)),
    );

    expect(results).toEqual([
      { status: "fulfilled", value: "A" },
      { status: "rejected", reason: new Error("the call failed on bad") },
      { status: "fulfilled", value: "C" },
    ]);
    expect(batches).toEqual([["a", "bad", "c"], ["a"], ["bad"], ["c"]]);
    expect(failures).toEqual([
      { error: new Error("the call failed on bad"), items: ["a", "bad", "c"] },
    ]);
  });

  it("rejects items without an outcome", async () => {
    const batcher = new CallBatcher<number, number>(
      async (items) => [{ ok: true, value: items[0] }],
      { maxBatch: 64, maxInFlight: 1 },
    );

    const results = await Promise.allSettled([
      batcher.submit(1),
      batcher.submit(2),
    ]);

    expect(results[0]).toEqual({ status: "fulfilled", value: 1 });
    expect(results[1]).toMatchObject({
      status: "rejected",
      reason: new Error("the batch call returned 1 outcomes for 2 items"),
    });
  });

  it("calls outside the submitter's context", async () => {
    const requestContext = new AsyncLocalStorage<string>();
    const seen: (string | undefined)[] = [];
    const batcher = new CallBatcher<number, number>(
      async (items) => {
        seen.push(requestContext.getStore());
        return items.map((item) => ({ ok: true, value: item }));
      },
      { maxBatch: 64, maxInFlight: 1 },
    );

    const result = await requestContext.run("request-1", () =>
      batcher.submit(1),
    );

    expect(result).toBe(1);
    expect(seen).toEqual([undefined]);
  });
});
