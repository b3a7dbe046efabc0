// Workflow sandbox: imports only @temporalio/workflow, never Node.
import { proxyLocalActivities, workflowInfo } from '@temporalio/workflow';
import type { ConcurrencyActivities } from './activity-contract.js';

/**
 * The concurrency activities as local activities of the running workflow, each bounded to one attempt
 * of at most half the workflow task timeout (1 to 5 s). A local activity that runs longer makes the
 * Worker heartbeat the workflow task, and one that retries inside it ended up in a history that did not
 * replay (the recorder's crash scenario: an acquire that spanned a frozen controller, seven task
 * heartbeats and a second attempt). Short and single, a failed call is simply recorded, and the caller
 * falls back (a run asks by signal; the controller checks again next tick).
 */
export function concurrencyLocalActivities(): ConcurrencyActivities {
  const boundMs = Math.max(1_000, Math.min(5_000, Math.floor(workflowInfo().taskTimeoutMs / 2)));
  return proxyLocalActivities<ConcurrencyActivities>({
    startToCloseTimeout: boundMs,
    scheduleToCloseTimeout: boundMs,
    retry: { maximumAttempts: 1 },
  });
}
