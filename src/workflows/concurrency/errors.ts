import { ApplicationFailure } from '@temporalio/common';

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
