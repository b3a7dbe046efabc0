// Test workflows for the cancellation and bulk-cancel integration tests. Workflow sandbox: no Node imports.
import { ActivityCancellationType, condition, proxyActivities } from '@temporalio/workflow';

/** One activity call, named by type, as the tests register them on their Workers. */
export interface ActivityCall {
  activity: string;
  args?: unknown[];
}

/** Input of {@link runActivitiesWorkflow}. */
export interface RunActivitiesInput {
  calls: ActivityCall[];
  /** @default 1000 */
  heartbeatTimeoutMs?: number;
  /** @default 1 */
  maximumAttempts?: number;
}

/**
 * Runs the given activities at once and returns their results. Activities are proxied with
 * `WAIT_CANCELLATION_COMPLETED`, so when the workflow is cancelled it closes only after each activity
 * confirmed its cancellation: the workflow's close time then says when the work really stopped.
 */
export async function runActivitiesWorkflow(input: RunActivitiesInput): Promise<unknown[]> {
  const activities = proxyActivities<Record<string, (...args: unknown[]) => Promise<unknown>>>({
    startToCloseTimeout: '5 minutes',
    heartbeatTimeout: input.heartbeatTimeoutMs ?? 1000,
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: { maximumAttempts: input.maximumAttempts ?? 1 },
  });
  return Promise.all(input.calls.map(({ activity, args = [] }) => activities[activity]!(...args)));
}

/** Waits until cancelled (or terminated). One of two types the bulk-cancel test tells apart by query. */
export async function idleWorkflowA(): Promise<void> {
  await condition(() => false);
}

/** Waits until cancelled (or terminated); the type the bulk-cancel test must leave running. */
export async function idleWorkflowB(): Promise<void> {
  await condition(() => false);
}
