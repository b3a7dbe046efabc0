import type { Context } from '@temporalio/activity';
import type { WorkerTuner } from '@temporalio/worker';
import type { WorkflowInfo } from '@temporalio/workflow';
import { describe, expect, it } from 'vitest';
import { concurrencyActivities } from '../../src/activities/concurrency-activities.js';
import { claimOf, slotwiseActivityInterceptor } from '../../src/activities/slot-interceptor.js';
import { FixedSlotSupplier } from '../../src/suppliers/fixed-slot-supplier.js';
import { slotwiseWorkerOptions } from '../../src/worker/slotwise-worker-options.js';
import { CONCURRENCY_SINK_NAME } from '../../src/workflows/concurrency/activity-contract.js';
import { recordingLogger } from '../helpers/fakes.js';

const tuner = (activity: unknown): WorkerTuner =>
  ({
    activityTaskSlotSupplier: activity,
    workflowTaskSlotSupplier: { type: 'fixed-size', numSlots: 10 },
    localActivityTaskSlotSupplier: { type: 'fixed-size', numSlots: 10 },
    nexusTaskSlotSupplier: { type: 'fixed-size', numSlots: 10 },
  }) as WorkerTuner;

describe('slotwiseWorkerOptions()', () => {
  it('slotwiseWorkerOptions() turns eager activity reservations off when a custom supplier serves activity slots', () => {
    const options = slotwiseWorkerOptions({
      taskQueue: 'q',
      tuner: tuner(new FixedSlotSupplier({ slots: 2 })),
    });
    expect(options.maxEagerActivityReservationsPerWorkflowTask).toBe(0);
  });

  it('slotwiseWorkerOptions() protects a hand-written custom supplier too', () => {
    const handWritten = {
      type: 'custom',
      reserveSlot: async () => ({}),
      tryReserveSlot: () => null,
      markSlotUsed: () => {},
      releaseSlot: () => {},
    };
    expect(
      slotwiseWorkerOptions({ taskQueue: 'q', tuner: tuner(handWritten) })
        .maxEagerActivityReservationsPerWorkflowTask,
    ).toBe(0);
  });

  it('slotwiseWorkerOptions() leaves eager dispatch alone with built-in activity suppliers or no tuner', () => {
    const fixed = slotwiseWorkerOptions({
      taskQueue: 'q',
      tuner: tuner({ type: 'fixed-size', numSlots: 3 }),
    });
    expect(fixed.maxEagerActivityReservationsPerWorkflowTask).toBeUndefined();
    expect(
      slotwiseWorkerOptions({ taskQueue: 'q' }).maxEagerActivityReservationsPerWorkflowTask,
    ).toBeUndefined();
  });

  it('slotwiseWorkerOptions() keeps a value the caller chose, with one warning naming the risk when it is not 0', () => {
    const logger = recordingLogger();
    const lines = () => logger.messages('warn');
    const kept = slotwiseWorkerOptions(
      {
        taskQueue: 'q',
        tuner: tuner(new FixedSlotSupplier({ slots: 2 })),
        maxEagerActivityReservationsPerWorkflowTask: 3,
      },
      { logger },
    );
    expect(kept.maxEagerActivityReservationsPerWorkflowTask).toBe(3);
    expect(lines()).toHaveLength(1);
    expect(lines()[0]).toMatch(/^slotwise: maxEagerActivityReservationsPerWorkflowTask is 3 /);
    expect(lines()[0]).toContain(
      '128 or more activities while fewer than 3 activity slots are free stops the whole Worker',
    );
    const zero = slotwiseWorkerOptions(
      {
        taskQueue: 'q',
        tuner: tuner(new FixedSlotSupplier({ slots: 2 })),
        maxEagerActivityReservationsPerWorkflowTask: 0,
      },
      { logger },
    );
    expect(zero.maxEagerActivityReservationsPerWorkflowTask).toBe(0);
    expect(lines()).toHaveLength(1);
  });

  it('slotwiseWorkerOptions() adds the activity interceptor after the caller’s, once, and copies the options', () => {
    const mine = () => ({});
    const input = { taskQueue: 'q', interceptors: { activity: [mine] } };
    const options = slotwiseWorkerOptions(input);
    expect(options.interceptors?.activity).toEqual([mine, slotwiseActivityInterceptor]);
    expect(input.interceptors.activity).toEqual([mine]);
    expect(slotwiseWorkerOptions(options).interceptors?.activity).toEqual([
      mine,
      slotwiseActivityInterceptor,
    ]);
  });
});

describe('slotwiseWorkerOptions() and the concurrency release sink', () => {
  const info = {} as WorkflowInfo;
  const release = { controllerId: 'controller', requestId: 'run/1' };

  it('adds the release sink when the activities include the concurrency activities, keeping the caller’s sinks', () => {
    const mine = { audit: { record: { fn: () => undefined } } };
    const options = slotwiseWorkerOptions({
      taskQueue: 'sink-q1',
      activities: { ...concurrencyActivities },
      sinks: mine,
    });
    expect(Object.keys(options.sinks ?? {}).sort()).toEqual(['audit', CONCURRENCY_SINK_NAME]);
    expect(options.sinks?.audit).toBe(mine.audit);
    expect(options.sinks?.[CONCURRENCY_SINK_NAME]?.release?.callDuringReplay).toBe(false);
  });

  it('adds no sink without the concurrency activities, and keeps a release sink the caller set', () => {
    expect(slotwiseWorkerOptions({ taskQueue: 'sink-q2', activities: {} }).sinks).toBeUndefined();
    const own = { [CONCURRENCY_SINK_NAME]: { release: { fn: () => undefined } } };
    const options = slotwiseWorkerOptions({
      taskQueue: 'sink-q2',
      activities: { ...concurrencyActivities },
      sinks: own,
    });
    expect(options.sinks).toBe(own);
  });

  it('a release through the sink with no client yet (no acquire ran in this process, no connection) is logged, not thrown', () => {
    const logger = recordingLogger();
    const options = slotwiseWorkerOptions(
      { taskQueue: 'sink-q3', activities: { ...concurrencyActivities } },
      { logger },
    );
    options.sinks?.[CONCURRENCY_SINK_NAME]?.release?.fn(info, release);
    expect(logger.entries).toEqual([
      {
        level: 'warn',
        message: 'slotwise: no client to release with yet; the controller reclaims the grant',
        meta: release,
      },
    ]);
  });
});

describe('slotwiseActivityInterceptor', () => {
  it('slotwiseActivityInterceptor installed twice claims one permit per activity', () => {
    const context = {
      info: { taskQueue: `q-${Math.random()}`, activityType: 'work', isLocal: false },
    } as unknown as Context;
    const first = slotwiseActivityInterceptor(context);
    const claim = claimOf(context);
    const second = slotwiseActivityInterceptor(context);
    expect(claimOf(context)).toBe(claim);
    expect(first.inbound).toBeDefined();
    expect(second).toEqual({});
  });
});
