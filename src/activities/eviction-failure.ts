import { ApplicationFailure, ApplicationFailureCategory } from '@temporalio/common';

/**
 * The `type` of the `ApplicationFailure` an evicted {@link evictableWait} ends its attempt with. A retry
 * policy must not list it in `nonRetryableErrorTypes`; `proxyEvictableActivities()` from
 * `slotwise/workflows` makes sure of that.
 *
 * @example
 * ```ts
 * import { EVICTION_FAILURE_TYPE } from 'slotwise/activities';
 *
 * EVICTION_FAILURE_TYPE; // => 'SlotwiseEvicted'
 * ```
 */
export const EVICTION_FAILURE_TYPE = 'SlotwiseEvicted';

/**
 * Why a waiting activity gave its slot back.
 * - `ttl`: it waited its `ttlMs` without interruption.
 * - `capacity`: its supplier had waiting reservations and new work in the task queue backlog.
 * - `shutdown`: the Worker shuts down.
 */
export type EvictionReason = 'ttl' | 'capacity' | 'shutdown';

/** The first detail of an eviction failure. */
export interface EvictionFailureDetails {
  /** Why the attempt was evicted. */
  reason: EvictionReason;
  /** How long the attempt waited before it was evicted, in milliseconds. */
  waitedMs: number;
  /** The attempt (of this call of the activity) that was evicted: the attempts before it failed. */
  attempt: number;
  /** Evictions of this activity so far, this one included. */
  evictions: number;
  /** The checkpoint the wait had when it was evicted: the next call or attempt resumes from it. */
  checkpoint: unknown;
}

/**
 * The failure an evicted attempt throws, `BENIGN` (the Worker logs it at debug level and counts no
 * failure metric):
 * - for a call through `proxyEvictableActivities()` (`durable`), non-retryable: the server does not
 *   retry it and no attempt is used up; the workflow runs the activity again when it can go on (at once
 *   after a capacity or shutdown eviction, after `retryDelayMs` after a TTL eviction, or when its
 *   `resumeWhen` condition holds), passing the checkpoint on;
 * - otherwise retryable, retried after `retryDelayMs` whatever the retry policy's intervals say.
 */
export function evictionFailure(
  details: EvictionFailureDetails,
  retryDelayMs: number,
  durable = false,
): ApplicationFailure {
  const next = durable
    ? 'the workflow runs it again from this checkpoint'
    : `the next attempt starts in ${retryDelayMs} ms at the earliest and resumes from the last heartbeat checkpoint`;
  return ApplicationFailure.create({
    type: EVICTION_FAILURE_TYPE,
    message: `evicted (${details.reason}) after waiting ${Math.round(details.waitedMs)} ms; ${next}`,
    nonRetryable: durable,
    details: [{ ...details, retryDelayMs }],
    ...(durable ? {} : { nextRetryDelay: retryDelayMs }),
    category: ApplicationFailureCategory.BENIGN,
  });
}

/**
 * Whether `error` is (or was caused by) the failure of an evicted {@link evictableWait}: in an activity,
 * the error `evictableWait` rejects with; in a client or workflow, an `ActivityFailure` whose last
 * attempt was evicted.
 *
 * @example
 * ```ts
 * import { evictableWait, isEvictionFailure } from 'slotwise/activities';
 *
 * export async function awaitApproval(isApproved: () => boolean): Promise<void> {
 *   try {
 *     await evictableWait(isApproved, { ttlMs: 60_000 });
 *   } catch (error) {
 *     if (isEvictionFailure(error)) console.log('evicted, Temporal retries'); // => logs on eviction
 *     throw error; // always rethrow: the retry resumes the wait
 *   }
 * }
 * ```
 */
export function isEvictionFailure(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 8 && current instanceof Error; depth++) {
    if (current instanceof ApplicationFailure && current.type === EVICTION_FAILURE_TYPE) return true;
    current = current.cause;
  }
  return false;
}
