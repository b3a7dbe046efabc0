// Test workflows for the eviction integration tests. Workflow sandbox: no Node imports.
import { proxyEvictableActivities } from '../../../src/workflows/evictable-activity.js';

/** Input of {@link evictableCallWorkflow}. */
export interface EvictableCallInput {
  /** Activity type, as the test registers it on its Worker. */
  activity: string;
  args?: unknown[];
}

/**
 * Calls one activity through `proxyEvictableActivities` with `maximumAttempts: 1`: a real failure
 * fails the workflow at once, while evictions (which the helper gives their own attempts) are retried.
 */
export async function evictableCallWorkflow(input: EvictableCallInput): Promise<unknown> {
  const activities = proxyEvictableActivities<Record<string, (...args: unknown[]) => Promise<unknown>>>({
    startToCloseTimeout: '2 minutes',
    retry: { maximumAttempts: 1 },
  });
  return activities[input.activity]!(...(input.args ?? []));
}
