import { describe, expect, it } from 'vitest';
import { effectiveConfig, slotwiseSuppliersOf } from '../../src/config/effective-config.js';
import { parseConfig } from '../../src/config/parse-config.js';

const MiB = 1024 * 1024;

describe('effectiveConfig', () => {
  it("effectiveConfig() fills Temporal's defaults for slot types left out, and nexus", () => {
    const effective = effectiveConfig(parseConfig({}));
    expect(effective.workflow).toEqual({
      type: 'temporal-fixed-size',
      path: 'workflow.supplier',
      numSlots: 40,
      defaults: ['type', 'numSlots'],
    });
    expect(effective.activity).toMatchObject({ type: 'temporal-fixed-size', numSlots: 100 });
    expect(effective.localActivity).toMatchObject({ type: 'temporal-fixed-size', numSlots: 100 });
    expect(effective.nexus).toEqual({
      type: 'temporal-fixed-size',
      path: 'nexus',
      numSlots: 100,
      defaults: ['numSlots'],
    });
    expect(effective.sampler).toBeNull();
    expect(effective.metrics).toEqual({ listen: false });
    expect(effective.temporal).toEqual({ address: null, namespace: null, taskQueue: null });
  });

  it('effectiveConfig() fills resource defaults per kind, 2 minimum slots for workflow tasks, and slot-type costs', () => {
    const effective = effectiveConfig(
      parseConfig({
        workflow: { supplier: { type: 'cpu' } },
        activity: {
          supplier: { type: 'memory', maxSlots: 50 },
          costs: { default: { memoryBytes: '64MiB' } },
        },
        localActivity: {
          supplier: { type: 'gpu', costs: { default: { gpus: 1 } } },
          costs: { default: { cpu: 1 } },
        },
      }),
    );
    const defaults = (...extra: string[]) => ['name', ...extra];
    expect(effective.workflow).toEqual({
      type: 'cpu',
      path: 'workflow.supplier',
      name: 'workflow',
      shared: false,
      minSlots: 2,
      maxSlots: 1000,
      targetUtilization: 0.8,
      hysteresis: 0.05,
      rampThrottleMs: 50,
      settleMs: 1500,
      staleAfterMs: null,
      slotsPerDevice: null,
      costs: {},
      costsPath: null,
      floors: { workflow: 2, activity: 1, localActivity: 1 },
      ceilings: { workflow: null, activity: null, localActivity: null },
      defaults: defaults(
        'minSlots',
        'maxSlots',
        'targetUtilization',
        'hysteresis',
        'rampThrottleMs',
        'settleMs',
        'staleAfterMs',
        'floors',
        'ceilings',
      ),
    });
    expect(effective.activity).toMatchObject({
      name: 'activity',
      minSlots: 1,
      maxSlots: 50,
      settleMs: 1000,
      costs: { default: { memoryBytes: 64 * MiB } },
      costsPath: 'activity.costs',
    });
    expect(effective.localActivity).toMatchObject({
      name: 'local-activity',
      minSlots: 0,
      settleMs: 2000,
      slotsPerDevice: 1,
      costs: { default: { gpus: 1 } },
      costsPath: 'localActivity.supplier.costs',
    });
    expect(effective.sampler).toEqual({
      intervalMs: 100,
      gpuIntervalMs: 1000,
      cpu: true,
      memory: { scope: 'cgroup', limitBytes: null },
      gpu: { nvidiaSmi: 'nvidia-smi' },
      heap: false,
      defaults: ['intervalMs', 'gpuIntervalMs', 'memory.scope', 'memory.limitBytes', 'gpu.nvidiaSmi'],
    });
  });

  it('effectiveConfig() reads the V8 heap for a heap supplier, with its own defaults and staleAfterMs', () => {
    const effective = effectiveConfig(
      parseConfig({
        activity: {
          supplier: {
            type: 'composite',
            parts: [
              { type: 'fixed', slots: 8 },
              { type: 'heap', staleAfterMs: 2500, costs: { activities: { parse: { heapBytes: '64MiB' } } } },
            ],
          },
        },
      }),
    );
    expect((effective.activity as unknown as { parts: unknown[] }).parts[1]).toMatchObject({
      type: 'heap',
      name: 'activity-heap',
      minSlots: 1,
      settleMs: 1000,
      staleAfterMs: 2500,
      costs: { activities: { parse: { heapBytes: 64 * MiB } } },
    });
    expect(effective.sampler).toMatchObject({ cpu: false, memory: null, gpu: null, heap: true });
  });

  it('effectiveConfig() names composite parts after their parent and type, numbering repeated types', () => {
    const effective = effectiveConfig(
      parseConfig({
        activity: {
          supplier: {
            type: 'composite',
            parts: [
              { type: 'fixed', slots: 8 },
              { type: 'fixed', slots: 4 },
              { type: 'memory' },
              { type: 'composite', parts: [{ type: 'cpu', name: 'cores' }] },
            ],
          },
        },
      }),
    );
    expect(slotwiseSuppliersOf(effective).map((node) => [node.name, node.path])).toEqual([
      ['activity', 'activity.supplier'],
      ['activity-fixed-1', 'activity.supplier.parts[0]'],
      ['activity-fixed-2', 'activity.supplier.parts[1]'],
      ['activity-memory', 'activity.supplier.parts[2]'],
      ['activity-composite', 'activity.supplier.parts[3]'],
      ['cores', 'activity.supplier.parts[3].parts[0]'],
    ]);
  });

  it('effectiveConfig() makes a shared supplier one node wherever it is named, with workflow defaults if workflows use it', () => {
    const effective = effectiveConfig(
      parseConfig({
        suppliers: { cpu: { type: 'cpu' }, pool: { type: 'fixed', slots: 4 }, idle: { type: 'memory' } },
        workflow: { supplier: { type: 'composite', parts: ['pool', 'cpu'] } },
        activity: { supplier: 'pool' },
      }),
    );
    const workflow = effective.workflow;
    expect(workflow.type === 'composite' && workflow.parts[0]).toBe(effective.shared.pool);
    expect(effective.activity).toBe(effective.shared.pool);
    expect(effective.shared.cpu).toMatchObject({
      name: 'cpu',
      path: 'suppliers.cpu',
      shared: true,
      minSlots: 2,
    });
    expect(effective.shared.idle).toMatchObject({ name: 'idle', shared: true, minSlots: 1 });
    expect(slotwiseSuppliersOf(effective).map((node) => node.name)).toEqual([
      'workflow',
      'pool',
      'cpu',
      'idle',
    ]);
  });
});
