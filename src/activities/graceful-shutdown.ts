import type { Worker } from '@temporalio/worker';
import { SlotwiseOptionsError } from '../errors.js';
import type { SupplierSnapshot } from '../suppliers/types.js';
import { settleConcurrencyReleases } from './concurrency-activities.js';

/** Options of {@link shutdownGracefully}. */
export interface ShutdownGracefullyOptions {
  /**
   * slotwise suppliers (or anything with a `snapshot()`) the Worker used. Their ledgers are read once
   * the Worker stopped; a permit still issued is reported in {@link ShutdownReport.leaks}.
   * @default []
   */
  suppliers?: ReadonlyArray<{ snapshot(): Pick<SupplierSnapshot, 'name' | 'issued'> }>;
}

/** What {@link shutdownGracefully} observed. */
export interface ShutdownReport {
  /** The Worker's `shutdownGraceTime`, in milliseconds: how long running activities had to finish. */
  graceMs: number;
  /** Activities that were running when shutdown began (finished, or cancelled after the grace time). */
  activitiesInFlight: number;
  /** Milliseconds from the shutdown request until `worker.run()` resolved. */
  durationMs: number;
  /** Suppliers that still had permits issued after the Worker stopped (empty when nothing leaked). */
  leaks: Array<{ supplier: string; issued: number }>;
}

/**
 * Shuts a Worker down gracefully and waits until it stopped, then checks that no slot leaked.
 *
 * What happens, in Temporal's terms: the Worker stops polling, so no new task is reserved (pending
 * `reserveSlot` calls are aborted and slotwise hands their permits back); running activities get the
 * Worker's `shutdownGraceTime` to finish; those still running then are cancelled with the reason
 * `'WORKER_SHUTDOWN'` (their `isCancelled()` turns `true` and `runInWorkerThread` terminates its
 * thread, no heartbeat needed); `worker.run()` resolves once every task settled. An activity that
 * accepts that cancellation is recorded as failed and retried elsewhere. The grace time is a
 * `Worker.create()` option, so set it there; add `shutdownForceTime` to bound activities that ignore
 * cancellation. Calling this while the Worker already shuts down (after a SIGTERM, say) just waits.
 * Once the Worker stopped, it also waits (at most 2 s) for the releases of `withConcurrency()` runs
 * that ended last to reach their controllers, so that closing the connection next cuts none off.
 *
 * @param worker the Worker to stop.
 * @param running the promise `worker.run()` returned; its rejection is passed on.
 * @example
 * ```ts
 * import { NativeConnection, Worker } from '@temporalio/worker';
 * import { FixedSlotSupplier, slotwiseWorkerOptions } from 'slotwise';
 * import { shutdownGracefully } from 'slotwise/activities';
 * import { exampleActivities } from 'slotwise/examples/activities';
 *
 * const supplier = new FixedSlotSupplier({ slots: 4 });
 * const worker = await Worker.create(
 *   slotwiseWorkerOptions({
 *     connection: await NativeConnection.connect(),
 *     taskQueue: 'work',
 *     activities: exampleActivities,
 *     shutdownGraceTime: '30s',
 *     tuner: {
 *       activityTaskSlotSupplier: supplier,
 *       workflowTaskSlotSupplier: { type: 'fixed-size', numSlots: 10 },
 *       localActivityTaskSlotSupplier: { type: 'fixed-size', numSlots: 10 },
 *       nexusTaskSlotSupplier: { type: 'fixed-size', numSlots: 10 },
 *     },
 *   }),
 * );
 * const running = worker.run();
 * process.once('SIGUSR2', async () => {
 *   const report = await shutdownGracefully(worker, running, { suppliers: [supplier] });
 *   // => { graceMs: 30000, activitiesInFlight: 2, durationMs: 1234, leaks: [] }
 * });
 * ```
 */
export async function shutdownGracefully(
  worker: Worker,
  running: Promise<void>,
  options: ShutdownGracefullyOptions = {},
): Promise<ShutdownReport> {
  if (typeof running?.then !== 'function') {
    throw new SlotwiseOptionsError(
      'shutdownGracefully: expected `running` to be the promise `worker.run()` returned; ' +
        'without run() the Worker never stops.',
    );
  }
  const suppliers = options.suppliers ?? [];
  const status = worker.getStatus();
  const started = Date.now();
  if (status.runState === 'RUNNING') worker.shutdown();
  await running;
  // Releases of withConcurrency() runs that ended last may still be on their way (at most 2 s): the
  // caller closes the connection next.
  await settleConcurrencyReleases();
  const durationMs = Date.now() - started;
  const leaks = suppliers
    .map((supplier) => supplier.snapshot())
    .filter((snapshot) => snapshot.issued !== 0)
    .map((snapshot) => ({ supplier: snapshot.name, issued: snapshot.issued }));
  return {
    graceMs: worker.options.shutdownGraceTimeMs,
    activitiesInFlight: status.numInFlightActivities,
    durationMs,
    leaks,
  };
}
