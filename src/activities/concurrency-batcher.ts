/**
 * Gathers the calls a Worker process makes to one destination (a concurrency controller) into batches:
 * at most `maxInFlight` sends per destination at a time (and `maxInFlightTotal` over all destinations,
 * beyond one each), each carrying up to `maxBatch` items; what arrives meanwhile waits for the next
 * send and goes with it. 200 runs asking one controller at once
 * then cost a handful of updates instead of 200 (the server admits only 10 updates in flight per
 * workflow, and every update costs the controller two history events).
 *
 * A send that fails is retried after a backoff shared by the destination (it is busy or continuing as
 * new), with whatever arrived meanwhile; items whose caller gave up (`signal` aborted) are dropped
 * from it first. A send that fails for good (`permanent(error)`) rejects its items.
 *
 * No send holds its items forever: one not answered by the latest deadline of its items, or within
 * `sendTimeoutMs` for items without one (an update the server never gets the controller to accept, a
 * server that does not answer), is given up (the send is also told that time as its `deadline`, for
 * calls that take a deadline but no abort signal). Its `signal` is aborted,
 * its slot freed, and its items retried like a failed send's; whatever it answers later is ignored.
 * A send whose callers have all given up is given up at once (nobody waits for its answer). The items
 * of a destination must therefore be safe to send twice: the concurrency controller answers a request
 * it already has (same request id) with its decision so far and never grants it twice.
 *
 * @example
 * ```ts
 * import { Batcher } from 'slotwise/internal/activities/concurrency-batcher.js';
 * const batcher = new Batcher<number, number>(async (_to, xs) => xs.map((x) => x * 2));
 * await Promise.all([batcher.submit('a', 1), batcher.submit('a', 2)]); // => [2, 4], in one send
 * ```
 */
export class Batcher<I, R> {
  readonly #lanes = new Map<string, Lane<I, R>>();
  readonly #options: Required<BatcherOptions>;
  /** Sends in flight over all destinations. */
  #inFlight = 0;

