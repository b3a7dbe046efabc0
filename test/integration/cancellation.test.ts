import { setTimeout as sleep, setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { Context } from '@temporalio/activity';
import { WorkflowFailedError } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { isCancellation, isCancelled, throwIfCancelled } from '../../src/activities/cancellation.js';
import { shutdownGracefully } from '../../src/activities/graceful-shutdown.js';
import { withHeartbeats } from '../../src/activities/heartbeat-loop.js';
import { runInWorkerThread } from '../../src/activities/worker-thread.js';
import { FixedSlotSupplier } from '../../src/suppliers/fixed-slot-supplier.js';
import type { SupplierEvent } from '../../src/suppliers/types.js';
import { createWorker, testClient, tunerWith, uniqueQueue } from './helpers.js';

const spinForever = {
  module: new URL('../activities/fixtures/cpu-work.mjs', import.meta.url),
  exportName: 'spinForever',
};

/** A promise with its resolve function outside. */
function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** Busy-waits `ms` on the main thread: a slice of synchronous work. */
function burnCpu(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // spin
  }
}

/** Waits until a thread has counted at least once into `counter`. */
async function untilCounting(counter: Int32Array): Promise<void> {
  for (let i = 0; i < 500 && Atomics.load(counter, 0) === 0; i++) await sleep(10);
  expect(Atomics.load(counter, 0)).toBeGreaterThan(0);
}

/**
 * Records the supplier's `used` events and the releases of permits that ran a task (pending
 * reservations aborted at shutdown are the supplier's own business and not recorded).
 */
function recordEvents(supplier: FixedSlotSupplier): string[] {
  const events: string[] = [];
  supplier.subscribe((event: SupplierEvent) => {
    if (event.type === 'used' && event.slotInfo.type === 'activity')
      events.push(`used ${event.slotInfo.activityType}`);
    if (event.type === 'release' && event.slotInfo !== undefined) events.push(`release ${event.reason}`);
  });
  return events;
}

/** Latencies measured by these tests, printed once at the end of each test for the record. */
function report(label: string, numbers: Record<string, number>): void {
  console.log(
    `slotwise cancellation: ${label}: ${Object.entries(numbers)
      .map(([k, v]) => `${k}=${v} ms`)
      .join(', ')}`,
  );
}

