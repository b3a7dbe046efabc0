import { Context } from '@temporalio/activity';
import { describe, expect, it } from 'vitest';
import { FixedSlotSupplier } from '../../src/suppliers/fixed-slot-supplier.js';
import type { PermitRecord } from '../../src/suppliers/permit-ledger.js';
import { recordingLogger } from '../helpers/fakes.js';
import { ConcurrencyProbe, createWorker, testClient, tunerWith, uniqueQueue } from './helpers.js';

const sleep = (ms: number) => Context.current().sleep(ms);

describe('FixedSlotSupplier in a real Worker', () => {
  it('runs 30 activities with exactly 3 at once at most, and all complete', async () => {
    const client = await testClient();
    const supplier = new FixedSlotSupplier({ slots: 3 });
    const probe = new ConcurrencyProbe();
    const taskQueue = uniqueQueue('fixed-3');
    const worker = await createWorker({
      taskQueue,
      tuner: tunerWith({ activityTaskSlotSupplier: supplier }),
      activities: {
        simulatedWork: ({ ms, index }: { ms: number; index: number }) =>
          probe.around(() => sleep(ms).then(() => index)),
      },
    });
    const completed = await worker.runUntil(
      client.workflow.execute('fanOutWorkflow', {
        taskQueue,
        workflowId: taskQueue,
        args: [{ tasks: 30, workMs: 250 }],
      }),
    );
    expect(completed).toBe(30);
    expect(probe.completed).toBe(30);
    expect(probe.max).toBe(3);
    expect(supplier.snapshot()).toMatchObject({ issued: 0, used: 0, waiting: 0, errors: 0 });
  });

  it('leaves issued === 0 and waiting === 0 after shutdown, in 20 of 20 start/stop cycles', async () => {
    const client = await testClient();
    const supplier = new FixedSlotSupplier({ slots: 2 });
    const workflowSupplier = new FixedSlotSupplier({ slots: 4 });
    const after: Array<{ issued: number; waiting: number; used: number }> = [];
    let activityReleasesAfterUse = 0;
    supplier.subscribe((event) => {
      if (event.type === 'release' && event.reason === 'normal') activityReleasesAfterUse++;
    });
    for (let cycle = 0; cycle < 20; cycle++) {
      const taskQueue = uniqueQueue(`cycle-${cycle}`);
      const worker = await createWorker({
        taskQueue,
        tuner: tunerWith({ activityTaskSlotSupplier: supplier, workflowTaskSlotSupplier: workflowSupplier }),
        activities: { simulatedWork: ({ ms }: { ms: number }) => sleep(ms).then(() => 0) },
      });
      // A stalled cycle fails with the counts that explain it (a leaked permit starves the next one).
      let stalled: NodeJS.Timeout | undefined;
      await worker.runUntil(
        Promise.race([
          client.workflow.execute('fanOutWorkflow', {
            taskQueue,
            workflowId: taskQueue,
            args: [{ tasks: 3, workMs: 20 }],
          }),
          new Promise((_, reject) => {
            stalled = setTimeout(() => {
              const counts = [supplier, workflowSupplier].map((s) => JSON.stringify(s.snapshot()));
              reject(
                new Error(
                  `cycle ${cycle} stalled for 30 s; after earlier cycles ${JSON.stringify(after)}; now ${counts.join(' ')}`,
                ),
              );
            }, 30_000);
          }),
        ]).finally(() => clearTimeout(stalled)),
      );
      for (const s of [supplier, workflowSupplier]) {
        const { issued, waiting, used } = s.snapshot();
        after.push({ issued, waiting, used });
      }
    }
    expect(activityReleasesAfterUse).toBe(20 * 3);
    expect(after).toEqual(Array.from({ length: 40 }, () => ({ issued: 0, waiting: 0, used: 0 })));
    expect(supplier.snapshot().errors + workflowSupplier.snapshot().errors).toBe(0);
  });

  it('shares one budget of 4 between two Workers on two task queues, fairly', async () => {
    const client = await testClient();
    const supplier = new FixedSlotSupplier({ slots: 4 });
    const probe = new ConcurrencyProbe();
    const finished: string[] = [];
    const queues = [uniqueQueue('shared-a'), uniqueQueue('shared-b')] as const;
    const workers = await Promise.all(
      queues.map((taskQueue) =>
        createWorker({
          taskQueue,
          tuner: tunerWith({ activityTaskSlotSupplier: supplier }),
          activities: {
            simulatedWork: ({ ms }: { ms: number }) =>
              probe.around(async () => {
                await sleep(ms);
                finished.push(taskQueue);
                return 0;
              }),
          },
        }),
      ),
    );
    const tasks = 40;
    const runs = queues.map((taskQueue) =>
      client.workflow.execute('fanOutWorkflow', {
        taskQueue,
        workflowId: taskQueue,
        args: [{ tasks, workMs: 100 }],
      }),
    );
    const [a, b] = workers;
    await a!.runUntil(b!.runUntil(Promise.all(runs)));
    expect(probe.max).toBe(4);
    expect(finished).toHaveLength(2 * tasks);
    // The window where both queues still had work ends when the first queue finished its last task.
    const firstDone = Math.min(...queues.map((q) => finished.lastIndexOf(q)));
    const window = finished.slice(0, firstDone + 1);
    const shares = queues.map((q) => window.filter((x) => x === q).length / window.length);
    for (const share of shares) expect(share).toBeGreaterThanOrEqual(0.35);
    expect(supplier.snapshot()).toMatchObject({ issued: 0, waiting: 0 });
  });

  it('contains a supplier whose hooks throw: the Worker keeps working and the error is logged', async () => {
    class ThrowingSupplier extends FixedSlotSupplier {
      calls = 0;
      protected override onUsed(_record: PermitRecord): void {
        if (++this.calls % 2 === 0) throw new Error('injected failure in onUsed');
      }
      protected override onReleased(_record: PermitRecord): void {
        throw new Error('injected failure in onReleased');
      }
    }
    const logger = recordingLogger();
    const supplier = new ThrowingSupplier({ slots: 2, logger });
    const client = await testClient();
    const taskQueue = uniqueQueue('throwing');
    const worker = await createWorker({
      taskQueue,
      tuner: tunerWith({ activityTaskSlotSupplier: supplier }),
      activities: { simulatedWork: ({ ms }: { ms: number }) => sleep(ms).then(() => 0) },
    });
    const completed = await worker.runUntil(
      client.workflow.execute('fanOutWorkflow', {
        taskQueue,
        workflowId: taskQueue,
        args: [{ tasks: 10, workMs: 20 }],
      }),
    );
    expect(completed).toBe(10);
    expect(supplier.snapshot()).toMatchObject({ issued: 0, used: 0, waiting: 0 });
    const errors = logger.messages('error');
    expect(
      errors.filter((m) => m.includes('error in markSlotUsed: injected failure in onUsed')),
    ).toHaveLength(5);
    expect(errors.some((m) => m.includes('error in releaseSlot: injected failure in onReleased'))).toBe(true);
    expect(supplier.snapshot().errors).toBe(errors.length);
  });
});
