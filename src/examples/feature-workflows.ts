import { proxyActivities } from '@temporalio/workflow';
import { proxyEvictableActivities } from '../workflows/evictable-activity.js';
import type { FeatureExampleActivities } from './example-activities.js';

const { renderThenUpload, countPrimes } = proxyActivities<FeatureExampleActivities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '2 seconds',
  retry: { maximumAttempts: 3 },
});

const { waitForFile } = proxyEvictableActivities<FeatureExampleActivities>({
  startToCloseTimeout: '1 hour',
  heartbeatTimeout: '5 seconds',
});

/**
 * Example workflow: `jobs` render-then-upload activities at once. With 1 activity slot, each next
 * render starts as soon as the previous one released its slot, while its upload still runs.
 * Returns how many released their slot early.
 *
 * @example
 * ```ts
 * import { Client } from '@temporalio/client';
 * await new Client().workflow.execute('renderJobsWorkflow', {
 *   taskQueue: 'slotwise-example',
 *   workflowId: 'render-1',
 *   args: [{ jobs: 4, renderMs: 300, uploadMs: 1000 }],
 * }); // => 4
 * ```
 */
export async function renderJobsWorkflow(input: {
  jobs: number;
  renderMs: number;
  uploadMs: number;
}): Promise<number> {
  const released = await Promise.all(
    Array.from({ length: input.jobs }, () =>
      renderThenUpload({ renderMs: input.renderMs, uploadMs: input.uploadMs }),
    ),
  );
  return released.filter(Boolean).length;
}

/**
 * Example workflow: counts primes below `below` in a worker thread; cancelling the workflow stops
 * the thread within about a heartbeat.
 *
 * @example
 * ```ts
 * import { Client } from '@temporalio/client';
 * await new Client().workflow.execute('countPrimesWorkflow', { taskQueue: 'slotwise-example', workflowId: 'primes', args: [{ below: 100 }] }); // => 25
 * ```
 */
export async function countPrimesWorkflow(input: { below: number }): Promise<number> {
  return countPrimes(input);
}

/**
 * Example workflow: waits (evictably) for a file to appear, however many evictions and retries it
 * takes; the workflow sees one activity call. Returns how many checks it took.
 *
 * @example
 * ```ts
 * import { Client } from '@temporalio/client';
 * await new Client().workflow.execute('waitForFileWorkflow', { taskQueue: 'slotwise-example', workflowId: 'wait', args: [{ path: '/tmp/ready' }] });
 * ```
 */
export async function waitForFileWorkflow(input: {
  path: string;
  ttlMs?: number;
  priority?: number;
}): Promise<number> {
  return waitForFile(input);
}
