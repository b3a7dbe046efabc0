import type { Logger } from '@temporalio/common';

/**
 * How many `tryReserveSlot` calls one workflow-task completion can make before the Worker stops,
 * with `@temporalio/core-bridge` 1.24: each call waits for the Node event loop inside the Tokio task
 * that completes the workflow activation, and Tokio's cooperative budget of 128 per task poll runs
 * out on the 128th call, whose answer is then never received.
 */
export const EAGER_STALL_CALLS = 128;

/** The error {@link EagerRefusalWatch} logs. */
export function eagerStallMessage(supplier: string, refusals: number): string {
  return (
    `slotwise supplier '${supplier}' refused ${refusals} eager activity reservations in a row (tryReserveSlot). ` +
    'Eager activity dispatch is on (only it calls tryReserveSlot for activity slots): with @temporalio/core-bridge 1.24, ' +
    `a workflow task that schedules ${EAGER_STALL_CALLS} or more activities while fewer than 3 activity slots are free ` +
    'stops the whole Worker, and this looks like one. Set the Worker option maxEagerActivityReservationsPerWorkflowTask: 0 ' +
    '(withSlotwise() and slotwiseWorkerOptions() do).'
  );
}

/**
 * Watches a supplier's answers to core's `tryReserveSlot` for activity slots and logs one error when
 * they form the run that the eager-dispatch stall produces: {@link EAGER_STALL_CALLS} refusals with
 * no grant between them. It only counts: no answer changes. Core calls `tryReserveSlot` for activity
 * slots only with eager dispatch on, once per eager-eligible activity of a completing workflow task
 * until it holds 3 permits.
 *
 * @example
 * ```ts
 * import { DefaultLogger } from '@temporalio/worker';
 * import { EagerRefusalWatch } from 'slotwise/internal/suppliers/eager-refusal-watch.js';
 *
 * const watch = new EagerRefusalWatch('activities', new DefaultLogger('WARN'));
 * for (let i = 0; i < 128; i++) watch.record(false); // logs the error once, at the 128th refusal
 * watch.refusalsInARow; // => 128
 * ```
 */
export class EagerRefusalWatch {
  readonly #supplier: string;
  readonly #logger: Logger;
  #run = 0;
  #logged = false;

  constructor(supplier: string, logger: Logger) {
    this.#supplier = supplier;
    this.#logger = logger;
  }

  /** Refusals since the last grant. */
  get refusalsInARow(): number {
    return this.#run;
  }

  /** Records one answer to an activity `tryReserveSlot`. Never throws. */
  record(granted: boolean): void {
    if (granted) {
      this.#run = 0;
      return;
    }
    this.#run++;
    if (this.#run === EAGER_STALL_CALLS && !this.#logged) {
      this.#logged = true;
      try {
        this.#logger.error(eagerStallMessage(this.#supplier, this.#run));
      } catch {
        // A broken logger must not break the supplier.
      }
    }
  }
}
