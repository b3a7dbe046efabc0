// Workflow sandbox: imports only @temporalio/workflow, never Node.
import { sleep } from '@temporalio/workflow';

/**
 * A timer whose firing is an event in history, for decisions that must replay identically: instead of
 * comparing `Date.now()` with a stored time (a query arriving while a workflow task is pending can make
 * an activation run with a stale clock, and the comparison then comes out differently on replay), the
 * workflow acts when {@link take} says the timer fired. Durations are constant per call site, and the
 * timer is never cancelled (a pending one costs nothing and is dropped by a continue-as-new).
 *
 * @example
 * ```ts
 * import { condition } from '@temporalio/workflow';
 * import { RecordedTimer } from 'slotwise/internal/workflows/durable/recorded-timer.js';
 *
 * export async function ticking(): Promise<number> {
 *   const timer = new RecordedTimer();
 *   let ticks = 0;
 *   while (ticks < 3) {
 *     timer.arm(1_000);
 *     await condition(() => timer.fired);
 *     if (timer.take()) ticks++;
 *   }
 *   return ticks; // => 3
 * }
 * ```
 */
export class RecordedTimer {
  #armed = false;
  #fired = false;

  /** Starts the timer unless it is already running; returns whether it started (one command). */
  arm(ms: number): boolean {
    if (this.#armed) return false;
    this.#armed = true;
    sleep(ms).then(
      () => {
        this.#armed = false;
        this.#fired = true;
      },
      () => {
        this.#armed = false; // the workflow is being cancelled: nothing to report
      },
    );
    return true;
  }

  /** A started timer that has not fired yet. */
  get armed(): boolean {
    return this.#armed;
  }

  /** The timer fired and {@link take} has not consumed it yet. */
  get fired(): boolean {
    return this.#fired;
  }

  /** Consumes a firing: true once per firing. */
  take(): boolean {
    const fired = this.#fired;
    this.#fired = false;
    return fired;
  }
}
