// The slotwise concurrency activities as workflow code sees them: names and argument types only
// (the implementations, which need a client, are in slotwise/activities). Workflow sandbox safe.
import type { Sinks } from '@temporalio/workflow';
import type {
  ConcurrencyControllerInput,
  ConcurrencyDecision,
  ConcurrencyRequest,
  ConcurrencyRunRef,
} from './types.js';

/**
 * Activity type names of the slotwise concurrency activities. Register them on the Workers of every
 * task queue where `withConcurrency()` runs and where its controller runs, with
 * `activities: { ...yourActivities, ...concurrencyActivities }` (from `slotwise/activities`).
 *
 * @example
 * ```ts
 * import { CONCURRENCY_ACTIVITY_TYPES } from 'slotwise/internal/workflows/concurrency/activity-contract.js';
 * CONCURRENCY_ACTIVITY_TYPES.checkHolders; // => 'slotwise.concurrency.checkHolders'
 * ```
 */
export const CONCURRENCY_ACTIVITY_TYPES = Object.freeze({
  acquire: 'slotwise.concurrency.acquire',
  release: 'slotwise.concurrency.release',
  checkHolders: 'slotwise.concurrency.checkHolders',
} as const);

/** Input of the acquire activity: where the controller is (or is to be started) and the request. */
export interface ConcurrencyAcquireInput {
  /** Workflow id of the controller (shard). */
  controllerId: string;
  /** Task queue to start the controller on when none is open. */
  taskQueue: string;
  /** The controller's input when this request starts it. */
  start: ConcurrencyControllerInput;
  /** The request. */
  request: ConcurrencyRequest;
}

/**
 * What the acquire activity returns: the controller's decision, and whether the Worker that ran it has
 * slotwise's release sink (see {@link ConcurrencySinks}), so that the run gives its grant back through
 * the sink instead of a second local activity. Recorded in the run's history with the answer, so a
 * replay makes the same choice.
 */
export type ConcurrencyAcquireOutput = ConcurrencyDecision & { releaseSink?: true };

/** Input of the release activity. */
export interface ConcurrencyReleaseInput {
  controllerId: string;
  requestId: string;
}

/**
 * What the check activity found out about one run holding a grant: still `open`; `closed` without
 * running its cleanup (terminated, timed out, or gone: its grant can go); `ended` normally (completed,
 * failed, cancelled, continued as new: it released its grant before it closed, and the release is on
 * its way); `moved` to run `runId` (a reset made a new run of it, which keeps the grant); or `unknown`
 * (the server could not say; asked again next tick).
 */
export interface ConcurrencyHolderStatus {
  requestId: string;
  status: 'open' | 'closed' | 'ended' | 'moved' | 'unknown';
  /** The run that now holds the request, for `moved`. */
  runId?: string;
}

/** The slotwise concurrency activities, by type name. */
export interface ConcurrencyActivities {
  'slotwise.concurrency.acquire'(input: ConcurrencyAcquireInput): Promise<ConcurrencyAcquireOutput>;
  'slotwise.concurrency.release'(input: ConcurrencyReleaseInput): Promise<void>;
  'slotwise.concurrency.checkHolders'(runs: ConcurrencyRunRef[]): Promise<ConcurrencyHolderStatus[]>;
}

/** Name of the Worker sink through which `withConcurrency()` gives a grant back. */
export const CONCURRENCY_SINK_NAME = 'slotwiseConcurrency';

/**
 * The sink `withConcurrency()` releases through when its Worker has it (`slotwiseWorkerOptions()` and
 * `withSlotwise()` add it to Workers that register `concurrencyActivities`). A sink call adds nothing to
 * the run's history and costs its workflow task nothing: the Worker hands the release to its batched
 * signals to the controller after the activation, and it is not called again when the run replays.
 */
export interface ConcurrencySinks extends Sinks {
  [CONCURRENCY_SINK_NAME]: {
    release(input: ConcurrencyReleaseInput): void;
  };
}
