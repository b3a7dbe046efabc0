// Workflow sandbox: imports only @temporalio/workflow and @temporalio/common, never Node.
import type { ActivityOptions, RetryPolicy, UntypedActivities } from '@temporalio/common';
import { type ActivityInterfaceFor, proxyActivities } from '@temporalio/workflow';

/**
 * The failure type of an evicted `evictableWait()` (the same value as `EVICTION_FAILURE_TYPE` of
 * `slotwise/activities`, repeated here because workflow code must not import activity code).
 *
 * @example
 * ```ts
 * import { EVICTION_FAILURE_TYPE } from 'slotwise/workflows';
 *
 * EVICTION_FAILURE_TYPE; // => 'SlotwiseEvicted'
 * ```
 */
export const EVICTION_FAILURE_TYPE = 'SlotwiseEvicted';

/** How many attempts {@link evictableRetryPolicy} adds to a finite `maximumAttempts` by default. */
const DEFAULT_EVICTION_ATTEMPTS = 100;

/** Options of {@link proxyEvictableActivities}: Temporal's activity options plus one. */
export interface EvictableActivityOptions extends ActivityOptions {
  /**
   * Attempts added to a finite `retry.maximumAttempts`, so that evictions (each ends an attempt) do not
   * use up the attempts meant for failures. With `maximumAttempts: 3`, an activity may be evicted up to
   * 100 times and still fail 3 times. Ignored when attempts are unlimited (the default).
   * @default 100
   */
  evictionAttempts?: number;
}

/**
 * The retry policy an activity that uses `evictableWait()` needs, from the one you would give it:
 * - `nonRetryableErrorTypes` never contains {@link EVICTION_FAILURE_TYPE} (it is removed if listed);
 * - a finite `maximumAttempts` grows by `evictionAttempts` (unlimited stays unlimited);
 * - intervals default to 1 s, doubling, at most 1 min (an eviction's own `nextRetryDelay` overrides
 *   them for the attempt after an eviction; they apply to ordinary failures).
 *
 * Throws a `TypeError` (failing the workflow task, so the bug shows) when `evictionAttempts` is not an
 * integer >= 0.
 *
 * @example
 * ```ts
 * import { evictableRetryPolicy } from 'slotwise/workflows';
 *
 * evictableRetryPolicy({ maximumAttempts: 3, nonRetryableErrorTypes: ['BadInput', 'SlotwiseEvicted'] });
 * // => { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute',
 * //      maximumAttempts: 103, nonRetryableErrorTypes: ['BadInput'] }
 * ```
 */
export function evictableRetryPolicy(
  retry: RetryPolicy = {},
  evictionAttempts = DEFAULT_EVICTION_ATTEMPTS,
): RetryPolicy {
  if (!Number.isInteger(evictionAttempts) || evictionAttempts < 0) {
    throw new TypeError(
      `evictableRetryPolicy: expected \`evictionAttempts\` to be an integer >= 0, got \`${String(evictionAttempts)}\`.`,
    );
  }
  const policy: RetryPolicy = {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    ...retry,
  };
  if (retry.maximumAttempts !== undefined && retry.maximumAttempts > 0) {
    policy.maximumAttempts = retry.maximumAttempts + evictionAttempts;
  }
  if (retry.nonRetryableErrorTypes !== undefined) {
    policy.nonRetryableErrorTypes = retry.nonRetryableErrorTypes.filter((t) => t !== EVICTION_FAILURE_TYPE);
  }
  return policy;
}

/**
 * `proxyActivities()` for activities that wait with `evictableWait()`: the same options, with the
 * retry policy made right by {@link evictableRetryPolicy} and a `heartbeatTimeout` of 30 s unless you
 * give one (the wait heartbeats a third of it apart; without one, a workflow's cancel never reaches a
 * waiting activity and a lost Worker is noticed only at `startToCloseTimeout`).
 *
 * An evicted activity is retried by the server: the workflow sees one activity call, whose result is
 * that of the attempt that completed. `startToCloseTimeout` bounds one attempt (one stretch of
 * waiting); `scheduleToCloseTimeout` bounds them all, evictions included.
 *
 * @example
 * ```ts
 * import { proxyEvictableActivities } from 'slotwise/workflows';
 *
 * interface ReportActivities {
 *   exportReport(id: string): Promise<string>;
 * }
 *
 * export async function reportWorkflow(id: string): Promise<string> {
 *   const { exportReport } = proxyEvictableActivities<ReportActivities>({
 *     startToCloseTimeout: '1 hour',
 *     retry: { maximumAttempts: 3 }, // => 103 attempts: 3 for failures, 100 for evictions
 *   });
 *   return exportReport(id); // => the URL, however often the wait was evicted
 * }
 * ```
 */
export function proxyEvictableActivities<A = UntypedActivities>(
  options: EvictableActivityOptions,
): ActivityInterfaceFor<A> {
  const { evictionAttempts, ...activityOptions } = options;
  return proxyActivities<A>({
    heartbeatTimeout: '30 seconds',
    ...activityOptions,
    retry: evictableRetryPolicy(activityOptions.retry, evictionAttempts),
  });
}
