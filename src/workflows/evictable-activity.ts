// Workflow sandbox: imports only @temporalio/workflow and @temporalio/common, never Node.
import {
  type ActivityOptions,
  ApplicationFailure,
  defaultPayloadConverter,
  type RetryPolicy,
  type UntypedActivities,
} from '@temporalio/common';
import { type ActivityInterfaceFor, condition, proxyActivities, sleep } from '@temporalio/workflow';
import { runWithScheduleHook } from './schedule-hooks.js';

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

/** The header the activity side reads (`EVICTABLE_HEADER` of slotwise/activities, repeated here). */
const EVICTABLE_HEADER = 'slotwise-evictable';

/**
 * Temporal priority key evictable calls are dispatched with unless their options set one: one below
 * the default (3), so that work without a priority goes first and may evict them.
 */
export const DEFAULT_WAIT_PRIORITY_KEY = 4;

/** How many attempts {@link evictableRetryPolicy} adds to a finite `maximumAttempts` by default. */
const DEFAULT_EVICTION_ATTEMPTS = 100;

/** Options of {@link proxyEvictableActivities}: Temporal's activity options plus slotwise's. */
export interface EvictableActivityOptions extends ActivityOptions {
  /**
   * The condition that makes an evicted wait worth running again, on workflow state (set by a signal
   * handler, an update, a timer): after an eviction the workflow waits for it (durably, holding no
   * slot) and runs the activity again at once when it holds. Without it, a TTL eviction is run again
   * after its `retryDelayMs` and a capacity or shutdown eviction as soon as a slot is free.
   * @default none
   */
  resumeWhen?: () => boolean;
  /**
   * Temporal priority key the calls are dispatched with, unless `priority.priorityKey` is set: work
   * with a lower key is dispatched first and is what may evict these waits for capacity. An integer
   * from 1 (first) to the server's maximum (5 by default).
   * @default 4
   */
  waitPriorityKey?: number;
  /**
   * No longer used: evictions never use up attempts (an evicted call is run again by the workflow, and
   * the attempts its earlier calls failed are counted against `retry.maximumAttempts`). Kept so that
   * existing options type-check; see {@link evictableRetryPolicy} for plain `proxyActivities()`.
   * @deprecated
   */
  evictionAttempts?: number;
}

/**
 * The retry policy an activity that uses `evictableWait()` needs when it is called through plain
 * `proxyActivities()` (where evictions are server retries): `nonRetryableErrorTypes` never contains
 * {@link EVICTION_FAILURE_TYPE}, a finite `maximumAttempts` grows by `evictionAttempts`, intervals default
 * to 1 s, doubling, at most 1 min. {@link proxyEvictableActivities} needs none of this: there, evictions
 * never use up attempts, whatever the policy.
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

/** What an evicted call reports (the first detail of its `SlotwiseEvicted` failure). */
interface EvictionDetails {
  reason: 'ttl' | 'capacity' | 'shutdown';
  attempt: number;
  evictions: number;
  checkpoint: unknown;
  retryDelayMs: number;
}

/** The eviction a call ended with, if it did. */
function evictionOf(error: unknown): EvictionDetails | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 8 && current instanceof Error; depth++) {
    if (current instanceof ApplicationFailure && current.type === EVICTION_FAILURE_TYPE) {
      const [details] = current.details ?? [];
      if (
        details &&
        typeof details === 'object' &&
        typeof (details as EvictionDetails).attempt === 'number'
      ) {
        return details as EvictionDetails;
      }
      return undefined; // an eviction the server retries (an activity called without the header)
    }
    current = current.cause;
  }
  return undefined;
}

function checkPriorityKey(value: unknown): number {
  if (!Number.isInteger(value) || (value as number) < 1) {
    throw new TypeError(
      `proxyEvictableActivities: expected \`waitPriorityKey\` to be an integer >= 1, got \`${String(value)}\`.`,
    );
  }
  return value as number;
}

/**
 * The priority of a call that resumes a wait whose event has come: one key ahead of the wait's (the
 * default work's key, 3, for the default wait key 4), so that it is dispatched before waits that still
 * wait (queued behind them, 20 waits on 4 slots took 1-2 s to resume after their signal) and can, like
 * new work, evict one of them for its slot.
 */
function readyPriority(priority: ActivityOptions['priority']): ActivityOptions['priority'] {
  const key = priority?.priorityKey ?? DEFAULT_WAIT_PRIORITY_KEY;
  return { ...priority, priorityKey: Math.max(1, key - 1) };
}

/**
 * Calls one evictable activity until a call completes: each evicted call is followed by another once
 * the wait can go on, carrying the checkpoint and the attempts left for failures.
 */
