import { CancelledFailure } from '@temporalio/common';
import { currentActivityContext, requireActivityContext } from './activity-context.js';

/**
 * The exit flag: `true` once cancellation of the running activity was requested (the workflow was
 * cancelled, the activity timed out, or the Worker is shutting down past its grace time).
 *
 * Cancellation reaches an activity only through heartbeats: set `heartbeatTimeout` on the activity and
 * keep heartbeating (see {@link startHeartbeatLoop}), or the flag never turns `true` for a server-side
 * cancel. Throws an {@link ActivityContextError} outside an activity.
 *
 * @example
 * ```ts
 * import { isCancelled, withHeartbeats } from 'slotwise/activities';
 *
 * export async function crunch(items: number[]): Promise<number> {
 *   return withHeartbeats(async () => {
 *     let sum = 0;
 *     for (const item of items) {
 *       if (isCancelled()) break; // clean up, then stop
 *       sum += item;
 *       await new Promise((resolve) => setImmediate(resolve)); // yield, so heartbeats flow
 *     }
 *     return sum;
 *   });
 * }
 * ```
 */
export function isCancelled(): boolean {
  return requireActivityContext('isCancelled()').cancellationSignal.aborted;
}

/**
 * Throws the cancellation reason (a `CancelledFailure`) when the running activity was cancelled, and
 * does nothing otherwise. Throwing that reason out of the activity reports it to Temporal as
 * cancelled, not failed. Throws an {@link ActivityContextError} outside an activity.
 *
 * @example
 * ```ts
 * import { appendFile } from 'node:fs/promises';
 * import { throwIfCancelled } from 'slotwise/activities';
 *
 * export async function writeLines(path: string, lines: string[]): Promise<void> {
 *   for (const line of lines) {
 *     throwIfCancelled(); // => throws CancelledFailure('CANCELLED') after a cancel request
 *     await appendFile(path, `${line}\n`);
 *   }
 * }
 * ```
 */
export function throwIfCancelled(): void {
  requireActivityContext('throwIfCancelled()').cancellationSignal.throwIfAborted();
}

/**
 * The running activity's `AbortSignal`, to pass to `fetch`, `child_process`, `events.once`, timers from
 * `node:timers/promises` and any library that accepts a signal. It aborts with a `CancelledFailure`
 * as its `reason`. Unlike `Context.current().cancellationSignal`, the error thrown outside an activity
 * names this helper ({@link ActivityContextError}).
 *
 * @example
 * ```ts
 * import { cancellationSignal, withHeartbeats } from 'slotwise/activities';
 *
 * export async function download(url: string): Promise<string> {
 *   return withHeartbeats(async () => {
 *     const response = await fetch(url, { signal: cancellationSignal() });
 *     return response.text(); // rejects with the CancelledFailure when the activity is cancelled
 *   });
 * }
 * ```
 */
export function cancellationSignal(): AbortSignal {
  return requireActivityContext('cancellationSignal()').cancellationSignal;
}

/** How many `cause` links {@link isCancellation} follows before giving up. */
const MAX_CAUSE_DEPTH = 8;

/**
 * Tells a cancellation apart from a failure, so a `catch` block can clean up and rethrow on cancel but
 * retry, report or wrap real errors. Returns `true` when `error`, or an error in its `cause` chain, is:
 * - a `CancelledFailure` (what Temporal's activity context and `Context.sleep()` throw), or
 * - the `reason` of `signal` (what `fetch`, `runInWorkerThread` and `execFileCancellable` reject with), or
 * - an `AbortError` (what `child_process`, `events` and timers reject with), provided `signal` has
 *   aborted; with no signal known every `AbortError` counts.
 *
 * `signal` defaults to the running activity's cancellation signal when called inside an activity, and
 * to none elsewhere (the helper never throws). A `TimeoutError` from `AbortSignal.timeout()` is not a
 * cancellation: it is a failure of the operation that timed out.
 *
 * @example
 * ```ts
 * import { cancellationSignal, isCancellation } from 'slotwise/activities';
 *
 * export async function ping(url: string): Promise<number> {
 *   try {
 *     return (await fetch(url, { signal: cancellationSignal() })).status;
 *   } catch (error) {
 *     if (isCancellation(error)) throw error; // Temporal records the activity as cancelled
 *     throw new Error(`ping failed: ${String(error)}`, { cause: error }); // retried as a failure
 *   }
 * }
 * ```
 */
export function isCancellation(error: unknown, signal?: AbortSignal): boolean {
  const known = signal ?? currentActivityContext()?.cancellationSignal;
  const seen = new Set<unknown>();
  let current: unknown = error;
  for (let depth = 0; depth <= MAX_CAUSE_DEPTH && current != null && !seen.has(current); depth++) {
    seen.add(current);
    if (current instanceof CancelledFailure) return true;
    if (known?.aborted && current === known.reason) return true;
    if (isNamed(current, 'AbortError') && (known === undefined || known.aborted)) return true;
    current = typeof current === 'object' ? (current as { cause?: unknown }).cause : undefined;
  }
  return false;
}

function isNamed(value: unknown, name: string): boolean {
  return typeof value === 'object' && value !== null && (value as { name?: unknown }).name === name;
}