describe('activity cancellation on a real Worker', () => {
  it('isCancelled() stops a cooperative activity within 2 s of the workflow cancel, and its slot is reused', async () => {
    const client = await testClient();
    const supplier = new FixedSlotSupplier({ slots: 1 });
    const events = recordEvents(supplier);
    const taskQueue = uniqueQueue('cancel-cooperative');
    const started = deferred();
    let stoppedAt = 0;
    let rounds = 0;
    const worker = await createWorker({
      taskQueue,
      tuner: tunerWith({ activityTaskSlotSupplier: supplier }),
      activities: {
        // A CPU loop in 5 ms slices that yields between slices and checks the exit flag.
        cooperativeLoop: () =>
          withHeartbeats(async () => {
            started.resolve();
            while (!isCancelled()) {
              burnCpu(5);
              rounds++;
              await yieldToEventLoop();
            }
            stoppedAt = Date.now();
            throwIfCancelled();
            return rounds;
          }),
        simulatedWork: ({ ms, index }: { ms: number; index: number }) =>
          Context.current()
            .sleep(ms)
            .then(() => index),
      },
    });

    await worker.runUntil(async () => {
      const handle = await client.workflow.start('runActivitiesWorkflow', {
        taskQueue,
        workflowId: taskQueue,
        args: [{ calls: [{ activity: 'cooperativeLoop' }], heartbeatTimeoutMs: 1000 }],
      });
      await started.promise;
      // Let it run through a few heartbeats first. The latency depends on where in the Worker's
      // heartbeat throttle window (80 % of heartbeatTimeout: 800 ms here) the cancel lands: at most
      // that window plus one round trip to the server.
      await sleep(1500);
      const cancelAt = Date.now();
      await handle.cancel();
      const error = await handle.result().catch((e: unknown) => e);
      const closedAt = Date.now();
      expect(error).toBeInstanceOf(WorkflowFailedError);
      expect((error as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
      expect((await handle.describe()).status.name).toBe('CANCELLED');
      expect(stoppedAt).toBeGreaterThan(0);
      expect(stoppedAt - cancelAt).toBeLessThan(2000);
      report('cooperative loop', {
        cancelToActivityStopped: stoppedAt - cancelAt,
        cancelToWorkflowClosed: closedAt - cancelAt,
      });

      // The one slot is free again: the next activity runs.
      const completed = await client.workflow.execute('fanOutWorkflow', {
        taskQueue,
        workflowId: `${taskQueue}-next`,
        args: [{ tasks: 1, workMs: 10 }],
      });
      expect(completed).toBe(1);
    });
    expect(rounds).toBeGreaterThan(0);
    expect(events).toEqual([
      'used cooperativeLoop',
      'release normal',
      'used simulatedWork',
      'release normal',
    ]);
    expect(supplier.snapshot()).toMatchObject({ issued: 0, used: 0, waiting: 0, errors: 0 });
  });

  it('runInWorkerThread() terminates a spinning thread within 2 s of the workflow cancel, and its slot is reused', async () => {
    const client = await testClient();
    const supplier = new FixedSlotSupplier({ slots: 1 });
    const events = recordEvents(supplier);
    const taskQueue = uniqueQueue('cancel-thread');
    const counter = new Int32Array(new SharedArrayBuffer(4));
    let stoppedAt = 0;
    let caught: unknown;
    const worker = await createWorker({
      taskQueue,
      tuner: tunerWith({ activityTaskSlotSupplier: supplier }),
      activities: {
        // Synchronous work that never checks anything: only terminating its thread stops it.
        threadLoop: async () => {
          try {
            return await withHeartbeats((signal) => runInWorkerThread(spinForever, [counter], { signal }));
          } catch (error) {
            caught = error;
            throw error;
          } finally {
            stoppedAt = Date.now();
          }
        },
        simulatedWork: ({ ms, index }: { ms: number; index: number }) =>
          Context.current()
            .sleep(ms)
            .then(() => index),
      },
    });

    await worker.runUntil(async () => {
      const handle = await client.workflow.start('runActivitiesWorkflow', {
        taskQueue,
        workflowId: taskQueue,
        args: [{ calls: [{ activity: 'threadLoop' }], heartbeatTimeoutMs: 1000 }],
      });
      await untilCounting(counter);
      await sleep(1500);
      const cancelAt = Date.now();
      await handle.cancel();
      const error = await handle.result().catch((e: unknown) => e);
      const closedAt = Date.now();
      expect((error as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
      expect((await handle.describe()).status.name).toBe('CANCELLED');
      expect(caught).toBeInstanceOf(CancelledFailure);
      expect(isCancellation(caught)).toBe(true);
      expect(stoppedAt - cancelAt).toBeLessThan(2000);
      report('worker thread', {
        cancelToThreadTerminated: stoppedAt - cancelAt,
        cancelToWorkflowClosed: closedAt - cancelAt,
      });

      // The thread no longer runs: its counter stands still.
      const before = Atomics.load(counter, 0);
      await sleep(200);
      expect(Atomics.load(counter, 0)).toBe(before);

      const completed = await client.workflow.execute('fanOutWorkflow', {
        taskQueue,
        workflowId: `${taskQueue}-next`,
        args: [{ tasks: 1, workMs: 10 }],
      });
      expect(completed).toBe(1);
    });
    expect(events).toEqual(['used threadLoop', 'release normal', 'used simulatedWork', 'release normal']);
    expect(supplier.snapshot()).toMatchObject({ issued: 0, used: 0, waiting: 0, errors: 0 });
  });

  it('shutdownGracefully() lets a short activity finish, cancels a long one after the grace time, and leaks no permit', async () => {
    const client = await testClient();
    const supplier = new FixedSlotSupplier({ slots: 2 });
    const taskQueue = uniqueQueue('graceful-shutdown');
    const counter = new Int32Array(new SharedArrayBuffer(4));
    const shortStarted = deferred();
    let shortCompletedAt = 0;
    let shortCancelled = false;
    let longCancelledAt = 0;
    let longReason: unknown;
    const worker = await createWorker({
      taskQueue,
      shutdownGraceTime: '1s',
      tuner: tunerWith({ activityTaskSlotSupplier: supplier }),
      activities: {
        finishesWithinGrace: async () => {
          shortStarted.resolve();
          await sleep(600);
          shortCancelled = Context.current().cancellationSignal.aborted;
          shortCompletedAt = Date.now();
          return 'finished';
        },
        spinsUntilCancelled: async () => {
          try {
            return await runInWorkerThread(spinForever, [counter]);
          } catch (error) {
            longCancelledAt = Date.now();
            longReason = error;
            throw error;
          }
        },
      },
    });
    const running = worker.run();
    const handle = await client.workflow.start('runActivitiesWorkflow', {
      taskQueue,
      workflowId: taskQueue,
      // Neither activity heartbeats: shutdown cancels locally, and a long heartbeat timeout keeps the
      // server from timing the spinning one out first.
      args: [
        {
          calls: [{ activity: 'finishesWithinGrace' }, { activity: 'spinsUntilCancelled' }],
          heartbeatTimeoutMs: 60_000,
        },
      ],
    });
    try {
      await shortStarted.promise;
      await untilCounting(counter);
      const shutdownAt = Date.now();
      const result = await shutdownGracefully(worker, running, { suppliers: [supplier] });

      expect(result).toMatchObject({ graceMs: 1000, activitiesInFlight: 2, leaks: [] });
      expect(shortCancelled).toBe(false);
      expect(shortCompletedAt).toBeGreaterThan(shutdownAt);
      expect(longReason).toBeInstanceOf(CancelledFailure);
      expect((longReason as CancelledFailure).message).toBe('WORKER_SHUTDOWN');
      expect(longCancelledAt - shutdownAt).toBeGreaterThanOrEqual(1000);
      expect(supplier.snapshot()).toMatchObject({ issued: 0, used: 0, waiting: 0, errors: 0 });
      report('graceful shutdown', {
        shutdownToShortCompleted: shortCompletedAt - shutdownAt,
        shutdownToLongCancelled: longCancelledAt - shutdownAt,
        shutdownToStopped: result.durationMs,
      });
      const before = Atomics.load(counter, 0);
      await sleep(200);
      expect(Atomics.load(counter, 0)).toBe(before);
    } finally {
      await handle.terminate('test cleanup').catch(() => undefined);
    }
  });
});
