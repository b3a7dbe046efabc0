import { proxyActivities } from '@temporalio/workflow';
import { ConcurrencyRejectedError } from '../workflows/concurrency/errors.js';
import type { WithConcurrencyOptions } from '../workflows/concurrency/options.js';
import { withConcurrency } from '../workflows/concurrency/with-concurrency.js';
import type { ExampleActivities } from './example-activities.js';

// A heartbeat timeout, so that a cancel (CANCEL_IN_PROGRESS replacing this run) reaches the activity;
// withConcurrency() makes it wait for the cancellation to complete, so a replaced run keeps its grant
// until its activity has stopped and the work itself never exceeds the limit either.
const { simulatedWork } = proxyActivities<ExampleActivities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '5 seconds',
  retry: { maximumAttempts: 3 },
});

/** Input of {@link concurrencyExampleWorkflow} and {@link singleFlightExampleWorkflow}. */
export interface ConcurrencyExampleInput {
  /** The group, key, limit and strategy this run competes under. */
  concurrency: WithConcurrencyOptions;
  /** How long the `simulatedWork` activity works once granted, in milliseconds. */
  workMs: number;
  /** Passed to `simulatedWork` and returned by it. @default 0 */
  index?: number;
}

/**
 * An example workflow that runs one `simulatedWork` activity under {@link withConcurrency}: with
 * `GROUP_ROUND_ROBIN` it waits its turn, with `CANCEL_IN_PROGRESS` it replaces (cancels) the oldest
 * run of its key, with `CANCEL_NEWEST` it fails with `ConcurrencyRejectedError` when its key is full.
 * Returns the activity's result (the input's `index`).
 *
 * @example
 * ```ts
 * import { Client } from '@temporalio/client';
 * const client = new Client();
 * const runs = ['a', 'a', 'a', 'b'].map((key, index) =>
 *   client.workflow.execute('concurrencyExampleWorkflow', {
 *     taskQueue: 'slotwise-example',
 *     workflowId: `report-${index}`,
 *     args: [{ concurrency: { group: 'reports', key, maxRuns: 1 }, workMs: 500, index }],
 *   }),
 * );
 * await Promise.all(runs); // => [0, 1, 2, 3]: the three 'a' runs one after another, 'b' alongside
 * ```
 */
export async function concurrencyExampleWorkflow(input: ConcurrencyExampleInput): Promise<number> {
  return withConcurrency(input.concurrency, () =>
    simulatedWork({ ms: input.workMs, index: input.index ?? 0 }),
  );
}

/** Result of {@link singleFlightExampleWorkflow}. */
export type SingleFlightResult = { ran: true; index: number } | { ran: false; reason: string };

/**
 * An example workflow for "one at a time, drop the extras": it runs `simulatedWork` under
 * `CANCEL_NEWEST` and, when its key already has `maxRuns` runs, returns `{ ran: false }` instead of
 * failing, by catching {@link ConcurrencyRejectedError}.
 *
 * @example
 * ```ts
 * import { Client } from '@temporalio/client';
 * const client = new Client();
 * const start = (workflowId: string) =>
 *   client.workflow.execute('singleFlightExampleWorkflow', {
 *     taskQueue: 'slotwise-example',
 *     workflowId,
 *     args: [{ concurrency: { group: 'cache-refresh', key: 'users', maxRuns: 1 }, workMs: 1_000 }],
 *   });
 * await Promise.all([start('refresh-1'), start('refresh-2')]);
 * // => [{ ran: true, index: 0 }, { ran: false, reason: '...' }] (in some order)
 * ```
 */
export async function singleFlightExampleWorkflow(
  input: ConcurrencyExampleInput,
): Promise<SingleFlightResult> {
  try {
    const index = await withConcurrency({ ...input.concurrency, strategy: 'CANCEL_NEWEST' }, () =>
      simulatedWork({ ms: input.workMs, index: input.index ?? 0 }),
    );
    return { ran: true, index };
  } catch (error) {
    if (error instanceof ConcurrencyRejectedError) return { ran: false, reason: error.message };
    throw error;
  }
}
