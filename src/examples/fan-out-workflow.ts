import { proxyActivities } from '@temporalio/workflow';
import type { ExampleActivities } from './example-activities.js';

/** Input of {@link fanOutWorkflow}. */
export interface FanOutInput {
  /** How many activities to run, all scheduled at once. */
  tasks: number;
  /** How long each one works, in milliseconds. */
  workMs: number;
}

/**
 * An example workflow that schedules `tasks` `simulatedWork` activities at once and waits for all
 * of them: a burst that makes a slot supplier fill and drain. Returns how many completed.
 *
 * @example
 * ```ts
 * import { Client } from '@temporalio/client';
 * const client = new Client();
 * const handle = await client.workflow.start('fanOutWorkflow', {
 *   taskQueue: 'slotwise-example',
 *   workflowId: 'burst-1',
 *   args: [{ tasks: 30, workMs: 200 }],
 * });
 * await handle.result(); // => 30
 * ```
 */
export async function fanOutWorkflow(input: FanOutInput): Promise<number> {
  const { simulatedWork } = proxyActivities<ExampleActivities>({
    startToCloseTimeout: '10 minutes',
    retry: { maximumAttempts: 3 },
  });
  const results = await Promise.all(
    Array.from({ length: input.tasks }, (_, index) => simulatedWork({ ms: input.workMs, index })),
  );
  return results.length;
}
