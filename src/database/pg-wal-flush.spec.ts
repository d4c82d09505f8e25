import { isPgFlushUnavailable, PgWalFlush } from "./pg-wal-flush";

/** Returns a flush statement whose completion each test controls, and the list of its runs in start order. */
function controlledBarrier() {
  const pending: { resolve: () => void; reject: (error: Error) => void }[] = [];
  const barrier = () =>
    new Promise<void>((resolve, reject) => pending.push({ resolve, reject }));
  return { barrier, pending };
}

/** Lets every settled promise run its callbacks. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe("PgWalFlush", () => {
  it("runs one flush for a lone caller", async () => {
    const { barrier, pending } = controlledBarrier();
    const flush = new PgWalFlush(barrier);

    const done = flush.flush();
    expect(pending).toHaveLength(1);
    pending[0].resolve();

    await expect(done).resolves.toBeUndefined();
  });

  it("makes callers during a flush wait for the next one, which they share", async () => {
    const { barrier, pending } = controlledBarrier();
    const flush = new PgWalFlush(barrier);
    const order: string[] = [];

    const first = flush.flush().then(() => order.push("first"));
    const joined = [1, 2, 3].map((index) =>
      flush.flush().then(() => order.push(`joined ${index}`)),
    );
    expect(pending).toHaveLength(1);

    pending[0].resolve();
    await first;
    await settle();
    expect(order).toEqual(["first"]);
    expect(pending).toHaveLength(2);

    pending[1].resolve();
    await Promise.all(joined);
    expect(order).toEqual(["first", "joined 1", "joined 2", "joined 3"]);
    expect(pending).toHaveLength(2);
  });

  it("fails one flush, runs the next", async () => {
    const { barrier, pending } = controlledBarrier();
    const flush = new PgWalFlush(barrier);

    const failed = flush.flush();
    const next = flush.flush();
    pending[0].reject(new Error("connection terminated"));
    await expect(failed).rejects.toThrow("connection terminated");

    await settle();
    expect(pending).toHaveLength(2);
    pending[1].resolve();
    await expect(next).resolves.toBeUndefined();
  });

  it("starts afresh once idle", async () => {
    const { barrier, pending } = controlledBarrier();
    const flush = new PgWalFlush(barrier);

    const first = flush.flush();
    pending[0].resolve();
    await first;
    const second = flush.flush();

    expect(pending).toHaveLength(2);
    pending[1].resolve();
    await expect(second).resolves.toBeUndefined();
  });
});

describe("isPgFlushUnavailable", () => {
  it.each([
    ["undefined function", { code: "42883" }, true],
    ["insufficient privilege", { code: "42501" }, true],
    ["connection refused", { code: "ECONNREFUSED" }, false],
    ["admin shutdown", { code: "57P01" }, false],
    ["error without a code", new Error("boom"), false],
    ["null", null, false],
  ])("classifies %s", (_name, error, expected) => {
    expect(isPgFlushUnavailable(error)).toBe(expected);
  });
});
