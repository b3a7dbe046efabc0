import { Context } from '@temporalio/activity';
import { concurrencyActivities } from '../activities/concurrency-activities.js';
import { withHeartbeats } from '../activities/heartbeat-loop.js';
import { countPrimes, renderThenUpload, waitForFile } from './feature-activities.js';

/** Input of {@link simulatedWork}. */
export interface SimulatedWorkInput {
  /** How long the work takes, in milliseconds. */
  ms: number;
  /** Which task of a batch this is; returned as is. */
  index?: number;
}

/**
 * An example activity that "works" for `ms` milliseconds (a cancellable sleep) and returns its index.
 * The demo, the main job and the tests run it through slotwise suppliers. It heartbeats while it works,
 * so a cancel (an operator's, or a `CANCEL_IN_PROGRESS` replacement) stops it within a heartbeat.
 *
 * @example
 * ```ts
 * import { Worker } from '@temporalio/worker';
 * import { simulatedWork } from 'slotwise/examples/activities';
 * const worker = await Worker.create({ taskQueue: 'demo', activities: { simulatedWork } });
 * ```
 */
export async function simulatedWork(input: SimulatedWorkInput): Promise<number> {
  await withHeartbeats(() => Context.current().sleep(input.ms));
  return input.index ?? 0;
}

/**
 * The example activities, by name, as a Worker's `activities` option wants them; with the concurrency
 * activities, which the example workflows that use `withConcurrency()` need.
 */
export const exampleActivities = {
  simulatedWork,
  renderThenUpload,
  countPrimes,
  waitForFile,
  ...concurrencyActivities,
} as const;

/** The activities the feature examples proxy. */
export type FeatureExampleActivities = Pick<
  typeof exampleActivities,
  'renderThenUpload' | 'countPrimes' | 'waitForFile'
>;

/** The type a workflow proxies the example activities with. */
export type ExampleActivities = typeof exampleActivities;
