import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SlotwiseOptionsError } from '../../src/errors.js';
import { ResourceSampler } from '../../src/resources/sampler.js';
import { CompositeSlotSupplier } from '../../src/suppliers/composite-slot-supplier.js';
import {
  type ResourceBasedPreset,
  type ResourceBasedPresetOptions,
  resourceBasedTuner,
} from '../../src/suppliers/resource-based-tuner.js';
import { flush, reserveCtx, track, workflowInfo } from '../helpers/fakes.js';
import { FakeSampler, GiB } from './fixtures/fake-sampler.js';

const signal = () => new AbortController().signal;
const open: ResourceBasedPreset[] = [];

function preset(options: Partial<ResourceBasedPresetOptions> = {}) {
  const sampler = new FakeSampler({ cpu: true, memory: true });
  const tuner = resourceBasedTuner({
    targetCpuUsage: 0.8,
    targetMemoryUsage: 0.8,
    sampler: sampler.asSampler,
    ...options,
  });
  open.push(tuner);
  return { tuner, sampler };
}

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(0);
});

afterEach(() => {
  for (const tuner of open.splice(0)) tuner.close();
  vi.useRealTimers();
});

describe('resourceBasedTuner()', () => {
  it('serves workflow, activity and local activity tasks from one composite of a CPU and a memory gate on one sampler', () => {
    const { tuner, sampler } = preset();
    expect(tuner.supplier).toBeInstanceOf(CompositeSlotSupplier);
    expect([
      tuner.workflowTaskSlotSupplier,
      tuner.activityTaskSlotSupplier,
      tuner.localActivityTaskSlotSupplier,
    ]).toEqual([tuner.supplier, tuner.supplier, tuner.supplier]);
    expect(tuner.supplier.parts).toEqual([tuner.cpu, tuner.memory]);
    expect(tuner.sampler).toBe(sampler.asSampler);
    expect(sampler.listeners).toBe(2);
    expect(tuner.nexusTaskSlotSupplier).toEqual({ type: 'fixed-size', numSlots: 2000 });
    expect([tuner.supplier.name, tuner.cpu.name, tuner.memory.name]).toEqual([
      'resource-based',
      'resource-based-cpu',
      'resource-based-memory',
    ]);
  });

  it("has Temporal's floors and ceilings per slot type by default, and takes Temporal's slot options", () => {
    expect(preset().tuner.supplier.floors).toEqual({ workflow: 2, activity: 1, localActivity: 1 });
    expect(preset().tuner.supplier.ceilings).toEqual({ workflow: 1000, activity: 2000, localActivity: 2000 });
    const { tuner } = preset({
      activityTaskSlotOptions: { minimumSlots: 2, maximumSlots: 10 },
      workflowTaskSlotOptions: { maximumSlots: 4 },
      nexusTaskSlotOptions: { maximumSlots: 5 },
    });
    expect(tuner.supplier.floors).toEqual({ workflow: 2, activity: 2, localActivity: 1 });
    expect(tuner.supplier.ceilings).toEqual({ workflow: 4, activity: 10, localActivity: 2000 });
    expect(tuner.nexusTaskSlotSupplier.numSlots).toBe(5);
    expect([tuner.cpu.limits, tuner.memory.limits]).toEqual([
      { minSlots: 0, maxSlots: 2014, targetUtilization: 0.8 },
      { minSlots: 0, maxSlots: 2014, targetUtilization: 0.8 },
    ]);
  });

  it('reserveSlot() grants every slot type its floor on a saturated host, and nothing above it', async () => {
    const { tuner, sampler } = preset();
    sampler.cpuBusy(4, 4);
    sampler.memoryUsed(15.9 * GiB, 16 * GiB);
    const supplier = tuner.supplier;
    const floors = [
      reserveCtx('q', 'workflow', true),
      reserveCtx('q', 'workflow', false),
      reserveCtx('q', 'activity'),
      reserveCtx('q', 'local-activity'),
    ].map((ctx) => track(supplier.reserveSlot(ctx, signal())));
    const above = track(supplier.reserveSlot(reserveCtx('q', 'activity'), signal()));
    await flush();
    expect(floors.map((r) => r.settled())).toEqual([true, true, true, true]);
    expect(above.settled()).toBe(false);
    expect([supplier, tuner.cpu, tuner.memory].map((s) => s.snapshot().issued)).toEqual([4, 4, 4]);
  });

  it('reserveSlot() admits above the floors when both gates have room, up to the ceiling of the slot type', async () => {
    const { tuner, sampler } = preset({ rampThrottleMs: 0, workflowTaskSlotOptions: { maximumSlots: 3 } });
    const supplier = tuner.supplier;
    sampler.cpuBusy(0.4, 4);
    sampler.memoryUsed(2 * GiB, 16 * GiB); // idle: the baselines
    const floors = await Promise.all(
      [true, false].map((sticky) => supplier.reserveSlot(reserveCtx('q', 'workflow', sticky), signal())),
    );
    for (const permit of floors) supplier.markSlotUsed({ permit, slotInfo: workflowInfo() });
    // Both tasks show in the readings, which then stay flat: each gate learns a task's use (a gate
    // learns only from readings that stayed flat for settleMs, and fails closed on stale ones).
    for (let t = 0; t < 2000; t += 100) {
      await vi.advanceTimersByTimeAsync(100);
      sampler.cpuBusy(0.6, 4);
      sampler.memoryUsed(2.2 * GiB, 16 * GiB);
    }
    const above = [true, false].map((sticky) =>
      track(supplier.reserveSlot(reserveCtx('q', 'workflow', sticky), signal())),
    );
    await flush();
    expect(above.map((r) => r.settled())).toEqual([true, false]); // the ceiling is 3
    // Room is kept for the activity and local activity floors of the queue.
    expect(supplier.snapshot().groups).toMatchObject([
      { slotType: 'workflow', issued: 3, waiting: 1, unmet: 0 },
      { slotType: 'activity', issued: 0, unmet: 1 },
      { slotType: 'local-activity', issued: 0, unmet: 1 },
    ]);
    sampler.memoryUsed(15.9 * GiB, 16 * GiB); // memory full: below the ceiling, a permit above the floors still waits
    supplier.releaseSlot({ permit: above[0]!.value()! });
    await flush();
    expect(above[1]!.settled()).toBe(false);
    expect(supplier.snapshot()).toMatchObject({ issued: 2, waiting: 1 });
  });

  it('close() stops the sampler it created, once; a given sampler is left running', () => {
    const own = resourceBasedTuner({ targetCpuUsage: 0.9, targetMemoryUsage: 0.9 });
    expect(own.sampler).toBeInstanceOf(ResourceSampler);
    const stop = vi.spyOn(own.sampler, 'stop');
    own.close();
    own.close();
    expect(stop).toHaveBeenCalledTimes(1);
    const { tuner, sampler } = preset();
    tuner.close();
    expect([sampler.stops, sampler.listeners]).toEqual([0, 0]);
  });

  it.each([
    [
      { targetCpuUsage: 80, targetMemoryUsage: 0.8 },
      'resourceBasedTuner: expected `targetCpuUsage` to be a ratio in (0, 1], got `80` (number). Did you mean 0.8?',
    ],
    [
      { targetCpuUsage: 0.8 },
      'resourceBasedTuner: expected `targetMemoryUsage` to be a ratio in (0, 1], got `undefined`.',
    ],
    [
      { tunerOptions: { targetCpuUsage: 0.8, targetMemoryUsage: 0.8 } },
      'resourceBasedTuner: pass `targetCpuUsage` and `targetMemoryUsage` directly, not inside `tunerOptions`',
    ],
    [
      { targetCpuUsage: 0.8, targetMemoryUsage: 0.8, activityTaskSlotOptions: { rampThrottle: 20 } },
      'resourceBasedTuner: expected `activityTaskSlotOptions.rampThrottle` to be absent, got `20` (number). slotwise has one ramp for every slot type of the supplier: set `rampThrottleMs` instead.',
    ],
    [
      { targetCpuUsage: 0.8, targetMemoryUsage: 0.8, workflowTaskSlotOptions: { minimumSlots: 1 } },
      'resourceBasedTuner: expected `workflowTaskSlotOptions.minimumSlots` to be 0 or an integer >= 2 (core holds a sticky and a non-sticky workflow poll), got `1` (number).',
    ],
    [
      {
        targetCpuUsage: 0.8,
        targetMemoryUsage: 0.8,
        activityTaskSlotOptions: { minimumSlots: 5, maximumSlots: 4 },
      },
      'resourceBasedTuner: expected `activityTaskSlotOptions.maximumSlots` to be an integer >= 5, got `4` (number).',
    ],
    [
      { targetCpuUsage: 0.8, targetMemoryUsage: 0.8, targetGpuUsage: 0.8 },
      'resourceBasedTuner: unknown option `targetGpuUsage`. Did you mean `targetCpuUsage`?',
    ],
  ])('rejects %j with a precise message', (options, message) => {
    const attempt = () => resourceBasedTuner(options as never);
    expect(attempt).toThrow(SlotwiseOptionsError);
    expect(attempt).toThrow(message);
  });
});
