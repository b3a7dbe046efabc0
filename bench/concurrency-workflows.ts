// Workflows of bench/concurrency-overhead.ts. Bundled for the Workflow sandbox: import nothing from Node here.
import { proxyActivities } from '@temporalio/workflow';
import type { WithConcurrencyOptions } from '../src/workflows/concurrency/options.js';
import { withConcurrency } from '../src/workflows/concurrency/with-concurrency.js';

export { concurrencyControllerWorkflow } from '../src/workflows/concurrency/controller-workflow.js';

const { work } = proxyActivities<{ work(ms: number): Promise<number> }>({
  startToCloseTimeout: '1 minute',
  heartbeatTimeout: '30 seconds',
});

/** One activity of `ms` milliseconds: the baseline. */
export async function plainRunWorkflow(ms: number): Promise<number> {
  return work(ms);
}

/** The same activity through `withConcurrency(concurrency)`. */
export async function limitedRunWorkflow(ms: number, concurrency: WithConcurrencyOptions): Promise<number> {
  return withConcurrency(concurrency, () => work(ms));
}
