import { describe, expect, it } from 'vitest';
import { slotwiseActivityInterceptor } from '../../src/activities/slot-interceptor.js';
import { withSlotwise } from '../../src/worker/with-slotwise.js';
import { recordingLogger } from '../helpers/fakes.js';

// No connection is opened here: neither the options, the config nor `env` give an address.
describe('withSlotwise() options', () => {
  it('withSlotwise() turns eager activity reservations off when a slotwise supplier serves activity slots', async () => {
    const slotwise = await withSlotwise(
      { taskQueue: 'q', activities: {} },
      { activity: { supplier: { type: 'fixed', slots: 2 } } },
      { env: {} },
    );
    try {
      expect(slotwise.options.maxEagerActivityReservationsPerWorkflowTask).toBe(0);
      expect(slotwise.options.interceptors?.activity).toEqual([slotwiseActivityInterceptor]);
    } finally {
      await slotwise.close();
    }
  });

  it("withSlotwise() leaves eager dispatch alone when Temporal's own supplier serves activity slots", async () => {
    const slotwise = await withSlotwise(
      { taskQueue: 'q', activities: {} },
      { activity: { supplier: { type: 'temporal-fixed-size', numSlots: 5 } } },
      { env: {} },
    );
    try {
      expect(slotwise.options.maxEagerActivityReservationsPerWorkflowTask).toBeUndefined();
    } finally {
      await slotwise.close();
    }
  });

  it('withSlotwise() keeps a maxEagerActivityReservationsPerWorkflowTask the caller chose, with one warning', async () => {
    const logger = recordingLogger();
    const slotwise = await withSlotwise(
      { taskQueue: 'q', activities: {}, maxEagerActivityReservationsPerWorkflowTask: 2 },
      { activity: { supplier: { type: 'fixed', slots: 2 } } },
      { env: {}, logger },
    );
    try {
      expect(slotwise.options.maxEagerActivityReservationsPerWorkflowTask).toBe(2);
      expect(logger.messages('warn')).toHaveLength(1);
      expect(logger.messages('warn')[0]).toContain(
        'maxEagerActivityReservationsPerWorkflowTask is 2 while a custom slot supplier serves activity slots',
      );
    } finally {
      await slotwise.close();
    }
  });

  it("withSlotwise() takes namespace and task queue from the config's temporal section", async () => {
    const slotwise = await withSlotwise(
      { activities: {} },
      { temporal: { namespace: 'ns1', taskQueue: 'from-config' } },
      { env: { TEMPORAL_NAMESPACE: 'ignored' } },
    );
    try {
      expect(slotwise.options).toMatchObject({ namespace: 'ns1', taskQueue: 'from-config' });
    } finally {
      await slotwise.close();
    }
  });

  it('withSlotwise() takes the namespace from TEMPORAL_NAMESPACE when nothing else gives one', async () => {
    const slotwise = await withSlotwise(
      { taskQueue: 'q', activities: {} },
      {},
      { env: { TEMPORAL_NAMESPACE: 'from-env' } },
    );
    try {
      expect(slotwise.options.namespace).toBe('from-env');
    } finally {
      await slotwise.close();
    }
  });

  it('withSlotwise() refuses to go on without a task queue, naming both places to set one', async () => {
    await expect(withSlotwise({ activities: {} }, {}, { env: {} })).rejects.toThrow(
      'withSlotwise(): no task queue: set `taskQueue` in the Worker options or `temporal.taskQueue` in the config.',
    );
  });

  it('withSlotwise() makes a relative workflowsPath absolute', async () => {
    const slotwise = await withSlotwise(
      { taskQueue: 'q', workflowsPath: 'src/workflows.js', activities: {} },
      {},
      { env: {} },
    );
    try {
      expect(slotwise.options.workflowsPath).toBe(`${process.cwd()}/src/workflows.js`);
    } finally {
      await slotwise.close();
    }
  });
});

describe('withSlotwise() connecting', () => {
  it('withSlotwise() names the address it could not reach and where it came from', async () => {
    await expect(
      withSlotwise({ taskQueue: 'q', activities: {} }, { temporal: { address: '127.0.0.1:1' } }, { env: {} }),
    ).rejects.toThrow(
      "withSlotwise(): cannot reach Temporal at 127.0.0.1:1 (from the config's temporal.address): ",
    );
    await expect(
      withSlotwise({ taskQueue: 'q', activities: {} }, {}, { env: { TEMPORAL_ADDRESS: '127.0.0.1:1' } }),
    ).rejects.toThrow('withSlotwise(): cannot reach Temporal at 127.0.0.1:1 (from TEMPORAL_ADDRESS): ');
  }, 60_000);
});
