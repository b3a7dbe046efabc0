// The concurrency examples and the controller they start, plus test workflows, for the integration
// test bundle. Workflow sandbox: no Node imports.
import { proxyActivities } from '@temporalio/workflow';
import type { WithConcurrencyOptions } from '../../../src/workflows/concurrency/options.js';
import { withConcurrency } from '../../../src/workflows/concurrency/with-concurrency.js';

export {
  concurrencyControllerWorkflow,
  concurrencyExampleWorkflow,
  singleFlightExampleWorkflow,
} from '../../../src/examples/workflows.js';

/** Input of {@link stubbornWorkWorkflow}. */
export interface StubbornWorkInput {
  concurrency: WithConcurrencyOptions;
  /** How long the activity works when not cancelled, in milliseconds. */
  workMs: number;
  /** How long the activity keeps running after it hears of a cancel (cleanup), in milliseconds. */
  cleanupMs: number;
  /** Give the activity a heartbeat timeout (it heartbeats either way). */
  heartbeatTimeout: boolean;
}

/**
 * One `stubbornWork` activity under withConcurrency, proxied with Temporal's defaults
 * (cancellationType TRY_CANCEL): the activity takes `cleanupMs` to stop once cancelled.
 */
export async function stubbornWorkWorkflow(input: StubbornWorkInput): Promise<string> {
  const { stubbornWork } = proxyActivities<{
    stubbornWork(input: { ms: number; cleanupMs: number }): Promise<string>;
  }>({
    startToCloseTimeout: '1 minute',
    ...(input.heartbeatTimeout ? { heartbeatTimeout: '2 seconds' } : {}),
    retry: { maximumAttempts: 1 },
  });
  return withConcurrency(input.concurrency, () =>
    stubbornWork({ ms: input.workMs, cleanupMs: input.cleanupMs }),
  );
}

/** One `gatedWork` activity under withConcurrency: it works until the test opens its group's gate. */
export async function gatedConcurrencyWorkflow(input: {
  concurrency: WithConcurrencyOptions;
  group: string;
}): Promise<string> {
  const { gatedWork } = proxyActivities<{ gatedWork(input: { group: string }): Promise<string> }>({
    startToCloseTimeout: '2 minutes',
    heartbeatTimeout: '10 seconds',
  });
  return withConcurrency(input.concurrency, () => gatedWork({ group: input.group }));
}
