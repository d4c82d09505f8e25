import { AsyncResource } from "node:async_hooks";

/** Runs a batch of items in one call and returns one outcome per item, in the items' order. */
export type BatchCall<I, O> = (items: I[]) => Promise<BatchOutcome<O>[]>;

/** The outcome of one item of a batch: a value, or an error that belongs to that item alone. */
export type BatchOutcome<O> =
  { ok: true; value: O } | { ok: false; error: unknown };

export interface CallBatcherOptions<I> {
  /** Maximum items per call. */
  maxBatch: number;
  /** Maximum calls running at once. Items that arrive while all are busy wait for the next call. */
  maxInFlight: number;
  /** Receives a call of several items that failed as a whole, before its items are retried one by one. */
  onCallFailed?: (error: unknown, items: I[]) => void;
}

interface Pending<I, O> {
  item: I;
  resolve: (value: O) => void;
  reject: (error: unknown) => void;
}

/**
 * Collects the items that arrive while earlier calls run and sends them in one call, so under load one database
 * round trip, commit and row lock serve many items. In an idle process an item is sent alone on the next turn of
 * the event loop.
 *
 * A call that fails as a whole (an error of the batch, not of one item) is retried item by item, so an error
 * reaches only the item that causes it. An item's promise settles once its call has returned.
 */
export class CallBatcher<I, O> {
  private readonly queue: Pending<I, O>[] = [];
  private inFlight = 0;
  private scheduled = false;
  /**
   * The async context that calls run in: the one the batcher was created in, not that of the request whose item
   * happened to start a call, so log lines of a batch do not carry one request's id.
   */
  private readonly context = new AsyncResource("CallBatcher");

  constructor(
    private readonly call: BatchCall<I, O>,
    private readonly options: CallBatcherOptions<I>,
  ) {}

  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.schedule();
    });
  }

  /** Starts a call on the next turn of the event loop, so the items submitted in this turn go out together. */
  private schedule(): void {
    if (this.scheduled || this.inFlight >= this.options.maxInFlight) {
      return;
    }
    this.scheduled = true;
    setImmediate(() =>
      this.context.runInAsyncScope(() => {
        this.scheduled = false;
        this.startCalls();
      }),
    );
  }

  private startCalls(): void {
    while (this.queue.length > 0 && this.inFlight < this.options.maxInFlight) {
      const batch = this.queue.splice(0, this.options.maxBatch);
      this.inFlight++;
      void this.send(batch).finally(() => {
        this.inFlight--;
        this.schedule();
      });
    }
  }

  private async send(batch: Pending<I, O>[]): Promise<void> {
    let outcomes: BatchOutcome<O>[];
    try {
      outcomes = await this.call(batch.map((pending) => pending.item));
    } catch (error) {
      if (batch.length === 1) {
        batch[0].reject(error);
        return;
      }
      this.options.onCallFailed?.(
        error,
        batch.map((pending) => pending.item),
      );
      await Promise.all(batch.map((pending) => this.send([pending])));
      return;
    }

    batch.forEach((pending, index) => {
      const outcome = outcomes[index];
      if (outcome === undefined) {
        pending.reject(
          new Error(
            `the batch call returned ${outcomes.length} outcomes for ${batch.length} items`,
          ),
        );
      } else if (outcome.ok) {
        pending.resolve(outcome.value);
      } else {
        pending.reject(outcome.error);
      }
    });
  }
}
