import type { Client, WorkflowHandle } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';

/** How long a slotwise workflow (a fleet's lease manager, a group's controller) may take to answer. */
export const ANSWER_TIMEOUT_MS = 10_000;

/** Why a slotwise workflow could not answer: it never ran, its last run closed, or it was silent. */
export type NotRunning =
  | { kind: 'never' }
  | { kind: 'closed'; status: string }
  | { kind: 'silent'; message: string };

/**
 * Calls `call` (a query or an update) on the open run of `workflowId` within
 * {@link ANSWER_TIMEOUT_MS}. A workflow that never ran, whose last run closed, or that did not answer
 * in time (no Worker polls its task queue) becomes the error `notRunning` makes; other errors pass.
 *
 * @example
 * ```ts
 * import { Client } from '@temporalio/client';
 * import { callRunning } from 'slotwise/internal/client/running-workflow.js';
 * const state = await callRunning(new Client(), 'slotwise-fleet:api', (h) => h.query('slotwise.fleet.state'),
 *   (why) => new Error(why.kind));
 * ```
 */
export async function callRunning<T>(
  client: Client,
  workflowId: string,
  call: (handle: WorkflowHandle) => Promise<T>,
  notRunning: (why: NotRunning) => Error,
): Promise<T> {
  const handle = client.workflow.getHandle(workflowId);
  let status: string;
  try {
    status = (await handle.describe()).status.name;
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) throw notRunning({ kind: 'never' });
    throw error;
  }
  if (status !== 'RUNNING') throw notRunning({ kind: 'closed', status: status.toLowerCase() });
  try {
    return await client.withDeadline(Date.now() + ANSWER_TIMEOUT_MS, () => call(handle));
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (/no poller|deadline|timed out|DEADLINE_EXCEEDED/i.test(message))
      throw notRunning({ kind: 'silent', message });
    throw error;
  }
}
