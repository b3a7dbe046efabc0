import { asyncLocalStorage, Context, type Info } from '@temporalio/activity';
import { CancelledFailure, noopMetricMeter } from '@temporalio/common';
import { type RecordingLogger, recordingLogger } from '../helpers/fakes.js';

/**
 * A real `Context` of `@temporalio/activity`, made the way the Worker makes it, with the parts the
 * Worker supplies (heartbeat sink, cancel) in the test's hands. For unit tests of our helpers only;
 * integration tests run real activities on a real Worker.
 */
export interface TestActivity {
  readonly context: Context;
  readonly heartbeats: unknown[];
  readonly logger: RecordingLogger;
  /** Runs `fn` inside the activity context, as the Worker runs an activity function. */
  run<T>(fn: () => T): T;
  /** Cancels the activity the way the Worker does: abort with a CancelledFailure, reject `cancelled`. */
  cancel(reason?: string): CancelledFailure;
}

export function testActivity(options: { heartbeatTimeoutMs?: number } = {}): TestActivity {
  const controller = new AbortController();
  const heartbeats: unknown[] = [];
  const logger = recordingLogger();
  let rejectCancelled: (error: unknown) => void = () => {};
  const cancelled = new Promise<never>((_, reject) => {
    rejectCancelled = reject;
  });
  cancelled.catch(() => undefined);
  const info = {
    activityType: 'testActivity',
    activityId: '1',
    taskQueue: 'unit',
    attempt: 1,
    isLocal: false,
    heartbeatDetails: undefined,
    heartbeatTimeoutMs: options.heartbeatTimeoutMs,
  } as unknown as Info;
  const context = new Context(
    info,
    cancelled,
    controller.signal,
    (details?: unknown) => heartbeats.push(details),
    undefined,
    logger,
    noopMetricMeter,
    {} as ConstructorParameters<typeof Context>[7],
  );
  return {
    context,
    heartbeats,
    logger,
    run: (fn) => asyncLocalStorage.run(context, fn),
    cancel(reason = 'CANCELLED') {
      const error = new CancelledFailure(reason);
      controller.abort(error);
      rejectCancelled(error);
      return error;
    },
  };
}
