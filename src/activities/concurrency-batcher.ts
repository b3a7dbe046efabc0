/**
 * Gathers the calls a Worker process makes to one destination (a concurrency controller) into batches:
 * at most `maxInFlight` sends per destination at a time, and `maxInFlightTotal` over all destinations
 * (taking turns), each carrying up to `maxBatch` items; what arrives meanwhile waits for the next
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
  /** Sends in flight that count toward `maxInFlightTotal` (not answered, and not stalled yet). */
  #counted = 0;
  /** Order of arrival of items: the destination whose oldest item waits longest sends first. */
  #sequence = 0;
  #pumpScheduled = false;
  /** A pump waiting for a destination's backoff to pass, and when it runs. */
  #wake: { at: number; timer: ReturnType<typeof setTimeout> } | undefined;

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
      stallMs: options.stallMs ?? 1_000,
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
      lane = { pending: [], inFlight: 0, failures: 0, retryAt: 0 };
      this.#lanes.set(destination, lane);
    }
    let resolve!: (value: R) => void;
    let reject!: (error: unknown) => void;
    const promise = new Promise<R>((yes, no) => {
      resolve = yes;
      reject = no;
    });
    const entry: Entry<I, R> = { item, resolve, reject, signal, deadline, sequence: this.#sequence++ };
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
    this.#schedulePump();
    return promise;
  }

  /** Sends in flight and items waiting, per destination (for tests and diagnostics). */
  stats(destination: string): { inFlight: number; pending: number } {
    const lane = this.#lanes.get(destination);
    return { inFlight: lane?.inFlight ?? 0, pending: lane?.pending.filter((e) => !e.done).length ?? 0 };
  }

  /** Starts what may be sent once the calls of this turn of the event loop are in. */
  #schedulePump(): void {
    if (this.#pumpScheduled) return;
    this.#pumpScheduled = true;
    setImmediate(() => {
      this.#pumpScheduled = false;
      this.#pump();
    });
  }

  /** Pumps again at `at` (ms since the epoch), when a destination's backoff has passed. */
  #wakeAt(at: number): void {
    if (this.#wake && this.#wake.at <= at) return;
    if (this.#wake) clearTimeout(this.#wake.timer);
    const timer = setTimeout(
      () => {
        this.#wake = undefined;
        this.#pump();
      },
      Math.max(0, at - Date.now()),
    );
    timer.unref?.();
    this.#wake = { at, timer };
  }

  /**
   * Starts sends while the limits allow: at most `maxInFlight` per destination and `maxInFlightTotal`
   * over all (sends stalled past `stallMs` no longer count), destinations taking turns by the age of
   * their oldest waiting item, one send each per turn.
   */
  #pump(): void {
    const now = Date.now();
    const { maxInFlight, maxInFlightTotal, maxBatch } = this.#options;
    const ready: Array<[string, Lane<I, R>]> = [];
    for (const [destination, lane] of this.#lanes) {
      lane.pending = lane.pending.filter((e) => !e.done);
      if (lane.pending.length === 0) {
        if (lane.inFlight === 0) this.#lanes.delete(destination);
      } else if (lane.retryAt > now) this.#wakeAt(lane.retryAt);
      else ready.push([destination, lane]);
    }
    ready.sort(([, a], [, b]) => a.pending[0]!.sequence - b.pending[0]!.sequence);
    for (let started = true; started; ) {
      started = false;
      for (const [destination, lane] of ready) {
        if (this.#counted >= Math.max(1, maxInFlightTotal)) return;
        if (lane.pending.length === 0 || lane.inFlight >= maxInFlight) continue;
        void this.#sendBatch(destination, lane, lane.pending.splice(0, maxBatch));
        started = true;
      }
    }
  }

  async #sendBatch(destination: string, lane: Lane<I, R>, batch: Entry<I, R>[]): Promise<void> {
    lane.inFlight++;
    this.#counted++;
    let counted = true;
    const uncount = () => {
      if (!counted) return;
      counted = false;
      this.#counted--;
    };
    // Not answered for a while (its controller may be gone): it no longer holds up the others.
    const stall = setTimeout(() => {
      uncount();
      this.#pump();
    }, this.#options.stallMs);
    stall.unref?.();
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
      clearTimeout(stall);
      givenUp.catch(() => {});
      for (const entry of batch) if (entry.flight === flight) entry.flight = undefined;
      lane.inFlight--;
      uncount();
      // Room again: whoever waits longest sends next (this destination, or another).
      this.#schedulePump();
    }
  }
}

/** How a {@link Batcher} batches. */
export interface BatcherOptions {
  /** Sends in flight per destination at once. @default 3 */
  maxInFlight?: number;
  /**
   * Sends in flight over all destinations at once (a send stalled past `stallMs` no longer counts).
   * Destinations take turns, the one whose oldest item waits longest first, so that requests to
   * several controllers (shards) gather into batches as big as those to one controller, instead of
   * each controller getting its own stream of small sends. @default 3
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
  /**
   * A send not answered within this stops counting toward `maxInFlightTotal`: a destination that does
   * not answer (its controller's Workers are gone) holds up the others no longer than this. @default 1000 ms
   */
  stallMs?: number;
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
  /** Order of arrival over all destinations. */
  sequence: number;
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
}

function settle<I, R>(entry: Entry<I, R>, how: () => void): void {
  if (entry.done) return;
  entry.done = true;
  entry.detach?.();
  how();
}
