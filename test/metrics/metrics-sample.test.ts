import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { sampleFromMetrics } from '../../src/metrics/metrics-sample.js';
import { SlotwiseMetrics } from '../../src/metrics/supplier-metrics.js';
import type { MetricsSnapshot } from '../../src/metrics/trackable-supplier.js';
import { FixedSlotSupplier } from '../../src/suppliers/fixed-slot-supplier.js';
import { activityInfo, reserveCtx } from '../helpers/fakes.js';

describe('sampleFromMetrics', () => {
  it('sampleFromMetrics() groups the exported values by supplier, summing event counters over groups', async () => {
    const registry = new Registry();
    const metrics = new SlotwiseMetrics({ registry, prefix: 'x_' });
    const supplier = new FixedSlotSupplier({ slots: 5, name: 'mixed' });
    metrics.track(supplier);
    const a = supplier.tryReserveSlot(reserveCtx('q1'))!;
    supplier.tryReserveSlot(reserveCtx('q2', 'workflow'));
    supplier.markSlotUsed({ permit: a, slotInfo: activityInfo('fetch') });
    const gpu: MetricsSnapshot = {
      name: 'gpu',
      capacity: null,
      issued: 0,
      used: 0,
      waiting: 0,
      errors: 0,
      readings: {
        gpus: [
          { index: 1, uuid: 'GPU-b', utilization: null, memoryUsedBytes: 1, memoryTotalBytes: 2 },
          { index: 0, uuid: 'GPU-a', utilization: 0.5, memoryUsedBytes: 3, memoryTotalBytes: 4 },
        ],
      },
      charged: { gpus: 1 },
    };
    metrics.track({ name: 'gpu', snapshot: () => gpu, subscribe: () => () => {} }, { taskQueue: 'train' });
    const sample = sampleFromMetrics(await registry.getMetricsAsJSON(), 'x_', 42);
    expect(sample.time).toBe(42);
    expect(sample.suppliers.map((s) => s.supplier)).toEqual(['mixed', 'gpu']);
    const [mixed, gpuSample] = sample.suppliers;
    expect(mixed).toMatchObject({
      namespace: 'default',
      taskQueue: 'q1,q2',
      workerType: 'ActivityWorker,WorkflowWorker',
      capacity: 5,
      issued: 2,
      used: 1,
      available: 3,
      waiting: 0,
      errors: 0,
      reservations: { granted: 0, aborted: 0, 'eager-granted': 2, 'eager-denied': 0, error: 0 },
      usedByTaskType: { fetch: 1 },
      gpus: [],
    });
    expect(gpuSample).toMatchObject({
      taskQueue: 'train',
      capacity: null,
      available: null,
      gpus: [
        { gpu: '0', uuid: 'GPU-a', utilization: 0.5, memoryUsedBytes: 3, memoryTotalBytes: 4 },
        { gpu: '1', uuid: 'GPU-b', utilization: null, memoryUsedBytes: 1, memoryTotalBytes: 2 },
      ],
      charged: { cpuCores: null, memoryBytes: null, gpus: 1, gpuMemoryBytes: null },
    });
  });

  it('sampleFromMetrics() ignores metrics of other prefixes and series without a supplier label', async () => {
    const registry = new Registry();
    new SlotwiseMetrics({ registry }).track(new FixedSlotSupplier({ slots: 1, name: 'only' }));
    expect(sampleFromMetrics(await registry.getMetricsAsJSON(), 'other_', 1)).toEqual({
      time: 1,
      suppliers: [],
    });
  });
});
