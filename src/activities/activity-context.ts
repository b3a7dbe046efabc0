import { Context } from '@temporalio/activity';
import { brandClass } from '../class-brand.js';

/**
 * Thrown when a slotwise activity helper is called where no Temporal activity is running: at module
 * load, from a workflow, from a timer that outlived its activity, or from plain test code.
 *
 * @example
 * ```ts
 * import { ActivityContextError, isCancelled } from 'slotwise/activities';
 * try {
 *   isCancelled();
 * } catch (error) {
 *   error instanceof ActivityContextError; // => true outside an activity
 * }
 * ```
 */
export class ActivityContextError extends Error {
  override name = 'ActivityContextError';
}
brandClass(ActivityContextError, 'ActivityContextError');

/** The running activity's context, or `undefined` outside an activity. */
export function currentActivityContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}

/** The running activity's context; throws an {@link ActivityContextError} naming `caller` outside one. */
export function requireActivityContext(caller: string): Context {
  const context = currentActivityContext();
  if (context === undefined) {
    throw new ActivityContextError(
      `${caller} must be called inside a Temporal activity, but no activity context is active. ` +
        'Call it from the activity function or from code the activity awaits, not at module load, ' +
        'from a workflow, or after the activity returned.',
    );
  }
  return context;
}
