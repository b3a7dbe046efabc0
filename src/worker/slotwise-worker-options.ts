import { isAbsolute, resolve } from 'node:path';
import { Client } from '@temporalio/client';
import type { Logger } from '@temporalio/common';
import { DefaultLogger, type WorkerOptions, type WorkerTuner } from '@temporalio/worker';
import { concurrencyReleaseSinks } from '../activities/concurrency-activities.js';
import { slotwiseActivityInterceptor } from '../activities/slot-interceptor.js';
import { declareTunerSlotTypes } from '../suppliers/tuner-slot-types.js';
import {
  CONCURRENCY_ACTIVITY_TYPES,
  CONCURRENCY_SINK_NAME,
} from '../workflows/concurrency/activity-contract.js';

/** Options of {@link slotwiseWorkerOptions}. */
export interface SlotwiseWorkerOptionsSettings {
  /**
   * Where the warning about a kept `maxEagerActivityReservationsPerWorkflowTask` goes.
   * @default a `DefaultLogger` at `WARN` level, writing to stderr
   */
  logger?: Logger;
}

/** Whether a custom supplier (slotwise's or any other) serves the activity slots of `tuner`. */
export function customActivitySupplier(tuner: WorkerTuner | undefined): boolean {
  const supplier = (tuner as { activityTaskSlotSupplier?: { type?: unknown } } | undefined)
    ?.activityTaskSlotSupplier;
  return supplier?.type === 'custom';
}

/** The warning logged when a caller keeps eager activity reservations on with a custom supplier. */
export function eagerDispatchRiskWarning(value: number): string {
  return (
    `slotwise: maxEagerActivityReservationsPerWorkflowTask is ${value} while a custom slot supplier serves activity slots. ` +
    'With @temporalio/core-bridge 1.24, a workflow task that schedules 128 or more activities while fewer than 3 activity ' +
    'slots are free stops the whole Worker (an SDK bug: every tryReserveSlot call waits on the Node event loop, and the ' +
    '128th call of one workflow task is never answered). Set it to 0 unless you know your workflows never do that.'
  );
}

/**
 * Worker options made safe for slotwise suppliers, for Workers you wire by hand (`withSlotwise()`
 * does the same for you):
 *
 * - when a custom slot supplier serves activity slots, `maxEagerActivityReservationsPerWorkflowTask`
 *   becomes `0` (eager activity dispatch off). With Temporal's TypeScript SDK 1.24, a workflow task
 *   that schedules 128 or more activities while fewer than 3 activity slots are free otherwise stops
 *   the whole Worker (see the README's "Known issue"). A value you set yourself is kept, with one
 *   warning naming the risk when it is not 0;
 * - slotwise's activity interceptor is added after yours (needed by `currentSlot()`, `releaseSlot()`
 *   and `evictableWait()`; adding it twice is harmless);
 * - a relative `workflowsPath` is resolved against the current directory (the SDK would look for
 *   `./src/workflows.js` in `./src/src/`);
 * - each slotwise supplier of the tuner is told the slot types it serves there, so that one
 *   supplier serving several keeps room for all their floors from the start;
 * - when the activities include `concurrencyActivities`, slotwise's release sink is added: runs of
 *   `withConcurrency()` then give their grant back without a second local activity (nothing in their
 *   history, no wait in their last workflow task).
 *
 * Returns new options; the ones passed in are not changed.
 *
 * @example
 * ```ts
 * import { NativeConnection, Worker } from '@temporalio/worker';
 * import { FixedSlotSupplier, slotwiseWorkerOptions } from 'slotwise';
 *
 * const options = slotwiseWorkerOptions({
 *   connection: await NativeConnection.connect({ address: 'localhost:7233' }),
 *   taskQueue: 'work',
 *   activities: {},
 *   tuner: {
 *     activityTaskSlotSupplier: new FixedSlotSupplier({ slots: 4 }),
 *     workflowTaskSlotSupplier: { type: 'fixed-size', numSlots: 10 },
 *     localActivityTaskSlotSupplier: { type: 'fixed-size', numSlots: 10 },
 *     nexusTaskSlotSupplier: { type: 'fixed-size', numSlots: 10 },
 *   },
 * });
 * options.maxEagerActivityReservationsPerWorkflowTask; // => 0
 * const worker = await Worker.create(options);
 * ```
 */
export function slotwiseWorkerOptions(
  options: WorkerOptions,
  settings: SlotwiseWorkerOptionsSettings = {},
): WorkerOptions {
  const result: WorkerOptions = { ...options };
  declareTunerSlotTypes(options.tuner);
  if (customActivitySupplier(options.tuner)) {
    const chosen = options.maxEagerActivityReservationsPerWorkflowTask;
    if (chosen === undefined) {
      result.maxEagerActivityReservationsPerWorkflowTask = 0;
    } else if (chosen !== 0) {
      (settings.logger ?? new DefaultLogger('WARN')).warn(eagerDispatchRiskWarning(chosen));
    }
  }
  // The SDK bundles from a path next to an entry file it writes beside the workflows file, so a
  // relative path with a directory would be looked up twice as deep: make it absolute.
  if (typeof options.workflowsPath === 'string' && !isAbsolute(options.workflowsPath)) {
    result.workflowsPath = resolve(options.workflowsPath);
  }
  const interceptors = options.interceptors ?? {};
  const activity = interceptors.activity ?? [];
  if (!activity.includes(slotwiseActivityInterceptor)) {
    result.interceptors = { ...interceptors, activity: [...activity, slotwiseActivityInterceptor] };
  }
  if (
    // By name: concurrencyActivities of another build of slotwise (ESM or CommonJS) are other functions.
    typeof (options.activities as Record<string, unknown> | undefined)?.[
      CONCURRENCY_ACTIVITY_TYPES.release
    ] === 'function' &&
    options.sinks?.[CONCURRENCY_SINK_NAME] === undefined
  ) {
    const namespace = options.namespace ?? 'default';
    const { connection } = options;
    let client: Client | undefined;
    const clientOf = () => {
      if (connection !== undefined) client ??= new Client({ connection, namespace });
      return client;
    };
    const logger = settings.logger ?? new DefaultLogger('WARN');
    result.sinks = {
      ...options.sinks,
      ...concurrencyReleaseSinks(namespace, options.taskQueue, clientOf, logger),
    };
  }
  return result;
}
