import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { slotwiseActivityInterceptor } from '../../src/activities/slot-interceptor.js';
import { exampleActivities } from '../../src/examples/activities.js';
import { FixedSlotSupplier } from '../../src/suppliers/fixed-slot-supplier.js';
import { createWorker, testClient, tunerWith, uniqueQueue, until } from './helpers.js';

describe('the feature examples in src/activities and src/workflows', () => {
  it('renderJobsWorkflow() releases each slot early, so 3 jobs share 1 slot', async () => {
    const client = await testClient();
    const supplier = new FixedSlotSupplier({ slots: 1 });
    const reasons: string[] = [];
    supplier.subscribe((e) => e.type === 'release' && e.slotInfo && reasons.push(e.reason));
    const taskQueue = uniqueQueue('render-jobs');
    const worker = await createWorker({
      taskQueue,
      tuner: tunerWith({ activityTaskSlotSupplier: supplier }),
      interceptors: { activity: [slotwiseActivityInterceptor] },
      activities: exampleActivities,
    });
    const released = await worker.runUntil(
      client.workflow.execute('renderJobsWorkflow', {
        taskQueue,
        workflowId: taskQueue,
        args: [{ jobs: 3, renderMs: 150, uploadMs: 600 }],
      }),
    );
    expect(released).toBe(3);
    expect(reasons).toEqual(['manual', 'manual', 'manual']);
    expect(supplier.snapshot()).toMatchObject({ issued: 0, used: 0, waiting: 0 });
  });

  it('countPrimesWorkflow() computes in a worker thread, and a cancel stops the thread and frees the slot', async () => {
    const client = await testClient();
    const supplier = new FixedSlotSupplier({ slots: 1 });
    const taskQueue = uniqueQueue('primes');
    const worker = await createWorker({
      taskQueue,
      tuner: tunerWith({ activityTaskSlotSupplier: supplier }),
      activities: exampleActivities,
    });
    await worker.runUntil(async () => {
      expect(
        await client.workflow.execute('countPrimesWorkflow', {
          taskQueue,
          workflowId: `${taskQueue}-100`,
          args: [{ below: 100 }],
        }),
      ).toBe(25);
      const long = await client.workflow.start('countPrimesWorkflow', {
        taskQueue,
        workflowId: `${taskQueue}-long`,
        args: [{ below: 2_000_000_000 }],
      });
      await until('the long count runs', () => supplier.snapshot().used === 1);
      await long.cancel();
      await expect(long.result()).rejects.toBeInstanceOf(WorkflowFailedError);
      await until('the slot is free again', () => supplier.snapshot().used === 0);
      expect((await long.describe()).status.name).toBe('CANCELLED');
    });
    expect(supplier.snapshot()).toMatchObject({ issued: 0, used: 0, waiting: 0 });
  });

  it('waitForFileWorkflow() waits evictably until the file appears', async () => {
    const client = await testClient();
    const path = join(mkdtempSync(join(tmpdir(), 'slotwise-wait-')), 'ready');
    const taskQueue = uniqueQueue('wait-file');
    const supplier = new FixedSlotSupplier({ slots: 2 });
    const worker = await createWorker({
      taskQueue,
      tuner: tunerWith({ activityTaskSlotSupplier: supplier }),
      interceptors: { activity: [slotwiseActivityInterceptor] },
      activities: exampleActivities,
    });
    const checks = await worker.runUntil(async () => {
      const handle = await client.workflow.start('waitForFileWorkflow', {
        taskQueue,
        workflowId: taskQueue,
        args: [{ path }],
      });
      await until('the wait holds a slot', () => supplier.snapshot().used === 1);
      writeFileSync(path, 'go');
      return handle.result();
    });
    expect(checks).toBeGreaterThanOrEqual(1);
    expect(supplier.snapshot()).toMatchObject({ issued: 0, used: 0, waiting: 0 });
  });
});
