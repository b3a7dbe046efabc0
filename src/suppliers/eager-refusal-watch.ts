import type { Logger } from '@temporalio/common';

/**
 * How many `tryReserveSlot` calls one workflow-task completion can make before the Worker stops,
 * with `@temporalio/core-bridge` 1.24: each call waits for the Node event loop inside the Tokio task
 * that completes the workflow activation, and Tokio's cooperative budget of 128 per task poll runs
 * out on the 128th call, whose answer is then never received.
 */
export const EAGER_STALL_CALLS = 128;

/** Core stops asking once a completion holds this many eager permits (sdk-core's default maximum). */
const EAGER_PERMITS_WANTED = 3;

/** The error {@link EagerRefusalWatch} logs. */
export function eagerStallMessage(supplier: string, calls: number): string {
  return (
    `slotwise supplier '${supplier}' answered ${calls} eager activity reservations (tryReserveSlot) in a row with ` +
    `fewer than ${EAGER_PERMITS_WANTED} permits. Eager activity dispatch is on (only it calls tryReserveSlot for activity ` +
    `slots): with @temporalio/core-bridge 1.24, a workflow task that schedules ${EAGER_STALL_CALLS} or more activities ` +
    `while fewer than ${EAGER_PERMITS_WANTED} activity slots are free stops the whole Worker, and this looks like one. ` +
    'Set the Worker option maxEagerActivityReservationsPerWorkflowTask: 0 (withSlotwise() and slotwiseWorkerOptions() do).'
  );
}

/**
 * Watches a supplier's answers to core's `tryReserveSlot` for activity slots and logs one error when
 * they form the run the eager-dispatch stall produces: {@link EAGER_STALL_CALLS} calls in a row that
 * got fewer than 3 permits between them (a run ends with its third grant). (Core calls `tryReserveSlot` for activity slots only with
 * eager dispatch on: once per eager-eligible activity of a completing workflow task, until it holds
 * 3 permits; so one workflow task asks at most this often when it gets fewer than 3.) It only
 * counts: no answer changes.
 *
 * @example
 * ```ts
 * import { DefaultLogger } from '@temporalio/worker';
 * import { EagerRefusalWatch } from 'slotwise/internal/suppliers/eager-refusal-watch.js';
 *
 * const watch = new EagerRefusalWatch('activities', new DefaultLogger('WARN'));
 * watch.record(true);
 * for (let i = 0; i < 127; i++) watch.record(false); // logs the error once, at the 128th call
 * watch.callsInARow; // => 128
 * ```
 */
export class EagerRefusalWatch {
  readonly #supplier: string;
  readonly #logger: Logger;
  #calls = 0;
  #grants = 0;
  #logged = false;

  constructor(supplier: string, logger: Logger) {
    this.#supplier = supplier;
    this.#logger = logger;
  }

  /** Calls in the current run: since the last time 3 grants completed a run. */
  get callsInARow(): number {
    return this.#calls;
  }

  /** Records one answer to an activity `tryReserveSlot`. Never throws. */
  record(granted: boolean): void {
    this.#calls++;
    if (granted && ++this.#grants === EAGER_PERMITS_WANTED) {
      // A workflow task that got its 3 permits asks no more: the next call starts a new run.
      this.#calls = 0;
      this.#grants = 0;
      return;
    }
    if (this.#calls === EAGER_STALL_CALLS && !this.#logged) {
      this.#logged = true;
      try {
        this.#logger.error(eagerStallMessage(this.#supplier, EAGER_STALL_CALLS));
      } catch {
        // A broken logger must not break the supplier.
      }
    }
  }
}