  constructor(
    private readonly send: (
      destination: string,
      items: I[],
      signal: AbortSignal,
      deadline: number,
    ) => Promise<R[]>,
    options: BatcherOptions = {},
  ) {
    this.#options = {
      maxInFlight: options.maxInFlight ?? 3,
      maxInFlightTotal: options.maxInFlightTotal ?? 3,
      maxBatch: options.maxBatch ?? 100,
      backoffMs: options.backoffMs ?? ((attempt) => Math.min(20 * 2 ** attempt, 1_000)),
      permanent: options.permanent ?? (() => false),
      sendTimeoutMs: options.sendTimeoutMs ?? 3_000,
    };
  }

  /**
   * Sends `item` to `destination` with the next batch; resolves with its own result. `deadline` (ms
   * since the epoch): when its caller stops waiting; a send lasts no longer than the latest deadline of
   * its items (`sendTimeoutMs` from its start for items without one).
   */
  submit(destination: string, item: I, signal?: AbortSignal, deadline?: number): Promise<R> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    let lane = this.#lanes.get(destination);
    if (!lane) {
      lane = { pending: [], inFlight: 0, failures: 0, retryAt: 0, scheduled: false };
      this.#lanes.set(destination, lane);
    }
    let resolve!: (value: R) => void;
    let reject!: (error: unknown) => void;
    const promise = new Promise<R>((yes, no) => {
      resolve = yes;
      reject = no;
    });
    const entry: Entry<I, R> = { item, resolve, reject, signal, deadline };
    if (signal) {
      const onAbort = () => {
        if (entry.done) return;
        entry.done = true;
        reject(signal.reason);
        // The last caller of a send in flight gave up: nobody waits for that send any more.
        if (entry.flight?.entries.every((e) => e.done)) entry.flight.abandon();
      };
      signal.addEventListener('abort', onAbort, { once: true });
      entry.detach = () => signal.removeEventListener('abort', onAbort);
    }
    lane.pending.push(entry);
    this.#schedule(destination, lane, 0);
    return promise;
  }

  /** Sends in flight and items waiting, per destination (for tests and diagnostics). */
  stats(destination: string): { inFlight: number; pending: number } {
    const lane = this.#lanes.get(destination);
    return { inFlight: lane?.inFlight ?? 0, pending: lane?.pending.filter((e) => !e.done).length ?? 0 };
  }

  /** Flushes the lane after `delayMs` (0: once the calls of this turn of the event loop are in). */
  #schedule(destination: string, lane: Lane<I, R>, delayMs: number): void {
    if (lane.scheduled) return;
    lane.scheduled = true;
    const run = () => {
      lane.scheduled = false;
      this.#flush(destination, lane);
    };
    if (delayMs > 0) setTimeout(run, delayMs).unref();
    else setImmediate(run);
  }

  #flush(destination: string, lane: Lane<I, R>): void {
    lane.pending = lane.pending.filter((e) => !e.done);
    const wait = lane.retryAt - Date.now();
    if (wait > 0) {
      if (lane.pending.length > 0) this.#schedule(destination, lane, wait);
      return;
    }
    // One send per destination always (a destination that does not answer holds up no other); more
    // only within the total, so that what arrives meanwhile gathers into the next batch.
    const { maxInFlight, maxInFlightTotal } = this.#options;
    while (
      lane.pending.length > 0 &&
      (lane.inFlight === 0 || (lane.inFlight < maxInFlight && this.#inFlight < maxInFlightTotal))
    ) {
      const batch = lane.pending.splice(0, this.#options.maxBatch);
      lane.inFlight++;
      this.#inFlight++;
      void this.#sendBatch(destination, lane, batch);
    }
    if (lane.inFlight === 0 && lane.pending.length === 0) this.#lanes.delete(destination);
  }

  async #sendBatch(destination: string, lane: Lane<I, R>, batch: Entry<I, R>[]): Promise<void> {
    const abort = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    let callersGone = false;
    const flight: Flight<I, R> = { entries: batch, abandon: () => {} };
    const now = Date.now();
    const deadline = Math.max(...batch.map((e) => e.deadline ?? now + this.#options.sendTimeoutMs));
    const timeoutMs = Math.max(0, deadline - now);
    // Settles (rejected) when the send is given up: timed out, or every caller gone.
    const givenUp = new Promise<never>((_, reject) => {
      const giveUp = (why: Error) => {
        abort.abort(why);
        reject(why);
      };
      timer = setTimeout(() => {
        giveUp(new Error(`slotwise: a batch send to ${destination} was not answered within ${timeoutMs} ms`));
      }, timeoutMs);
      flight.abandon = () => {
        callersGone = true;
        giveUp(new Error('slotwise: every caller of this batch gave up'));
      };
    });
    for (const entry of batch) entry.flight = flight;
    try {
      const sent = this.send(
        destination,
        batch.map((e) => e.item),
        abort.signal,
        deadline,
      );
      const results = await Promise.race([sent, givenUp]);
      lane.failures = 0;
      for (const [index, entry] of batch.entries()) {
        settle(entry, () => {
          if (index >= results.length) entry.reject(new Error('slotwise: a batch came back short'));
          else entry.resolve(results[index]!);
        });
      }
    } catch (error) {
      if (callersGone) {
        // Nothing failed: the slot goes to whoever waits, at once.
      } else if (!abort.signal.aborted && this.#options.permanent(error)) {
        for (const entry of batch) settle(entry, () => entry.reject(error));
      } else {
        // Busy, continuing as new, or not answering: everyone to this destination waits a little, then
        // tries again (a given-up send's items go again: the controller takes a repeat as one request).
        lane.retryAt = Date.now() + this.#options.backoffMs(lane.failures++);
        lane.pending.unshift(...batch.filter((e) => !e.done));
      }
    } finally {
      clearTimeout(timer);
      givenUp.catch(() => {});
      for (const entry of batch) if (entry.flight === flight) entry.flight = undefined;
      lane.inFlight--;
      this.#inFlight--;
      this.#schedule(destination, lane, 0);
      // Room in the total: destinations waiting for it may send now.
      for (const [other, waiting] of this.#lanes)
        if (waiting !== lane && waiting.pending.length > 0) this.#schedule(other, waiting, 0);
    }
  }
}

/** How a {@link Batcher} batches. */
export interface BatcherOptions {
  /** Sends in flight per destination at once. @default 3 */
  maxInFlight?: number;
  /**
   * Sends in flight over all destinations at once, beyond the one every destination may always have.
   * Requests to several controllers (shards) then still gather into batches instead of each going
   * alone. @default 3
   */
  maxInFlightTotal?: number;
  /** Items per send at most. @default 100 */
  maxBatch?: number;
  /** Wait after the `attempt`-th failure in a row (0-based) of a destination. @default 20 ms doubling to 1 s */
  backoffMs?: (attempt: number) => number;
  /** Errors not worth retrying: the batch's items are rejected with them. @default none */
  permanent?: (error: unknown) => boolean;
  /**
   * A send not answered within this (or by the latest deadline its items were submitted with) is given
   * up (its signal aborted) and its items retried. @default 3000 ms
   */
  sendTimeoutMs?: number;
}

interface Entry<I, R> {
  item: I;
  resolve(value: R): void;
  reject(error: unknown): void;
  signal: AbortSignal | undefined;
  /** When its caller stops waiting (ms since the epoch), if it said. */
  deadline: number | undefined;
  detach?: () => void;
  /** The send carrying it now, if one is in flight. */
  flight?: Flight<I, R> | undefined;
  /** Settled (answered, failed or given up by its caller). */
  done?: boolean;
}

interface Flight<I, R> {
  entries: Entry<I, R>[];
  /** Gives the send up because none of its callers waits any more. */
  abandon(): void;
}

interface Lane<I, R> {
  pending: Entry<I, R>[];
  inFlight: number;
  /** Failures in a row. */
  failures: number;
  /** No send before this time (ms since the epoch). */
  retryAt: number;
  scheduled: boolean;
}

function settle<I, R>(entry: Entry<I, R>, how: () => void): void {
  if (entry.done) return;
  entry.done = true;
  entry.detach?.();
  how();
}
