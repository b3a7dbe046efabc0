import { ApplicationFailure, CancelledFailure } from '@temporalio/common';

/**
 * Thrown by {@link withConcurrency} in a run that its group refused: the key was at its `maxRuns`
 * limit under the `CANCEL_NEWEST` strategy. A non-retryable {@link ApplicationFailure} of type
 * `ConcurrencyRejectedError`, so an uncaught one fails the workflow with that type.
 *
 * @example
 * ```ts
 * import { proxyActivities } from '@temporalio/workflow';
 * import { ConcurrencyRejectedError, withConcurrency } from 'slotwise/workflows';
 *
 * const { build } = proxyActivities<{ build(user: string): Promise<string> }>({ startToCloseTimeout: '5 minutes' });
 *
 * export async function reportWorkflow(user: string): Promise<string> {
 *   try {
 *     return await withConcurrency({ group: 'reports', key: user, maxRuns: 1, strategy: 'CANCEL_NEWEST' }, () =>
 *       build(user),
 *     );
 *   } catch (error) {
 *     if (error instanceof ConcurrencyRejectedError) return 'a report for this user is already running';
 *     throw error;
 *   }
 * }
 * ```
 */
export class ConcurrencyRejectedError extends ApplicationFailure {
  override name = 'ConcurrencyRejectedError';

  constructor(
    /** The concurrency group. */
    readonly group: string,
    /** The key at its limit. */
    readonly key: string,
    reason: string,
  ) {
    super(
      `withConcurrency: run refused by group ${JSON.stringify(group)}: ${reason}`,
      'ConcurrencyRejectedError',
      true,
      [{ group, key }],
    );
  }
}

/**
 * Thrown by {@link withConcurrency} when its options are invalid. The message names the option, what
 * was expected and what was given. A non-retryable {@link ApplicationFailure} of type
 * `ConcurrencyOptionsError`, so the workflow fails at once instead of retrying its task.
 *
 * @example
 * ```ts
 * import { ConcurrencyOptionsError, withConcurrency } from 'slotwise/workflows';
 *
 * export async function misconfiguredWorkflow(): Promise<string> {
 *   try {
 *     return await withConcurrency({ group: 'g', key: 'k', maxRuns: 0 }, async () => 'never runs');
 *   } catch (error) {
 *     // => withConcurrency: expected `maxRuns` to be an integer >= 1, got `0` (number).
 *     return error instanceof ConcurrencyOptionsError ? error.message : 'other';
 *   }
 * }
 * ```
 */
export class ConcurrencyOptionsError extends ApplicationFailure {
  override name = 'ConcurrencyOptionsError';

  constructor(message: string) {
    super(message, 'ConcurrencyOptionsError', true);
  }
}

/**
 * Thrown by {@link withConcurrency} in a run that a newer run of its key replaced (`CANCEL_IN_PROGRESS`):
 * the controller told it to stop, `fn`'s cancellation scope was cancelled, and `fn` has stopped (its
 * activities were waited for). A {@link CancelledFailure}, so cancellation-aware code treats it as one;
 * it tells a replacement from an operator's cancel (which reaches `fn` as a plain `CancelledFailure`)
 * by its class inside the workflow and by its message everywhere: `withConcurrency: cancelled by
 * CANCEL_IN_PROGRESS: ...`. Uncaught, it fails the workflow with that failure (the workflow itself was
 * not cancelled: code after a caught one runs normally).
 *
 * @example
 * ```ts
 * import { proxyActivities } from '@temporalio/workflow';
 * import { ConcurrencyCancelledError, withConcurrency } from 'slotwise/workflows';
 *
 * const { deploy } = proxyActivities<{ deploy(service: string): Promise<void> }>({
 *   startToCloseTimeout: '10 minutes',
 *   heartbeatTimeout: '10 seconds',
 * });
 *
 * export async function deployWorkflow(service: string): Promise<string> {
 *   try {
 *     await withConcurrency({ group: 'deploys', key: service, maxRuns: 1, strategy: 'CANCEL_IN_PROGRESS' }, () =>
 *       deploy(service),
 *     );
 *     return 'deployed';
 *   } catch (error) {
 *     if (error instanceof ConcurrencyCancelledError) return `superseded by ${error.replacedBy}`; // => 'superseded by deploy-42'
 *     throw error; // an operator's cancel, or a real failure
 *   }
 * }
 * ```
 */
export class ConcurrencyCancelledError extends CancelledFailure {
  override name = 'ConcurrencyCancelledError';

  constructor(
    /** The concurrency group. */
    readonly group: string,
    /** The key of the replaced run. */
    readonly key: string,
    /** Workflow id of the run that replaces this one. */
    readonly replacedBy: string,
    cause?: Error,
  ) {
    super(
      `withConcurrency: cancelled by CANCEL_IN_PROGRESS: a newer run (${replacedBy}) of key ${JSON.stringify(key)} in group ${JSON.stringify(group)} replaces this one`,
      [{ group, key, replacedBy, reason: 'CANCEL_IN_PROGRESS' }],
      cause,
    );
  }
}

/**
 * Whether `error` is the SDK refusing a local activity this Worker has not registered (it does so
 * before anything is recorded, and only when not replaying: no fallback may depend on it).
 */
export function isMissingActivity(error: unknown): boolean {
  return error instanceof ReferenceError && /not registered/.test(error.message);
}

/**
 * The error a workflow task fails with when `controller.activities` is on (the default) and the Worker
 * running it lacks `concurrencyActivities`: a plain `Error`, so Temporal retries the task (and the
 * workflow waits, losing nothing) until a Worker that has them picks it up. Its message says what to do.
 */
export function missingActivities(cause: unknown): Error {
  return new Error(
    "slotwise: withConcurrency() and its controller run local activities, and this Worker lacks them: register `concurrencyActivities` from 'slotwise/activities' " +
      '(`activities: { ...yourActivities, ...concurrencyActivities }`) on the Workers of this task queue, or pass ' +
      '`controller: { activities: false }` to every withConcurrency() call of the group (signals instead; slower, and resets of waiting runs are not followed). ' +
      'The workflow task is retried until then.',
    { cause },
  );
}
