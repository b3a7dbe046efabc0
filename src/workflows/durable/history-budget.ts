// Workflow sandbox: imports only @temporalio/workflow, never Node.
import { workflowInfo } from '@temporalio/workflow';

/** Events a continue-as-new costs at the end: the workflow task completed, and the continued-as-new event. */
const CONTINUE_AS_NEW_EVENTS = 2;
/** Events of the next workflow task before the workflow sees it: scheduled and started. */
const NEXT_TASK_EVENTS = 2;

/**
 * Keeps a long-lived workflow's history under a bound by accounting for every event it causes, not
 * only for the events already written. At any point of a workflow task it knows:
 * - the history so far (`workflowInfo().historyLength`, which includes this task's started event);
 * - what this task's completion will add: one completed event plus one per command and per accepted
 *   update message (twice: accepted and completed), as the caller {@link spend}s them;
 * - what is owed later: one event per command still in flight (a signal's outcome, a timer's firing),
 *   which the caller passes to {@link room}.
 * {@link room} is what may still be spent before the workflow must continue as new, keeping a reserve
 * (a twentieth of the bound, at least 10) for signals that arrive meanwhile. Deterministic: it reads
 * only history lengths, never a clock.
 *
 * @example
 * ```ts
 * import { continueAsNew } from '@temporalio/workflow';
 * import { HistoryBudget } from 'slotwise/internal/workflows/durable/history-budget.js';
 *
 * export async function longLived(): Promise<void> {
 *   const budget = new HistoryBudget(() => 2_000);
 *   if (budget.room(0) < 4) await continueAsNew<typeof longLived>(); // => well before 2000 events
 * }
 * ```
 */
export class HistoryBudget {
  #taskLength = -1;
  #spent = 0;

  /** `maxEvents` is read at every call, so the bound may change while the workflow runs. */
  constructor(private readonly maxEvents: () => number) {}

  /** Records `events` that the current workflow task's completion will add. */
  spend(events: number): void {
    this.#sync();
    this.#spent += events;
  }

  /** Events spent in the current workflow task so far. */
  get spentInTask(): number {
    this.#sync();
    return this.#spent;
  }

  /** The reserve kept for incoming signals. */
  get reserve(): number {
    return Math.max(10, Math.ceil(this.maxEvents() / 20));
  }

  /**
   * Events that may still be spent in this workflow task, `owed` being the events commands already
   * sent will still add (one per signal or timer in flight). Below what the next step needs, continue
   * as new now.
   */
  room(owed: number): number {
    this.#sync();
    const committed = this.#taskLength + 1 + this.#spent + owed + NEXT_TASK_EVENTS + CONTINUE_AS_NEW_EVENTS;
    return this.maxEvents() - this.reserve - committed;
  }

  #sync(): void {
    const { historyLength } = workflowInfo();
    if (historyLength !== this.#taskLength) {
      this.#taskLength = historyLength;
      this.#spent = 0;
    }
  }
}