async function callEvictable(
  activityType: string,
  args: unknown[],
  options: ActivityOptions,
  resumeWhen: (() => boolean) | undefined,
): Promise<unknown> {
  const maximumAttempts = options.retry?.maximumAttempts;
  let failuresLeft = maximumAttempts && maximumAttempts > 0 ? maximumAttempts : undefined;
  let resume = { evictions: 0, hasCheckpoint: false, checkpoint: undefined as unknown };
  /** The wait's event has come (`resumeWhen` held): the next call is ready work, not a wait. */
  let ready = false;
  for (;;) {
    const retry: RetryPolicy = { ...options.retry };
    if (failuresLeft !== undefined) retry.maximumAttempts = failuresLeft;
    const call = proxyActivities<Record<string, (...a: unknown[]) => Promise<unknown>>>({
      ...options,
      retry,
      ...(ready ? { priority: readyPriority(options.priority) } : {}),
    });
    const header = defaultPayloadConverter.toPayload(resume);
    try {
      return await runWithScheduleHook(
        {
          activity(activity) {
            if (activity.activityType === activityType && header) activity.headers[EVICTABLE_HEADER] = header;
          },
        },
        () => call[activityType]!(...args),
      );
    } catch (error) {
      const eviction = evictionOf(error);
      if (eviction === undefined) throw error;
      // The attempts before the evicted one failed for real; the eviction itself used none up.
      if (failuresLeft !== undefined) failuresLeft -= eviction.attempt - 1;
      resume = { evictions: eviction.evictions, hasCheckpoint: true, checkpoint: eviction.checkpoint };
      if (resumeWhen) {
        await condition(resumeWhen);
        ready = true;
      } else if (eviction.reason === 'ttl') await sleep(eviction.retryDelayMs);
      // capacity, shutdown: call again now; the call waits in the task queue until a slot is free.
    }
  }
}

/**
 * `proxyActivities()` for activities that wait with `evictableWait()`. The workflow sees one call per
 * call it makes, whatever happens underneath:
 *
 * - an evicted wait ends its call (the server does not retry it, so evictions never use up the retry
 *   policy's attempts, whatever the policy); the workflow then waits, holding no slot, until the wait
 *   can go on (`resumeWhen`, or the TTL's retry delay, or at once after a capacity or shutdown eviction)
 *   and calls the activity again, passing it the checkpoint the evicted call produced
 *   (`lastCheckpoint()` in the activity) and the attempts left for real failures;
 * - calls are dispatched with Temporal priority key `waitPriorityKey` (4), one below default work: the
 *   freed slot of a capacity eviction goes to the work that caused it, not to another wait; the call
 *   that resumes a wait once `resumeWhen` holds is ready work, dispatched one key ahead (3), before the
 *   waits that still wait;
 * - `heartbeatTimeout` defaults to 30 s (the wait heartbeats a third of it apart; without one, a
 *   workflow's cancel never reaches a waiting activity and a lost Worker is noticed only at
 *   `startToCloseTimeout`).
 *
 * `startToCloseTimeout` bounds one attempt (one stretch of waiting), `scheduleToCloseTimeout` one call.
 * The Worker must have `slotwiseActivityInterceptor` (it reads what the workflow passes on); without it
 * evictions fall back to server retries of the same call.
 *
 * @example
 * ```ts
 * import { defineSignal, setHandler } from '@temporalio/workflow';
 * import { proxyEvictableActivities } from 'slotwise/workflows';
 *
 * interface ReportActivities {
 *   exportReport(id: string): Promise<string>;
 * }
 * const exportReady = defineSignal('exportReady');
 *
 * export async function reportWorkflow(id: string): Promise<string> {
 *   let ready = false;
 *   setHandler(exportReady, () => void (ready = true));
 *   const { exportReport } = proxyEvictableActivities<ReportActivities>({
 *     startToCloseTimeout: '1 hour',
 *     retry: { maximumAttempts: 3 }, // => 3 real failures at most; evictions do not count
 *     resumeWhen: () => ready, // => an evicted wait runs again as soon as the signal arrives
 *   });
 *   return exportReport(id); // => the URL, however often the wait was evicted
 * }
 * ```
 */
export function proxyEvictableActivities<A = UntypedActivities>(
  options: EvictableActivityOptions,
): ActivityInterfaceFor<A> {
  const { evictionAttempts: _unused, resumeWhen, waitPriorityKey, ...activityOptions } = options;
  if (resumeWhen !== undefined && typeof resumeWhen !== 'function') {
    throw new TypeError(
      `proxyEvictableActivities: expected \`resumeWhen\` to be a function, got ${typeof resumeWhen}.`,
    );
  }
  const priorityKey = checkPriorityKey(waitPriorityKey ?? DEFAULT_WAIT_PRIORITY_KEY);
  const base: ActivityOptions = {
    heartbeatTimeout: '30 seconds',
    ...activityOptions,
    priority: { priorityKey, ...activityOptions.priority },
  };
  if (base.retry?.nonRetryableErrorTypes !== undefined) {
    base.retry = {
      ...base.retry,
      nonRetryableErrorTypes: base.retry.nonRetryableErrorTypes.filter((t) => t !== EVICTION_FAILURE_TYPE),
    };
  }
  return new Proxy({} as ActivityInterfaceFor<A>, {
    get(_, activityType) {
      if (typeof activityType !== 'string')
        throw new TypeError(`Only strings are supported for Activity types, got: ${String(activityType)}`);
      return (...args: unknown[]) => callEvictable(activityType, args, base, resumeWhen);
    },
  });
}
