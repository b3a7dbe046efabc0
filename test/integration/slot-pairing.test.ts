import { Context } from '@temporalio/activity';
import { describe, expect, it } from 'vitest';
import { currentSlot, releaseSlot, SlotPairingError } from '../../src/activities/current-slot.js';
import { slotwiseActivityInterceptor } from '../../src/activities/slot-interceptor.js';
import { FixedSlotSupplier } from '../../src/suppliers/fixed-slot-supplier.js';
import { createWorker, testClient, tunerWith, uniqueQueue } from './helpers.js';

const sleep = (ms: number) => Context.current().sleep(ms);

/** currentSlot() once core's mark-used has arrived (it is asynchronous to the activity start). */
async function pairedSlot() {
  for (let i = 0; i < 100; i++) {
    const slot = currentSlot();
    if (slot) return slot;
    await sleep(10);
  }
  throw new Error('no slot paired within 1 s');
}

describe('currentSlot() and releaseSlot() in a real Worker', () => {
  it('currentSlot() pairs each of 40 concurrent activities of one type with its own permit', async () => {
    const client = await testClient();
    const supplier = new FixedSlotSupplier({ slots: 5 });
    const releasedAt = new Map<number, number>();
    const usedIds = new Set<number>();
    supplier.subscribe((event) => {
      if (event.type === 'used') usedIds.add(event.permit.id);
      if (event.type === 'release' && event.slotInfo) releasedAt.set(event.permit.id, performance.now());
    });
    const runs: Array<{ permitId: number; endedAt: number; heldAtEnd: boolean }> = [];
    const taskQueue = uniqueQueue('pairing');
    const worker = await createWorker({
      taskQueue,
      tuner: tunerWith({ activityTaskSlotSupplier: supplier }),
      interceptors: { activity: [slotwiseActivityInterceptor] },
      activities: {
        simulatedWork: async ({ index }: { index: number }) => {
          const slot = await pairedSlot();
          await sleep(10 + ((index * 37) % 140));
          runs.push({
            permitId: slot.permitId,
            endedAt: performance.now(),
            heldAtEnd: !currentSlot()!.releasedEarly,
          });
          return index;
        },
      },
    });
    await worker.runUntil(
      client.workflow.execute('fanOutWorkflow', {
        taskQueue,
        workflowId: taskQueue,
        args: [{ tasks: 40, workMs: 0 }],
      }),
    );
    expect(runs).toHaveLength(40);
    expect(new Set(runs.map((r) => r.permitId)).size).toBe(40);
    expect(runs.every((r) => usedIds.has(r.permitId))).toBe(true);
    expect(runs.every((r) => r.heldAtEnd)).toBe(true);
    // A wrong pairing would show as a permit released by core before "its" activity ended.
    expect(runs.filter((r) => releasedAt.get(r.permitId)! < r.endedAt)).toEqual([]);
    expect(supplier.snapshot()).toMatchObject({ issued: 0, used: 0, waiting: 0, errors: 0 });
  });

  it('releaseSlot() lets a second activity start on a 1-slot supplier while the first still runs', async () => {
    const client = await testClient();
    const supplier = new FixedSlotSupplier({ slots: 1 });
    const reasons: string[] = [];
    supplier.subscribe((event) => {
      if (event.type === 'release' && event.slotInfo) reasons.push(event.reason);
    });
    const log: string[] = [];
    const results: boolean[] = [];
    const taskQueue = uniqueQueue('manual-release');
    const worker = await createWorker({
      taskQueue,
      tuner: tunerWith({ activityTaskSlotSupplier: supplier }),
      interceptors: { activity: [slotwiseActivityInterceptor] },
      activities: {
        simulatedWork: async ({ index }: { index: number }) => {
          log.push(`start ${index}`);
          await pairedSlot();
          await sleep(200); // the heavy part, under the slot
          results.push(releaseSlot(), releaseSlot());
          log.push(`released ${index}`);
          expect(currentSlot()?.releasedEarly).toBe(true);
          await sleep(1500); // cleanup/upload, without the slot
          log.push(`end ${index}`);
          return index;
        },
      },
    });
    await worker.runUntil(
      client.workflow.execute('fanOutWorkflow', {
        taskQueue,
        workflowId: taskQueue,
        args: [{ tasks: 2, workMs: 0 }],
      }),
    );
    const [first, second] = [
      log[0]!.split(' ')[1],
      log.find((l) => l.startsWith('start') && l !== log[0])!.split(' ')[1],
    ];
    // The second starts after the first released its slot and before the first ended.
    expect(log.indexOf(`start ${second}`)).toBeGreaterThan(log.indexOf(`released ${first}`));
    expect(log.indexOf(`start ${second}`)).toBeLessThan(log.indexOf(`end ${first}`));
    expect(results).toEqual([true, false, true, false]);
    expect(reasons).toEqual(['manual', 'manual']);
    expect(supplier.snapshot()).toMatchObject({ issued: 0, used: 0, waiting: 0, errors: 0 });
  });

  it('releaseSlot() explains what is missing outside an activity, without the interceptor, or off slotwise slots', async () => {
    expect(() => releaseSlot()).toThrow('releaseSlot() must be called inside a Temporal activity');
    const client = await testClient();
    const errors: string[] = [];
    const attempt = async () => {
      try {
        releaseSlot();
        errors.push('no error');
      } catch (error) {
        errors.push(`${(error as Error).name}: ${(error as Error).message}`);
      }
      return 0;
    };
    const bare = uniqueQueue('no-interceptor');
    const bareWorker = await createWorker({
      taskQueue: bare,
      tuner: tunerWith({ activityTaskSlotSupplier: new FixedSlotSupplier({ slots: 1 }) }),
      activities: { simulatedWork: attempt },
    });
    await bareWorker.runUntil(
      client.workflow.execute('fanOutWorkflow', {
        taskQueue: bare,
        workflowId: bare,
        args: [{ tasks: 1, workMs: 0 }],
      }),
    );
    const builtIn = uniqueQueue('built-in-slots');
    const builtInWorker = await createWorker({
      taskQueue: builtIn,
      tuner: tunerWith({}),
      interceptors: { activity: [slotwiseActivityInterceptor] },
      activities: { simulatedWork: attempt },
    });
    await builtInWorker.runUntil(
      client.workflow.execute('fanOutWorkflow', {
        taskQueue: builtIn,
        workflowId: builtIn,
        args: [{ tasks: 1, workMs: 0 }],
      }),
    );
    expect(errors).toHaveLength(2);
    expect(errors[0]).toMatch(
      /^SlotPairingError: releaseSlot\(\) needs slotwise's activity interceptor on this Worker/,
    );
    expect(errors[1]).toBe(
      `SlotPairingError: releaseSlot(): the activity slots of task queue "${builtIn}" do not come from a slotwise supplier, so there is no slotwise slot to release.`,
    );
    expect(SlotPairingError.name).toBe('SlotPairingError');
  });
});
