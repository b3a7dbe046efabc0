import { afterEach, describe, expect, it } from 'vitest';
import { type BuiltTuner, buildTuner } from '../../src/config/build-tuner.js';
import { ConfigError } from '../../src/config/config-error.js';
import { parseConfig } from '../../src/config/parse-config.js';
import { CompositeSlotSupplier } from '../../src/suppliers/composite-slot-supplier.js';
import { CpuSlotSupplier } from '../../src/suppliers/cpu-slot-supplier.js';
import { FixedSlotSupplier } from '../../src/suppliers/fixed-slot-supplier.js';
import { GpuSlotSupplier } from '../../src/suppliers/gpu-slot-supplier.js';
import { MemorySlotSupplier } from '../../src/suppliers/memory-slot-supplier.js';
import { recordingLogger, reserveCtx } from '../helpers/fakes.js';
import { FAKE_NVIDIA_SMI } from '../resources/fixtures/fake-root.js';

const open: BuiltTuner[] = [];
function build(...args: Parameters<typeof buildTuner>): BuiltTuner {
  const built = buildTuner(...args);
  open.push(built);
  return built;
}
afterEach(() => {
  for (const built of open.splice(0)) built.close();
});

describe('buildTuner', () => {
  it("buildTuner() uses Temporal's fixed-size suppliers for slot types left out and for nexus", () => {
    const built = build({});
    expect(built.tuner).toEqual({
      workflowTaskSlotSupplier: { type: 'fixed-size', numSlots: 40 },
      activityTaskSlotSupplier: { type: 'fixed-size', numSlots: 100 },
      localActivityTaskSlotSupplier: { type: 'fixed-size', numSlots: 100 },
      nexusTaskSlotSupplier: { type: 'fixed-size', numSlots: 100 },
    });
    expect(built.suppliers.size).toBe(0);
    expect(built.sampler).toBeNull();
  });

  it('buildTuner() builds every slotwise supplier, named, with the limits of the config', () => {
    const built = build({
      workflow: { supplier: { type: 'fixed', slots: 10 } },
      activity: {
        supplier: {
          type: 'composite',
          parts: [
            { type: 'fixed', slots: 8 },
            { type: 'memory', maxSlots: 20, targetUtilization: 0.7 },
          ],
        },
      },
      localActivity: { supplier: { type: 'cpu', minSlots: 2, maxSlots: 6 } },
    });
    expect([...built.suppliers.keys()]).toEqual([
      'workflow',
      'activity-fixed',
      'activity-memory',
      'activity',
      'local-activity',
    ]);
    const { tuner, suppliers } = built;
    expect(tuner.workflowTaskSlotSupplier).toBe(suppliers.get('workflow'));
    expect(tuner.activityTaskSlotSupplier).toBe(suppliers.get('activity'));
    expect(tuner.localActivityTaskSlotSupplier).toBe(suppliers.get('local-activity'));
    expect(tuner.nexusTaskSlotSupplier).toEqual({ type: 'fixed-size', numSlots: 100 });
    expect(suppliers.get('workflow')).toBeInstanceOf(FixedSlotSupplier);
    expect((suppliers.get('workflow') as FixedSlotSupplier).slots).toBe(10);
    expect(suppliers.get('activity')).toBeInstanceOf(CompositeSlotSupplier);
    expect((suppliers.get('activity') as unknown as CompositeSlotSupplier).parts).toEqual([
      suppliers.get('activity-fixed'),
      suppliers.get('activity-memory'),
    ]);
    expect(suppliers.get('activity-memory')).toBeInstanceOf(MemorySlotSupplier);
    expect((suppliers.get('activity-memory') as MemorySlotSupplier).limits).toEqual({
      minSlots: 1,
      maxSlots: 20,
      targetUtilization: 0.7,
    });
    expect(suppliers.get('local-activity')).toBeInstanceOf(CpuSlotSupplier);
    expect((suppliers.get('local-activity') as CpuSlotSupplier).limits).toEqual({
      minSlots: 2,
      maxSlots: 6,
      targetUtilization: 0.8,
    });
    expect(suppliers.get('activity')!.snapshot().capacity).toBe(8);
  });

  it('buildTuner() gives every resource supplier one started sampler; close() stops it, once', () => {
    const built = build({
      activity: { supplier: { type: 'composite', parts: [{ type: 'cpu' }, { type: 'memory' }] } },
      sampler: { intervalMs: 50, memory: { scope: 'process' } },
    });
    const sampler = built.sampler!;
    expect(sampler.running).toBe(true);
    expect(sampler.cpu).not.toBeNull();
    expect(sampler.memory).not.toBeNull();
    expect(sampler.gpu).toBeNull();
    expect(sampler.latest().memory?.scope).toBe('process');
    built.close();
    built.close();
    expect(sampler.running).toBe(false);
  });

  it('buildTuner() builds GPU suppliers on the sampler with the configured nvidia-smi', async () => {
    const logger = recordingLogger();
    const built = build(
      {
        activity: { supplier: { type: 'gpu', minSlots: 0, maxSlots: 4 } },
        sampler: { gpu: { nvidiaSmi: FAKE_NVIDIA_SMI } },
      },
      { logger },
    );
    expect(built.suppliers.get('activity')).toBeInstanceOf(GpuSlotSupplier);
    const reading = await built.sampler!.sampleGpu();
    expect(reading.gpu?.devices.map((device) => device.index)).toEqual([0, 1]);
    expect(built.suppliers.get('activity')!.tryReserveSlot(reserveCtx())).toMatchObject({
      gpu: { index: 1 },
    });
    expect(logger.messages('error')).toEqual([]);
  });

  it('buildTuner() makes a shared supplier one instance for every slot type that names it', () => {
    const built = build({
      suppliers: { pool: { type: 'fixed', slots: 3 } },
      activity: { supplier: { type: 'composite', parts: ['pool', { type: 'fixed', slots: 2 }] } },
      localActivity: { supplier: 'pool' },
    });
    const pool = built.suppliers.get('pool')!;
    expect(built.tuner.localActivityTaskSlotSupplier).toBe(pool);
    expect((built.suppliers.get('activity') as unknown as CompositeSlotSupplier).parts[0]).toBe(pool);
    pool.tryReserveSlot(reserveCtx('q', 'local-activity'));
    expect(built.suppliers.get('activity')!.snapshot().capacity).toBe(2);
    expect(pool.snapshot()).toMatchObject({ capacity: 3, issued: 1 });
  });

  it("buildTuner() passes Temporal's resource-based suppliers with one tunerOptions object", () => {
    const built = build({
      workflow: {
        supplier: { type: 'temporal-resource-based', targetCpuUsage: 0.7, targetMemoryUsage: 0.8 },
      },
      activity: {
        supplier: {
          type: 'temporal-resource-based',
          targetCpuUsage: 0.7,
          targetMemoryUsage: 0.8,
          maximumSlots: 50,
        },
      },
    });
    const tunerOptions = { targetCpuUsage: 0.7, targetMemoryUsage: 0.8 };
    expect(built.tuner.workflowTaskSlotSupplier).toEqual({
      type: 'resource-based',
      tunerOptions,
      minimumSlots: 2,
      maximumSlots: 1000,
      rampThrottle: 10,
    });
    expect(built.tuner.activityTaskSlotSupplier).toEqual({
      type: 'resource-based',
      tunerOptions,
      minimumSlots: 1,
      maximumSlots: 50,
      rampThrottle: 50,
    });
    const [a, b] = [built.tuner.workflowTaskSlotSupplier, built.tuner.activityTaskSlotSupplier] as Array<{
      tunerOptions: object;
    }>;
    expect(a!.tunerOptions).toBe(b!.tunerOptions);
  });

  it("buildTuner() validates first: Temporal's constraints are a ConfigError, and nothing is built", () => {
    const attempt = () =>
      buildTuner({
        workflow: { supplier: { type: 'fixed', slots: 1 } },
        activity: { supplier: { type: 'cpu', targetUtilization: 80 } },
      });
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(
      'config: activity.supplier.targetUtilization: expected a ratio in (0, 1], got 80. Did you mean 0.8?',
    );
    expect(() => buildTuner({ workflow: { supplier: { type: 'fixed', slots: 1 } } })).toThrow(
      'config: workflow.supplier.slots: expected an integer >= 2, as it serves workflow tasks (core holds a sticky and a non-sticky workflow slot), got 1',
    );
  });

  it('buildTuner() takes a parsed config (sizes in bytes) as well as one as written', () => {
    const written = {
      activity: { supplier: { type: 'memory' as const }, costs: { default: { memoryBytes: '1GiB' } } },
    };
    const built = build(parseConfig(written));
    expect(built.config).toEqual(parseConfig(written));
    expect(built.effective.activity).toMatchObject({ costs: { default: { memoryBytes: 1024 ** 3 } } });
  });
});
